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
                var s = SIMD8<Float>(repeating: a0[p])
                c00 = c00.addingProduct(s, b0); c01 = c01.addingProduct(s, b1)
                s = SIMD8<Float>(repeating: a1[p])
                c10 = c10.addingProduct(s, b0); c11 = c11.addingProduct(s, b1)
                s = SIMD8<Float>(repeating: a2[p])
                c20 = c20.addingProduct(s, b0); c21 = c21.addingProduct(s, b1)
                s = SIMD8<Float>(repeating: a3[p])
                c30 = c30.addingProduct(s, b0); c31 = c31.addingProduct(s, b1)
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
