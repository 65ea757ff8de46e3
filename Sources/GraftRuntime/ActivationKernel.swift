import Foundation
import GraftModel
import GraftNumerics
/// An element-wise function with its parameters resolved: the `Activation` op, and the fused
/// `activation` of convolutions and Dense.
///
/// Definitions follow TensorFlow/Keras (and Caffe for `power`, `log`, `bnll`): `sigmoid` and
/// `softplus` are evaluated in forms that neither overflow nor lose the small side, `gelu` is exact
/// through `erf` unless the tanh approximation is asked for, `elu`/`selu` use `expm1`.
enum ActivationKernel: Equatable, Sendable {
    case linear
    case relu
    case parameterizedReLU(negativeSlope: Float, maximum: Float, threshold: Float)
    case relu6
    case leakyReLU(alpha: Float)
    case elu(alpha: Float)
    case selu
    case sigmoid
    case hardSigmoid(slope: Float, offset: Float)
    case tanh
    case abs
    case exponential
    case softplus
    case softsign
    case swish
    case hardSwish
    case gelu
    case geluTanh
    case mish
    case power(exponent: Float, scale: Float, shift: Float)
    case log(scale: Float, shift: Float, reciprocalLogBase: Float)

    /// The kernel of a schema activation, its parameters rounded to float32.
    init(_ activation: Activation) {
        switch activation {
        case .linear: self = .linear
        case let .relu(slope, maximum, threshold):
            if slope == 0 && threshold == 0 && maximum == nil {
                self = .relu
            } else {
                self = .parameterizedReLU(negativeSlope: Float(slope), maximum: maximum.map(Float.init) ?? .infinity, threshold: Float(threshold))
            }
        case .relu6: self = .relu6
        case let .leakyReLU(alpha): self = .leakyReLU(alpha: Float(alpha))
        case let .elu(alpha): self = .elu(alpha: Float(alpha))
        case .selu: self = .selu
        case .sigmoid: self = .sigmoid
        case let .hardSigmoid(slope, offset): self = .hardSigmoid(slope: Float(slope), offset: Float(offset))
        case .tanh: self = .tanh
        case .abs: self = .abs
        case .exponential: self = .exponential
        case .softplus, .bnll: self = .softplus
        case .softsign: self = .softsign
        case .swish: self = .swish
        case .hardSwish: self = .hardSwish
        case let .gelu(approximate): self = approximate ? .geluTanh : .gelu
        case .mish: self = .mish
        case let .power(exponent, scale, shift): self = .power(exponent: Float(exponent), scale: Float(scale), shift: Float(shift))
        case let .log(base, scale, shift):
            // The schema allows only positive bases other than 1, so the logarithm is finite and non-zero.
            let logBase = base.map { Foundation.log($0) } ?? 1
            self = .log(scale: Float(scale), shift: Float(shift), reciprocalLogBase: Float(1 / logBase))
        }
    }

    /// `output[i] = f(input[i])` for `i < count`; `input` may equal `output`.
    func apply(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .linear:
            if UnsafePointer(output) != input { output.update(from: input, count: count) }
        case .relu:
            // Explicit SIMD: input and output may be the same memory, which keeps the compiler
            // from vectorising the scalar loop. `x <= 0 ? 0 : x`, as Swift.max(x, 0) computes it.
            let zero = SIMD8<Float>()
            forEachVector(input, output, count: count) { x in x.replacing(with: zero, where: x .<= zero) } scalar: { x in Swift.max(x, 0) }
        case let .parameterizedReLU(slope, maximum, threshold):
            for i in 0..<count {
                let x = input[i]
                output[i] = x >= threshold ? Swift.min(x, maximum) : slope * (x - threshold)
            }
        case .relu6:
            let zero = SIMD8<Float>(), six = SIMD8<Float>(repeating: 6)
            forEachVector(input, output, count: count) { x in
                let positive = x.replacing(with: zero, where: x .<= zero)
                return positive.replacing(with: six, where: six .<= positive)
            } scalar: { x in Swift.min(Swift.max(x, 0), 6) }
        case let .leakyReLU(alpha):
            for i in 0..<count { let x = input[i]; output[i] = x >= 0 ? x : alpha * x }
        case let .elu(alpha):
            for i in 0..<count { let x = input[i]; output[i] = x > 0 ? x : alpha * expm1(x) }
        case .selu:
            let scale: Float = 1.0507009873554805, alpha: Float = 1.6732632423543772
            for i in 0..<count { let x = input[i]; output[i] = scale * (x > 0 ? x : alpha * expm1(x)) }
        case .sigmoid:
            for i in 0..<count { output[i] = stableSigmoid(input[i]) }
        case let .hardSigmoid(slope, offset):
            for i in 0..<count { output[i] = Swift.max(0, Swift.min(1, slope * input[i] + offset)) }
        case .tanh:
            for i in 0..<count { output[i] = Foundation.tanh(input[i]) }
        case .abs:
            for i in 0..<count { output[i] = Swift.abs(input[i]) }
        case .exponential:
            for i in 0..<count { output[i] = exp(input[i]) }
        case .softplus:
            for i in 0..<count { let x = input[i]; output[i] = Swift.max(x, 0) + log1p(exp(-Swift.abs(x))) }
        case .softsign:
            for i in 0..<count { let x = input[i]; output[i] = x / (1 + Swift.abs(x)) }
        case .swish:
            for i in 0..<count { let x = input[i]; output[i] = x * stableSigmoid(x) }
        case .hardSwish:
            for i in 0..<count { let x = input[i]; output[i] = x * Swift.min(Swift.max(x + 3, 0), 6) / 6 }
        case .gelu:
            let inverseRoot2: Float = 0.70710678118654752
            for i in 0..<count { let x = input[i]; output[i] = 0.5 * x * (1 + erf(x * inverseRoot2)) }
        case .geluTanh:
            let root2OverPi: Float = 0.79788456080286536
            for i in 0..<count {
                let x = input[i]
                output[i] = 0.5 * x * (1 + Foundation.tanh(root2OverPi * (x + 0.044715 * x * x * x)))
            }
        case .mish:
            // softplus in the stable form above; tanh saturates to 1 for large x, so x passes through.
            for i in 0..<count {
                let x = input[i]
                output[i] = x * Foundation.tanh(Swift.max(x, 0) + log1p(exp(-Swift.abs(x))))
            }
        case let .power(exponent, scale, shift):
            if exponent == 1 {
                for i in 0..<count { output[i] = shift + scale * input[i] }
            } else if exponent == 2 {
                for i in 0..<count { let v = shift + scale * input[i]; output[i] = v * v }
            } else {
                for i in 0..<count { output[i] = pow(shift + scale * input[i], exponent) }
            }
        case let .log(scale, shift, reciprocalLogBase):
            for i in 0..<count { output[i] = Foundation.log(shift + scale * input[i]) * reciprocalLogBase }
        }
    }

    /// Applies the function to `count` elements in parallel blocks.
    func apply(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int, threads: Int) {
        if self == .linear && UnsafePointer(output) == input { return }
        parallelFor(count, threads: threads, minimumPerThread: 16_384) { range in
            apply(input + range.lowerBound, output + range.lowerBound, count: range.count)
        }
    }
}

/// `output[i] = vector(input[i...i+7])` eight at a time, then `scalar` on the rest; `input` may
/// equal `output`. Both closures must compute the same function.
@inline(__always)
func forEachVector(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int,
                   _ vector: (SIMD8<Float>) -> SIMD8<Float>, scalar: (Float) -> Float) {
    var i = 0
    let source = UnsafeRawPointer(input), target = UnsafeMutableRawPointer(output)
    while i + 8 <= count {
        target.storeBytes(of: vector(source.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)), toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        output[i] = scalar(input[i])
        i += 1
    }
}

/// 1/(1 + e⁻ˣ) without overflow for large |x|.
@inline(__always)
func stableSigmoid(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + exp(-x)) }
    let e = exp(x)
    return e / (1 + e)
}
