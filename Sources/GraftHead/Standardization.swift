internal import GraftNumerics
/// Per-feature standardisation, as scikit-learn's `StandardScaler`: `(x − mean) / std` with the
/// population standard deviation, and a feature whose deviation is zero divided by 1.
///
/// Means and deviations are computed in `Double` with two passes over the rows. The transform is
/// applied as `x · scale + shift` with `scale = 1/std` and `shift = −mean/std` rounded to
/// float32: exactly what the head's `Scale` node computes, so training and prediction see the
/// same numbers.
public struct Standardization: Sendable, Equatable {
    public var mean: [Double]
    public var standardDeviation: [Double]

    public init(mean: [Double], standardDeviation: [Double]) {
        precondition(mean.count == standardDeviation.count)
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// The identity transform over `dimension` features.
    public static func identity(dimension: Int) -> Standardization {
        Standardization(mean: Array(repeating: 0, count: dimension), standardDeviation: Array(repeating: 1, count: dimension))
    }

    /// Fits the means and deviations of the columns of `features` (`rowCount × dimension`).
    ///
    /// Each column's sums run over the rows in order on one thread; `threads` threads take
    /// contiguous ranges of columns, so the result is the same for every thread count.
    public init(fitting features: UnsafeBufferPointer<Float>, rowCount: Int, dimension: Int, threads: Int = 1) {
        var sum = [Double](repeating: 0, count: dimension)
        var squares = [Double](repeating: 0, count: dimension)
        let base = features.baseAddress!
        sum.withUnsafeMutableBufferPointer { sum in
            squares.withUnsafeMutableBufferPointer { squares in
                parallelFor(dimension, threads: threads, minimumPerThread: 64) { columns in
                    for row in 0..<rowCount {
                        let values = base + row * dimension
                        for column in columns { sum[column] += Double(values[column]) }
                    }
                    for column in columns { sum[column] /= Double(max(rowCount, 1)) }
                    for row in 0..<rowCount {
                        let values = base + row * dimension
                        for column in columns {
                            let difference = Double(values[column]) - sum[column]
                            squares[column] += difference * difference
                        }
                    }
                }
            }
        }
        self.mean = sum
        self.standardDeviation = squares.map { total in
            let deviation = (total / Double(max(rowCount, 1))).squareRoot()
            return deviation > 0 && deviation.isFinite ? deviation : 1
        }
    }

    public var dimension: Int { mean.count }

    /// The float32 factors of the `Scale` node: `1/std`.
    public var scale: [Float] { standardDeviation.map { Float(1 / $0) } }
    /// The float32 offsets of the `Scale` node: `−mean/std`.
    public var shift: [Float] { zip(mean, standardDeviation).map { Float(-$0 / $1) } }

    /// Standardises `rowCount` rows in place, on `threads` threads (rows are independent).
    public func apply(to features: UnsafeMutableBufferPointer<Float>, rowCount: Int, threads: Int = 1) {
        let scale = self.scale, shift = self.shift
        let dimension = self.dimension
        let base = features.baseAddress!
        scale.withUnsafeBufferPointer { scale in
            shift.withUnsafeBufferPointer { shift in
                parallelFor(rowCount, threads: threads, minimumPerThread: 256) { rows in
                    for row in rows {
                        let values = base + row * dimension
                        for column in 0..<dimension { values[column] = values[column] * scale[column] + shift[column] }
                    }
                }
            }
        }
    }
}
