import GraftModel
/// The Keras layer classes graft converts (Keras 1 names included), and the operation classes
/// Keras 3 records for arithmetic on symbolic tensors (`x + 3.0`, `x * y`).
enum SupportedLayers {
    static let layerClasses: Set<String> = [
        "InputLayer",
        "Dense", "Conv1D", "Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose",
        "Convolution1D", "Convolution2D", "AtrousConvolution2D", "SeparableConvolution2D",
        "BatchNormalization", "LayerNormalization", "Normalization", "Rescaling", "LayerScale",
        "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax",
        "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
        "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D",
        "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
        "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D",
        "ZeroPadding2D", "Cropping2D", "UpSampling2D", "Flatten", "Reshape", "Permute",
        "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
        "ActivityRegularization", "StochasticDepth",
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Merge",
        "CustomScaleLayer",
    ]
    /// Classes of `keras.src.ops` that Keras 3 serialises as layers.
    static let operationClasses: Set<String> = ["Add", "Subtract", "Multiply", "Divide", "TrueDivide"]

    static func isSupported(_ layer: LayerSpecification) -> Bool {
        if layer.nestedModel != nil { return true }
        if isOperation(layer) { return operationClasses.contains(layer.className) }
        return layerClasses.contains(layer.className)
    }

    /// Whether the layer is a Keras 3 operation: its module says so, or (in legacy `.h5`
    /// configurations, which drop the module) one of its calls has a constant argument.
    static func isOperation(_ layer: LayerSpecification) -> Bool {
        if let module = layer.module, module.hasPrefix("keras.src.ops") || module.hasPrefix("keras.ops") { return true }
        guard operationClasses.contains(layer.className) else { return false }
        if !layerClasses.contains(layer.className) { return true }
        return layer.calls.contains { $0.contains { if case .constant = $0 { true } else { false } } }
    }

    /// Every layer of `model` (nested models included) graft cannot convert.
    static func unsupportedLayers(in model: ModelSpecification, prefix: String = "") -> [UnsupportedLayer] {
        var result: [UnsupportedLayer] = []
        for layer in model.layers {
            if let nested = layer.nestedModel {
                result += unsupportedLayers(in: nested, prefix: prefix + layer.name + "/")
            } else if !isSupported(layer) {
                result.append(UnsupportedLayer(name: prefix + layer.name, kind: layer.className))
            }
        }
        return result
    }
}

extension GraphBuilder {
    func convertLayer(_ call: LayerCall) throws -> Value {
        if SupportedLayers.isOperation(call.layer) {
            return try convertOperation(call)
        }
        switch call.className {
        case "Dense": return try convertDense(call)
        case "Conv2D", "Convolution2D", "AtrousConvolution2D": return try convertConvolution(call)
        case "Conv1D", "Convolution1D": return try convertConvolution1D(call)
        case "DepthwiseConv2D": return try convertDepthwise(call)
        case "SeparableConv2D", "SeparableConvolution2D": return try convertSeparable(call)
        case "Conv2DTranspose": return try convertTransposed(call)
        case "BatchNormalization": return try convertBatchNormalization(call)
        case "LayerNormalization": return try convertLayerNormalization(call)
        case "Normalization": return try convertNormalization(call)
        case "Rescaling": return try convertRescaling(call)
        case "LayerScale": return try convertLayerScale(call)
        case "Activation": return try convertActivationLayer(call)
        case "ReLU": return try convertReLU(call)
        case "LeakyReLU":
            let alpha = call.config["negative_slope"]?.doubleValue ?? call.config["alpha"]?.doubleValue ?? 0.3
            return try emitActivation(call.nodeName, input: try single(call), .leakyReLU(alpha: alpha))
        case "ELU":
            let alpha = call.config["alpha"]?.doubleValue ?? 1.0
            return try emitActivation(call.nodeName, input: try single(call), .elu(alpha: alpha))
        case "PReLU": return try convertPReLU(call)
        case "Softmax":
            let input = try single(call)
            let axis = call.config["axis"]?.integerValue ?? call.config["axis"]?.integerArray?.first ?? -1
            return try emit(call.nodeName, .softmax(axis: axis), [input], shape: input.shape, layout: input.layout)
        case "MaxPooling2D", "MaxPool2D": return try convertPooling(call, Operation.maxPooling2D, oneDimensional: false)
        case "AveragePooling2D", "AvgPool2D": return try convertPooling(call, Operation.averagePooling2D, oneDimensional: false)
        case "MaxPooling1D", "MaxPool1D": return try convertPooling(call, Operation.maxPooling2D, oneDimensional: true)
        case "AveragePooling1D", "AvgPool1D": return try convertPooling(call, Operation.averagePooling2D, oneDimensional: true)
        case "GlobalAveragePooling2D", "GlobalAveragePooling1D", "GlobalAvgPool2D", "GlobalAvgPool1D":
            return try convertGlobalPooling(call, Operation.globalAveragePooling)
        case "GlobalMaxPooling2D", "GlobalMaxPooling1D", "GlobalMaxPool2D", "GlobalMaxPool1D":
            return try convertGlobalPooling(call, Operation.globalMaxPooling)
        case "ZeroPadding2D": return try convertPadding(call)
        case "Cropping2D": return try convertCropping(call)
        case "UpSampling2D": return try convertUpSampling(call)
        case "Flatten": return try convertFlatten(call)
        case "Reshape": return try convertReshape(call)
        case "Permute": return try convertPermute(call)
        case "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
             "ActivityRegularization", "StochasticDepth":
            let input = try single(call)
            return try emit(call.nodeName, .identity, [input], shape: input.shape, layout: input.layout)
        case "Add": return try convertMerge(call, .add())
        case "Subtract": return try convertMerge(call, .subtract)
        case "Multiply": return try convertMerge(call, .multiply)
        case "Average": return try convertMerge(call, .average)
        case "Maximum": return try convertMerge(call, .maximum)
        case "Minimum": return try convertMerge(call, .minimum)
        case "Concatenate": return try convertConcatenate(call, axis: call.config["axis"]?.integerValue ?? -1)
        case "Merge": return try convertKeras1Merge(call)
        case "CustomScaleLayer":
            // InceptionResNetV2: inputs[0] + inputs[1] * scale.
            guard call.inputs.count == 2, let scale = call.config["scale"]?.doubleValue else {
                throw unsupported(call, "has other than two inputs or no scale")
            }
            let shape = try broadcastShape(call.inputs.map(\.shape), call)
            return try emit(call.nodeName, .add(coefficients: [1, scale]), call.inputs, shape: shape, layout: call.inputs[0].layout)
        default:
            throw KerasImportError.unsupportedLayers(path: path, layers: [UnsupportedLayer(name: call.nodeName, kind: call.className)])
        }
    }

    // MARK: Helpers

    func unsupported(_ call: LayerCall, _ reason: String) -> KerasImportError {
        .unsupportedOption(path: path, layer: call.nodeName, className: call.className, reason: reason)
    }

    /// A layer whose configuration lacks what the importer needs or cannot be read; `reason`
    /// says what was expected.
    func badConfiguration(_ call: LayerCall, _ reason: String) -> KerasImportError {
        .badLayerConfiguration(path: path, layer: call.nodeName, className: call.className, reason: reason)
    }

    func single(_ call: LayerCall) throws -> Value {
        guard call.inputs.count == 1 else { throw unsupported(call, "is called with \(call.inputs.count) inputs where one is expected") }
        return call.inputs[0]
    }

    /// The one input of a layer that reads an image-like (rank 4) value.
    func singleImage(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        guard input.rank == 4 else { throw unsupported(call, "reads a value of rank \(input.rank), not 4") }
        return input
    }

    /// The number of filters of a convolution, which its configuration must give.
    func filterCount(_ options: ConvolutionOptions, _ call: LayerCall) throws -> Int {
        guard let filters = options.filters else {
            throw badConfiguration(call, "has no filter count (expected 'filters', or Keras 1's 'nb_filter')")
        }
        return filters
    }

    /// An integer list option given as one integer or a list (`kernel_size: 3` or `[3, 3]`).
    func integers(_ value: JSONValue?, count: Int) -> [Int]? {
        if let single = value?.integerValue { return Array(repeating: single, count: count) }
        if let list = value?.integerArray, list.count == count { return list }
        if let list = value?.integerArray, list.count == 1 { return Array(repeating: list[0], count: count) }
        return nil
    }

    /// A two-axis option (`kernel_size`, `strides`, `size`, …) given as one integer or a list.
    func pair(_ value: JSONValue?) -> Pair? {
        integers(value, count: 2).map { Pair($0[0], $0[1]) }
    }

    func layout(forFormat format: String?, rank: Int, call: LayerCall) -> Layout {
        let channelsFirst = format == "channels_first"
        switch rank {
        case 4: return channelsFirst ? .nchw : .nhwc
        case 3: return channelsFirst ? .ncw : .nwc
        default: return .plain
        }
    }

    /// The positions of the spatial axes and of the channel axis for a 4-D layout.
    func axes(of layout: Layout) -> (height: Int, width: Int, channels: Int) {
        layout == .nchw ? (2, 3, 1) : (1, 2, 3)
    }

    /// Keras's padding mode as graft padding: `valid`; `same`, symbolic until `place` writes it
    /// out for the input's size; Keras 1's `full`, the dilated kernel less one on every side.
    func padding(mode: String, kernel: Pair, dilations: Pair = Pair(1, 1), call: LayerCall) throws -> Padding {
        switch mode {
        case "valid": return .valid
        case "same": return .same
        case "full":
            let vertical = (kernel.height - 1) * dilations.height, horizontal = (kernel.width - 1) * dilations.width
            return .explicit(Sides(top: vertical, bottom: vertical, left: horizontal, right: horizontal))
        default:
            throw unsupported(call, "uses padding '\(mode)'")
        }
    }

    /// The spatial sizes of a rank-4 value in `layout`, each `nil` when open.
    func spatialSizes(of value: Value, layout: Layout) -> (height: Int?, width: Int?) {
        let spatial = axes(of: layout)
        return (value.shape[spatial.height], value.shape[spatial.width])
    }

    /// Writes a convolution's "same" padding out for an input of spatial size `sizes` and returns
    /// the output's spatial size, both by GraftModel's formulas. "same" stays symbolic (the
    /// runtime resolves it) when a size is open; an open size gives an open output size.
    func place(_ convolution: inout Operation.Convolution, over sizes: (height: Int?, width: Int?),
               call: LayerCall) throws -> (height: Int?, width: Int?) {
        // No shorter than the dilated window, so the window fits it whatever the padding.
        let standIn = Pair(convolution.kernelSize.height * convolution.dilations.height,
                           convolution.kernelSize.width * convolution.dilations.width)
        let output = try spatialOutput(over: sizes, window: convolution.kernelSize, standIn: standIn, call: call) {
            convolution.outputSize(for: $0)
        }
        if let height = sizes.height, let width = sizes.width {
            convolution.padding = .explicit(convolution.resolvedPadding(for: Pair(height, width)))
        }
        return output
    }

    /// `place` for pooling.
    func place(_ pooling: inout Operation.Pooling, over sizes: (height: Int?, width: Int?),
               call: LayerCall) throws -> (height: Int?, width: Int?) {
        let output = try spatialOutput(over: sizes, window: pooling.poolSize, standIn: pooling.poolSize, call: call) {
            pooling.outputSize(for: $0)
        }
        if let height = sizes.height, let width = sizes.width {
            pooling.padding = .explicit(pooling.resolvedPadding(for: Pair(height, width)))
        }
        return output
    }

    /// The output's spatial size by `outputSize`, a window op's formula, for input sizes that may
    /// be open. Each axis's output depends on its own input length only, so an open length is
    /// replaced by `standIn` (a length the window fits) and its output left open. `window`
    /// (kernel or pool size) is for the message when the window does not fit.
    private func spatialOutput(over sizes: (height: Int?, width: Int?), window: Pair, standIn: Pair, call: LayerCall,
                               _ outputSize: (Pair) -> Pair?) throws -> (height: Int?, width: Int?) {
        guard let output = outputSize(Pair(sizes.height ?? standIn.height, sizes.width ?? standIn.width)) else {
            throw badConfiguration(call, "has a \(window.height)×\(window.width) window larger than its padded input of spatial size "
                                   + describe([sizes.height, sizes.width]))
        }
        return (sizes.height.map { _ in output.height }, sizes.width.map { _ in output.width })
    }

    /// numpy broadcasting of shapes aligned right; `nil` dimensions stay open unless the other
    /// side fixes them.
    func broadcastShape(_ shapes: [[Int?]], _ call: LayerCall) throws -> [Int?] {
        let rank = shapes.map(\.count).max() ?? 0
        var result = [Int?](repeating: 1, count: rank)
        for shape in shapes {
            let offset = rank - shape.count
            for (index, dimension) in shape.enumerated() {
                let current = result[offset + index]
                switch (current, dimension) {
                case (1?, _): result[offset + index] = dimension
                case (_, 1?): break
                case (nil, _): result[offset + index] = dimension ?? (offset + index == 0 ? nil : nil)
                case (let a?, let b?) where a != b:
                    throw unsupported(call, "has inputs of shapes \(shapes.map(describe)) that do not broadcast")
                default: break
                }
            }
        }
        if rank > 0, shapes.allSatisfy({ $0.count == rank && $0[0] == nil }) { result[0] = nil }
        return result
    }

    func describe(_ shape: [Int?]) -> String {
        "[" + shape.map { $0.map(String.init) ?? "?" }.joined(separator: ", ") + "]"
    }

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
            filters: config["filters"]?.integerValue ?? config["nb_filter"]?.integerValue,
            kernel: kernel, strides: strides, dilations: dilations, padding: padding.lowercased(),
            format: dataFormat(of: config) ?? "channels_last",
            groups: config["groups"]?.integerValue ?? 1,
            useBias: config["use_bias"]?.boolValue ?? config["bias"]?.boolValue ?? true,
            depthMultiplier: config["depth_multiplier"]?.integerValue ?? 1)
    }

    /// The window of a convolution layer as graft attributes in `layout` ("same" padding still
    /// symbolic; `place` writes it out), with one group and no activation.
    func window(_ options: ConvolutionOptions, layout: Layout, call: LayerCall) throws -> Operation.Convolution {
        Operation.Convolution(layout: layout, kernelSize: options.kernel, strides: options.strides, dilations: options.dilations,
                              padding: try padding(mode: options.padding, kernel: options.kernel, dilations: options.dilations, call: call))
    }

    func shape4(layout: Layout, height: Int?, width: Int?, channels: Int?) -> [Int?] {
        layout == .nchw ? [nil, channels, height, width] : [nil, height, width, channels]
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
        guard let filters = config["filters"]?.integerValue ?? config["nb_filter"]?.integerValue else {
            throw badConfiguration(call, "has no filter count (expected 'filters', or Keras 1's 'nb_filter')")
        }
        guard let kernel = integers(config["kernel_size"], count: 1)?.first ?? config["filter_length"]?.integerValue else {
            throw badConfiguration(call, "has no kernel size (expected 'kernel_size', or Keras 1's 'filter_length')")
        }
        let stride = integers(config["strides"], count: 1)?.first ?? config["subsample_length"]?.integerValue ?? 1
        let dilation = integers(config["dilation_rate"], count: 1)?.first ?? 1
        let mode = (config["padding"]?.stringValue ?? config["border_mode"]?.stringValue ?? "valid").lowercased()
        let format = dataFormat(of: config) ?? "channels_last"
        let groups = config["groups"]?.integerValue ?? 1
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

    // MARK: Pooling

    /// MaxPooling and AveragePooling, 2-D or 1-D (as 2-D over [N, 1, W, C] or [N, C, 1, W]
    /// between two Reshapes); `operation` makes the op of the pooling attributes.
    func convertPooling(_ call: LayerCall, _ operation: (Operation.Pooling) -> Operation, oneDimensional: Bool) throws -> Value {
        let input = try single(call)
        let config = call.config
        let format = dataFormat(of: config) ?? "channels_last"
        let mode = (config["padding"]?.stringValue ?? config["border_mode"]?.stringValue ?? "valid").lowercased()
        if oneDimensional {
            guard input.rank == 3 else { throw unsupported(call, "reads a value of rank \(input.rank), not 3") }
            guard let size = integers(config["pool_size"], count: 1)?.first ?? config["pool_length"]?.integerValue else {
                throw badConfiguration(call, "has no pool size (expected 'pool_size', or Keras 1's 'pool_length')")
            }
            let stride = (config["strides"].flatMap { $0 == .null ? nil : integers($0, count: 1)?.first }) ?? config["stride"]?.integerValue ?? size
            let channelsFirst = format == "channels_first"
            let width = input.shape[channelsFirst ? 2 : 1]
            let channels = input.shape[channelsFirst ? 1 : 2]
            let layout2D: Layout = channelsFirst ? .nchw : .nhwc
            let expandedShape: [Int?] = channelsFirst ? [nil, channels, 1, width] : [nil, 1, width, channels]
            let expanded = try emit(call.nodeName + "/expand", .reshape(shape: expandedShape.dropFirst().map { $0 ?? -1 }), [input],
                                    shape: expandedShape, layout: layout2D)
            var pooling = Operation.Pooling(layout: layout2D, poolSize: Pair(1, size), strides: Pair(1, stride),
                                            padding: try padding(mode: mode, kernel: Pair(1, size), call: call))
            let outputWidth = try place(&pooling, over: (1, width), call: call).width
            let pooledShape: [Int?] = channelsFirst ? [nil, channels, 1, outputWidth] : [nil, 1, outputWidth, channels]
            let pooled = try emit(call.nodeName + "/pooling", operation(pooling), [expanded], shape: pooledShape, layout: layout2D)
            let outputShape: [Int?] = channelsFirst ? [nil, channels, outputWidth] : [nil, outputWidth, channels]
            return try emit(call.nodeName, .reshape(shape: outputShape.dropFirst().map { $0 ?? -1 }), [pooled],
                            shape: outputShape, layout: channelsFirst ? .ncw : .nwc)
        }
        guard input.rank == 4 else { throw unsupported(call, "reads a value of rank \(input.rank), not 4") }
        guard let size = pair(config["pool_size"]) else {
            throw badConfiguration(call, "has no pool size (expected 'pool_size')")
        }
        let strides = (config["strides"].flatMap { $0 == .null ? nil : pair($0) }) ?? size
        let layout = layout(forFormat: format, rank: 4, call: call)
        var pooling = Operation.Pooling(layout: layout, poolSize: size, strides: strides,
                                        padding: try padding(mode: mode, kernel: size, call: call))
        let output = try place(&pooling, over: spatialSizes(of: input, layout: layout), call: call)
        let channels = input.shape[axes(of: layout).channels]
        return try emit(call.nodeName, operation(pooling), [input],
                        shape: shape4(layout: layout, height: output.height, width: output.width, channels: channels), layout: layout)
    }

    /// GlobalAveragePooling and GlobalMaxPooling, 1-D or 2-D; `operation` makes the op.
    func convertGlobalPooling(_ call: LayerCall, _ operation: (Operation.GlobalPooling) -> Operation) throws -> Value {
        let input = try single(call)
        let format = dataFormat(of: call.config) ?? "channels_last"
        let keepDimensions = call.config["keepdims"]?.boolValue ?? false
        guard input.rank == 3 || input.rank == 4 else { throw unsupported(call, "reads a value of rank \(input.rank)") }
        let layout = layout(forFormat: format, rank: input.rank, call: call)
        let channelAxis = format == "channels_first" ? 1 : input.rank - 1
        let channels = input.shape[channelAxis]
        var shape: [Int?]
        if keepDimensions {
            shape = [nil] + Array(repeating: 1, count: input.rank - 1)
            shape[channelAxis] = channels
        } else {
            shape = [nil, channels]
        }
        return try emit(call.nodeName, operation(.init(layout: layout, keepsDimensions: keepDimensions)), [input], shape: shape,
                        layout: keepDimensions ? layout : .plain)
    }

    // MARK: Shape and layout

    /// ZeroPadding2D / Cropping2D amounts: `n`, `[a, b]` (symmetric per axis), `[[t, b], [l, r]]`,
    /// Keras 1's `[t, b, l, r]` or `{"top_pad", …}`.
    func fourSides(_ value: JSONValue?, keys: [String], call: LayerCall) throws -> Sides {
        if let single = value?.integerValue { return Sides(top: single, bottom: single, left: single, right: single) }
        if let flat = value?.integerArray {
            if flat.count == 2 { return Sides(top: flat[0], bottom: flat[0], left: flat[1], right: flat[1]) }
            if flat.count == 4 { return Sides(top: flat[0], bottom: flat[1], left: flat[2], right: flat[3]) }
        }
        if let pairs = value?.arrayValue, pairs.count == 2, let first = integers(pairs[0], count: 2), let second = integers(pairs[1], count: 2) {
            return Sides(top: first[0], bottom: first[1], left: second[0], right: second[1])
        }
        if let members = value?.objectValue {
            let sides = keys.compactMap { members[$0]?.integerValue }
            if sides.count == 4 { return Sides(top: sides[0], bottom: sides[1], left: sides[2], right: sides[3]) }
        }
        throw unsupported(call, "has an amount graft cannot read (\(value ?? .null))")
    }

    func convertPadding(_ call: LayerCall) throws -> Value {
        let input = try singleImage(call)
        let sides = try fourSides(call.config["padding"], keys: ["top_pad", "bottom_pad", "left_pad", "right_pad"], call: call)
        let layout = layout(forFormat: dataFormat(of: call.config) ?? "channels_last", rank: 4, call: call)
        let spatial = axes(of: layout)
        var shape = input.shape
        shape[spatial.height] = shape[spatial.height].map { $0 + sides.top + sides.bottom }
        shape[spatial.width] = shape[spatial.width].map { $0 + sides.left + sides.right }
        return try emit(call.nodeName, .pad(.init(layout: layout, padding: sides)), [input], shape: shape, layout: layout)
    }

    func convertCropping(_ call: LayerCall) throws -> Value {
        let input = try singleImage(call)
        let sides = try fourSides(call.config["cropping"], keys: ["top_crop", "bottom_crop", "left_crop", "right_crop"], call: call)
        let layout = layout(forFormat: dataFormat(of: call.config) ?? "channels_last", rank: 4, call: call)
        let spatial = axes(of: layout)
        var shape = input.shape
        shape[spatial.height] = shape[spatial.height].map { $0 - sides.top - sides.bottom }
        shape[spatial.width] = shape[spatial.width].map { $0 - sides.left - sides.right }
        return try emit(call.nodeName, .crop(.sides(layout: layout, cropping: sides)), [input], shape: shape, layout: layout)
    }

    func convertUpSampling(_ call: LayerCall) throws -> Value {
        let input = try singleImage(call)
        guard let size = pair(call.config["size"]) else { throw unsupported(call, "has no size") }
        let name = call.config["interpolation"]?.stringValue ?? "nearest"
        guard let interpolation = Operation.UpSampling.Interpolation(rawValue: name) else {
            throw unsupported(call, "uses '\(name)' interpolation")
        }
        let layout = layout(forFormat: dataFormat(of: call.config) ?? "channels_last", rank: 4, call: call)
        let spatial = axes(of: layout)
        var shape = input.shape
        shape[spatial.height] = shape[spatial.height].map { $0 * size.height }
        shape[spatial.width] = shape[spatial.width].map { $0 * size.width }
        return try emit(call.nodeName, .upSampling2D(.init(layout: layout, size: size, interpolation: interpolation)), [input],
                        shape: shape, layout: layout)
    }

    func product(_ dimensions: some Sequence<Int?>) -> Int? {
        var result = 1
        for dimension in dimensions {
            guard let dimension else { return nil }
            result *= dimension
        }
        return result
    }

    /// Flatten. A Keras 2/3 Flatten with `data_format: channels_first` moves the channels last
    /// before flattening (so weights keep their order across data formats): a Transpose first.
    func convertFlatten(_ call: LayerCall) throws -> Value {
        var input = try single(call)
        if call.config["data_format"]?.stringValue == "channels_first", input.rank > 2 {
            let permutation = [0] + Array(2..<input.rank) + [1]
            let shape = permutation.map { input.shape[$0] }
            input = try emit(call.nodeName + "/channels_last", .transpose(permutation: permutation), [input], shape: shape, layout: .plain)
        }
        return try emit(call.nodeName, .flatten, [input], shape: [nil, product(input.shape.dropFirst())], layout: .plain)
    }

    func convertReshape(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        guard let target = call.config["target_shape"]?.arrayValue?.map({ $0.integerValue ?? -1 }) else {
            throw unsupported(call, "has no target_shape")
        }
        var shape: [Int?] = target.map { $0 == -1 ? nil : $0 }
        if let unknown = target.firstIndex(of: -1), let total = product(input.shape.dropFirst()) {
            let known = target.filter { $0 != -1 }.reduce(1, *)
            if known > 0 { shape[unknown] = total / known }
        }
        let layout = input.rank == target.count + 1 ? input.layout : defaultLayout(rank: target.count + 1)
        return try emit(call.nodeName, .reshape(shape: target), [input], shape: [nil] + shape, layout: layout)
    }

    func convertPermute(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        guard let dims = call.config["dims"]?.integerArray, dims.count == input.rank - 1 else {
            throw unsupported(call, "has dims that do not match its input")
        }
        let permutation = [0] + dims
        return try emit(call.nodeName, .transpose(permutation: permutation), [input], shape: permutation.map { input.shape[$0] },
                        layout: .plain)
    }

    // MARK: Several inputs

    /// Add, Subtract, Multiply, Average, Maximum, Minimum: `operation` over every input.
    func convertMerge(_ call: LayerCall, _ operation: Operation) throws -> Value {
        guard call.inputs.count >= 2 else { throw unsupported(call, "has \(call.inputs.count) input") }
        if operation == .subtract, call.inputs.count != 2 { throw unsupported(call, "subtracts \(call.inputs.count) inputs") }
        let shape = try broadcastShape(call.inputs.map(\.shape), call)
        let layout = call.inputs.first { $0.rank == shape.count }?.layout ?? .plain
        return try emit(call.nodeName, operation, call.inputs, shape: shape, layout: layout)
    }

    func convertConcatenate(_ call: LayerCall, axis: Int) throws -> Value {
        guard call.inputs.count >= 1 else { throw unsupported(call, "has no inputs") }
        let rank = call.inputs[0].rank
        let positive = axis < 0 ? axis + rank : axis
        guard positive >= 1, positive < rank, call.inputs.allSatisfy({ $0.rank == rank }) else {
            throw unsupported(call, "concatenates along axis \(axis) values of ranks \(call.inputs.map(\.rank))")
        }
        var shape = call.inputs[0].shape
        let sizes = call.inputs.map { $0.shape[positive] }
        shape[positive] = sizes.contains { $0 == nil } ? nil : sizes.reduce(0) { $0 + $1! }
        return try emit(call.nodeName, .concatenate(axis: axis), call.inputs, shape: shape, layout: call.inputs[0].layout)
    }

    /// Keras 1 `Merge` in functional models.
    func convertKeras1Merge(_ call: LayerCall) throws -> Value {
        guard call.config["layers"] == nil || call.config["layers"] == .null || call.config["layers"]?.arrayValue?.isEmpty == true else {
            throw unsupported(call, "merges Sequential branches (legacy Merge of models)")
        }
        let mode = call.config["mode"]?.stringValue ?? "sum"
        switch mode {
        case "sum": return try convertMerge(call, .add())
        case "mul": return try convertMerge(call, .multiply)
        case "ave": return try convertMerge(call, .average)
        case "max": return try convertMerge(call, .maximum)
        case "concat": return try convertConcatenate(call, axis: call.config["concat_axis"]?.integerValue ?? -1)
        default: throw unsupported(call, "uses merge mode '\(mode)'")
        }
    }

    /// Keras 3 operation layers: `x + c`, `x * c`, `x - c`, `c - x`, `x / c` become Rescaling;
    /// operations on two tensors become Add, Subtract or Multiply.
    func convertOperation(_ call: LayerCall) throws -> Value {
        let tensors = call.inputs
        let constants = call.arguments.compactMap { if case let .constant(value) = $0 { value } else { nil } }
        if tensors.count == 2, constants.isEmpty {
            switch call.className {
            case "Add": return try convertMerge(call, .add())
            case "Subtract": return try convertMerge(call, .subtract)
            case "Multiply": return try convertMerge(call, .multiply)
            default: throw unsupported(call, "divides two tensors")
            }
        }
        guard tensors.count == 1, constants.count == 1, call.arguments.count == 2 else {
            throw unsupported(call, "combines \(tensors.count) tensors and \(constants.count) constants")
        }
        let constant = constants[0]
        let constantFirst: Bool = if case .constant = call.arguments[0] { true } else { false }
        var scale = 1.0, offset = 0.0
        switch call.className {
        case "Add": offset = constant
        case "Subtract": if constantFirst { scale = -1; offset = constant } else { offset = -constant }
        case "Multiply": scale = constant
        case "Divide", "TrueDivide":
            guard !constantFirst, constant != 0 else { throw unsupported(call, "divides a constant by a tensor") }
            scale = 1 / constant
        default: throw unsupported(call, "is an operation graft does not convert")
        }
        let input = tensors[0]
        return try emit(call.nodeName, .rescaling(.init(scale: scale, offset: offset)), [input], shape: input.shape, layout: input.layout)
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
