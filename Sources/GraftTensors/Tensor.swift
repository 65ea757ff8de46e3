import GraftSupport
/// A dense float32 tensor in row-major (C) order: the value that graft's CPU runtime, its file
/// formats and its command line exchange.
///
/// `scalars` holds exactly `elementCount` elements, the product of `shape` (1 for a scalar,
/// whose shape is `[]`). The last dimension varies fastest. `Equatable` compares shapes and
/// scalars with `Float.==`, so `NaN != NaN` and `0 == -0`; use `relativeMaxError(to:)` to
/// compare computed results.
public struct Tensor: Sendable, Equatable {
    /// The size of each dimension, outermost first; empty for a scalar.
    public let shape: [Int]
    /// The elements in row-major order. Its count never changes; mutate the values in place
    /// with `withUnsafeMutableBufferPointer(_:)`.
    public private(set) var scalars: [Float]

    /// Creates a tensor from trusted values.
    ///
    /// - Precondition: every dimension is non-negative and `scalars.count` is the product of
    ///   `shape`. Use `init(validatingShape:scalars:)` for values read from a file.
    public init(shape: [Int], scalars: [Float]) {
        precondition(Tensor.elementCount(of: shape) == scalars.count,
                     "Tensor: shape \(describeShape(shape)) does not hold \(scalars.count) scalars")
        self.shape = shape
        self.scalars = scalars
    }

    /// Creates a tensor from untrusted values, throwing if the shape is invalid or does not
    /// match the number of scalars.
    public init(validatingShape shape: [Int], scalars: [Float]) throws(TensorError) {
        guard let count = Tensor.elementCount(of: shape) else { throw .invalidShape(shape: shape) }
        guard count == scalars.count else {
            throw .shapeMismatch(shape: shape, scalarCount: scalars.count)
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// Creates a tensor of the given shape with every element set to `value`.
    ///
    /// - Precondition: every dimension is non-negative and the element count fits in `Int`.
    public init(shape: [Int], repeating value: Float) {
        guard let count = Tensor.elementCount(of: shape) else {
            preconditionFailure("Tensor: invalid shape \(describeShape(shape))")
        }
        self.shape = shape
        self.scalars = [Float](repeating: value, count: count)
    }

    /// The number of elements: the product of `shape`.
    public var elementCount: Int { scalars.count }

    /// The number of dimensions; 0 for a scalar.
    public var rank: Int { shape.count }

    /// The number of elements of a tensor of shape `shape`, or `nil` if a dimension is negative
    /// or the product overflows `Int`. A shape with a zero dimension has no elements.
    public static func elementCount(of shape: [Int]) -> Int? {
        guard shape.allSatisfy({ $0 >= 0 }) else { return nil }
        if shape.contains(0) { return 0 }
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// Calls `body` with the elements in row-major order.
    public func withUnsafeBufferPointer<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<Float>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try scalars.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the elements in row-major order, for changing them in place.
    /// `body` must not replace the buffer (the element count is fixed by the shape).
    public mutating func withUnsafeMutableBufferPointer<Result, Failure: Error>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try scalars.withUnsafeMutableBufferPointer(body)
    }

    /// The relative maximum error of this tensor against `reference`:
    /// `max|self − reference| / max|reference|`, over all elements.
    ///
    /// This is the parity metric graft uses everywhere (a converted model against the
    /// framework's output, the runtime against a reference implementation); pass tests with
    /// `error <= tolerance` so that a NaN result fails. The differences are taken in `Double`.
    ///
    /// - Returns: 0 when the tensors are equal element by element (including two empty
    ///   tensors and two all-zero tensors); `.infinity` when `reference` is all zeros but this
    ///   tensor is not, or when the shapes differ; `.nan` when either tensor contains a NaN.
    public func relativeMaxError(to reference: Tensor) -> Float {
        guard shape == reference.shape else { return .infinity }
        var largestDifference = 0.0
        var largestReference = 0.0
        for (value, expected) in zip(scalars, reference.scalars) {
            if value.isNaN || expected.isNaN { return .nan }
            let difference = value == expected ? 0 : abs(Double(value) - Double(expected))
            largestDifference = Swift.max(largestDifference, difference)
            largestReference = Swift.max(largestReference, abs(Double(expected)))
        }
        if largestDifference == 0 { return 0 }
        if largestReference == 0 { return .infinity }
        let ratio = largestDifference / largestReference
        return ratio.isNaN ? .nan : Float(ratio)
    }
}

/// Errors from creating a tensor out of untrusted values.
public enum TensorError: GraftError, Equatable {
    /// A dimension is negative, or the element count overflows `Int`.
    case invalidShape(shape: [Int])
    /// The number of scalars is not the product of the shape.
    case shapeMismatch(shape: [Int], scalarCount: Int)

    public var exitStatus: ExitStatus { .dataError }

    public var description: String {
        switch self {
        case let .invalidShape(shape):
            "invalid tensor shape \(describeShape(shape)): dimensions must be non-negative and their product must fit in 64 bits"
        case let .shapeMismatch(shape, scalarCount):
            "a tensor of shape \(describeShape(shape)) has \(Tensor.elementCount(of: shape) ?? 0) elements, but \(scalarCount) values were given"
        }
    }
}

/// A shape written as a Python tuple, as NumPy prints it: `()`, `(5,)`, `(2, 3)`.
package func describeShape(_ shape: [Int]) -> String {
    switch shape.count {
    case 0: "()"
    case 1: "(\(shape[0]),)"
    default: "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
}
