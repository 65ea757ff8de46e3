import GraftModel

/// BatchNormalization, LayerNormalization, LRN and Softmax.
enum Normalization {
    static func batch(_ c: NodeContext) throws {
        try c.requireOnlyFirstOutputUsed("training statistics")
        guard try c.int("training_mode", default: 0) == 0 else { throw c.unsupported("runs in training mode") }
        let (x, shape) = try c.runtime(0)
        guard shape.count >= 2 else { throw c.invalid("its input has shape \(describe(shape))") }
        let channels = shape[1]
        var weights: [String: String] = [:]
        for (index, role) in [(1, "gamma"), (2, "beta"), (3, "moving_mean"), (4, "moving_variance")] {
            guard let values = try c.floats(index, role) else { throw c.invalid("\(role) (input \(index + 1)) is missing") }
            guard values.count == channels else { throw c.invalid("\(role) has \(values.count) values for \(channels) channels") }
            weights[role] = c.converter.addWeight(node: c.name, role: role, shape: [channels], values: values)
        }
        let epsilon = Double(try c.float("epsilon", default: 1e-5))
        c.converter.emit(node: c.name, .batchNormalization(.init(axis: 1, epsilon: epsilon)), inputs: [x], output: c.output,
                         shape: shape, weights: weights)
    }

    /// LayerNormalization over the axes from `axis` on, with Scale and B shaped like them.
    static func layer(_ c: NodeContext) throws {
        try c.requireOnlyFirstOutputUsed("mean or inverse deviation")
        let (x, shape) = try c.runtime(0)
        let axis = try c.normalizedAxis(try c.int("axis", default: -1), rank: shape.count)
        guard axis > 0 else { throw c.unsupported("normalises over the batch axis") }
        let normalized = Array(shape[axis...])
        var weights: [String: String] = [:]
        for (index, role) in [(1, "gamma"), (2, "beta")] where c.has(index) {
            let value = try c.requiredConstant(index, role)
            guard let values = value.floats, Shapes.broadcast(normalized, value.shape) == normalized else {
                throw c.invalid("\(role) has shape \(describe(value.shape)), which does not broadcast to \(describe(normalized))")
            }
            let expanded = Shapes.broadcastIndices(from: value.shape, to: normalized).map { values[$0] }
            weights[role] = c.converter.addWeight(node: c.name, role: role, shape: normalized, values: expanded)
        }
        let epsilon = Double(try c.float("epsilon", default: 1e-5))
        c.converter.emit(node: c.name, .layerNormalization(.init(axes: Array(axis..<shape.count), epsilon: epsilon)),
                         inputs: [x], output: c.output, shape: shape, weights: weights)
    }

    /// LRN across channels: `x / (bias + alpha/size · Σ x²)^beta` over `size` channels, Caffe's
    /// definition when the window is centred (odd `size`).
    static func localResponse(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        guard shape.count == 4 else { throw c.unsupported("normalises a \(shape.count)-D value; graft converts 4-D NCHW ones") }
        let size = try c.int("size", default: 0)
        guard size >= 1 else { throw c.invalid("size is \(size), expected 1 or more") }
        guard size % 2 == 1 else { throw c.unsupported("has an even size \(size), whose window is not centred") }
        let lrn = GraftOperation.LocalResponseNormalization(
            layout: .nchw, size: size, alpha: Double(try c.float("alpha", default: 0.0001)), beta: Double(try c.float("beta", default: 0.75)),
            k: Double(try c.float("bias", default: 1)), region: .acrossChannels)
        c.converter.emit(node: c.name, .localResponseNormalization(lrn), inputs: [x], output: c.output, shape: shape)
    }

    /// Softmax along one axis (opset 13 on); before opset 13 over every axis from `axis` on,
    /// which is one axis when `axis` is the last.
    static func softmax(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        let axis = try c.normalizedAxis(try c.int("axis", default: c.opset >= 13 ? -1 : 1), rank: shape.count)
        guard axis > 0 else { throw c.unsupported("takes the softmax over the batch axis") }
        if c.opset < 13 && shape[(axis + 1)...].contains(where: { $0 != 1 }) {
            throw c.unsupported("takes the softmax over axes \(axis)… together (opset \(c.opset)); graft converts one axis")
        }
        c.converter.emit(node: c.name, .softmax(axis: axis), inputs: [x], output: c.output, shape: shape)
    }
}
