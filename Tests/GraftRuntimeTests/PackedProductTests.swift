import GraftAVX2Kernels
import GraftAVX512Kernels
import GraftNumerics
import Testing

/// The AVX-512 product of Winograd's transformed tiles must give the AVX2 product's bits (both
/// are one fused multiply-add chain per element, in depth order), so that a feature does not
/// depend on which of the two a CPU runs, and both must be the product: checked against float64
/// sums, on shapes with row groups and panels left over (13 rows: 8 + 5 and 4·3 + 1; 5 panels:
/// two pairs and one alone), with leading dimensions wider than the operands.
@Suite struct PackedProducts {
    @Test(.enabled(if: CPUFeatures.hasAVX512, "needs a CPU with AVX-512 (F, CD, BW, DQ, VL)"),
          arguments: [(13, 5, 37), (8, 2, 64), (1, 1, 16), (29, 4, 272)])
    func avx512ProductGivesTheAVX2ProductsBits(rows: Int, panels: Int, depth: Int) {
        var value = SeededValues(seed: 0x9E37_79B9_7F4A_7C15 &+ UInt64(rows * 1000 + depth))
        let (lda, columns) = (depth + 3, panels * 16)
        let ldc = columns + 5
        let a = (0..<(rows * lda)).map { _ in value.next() }
        let b = (0..<(panels * depth * 16)).map { _ in value.next() }
        var wide = [Float](repeating: .nan, count: rows * ldc), narrow = wide
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                wide.withUnsafeMutableBufferPointer { c in
                    multiplyPacked512(rows: rows, panels: panels, depth: depth, a.baseAddress!, lda: lda, b.baseAddress!, c.baseAddress!, ldc: ldc)
                }
                narrow.withUnsafeMutableBufferPointer { c in
                    multiplyPacked(rows: rows, panels: panels, depth: depth, a.baseAddress!, lda: lda, b.baseAddress!, c.baseAddress!, ldc: ldc)
                }
            }
        }
        var worst = 0.0
        for r in 0..<rows {
            for j in 0..<columns {
                let (panel, lane) = (j / 16, j % 16)
                var sum = 0.0
                for p in 0..<depth { sum += Double(a[r * lda + p]) * Double(b[(panel * depth + p) * 16 + lane]) }
                worst = max(worst, abs(Double(wide[r * ldc + j]) - sum) / Double(depth).squareRoot())
                #expect(wide[r * ldc + j].bitPattern == narrow[r * ldc + j].bitPattern, "row \(r), column \(j)")
            }
            // The padding between rows is never written.
            for j in columns..<ldc { #expect(wide[r * ldc + j].isNaN, "row \(r), padding column \(j)") }
        }
        #expect(worst < 1e-5, "largest error against the float64 sums, per unit of √depth: \(worst)")
    }
}

/// The same for Dense's product of a batch with weights read in place (`multiplyStrided512`
/// against `multiplyStrided`): bit for bit, accumulating onto `C`'s values, on shapes with row
/// groups left over (11 rows: 8 + 3 and 4·2 + 3), and columns that take every tile width (61 =
/// 32 + 16 + 8 + 5), depths that end inside a block of 16; and within 1e-5 per unit of √depth
/// of float64 sums.
extension PackedProducts {
    @Test(.enabled(if: CPUFeatures.hasAVX512, "needs a CPU with AVX-512 (F, CD, BW, DQ, VL)"),
          arguments: [(11, 61, 37), (8, 64, 512), (1, 40, 16), (3, 1000, 100)])
    func avx512DenseProductGivesTheAVX2ProductsBits(rows: Int, columns: Int, depth: Int) {
        var value = SeededValues(seed: 0x2545_F491_4F6C_DD1D &+ UInt64(rows * 10_000 + columns))
        let (lda, ldb, ldc) = (depth + 1, columns + 3, columns + 2)
        let a = (0..<(rows * lda)).map { _ in value.next() }
        let b = (0..<(depth * ldb)).map { _ in value.next() }
        let start = (0..<(rows * ldc)).map { _ in value.next() }
        var wide = start, narrow = start
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                wide.withUnsafeMutableBufferPointer { c in
                    multiplyStrided512(rows: rows, columns: columns, depth: depth, a.baseAddress!, lda: lda, b.baseAddress!, ldb: ldb,
                                       c.baseAddress!, ldc: ldc, accumulate: true)
                }
                narrow.withUnsafeMutableBufferPointer { c in
                    multiplyStrided(rows: rows, columns: columns, depth: depth, a.baseAddress!, lda: lda, b.baseAddress!, ldb: ldb,
                                    c.baseAddress!, ldc: ldc, accumulate: true)
                }
            }
        }
        var worst = 0.0
        for r in 0..<rows {
            for j in 0..<columns {
                var sum = Double(start[r * ldc + j])
                for p in 0..<depth { sum += Double(a[r * lda + p]) * Double(b[p * ldb + j]) }
                worst = max(worst, abs(Double(wide[r * ldc + j]) - sum) / Double(depth).squareRoot())
                #expect(wide[r * ldc + j].bitPattern == narrow[r * ldc + j].bitPattern, "row \(r), column \(j)")
            }
            for j in columns..<ldc { #expect(wide[r * ldc + j] == start[r * ldc + j], "row \(r), padding column \(j)") }
        }
        #expect(worst < 1e-5, "largest error against the float64 sums, per unit of √depth: \(worst)")
    }
}

/// Uniform values in [-1, 1] in steps of 1e-6 from a 64-bit linear congruential generator.
private struct SeededValues {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
    }
}
