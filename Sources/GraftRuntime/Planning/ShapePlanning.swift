import GraftModel
extension PlanBuilder {
    func planPad(_ item: ExecutableNode, _ attributes: Operation.Pad) throws(RuntimeError) {
        let layout = attributes.layout
        let (x, n, h, w, c) = try image(item, layout: layout)
        let (top, bottom, left, right) = (attributes.padding.top, attributes.padding.bottom, attributes.padding.left, attributes.padding.right)
        let kernel = PadKernel(batch: n, height: h, width: w, channels: c, top: top, bottom: bottom, left: left, right: right,
                               value: Float(attributes.value))
        let oh = h + top + bottom, ow = w + left + right
        let output = newBuffer(n * oh * ow * c)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { kernel.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: .image(batch: n, height: oh, width: ow, channels: c, layout: layout), buffer: output))
    }

    /// A strided window of `source` (logical `offsets`, result logical `shape`), in the source's order.
    func planWindow(_ item: ExecutableNode, source: PlannedValue, offsets: [Int], shape: [Int], output name: String) {
        let strides = source.layout.logicalStrides
        let start = zip(offsets, strides).reduce(0) { $0 + $1.0 * $1.1 }
        let layout = ValueLayout(shape: shape, order: source.layout.order)
        let copy = StridedCopy(space: StridedSpace(shape: layout.physicalShape, strides: [layout.order.map { strides[$0] }]))
        let output = newBuffer(layout.elementCount)
        addStep(reads: [source.buffer], writes: [output]) { memory in
            let input = memory[source.buffer] + start, out = memory[output], threads = memory.threads
            return { copy.run(source: input, output: out, threads: threads) }
        }
        define(name, PlannedValue(layout: layout, buffer: output))
    }

    func planCrop(_ item: ExecutableNode, _ attributes: Operation.Crop) throws(RuntimeError) {
        switch attributes {
        case let .sides(layout, cropping):
            try planCrop(item, layout: layout, cropping: cropping)
        case let .reference(axis, offsets):
            try planCrop(item, referenceAxis: axis, offsets: offsets)
        }
    }

    /// Keras Cropping2D: fixed sides of the spatial axes.
    private func planCrop(_ item: ExecutableNode, layout: Layout, cropping: Sides) throws(RuntimeError) {
        guard layout == .nhwc || layout == .nchw else { throw .unsupportedAttribute(node: item.name, attribute: "layout", value: "'\(layout.rawValue)'") }
        let x = try value(item.inputs[0], of: item)
        guard x.layout.rank == 4 else {
            throw .incompatibleShapes(node: item.name, reason: "expects a 4-D \(layout.rawValue) input, got shape \(formatShape(x.layout.shape))")
        }
        let crop = cropping.list
        let (hAxis, wAxis) = layout == .nchw ? (2, 3) : (1, 2)
        var shape = x.layout.shape
        var offsets = [0, 0, 0, 0]
        shape[hAxis] -= crop[0] + crop[1]
        shape[wAxis] -= crop[2] + crop[3]
        offsets[hAxis] = crop[0]
        offsets[wAxis] = crop[2]
        guard crop.allSatisfy({ $0 >= 0 }), shape[hAxis] > 0, shape[wAxis] > 0 else {
            throw .invalidAttribute(node: item.name, attribute: "cropping", reason: "is \(crop), which leaves nothing of the \(formatShape(x.layout.shape)) input")
        }
        planWindow(item, source: x, offsets: offsets, shape: shape, output: item.outputs[0])
    }


    /// Caffe Crop: every axis from `referenceAxis` on, to the second input's size.
    private func planCrop(_ item: ExecutableNode, referenceAxis: Int, offsets given: [Int]) throws(RuntimeError) {
        guard item.inputs.count == 2 else {
            throw .incompatibleShapes(node: item.name, reason: "crops to a reference input but has \(item.inputs.count) inputs")
        }
        let x = try value(item.inputs[0], of: item)
        let reference = try value(item.inputs[1], of: item)
        let rank = x.layout.rank
        guard reference.layout.rank == rank else {
            throw .incompatibleShapes(node: item.name, reason: "crops \(formatShape(x.layout.shape)) to a reference of different rank \(formatShape(reference.layout.shape))")
        }
        let axis = try normalizedAxis(referenceAxis, rank: rank, item: item)
        guard given.count == 1 || given.count == rank - axis else {
            throw .invalidAttribute(node: item.name, attribute: "offsets", reason: "has \(given.count) entries, expected 1 or \(rank - axis)")
        }
        var offsets = [Int](repeating: 0, count: rank)
        var shape = x.layout.shape
        for d in axis..<rank {
            offsets[d] = given.count == 1 ? given[0] : given[d - axis]
            shape[d] = reference.layout.shape[d]
            guard offsets[d] >= 0, offsets[d] + shape[d] <= x.layout.shape[d] else {
                throw .incompatibleShapes(node: item.name, reason: "cropping axis \(d) to \(shape[d]) at offset \(offsets[d]) leaves \(formatShape(x.layout.shape))")
            }
        }
        planWindow(item, source: x, offsets: offsets, shape: shape, output: item.outputs[0])
    }

    func planUpSampling(_ item: ExecutableNode, _ attributes: Operation.UpSampling) throws(RuntimeError) {
        let layout = attributes.layout
        let (x, n, h, w, c) = try image(item, layout: layout)
        let size = (attributes.size.height, attributes.size.width)
        let kernel = UpSamplingKernel(batch: n, height: h, width: w, channels: c, factorHeight: size.0, factorWidth: size.1,
                                      bilinear: attributes.interpolation == .bilinear)
        let output = newBuffer(n * h * size.0 * w * size.1 * c)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { kernel.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: .image(batch: n, height: h * size.0, width: w * size.1, channels: c, layout: layout), buffer: output))
    }

    /// Flatten and Reshape: the logical order made physical, then the same memory under a new shape.
    func planReshape(_ item: ExecutableNode, shape requested: [Int]?) throws(RuntimeError) {
        let x = try identityOrder(item.inputs[0], of: item)
        let shape = x.layout.shape
        guard let batch = shape.first else { throw .incompatibleShapes(node: item.name, reason: "cannot reshape a scalar") }
        let rest = shape.dropFirst().reduce(1, *)
        var target: [Int]
        if let requested {
            let unknown = requested.indices.filter { requested[$0] == -1 }
            guard unknown.count <= 1, requested.allSatisfy({ $0 >= 0 || $0 == -1 }) else {
                throw .invalidAttribute(node: item.name, attribute: "shape", reason: "is \(requested), expected sizes with at most one -1")
            }
            var resolved = requested
            let known = requested.filter { $0 != -1 }.reduce(1, *)
            if let index = unknown.first {
                guard known > 0, rest % known == 0 else {
                    throw .incompatibleShapes(node: item.name, reason: "cannot reshape \(formatShape(shape)) to \(requested)")
                }
                resolved[index] = rest / known
            }
            guard resolved.reduce(1, *) == rest else {
                throw .incompatibleShapes(node: item.name, reason: "cannot reshape \(formatShape(shape)) (\(rest) values per item) to \(requested)")
            }
            target = [batch] + resolved
        } else {
            target = [batch, rest]
        }
        define(item.outputs[0], PlannedValue(layout: ValueLayout(shape: target), buffer: x.buffer))
    }

    /// Transpose moves no data: the result is the same memory with a new logical-to-storage map.
    func planTranspose(_ item: ExecutableNode, permutation: [Int]) throws(RuntimeError) {
        let x = try value(item.inputs[0], of: item)
        guard permutation.count == x.layout.rank, permutation.sorted() == Array(0..<x.layout.rank) else {
            throw .invalidAttribute(node: item.name, attribute: "permutation", reason: "is \(permutation), not a permutation of the \(x.layout.rank) axes of \(formatShape(x.layout.shape))")
        }
        var inverse = [Int](repeating: 0, count: permutation.count)
        for (i, axis) in permutation.enumerated() { inverse[axis] = i }
        let layout = ValueLayout(shape: permutation.map { x.layout.shape[$0] }, order: x.layout.order.map { inverse[$0] })
        define(item.outputs[0], PlannedValue(layout: layout, buffer: x.buffer))
    }

    func planSlice(_ item: ExecutableNode, axis: Int, points: [Int]) throws(RuntimeError) {
        let x = try value(item.inputs[0], of: item)
        let axis = try normalizedAxis(axis, rank: x.layout.rank, item: item)
        let length = x.layout.shape[axis]
        let bounds = [0] + points + [length]
        guard zip(bounds, bounds.dropFirst()).allSatisfy({ $0.0 < $0.1 }) else {
            throw .invalidAttribute(node: item.name, attribute: "slice_points", reason: "is \(points), expected increasing points inside the axis of length \(length)")
        }
        guard item.outputs.count == bounds.count - 1 else {
            throw .incompatibleShapes(node: item.name, reason: "has \(item.outputs.count) outputs for \(bounds.count - 1) pieces")
        }
        for (index, output) in item.outputs.enumerated() {
            var offsets = [Int](repeating: 0, count: x.layout.rank)
            var shape = x.layout.shape
            offsets[axis] = bounds[index]
            shape[axis] = bounds[index + 1] - bounds[index]
            planWindow(item, source: x, offsets: offsets, shape: shape, output: output)
        }
    }

    func planConcatenate(_ item: ExecutableNode, axis: Int) throws(RuntimeError) {
        guard let firstName = item.inputs.first else { throw .incompatibleShapes(node: item.name, reason: "has no inputs") }
        let first = try value(firstName, of: item)
        let rank = first.layout.rank
        let axis = try normalizedAxis(axis, rank: rank, item: item)
        var parts: [PlannedValue] = []
        for name in item.inputs {
            let part = try value(name, of: item)
            guard part.layout.rank == rank,
                  part.layout.shape.indices.allSatisfy({ $0 == axis || part.layout.shape[$0] == first.layout.shape[$0] }) else {
                throw .incompatibleShapes(node: item.name, reason: "cannot concatenate \(formatShape(first.layout.shape)) and \(formatShape(part.layout.shape)) along axis \(axis)")
            }
            parts.append(try stored(name, of: item, order: first.layout.order))
        }
        let p = first.layout.physicalAxis(of: axis)
        let physical = first.layout.physicalShape
        let inner = physical[(p + 1)...].reduce(1, *)
        let kernel = ConcatenateKernel(outer: physical[..<p].reduce(1, *), blockSizes: parts.map { $0.layout.shape[axis] * inner })
        var shape = first.layout.shape
        shape[axis] = parts.reduce(0) { $0 + $1.layout.shape[axis] }
        let layout = ValueLayout(shape: shape, order: first.layout.order)
        let output = newBuffer(layout.elementCount)
        let buffers = parts.map(\.buffer)
        addStep(reads: buffers, writes: [output]) { memory in
            let inputs = buffers.map { UnsafePointer(memory[$0]) }, out = memory[output], threads = memory.threads
            return { kernel.run(inputs: inputs, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: layout, buffer: output))
    }
}
