// This module is compiled for AVX2 and FMA (`-target-cpu haswell` in Package.swift); callers
// must check `CPUFeatures.hasAVX2` first. It holds only non-generic functions that take raw
// pointers and never inline into other modules (no globals, no generic code of its own), so no
// code compiled here can be shared with, and run by, the rest of graft on a CPU without AVX2;
// Tools/check-avx2-isolation.sh checks the release object's symbols in `make test`.

/// `C[rows × 16·panels] = A[rows × depth] · B`, with `B` packed in panels of 16 columns: panel
/// `p` holds, for each row `r` of B in order, its 16 columns `16p ..< 16p + 16`
/// (`b[(p · depth + r) · 16 + j]`). `A` and `C` are row-major with leading dimensions `lda` and
/// `ldc`; `C` is written, not accumulated into.
///
/// Numerics: every element of `C` is one chain of fused multiply-adds over the depth in order,
/// `c = fma(a[depth-1], b[depth-1], … fma(a[1], b[1], a[0]·b[0]) …)`, starting from zero,
/// whatever `rows` is and however the rows are grouped, so each row of `C` depends on its row of
/// `A` alone: products of any number of rows give the same bits for the same row.
///
/// The register tile is 4 rows × 16 columns (eight 8-float accumulators, two vectors of `B`,
/// four broadcasts of `A`: 14 of the 16 YMM registers); rows past the last group of 4 reuse the
/// last row's data and are not stored. Measured on an AVX2 EPYC, one thread, a Winograd-shaped
/// product (96 × 256 × 256): 95 GFLOP/s of CPU time against OpenBLAS sgemm's 83, which also
/// packs its operands on every call.
@inline(never)
public func multiplyPacked(rows: Int, panels: Int, depth: Int, _ a: UnsafePointer<Float>, lda: Int,
                           _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard rows > 0, panels > 0 else { return }
    // Panels outside, row groups inside: one panel of B (16 × depth floats, 32 KiB at depth 512)
    // stays in L1 while the rows of A stream through it from L2.
    for panel in 0..<panels {
        let bp = UnsafeRawPointer(b + panel * depth * 16)
        var first = 0
        while first < rows {
            let count = min(4, rows - first)
            let a0 = a + first * lda
            let a1 = a + (first + min(1, count - 1)) * lda
            let a2 = a + (first + min(2, count - 1)) * lda
            let a3 = a + (first + min(3, count - 1)) * lda
            var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
            var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
            var p = 0
            while p < depth {
                let b0 = bp.loadUnaligned(fromByteOffset: p * 64, as: SIMD8<Float>.self)
                let b1 = bp.loadUnaligned(fromByteOffset: p * 64 + 32, as: SIMD8<Float>.self)
                fusedStep(a0[p], a1[p], a2[p], a3[p], b0, b1, &c00, &c01, &c10, &c11, &c20, &c21, &c30, &c31)
                p += 1
            }
            let out = UnsafeMutableRawPointer(c + first * ldc + panel * 16)
            let row = ldc * 4
            out.storeBytes(of: c00, toByteOffset: 0, as: SIMD8<Float>.self)
            out.storeBytes(of: c01, toByteOffset: 32, as: SIMD8<Float>.self)
            if count > 1 {
                out.storeBytes(of: c10, toByteOffset: row, as: SIMD8<Float>.self)
                out.storeBytes(of: c11, toByteOffset: row + 32, as: SIMD8<Float>.self)
            }
            if count > 2 {
                out.storeBytes(of: c20, toByteOffset: 2 * row, as: SIMD8<Float>.self)
                out.storeBytes(of: c21, toByteOffset: 2 * row + 32, as: SIMD8<Float>.self)
            }
            if count > 3 {
                out.storeBytes(of: c30, toByteOffset: 3 * row, as: SIMD8<Float>.self)
                out.storeBytes(of: c31, toByteOffset: 3 * row + 32, as: SIMD8<Float>.self)
            }
            first += 4
        }
    }
}

/// `C[rows × columns] (+)= A[rows × depth] · B[depth × columns]`, all three row-major with
/// leading dimensions `lda`, `ldb`, `ldc`, and `B` read in place: a Dense layer's product with
/// its weights, which are far larger than the batch of inputs and are streamed from memory once
/// a call instead of being packed into a copy (as OpenBLAS does on every call).
///
/// Numerics: every element of `C` is one chain of fused multiply-adds over the depth in order,
/// starting from `C`'s value when `accumulate`, else from zero, whatever `rows` is, whatever
/// columns the call covers, and however the work is blocked: each row of `C` depends on its own
/// row of `A` alone, so a batch of any size gives each image the same bits.
///
/// Order: the depth goes in blocks of 16 rows of `B` (16 sequential streams the hardware
/// prefetches, in L2 while every group of 4 rows of `A` passes over them); within a block the
/// columns go 16 at a time (a 4×16 register tile, 8 accumulators), then 8, then one by one. The
/// accumulators are stored after a block and loaded before the next, which continues the chain
/// exactly. VGG16's fc6 (25,088 × 4,096, 411 MB) on the AVX2 EPYC, 2 threads each taking half the
/// columns: 12.0 ms at batch 1 (34 GB/s) against OpenBLAS's 23 ms, 24.6 ms at batch 8 against
/// 27.6. Depth blocks of 64 ran at 29 ms at batch 1, and a 16-column slice read down the whole
/// depth (a new page every row) at 35 ms.
@inline(never)
public func multiplyStrided(rows: Int, columns: Int, depth: Int, _ a: UnsafePointer<Float>, lda: Int,
                            _ b: UnsafePointer<Float>, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int,
                            accumulate: Bool) {
    guard rows > 0, columns > 0 else { return }
    let depthBlock = 16
    var k0 = 0
    repeat {
        let k1 = min(depth, k0 + depthBlock)
        let continuing = accumulate || k0 > 0
        var first = 0
        while first < rows {
            let count = min(4, rows - first)
            let a0 = a + first * lda, a1 = a + (first + min(1, count - 1)) * lda
            let a2 = a + (first + min(2, count - 1)) * lda, a3 = a + (first + min(3, count - 1)) * lda
            var column = 0
            while column + 16 <= columns {
                let o = UnsafeMutableRawPointer(c + first * ldc + column), row = ldc * 4
                var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
                var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
                if continuing {
                    c00 = o.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self); c01 = o.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                    if count > 1 { c10 = o.loadUnaligned(fromByteOffset: row, as: SIMD8<Float>.self); c11 = o.loadUnaligned(fromByteOffset: row + 32, as: SIMD8<Float>.self) }
                    if count > 2 { c20 = o.loadUnaligned(fromByteOffset: 2 * row, as: SIMD8<Float>.self); c21 = o.loadUnaligned(fromByteOffset: 2 * row + 32, as: SIMD8<Float>.self) }
                    if count > 3 { c30 = o.loadUnaligned(fromByteOffset: 3 * row, as: SIMD8<Float>.self); c31 = o.loadUnaligned(fromByteOffset: 3 * row + 32, as: SIMD8<Float>.self) }
                }
                let bp = UnsafeRawPointer(b + column)
                var k = k0
                while k < k1 {
                    let b0 = bp.loadUnaligned(fromByteOffset: k * ldb * 4, as: SIMD8<Float>.self)
                    let b1 = bp.loadUnaligned(fromByteOffset: k * ldb * 4 + 32, as: SIMD8<Float>.self)
                    fusedStep(a0[k], a1[k], a2[k], a3[k], b0, b1, &c00, &c01, &c10, &c11, &c20, &c21, &c30, &c31)
                    k += 1
                }
                o.storeBytes(of: c00, toByteOffset: 0, as: SIMD8<Float>.self); o.storeBytes(of: c01, toByteOffset: 32, as: SIMD8<Float>.self)
                if count > 1 { o.storeBytes(of: c10, toByteOffset: row, as: SIMD8<Float>.self); o.storeBytes(of: c11, toByteOffset: row + 32, as: SIMD8<Float>.self) }
                if count > 2 { o.storeBytes(of: c20, toByteOffset: 2 * row, as: SIMD8<Float>.self); o.storeBytes(of: c21, toByteOffset: 2 * row + 32, as: SIMD8<Float>.self) }
                if count > 3 { o.storeBytes(of: c30, toByteOffset: 3 * row, as: SIMD8<Float>.self); o.storeBytes(of: c31, toByteOffset: 3 * row + 32, as: SIMD8<Float>.self) }
                column += 16
            }
            while column + 8 <= columns {
                let o = UnsafeMutableRawPointer(c + first * ldc + column), row = ldc * 4
                var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>(), c3 = SIMD8<Float>()
                if continuing {
                    c0 = o.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self)
                    if count > 1 { c1 = o.loadUnaligned(fromByteOffset: row, as: SIMD8<Float>.self) }
                    if count > 2 { c2 = o.loadUnaligned(fromByteOffset: 2 * row, as: SIMD8<Float>.self) }
                    if count > 3 { c3 = o.loadUnaligned(fromByteOffset: 3 * row, as: SIMD8<Float>.self) }
                }
                let bp = UnsafeRawPointer(b + column)
                var k = k0
                while k < k1 {
                    let b0 = bp.loadUnaligned(fromByteOffset: k * ldb * 4, as: SIMD8<Float>.self)
                    c0 = c0.addingProduct(SIMD8<Float>(repeating: a0[k]), b0)
                    c1 = c1.addingProduct(SIMD8<Float>(repeating: a1[k]), b0)
                    c2 = c2.addingProduct(SIMD8<Float>(repeating: a2[k]), b0)
                    c3 = c3.addingProduct(SIMD8<Float>(repeating: a3[k]), b0)
                    k += 1
                }
                o.storeBytes(of: c0, toByteOffset: 0, as: SIMD8<Float>.self)
                if count > 1 { o.storeBytes(of: c1, toByteOffset: row, as: SIMD8<Float>.self) }
                if count > 2 { o.storeBytes(of: c2, toByteOffset: 2 * row, as: SIMD8<Float>.self) }
                if count > 3 { o.storeBytes(of: c3, toByteOffset: 3 * row, as: SIMD8<Float>.self) }
                column += 8
            }
            while column < columns {
                for r in 0..<count {
                    let rowA = a + (first + r) * lda, out = c + (first + r) * ldc + column
                    var sum: Float = continuing ? out.pointee : 0
                    for k in k0..<k1 { sum = sum.addingProduct(rowA[k], b[k * ldb + column]) }
                    out.pointee = sum
                }
                column += 1
            }
            first += 4
        }
        k0 = k1
    } while k0 < depth
}

/// One depth step of the 4×16 register tile: row `r` of the tile gains `a_r · (b0, b1)`, one
/// fused multiply-add per accumulator (the chain both products' numerics rest on).
@inline(__always)
private func fusedStep(_ a0: Float, _ a1: Float, _ a2: Float, _ a3: Float, _ b0: SIMD8<Float>, _ b1: SIMD8<Float>,
                       _ c00: inout SIMD8<Float>, _ c01: inout SIMD8<Float>, _ c10: inout SIMD8<Float>, _ c11: inout SIMD8<Float>,
                       _ c20: inout SIMD8<Float>, _ c21: inout SIMD8<Float>, _ c30: inout SIMD8<Float>, _ c31: inout SIMD8<Float>) {
    var s = SIMD8<Float>(repeating: a0)
    c00 = c00.addingProduct(s, b0); c01 = c01.addingProduct(s, b1)
    s = SIMD8<Float>(repeating: a1)
    c10 = c10.addingProduct(s, b0); c11 = c11.addingProduct(s, b1)
    s = SIMD8<Float>(repeating: a2)
    c20 = c20.addingProduct(s, b0); c21 = c21.addingProduct(s, b1)
    s = SIMD8<Float>(repeating: a3)
    c30 = c30.addingProduct(s, b0); c31 = c31.addingProduct(s, b1)
}
