import GraftModel
extension PlanBuilder {
    /// Runs `ChannelAffine` along logical `axis` of the input (any storage order).
    func planChannelAffine(_ item: ExecutableNode, axis: Int, scale: UnsafePointer<Float>?, shift: UnsafePointer<Float>?) throws(RuntimeError) {
        let name = item.inputs[0]
        let x = try value(name, of: item)
        let physical = x.layout.physicalShape
        let p = x.layout.physicalAxis(of: axis)
        let affine = ChannelAffine(outer: physical[..<p].reduce(1, *), channels: physical[p], inner: physical[(p + 1)...].reduce(1, *),
                                   scale: scale, shift: shift)
        let output = outputBuffer(overwriting: name, count: x.layout.elementCount)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { affine.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: x.layout, buffer: output))
    }

    func planBatchNormalization(_ item: ExecutableNode, _ attributes: Operation.BatchNormalization) throws(RuntimeError) {
        let x = try value(item.inputs[0], of: item)
        let axis = try normalizedAxis(attributes.axis, rank: x.layout.rank, item: item)
        let channels = x.layout.shape[axis]
        let mean = try requireWeight(item, "moving_mean"), variance = try requireWeight(item, "moving_variance")
        for (role, weight) in [("moving_mean", mean), ("moving_variance", variance)] { try checkCount(weight, item, role: role, expected: [channels]) }
        try checkCount(item.weights["gamma"], item, role: "gamma", expected: [channels])
        try checkCount(item.weights["beta"], item, role: "beta", expected: [channels])
        let map = attributes.affine(gamma: item.weights["gamma"]?.values, beta: item.weights["beta"]?.values,
                                    mean: mean.values, variance: variance.values)
        let scale = map.scale.map { Float($0) }, shift = map.shift.map { Float($0) }
        try planChannelAffine(item, axis: axis, scale: constant(scale), shift: constant(shift))
    }

    func planScale(_ item: ExecutableNode, _ attributes: Operation.Scale) throws(RuntimeError) {
        let name = item.inputs[0]
        let x = try value(name, of: item)
        let axis = try normalizedAxis(attributes.axis, rank: x.layout.rank, item: item)
        var count = attributes.axisCount
        if count == -1 { count = x.layout.rank - axis }
        guard count >= 0, axis + count <= x.layout.rank else {
            throw .invalidAttribute(node: item.name, attribute: "num_axes", reason: "is \(count), past the \(x.layout.rank) axes of the input")
        }
        let covered = Array(x.layout.shape[axis..<(axis + count)])
        let scale = item.weights["scale"], bias = item.weights["bias"]
        try checkCount(scale, item, role: "scale", expected: covered)
        try checkCount(bias, item, role: "bias", expected: covered)
        if count == 1 {
            try planChannelAffine(item, axis: axis, scale: scale?.pointer, shift: bias?.pointer)
            return
        }
        // Several (or no) axes: in logical order the covered axes are one contiguous block.
        let stored = try identityOrder(name, of: item)
        let shape = stored.layout.shape
        let affine = ChannelAffine(outer: shape[..<axis].reduce(1, *), channels: covered.reduce(1, *), inner: shape[(axis + count)...].reduce(1, *),
                                   scale: scale?.pointer, shift: bias?.pointer)
        let output = stored.buffer == x.buffer ? outputBuffer(overwriting: name, count: x.layout.elementCount) : newBuffer(x.layout.elementCount)
        addStep(reads: [stored.buffer], writes: [output]) { memory in
            let input = memory[stored.buffer], out = memory[output], threads = memory.threads
            return { affine.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: stored.layout, buffer: output))
    }

    func planLayerNormalization(_ item: ExecutableNode, _ attributes: Operation.LayerNormalization) throws(RuntimeError) {
        let name = item.inputs[0]
        var x = try value(name, of: item)
        let rank = x.layout.rank
        var axes: [Int] = []
        for axis in attributes.axes { axes.append(try normalizedAxis(axis, rank: rank, item: item, attribute: "axes")) }
        axes = Array(Set(axes)).sorted()
        guard !axes.isEmpty, !axes.contains(0) || rank == 1 else {
            throw .invalidAttribute(node: item.name, attribute: "axes", reason: "must name axes other than the batch axis")
        }
        // The normalised axes must be the trailing block of storage, in their logical order (so
        // gamma and beta, shaped like those axes, line up element by element); store the value
        // that way if it is not (channels of an NCHW value, for instance).
        if Array(x.layout.order.suffix(axes.count)) != axes {
            x = try stored(name, of: item, order: (0..<rank).filter { !axes.contains($0) } + axes)
        }
        let size = axes.map { x.layout.shape[$0] }.reduce(1, *)
        try checkCount(item.weights["gamma"], item, role: "gamma", expected: axes.map { x.layout.shape[$0] })
        try checkCount(item.weights["beta"], item, role: "beta", expected: axes.map { x.layout.shape[$0] })
        let kernel = LayerNormalizationKernel(groups: x.layout.elementCount / max(size, 1), size: size,
                                              epsilon: attributes.epsilon,
                                              gamma: item.weights["gamma"]?.pointer, beta: item.weights["beta"]?.pointer)
        let output = x.buffer == values[name]?.buffer ? outputBuffer(overwriting: name, count: x.layout.elementCount) : newBuffer(x.layout.elementCount)
        let source = x
        addStep(reads: [source.buffer], writes: [output]) { memory in
            let input = memory[source.buffer], out = memory[output], threads = memory.threads
            return { kernel.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: x.layout, buffer: output))
    }

    func planLocalResponseNormalization(_ item: ExecutableNode, _ attributes: Operation.LocalResponseNormalization) throws(RuntimeError) {
        let (x, n, h, w, c) = try image(item, layout: attributes.layout)
        let size = attributes.size
        let kernel = LocalResponseNormalizationKernel(batch: n, height: h, width: w, channels: c, size: size,
                                                      alpha: Float(attributes.alpha), beta: Float(attributes.beta),
                                                      bias: Float(attributes.k), acrossChannels: attributes.region == .acrossChannels)
        let output = newBuffer(x.layout.elementCount)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { kernel.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: x.layout, buffer: output))
    }
}
