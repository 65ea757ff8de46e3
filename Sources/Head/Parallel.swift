internal import CBLAS
import Dispatch

/// A value handed to worker threads that write disjoint memory.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}

/// Runs `body(block)` for every block in `0..<count` on the cores, in no set order. Each block's
/// result must not depend on which thread runs it (write to per-block slots, reduce in order).
func forEachBlock(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 {
        if count == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(value: escapable)
        DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
    }
}

/// `C = op(A)·op(B) + beta·C` (row-major, alpha 1) on OpenBLAS, split between `threads` threads
/// by rows of C, or by columns when C has fewer rows than columns.
///
/// OpenBLAS itself runs single-threaded inside (graft sets it so): its own threads spin against
/// each other on small machines, where splitting the product by blocks of C is faster. Every
/// element of C is computed by one call over the whole inner dimension, so the split does not
/// change the sums' order along it.
func parallelProduct(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
    let chunks = max(1, min(threads, max(m, n) / 64))
    let byRows = m >= n
    let extent = byRows ? m : n
    let body = { (chunk: Int) in
        let start = extent * chunk / chunks, end = extent * (chunk + 1) / chunks
        guard start < end else { return }
        if byRows {
            let aStart = transposeA ? a + start : a + start * lda
            cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(end - start), Int32(n), Int32(k), 1, aStart, Int32(lda), b, Int32(ldb), beta, c + start * ldc, Int32(ldc))
        } else {
            let bStart = transposeB ? b + start * ldb : b + start
            cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(end - start), Int32(k), 1, a, Int32(lda), bStart, Int32(ldb), beta, c + start, Int32(ldc))
        }
    }
    forEachBlock(chunks, body)
}
