import GraftNumerics
import Testing
/// Values in [-scale, scale] that look random to a product (SplitMix64 draws).
func pseudoRandom(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in (Float(generator.next() >> 40) / 8_388_608 - 1) * scale }
}

/// A product `C = op(A)·op(B) (+ C)` with its operands.
struct ProductCase: Sendable, CustomStringConvertible {
    var name: String
    var m: Int, n: Int, k: Int
    var transposeA = false, transposeB = false, accumulate = false
    var description: String { "\(name) \(m)×\(n)×\(k)" }

    var lda: Int { transposeA ? m : k }
    var ldb: Int { transposeB ? k : n }

    /// op(A)[i, p] and op(B)[p, j] in the stored matrices.
    func a(_ a: [Float], _ i: Int, _ p: Int) -> Float { transposeA ? a[p * lda + i] : a[i * lda + p] }
    func b(_ b: [Float], _ p: Int, _ j: Int) -> Float { transposeB ? b[j * ldb + p] : b[p * ldb + j] }
}

@Suite("Matrix products cut by shape only")
struct ProductTests {
    /// Shapes of graft's products: late layers and Dense layers at small batches (cut into column
    /// blocks), early layers (row blocks), and the head trainer's `X·Wᵀ`, `Gᵀ·X` and minibatch
    /// products. Cut into as many pieces as threads instead, the first six give other bits for
    /// 2 or 3 threads than for 1 with OpenBLAS 0.3.21 on AVX-512 (pieces fall below the size at
    /// which OpenBLAS switches to its small-matrix kernels, which sum in another order).
    static let cases = [
        ProductCase(name: "dense, batch 1", m: 1, n: 1000, k: 2048),
        ProductCase(name: "binary gradient Gᵀ·X", m: 4, n: 300, k: 1200, transposeA: true),
        ProductCase(name: "gradient Gᵀ·X", m: 10, n: 512, k: 500, transposeA: true),
        ProductCase(name: "minibatch", m: 384, n: 24, k: 200, accumulate: true),
        ProductCase(name: "minibatch weight gradient", m: 200, n: 24, k: 384, transposeA: true),
        ProductCase(name: "narrow", m: 1200, n: 8, k: 300),
        ProductCase(name: "late convolution", m: 98, n: 128, k: 576, accumulate: true),
        ProductCase(name: "logits X·Wᵀ", m: 2000, n: 5, k: 512, transposeB: true),
        ProductCase(name: "early convolution", m: 3136, n: 64, k: 147),
    ]

    func run(_ product: ProductCase, a: [Float], b: [Float], initial: [Float], threads: Int) -> [Float] {
        var c = initial
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    parallelProduct(rows: product.m, columns: product.n, depth: product.k, a.baseAddress!, product.lda,
                                    transposeA: product.transposeA, transposeB: product.transposeB, b.baseAddress!, product.ldb,
                                    c.baseAddress!, product.n, accumulate: product.accumulate, threads: threads)
                }
            }
        }
        return c
    }

    @Test("bit-identical for 1, 2 and 3 threads, and within float32 rounding of a float64 product", arguments: cases)
    func bitIdenticalAcrossThreadCounts(_ product: ProductCase) {
        Parallelism.configure(threads: 1)
        let (m, n, k) = (product.m, product.n, product.k)
        let a = pseudoRandom(m * k, seed: 1)
        let b = pseudoRandom(k * n, seed: 2, scale: 0.1)
        let initial = product.accumulate ? pseudoRandom(m * n, seed: 3) : [Float](repeating: .nan, count: m * n)
        let single = run(product, a: a, b: b, initial: initial, threads: 1)
        for threads in [2, 3] {
            let several = run(product, a: a, b: b, initial: initial, threads: threads)
            let differing = zip(single, several).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(differing) values differ at \(threads) threads")
        }

        // Every element of some 40 rows against a float64 sum: the blocks are where they belong.
        var worst = 0.0
        for i in stride(from: 0, to: m, by: max(1, m / 40)) {
            for j in 0..<n {
                var sum = product.accumulate ? Double(initial[i * n + j]) : 0
                var magnitude = abs(sum)
                for p in 0..<k {
                    let term = Double(product.a(a, i, p)) * Double(product.b(b, p, j))
                    sum += term
                    magnitude += abs(term)
                }
                worst = max(worst, abs(Double(single[i * n + j]) - sum) / magnitude)
            }
        }
        #expect(worst < 1e-5, "largest error \(worst) of the sum of magnitudes")
    }

    @Test("the blocks tile C exactly, column blocks are whole SIMD registers wide, and no block is empty")
    func blocksTile() {
        for m in [1, 2, 15, 16, 63, 98, 129, 1000] {
            for n in [1, 5, 31, 32, 100, 128, 1000] {
                for k in [1, 4096] {
                    let split = ProductSplit(rows: m, columns: n, depth: k)
                    #expect(split.rowCount == m && split.columnCount == n)
                    var covered = [Int](repeating: 0, count: m * n)
                    for item in 0..<split.blockCount {
                        let (rows, columns) = split.block(item)
                        #expect(!rows.isEmpty && !columns.isEmpty, "\(m)×\(n)×\(k) block \(item)")
                        if columns.upperBound < n { #expect(columns.count % 16 == 0) }
                        for i in rows { for j in columns { covered[i * n + j] += 1 } }
                    }
                    #expect(covered.allSatisfy { $0 == 1 }, "\(m)×\(n)×\(k)")
                    #expect(split.blockCount <= 2 * ProductSplit.notionalParallelism || split.columnBlocks == 1)
                }
            }
        }
    }

    /// The cuts the runtime has always made (its results depend on them bit for bit).
    @Test("the cuts of typical shapes")
    func typicalCuts() {
        func cut(_ m: Int, _ n: Int, _ k: Int) -> [Int] {
            let split = ProductSplit(rows: m, columns: n, depth: k)
            return [split.rowBlocks, split.columnBlocks, split.columnStep]
        }
        #expect(cut(98, 128, 576) == [2, 4, 32])
        #expect(cut(2, 1000, 6272) == [1, 8, 128])
        #expect(cut(3136, 64, 147) == [8, 1, 64])
        #expect(cut(100_352, 64, 576) == [98, 1, 64])
        #expect(cut(10, 1024, 3000) == [1, 8, 128])
        #expect(cut(64, 256, 2048) == [1, 8, 32])
        #expect(cut(8, 8, 8) == [1, 1, 8])
    }
}

@Suite("Parallel loops")
struct ParallelLoopTests {
    final class Counts: @unchecked Sendable {
        var values: [Int]
        init(_ count: Int) { values = [Int](repeating: 0, count: count) }
    }

    @Test("parallelFor and parallelItems visit every index once, for any thread count")
    func everyIndexOnce() {
        for threads in 1...4 {
            for count in [0, 1, 7, 100, 1000] {
                let ranges = Counts(count)
                ranges.values.withUnsafeMutableBufferPointer { slots in
                    parallelFor(count, threads: threads, minimumPerThread: 10) { range in
                        for index in range { slots[index] += 1 }
                    }
                }
                #expect(ranges.values.allSatisfy { $0 == 1 })
                let items = Counts(count), workers = Counts(count)
                items.values.withUnsafeMutableBufferPointer { slots in
                    workers.values.withUnsafeMutableBufferPointer { workerSlots in
                        parallelItems(count, threads: threads) { worker, item in
                            slots[item] += 1
                            workerSlots[item] = worker
                        }
                    }
                }
                #expect(items.values.allSatisfy { $0 == 1 })
                #expect(workers.values.allSatisfy { $0 >= 0 && $0 < threads })
            }
        }
    }
}
