import GraftModel
extension PlanBuilder {
    func planPooling(_ item: ExecutableNode, _ attributes: Operation.Pooling) throws(RuntimeError) {
        let layout = attributes.layout
        let (x, n, h, w, c) = try image(item, layout: layout)
        let window = attributes.poolSize, strides = attributes.strides
        let pads = attributes.resolvedPadding(for: Pair(h, w))
        guard let size = attributes.outputSize(for: Pair(h, w)) else {
            throw .incompatibleShapes(node: item.name, reason: "its \(window.height)x\(window.width) window does not fit the \(h)x\(w) input")
        }
        let (oh, ow) = (size.height, size.width)
        let geometry = PoolingGeometry(batch: n, inputHeight: h, inputWidth: w, channels: c, outputHeight: oh, outputWidth: ow,
                                       windowHeight: window.height, windowWidth: window.width,
                                       strideHeight: strides.height, strideWidth: strides.width,
                                       padTop: pads.top, padBottom: pads.bottom, padLeft: pads.left, padRight: pads.right)
        let output = newBuffer(n * oh * ow * c)
        if item.op == .maxPooling2D {
            let kernel = MaxPooling(geometry: geometry)
            addStep(reads: [x.buffer], writes: [output]) { memory in
                let input = memory[x.buffer], out = memory[output], threads = memory.threads
                return { kernel.run(input: input, output: out, threads: threads) }
            }
        } else {
            let kernel = AveragePooling(geometry: geometry, countsPadding: attributes.divisor == .padded)
            addStep(reads: [x.buffer], writes: [output]) { memory in
                let input = memory[x.buffer], out = memory[output], threads = memory.threads
                return { kernel.run(input: input, output: out, threads: threads) }
            }
        }
        define(item.outputs[0], PlannedValue(layout: .image(batch: n, height: oh, width: ow, channels: c, layout: layout), buffer: output))
    }

    func planGlobalPooling(_ item: ExecutableNode, _ attributes: Operation.GlobalPooling) throws(RuntimeError) {
        let layout = attributes.layout
        let name = item.inputs[0]
        let source = try value(name, of: item)
        let rank = source.layout.rank
        let expectedRank: Int
        switch layout {
        case .nhwc, .nchw: expectedRank = 4
        case .nwc, .ncw: expectedRank = 3
        case .plain: throw .unsupportedAttribute(node: item.name, attribute: "layout", value: "'plain'")
        }
        guard rank == expectedRank else {
            throw .incompatibleShapes(node: item.name, reason: "expects a \(expectedRank)-D \(layout.rawValue) input, got shape \(formatShape(source.layout.shape))")
        }
        let order = ValueLayout.spatialOrder(rank: rank, layout: layout)
        let x = try stored(name, of: item, order: order)
        let physical = x.layout.physicalShape
        let batch = physical[0], channels = physical[rank - 1]
        let kernel = GlobalPooling(batch: batch, positions: physical[1..<(rank - 1)].reduce(1, *), channels: channels,
                                   isMaximum: item.op == .globalMaxPooling)
        let output = newBuffer(batch * channels)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { kernel.run(input: input, output: out, threads: threads) }
        }
        let resultLayout: ValueLayout
        if attributes.keepsDimensions {
            let channelAxis = order[rank - 1]
            resultLayout = ValueLayout(shape: (0..<rank).map { $0 == 0 ? batch : $0 == channelAxis ? channels : 1 }, order: order)
        } else {
            resultLayout = ValueLayout(shape: [batch, channels])
        }
        define(item.outputs[0], PlannedValue(layout: resultLayout, buffer: output))
    }
}
