import GraftModel

/// graft's op, not Foundation's `Operation` (NSOperation), which the name would otherwise also find.
private typealias Operation = GraftModel.Operation

extension Converter {
    // MARK: Convolution

    /// (height, width) from Caffe's repeated value or its `_h`/`_w` pair.
    private func pair(_ layer: LayerDefinition, what: String, repeated: [Int], height: Int?, width: Int?,
                      default value: Int?) throws -> Pair {
        if height != nil || width != nil {
            guard let height, let width, repeated.isEmpty else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "\(what)_h and \(what)_w must be given together and without \(what)")
            }
            return Pair(height, width)
        }
        switch repeated.count {
        case 0:
            guard let value else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no \(what)") }
            return .square(value)
        case 1: return .square(repeated[0])
        case 2: return Pair(repeated[0], repeated[1])
        default:
            throw CaffeImportError.unsupportedParameter(file: file, layer: layer.name, reason: "gives \(repeated.count) \(what) values (a \(repeated.count)-D convolution)")
        }
    }

    func convertConvolution(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        try require4D(layer, shape)
        guard let parameters = layer.convolution else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no convolution_param")
        }
        if parameters.axis != 1 {
            throw CaffeImportError.unsupportedParameter(file: file, layer: layer.name, reason: "has convolution axis \(parameters.axis)")
        }
        let kernel = try pair(layer, what: "kernel", repeated: parameters.kernelSize,
                              height: parameters.kernelHeight, width: parameters.kernelWidth, default: nil)
        let pad = try pair(layer, what: "pad", repeated: parameters.pad, height: parameters.padHeight, width: parameters.padWidth, default: 0)
        let strides = try pair(layer, what: "stride", repeated: parameters.stride,
                               height: parameters.strideHeight, width: parameters.strideWidth, default: 1)
        let dilations = try pair(layer, what: "dilation", repeated: parameters.dilation, height: nil, width: nil, default: 1)
        let groups = parameters.group
        let outputs = parameters.outputCount ?? 0
        let channels = shape[1]
        guard [kernel, strides, dilations].allSatisfy({ $0.height > 0 && $0.width > 0 }), groups > 0, outputs > 0 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "kernel, stride, dilation, group and num_output must be positive")
        }
        guard channels % groups == 0, outputs % groups == 0 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "group \(groups) does not divide \(channels) input and \(outputs) output channels")
        }
        let transposed = layer.type == "Deconvolution"
        // Caffe pads both sides of an axis alike; a Deconvolution's pad is what it crops from
        // the full output, which is the op's `padding` too.
        let convolution = Operation.Convolution(
            layout: .nchw, kernelSize: kernel, strides: strides, dilations: dilations,
            padding: .explicit(Sides(top: pad.height, bottom: pad.height, left: pad.width, right: pad.width)), groups: groups)
        guard let size = convolution.outputSize(for: Pair(shape[2], shape[3]), transposed: transposed) else {
            // A forward convolution's size is nil only when the kernel exceeds the padded input.
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: transposed
                ? "its output would be empty" : "its kernel is larger than its padded input \(describe(shape))")
        }
        let hasBias = parameters.biasTerm
        // Caffe stores [Cout, Cin/g, kh, kw] for Convolution and [Cin, Cout/g, kh, kw] for Deconvolution.
        let blobShape = transposed ? [channels, outputs / groups, kernel.height, kernel.width]
            : [outputs, channels / groups, kernel.height, kernel.width]
        var expected = [blobShape]
        if hasBias { expected.append([outputs]) }
        let node = reserveNodeName(layer, index: index)
        let stored = try blobs(layer, expected: expected)
        let values = stored[0].withBytes { WeightLayouts.spatialFirst($0, shape: blobShape) }
        release(stored[0])
        var weightNames = ["kernel": addWeight(node: node, role: "kernel", shape: [kernel.height, kernel.width, blobShape[1], blobShape[0]], values: values)]
        if hasBias { weightNames["bias"] = addWeight(node: node, role: "bias", shape: [outputs], values: stored[1].values) }
        emit(layer, index: index, name: node, transposed ? .conv2DTranspose(convolution) : .conv2D(convolution), inputs: [input],
             outputShapes: [[shape[0], outputs, size.height, size.width]], weights: weightNames)
    }

    // MARK: InnerProduct

    func convertInnerProduct(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        guard let parameters = layer.innerProduct else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no inner_product_param")
        }
        let axis = try normalizedAxis(parameters.axis, rank: shape.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "flattens") }
        let outputs = parameters.outputCount ?? 0
        guard outputs > 0 else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "num_output must be positive") }
        let inputs = shape[axis...].reduce(1, *)
        let hasBias = parameters.biasTerm
        let transposed = parameters.transpose
        let blobShape = transposed ? [inputs, outputs] : [outputs, inputs]
        var expected = [blobShape]
        if hasBias { expected.append([outputs]) }
        let node = reserveNodeName(layer, index: index)
        let stored = try blobs(layer, expected: expected)
        let kernel = stored[0].withBytes { bytes in
            transposed ? WeightLayouts.copy(bytes, count: inputs * outputs)
                : WeightLayouts.transpose(bytes, rows: outputs, columns: inputs) { band in
                    if stored[0].mapped != nil { self.model?.release(band) }
                }
        }
        release(stored[0])
        var weightNames = ["kernel": addWeight(node: node, role: "kernel", shape: [inputs, outputs], values: kernel)]
        if hasBias { weightNames["bias"] = addWeight(node: node, role: "bias", shape: [outputs], values: stored[1].values) }

        var denseInput = input
        if axis == 1 && shape.count > 2 {
            denseInput = emitHelper(name: "\(node)/flatten", .flatten, input: input, shape: [shape[0], inputs])
        } else if axis < shape.count - 1 {
            let target = Array(shape[1..<axis]) + [inputs]
            denseInput = emitHelper(name: "\(node)/reshape", .reshape(shape: target), input: input, shape: [shape[0]] + target)
        }
        emit(layer, index: index, name: node, .dense(.init()), inputs: [denseInput], outputShapes: [Array(shape[..<axis]) + [outputs]],
             weights: weightNames)
    }
}
