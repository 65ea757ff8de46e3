import GraftModel

extension Converter {
    // MARK: Normalisation and scaling

    func convertBatchNorm(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        guard shape.count >= 2 else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its input has fewer than 2 axes") }
        if layer.batchNorm.useGlobalStats == false {
            throw CaffeImportError.unsupportedParameter(file: file, layer: layer.name, reason: "sets use_global_stats: false (normalising with each batch's own statistics)")
        }
        let channels = shape[1]
        let node = reserveNodeName(layer, index: index)
        let stored = try blobs(layer, expected: [[channels], [channels], [1]])
        // Caffe keeps running sums; blob 2 holds the factor that turns them into the mean and
        // variance (0 means no statistics were accumulated: Caffe then uses 0).
        let factor = stored[2].values[0]
        let scale: Float = factor == 0 ? 0 : 1 / factor
        let mean = stored[0].values.map { $0 * scale }
        let variance = stored[1].values.map { $0 * scale }
        let weightNames = [
            "moving_mean": addWeight(node: node, role: "moving_mean", shape: [channels], values: mean),
            "moving_variance": addWeight(node: node, role: "moving_variance", shape: [channels], values: variance),
        ]
        emit(layer, index: index, name: node, .batchNormalization(.init(axis: 1, epsilon: Double(layer.batchNorm.epsilon))),
             inputs: [input], outputShapes: [shape], weights: weightNames)
    }

    func convertScale(_ layer: LayerDefinition, index: Int, inputs: [String], shape: [Int]) throws {
        let isBias = layer.type == "Bias"
        let rawAxis = isBias ? layer.bias.axis : layer.scale.axis
        let rawCount = isBias ? layer.bias.axisCount : layer.scale.axisCount
        let hasBias = !isBias && layer.scale.biasTerm
        let axis = try normalizedAxis(rawAxis, rank: shape.count, layer: layer)
        if inputs.count == 2 {
            // Second-bottom form: the factor (or addend) is a blob of the net, not a weight.
            guard !hasBias else {
                throw CaffeImportError.unsupportedParameter(file: file, layer: layer.name, reason: "combines a second bottom with bias_term")
            }
            let other = valueShape(inputs[1])
            guard axis == 0 else {
                throw CaffeImportError.unsupportedParameter(file: file, layer: layer.name, reason: "takes its \(isBias ? "bias" : "scale") from a second bottom with axis \(axis) (graft converts axis 0, the squeeze-and-excitation form)")
            }
            guard other.count <= shape.count, Array(shape[..<other.count]) == other else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its second bottom \(describe(other)) does not match the leading axes of \(describe(shape))")
            }
            var factor = inputs[1]
            if other.count < shape.count {
                let target = Array(other.dropFirst()) + Array(repeating: 1, count: shape.count - other.count)
                factor = emitHelper(name: "\(layer.name)/reshape", .reshape(shape: target), input: factor, shape: [shape[0]] + target)
            }
            emit(layer, index: index, isBias ? .add() : .multiply, inputs: [inputs[0], factor], outputShapes: [shape])
            return
        }
        guard inputs.count == 1 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has \(inputs.count) bottoms, expected 1 or 2")
        }
        guard axis > 0 else { throw batchAxisRefused(layer, "scales along") }
        let count = rawCount == -1 ? shape.count - axis : rawCount
        guard count >= 0, axis + count <= shape.count else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "num_axes \(rawCount) from axis \(axis) exceeds the \(shape.count)-D input")
        }
        let weightShape = Array(shape[axis..<(axis + count)])
        let expected = isBias ? [weightShape] : (hasBias ? [weightShape, weightShape] : [weightShape])
        let node = reserveNodeName(layer, index: index)
        let stored = try blobs(layer, expected: expected)
        let tensorShape = weightShape.isEmpty ? [1] : weightShape
        var weightNames: [String: String] = [:]
        if isBias {
            weightNames["bias"] = addWeight(node: node, role: "bias", shape: tensorShape, values: stored[0].values)
        } else {
            weightNames["scale"] = addWeight(node: node, role: "scale", shape: tensorShape, values: stored[0].values)
            if hasBias { weightNames["bias"] = addWeight(node: node, role: "bias", shape: tensorShape, values: stored[1].values) }
        }
        emit(layer, index: index, name: node, .scale(.init(axis: axis, axisCount: count)), inputs: [inputs[0]], outputShapes: [shape],
             weights: weightNames)
    }
}
