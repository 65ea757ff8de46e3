internal import GraftAVX2Kernels

// This module is compiled for AVX-512 (`-target-cpu skylake-avx512` in Package.swift: F, CD, BW,
// DQ, VL); callers must check `CPUFeatures.hasAVX512` first. Like GraftAVX2Kernels it holds only
// non-generic functions on raw pointers that never inline into other modules, so nothing
// compiled here can be shared with the rest of graft, which runs on plain x86-64;
// Tools/check-avx2-isolation.sh checks both modules' release objects in `make test`.

/// `C[rows × 16·panels] = A[rows × depth] · B`, with `B` packed in panels of 16 columns exactly
/// as `GraftAVX2Kernels.multiplyPacked` reads it (panel `p`, row `r`: `b[(p · depth + r) · 16 + j]`),
/// `A` and `C` row-major with leading dimensions `lda` and `ldc`; `C` is written.
///
/// Numerics: the same as the AVX2 product's, bit for bit: every element of `C` is one chain of
/// fused multiply-adds over the depth in order, starting from `a[0]·b[0]` rounded, whatever
/// `rows` is and however rows and columns are grouped. The vector width only changes how many
/// such chains run side by side, so the two products are interchangeable for reproducibility.
///
/// The register tile is 8 rows × 32 columns (sixteen 16-float accumulators, two vectors of `B`
/// and one broadcast of `A`, of the 32 ZMM registers): per step of the depth, 2 loads of `B` and
/// 8 broadcasts feed 16 fused multiply-adds, against 6 loads for 8 in the AVX2 product's 4×16
/// tile, which left Zen 4's load ports, not its FMA units, the limit. An odd last panel runs an
/// 8×16 tile, a last group of at most 4 rows a 4×32 one; rows past the last group reuse the
/// last row's data and are not stored.
@inline(never)
public func multiplyPacked512(rows: Int, panels: Int, depth: Int, _ a: UnsafePointer<Float>, lda: Int,
                              _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard rows > 0, panels > 0 else { return }
    var panel = 0
    // Pairs of panels outside, groups of 8 rows inside: a pair of B's panels (32 × depth floats,
    // 64 KiB at depth 512) stays in L1/L2 while the rows of A stream through it.
    while panel < panels {
        let pair = panel + 1 < panels
        let b0p = UnsafeRawPointer(b + panel * depth * 16)
        let b1p = UnsafeRawPointer(b + (pair ? panel + 1 : panel) * depth * 16)
        var first = 0
        while first < rows {
            let count = min(8, rows - first)
            let (a0, a1, a2, a3, a4, a5, a6, a7) = rowGroup(a, first: first, count: count, lda: lda)
            let out = UnsafeMutableRawPointer(c + first * ldc + panel * 16)
            if pair && count <= 4 {
                // A short last group (or a product of at most 4 rows: a 7×7 image's tiles at
                // batch 1) computes 4 rows, not 8.
                var t = Tile4x2()
                var p = 0
                while p < depth {
                    let v0 = b0p.loadUnaligned(fromByteOffset: p * 64, as: SIMD16<Float>.self)
                    let v1 = b1p.loadUnaligned(fromByteOffset: p * 64, as: SIMD16<Float>.self)
                    t.step(a0[p], a1[p], a2[p], a3[p], v0, v1)
                    p += 1
                }
                t.store(out, rowBytes: ldc * 4, count: count)
            } else if pair {
                var t = Tile8x2()
                var p = 0
                while p < depth {
                    let v0 = b0p.loadUnaligned(fromByteOffset: p * 64, as: SIMD16<Float>.self)
                    let v1 = b1p.loadUnaligned(fromByteOffset: p * 64, as: SIMD16<Float>.self)
                    t.step(a0[p], a1[p], a2[p], a3[p], a4[p], a5[p], a6[p], a7[p], v0, v1)
                    p += 1
                }
                t.store(out, rowBytes: ldc * 4, count: count)
            } else {
                var t = Tile8x1()
                var p = 0
                while p < depth {
                    let v0 = b0p.loadUnaligned(fromByteOffset: p * 64, as: SIMD16<Float>.self)
                    t.step(a0[p], a1[p], a2[p], a3[p], a4[p], a5[p], a6[p], a7[p], v0)
                    p += 1
                }
                t.store(out, rowBytes: ldc * 4, count: count)
            }
            first += 8
        }
        panel += pair ? 2 : 1
    }
}

/// Pointers to rows `first ..< first + 8` of `A`; rows past `count` repeat the last one (their
/// results are computed and never stored).
@inline(__always)
private func rowGroup(_ a: UnsafePointer<Float>, first: Int, count: Int, lda: Int)
    -> (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
        UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>) {
    func row(_ r: Int) -> UnsafePointer<Float> { a + (first + min(r, count - 1)) * lda }
    return (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
}

/// Sixteen accumulators: 8 rows × 2 vectors of 16 columns.
private struct Tile8x2 {
    var r0 = (SIMD16<Float>(), SIMD16<Float>()), r1 = (SIMD16<Float>(), SIMD16<Float>())
    var r2 = (SIMD16<Float>(), SIMD16<Float>()), r3 = (SIMD16<Float>(), SIMD16<Float>())
    var r4 = (SIMD16<Float>(), SIMD16<Float>()), r5 = (SIMD16<Float>(), SIMD16<Float>())
    var r6 = (SIMD16<Float>(), SIMD16<Float>()), r7 = (SIMD16<Float>(), SIMD16<Float>())

    /// One depth step: row `i` gains `a_i · (v0, v1)`, one fused multiply-add per accumulator.
    @inline(__always)
    mutating func step(_ a0: Float, _ a1: Float, _ a2: Float, _ a3: Float, _ a4: Float, _ a5: Float, _ a6: Float, _ a7: Float,
                       _ v0: SIMD16<Float>, _ v1: SIMD16<Float>) {
        var s = SIMD16<Float>(repeating: a0); r0.0 = r0.0.addingProduct(s, v0); r0.1 = r0.1.addingProduct(s, v1)
        s = SIMD16<Float>(repeating: a1); r1.0 = r1.0.addingProduct(s, v0); r1.1 = r1.1.addingProduct(s, v1)
        s = SIMD16<Float>(repeating: a2); r2.0 = r2.0.addingProduct(s, v0); r2.1 = r2.1.addingProduct(s, v1)
        s = SIMD16<Float>(repeating: a3); r3.0 = r3.0.addingProduct(s, v0); r3.1 = r3.1.addingProduct(s, v1)
        s = SIMD16<Float>(repeating: a4); r4.0 = r4.0.addingProduct(s, v0); r4.1 = r4.1.addingProduct(s, v1)
        s = SIMD16<Float>(repeating: a5); r5.0 = r5.0.addingProduct(s, v0); r5.1 = r5.1.addingProduct(s, v1)
        s = SIMD16<Float>(repeating: a6); r6.0 = r6.0.addingProduct(s, v0); r6.1 = r6.1.addingProduct(s, v1)
        s = SIMD16<Float>(repeating: a7); r7.0 = r7.0.addingProduct(s, v0); r7.1 = r7.1.addingProduct(s, v1)
    }

    /// Stores the first `count` rows, `rowBytes` apart.
    @inline(__always)
    func store(_ out: UnsafeMutableRawPointer, rowBytes: Int, count: Int) {
        storeRow(out, 0, r0, rowBytes: rowBytes)
        if count > 1 { storeRow(out, 1, r1, rowBytes: rowBytes) }
        if count > 2 { storeRow(out, 2, r2, rowBytes: rowBytes) }
        if count > 3 { storeRow(out, 3, r3, rowBytes: rowBytes) }
        if count > 4 { storeRow(out, 4, r4, rowBytes: rowBytes) }
        if count > 5 { storeRow(out, 5, r5, rowBytes: rowBytes) }
        if count > 6 { storeRow(out, 6, r6, rowBytes: rowBytes) }
        if count > 7 { storeRow(out, 7, r7, rowBytes: rowBytes) }
    }

    @inline(__always)
    private func storeRow(_ out: UnsafeMutableRawPointer, _ i: Int, _ r: (SIMD16<Float>, SIMD16<Float>), rowBytes: Int) {
        out.storeBytes(of: r.0, toByteOffset: i * rowBytes, as: SIMD16<Float>.self)
        out.storeBytes(of: r.1, toByteOffset: i * rowBytes + 64, as: SIMD16<Float>.self)
    }
}

/// Eight accumulators: 4 rows × 2 vectors of 16 columns (a group of at most 4 rows).
private struct Tile4x2 {
    var r0 = (SIMD16<Float>(), SIMD16<Float>()), r1 = (SIMD16<Float>(), SIMD16<Float>())
    var r2 = (SIMD16<Float>(), SIMD16<Float>()), r3 = (SIMD16<Float>(), SIMD16<Float>())

    @inline(__always)
    mutating func step(_ a0: Float, _ a1: Float, _ a2: Float, _ a3: Float, _ v0: SIMD16<Float>, _ v1: SIMD16<Float>) {
        var s = SIMD16<Float>(repeating: a0); r0.0 = r0.0.addingProduct(s, v0); r0.1 = r0.1.addingProduct(s, v1)
        s = SIMD16<Float>(repeating: a1); r1.0 = r1.0.addingProduct(s, v0); r1.1 = r1.1.addingProduct(s, v1)
        s = SIMD16<Float>(repeating: a2); r2.0 = r2.0.addingProduct(s, v0); r2.1 = r2.1.addingProduct(s, v1)
        s = SIMD16<Float>(repeating: a3); r3.0 = r3.0.addingProduct(s, v0); r3.1 = r3.1.addingProduct(s, v1)
    }

    @inline(__always)
    func store(_ out: UnsafeMutableRawPointer, rowBytes: Int, count: Int) {
        out.storeBytes(of: r0.0, toByteOffset: 0, as: SIMD16<Float>.self); out.storeBytes(of: r0.1, toByteOffset: 64, as: SIMD16<Float>.self)
        if count > 1 { out.storeBytes(of: r1.0, toByteOffset: rowBytes, as: SIMD16<Float>.self); out.storeBytes(of: r1.1, toByteOffset: rowBytes + 64, as: SIMD16<Float>.self) }
        if count > 2 { out.storeBytes(of: r2.0, toByteOffset: 2 * rowBytes, as: SIMD16<Float>.self); out.storeBytes(of: r2.1, toByteOffset: 2 * rowBytes + 64, as: SIMD16<Float>.self) }
        if count > 3 { out.storeBytes(of: r3.0, toByteOffset: 3 * rowBytes, as: SIMD16<Float>.self); out.storeBytes(of: r3.1, toByteOffset: 3 * rowBytes + 64, as: SIMD16<Float>.self) }
    }
}

/// Eight accumulators: 8 rows × 1 vector of 16 columns (an odd last panel).
private struct Tile8x1 {
    var r0 = SIMD16<Float>(), r1 = SIMD16<Float>(), r2 = SIMD16<Float>(), r3 = SIMD16<Float>()
    var r4 = SIMD16<Float>(), r5 = SIMD16<Float>(), r6 = SIMD16<Float>(), r7 = SIMD16<Float>()

    @inline(__always)
    mutating func step(_ a0: Float, _ a1: Float, _ a2: Float, _ a3: Float, _ a4: Float, _ a5: Float, _ a6: Float, _ a7: Float,
                       _ v0: SIMD16<Float>) {
        r0 = r0.addingProduct(SIMD16<Float>(repeating: a0), v0); r1 = r1.addingProduct(SIMD16<Float>(repeating: a1), v0)
        r2 = r2.addingProduct(SIMD16<Float>(repeating: a2), v0); r3 = r3.addingProduct(SIMD16<Float>(repeating: a3), v0)
        r4 = r4.addingProduct(SIMD16<Float>(repeating: a4), v0); r5 = r5.addingProduct(SIMD16<Float>(repeating: a5), v0)
        r6 = r6.addingProduct(SIMD16<Float>(repeating: a6), v0); r7 = r7.addingProduct(SIMD16<Float>(repeating: a7), v0)
    }

    @inline(__always)
    func store(_ out: UnsafeMutableRawPointer, rowBytes: Int, count: Int) {
        out.storeBytes(of: r0, toByteOffset: 0, as: SIMD16<Float>.self)
        if count > 1 { out.storeBytes(of: r1, toByteOffset: rowBytes, as: SIMD16<Float>.self) }
        if count > 2 { out.storeBytes(of: r2, toByteOffset: 2 * rowBytes, as: SIMD16<Float>.self) }
        if count > 3 { out.storeBytes(of: r3, toByteOffset: 3 * rowBytes, as: SIMD16<Float>.self) }
        if count > 4 { out.storeBytes(of: r4, toByteOffset: 4 * rowBytes, as: SIMD16<Float>.self) }
        if count > 5 { out.storeBytes(of: r5, toByteOffset: 5 * rowBytes, as: SIMD16<Float>.self) }
        if count > 6 { out.storeBytes(of: r6, toByteOffset: 6 * rowBytes, as: SIMD16<Float>.self) }
        if count > 7 { out.storeBytes(of: r7, toByteOffset: 7 * rowBytes, as: SIMD16<Float>.self) }
    }
}

/// `C[rows × columns] (+)= A[rows × depth] · B[depth × columns]`, all three row-major with
/// leading dimensions `lda`, `ldb`, `ldc`, `B` read in place: `GraftAVX2Kernels.multiplyStrided`
/// (a Dense layer's product, streaming its weights once) with AVX-512 register tiles.
///
/// Numerics: the AVX2 product's, bit for bit: every element of `C` is one chain of fused
/// multiply-adds over the depth in order, starting from `C`'s value when `accumulate`, else from
/// zero, continued exactly across depth blocks (accumulators stored after a block and loaded
/// before the next), whatever the rows, columns and blocking.
///
/// Order: the depth in blocks of 16 rows of `B`, as the AVX2 product; within a block, groups of
/// 8 rows of `A` (a batch of 8 images reads each block of weights once, where the AVX2 product's
/// groups of 4 read it twice), columns 32 at a time (an 8×32 tile); columns past the last whole
/// 32 go to the AVX2 product itself. VGG16's fc6 (25,088 × 4,096) at batch 8 on 2 threads of the Zen 4 EPYC: 16.7 ms
/// against the AVX2 product's 21.2, fc7 2.7 against 3.4.
@inline(never)
public func multiplyStrided512(rows: Int, columns: Int, depth: Int, _ a: UnsafePointer<Float>, lda: Int,
                               _ b: UnsafePointer<Float>, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int,
                               accumulate: Bool) {
    guard rows > 0, columns > 0 else { return }
    // Columns past the last whole 32: the AVX2 product's own order, over the whole depth.
    let wide = columns - columns % 32
    if wide < columns {
        multiplyStrided(rows: rows, columns: columns - wide, depth: depth, a, lda: lda, b + wide, ldb: ldb, c + wide, ldc: ldc,
                        accumulate: accumulate)
    }
    for k0 in stride(from: 0, to: wide > 0 ? depth : 0, by: 16) {
        let k1 = min(depth, k0 + 16)
        for first in stride(from: 0, to: rows, by: 8) {
            let count = min(8, rows - first)
            let (a0, a1, a2, a3, a4, a5, a6, a7) = rowGroup(a, first: first, count: count, lda: lda)
            for column in stride(from: 0, to: wide, by: 32) {
                let out = UnsafeMutableRawPointer(c + first * ldc + column)
                var t = Tile8x2()
                // The chain continues from C's value (after the first block, or when accumulating).
                if accumulate || k0 > 0 { t.load(out, rowBytes: ldc * 4, count: count) }
                let bp = UnsafeRawPointer(b + column)
                for k in k0..<k1 {
                    let v0 = bp.loadUnaligned(fromByteOffset: k * ldb * 4, as: SIMD16<Float>.self)
                    let v1 = bp.loadUnaligned(fromByteOffset: k * ldb * 4 + 64, as: SIMD16<Float>.self)
                    t.step(a0[k], a1[k], a2[k], a3[k], a4[k], a5[k], a6[k], a7[k], v0, v1)
                }
                t.store(out, rowBytes: ldc * 4, count: count)
            }
        }
    }
}

extension Tile8x2 {
    /// Loads the first `count` rows (the others stay zero and are never stored).
    @inline(__always)
    mutating func load(_ out: UnsafeMutableRawPointer, rowBytes: Int, count: Int) {
        func row(_ i: Int) -> (SIMD16<Float>, SIMD16<Float>) {
            (out.loadUnaligned(fromByteOffset: i * rowBytes, as: SIMD16<Float>.self),
             out.loadUnaligned(fromByteOffset: i * rowBytes + 64, as: SIMD16<Float>.self))
        }
        r0 = row(0)
        if count > 1 { r1 = row(1) }
        if count > 2 { r2 = row(2) }
        if count > 3 { r3 = row(3) }
        if count > 4 { r4 = row(4) }
        if count > 5 { r5 = row(5) }
        if count > 6 { r6 = row(6) }
        if count > 7 { r7 = row(7) }
    }
}
