import GraftModel
import GraftSupport

/// The Keras layer classes graft converts (Keras 1 names included), the operation classes
/// Keras 3 records for arithmetic on symbolic tensors (`x + 3.0`, `x * y`), and Keras 2's
/// `TFOpLambda` / `SlicingOpLambda` for the TensorFlow functions in `TFFunction.table`.
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
        if ModelConfigurationParser.keywordLayerClasses.contains(layer.className) {
            return TFOperations.unsupported(layer, name: layer.name) == nil
        }
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
            } else if ModelConfigurationParser.keywordLayerClasses.contains(layer.className) {
                // TFOpLambda / SlicingOpLambda: the function and how it is called decide.
                if let entry = TFOperations.unsupported(layer, name: prefix + layer.name) { result.append(entry) }
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
        case "TFOpLambda", "SlicingOpLambda": return try convertTFOperation(call)
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

    /// A count from the layer's configuration (`groups`, `filters`, `depth_multiplier`, …),
    /// checked to be an integer from 1 to 2^31 before any arithmetic divides or multiplies by
    /// it; `fallback` when the key is absent (or null), nil if there is no fallback either.
    func count(_ call: LayerCall, _ keys: [String], default fallback: Int?) throws -> Int? {
        for key in keys {
            guard let value = call.config[key], value != .null else { continue }
            guard let number = value.integerValue, (1...ModelConfigurationParser.maximumDimension).contains(number) else {
                throw badConfiguration(call, "has '\(key)' \(quoted(value.description)); expected an integer from 1 to \(ModelConfigurationParser.maximumDimension)")
            }
            return number
        }
        return fallback
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

    func shape4(layout: Layout, height: Int?, width: Int?, channels: Int?) -> [Int?] {
        layout == .nchw ? [nil, channels, height, width] : [nil, height, width, channels]
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
}
