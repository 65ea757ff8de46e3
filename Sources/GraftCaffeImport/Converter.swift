import GraftModel
import GraftSupport
import Foundation
/// graft's op, not Foundation's `Operation` (NSOperation), which the name would otherwise also find.
private typealias Operation = GraftModel.Operation

/// Turns a parsed prototxt plus an indexed caffemodel into graft nodes and weights.
///
/// Shapes are tracked with the batch dimension set to the declared batch size (it only matters
/// for Reshape, whose first output dimension must be the batch); graph shapes write it as `nil`.
///
/// Value naming: Caffe names blobs, and in-place layers (top == bottom) write one blob several
/// times. graft values are written once, so the value a blob holds after the *last* layer that
/// writes it is named like the blob (what Caffe's `net.blobs[name]` holds after a forward pass),
/// and the values earlier writers produce are named `<blob>@<layer>`. Nodes carry the layer
/// names, so a layer name selects that layer's output (OpenCV's `forward(layerName)`).
final class Converter {
    let net: NetDefinition
    let model: CaffeModelFile?
    let inputShape: [Int]?

    private(set) var nodes: [Node] = []
    private(set) var weights: [WeightTensor] = []
    private(set) var inputs: [ValueInfo] = []
    private(set) var notes: [String] = []
    private(set) var preprocessing: [String: JSONValue] = [:]

    /// The value each blob currently holds.
    private var blobValues: [String: String] = [:]
    /// Blobs made by dropped layers (labels of data layers): reading one is an error naming it.
    private var droppedBlobs: Set<String> = []
    private var shapes: [String: [Int]] = [:]
    private var valueNames: Set<String> = []
    private var nodeNames: Set<String> = []
    private var usedModelLayers: Set<String> = []
    /// For each blob, the index (in `layers`) of the last layer writing it.
    private var lastWriter: [String: Int] = [:]
    /// Values produced, in order, and whether a later layer read them.
    private var producedOrder: [String] = []
    private var consumed: Set<String> = []
    private var batch = 1

    init(net: NetDefinition, model: CaffeModelFile?, inputShape: [Int]?) {
        self.net = net
        self.model = model
        self.inputShape = inputShape
    }

    var file: String { net.file }

    // MARK: Layer classes

    static let dataLayerTypes: Set<String> = ["Data", "ImageData", "HDF5Data", "WindowData", "MemoryData", "AnnotatedData"]
    static let droppedLayerTypes: Set<String> = ["Accuracy", "Silence", "HDF5Output"]
    /// Element-wise layers without parameters: the Caffe type and the schema's function.
    static let parameterlessActivations: [String: Activation] = [
        "Sigmoid": .sigmoid, "TanH": .tanh, "AbsVal": .abs, "BNLL": .bnll, "Mish": .mish,
    ]
    static let supportedLayerTypes: Set<String> = Set(parameterlessActivations.keys).union([
        "Input", "Convolution", "Deconvolution", "InnerProduct", "Pooling", "ReLU", "PReLU", "ELU",
        "Power", "Exp", "Log", "BatchNorm", "Scale", "Bias", "LRN", "Dropout", "Softmax", "Concat",
        "Eltwise", "Flatten", "Reshape", "Split", "Slice", "Crop", "Permute",
    ])

    static func isDropped(_ type: String) -> Bool {
        droppedLayerTypes.contains(type) || type.hasSuffix("Loss")
    }

    // MARK: Driver

    func convert() throws {
        let layers = net.layers.filter(\.isInTestNet)
        let unsupported = layers.filter {
            !Converter.supportedLayerTypes.contains($0.type) && !Converter.dataLayerTypes.contains($0.type) && !Converter.isDropped($0.type)
        }
        if !unsupported.isEmpty {
            throw CaffeImportError.unsupportedLayers(file: file, layers: unsupported.map { UnsupportedLayer(name: $0.name, kind: $0.type) })
        }
        for (index, layer) in layers.enumerated() where !Converter.isDropped(layer.type) {
            for top in layer.tops { lastWriter[top] = index }
        }
        try declareNetInputs(layers)
        for (index, layer) in layers.enumerated() {
            if Converter.isDropped(layer.type) { continue }
            try convert(layer, index: index)
        }
        if let model {
            let prototxtNames = Set(net.layers.map(\.name))
            for name in model.layerNames where !prototxtNames.contains(name) {
                if let stored = model.layers[name], !stored.blobRanges.isEmpty {
                    notes.append("'\(model.path)': layer '\(name)' (\(stored.type.isEmpty ? "no type" : stored.type)) has \(stored.blobRanges.count) weight blob\(stored.blobRanges.count == 1 ? "" : "s") but the prototxt has no layer of that name; ignored")
                }
            }
        }
    }

    /// The graph outputs: values no later layer reads, in the order they were made.
    var outputs: [String] {
        producedOrder.filter { !consumed.contains($0) }
    }

    // MARK: Inputs

    private func declareNetInputs(_ layers: [LayerDefinition]) throws {
        var declared: [(name: String, shape: [Int]?)] = net.declaredInputs
        for layer in layers where layer.type == "Input" {
            let shapes = layer.input.shapes
            guard shapes.isEmpty || shapes.count == 1 || shapes.count == layer.tops.count else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has \(layer.tops.count) tops but \(shapes.count) shapes")
            }
            for (index, top) in layer.tops.enumerated() {
                declared.append((top, shapes.isEmpty ? nil : shapes[shapes.count == 1 ? 0 : index]))
            }
        }
        for layer in layers where Converter.dataLayerTypes.contains(layer.type) {
            guard let top = layer.tops.first else { continue }
            declared.append((top, nil))
            for label in layer.tops.dropFirst() { droppedBlobs.insert(label) }
            if let transform = layer.transform { recordTransform(transform) }
        }
        guard !declared.isEmpty else {
            throw CaffeImportError.inputShape(file: file, reason: "the net declares no input (no Input layer, no 'input' field, no data layer)")
        }
        if let inputShape {
            guard declared.count == 1 else {
                throw CaffeImportError.inputShape(file: file, reason: "--input-shape gives one shape but the net has \(declared.count) inputs (\(declared.map(\.name).joined(separator: ", ")))")
            }
            declared[0].shape = inputShape
        }
        for (name, shape) in declared {
            guard let shape else {
                throw CaffeImportError.inputShape(file: file, reason: "the input '\(name)' has no declared shape; give one with --input-shape N,C,H,W")
            }
            guard shape.count >= 2, shape.allSatisfy({ $0 > 0 }) else {
                throw CaffeImportError.inputShape(file: file, reason: "the input '\(name)' has shape \(describe(shape)); expected at least [N, C] with positive sizes")
            }
            guard valueNames.insert(name).inserted else {
                throw CaffeImportError.inputShape(file: file, reason: "the input '\(name)' is declared twice")
            }
            batch = shape[0]
            shapes[name] = shape
            blobValues[name] = name
            inputs.append(ValueInfo(name: name, shape: [nil] + shape.dropFirst().map { Optional($0) },
                                    layout: shape.count == 4 ? .nchw : .plain))
        }
    }

    private func recordTransform(_ transform: TransformationParameters) {
        var hints: [String: JSONValue] = ["preset": "caffe"]
        if !transform.meanValues.isEmpty { hints["mean"] = .array(transform.meanValues.map { .number(Double($0)) }) }
        if let meanFile = transform.meanFile { hints["mean_file"] = .string(meanFile) }
        if let scale = transform.scale { hints["scale"] = .number(Double(scale)) }
        if transform.cropSize > 0 { hints["crop_size"] = .integer(transform.cropSize) }
        if let mirror = transform.mirror { hints["mirror"] = .bool(mirror) }
        preprocessing = hints
    }

    // MARK: Naming

    private func uniqueNodeName(_ base: String) -> String {
        var name = base.isEmpty ? "layer" : base
        var suffix = 2
        while nodeNames.contains(name) {
            name = "\(base)_\(suffix)"
            suffix += 1
        }
        nodeNames.insert(name)
        return name
    }

    private func uniqueValueName(_ base: String) -> String {
        var name = base
        var suffix = 2
        while valueNames.contains(name) {
            name = "\(base)_\(suffix)"
            suffix += 1
        }
        valueNames.insert(name)
        return name
    }

    /// The value name for `top` written by layer `index` named `layer`.
    private func outputName(top: String, layer: String, index: Int) -> String {
        if lastWriter[top] == index && !valueNames.contains(top) { return uniqueValueName(top) }
        return uniqueValueName("\(top)@\(layer)")
    }

    private func value(of blob: String, layer: LayerDefinition) throws -> String {
        guard let value = blobValues[blob] else {
            if droppedBlobs.contains(blob) {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it reads blob '\(blob)', the label output of a data layer, which graft drops")
            }
            throw CaffeImportError.undefinedBlob(file: file, layer: layer.name, blob: blob)
        }
        consumed.insert(value)
        return value
    }

    // MARK: Emitting nodes

    /// Adds a node producing values for `tops` (the layer's own outputs).
    private func emit(_ layer: LayerDefinition, index: Int, name: String? = nil, _ operation: Operation, inputs: [String],
                      outputShapes: [[Int]], weights: [String: String] = [:]) {
        let nodeName = name ?? uniqueNodeName(layer.name.isEmpty ? "\(layer.type)_\(index)" : layer.name)
        var outputs: [String] = []
        for (top, shape) in zip(layer.tops, outputShapes) {
            let value = outputName(top: top, layer: nodeName, index: index)
            outputs.append(value)
            shapes[value] = shape
            blobValues[top] = value
            producedOrder.append(value)
        }
        nodes.append(Node(name: nodeName, operation: operation, inputs: inputs, outputs: outputs,
                          outputShapes: outputShapes.map(graphShape), weights: weights))
    }

    /// Adds a helper node (a Flatten before a Dense, a Rescaling around an Exp) and returns its
    /// output value.
    private func emitHelper(name: String, _ operation: Operation, input: String, shape: [Int]) -> String {
        let nodeName = uniqueNodeName(name)
        let value = uniqueValueName(nodeName)
        shapes[value] = shape
        nodes.append(Node(name: nodeName, operation: operation, inputs: [input], outputs: [value], outputShapes: [graphShape(shape)]))
        return value
    }

    private func graphShape(_ shape: [Int]) -> [Int?] {
        shape.isEmpty ? [] : [nil] + shape.dropFirst().map { Optional($0) }
    }

    private func addWeight(node: String, role: String, shape: [Int], values: [Float]) -> String {
        let name = "\(node)/\(role)"
        weights.append(WeightTensor(name: name, shape: shape, values: values))
        return name
    }

    /// The node name a layer will get (reserved now so weights can be named after it).
    private func reserveNodeName(_ layer: LayerDefinition, index: Int) -> String {
        uniqueNodeName(layer.name.isEmpty ? "\(layer.type)_\(index)" : layer.name)
    }

    // MARK: Weights

    /// The layer's blobs from the caffemodel, checked against the shapes the prototxt implies.
    /// `optional` trailing blobs may be absent only if `expected` lists them after `required`.
    private func blobs(_ layer: LayerDefinition, expected: [[Int]]) throws -> [CaffeModelFile.Blob] {
        guard let model else {
            throw CaffeImportError.missingWeights(layer: layer.name, type: layer.type, expectedShapes: expected, weightsFile: nil)
        }
        guard let stored = model.layers[layer.name] else {
            throw CaffeImportError.missingWeights(layer: layer.name, type: layer.type, expectedShapes: expected, weightsFile: model.path)
        }
        usedModelLayers.insert(layer.name)
        guard stored.blobRanges.count >= expected.count else {
            throw CaffeImportError.badBlob(file: model.path, layer: layer.name, blob: stored.blobRanges.count,
                                           reason: "is missing: the layer has \(stored.blobRanges.count) blob\(stored.blobRanges.count == 1 ? "" : "s"), expected \(expected.count) of shapes \(expected.map(describe).joined(separator: ", "))")
        }
        var result: [CaffeModelFile.Blob] = []
        for (index, shape) in expected.enumerated() {
            let blob = try model.blob(index, of: stored)
            guard blob.matches(shape) else {
                throw CaffeImportError.weightShapeMismatch(file: model.path, layer: layer.name, blob: index, expected: shape, actual: blob.shape)
            }
            let count = shape.reduce(1, *)
            guard blob.count == count else {
                throw CaffeImportError.badBlob(file: model.path, layer: layer.name, blob: index,
                                               reason: "has \(blob.count) values but its shape \(describe(blob.shape)) holds \(count)")
            }
            result.append(blob)
        }
        return result
    }

    private func release(_ blob: CaffeModelFile.Blob) {
        if let mapped = blob.mapped { model?.release(mapped) }
    }

    // MARK: Layers

    private func valueShape(_ value: String) -> [Int] { shapes[value] ?? [] }

    private func require4D(_ layer: LayerDefinition, _ shape: [Int]) throws {
        guard shape.count == 4 else {
            throw CaffeImportError.unsupportedParameter(file: file, layer: layer.name, reason: "has a \(shape.count)-D input \(describe(shape)) (graft converts 2-D \(layer.type) on NCHW blobs)")
        }
    }

    private func normalizedAxis(_ axis: Int, rank: Int, layer: LayerDefinition, allowEnd: Bool = false) throws -> Int {
        let normalized = axis < 0 ? axis + rank + (allowEnd ? 1 : 0) : axis
        guard normalized >= 0, normalized < rank + (allowEnd ? 1 : 0) else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "axis \(axis) is out of range for a \(rank)-D blob")
        }
        return normalized
    }

    private func batchAxisRefused(_ layer: LayerDefinition, _ what: String) -> CaffeImportError {
        .unsupportedParameter(file: file, layer: layer.name, reason: "\(what) the batch axis (axis 0)")
    }

    private func convert(_ layer: LayerDefinition, index: Int) throws {
        switch layer.type {
        case "Input":
            return
        case _ where Converter.dataLayerTypes.contains(layer.type):
            return
        case "Split":
            let input = try value(of: try single(layer), layer: layer)
            for top in layer.tops { blobValues[top] = input }
            return
        default:
            break
        }
        guard !layer.tops.isEmpty else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no top")
        }
        let inputNames = try layer.bottoms.map { try value(of: $0, layer: layer) }
        guard let first = inputNames.first else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no bottom")
        }
        let inputShape = valueShape(first)
        switch layer.type {
        case "Convolution", "Deconvolution":
            try convertConvolution(layer, index: index, input: first, shape: inputShape)
        case "InnerProduct":
            try convertInnerProduct(layer, index: index, input: first, shape: inputShape)
        case "Pooling":
            try convertPooling(layer, index: index, input: first, shape: inputShape)
        case "ReLU":
            emit(layer, index: index, .activation(.relu(negativeSlope: Double(layer.relu.negativeSlope))), inputs: [first], outputShapes: [inputShape])
        case _ where Converter.parameterlessActivations[layer.type] != nil:
            emit(layer, index: index, .activation(Converter.parameterlessActivations[layer.type]!), inputs: [first], outputShapes: [inputShape])
        case "ELU":
            emit(layer, index: index, .activation(.elu(alpha: Double(layer.elu.alpha))), inputs: [first], outputShapes: [inputShape])
        case "Power":
            let power = layer.power
            emit(layer, index: index, .activation(.power(power: Double(power.power), scale: Double(power.scale), shift: Double(power.shift))),
                 inputs: [first], outputShapes: [inputShape])
        case "Exp":
            try convertExp(layer, index: index, input: first, shape: inputShape)
        case "Log":
            let log = layer.log
            // Caffe writes base −1 for e.
            if log.base != -1 {
                guard log.base > 0 else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "log base \(log.base) is not positive") }
                guard log.base != 1 else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "log base 1 is invalid (Caffe divides by ln 1 = 0)") }
            }
            let base = log.base == -1 ? nil : Double(log.base)
            emit(layer, index: index, .activation(.log(base: base, scale: Double(log.scale), shift: Double(log.shift))),
                 inputs: [first], outputShapes: [inputShape])
        case "PReLU":
            try convertPReLU(layer, index: index, input: first, shape: inputShape)
        case "BatchNorm":
            try convertBatchNorm(layer, index: index, input: first, shape: inputShape)
        case "Scale", "Bias":
            try convertScale(layer, index: index, inputs: inputNames, shape: inputShape)
        case "LRN":
            try require4D(layer, inputShape)
            let lrn = layer.lrn
            guard lrn.localSize % 2 == 1 else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "local_size \(lrn.localSize) is even (Caffe needs it odd)")
            }
            let within = lrn.normRegion == .withinChannel
            // Caffe's WITHIN_CHANNEL LRN adds 1, not k (it builds the layer from a Power layer
            // with shift 1); k is written as 1 so the op computes what Caffe computes.
            let normalization = Operation.LocalResponseNormalization(
                layout: .nchw, size: lrn.localSize, alpha: Double(lrn.alpha), beta: Double(lrn.beta), k: within ? 1 : Double(lrn.k),
                region: within ? .withinChannel : .acrossChannels)
            emit(layer, index: index, .localResponseNormalization(normalization), inputs: [first], outputShapes: [inputShape])
        case "Dropout":
            emit(layer, index: index, .identity, inputs: [first], outputShapes: [inputShape])
        case "Softmax":
            let axis = try normalizedAxis(layer.softmax.axis, rank: inputShape.count, layer: layer)
            guard axis > 0 else { throw batchAxisRefused(layer, "takes the softmax over") }
            emit(layer, index: index, .softmax(axis: axis), inputs: [first], outputShapes: [inputShape])
        case "Concat":
            try convertConcat(layer, index: index, inputs: inputNames)
        case "Eltwise":
            try convertEltwise(layer, index: index, inputs: inputNames)
        case "Flatten":
            try convertFlatten(layer, index: index, input: first, shape: inputShape)
        case "Reshape":
            try convertReshape(layer, index: index, input: first, shape: inputShape)
        case "Slice":
            try convertSlice(layer, index: index, input: first, shape: inputShape)
        case "Crop":
            try convertCrop(layer, index: index, inputs: inputNames)
        case "Permute":
            try convertPermute(layer, index: index, input: first, shape: inputShape)
        default:
            throw CaffeImportError.unsupportedLayers(file: file, layers: [UnsupportedLayer(name: layer.name, kind: layer.type)])
        }
    }

    private func single(_ layer: LayerDefinition) throws -> String {
        guard layer.bottoms.count == 1 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has \(layer.bottoms.count) bottoms, expected 1")
        }
        return layer.bottoms[0]
    }

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

    private func convertConvolution(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
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

    private func convertInnerProduct(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
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

    // MARK: Pooling

    private func convertPooling(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        try require4D(layer, shape)
        let method = layer.pooling?.method ?? .max
        guard method != .stochastic else {
            throw CaffeImportError.unsupportedParameter(file: file, layer: layer.name, reason: "uses STOCHASTIC pooling")
        }
        let isMax = method == .max
        if let parameters = layer.pooling, parameters.global {
            let global = Operation.GlobalPooling(layout: .nchw, keepsDimensions: true)
            emit(layer, index: index, isMax ? .globalMaxPooling(global) : .globalAveragePooling(global), inputs: [input],
                 outputShapes: [[shape[0], shape[1], 1, 1]])
            return
        }
        guard let parameters = layer.pooling else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no pooling_param (kernel size needed)")
        }
        /// (height, width) from Caffe's single value or its `_h`/`_w` pair.
        func pair(_ value: Int?, height: Int?, width: Int?, what: String, default fallback: Int?) throws -> Pair {
            if height != nil || width != nil {
                guard let height, let width, value == nil else {
                    throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "\(what)_h and \(what)_w must be given together and without \(what)")
                }
                return Pair(height, width)
            }
            guard let size = value ?? fallback else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no kernel_size")
            }
            return .square(size)
        }
        let kernel = try pair(parameters.kernelSize, height: parameters.kernelHeight, width: parameters.kernelWidth, what: "kernel", default: nil)
        let pad = try pair(parameters.pad, height: parameters.padHeight, width: parameters.padWidth, what: "pad", default: 0)
        let strides = try pair(parameters.stride, height: parameters.strideHeight, width: parameters.strideWidth, what: "stride", default: 1)
        guard kernel.height > 0, kernel.width > 0, strides.height > 0, strides.width > 0 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "kernel and stride must be positive")
        }
        guard pad.height < kernel.height, pad.width < kernel.width else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "padding must be smaller than the kernel")
        }
        // Caffe's rounding, including its rule that drops a last window starting inside the
        // bottom or right padding, is `WindowArithmetic.poolingOutput`'s.
        let pooling = Operation.Pooling(
            layout: .nchw, poolSize: kernel, strides: strides,
            padding: .explicit(Sides(top: pad.height, bottom: pad.height, left: pad.width, right: pad.width)),
            rounding: parameters.roundMode == .floor ? .floor : .ceil, divisor: isMax ? .valid : .padded)
        guard let size = pooling.outputSize(for: Pair(shape[2], shape[3])) else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its output would be empty for input \(describe(shape))")
        }
        emit(layer, index: index, isMax ? .maxPooling2D(pooling) : .averagePooling2D(pooling), inputs: [input],
             outputShapes: [[shape[0], shape[1], size.height, size.width]])
    }

    // MARK: Element-wise with parameters

    private func convertExp(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        let base = Double(layer.exp.base), scale = Double(layer.exp.scale), shift = Double(layer.exp.shift)
        guard base == -1 || base > 0 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "exp base \(base) is not positive")
        }
        // Caffe: y = outer · e^(inner · x), inner = ln(base)·scale, outer = base^shift.
        let logBase = base == -1 ? 1 : Foundation.log(base)
        let inner = Double(Float(logBase * scale))
        let outer = shift == 0 ? 1 : (base == -1 ? Foundation.exp(shift) : pow(base, shift))
        let node = reserveNodeName(layer, index: index)
        var current = input
        if inner != 1 {
            current = emitHelper(name: "\(node)/inner_scale", .rescaling(.init(scale: inner, offset: 0)), input: current, shape: shape)
        }
        if outer != 1 {
            current = emitHelper(name: "\(node)/exp", .activation(.exponential), input: current, shape: shape)
            emit(layer, index: index, name: node, .rescaling(.init(scale: outer, offset: 0)), inputs: [current], outputShapes: [shape])
        } else {
            emit(layer, index: index, name: node, .activation(.exponential), inputs: [current], outputShapes: [shape])
        }
    }

    private func convertPReLU(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        guard shape.count >= 2 else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its input has fewer than 2 axes") }
        let shared = layer.prelu.channelShared
        let channels = shared ? 1 : shape[1]
        let node = reserveNodeName(layer, index: index)
        let stored = try blobs(layer, expected: [[channels]])
        // graft broadcasts alpha against the input without its batch axis, aligned right, so
        // per-channel slopes of an NCHW blob are shaped [C, 1, 1].
        let alphaShape = shared ? [1] : [channels] + Array(repeating: 1, count: shape.count - 2)
        let alpha = addWeight(node: node, role: "alpha", shape: alphaShape, values: stored[0].values)
        emit(layer, index: index, name: node, .preLU, inputs: [input], outputShapes: [shape], weights: ["alpha": alpha])
    }

    private func convertBatchNorm(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
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

    private func convertScale(_ layer: LayerDefinition, index: Int, inputs: [String], shape: [Int]) throws {
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

    // MARK: Several inputs

    private func convertConcat(_ layer: LayerDefinition, index: Int, inputs: [String]) throws {
        let first = valueShape(inputs[0])
        let rawAxis = layer.concat.axis ?? layer.concat.concatDimension ?? 1
        let axis = try normalizedAxis(rawAxis, rank: first.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "concatenates along") }
        var output = first
        output[axis] = 0
        for input in inputs {
            let other = valueShape(input)
            guard other.count == first.count,
                  other.enumerated().allSatisfy({ $0.offset == axis || $0.element == first[$0.offset] }) else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its inputs \(describe(first)) and \(describe(other)) differ outside axis \(axis)")
            }
            output[axis] += other[axis]
        }
        emit(layer, index: index, .concatenate(axis: axis), inputs: inputs, outputShapes: [output])
    }

    private func convertEltwise(_ layer: LayerDefinition, index: Int, inputs: [String]) throws {
        let first = valueShape(inputs[0])
        for input in inputs where valueShape(input) != first {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its inputs have different shapes \(describe(first)) and \(describe(valueShape(input)))")
        }
        let coefficients = layer.eltwise.coefficients
        switch layer.eltwise.operation {
        case .sum:
            guard coefficients.isEmpty || coefficients.count == inputs.count else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has \(coefficients.count) coefficients for \(inputs.count) inputs")
            }
            // All 1 is a plain sum, written without coefficients.
            let weighted = coefficients.contains { $0 != 1 } ? coefficients.map(Double.init) : nil
            emit(layer, index: index, .add(coefficients: weighted), inputs: inputs, outputShapes: [first])
        case .product:
            emit(layer, index: index, .multiply, inputs: inputs, outputShapes: [first])
        case .maximum:
            emit(layer, index: index, .maximum, inputs: inputs, outputShapes: [first])
        }
    }

    private func convertCrop(_ layer: LayerDefinition, index: Int, inputs: [String]) throws {
        guard inputs.count == 2 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has \(inputs.count) bottoms, expected 2 (the blob and the reference)")
        }
        let source = valueShape(inputs[0]), reference = valueShape(inputs[1])
        guard source.count == reference.count else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its inputs \(describe(source)) and \(describe(reference)) differ in rank")
        }
        let axis = try normalizedAxis(layer.crop.axis, rank: source.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "crops") }
        let given = layer.crop.offsets
        let cropped = source.count - axis
        guard given.count <= 1 || given.count == cropped else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has \(given.count) offsets for \(cropped) cropped axes")
        }
        let offsets = given.count == cropped ? given : Array(repeating: given.first ?? 0, count: cropped)
        var output = source
        for (position, axisIndex) in (axis..<source.count).enumerated() {
            guard offsets[position] + reference[axisIndex] <= source[axisIndex] else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "offset \(offsets[position]) plus size \(reference[axisIndex]) exceeds \(source[axisIndex]) on axis \(axisIndex)")
            }
            output[axisIndex] = reference[axisIndex]
        }
        emit(layer, index: index, .crop(.reference(axis: axis, offsets: offsets)), inputs: inputs, outputShapes: [output])
    }

    // MARK: Shape

    private func convertFlatten(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        let axis = try normalizedAxis(layer.flatten.axis, rank: shape.count, layer: layer)
        let end = try normalizedAxis(layer.flatten.endAxis, rank: shape.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "flattens") }
        guard end >= axis else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "end_axis \(end) precedes axis \(axis)") }
        let output = Array(shape[..<axis]) + [shape[axis...end].reduce(1, *)] + Array(shape[(end + 1)...])
        if axis == 1 && end == shape.count - 1 {
            emit(layer, index: index, .flatten, inputs: [input], outputShapes: [output])
        } else {
            emit(layer, index: index, .reshape(shape: Array(output.dropFirst())), inputs: [input], outputShapes: [output])
        }
    }

    private func convertReshape(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        let dims = layer.reshape.shape
        let axis = try normalizedAxis(layer.reshape.axis, rank: shape.count, layer: layer, allowEnd: true)
        let rawCount = layer.reshape.axisCount
        let count = rawCount == -1 ? shape.count - axis : rawCount
        guard count >= 0, axis + count <= shape.count else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "num_axes \(rawCount) from axis \(axis) exceeds the \(shape.count)-D input")
        }
        var middle: [Int] = []
        var inferred: Int? = nil
        for (position, dim) in dims.enumerated() {
            switch dim {
            case 0:
                guard axis + position < shape.count else {
                    throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "dimension \(position) is 0 (copy) but the input has no axis \(axis + position)")
                }
                middle.append(shape[axis + position])
            case -1:
                guard inferred == nil else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "more than one dimension is -1") }
                inferred = position
                middle.append(1)
            case 1...: middle.append(dim)
            default: throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "dimension \(dim) is invalid")
            }
        }
        var output = Array(shape[..<axis]) + middle + Array(shape[(axis + count)...])
        let total = shape.reduce(1, *)
        if let inferred {
            let known = output.reduce(1, *)
            guard known > 0, total % known == 0 else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "\(describe(shape)) cannot be reshaped to \(describe(dims))")
            }
            output[axis + inferred] = total / known
        }
        guard output.reduce(1, *) == total else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "\(describe(shape)) cannot be reshaped to \(describe(dims))")
        }
        // The first output axis must remain the batch: Caffe copies it (dim 0, or an axis past
        // 0) or the prototxt restates the declared batch size.
        let keepsBatch = axis > 0 || (dims.first == 0) || (dims.first == batch && (inferred ?? 1) != 0)
        guard keepsBatch, output.first == shape.first else {
            throw batchAxisRefused(layer, "reshapes")
        }
        emit(layer, index: index, .reshape(shape: Array(output.dropFirst())), inputs: [input], outputShapes: [output])
    }

    private func convertSlice(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        let rawAxis = layer.slice.axis ?? layer.slice.sliceDimension ?? 1
        let axis = try normalizedAxis(rawAxis, rank: shape.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "slices") }
        var points = layer.slice.slicePoints
        let pieces = layer.tops.count
        if points.isEmpty {
            guard shape[axis] % pieces == 0 else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "axis \(axis) of size \(shape[axis]) does not split into \(pieces) equal pieces")
            }
            points = (1..<pieces).map { $0 * shape[axis] / pieces }
        }
        guard points.count == pieces - 1, zip([0] + points, points + [shape[axis]]).allSatisfy({ $0 < $1 }) else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "slice points \(describe(points)) do not split axis \(axis) of size \(shape[axis]) into \(pieces) pieces")
        }
        let bounds = [0] + points + [shape[axis]]
        let outputShapes = (0..<pieces).map { piece -> [Int] in
            var output = shape
            output[axis] = bounds[piece + 1] - bounds[piece]
            return output
        }
        emit(layer, index: index, .slice(axis: axis, slicePoints: points), inputs: [input], outputShapes: outputShapes)
    }

    private func convertPermute(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        var order = layer.permute.order
        guard order.allSatisfy({ $0 < shape.count }), Set(order).count == order.count else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "order \(describe(order)) is not a permutation of \(shape.count) axes")
        }
        // Axes the order leaves out follow in their own order, as the SSD fork does.
        for axis in 0..<shape.count where !order.contains(axis) { order.append(axis) }
        guard order.first == 0 else { throw batchAxisRefused(layer, "moves") }
        emit(layer, index: index, .transpose(permutation: order), inputs: [input], outputShapes: [order.map { shape[$0] }])
    }
}
