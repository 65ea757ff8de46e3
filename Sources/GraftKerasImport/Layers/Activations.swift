import GraftModel

extension GraphBuilder {
    // MARK: Activations

    /// How a Keras activation becomes graft ops.
    enum ActivationPlan {
        /// A function with its default parameters: fusable into Conv2D/Dense.
        case fused(Activation)
        /// A function that needs parameters: a separate Activation node.
        case separate(Activation)
        case softmax
    }

    func activationPlan(_ value: JSONValue?, call: LayerCall) throws -> ActivationPlan {
        var name = "linear"
        if let text = value?.stringValue {
            name = text
        } else if let inner = value?["config"]?.stringValue ?? value?["config"]?["name"]?.stringValue ?? value?["class_name"]?.stringValue {
            name = inner
        } else if let value, value != .null {
            throw unsupported(call, "uses an activation graft cannot read (\(value))")
        }
        switch name {
        case "linear": return .fused(.linear)
        case "relu": return .fused(.rectifier)
        case "relu6": return .fused(.relu6)
        case "sigmoid": return .fused(.sigmoid)
        case "tanh": return .fused(.tanh)
        case "softplus": return .fused(.softplus)
        case "softsign": return .fused(.softsign)
        case "selu": return .fused(.selu)
        case "elu": return .fused(.elu())
        case "exponential": return .fused(.exponential)
        case "swish", "silu": return .fused(.swish)
        case "hard_swish", "hard_silu": return .fused(.hardSwish)
        case "gelu": return .fused(.gelu())
        case "mish": return .fused(.mish)
        case "hard_sigmoid":
            // Keras 1 and 2: max(0, min(1, 0.2x + 0.5)); Keras 3: relu6(x + 3) / 6.
            let slope = kerasMajorVersion >= 3 ? 1.0 / 6.0 : 0.2
            return .separate(.hardSigmoid(slope: slope, offset: 0.5))
        case "leaky_relu":
            // Keras 3's activation function default.
            return .separate(.leakyReLU(alpha: 0.2))
        case "softmax": return .softmax
        default:
            throw unsupported(call, "uses the activation '\(name)'")
        }
    }

    /// Emits an Activation node applying `activation` to `input`.
    func emitActivation(_ name: String, input: Value, _ activation: Activation) throws -> Value {
        try emit(name, .activation(activation), [input], shape: input.shape, layout: input.layout)
    }

    /// Emits a weighted op (Conv2D, Dense, …) with the layer's activation: fused when it can be,
    /// otherwise the op is named `<layer>/preactivation` and the activation node takes the
    /// layer's name, so the layer's name always denotes the Keras layer's output.
    func emitWithActivation(_ call: LayerCall, name: String? = nil, _ operation: Operation, inputs: [Value], shape: [Int?],
                            layout: Layout, weights: [String: String]) throws -> Value {
        let finalName = name ?? call.nodeName
        switch try activationPlan(call.config["activation"], call: call) {
        case let .fused(activation):
            return try emit(finalName, operation.fusing(activation), inputs, shape: shape, layout: layout, weights: weights)
        case let .separate(activation):
            let linear = try emit(finalName + "/preactivation", operation.fusing(.linear), inputs, shape: shape, layout: layout, weights: weights)
            return try emitActivation(finalName, input: linear, activation)
        case .softmax:
            let linear = try emit(finalName + "/preactivation", operation.fusing(.linear), inputs, shape: shape, layout: layout, weights: weights)
            return try emit(finalName, .softmax(axis: -1), [linear], shape: shape, layout: layout)
        }
    }

    func convertActivationLayer(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        switch try activationPlan(call.config["activation"], call: call) {
        case let .fused(activation), let .separate(activation): return try emitActivation(call.nodeName, input: input, activation)
        case .softmax: return try emit(call.nodeName, .softmax(axis: -1), [input], shape: input.shape, layout: input.layout)
        }
    }

    func convertReLU(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        let maximum = call.config["max_value"]?.doubleValue
        let slope = call.config["negative_slope"]?.doubleValue ?? 0
        let threshold = call.config["threshold"]?.doubleValue ?? 0
        if slope == 0, threshold == 0 {
            if maximum == nil { return try emitActivation(call.nodeName, input: input, .rectifier) }
            if maximum == 6 { return try emitActivation(call.nodeName, input: input, .relu6) }
        }
        return try emitActivation(call.nodeName, input: input, .relu(negativeSlope: slope, maxValue: maximum, threshold: threshold))
    }

    func convertPReLU(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        var expected = Array(input.shape.dropFirst())
        let shared = call.config["shared_axes"]?.integerArray ?? call.config["shared_axes"]?.integerValue.map { [$0] } ?? []
        for axis in shared where axis >= 1 && axis <= expected.count { expected[axis - 1] = 1 }
        let names: [String: String]
        if let existing = registeredWeights(of: call, roles: ["alpha"]) {
            names = existing
        } else {
            let stored = try fetch(call, [WeightRequest(role: "alpha", shape: expected)])
            let alpha = stored["alpha"]!
            names = ["alpha": addTensor(of: call, role: "alpha", shape: alpha.shape, values: alpha.values)]
        }
        return try emit(call.nodeName, .preLU, [input], shape: input.shape, layout: input.layout, weights: names)
    }
}

extension Operation {
    /// The op with `activation` fused after its bias (convolutions and Dense; any other op is
    /// returned as it is).
    fileprivate func fusing(_ activation: Activation) -> Operation {
        switch self {
        case var .conv2D(convolution):
            convolution.activation = activation
            return .conv2D(convolution)
        case var .depthwiseConv2D(convolution):
            convolution.activation = activation
            return .depthwiseConv2D(convolution)
        case var .conv2DTranspose(convolution):
            convolution.activation = activation
            return .conv2DTranspose(convolution)
        case var .dense(dense):
            dense.activation = activation
            return .dense(dense)
        default:
            return self
        }
    }
}
