import GraftModel

/// Activations, arithmetic with broadcasting, and the no-ops.
enum Elementwise {
    static func activation(_ c: NodeContext, _ function: Activation) throws {
        let (x, shape) = try c.runtime(0)
        c.converter.emit(node: c.name, .activation(function), inputs: [x], output: c.output, shape: shape)
    }

    static func leakyReLU(_ c: NodeContext) throws {
        try activation(c, .leakyReLU(alpha: Double(try c.float("alpha", default: 0.01))))
    }

    static func elu(_ c: NodeContext) throws {
        try activation(c, .elu(alpha: Double(try c.float("alpha", default: 1))))
    }

    static func selu(_ c: NodeContext) throws {
        // The specification's defaults are graft's SELU constants rounded to float32.
        let alpha = try c.float("alpha", default: 1.67326319217681884765625)
        let gamma = try c.float("gamma", default: 1.05070102214813232421875)
        guard alpha == 1.67326319217681884765625, gamma == 1.05070102214813232421875 else {
            throw c.unsupported("has alpha \(alpha) and gamma \(gamma); graft converts SELU with the standard constants")
        }
        try activation(c, .selu)
    }

    static func hardSigmoid(_ c: NodeContext) throws {
        try activation(c, .hardSigmoid(slope: Double(try c.float("alpha", default: 0.2)), offset: Double(try c.float("beta", default: 0.5))))
    }

    static func gelu(_ c: NodeContext) throws {
        let approximate = try c.string("approximate", default: "none")
        guard approximate == "none" || approximate == "tanh" else { throw c.invalid("approximate is '\(approximate.prefix(20))'") }
        try activation(c, .gelu(approximate: approximate == "tanh"))
    }

    /// Clip to [0, max] is a (capped) ReLU; other bounds are not converted.
    static func clip(_ c: NodeContext) throws {
        var low: Float? = try c.attribute("min") != nil ? c.float("min", default: 0) : nil
        var high: Float? = try c.attribute("max") != nil ? c.float("max", default: 0) : nil
        if c.has(1) { guard let value = try c.floats(1, "min")?.first else { throw c.invalid("min is empty") }; low = value }
        if c.has(2) { guard let value = try c.floats(2, "max")?.first else { throw c.invalid("max is empty") }; high = value }
        guard low == 0 else {
            throw c.unsupported("clips to [\(low.map { "\($0)" } ?? "-inf"), \(high.map { "\($0)" } ?? "inf")]; graft converts Clip with min 0 (a ReLU)")
        }
        if let high {
            try activation(c, high == 6 ? .relu6 : .relu(maxValue: Double(high)))
        } else {
            try activation(c, .rectifier)
        }
    }

    static func parametricReLU(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        let slope = try c.requiredConstant(1, "the slope")
        guard let values = slope.floats else { throw c.invalid("the slope must be floats") }
        // graft broadcasts alpha against the input without its batch axis; drop leading 1s that
        // would reach the batch axis.
        var alphaShape = slope.shape
        while alphaShape.count > shape.count - 1, alphaShape.first == 1 { alphaShape.removeFirst() }
        guard alphaShape.count <= shape.count - 1, Shapes.broadcast(Array(shape.dropFirst()), alphaShape) == Array(shape.dropFirst()) else {
            throw c.unsupported("has slope of shape \(describe(slope.shape)), which does not broadcast to \(describe(shape)) without its batch axis")
        }
        let weight = c.converter.addWeight(node: c.name, role: "alpha", shape: alphaShape, values: values)
        c.converter.emit(node: c.name, .preLU, inputs: [x], output: c.output, shape: shape, weights: ["alpha": weight])
    }

    static func power(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        guard let exponent = try c.constant(1)?.uniformValue else { throw c.unsupported("raises to a computed or non-uniform power") }
        c.converter.emit(node: c.name, .activation(.power(power: Double(exponent))), inputs: [x], output: c.output, shape: shape)
    }

    static func identity(_ c: NodeContext) throws {
        try c.requireOnlyFirstOutputUsed("the dropout mask")
        let (x, shape) = try c.runtime(0)
        c.converter.emit(node: c.name, .identity, inputs: [x], output: c.output, shape: shape)
    }

    static func cast(_ c: NodeContext) throws {
        let to = try c.int("to", default: 1)
        guard to == Int(ElementType.float.rawValue) else {
            throw c.unsupported("casts a computed value to \(ElementType.name(Int32(truncatingIfNeeded: to))); graft computes float32 only")
        }
        try identity(c)
    }

    static func extremum(_ c: NodeContext) throws {
        var names: [String] = []
        var shape: [Int] = []
        for i in c.node.inputs.indices {
            guard case let .runtime(name, inputShape) = try c.input(i) else { throw c.unsupported("compares with a constant") }
            guard let combined = Shapes.broadcast(shape, inputShape) else { throw c.invalid("its inputs do not broadcast") }
            shape = combined
            names.append(name)
        }
        if names.count == 1 {
            c.converter.emit(node: c.name, .identity, inputs: names, output: c.output, shape: shape)
        } else {
            c.converter.emit(node: c.name, c.opType == "Max" ? .maximum : .minimum, inputs: names, output: c.output, shape: shape)
        }
    }

    // MARK: Arithmetic

    /// Add, Sub, Mul and Div. Two computed operands become Add, Subtract, Multiply or Divide
    /// (numpy broadcasting, as in ONNX; Divide is IEEE float division, as onnxruntime's). A known operand
    /// becomes a `Rescaling` when it is one value, else a `Scale` whose weights cover the axes it
    /// varies on. A bias added to a MatMul's product becomes that Dense node's bias.
    ///
    /// Division by a constant c is multiplication by the float32 nearest 1/c, which may differ
    /// from ONNX's x / c in the last bit.
    static func arithmetic(_ c: NodeContext) throws {
        let a = try c.input(0), b = try c.input(1)
        switch (a, b) {
        case let (.runtime(left, leftShape), .runtime(right, rightShape)):
            guard let shape = Shapes.broadcast(leftShape, rightShape), shape.count == max(leftShape.count, rightShape.count) else {
                throw c.invalid("cannot broadcast \(describe(leftShape)) with \(describe(rightShape))")
            }
            let operation: GraftOperation
            switch c.opType {
            case "Add": operation = .add()
            case "Sub": operation = .subtract
            case "Mul": operation = .multiply
            default: operation = .divide
            }
            c.converter.emit(node: c.name, operation, inputs: [left, right], output: c.output, shape: shape)
        case let (.runtime(x, shape), .constant(k)):
            try withConstant(c, x: x, shape: shape, constant: k, constantFirst: false)
        case let (.constant(k), .runtime(x, shape)):
            try withConstant(c, x: x, shape: shape, constant: k, constantFirst: true)
        default:
            throw c.unsupported("combines values graft cannot compute (constants depending on the batch size, or values flattened across it)")
        }
    }

    private static func withConstant(_ c: NodeContext, x: String, shape: [Int], constant k: Constant, constantFirst: Bool) throws {
        guard let values = k.floats else { throw c.unsupported("computes with the batch size") }
        guard let combined = Shapes.broadcast(shape, k.shape), combined == shape else {
            throw c.unsupported("broadcasts its computed input \(describe(shape)) to a larger shape with a constant \(describe(k.shape))")
        }
        let op = c.opType
        if op == "Div" && constantFirst { throw c.unsupported("divides a constant by a computed value") }
        // MatMul then Add of a bias: the bias of the Dense node.
        if op == "Add", let index = c.converter.biaslessDense[x], k.shape.dropLast().allSatisfy({ $0 == 1 }),
           k.shape.count <= shape.count, let last = shape.last, k.shape.last == last || k.count == 1 {
            c.converter.attachBias(toDense: index, bias: k.count == 1 ? [Float](repeating: values[0], count: last) : values,
                                   output: c.output, shape: shape)
            return
        }
        // y = scale·x + shift, per element of the constant.
        func affine(_ v: Float) -> (scale: Float, shift: Float) {
            switch op {
            case "Add": (1, v)
            case "Sub": constantFirst ? (-1, v) : (1, -v)
            case "Mul": (v, 0)
            default: (Float(1 / Double(v)), 0)
            }
        }
        if let uniform = k.uniformValue {
            let (scale, shift) = affine(uniform)
            c.converter.emit(node: c.name, .rescaling(.init(scale: Double(scale), offset: Double(shift))), inputs: [x], output: c.output, shape: shape)
            return
        }
        // The axes the constant varies on, as a block [first, last] of the input's axes.
        let padded = [Int](repeating: 1, count: shape.count - k.shape.count) + k.shape
        guard padded[0] == 1 else { throw c.unsupported("combines with a constant that varies along the batch axis") }
        let varying = padded.indices.filter { padded[$0] != 1 }
        guard let first = varying.first, let last = varying.last, !values.isEmpty else {
            throw c.invalid("combines with a constant of shape \(describe(k.shape)) that holds no single value to use")
        }
        let covered = Array(shape[first...last])
        let blockShape = Array(padded[first...last])
        let expanded = Shapes.broadcastIndices(from: blockShape, to: covered).map { values[$0] }
        let terms = expanded.map(affine)
        var weights: [String: String] = [:]
        if op != "Add" && !(op == "Sub" && !constantFirst) {
            weights["scale"] = c.converter.addWeight(node: c.name, role: "scale", shape: covered, values: terms.map(\.scale))
        }
        if op == "Add" || op == "Sub" {
            weights["bias"] = c.converter.addWeight(node: c.name, role: "bias", shape: covered, values: terms.map(\.shift))
        }
        c.converter.emit(node: c.name, .scale(.init(axis: first, axisCount: last - first + 1)), inputs: [x], output: c.output,
                         shape: shape, weights: weights)
    }
}
