import GraftModel

extension GraphBuilder {
    // MARK: Normalisation and scaling

    func singleAxis(_ value: JSONValue?, default defaultAxis: Int, call: LayerCall) throws -> Int {
        guard let value, value != .null else { return defaultAxis }
        if let axis = value.integerValue { return axis }
        if let axes = value.integerArray, axes.count == 1 { return axes[0] }
        throw unsupported(call, "normalises over several axes \(value)")
    }

    func convertBatchNormalization(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        if let mode = call.config["mode"]?.integerValue, mode != 0 {
            throw unsupported(call, "uses Keras 1 mode \(mode)")
        }
        if call.config["renorm"]?.boolValue == true { throw unsupported(call, "uses batch renormalisation") }
        let axis = try singleAxis(call.config["axis"], default: -1, call: call)
        let positive = axis < 0 ? axis + input.rank : axis
        guard positive >= 1, positive < input.rank else { throw unsupported(call, "normalises over axis \(axis) of a rank-\(input.rank) value") }
        let channels = input.shape[positive]
        let center = call.config["center"]?.boolValue ?? true
        let scale = call.config["scale"]?.boolValue ?? true
        let epsilon = call.config["epsilon"]?.doubleValue ?? 1e-3
        let roles = ["gamma", "beta", "moving_mean", "moving_variance"]
        let names: [String: String]
        if let existing = registeredWeights(of: call, roles: roles) {
            names = existing
        } else {
            var requests: [WeightRequest] = []
            if scale { requests.append(WeightRequest(role: "gamma", shape: [channels])) }
            if center { requests.append(WeightRequest(role: "beta", shape: [channels])) }
            requests.append(WeightRequest(role: "moving_mean", shape: [channels]))
            requests.append(WeightRequest(role: "moving_variance", shape: [channels]))
            let stored = try fetch(call, requests)
            var result: [String: String] = [:]
            for role in roles {
                if let weight = stored[role] { result[role] = addTensor(of: call, role: role, shape: weight.shape, values: weight.values) }
            }
            names = result
        }
        return try emit(call.nodeName, .batchNormalization(.init(axis: axis, epsilon: epsilon)), [input], shape: input.shape,
                        layout: input.layout, weights: names)
    }

    func convertLayerNormalization(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        if call.config["rms_scaling"]?.boolValue == true { throw unsupported(call, "uses RMS scaling") }
        let axes: [Int] = call.config["axis"]?.integerValue.map { [$0] } ?? call.config["axis"]?.integerArray ?? [-1]
        let epsilon = call.config["epsilon"]?.doubleValue ?? 1e-3
        let center = call.config["center"]?.boolValue ?? true
        let scale = call.config["scale"]?.boolValue ?? true
        let normalized: [Int?] = axes.map { input.shape[$0 < 0 ? $0 + input.rank : $0] }
        let names: [String: String]
        if let existing = registeredWeights(of: call, roles: ["gamma", "beta"]) {
            names = existing
        } else {
            var requests: [WeightRequest] = []
            if scale { requests.append(WeightRequest(role: "gamma", shape: normalized)) }
            if center { requests.append(WeightRequest(role: "beta", shape: normalized)) }
            let stored = try fetch(call, requests)
            var result: [String: String] = [:]
            for role in ["gamma", "beta"] {
                if let weight = stored[role] { result[role] = addTensor(of: call, role: role, shape: weight.shape, values: weight.values) }
            }
            names = result
        }
        return try emit(call.nodeName, .layerNormalization(.init(axes: axes, epsilon: epsilon)), [input], shape: input.shape,
                        layout: input.layout, weights: names)
    }

    /// Normalization: `(x − mean) / max(sqrt(variance), 1e-7)` (Keras's epsilon), written as a
    /// Scale op with `scale = 1 / max(sqrt(variance), 1e-7)` and `bias = −mean · scale` over the
    /// kept axis; `invert` is the inverse map.
    func convertNormalization(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        let axisValue = call.config["axis"]
        let axis = try singleAxis(axisValue, default: -1, call: call)
        if axisValue == .null { throw unsupported(call, "normalises every element separately (axis None)") }
        let positive = axis < 0 ? axis + input.rank : axis
        guard positive >= 1, positive < input.rank, let channels = input.shape[positive] else {
            throw unsupported(call, "normalises over axis \(axis) of a value of shape \(describe(input.shape))")
        }
        let names: [String: String]
        if let existing = registeredWeights(of: call, roles: ["scale", "bias"]) {
            names = existing
        } else {
            var mean: [Float]
            var variance: [Float]
            if let meanValues = call.config["mean"]?.doubleArray ?? call.config["mean"]?.doubleValue.map({ [$0] }),
               let varianceValues = call.config["variance"]?.doubleArray ?? call.config["variance"]?.doubleValue.map({ [$0] }) {
                mean = meanValues.map(Float.init)
                variance = varianceValues.map(Float.init)
            } else {
                let stored = try fetch(call, [WeightRequest(role: "mean", shape: [channels]), WeightRequest(role: "variance", shape: [channels]),
                                              WeightRequest(role: "count", shape: [], isRequired: false)])
                mean = stored["mean"]!.values
                variance = stored["variance"]!.values
            }
            if mean.count == 1 { mean = Array(repeating: mean[0], count: channels) }
            if variance.count == 1 { variance = Array(repeating: variance[0], count: channels) }
            guard mean.count == channels, variance.count == channels else {
                throw KerasImportError.weightShapeMismatch(path: path, layer: call.layerPath.joined(separator: "/"), weight: "mean",
                                                           expectedShape: [channels], actualShape: [mean.count])
            }
            let invert = call.config["invert"]?.boolValue ?? false
            var scale = [Float](repeating: 0, count: channels)
            var bias = [Float](repeating: 0, count: channels)
            for index in 0..<channels {
                let deviation = max(Double(variance[index]).squareRoot(), 1e-7)
                if invert {
                    scale[index] = Float(deviation)
                    bias[index] = mean[index]
                } else {
                    scale[index] = Float(1 / deviation)
                    bias[index] = Float(-Double(mean[index]) / deviation)
                }
            }
            names = ["scale": addTensor(of: call, role: "scale", shape: [channels], values: scale),
                     "bias": addTensor(of: call, role: "bias", shape: [channels], values: bias)]
        }
        return try emit(call.nodeName, .scale(.init(axis: positive, axisCount: 1)), [input], shape: input.shape, layout: input.layout,
                        weights: names)
    }

    /// Rescaling: scalars become a Rescaling op; per-channel lists (aligned with the last axis)
    /// a Scale op.
    func convertRescaling(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        let scaleValue = call.config["scale"] ?? 1.0
        let offsetValue = call.config["offset"] ?? 0.0
        if let scale = scaleValue.doubleValue, let offset = offsetValue.doubleValue {
            return try emit(call.nodeName, .rescaling(.init(scale: scale, offset: offset)), [input], shape: input.shape,
                            layout: input.layout)
        }
        let scales = scaleValue.doubleArray ?? scaleValue.doubleValue.map { [$0] }
        let offsets = offsetValue.doubleArray ?? offsetValue.doubleValue.map { [$0] }
        guard let scales, let offsets, let channels = input.shape.last ?? nil,
              [1, channels].contains(scales.count), [1, channels].contains(offsets.count) else {
            throw unsupported(call, "has a scale or offset that is neither a number nor one value per channel")
        }
        let names = registeredWeights(of: call, roles: ["scale", "bias"]) ?? [
            "scale": addTensor(of: call, role: "scale", shape: [channels],
                               values: (0..<channels).map { Float(scales[scales.count == 1 ? 0 : $0]) }),
            "bias": addTensor(of: call, role: "bias", shape: [channels],
                              values: (0..<channels).map { Float(offsets[offsets.count == 1 ? 0 : $0]) }),
        ]
        return try emit(call.nodeName, .scale(.init(axis: input.rank - 1, axisCount: 1)), [input], shape: input.shape,
                        layout: input.layout, weights: names)
    }

    /// ConvNeXt's LayerScale: `x · gamma` over the last axis.
    func convertLayerScale(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        let channels = call.config["projection_dim"]?.integerValue ?? input.shape.last ?? nil
        let names: [String: String]
        if let existing = registeredWeights(of: call, roles: ["scale"]) {
            names = existing
        } else {
            let stored = try fetch(call, [WeightRequest(role: "gamma", shape: [channels])])
            let gamma = stored["gamma"]!
            names = ["scale": addTensor(of: call, role: "scale", shape: gamma.shape, values: gamma.values)]
        }
        return try emit(call.nodeName, .scale(.init(axis: input.rank - 1, axisCount: 1)), [input], shape: input.shape,
                        layout: input.layout, weights: names)
    }
}
