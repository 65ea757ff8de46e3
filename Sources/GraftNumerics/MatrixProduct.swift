internal import CGraftBLAS
/// `C = op(A)·op(B)` (or `C += op(A)·op(B)` when `accumulate`), row-major, as one OpenBLAS
/// `sgemm` call on the calling thread.
///
/// `op(A)` is `rows × depth` and `op(B)` is `depth × columns`; with `transposeA` the matrix at
/// `a` is stored `depth × rows` (leading dimension `lda`), with `transposeB` the matrix at `b` is
/// stored `columns × depth`. For kernels that cut their own work into blocks (whose sizes must
/// then depend on shapes only, see `parallelProduct`); whole products go through
/// `parallelProduct`.
public func sgemm(rows m: Int, columns n: Int, depth k: Int,
                  _ a: UnsafePointer<Float>, _ lda: Int, transposeA: Bool = false, transposeB: Bool = false,
                  _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, accumulate: Bool) {
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), accumulate ? 1 : 0, c, Int32(ldc))
}

/// `C = op(A)·op(B) (+ C when accumulate)` on OpenBLAS, cut into blocks of rows and columns of C
/// that `threads` threads take in turn, each block a single-threaded `sgemm`. graft keeps
/// OpenBLAS itself at one thread (`Parallelism.configureOpenBLAS()`): graft's threads own the
/// parallelism, so OpenBLAS workers never spin while graft's kernels run.
///
/// Operands are as in `sgemm(rows:columns:depth:…)`. How the product is cut is `ProductSplit`'s
/// choice, from the shape alone. `prepare` runs on a block of C before its product (e.g. filling
/// it with the bias) and `finish` after it (e.g. the activation), on the same thread, so they
/// find the block in the core's cache.
///
/// Every element of C is computed by one call over the whole inner dimension, so the cut never
/// changes the order of a sum along it; and because the cut depends on the shape only, never on
/// `threads`, the same `sgemm` calls are made whatever the thread count, and the results are
/// bit-identical for every thread count (see `ProductSplit` for why that takes more than
/// "never cut the inner dimension").
public func parallelProduct(rows m: Int, columns n: Int, depth k: Int,
                            _ a: UnsafePointer<Float>, _ lda: Int, transposeA: Bool = false, transposeB: Bool = false,
                            _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                            accumulate: Bool, threads: Int,
                            prepare: ((_ rows: Range<Int>, _ columns: Range<Int>) -> Void)? = nil,
                            finish: ((_ rows: Range<Int>, _ columns: Range<Int>) -> Void)? = nil) {
    let split = ProductSplit(rows: m, columns: n, depth: k)
    parallelItems(split.blockCount, threads: threads) { _, item in
        let (rows, columns) = split.block(item)
        guard !rows.isEmpty, !columns.isEmpty else { return }
        prepare?(rows, columns)
        // The block's first row of op(A) is a row of A, or a column of A when A is transposed;
        // likewise its first column of op(B).
        let aStart = transposeA ? a + rows.lowerBound : a + rows.lowerBound * lda
        let bStart = transposeB ? b + columns.lowerBound * ldb : b + columns.lowerBound
        sgemm(rows: rows.count, columns: columns.count, depth: k, aStart, lda, transposeA: transposeA, transposeB: transposeB,
              bStart, ldb, c + rows.lowerBound * ldc + columns.lowerBound, ldc, accumulate: accumulate)
        finish?(rows, columns)
    }
}

/// How `parallelProduct` cuts an `M × N` product (inner dimension `K`) into blocks of C: the
/// same blocks for every thread count.
///
/// **Why the cut depends on the shape only.** OpenBLAS chooses its kernels by the size of each
/// call: below a size threshold it takes a small-matrix path (OpenBLAS 0.3.21 on AVX-512: calls
/// of at most 10⁶ multiply-adds), which sums the `K` products of an element in another order than
/// the packed kernels, so the same element of C computed by a call on 1200 rows and by a call on
/// 400 of them can differ in the last bits. A cut into
/// `threads` pieces would therefore make results depend on the thread count. graft cuts every
/// product into a *notional* number of blocks (`notionalParallelism`) chosen from M, N and K,
/// and the threads take those blocks in turn: one thread or three, the same calls are made on
/// the same blocks, and every float is the same.
///
/// **Which cut.** Every `sgemm` call packs its share of A (rows × K) and of B (K × columns)
/// before multiplying, so a cut into `r` row blocks and `c` column blocks packs `r·K·N + c·M·K`
/// floats. The cut chosen packs least among those with `notionalParallelism` blocks (so that up
/// to that many threads are kept busy, and two threads take several blocks each, evening out a
/// thread slowed by other work), falling back to half and a quarter as many blocks when the
/// product is too small: row blocks for tall products (early convolution layers, many training
/// rows), column blocks for wide, short ones (late layers, small batches, a gradient `Gᵀ·X`).
/// Blocks below 16 rows or 32 columns are avoided (the GEMM kernel's slow edge paths). When B
/// is small (at most 512 KiB), row blocks are cut further until a block of C is about
/// `blockTargetFloats`, so that work done on a block before and after its product finds it in
/// cache.
public struct ProductSplit: Equatable, Sendable {
    /// Blocks a product is cut into, whatever the thread count.
    public static let notionalParallelism = 8
    /// Floats of a block of C (or of im2col rows) worth keeping in a core's cache: 256 KiB, a
    /// quarter of a Zen 4 or Skylake-SP core's L2.
    public static let blockTargetFloats = 1 << 16

    /// M, the rows of C.
    public let rowCount: Int
    /// N, the columns of C.
    public let columnCount: Int
    /// Blocks along M: block `i` holds rows `M·i/rowBlocks ..< M·(i+1)/rowBlocks`.
    public let rowBlocks: Int
    /// Blocks along N, of `columnStep` columns each (the last one fewer).
    public let columnBlocks: Int
    /// Columns per column block: a multiple of 16 (whole SIMD registers) except for the last.
    public let columnStep: Int

    public init(rows m: Int, columns n: Int, depth k: Int) {
        rowCount = m
        columnCount = n
        let notional = Self.notionalParallelism
        var best = (rows: 1, columns: 1, cost: Int.max)
        for blocks in [notional, notional / 2, notional / 4] {
            for rowBlocks in 1...blocks where blocks % rowBlocks == 0 {
                let columnBlocks = blocks / rowBlocks
                // Blocks below 16 rows or 32 columns run the GEMM kernel's slow edge paths.
                guard m / rowBlocks >= 16 || rowBlocks == 1, n / columnBlocks >= 32 || columnBlocks == 1 else { continue }
                let cost = rowBlocks * n + columnBlocks * m
                if cost < best.cost { best = (rowBlocks, columnBlocks, cost) }
            }
            if best.cost != Int.max { break }
        }
        if best.cost == Int.max { best = (1, 1, 0) }
        if best.columns == 1 && k * n <= 2 * Self.blockTargetFloats {
            // Blocks of C of about blockTargetFloats, but at least 128 rows, when B is small
            // enough (early layers) that packing it once more per block costs little.
            let rowsPerBlock = max(128, Self.blockTargetFloats / max(n, 1))
            best.rows = max(best.rows, min(m / 128, (m + rowsPerBlock - 1) / rowsPerBlock))
        }
        rowBlocks = max(1, best.rows)
        let step = (n + best.columns - 1) / best.columns
        columnStep = best.columns == 1 ? max(n, 1) : (step + 15) / 16 * 16
        columnBlocks = (n + columnStep - 1) / columnStep
    }

    /// The number of blocks.
    public var blockCount: Int { rowBlocks * columnBlocks }

    /// The rows and columns of C in block `item` (row-block major; either range may be empty
    /// for a degenerate product).
    public func block(_ item: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        let rowBlock = item / columnBlocks, columnBlock = item % columnBlocks
        let m = rowCount, n = columnCount
        let first = m * rowBlock / rowBlocks, end = m * (rowBlock + 1) / rowBlocks
        let firstColumn = min(n, columnBlock * columnStep), endColumn = min(n, firstColumn + columnStep)
        return (first..<max(first, end), firstColumn..<endColumn)
    }
}
