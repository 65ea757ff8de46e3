import Foundation
/// An element-wise function with its parameters: the `Activation` op, and the fused `activation`
/// of Conv2D, DepthwiseConv2D, Conv2DTranspose and Dense.
///
/// Parameters that distinguish framework variants are explicit, never implied by the source:
/// `hardSigmoid` carries Keras 2's slope 0.2 or Keras 3's 1/6 as the converter found it.
/// Definitions (`schemas/graft-model.md`): TensorFlow/Keras's, and Caffe's for `power`, `log` and
/// `bnll`.
public enum Activation: Sendable, Hashable {
    case linear
    /// `x > threshold ? min(x, maxValue) : negativeSlope·(x − threshold)`; Keras's `ReLU` layer
    /// (strictly greater). `relu()` with the defaults is the plain rectifier.
    case relu(negativeSlope: Double = 0, maxValue: Double? = nil, threshold: Double = 0)
    case relu6
    /// `x ≥ 0 ? x : alpha·x`.
    case leakyReLU(alpha: Double)
    /// `x > 0 ? x : alpha·(eˣ − 1)`.
    case elu(alpha: Double = 1)
    case selu
    case sigmoid
    /// `max(0, min(1, slope·x + offset))`.
    case hardSigmoid(slope: Double, offset: Double = 0.5)
    case tanh
    case abs
    /// `eˣ`.
    case exponential
    /// `log(1 + eˣ)`, computed stably.
    case softplus
    /// Caffe's BNLL: the same function as `softplus`, kept apart so a converted net says what it was.
    case bnll
    /// `x/(1 + |x|)`.
    case softsign
    /// `x·sigmoid(x)` (Keras `silu`).
    case swish
    /// `x·min(max(x + 3, 0), 6)/6`.
    case hardSwish
    /// `x·Φ(x)`, or with `approximate` the tanh approximation.
    case gelu(approximate: Bool = false)
    /// `x·tanh(softplus(x))` (Misra 2019; Keras `mish`, Caffe forks' and OpenCV's `Mish`).
    case mish
    /// `(shift + scale·x)^power` (Caffe Power).
    case power(power: Double = 1, scale: Double = 1, shift: Double = 0)
    /// `log_base(shift + scale·x)` (Caffe Log); `base` nil is e.
    case log(base: Double? = nil, scale: Double = 1, shift: Double = 0)

    /// The plain rectifier, `max(x, 0)`.
    public static let rectifier = Activation.relu()

    /// The function's name in the JSON (`function` of an Activation node, `activation` of the
    /// ops that fuse one).
    public var function: Function {
        switch self {
        case .linear: .linear
        case .relu: .relu
        case .relu6: .relu6
        case .leakyReLU: .leakyReLU
        case .elu: .elu
        case .selu: .selu
        case .sigmoid: .sigmoid
        case .hardSigmoid: .hardSigmoid
        case .tanh: .tanh
        case .abs: .abs
        case .exponential: .exponential
        case .softplus: .softplus
        case .bnll: .bnll
        case .softsign: .softsign
        case .swish: .swish
        case .hardSwish: .hardSwish
        case .gelu: .gelu
        case .mish: .mish
        case .power: .power
        case .log: .log
        }
    }

    /// The names of the functions, as the JSON spells them.
    public enum Function: String, Sendable, CaseIterable {
        case linear, relu, relu6, sigmoid, tanh, softplus, softsign, selu, elu, gelu
        case swish, exponential, abs, log, bnll, mish, power
        case hardSigmoid = "hard_sigmoid"
        case hardSwish = "hard_swish"
        case leakyReLU = "leaky_relu"

        /// The parameters the function takes as attributes of an Activation node.
        public var parameterNames: [String] {
            switch self {
            case .relu: ["negative_slope", "max_value", "threshold"]
            case .leakyReLU, .elu: ["alpha"]
            case .hardSigmoid: ["slope", "offset"]
            case .gelu: ["approximate"]
            case .power: ["power", "scale", "shift"]
            case .log: ["base", "scale", "shift"]
            default: []
            }
        }
    }

    /// Whether the function is written by its name alone (every parameter at its default), as
    /// the fused `activation` attribute requires.
    public var hasDefaultParameters: Bool {
        var writer = AttributeWriter()
        encodeParameters(into: &writer)
        return writer.values.isEmpty
    }

    /// Reads a function and its parameters from `reader`, the function's name under `key`.
    static func read(_ key: String, from reader: inout AttributeReader, parameters: Bool) throws(AttributeError) -> Activation {
        let function: Function = try reader.choice(key, default: parameters ? nil : .linear)
        guard parameters else {
            // A fused activation takes its default parameters; functions without defaults cannot be fused.
            switch function {
            case .leakyReLU, .hardSigmoid:
                throw reader.invalid(key, "is \"\(function.rawValue)\", which needs parameters: use an Activation node")
            default:
                var defaults = AttributeReader(node: reader.node, op: .activation, values: [:])
                return try read(function, from: &defaults)
            }
        }
        return try read(function, from: &reader)
    }

    private static func read(_ function: Function, from reader: inout AttributeReader) throws(AttributeError) -> Activation {
        switch function {
        case .linear: return .linear
        case .relu:
            let slope = try reader.double("negative_slope", default: 0)
            let maximum = try reader.optionalDouble("max_value")
            let threshold = try reader.double("threshold", default: 0)
            return .relu(negativeSlope: slope, maxValue: maximum, threshold: threshold)
        case .relu6: return .relu6
        case .leakyReLU: return .leakyReLU(alpha: try reader.double("alpha"))
        case .elu: return .elu(alpha: try reader.double("alpha", default: 1))
        case .selu: return .selu
        case .sigmoid: return .sigmoid
        case .hardSigmoid: return .hardSigmoid(slope: try reader.double("slope"), offset: try reader.double("offset", default: 0.5))
        case .tanh: return .tanh
        case .abs: return .abs
        case .exponential: return .exponential
        case .softplus: return .softplus
        case .bnll: return .bnll
        case .softsign: return .softsign
        case .swish: return .swish
        case .hardSwish: return .hardSwish
        case .gelu: return .gelu(approximate: try reader.bool("approximate", default: false))
        case .mish: return .mish
        case .power:
            return .power(power: try reader.double("power", default: 1), scale: try reader.double("scale", default: 1),
                          shift: try reader.double("shift", default: 0))
        case .log:
            var base = try reader.optionalDouble("base")
            // Caffe writes base −1 for e.
            if base == -1 || base == M_E { base = nil }
            if let base, !(base > 0 && base != 1 && base.isFinite) {
                throw reader.invalid("base", "is \(base), expected a positive number other than 1 (or -1 for e)")
            }
            return .log(base: base, scale: try reader.double("scale", default: 1), shift: try reader.double("shift", default: 0))
        }
    }

    /// Writes the parameters that differ from their defaults (required ones always).
    func encodeParameters(into writer: inout AttributeWriter) {
        switch self {
        case let .relu(slope, maximum, threshold):
            if slope != 0 { writer.set("negative_slope", slope) }
            if let maximum { writer.set("max_value", maximum) }
            if threshold != 0 { writer.set("threshold", threshold) }
        case let .leakyReLU(alpha): writer.set("alpha", alpha)
        case let .elu(alpha): if alpha != 1 { writer.set("alpha", alpha) }
        case let .hardSigmoid(slope, offset):
            writer.set("slope", slope)
            writer.set("offset", offset)
        case let .gelu(approximate): if approximate { writer.set("approximate", true) }
        case let .power(power, scale, shift):
            if power != 1 { writer.set("power", power) }
            if scale != 1 { writer.set("scale", scale) }
            if shift != 0 { writer.set("shift", shift) }
        case let .log(base, scale, shift):
            if let base { writer.set("base", base) }
            if scale != 1 { writer.set("scale", scale) }
            if shift != 0 { writer.set("shift", shift) }
        default: break
        }
    }
}
