import GraftModel

extension GraphBuilder {
    // MARK: Dense and convolutions

    func convertDense(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        guard let units = call.config["units"]?.integerValue ?? call.config["output_dim"]?.integerValue else {
            throw badConfiguration(call, "has no unit count (expected 'units', or Keras 1's 'output_dim')")
        }
        let useBias = call.config["use_bias"]?.boolValue ?? call.config["bias"]?.boolValue ?? true
        let inputSize = input.shape.last ?? nil
        let names = try layerWeights(of: call, roles: ["kernel", "bias"]) {
            var requests = [WeightRequest(role: "kernel", shape: [inputSize, units])]
            if useBias { requests.append(WeightRequest(role: "bias", shape: [units])) }
            let stored = try fetch(call, requests)
            let kernel = stored["kernel"]!
            return [("kernel", kernel.shape, kernel.values)] + (useBias ? biasWeight(stored) : [])
        }
        let shape = Array(input.shape.dropLast()) + [units]
        return try emitWithActivation(call, .dense(Operation.Dense()), inputs: [input], shape: shape,
                                      layout: input.rank == 2 ? .plain : input.layout, weights: names)
    }

    /// The options of a 2-D convolution in any Keras version.
    struct ConvolutionOptions {
        var filters: Int?
        var kernel: Pair
        var strides: Pair
        var dilations: Pair
        /// Keras's padding mode, lowercased: `valid`, `same`, Keras 1's `full`.
        var padding: String
        var format: String
        var groups: Int
        var useBias: Bool
        var depthMultiplier: Int
    }

    func convolutionOptions(_ call: LayerCall) throws -> ConvolutionOptions {
        let config = call.config
        var kernel = pair(config["kernel_size"])
        if kernel == nil, let rows = config["nb_row"]?.integerValue, let columns = config["nb_col"]?.integerValue {
            kernel = Pair(rows, columns)
        }
        guard let kernel else {
            throw badConfiguration(call, "has no kernel size (expected 'kernel_size', or Keras 1's 'nb_row' and 'nb_col')")
        }
        let strides = pair(config["strides"]) ?? pair(config["subsample"]) ?? Pair(1, 1)
        let dilations = pair(config["dilation_rate"]) ?? pair(config["atrous_rate"]) ?? Pair(1, 1)
        let padding = config["padding"]?.stringValue ?? config["border_mode"]?.stringValue ?? "valid"
        return ConvolutionOptions(
            filters: try count(call, ["filters", "nb_filter"], default: nil),
            kernel: kernel, strides: strides, dilations: dilations, padding: padding.lowercased(),
            format: dataFormat(of: config) ?? "channels_last",
            groups: try count(call, ["groups"], default: 1)!,
            useBias: config["use_bias"]?.boolValue ?? config["bias"]?.boolValue ?? true,
            depthMultiplier: try count(call, ["depth_multiplier"], default: 1)!)
    }

    /// The window of a convolution layer as graft attributes in `layout` ("same" padding still
    /// symbolic; `place` writes it out), with one group and no activation.
    func window(_ options: ConvolutionOptions, layout: Layout, call: LayerCall) throws -> Operation.Convolution {
        Operation.Convolution(layout: layout, kernelSize: options.kernel, strides: options.strides, dilations: options.dilations,
                              padding: try padding(mode: options.padding, kernel: options.kernel, dilations: options.dilations, call: call))
    }

    /// The number of filters of a convolution, which its configuration must give.
    func filterCount(_ options: ConvolutionOptions, _ call: LayerCall) throws -> Int {
        guard let filters = options.filters else {
            throw badConfiguration(call, "has no filter count (expected 'filters', or Keras 1's 'nb_filter')")
        }
        return filters
    }

    /// Rearranges a Keras 1 `th` kernel [out, in, rows, cols] into [rows, cols, in, out], and
    /// flips a Theano kernel in both spatial axes (rows, cols of [rows, cols, in, out]).
    func prepareConvolutionKernel(_ weight: StoredWeight, theanoLayout: Bool, flip: Bool) -> (shape: [Int], values: [Float]) {
        var shape = weight.shape
        var values = weight.values
        if theanoLayout {
            (shape, values) = transpose(values, shape: shape, permutation: [2, 3, 1, 0])
        }
        if flip {
            let (rows, columns, inner) = (shape[0], shape[1], shape[2] * shape[3])
            var flipped = [Float](repeating: 0, count: values.count)
            for row in 0..<rows {
                for column in 0..<columns {
                    let source = (row * columns + column) * inner
                    let target = ((rows - 1 - row) * columns + (columns - 1 - column)) * inner
                    for index in 0..<inner { flipped[target + index] = values[source + index] }
                }
            }
            values = flipped
        }
        return (shape, values)
    }

    /// Whether this layer's kernel is stored in Keras 1's Theano order [out, in, rows, cols].
    func usesKeras1TheanoKernel(_ call: LayerCall, format: String) -> Bool {
        kerasMajorVersion == 1 && format == "channels_first"
    }

    func convertConvolution(_ call: LayerCall) throws -> Value {
        let input = try singleImage(call)
        let options = try convolutionOptions(call)
        let filters = try filterCount(options, call)
        let layout = layout(forFormat: options.format, rank: 4, call: call)
        let channels = input.shape[axes(of: layout).channels]
        let inputPerGroup = channels.map { $0 / options.groups }
        let names = try layerWeights(of: call, roles: ["kernel", "bias"]) {
            let theano = usesKeras1TheanoKernel(call, format: options.format)
            let kernelShape: [Int?] = theano ? [filters, inputPerGroup, options.kernel.height, options.kernel.width]
                : [options.kernel.height, options.kernel.width, inputPerGroup, filters]
            var requests = [WeightRequest(role: "kernel", shape: kernelShape)]
            if options.useBias { requests.append(WeightRequest(role: "bias", shape: [filters])) }
            let stored = try fetch(call, requests)
            let kernel = prepareConvolutionKernel(stored["kernel"]!, theanoLayout: theano, flip: flipsConvolutionKernels)
            return [("kernel", kernel.shape, kernel.values)] + biasWeight(stored)
        }
        var convolution = try window(options, layout: layout, call: call)
        convolution.groups = options.groups
        let output = try place(&convolution, over: spatialSizes(of: input, layout: layout), call: call)
        return try emitWithActivation(call, .conv2D(convolution), inputs: [input],
                                      shape: shape4(layout: layout, height: output.height, width: output.width, channels: filters),
                                      layout: layout, weights: names)
    }

    /// Conv1D as a 2-D convolution over [N, 1, W, C] (or [N, C, 1, W]) between two Reshapes.
    func convertConvolution1D(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        guard input.rank == 3 else { throw unsupported(call, "reads a value of rank \(input.rank), not 3") }
        let config = call.config
        guard let filters = try count(call, ["filters", "nb_filter"], default: nil) else {
            throw badConfiguration(call, "has no filter count (expected 'filters', or Keras 1's 'nb_filter')")
        }
        guard let kernel = integers(config["kernel_size"], count: 1)?.first ?? config["filter_length"]?.integerValue else {
            throw badConfiguration(call, "has no kernel size (expected 'kernel_size', or Keras 1's 'filter_length')")
        }
        let stride = integers(config["strides"], count: 1)?.first ?? config["subsample_length"]?.integerValue ?? 1
        let dilation = integers(config["dilation_rate"], count: 1)?.first ?? 1
        let mode = (config["padding"]?.stringValue ?? config["border_mode"]?.stringValue ?? "valid").lowercased()
        let format = dataFormat(of: config) ?? "channels_last"
        let groups = try count(call, ["groups"], default: 1)!
        let useBias = config["use_bias"]?.boolValue ?? config["bias"]?.boolValue ?? true
        let channelsFirst = format == "channels_first"
        let width = input.shape[channelsFirst ? 2 : 1]
        let channels = input.shape[channelsFirst ? 1 : 2]

        let names = try layerWeights(of: call, roles: ["kernel", "bias"]) {
            var requests = [WeightRequest(role: "kernel", shape: [nil, nil, nil] + (kerasMajorVersion == 1 ? [nil] : []))]
            if useBias { requests.append(WeightRequest(role: "bias", shape: [filters])) }
            let stored = try fetch(call, requests)
            var weight = stored["kernel"]!
            let perGroup = channels.map { $0 / groups }
            // Keras 2/3: [k, in, out]. Keras 1: [k, 1, in, out], or the older [out, in, k, 1].
            if weight.shape.count == 4 {
                if weight.shape[0] == filters && weight.shape[3] == 1 && weight.shape[2] == kernel {
                    let (shape, values) = transpose(weight.values, shape: weight.shape, permutation: [2, 3, 1, 0])
                    weight.shape = shape
                    weight.values = values
                }
                weight.shape = [weight.shape[0], weight.shape[2], weight.shape[3]]
            }
            let expected: [Int?] = [kernel, perGroup, filters]
            guard weight.shape.count == 3, zip(weight.shape, expected).allSatisfy({ $1 == nil || $0 == $1 }) else {
                throw KerasImportError.weightShapeMismatch(path: path, layer: call.layerPath.joined(separator: "/"), weight: "kernel",
                                                           expectedShape: expected.map { $0 ?? -1 }, actualShape: weight.shape)
            }
            weight.shape = [1] + weight.shape
            let prepared = prepareConvolutionKernel(weight, theanoLayout: false, flip: flipsConvolutionKernels)
            return [("kernel", prepared.shape, prepared.values)] + biasWeight(stored)
        }
        let layout2D: Layout = channelsFirst ? .nchw : .nhwc
        let expandedShape: [Int?] = channelsFirst ? [nil, channels, 1, width] : [nil, 1, width, channels]
        let expanded = try emit(call.nodeName + "/expand", .reshape(shape: expandedShape.dropFirst().map { $0 ?? -1 }), [input],
                                shape: expandedShape, layout: layout2D)
        let padding: Padding
        switch mode {
        case "causal": padding = .explicit(Sides(top: 0, bottom: 0, left: dilation * (kernel - 1), right: 0))
        case "valid", "same": padding = try self.padding(mode: mode, kernel: Pair(1, kernel), dilations: Pair(1, dilation), call: call)
        default: throw unsupported(call, "uses padding '\(mode)'")
        }
        var convolution = Operation.Convolution(layout: layout2D, kernelSize: Pair(1, kernel), strides: Pair(1, stride),
                                                dilations: Pair(1, dilation), padding: padding, groups: groups)
        let outputWidth = try place(&convolution, over: (1, width), call: call).width
        let convolvedShape: [Int?] = channelsFirst ? [nil, filters, 1, outputWidth] : [nil, 1, outputWidth, filters]
        let convolved = try emitWithActivation(call, name: call.nodeName + "/convolution", .conv2D(convolution), inputs: [expanded],
                                               shape: convolvedShape, layout: layout2D, weights: names)
        let outputShape: [Int?] = channelsFirst ? [nil, filters, outputWidth] : [nil, outputWidth, filters]
        return try emit(call.nodeName, .reshape(shape: outputShape.dropFirst().map { $0 ?? -1 }), [convolved],
                        shape: outputShape, layout: channelsFirst ? .ncw : .nwc)
    }

    func convertDepthwise(_ call: LayerCall) throws -> Value {
        let input = try singleImage(call)
        let options = try convolutionOptions(call)
        let layout = layout(forFormat: options.format, rank: 4, call: call)
        let channels = input.shape[axes(of: layout).channels]
        let names = try layerWeights(of: call, roles: ["kernel", "bias"]) {
            var requests = [WeightRequest(role: "depthwise_kernel",
                                          shape: [options.kernel.height, options.kernel.width, channels, options.depthMultiplier])]
            if options.useBias { requests.append(WeightRequest(role: "bias", shape: [channels.map { $0 * options.depthMultiplier }])) }
            let stored = try fetch(call, requests)
            let kernel = stored["depthwise_kernel"]!
            return [("kernel", kernel.shape, kernel.values)] + biasWeight(stored)
        }
        var convolution = try window(options, layout: layout, call: call)
        convolution.depthMultiplier = options.depthMultiplier
        let output = try place(&convolution, over: spatialSizes(of: input, layout: layout), call: call)
        return try emitWithActivation(call, .depthwiseConv2D(convolution), inputs: [input],
                                      shape: shape4(layout: layout, height: output.height, width: output.width,
                                                    channels: channels.map { $0 * options.depthMultiplier }),
                                      layout: layout, weights: names)
    }

    /// SeparableConv2D: a DepthwiseConv2D named `<layer>/depthwise` (strides, padding and
    /// dilations of the layer, no bias) and a 1×1 Conv2D named `<layer>` with the bias and the
    /// activation.
    func convertSeparable(_ call: LayerCall) throws -> Value {
        let input = try singleImage(call)
        let options = try convolutionOptions(call)
        let filters = try filterCount(options, call)
        let layout = layout(forFormat: options.format, rank: 4, call: call)
        let channels = input.shape[axes(of: layout).channels]
        let middle = channels.map { $0 * options.depthMultiplier }
        let names = try layerWeights(of: call, roles: ["depthwise_kernel", "pointwise_kernel", "bias"]) {
            let theano = usesKeras1TheanoKernel(call, format: options.format)
            let (rows, columns) = (options.kernel.height, options.kernel.width)
            var requests = [
                WeightRequest(role: "depthwise_kernel", shape: theano ? [options.depthMultiplier, channels, rows, columns]
                              : [rows, columns, channels, options.depthMultiplier]),
                WeightRequest(role: "pointwise_kernel", shape: theano ? [filters, middle, 1, 1] : [1, 1, middle, filters]),
            ]
            if options.useBias { requests.append(WeightRequest(role: "bias", shape: [filters])) }
            let stored = try fetch(call, requests)
            let depthwise = prepareConvolutionKernel(stored["depthwise_kernel"]!, theanoLayout: theano, flip: false)
            let pointwise = prepareConvolutionKernel(stored["pointwise_kernel"]!, theanoLayout: theano, flip: false)
            return [("depthwise_kernel", depthwise.shape, depthwise.values), ("pointwise_kernel", pointwise.shape, pointwise.values)]
                + biasWeight(stored)
        }
        var depthwiseConvolution = try window(options, layout: layout, call: call)
        depthwiseConvolution.depthMultiplier = options.depthMultiplier
        let output = try place(&depthwiseConvolution, over: spatialSizes(of: input, layout: layout), call: call)
        let depthwise = try emit(
            call.nodeName + "/depthwise", .depthwiseConv2D(depthwiseConvolution), [input],
            shape: shape4(layout: layout, height: output.height, width: output.width, channels: middle), layout: layout,
            weights: ["kernel": names["depthwise_kernel"]!])
        var pointwiseWeights = ["kernel": names["pointwise_kernel"]!]
        if let bias = names["bias"] { pointwiseWeights["bias"] = bias }
        return try emitWithActivation(
            call, .conv2D(Operation.Convolution(layout: layout, kernelSize: Pair(1, 1))), inputs: [depthwise],
            shape: shape4(layout: layout, height: output.height, width: output.width, channels: filters), layout: layout,
            weights: pointwiseWeights)
    }

    /// Conv2DTranspose. Keras computes the output length `L` per axis (kernel `k` dilated to
    /// `K`): without `output_padding`, valid gives `in·s + max(K − s, 0)` and same gives `in·s`;
    /// with it, `(in − 1)·s + K − 2·pad + output_padding` where pad is 0 (valid) or `K // 2`
    /// (same). TensorFlow then places the full output `(in − 1)·s + K` as the gradient of a
    /// forward convolution from `L` to `in`: with same padding it starts early by the forward
    /// "same" padding of `L`, before. graft writes that as the crop before, the crop after that
    /// leaves `L` cells, and extra zero cells at the bottom/right (`output_padding`) when `L` is
    /// longer.
    func convertTransposed(_ call: LayerCall) throws -> Value {
        let input = try singleImage(call)
        let options = try convolutionOptions(call)
        let filters = try filterCount(options, call)
        let layout = layout(forFormat: options.format, rank: 4, call: call)
        let channels = input.shape[axes(of: layout).channels]
        let names = try layerWeights(of: call, roles: ["kernel", "bias"]) {
            var requests = [WeightRequest(role: "kernel", shape: [options.kernel.height, options.kernel.width, filters, channels])]
            if options.useBias { requests.append(WeightRequest(role: "bias", shape: [filters])) }
            let stored = try fetch(call, requests)
            let kernel = prepareConvolutionKernel(stored["kernel"]!, theanoLayout: false, flip: flipsConvolutionKernels)
            return [("kernel", kernel.shape, kernel.values)] + biasWeight(stored)
        }
        let explicitOutputPadding = call.config["output_padding"].flatMap { $0 == .null ? nil : pair($0) }
        guard options.padding == "same" || options.padding == "valid" else { throw unsupported(call, "uses padding '\(options.padding)'") }
        // The placement depends on the input length; an open size cannot be made explicit.
        let sizes = spatialSizes(of: input, layout: layout)
        guard let height = sizes.height, let width = sizes.width else { throw unsupported(call, "has an open spatial size") }
        let vertical = try transposedPlacement(call, size: height, kernel: options.kernel.height, stride: options.strides.height,
                                               dilation: options.dilations.height, same: options.padding == "same",
                                               outputPadding: explicitOutputPadding?.height)
        let horizontal = try transposedPlacement(call, size: width, kernel: options.kernel.width, stride: options.strides.width,
                                                 dilation: options.dilations.width, same: options.padding == "same",
                                                 outputPadding: explicitOutputPadding?.width)
        var convolution = try window(options, layout: layout, call: call)
        convolution.padding = .explicit(Sides(top: vertical.before, bottom: vertical.after, left: horizontal.before, right: horizontal.after))
        convolution.outputPadding = Pair(vertical.extra, horizontal.extra)
        guard let output = convolution.outputSize(for: Pair(height, width), transposed: true) else {
            throw badConfiguration(call, "has an empty output for an input of spatial size \(Pair(height, width))")
        }
        return try emitWithActivation(call, .conv2DTranspose(convolution), inputs: [input],
                                      shape: shape4(layout: layout, height: output.height, width: output.width, channels: filters),
                                      layout: layout, weights: names)
    }

    /// One axis of a Keras Conv2DTranspose (see `convertTransposed`): the crop before and after
    /// and the extra cells that turn the full output of an input of `size` into Keras's length.
    func transposedPlacement(_ call: LayerCall, size: Int, kernel: Int, stride: Int, dilation: Int, same: Bool,
                             outputPadding: Int?) throws -> (before: Int, after: Int, extra: Int) {
        let dilated = (kernel - 1) * dilation + 1
        // Keras's output length.
        let length: Int
        if let outputPadding {
            length = (size - 1) * stride + dilated - 2 * (same ? dilated / 2 : 0) + outputPadding
        } else {
            length = same ? size * stride : size * stride + max(dilated - stride, 0)
        }
        guard let full = WindowArithmetic.transposedConvolutionOutput(input: size, kernel: kernel, stride: stride, dilation: dilation,
                                                                      before: 0, after: 0), length > 0 else {
            throw badConfiguration(call, "has an empty output for an input of length \(size)")
        }
        let before = same ? WindowArithmetic.samePadding(input: length, kernel: kernel, stride: stride, dilation: dilation).before : 0
        return (before, max(full - before - length, 0), max(length - (full - before), 0))
    }
}

/// Transposes a row-major array: output axis `i` is input axis `permutation[i]`.
func transpose(_ values: [Float], shape: [Int], permutation: [Int]) -> (shape: [Int], values: [Float]) {
    let rank = shape.count
    let outputShape = permutation.map { shape[$0] }
    var inputStrides = [Int](repeating: 1, count: rank)
    for axis in stride(from: rank - 2, through: 0, by: -1) { inputStrides[axis] = inputStrides[axis + 1] * shape[axis + 1] }
    let strides = permutation.map { inputStrides[$0] }
    var output = [Float](repeating: 0, count: values.count)
    var index = [Int](repeating: 0, count: rank)
    for position in 0..<values.count {
        var source = 0
        for axis in 0..<rank { source += index[axis] * strides[axis] }
        output[position] = values[source]
        var axis = rank - 1
        while axis >= 0 {
            index[axis] += 1
            if index[axis] < outputShape[axis] { break }
            index[axis] = 0
            axis -= 1
        }
    }
    return (outputShape, output)
}
