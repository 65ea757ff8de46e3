import Foundation
import GraftModel

/// Activation functions (nodes and the activations fused into convolutions and Dense) and PReLU.
/// Functions ONNX has an operator for use it; the others are written out of standard operators
/// with the same definition (`schemas/graft-model.md`).
enum Activations {
    static func node(_ c: NodeExport, _ activation: Activation) throws {
        let x = c.builder.anyOrder(c.input)
        let result = try apply(activation, to: x, c)
        if result == x {
            try c.passThrough()
        } else {
            c.finish(result, order: c.builder.order(of: c.input))
        }
    }

    /// Appends the nodes computing `activation` of `x`; returns `x` itself for `linear`.
    static func apply(_ activation: Activation, to x: String, _ c: NodeExport) throws -> String {
        let b = c.builder
        func unary(_ op: String, _ attributes: [ONNXAttribute] = []) -> String { c.step(op, [x], op.lowercased(), attributes) }
        switch activation {
        case .linear: return x
        case let .relu(slope, maximum, threshold):
            if threshold == 0 && maximum == nil { return slope == 0 ? unary("Relu") : unary("LeakyRelu", [.init("alpha", .float(Float(slope)))]) }
            if threshold == 0 && slope == 0, let maximum, maximum >= 0 {
                return c.step("Clip", [x, b.scalar(0, name: "\(c.name)/min"), b.scalar(Float(maximum), name: "\(c.name)/max")], "clip")
            }
            // x > t ? min(x, max) : slope·(x − t), as (x > t ? x : 0) clipped at max, plus
            // −slope·relu(t − x): operators the importer reads back.
            var upper = threshold == 0 ? unary("Relu") : unary("ThresholdedRelu", [.init("alpha", .float(Float(threshold)))])
            if let maximum {
                let high = b.scalar(Float(maximum), name: "\(c.name)/max")
                upper = threshold >= 0 && maximum >= 0 ? c.step("Clip", [upper, b.scalar(0, name: "\(c.name)/min"), high], "clip")
                    : c.step("Min", [upper, high], "max_value")
            }
            guard slope != 0 else { return upper }
            let flipped = c.step("Mul", [x, b.scalar(-1, name: "\(c.name)/minus_one")], "negated")
            let below = c.step("Relu", [c.step("Add", [flipped, b.scalar(Float(threshold), name: "\(c.name)/threshold")], "below_threshold")], "below")
            let lower = c.step("Mul", [below, b.scalar(Float(-slope), name: "\(c.name)/slope")], "lower")
            return c.step("Add", [upper, lower], "relu")
        case .relu6:
            return c.step("Clip", [x, b.scalar(0, name: "\(c.name)/min"), b.scalar(6, name: "\(c.name)/max")], "relu6")
        case let .leakyReLU(alpha): return unary("LeakyRelu", [.init("alpha", .float(Float(alpha)))])
        case let .elu(alpha): return unary("Elu", [.init("alpha", .float(Float(alpha)))])
        case .selu:
            return unary("Selu", [.init("alpha", .float(1.6732632423543772)), .init("gamma", .float(1.0507009873554805))])
        case .sigmoid: return unary("Sigmoid")
        case let .hardSigmoid(slope, offset):
            return unary("HardSigmoid", [.init("alpha", .float(Float(slope))), .init("beta", .float(Float(offset)))])
        case .tanh: return unary("Tanh")
        case .abs: return unary("Abs")
        case .exponential: return unary("Exp")
        case .softplus, .bnll: return unary("Softplus")
        case .softsign: return unary("Softsign")
        case .swish: return c.step("Mul", [x, unary("Sigmoid")], "swish")
        case .hardSwish: return unary("HardSwish")
        case let .gelu(approximate):
            if b.opset >= 20 { return unary("Gelu", [.init("approximate", .string(approximate ? "tanh" : "none"))]) }
            let half = b.scalar(0.5, name: "\(c.name)/half"), one = b.scalar(1, name: "\(c.name)/one")
            if approximate {
                // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
                let cube = c.step("Mul", [c.step("Mul", [x, x], "square"), x], "cube")
                let inner = c.step("Add", [x, c.step("Mul", [cube, b.scalar(0.044715, name: "\(c.name)/coefficient")], "cubic")], "inner")
                let scaled = c.step("Mul", [inner, b.scalar(Float((2 / Double.pi).squareRoot()), name: "\(c.name)/scale")], "scaled")
                let sum = c.step("Add", [c.step("Tanh", [scaled], "tanh"), one], "sum")
                return c.step("Mul", [c.step("Mul", [x, sum], "product"), half], "gelu")
            }
            // (x·(1 + erf(x/√2)))·0.5, a grouping the importer reads back as one GELU.
            let erf = c.step("Erf", [c.step("Div", [x, b.scalar(Float(2.0.squareRoot()), name: "\(c.name)/sqrt2")], "scaled")], "erf")
            let sum = c.step("Add", [erf, one], "sum")
            return c.step("Mul", [c.step("Mul", [x, sum], "product"), half], "gelu")
        case .mish:
            if b.opset >= 18 { return unary("Mish") }
            return c.step("Mul", [x, c.step("Tanh", [unary("Softplus")], "tanh")], "mish")
        case let .power(power, scale, shift):
            var y = x
            if scale != 1 { y = c.step("Mul", [y, b.scalar(Float(scale), name: "\(c.name)/scale")], "scaled") }
            if shift != 0 { y = c.step("Add", [y, b.scalar(Float(shift), name: "\(c.name)/shift")], "shifted") }
            if power != 1 { y = c.step("Pow", [y, b.scalar(Float(power), name: "\(c.name)/power")], "power") }
            return y == x ? c.step("Identity", [x], "identity") : y
        case let .log(base, scale, shift):
            var y = x
            if scale != 1 { y = c.step("Mul", [y, b.scalar(Float(scale), name: "\(c.name)/scale")], "scaled") }
            if shift != 0 { y = c.step("Add", [y, b.scalar(Float(shift), name: "\(c.name)/shift")], "shifted") }
            y = c.step("Log", [y], "log")
            if let base { y = c.step("Div", [y, b.scalar(Float(Foundation.log(base)), name: "\(c.name)/log_base")], "rebased") }
            return y
        }
    }

    /// PReLU: ONNX PRelu broadcasts its slope as graft does (aligned right, batch excluded); the
    /// slope is permuted to the order the input is held in.
    static func parametricReLU(_ c: NodeExport) throws {
        let tensor = try c.requiredWeight("alpha")
        let alphaShape = c.builder.weightShape(tensor)
        let order = c.builder.order(of: c.input)
        let rank = order.count
        var slope: String
        var used = identity(rank)
        if alphaShape.count == rank - 1, order != identity(rank) {
            // Axis i of the slope is semantic axis i + 1; held order `order` wants them as order[1...].
            let permutation = order.dropFirst().map { $0 - 1 }
            slope = try c.builder.weight(tensor, key: "order" + permutation.map(String.init).joined()) { values, dims in
                (permute(values, dims: dims, permutation: Array(permutation)), permutation.map { dims[$0] })
            }
            used = order
        } else {
            slope = try c.builder.weight(tensor)
        }
        let x = c.builder.value(c.input, in: used)
        slope = c.step("PRelu", [x, slope], "prelu")
        c.finish(slope, order: used)
    }
}

/// Transposes a row-major tensor: output axis j is input axis `permutation[j]`.
func permute(_ values: UnsafeBufferPointer<Float>, dims: [Int], permutation: [Int]) -> [Float] {
    let rank = dims.count
    var strides = [Int](repeating: 1, count: rank)
    for i in stride(from: rank - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * dims[i + 1] }
    let outDims = permutation.map { dims[$0] }
    var result = [Float](repeating: 0, count: values.count)
    var index = [Int](repeating: 0, count: rank)
    for flat in 0..<values.count {
        var source = 0
        for j in 0..<rank { source += index[j] * strides[permutation[j]] }
        result[flat] = values[source]
        var j = rank - 1
        while j >= 0 {
            index[j] += 1
            if index[j] < outDims[j] { break }
            index[j] = 0
            j -= 1
        }
    }
    return result
}
