import GraftModel

/// BatchNormalization, LayerNormalization, Scale, Rescaling, LocalResponseNormalization, Softmax.
enum Normalization {
    /// ONNX BatchNormalization when the channel axis is held at axis 1; otherwise the affine map
    /// it is (`BatchNormalization.affine`, computed in Double) as Mul and Add.
    static func batch(_ c: NodeExport, _ attributes: Operation.BatchNormalization) throws {
        let rank = c.builder.rank(of: c.input)
        let axis = try c.axis(attributes.axis, rank: rank)
        var order = c.builder.order(of: c.input)
        if order.firstIndex(of: axis) != 1, rank == 4, axis == 3, order == identity(4) { order = [0, 3, 1, 2] }
        if rank == 2 && axis == 1 { order = identity(2) }
        let x = c.builder.value(c.input, in: order)
        let mean = try c.requiredWeight("moving_mean"), variance = try c.requiredWeight("moving_variance")
        let channels = c.builder.weightShape(mean).reduce(1, *)
        if order.firstIndex(of: axis) == 1 {
            let gamma = try c.weight("gamma").map { try c.builder.weight($0) }
                ?? c.builder.constant(.init(repeating: 1, count: channels), dims: [channels], name: "\(c.name)/gamma")
            let beta = try c.weight("beta").map { try c.builder.weight($0) }
                ?? c.builder.constant(.init(repeating: 0, count: channels), dims: [channels], name: "\(c.name)/beta")
            let result = c.step("BatchNormalization", [x, gamma, beta, try c.builder.weight(mean), try c.builder.weight(variance)], "batch_norm",
                                [.init("epsilon", .float(Float(attributes.epsilon)))])
            c.finish(result, order: order)
            return
        }
        let gamma = try c.weight("gamma").map { try c.builder.weightValues($0) }
        let beta = try c.weight("beta").map { try c.builder.weightValues($0) }
        let means = try c.builder.weightValues(mean), variances = try c.builder.weightValues(variance)
        let (scale, shift) = gamma.withOptionalBuffer { g in
            beta.withOptionalBuffer { bt in
                means.withUnsafeBufferPointer { m in
                    variances.withUnsafeBufferPointer { v in attributes.affine(gamma: g, beta: bt, mean: m, variance: v) }
                }
            }
        }
        var dims = [Int](repeating: 1, count: rank)
        dims[order.firstIndex(of: axis)!] = channels
        let product = c.step("Mul", [x, c.builder.constant(scale.map(Float.init), dims: dims, name: "\(c.name)/scale")], "scaled")
        let result = c.step("Add", [product, c.builder.constant(shift.map(Float.init), dims: dims, name: "\(c.name)/shift")], "shifted")
        c.finish(result, order: order)
    }

    /// ONNX LayerNormalization (opset 17) normalises the axes from `axis` to the end.
    static func layer(_ c: NodeExport, _ attributes: Operation.LayerNormalization) throws {
        let shape = c.inputShape
        let rank = shape.count
        let axes = try attributes.axes.map { try c.axis($0, rank: rank) }.sorted()
        guard let first = axes.first, axes == Array(first..<rank), first > 0 else {
            throw ExportProblem("normalises axes \(attributes.axes); ONNX normalises a run of axes to the last")
        }
        let normalized = Array(shape[first...])
        guard normalized.allSatisfy({ $0 != nil }) else { throw ExportProblem("normalises axes of open size") }
        let dims = normalized.map { $0! }
        let count = dims.reduce(1, *)
        let x = c.builder.semantic(c.input)
        let gamma = try c.weight("gamma").map { try c.builder.weight($0, key: "ln", dims: dims) }
            ?? c.builder.constant(.init(repeating: 1, count: count), dims: dims, name: "\(c.name)/gamma")
        var inputs = [x, gamma]
        if let beta = c.weight("beta") { inputs.append(try c.builder.weight(beta, key: "ln", dims: dims)) }
        let result = c.step("LayerNormalization", inputs, "layer_norm",
                            [.init("axis", .int(first)), .init("epsilon", .float(Float(attributes.epsilon)))])
        c.finish(result, order: identity(rank))
    }

    /// Scale: `x·scale + bias`, the weights shaped like the covered input axes and broadcast to
    /// the order the input is held in (semantic when they cover several axes).
    static func scale(_ c: NodeExport, _ attributes: Operation.Scale) throws {
        let shape = c.inputShape
        let rank = shape.count
        let first = try c.axis(attributes.axis, rank: rank)
        let count = attributes.axisCount == -1 ? rank - first : attributes.axisCount
        let covered = Array(first..<(first + count))
        let order = count <= 1 ? c.builder.order(of: c.input) : identity(rank)
        let x = c.builder.value(c.input, in: order)
        func broadcastDims(_ tensor: String) throws -> [Int] {
            if count == 0 { return [1] }
            let weightShape = c.builder.weightShape(tensor)
            guard weightShape.reduce(1, *) == covered.reduce(1, { $0 * (shape[$1] ?? 0) }) else {
                throw ExportProblem("weight '\(tensor)' of shape \(weightShape) does not fit axes \(covered) of \(shape)")
            }
            return order.map { covered.contains($0) ? shape[$0]! : 1 }
        }
        var result = x
        if let scale = c.weight("scale") {
            let dims = try broadcastDims(scale)
            result = c.step("Mul", [result, try c.builder.weight(scale, key: "dims" + dims.map(String.init).joined(separator: "x"), dims: dims)], "scaled")
        }
        if let bias = c.weight("bias") {
            let dims = try broadcastDims(bias)
            result = c.step("Add", [result, try c.builder.weight(bias, key: "dims" + dims.map(String.init).joined(separator: "x"), dims: dims)], "shifted")
        }
        if result == x { result = c.step("Identity", [x], "identity") }
        c.finish(result, order: order)
    }

    static func rescaling(_ c: NodeExport, _ attributes: Operation.Rescaling) throws {
        let x = c.builder.anyOrder(c.input)
        var result = x
        if attributes.scale != 1 { result = c.step("Mul", [result, c.builder.scalar(Float(attributes.scale), name: "\(c.name)/scale")], "scaled") }
        if attributes.offset != 0 { result = c.step("Add", [result, c.builder.scalar(Float(attributes.offset), name: "\(c.name)/offset")], "shifted") }
        if result == x { result = c.step("Identity", [x], "identity") }
        c.finish(result, order: c.builder.order(of: c.input))
    }

    /// Caffe's LRN. Across channels it is ONNX LRN (the same `alpha/size` convention); within a
    /// channel it is written out: `x · (k + alpha · avgpool(x²))^−beta` with a size×size window,
    /// zero padding counted, which divides the sum by size².
    static func localResponse(_ c: NodeExport, _ attributes: Operation.LocalResponseNormalization) throws {
        let order = channelsFirstOrder(attributes.layout, rank: c.builder.rank(of: c.input))
        let x = c.builder.value(c.input, in: order)
        let result: String
        switch attributes.region {
        case .acrossChannels:
            result = c.step("LRN", [x], "lrn", [
                .init("size", .int(attributes.size)), .init("alpha", .float(Float(attributes.alpha))),
                .init("beta", .float(Float(attributes.beta))), .init("bias", .float(Float(attributes.k))),
            ])
        case .withinChannel:
            let before = (attributes.size - 1) / 2, after = attributes.size - 1 - before
            let square = c.step("Mul", [x, x], "square")
            let mean = c.step("AveragePool", [square], "window_mean", [
                .init("kernel_shape", .ints([attributes.size, attributes.size])),
                .init("pads", .ints([before, before, after, after])),
                .init("count_include_pad", .int(1)),
            ])
            let scaled = c.step("Mul", [mean, c.builder.scalar(Float(attributes.alpha), name: "\(c.name)/alpha")], "scaled")
            let base = c.step("Add", [scaled, c.builder.scalar(Float(attributes.k), name: "\(c.name)/k")], "base")
            // x · base^(−beta): a product of two computed values, which the importer reads back.
            let factor = c.step("Pow", [base, c.builder.scalar(Float(-attributes.beta), name: "\(c.name)/minus_beta")], "power")
            result = c.step("Mul", [x, factor], "lrn")
        }
        c.finish(result, order: order)
    }

    /// Softmax along one axis (opset 13 on), the semantic axis found where it is held.
    static func softmax(_ c: NodeExport, axis: Int) throws {
        let order = c.builder.order(of: c.input)
        let resolved = try c.axis(axis, rank: order.count)
        let x = c.builder.value(c.input, in: order)
        let result = c.step("Softmax", [x], "softmax", [.init("axis", .int(order.firstIndex(of: resolved)!))])
        c.finish(result, order: order)
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with a buffer of the values, or nil.
    func withOptionalBuffer<R>(_ body: (UnsafeBufferPointer<Float>?) -> R) -> R {
        switch self {
        case let .some(values): values.withUnsafeBufferPointer { body($0) }
        case .none: body(nil)
        }
    }
}
