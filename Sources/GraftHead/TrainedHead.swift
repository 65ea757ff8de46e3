import Foundation
/// A fully connected layer of a head: `y = activation(x · kernel + bias)`.
public struct DenseLayer: Sendable, Equatable {
    /// `[inputCount, outputCount]`, row-major: the `.graft` `Dense` kernel layout.
    public var kernel: [Float]
    public var bias: [Float]
    public var inputCount: Int
    public var outputCount: Int
    /// Whether a ReLU follows.
    public var rectifies: Bool

    public init(kernel: [Float], bias: [Float], inputCount: Int, outputCount: Int, rectifies: Bool) {
        precondition(kernel.count == inputCount * outputCount && bias.count == outputCount)
        self.kernel = kernel
        self.bias = bias
        self.inputCount = inputCount
        self.outputCount = outputCount
        self.rectifies = rectifies
    }
}

/// A trained head: optional standardisation, one or two Dense layers, then softmax over the
/// classes.
///
/// A binary logistic regression (one weight vector `w`, intercept `b`, probability
/// `σ(x·w + b)` of the second class) is stored as a two-column Dense layer with columns `0` and
/// `w` and biases `0` and `b`: `softmax(0, z)` is `(1 − σ(z), σ(z))` exactly.
public struct TrainedHead: Sendable {
    public var kind: HeadKind
    /// The class names, in column order.
    public var classes: [String]
    /// The cache layer the head reads.
    public var layer: String
    public var dimension: Int
    public var standardization: Standardization?
    public var layers: [DenseLayer]
    public var report: TrainingReport
    /// The fold scores, when cross-validation chose the head's settings.
    public var crossValidation: CrossValidationResult?

    public init(kind: HeadKind, classes: [String], layer: String, dimension: Int, standardization: Standardization?,
                layers: [DenseLayer], report: TrainingReport) {
        self.kind = kind
        self.classes = classes
        self.layer = layer
        self.dimension = dimension
        self.standardization = standardization
        self.layers = layers
        self.report = report
    }

    /// Class probabilities for `rowCount` rows of raw (unstandardised) features:
    /// `rowCount × classes.count` floats, row-major. Computed as the head's `.graft` graph
    /// computes them (float32 Scale, Dense on sgemm, ReLU, softmax).
    public func probabilities(for features: [Float], rowCount: Int, threadCount: Int = 1) -> [Float] {
        precondition(features.count == rowCount * dimension)
        var input = features
        if let standardization {
            input.withUnsafeMutableBufferPointer { standardization.apply(to: $0, rowCount: rowCount) }
        }
        for layer in layers {
            input = HeadTrainer.denseForward(layer, input, rowCount: rowCount, threads: threadCount)
        }
        input.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rowCount: rowCount, columns: classes.count) }
        return input
    }
}

/// Softmax of each row in place, in float32 (max subtracted first).
func softmaxRows(_ values: UnsafeMutablePointer<Float>, rowCount: Int, columns: Int) {
    for row in 0..<rowCount {
        let z = values + row * columns
        var largest = -Float.infinity
        for j in 0..<columns { largest = max(largest, z[j]) }
        var sum: Float = 0
        for j in 0..<columns {
            z[j] = expf(z[j] - largest)
            sum += z[j]
        }
        let inverse = 1 / sum
        for j in 0..<columns { z[j] *= inverse }
    }
}
