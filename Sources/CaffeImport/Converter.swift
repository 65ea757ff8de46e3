internal import CaffeProto
internal import CProtobufC
import GraftModel
import GraftSupport
import Foundation

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
    static let supportedLayerTypes: Set<String> = [
        "Input", "Convolution", "Deconvolution", "InnerProduct", "Pooling", "ReLU", "PReLU", "Sigmoid", "TanH", "ELU",
        "AbsVal", "Power", "Exp", "Log", "BNLL", "BatchNorm", "Scale", "Bias", "LRN", "Dropout", "Softmax", "Concat",
        "Eltwise", "Flatten", "Reshape", "Split", "Slice", "Crop", "Permute",
    ]

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
            throw CaffeImportError.unsupportedLayers(file: file, layers: unsupported.map { .init(name: $0.name, type: $0.type) })
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
            let shapes = messages(layer.input?.pointee.shape, count: layer.input?.pointee.n_shape ?? 0)
                .map { elements($0.pointee.dim, count: $0.pointee.n_dim).map(Int.init) }
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
            if let transform = layer.transform { recordTransform(transform.pointee) }
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

    private func recordTransform(_ transform: Caffe__TransformationParameter) {
        var hints: [String: JSONValue] = ["preset": "caffe"]
        let means = elements(transform.mean_value, count: transform.n_mean_value).map { JSONValue.number(Double($0)) }
        if !means.isEmpty { hints["mean"] = .array(means) }
        if transform.mean_file != nil { hints["mean_file"] = .string(string(transform.mean_file)) }
        if transform.has_scale != 0 { hints["scale"] = .number(Double(transform.scale)) }
        if transform.crop_size > 0 { hints["crop_size"] = .integer(Int(transform.crop_size)) }
        if transform.has_mirror != 0 { hints["mirror"] = .bool(transform.mirror != 0) }
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
    private func emit(_ layer: LayerDefinition, index: Int, name: String? = nil, op: Operator, inputs: [String],
                      outputShapes: [[Int]], attributes: [String: JSONValue] = [:], weights: [String: String] = [:]) {
        let nodeName = name ?? uniqueNodeName(layer.name.isEmpty ? "\(layer.type)_\(index)" : layer.name)
        var outputs: [String] = []
        for (top, shape) in zip(layer.tops, outputShapes) {
            let value = outputName(top: top, layer: nodeName, index: index)
            outputs.append(value)
            shapes[value] = shape
            blobValues[top] = value
            producedOrder.append(value)
        }
        nodes.append(Node(name: nodeName, op: op, inputs: inputs, outputs: outputs,
                          outputShapes: outputShapes.map(graphShape), attributes: attributes, weights: weights))
    }

    /// Adds a helper node (a Flatten before a Dense, a Rescaling around an Exp) and returns its
    /// output value.
    private func emitHelper(name: String, op: Operator, input: String, shape: [Int], attributes: [String: JSONValue] = [:]) -> String {
        let nodeName = uniqueNodeName(name)
        let value = uniqueValueName(nodeName)
        shapes[value] = shape
        nodes.append(Node(name: nodeName, op: op, inputs: [input], outputs: [value], outputShapes: [graphShape(shape)], attributes: attributes))
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
            var attributes: [String: JSONValue] = ["function": "relu"]
            if let slope = layer.relu?.pointee.negative_slope, slope != 0 { attributes["negative_slope"] = .number(Double(slope)) }
            emit(layer, index: index, op: .activation, inputs: [first], outputShapes: [inputShape], attributes: attributes)
        case "Sigmoid", "TanH", "AbsVal", "BNLL":
            let function = ["Sigmoid": "sigmoid", "TanH": "tanh", "AbsVal": "abs", "BNLL": "bnll"][layer.type]!
            emit(layer, index: index, op: .activation, inputs: [first], outputShapes: [inputShape], attributes: ["function": .string(function)])
        case "ELU":
            let alpha = Double(layer.elu?.pointee.alpha ?? 1)
            emit(layer, index: index, op: .activation, inputs: [first], outputShapes: [inputShape], attributes: ["function": "elu", "alpha": .number(alpha)])
        case "Power":
            let parameters = layer.power?.pointee
            emit(layer, index: index, op: .activation, inputs: [first], outputShapes: [inputShape], attributes: [
                "function": "power", "power": .number(Double(parameters?.power ?? 1)),
                "scale": .number(Double(parameters?.scale ?? 1)), "shift": .number(Double(parameters?.shift ?? 0)),
            ])
        case "Exp":
            try convertExp(layer, index: index, input: first, shape: inputShape)
        case "Log":
            let parameters = layer.log?.pointee
            var attributes: [String: JSONValue] = [
                "function": "log", "scale": .number(Double(parameters?.scale ?? 1)), "shift": .number(Double(parameters?.shift ?? 0)),
            ]
            let base = parameters?.base ?? -1
            if base != -1 {
                guard base > 0 else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "log base \(base) is not positive") }
                attributes["base"] = .number(Double(base))
            }
            emit(layer, index: index, op: .activation, inputs: [first], outputShapes: [inputShape], attributes: attributes)
        case "PReLU":
            try convertPReLU(layer, index: index, input: first, shape: inputShape)
        case "BatchNorm":
            try convertBatchNorm(layer, index: index, input: first, shape: inputShape)
        case "Scale", "Bias":
            try convertScale(layer, index: index, inputs: inputNames, shape: inputShape)
        case "LRN":
            try require4D(layer, inputShape)
            let parameters = layer.lrn?.pointee
            let size = Int(parameters?.local_size ?? 5)
            guard size % 2 == 1 else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "local_size \(size) is even (Caffe needs it odd)") }
            let within = parameters?.norm_region == CAFFE__LRNPARAMETER__NORM_REGION__WITHIN_CHANNEL
            // Caffe's WITHIN_CHANNEL LRN adds 1, not k (it builds the layer from a Power layer
            // with shift 1); k is written as 1 so the op computes what Caffe computes.
            emit(layer, index: index, op: .localResponseNormalization, inputs: [first], outputShapes: [inputShape], attributes: [
                "layout": "NCHW", "size": .integer(size), "alpha": .number(Double(parameters?.alpha ?? 1)),
                "beta": .number(Double(parameters?.beta ?? 0.75)), "k": .number(within ? 1 : Double(parameters?.k ?? 1)),
                "region": .string(within ? "within_channel" : "across_channels"),
            ])
        case "Dropout":
            emit(layer, index: index, op: .identity, inputs: [first], outputShapes: [inputShape])
        case "Softmax":
            let axis = try normalizedAxis(Int(layer.softmax?.pointee.axis ?? 1), rank: inputShape.count, layer: layer)
            guard axis > 0 else { throw batchAxisRefused(layer, "takes the softmax over") }
            emit(layer, index: index, op: .softmax, inputs: [first], outputShapes: [inputShape], attributes: ["axis": .integer(axis)])
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
            throw CaffeImportError.unsupportedLayers(file: file, layers: [.init(name: layer.name, type: layer.type)])
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
    private func pair(_ layer: LayerDefinition, what: String, repeated: [UInt32], hasH: Bool, h: UInt32, hasW: Bool, w: UInt32,
                      default value: Int?) throws -> (Int, Int) {
        if hasH || hasW {
            guard hasH && hasW, repeated.isEmpty else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "\(what)_h and \(what)_w must be given together and without \(what)")
            }
            return (Int(h), Int(w))
        }
        switch repeated.count {
        case 0:
            guard let value else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no \(what)") }
            return (value, value)
        case 1: return (Int(repeated[0]), Int(repeated[0]))
        case 2: return (Int(repeated[0]), Int(repeated[1]))
        default:
            throw CaffeImportError.unsupportedParameter(file: file, layer: layer.name, reason: "gives \(repeated.count) \(what) values (a \(repeated.count)-D convolution)")
        }
    }

    private func convertConvolution(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        try require4D(layer, shape)
        guard let parameters = layer.convolution?.pointee else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no convolution_param")
        }
        if parameters.has_axis != 0 && parameters.axis != 1 {
            throw CaffeImportError.unsupportedParameter(file: file, layer: layer.name, reason: "has convolution axis \(parameters.axis)")
        }
        let (kh, kw) = try pair(layer, what: "kernel", repeated: elements(parameters.kernel_size, count: parameters.n_kernel_size),
                                hasH: parameters.has_kernel_h != 0, h: parameters.kernel_h, hasW: parameters.has_kernel_w != 0, w: parameters.kernel_w, default: nil)
        let (ph, pw) = try pair(layer, what: "pad", repeated: elements(parameters.pad, count: parameters.n_pad),
                                hasH: parameters.has_pad_h != 0, h: parameters.pad_h, hasW: parameters.has_pad_w != 0, w: parameters.pad_w, default: 0)
        let (sh, sw) = try pair(layer, what: "stride", repeated: elements(parameters.stride, count: parameters.n_stride),
                                hasH: parameters.has_stride_h != 0, h: parameters.stride_h, hasW: parameters.has_stride_w != 0, w: parameters.stride_w, default: 1)
        let (dh, dw) = try pair(layer, what: "dilation", repeated: elements(parameters.dilation, count: parameters.n_dilation),
                                hasH: false, h: 0, hasW: false, w: 0, default: 1)
        let groups = Int(parameters.group)
        let outputs = Int(parameters.num_output)
        let channels = shape[1]
        guard kh > 0, kw > 0, sh > 0, sw > 0, dh > 0, dw > 0, groups > 0, outputs > 0 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "kernel, stride, dilation, group and num_output must be positive")
        }
        guard channels % groups == 0, outputs % groups == 0 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "group \(groups) does not divide \(channels) input and \(outputs) output channels")
        }
        let transposed = layer.type == "Deconvolution"
        let height: Int, width: Int
        if transposed {
            height = (shape[2] - 1) * sh + dh * (kh - 1) + 1 - 2 * ph
            width = (shape[3] - 1) * sw + dw * (kw - 1) + 1 - 2 * pw
        } else {
            let spanH = shape[2] + 2 * ph - (dh * (kh - 1) + 1)
            let spanW = shape[3] + 2 * pw - (dw * (kw - 1) + 1)
            guard spanH >= 0, spanW >= 0 else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its kernel is larger than its padded input \(describe(shape))")
            }
            height = spanH / sh + 1
            width = spanW / sw + 1
        }
        guard height > 0, width > 0 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its output would be empty")
        }
        let hasBias = parameters.bias_term != 0
        // Caffe stores [Cout, Cin/g, kh, kw] for Convolution and [Cin, Cout/g, kh, kw] for Deconvolution.
        let blobShape = transposed ? [channels, outputs / groups, kh, kw] : [outputs, channels / groups, kh, kw]
        var expected = [blobShape]
        if hasBias { expected.append([outputs]) }
        let node = reserveNodeName(layer, index: index)
        let stored = try blobs(layer, expected: expected)
        let kernel = stored[0].withBytes { WeightLayouts.spatialFirst($0, shape: blobShape) }
        release(stored[0])
        var weightNames = ["kernel": addWeight(node: node, role: "kernel", shape: [kh, kw, blobShape[1], blobShape[0]], values: kernel)]
        if hasBias { weightNames["bias"] = addWeight(node: node, role: "bias", shape: [outputs], values: stored[1].values) }
        emit(layer, index: index, name: node, op: transposed ? .conv2DTranspose : .conv2D, inputs: [input],
             outputShapes: [[shape[0], outputs, height, width]], attributes: [
                "layout": "NCHW", "kernel_size": [.integer(kh), .integer(kw)], "strides": [.integer(sh), .integer(sw)],
                "dilations": [.integer(dh), .integer(dw)], "padding": [.integer(ph), .integer(ph), .integer(pw), .integer(pw)],
                "groups": .integer(groups),
             ], weights: weightNames)
    }

    // MARK: InnerProduct

    private func convertInnerProduct(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        guard let parameters = layer.innerProduct?.pointee else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no inner_product_param")
        }
        let axis = try normalizedAxis(Int(parameters.axis), rank: shape.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "flattens") }
        let outputs = Int(parameters.num_output)
        guard outputs > 0 else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "num_output must be positive") }
        let inputs = shape[axis...].reduce(1, *)
        let hasBias = parameters.bias_term != 0
        let transposed = parameters.transpose != 0
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
            denseInput = emitHelper(name: "\(node)/flatten", op: .flatten, input: input, shape: [shape[0], inputs])
        } else if axis < shape.count - 1 {
            let target = Array(shape[1..<axis]) + [inputs]
            denseInput = emitHelper(name: "\(node)/reshape", op: .reshape, input: input, shape: [shape[0]] + target,
                                    attributes: ["shape": .array(target.map { .integer($0) })])
        }
        emit(layer, index: index, name: node, op: .dense, inputs: [denseInput], outputShapes: [Array(shape[..<axis]) + [outputs]],
             weights: weightNames)
    }

    // MARK: Pooling

    private func convertPooling(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        try require4D(layer, shape)
        let parameters = layer.pooling?.pointee
        let method = parameters?.pool ?? CAFFE__POOLING_PARAMETER__POOL_METHOD__MAX
        guard method == CAFFE__POOLING_PARAMETER__POOL_METHOD__MAX || method == CAFFE__POOLING_PARAMETER__POOL_METHOD__AVE else {
            throw CaffeImportError.unsupportedParameter(file: file, layer: layer.name, reason: "uses STOCHASTIC pooling")
        }
        let isMax = method == CAFFE__POOLING_PARAMETER__POOL_METHOD__MAX
        if let parameters, parameters.global_pooling != 0 {
            emit(layer, index: index, op: isMax ? .globalMaxPooling : .globalAveragePooling, inputs: [input],
                 outputShapes: [[shape[0], shape[1], 1, 1]], attributes: ["layout": "NCHW", "keepdims": true])
            return
        }
        guard let parameters else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no pooling_param (kernel size needed)")
        }
        func single(_ has: protobuf_c_boolean, _ value: UInt32, _ hasH: protobuf_c_boolean, _ h: UInt32,
                    _ hasW: protobuf_c_boolean, _ w: UInt32, what: String, default fallback: Int?) throws -> (Int, Int) {
            if hasH != 0 || hasW != 0 {
                guard hasH != 0 && hasW != 0, has == 0 else {
                    throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "\(what)_h and \(what)_w must be given together and without \(what)")
                }
                return (Int(h), Int(w))
            }
            if has != 0 { return (Int(value), Int(value)) }
            guard let fallback else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no kernel_size") }
            return (fallback, fallback)
        }
        let (kh, kw) = try single(parameters.has_kernel_size, parameters.kernel_size, parameters.has_kernel_h, parameters.kernel_h,
                                  parameters.has_kernel_w, parameters.kernel_w, what: "kernel", default: nil)
        let (ph, pw) = try single(parameters.has_pad, parameters.pad, parameters.has_pad_h, parameters.pad_h,
                                  parameters.has_pad_w, parameters.pad_w, what: "pad", default: 0)
        let (sh, sw) = try single(parameters.has_stride, parameters.stride, parameters.has_stride_h, parameters.stride_h,
                                  parameters.has_stride_w, parameters.stride_w, what: "stride", default: 1)
        guard kh > 0, kw > 0, sh > 0, sw > 0 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "kernel and stride must be positive")
        }
        guard ph < kh, pw < kw else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "padding must be smaller than the kernel")
        }
        let ceil = parameters.round_mode != CAFFE__POOLING_PARAMETER__ROUND_MODE__FLOOR
        func outputSize(_ size: Int, _ kernel: Int, _ pad: Int, _ stride: Int) -> Int {
            let span = size + 2 * pad - kernel
            var output = (ceil ? (span + stride - 1).floorDivided(by: stride) : span.floorDivided(by: stride)) + 1
            // Caffe drops a last window that would start inside the bottom/right padding.
            if (ph > 0 || pw > 0) && (output - 1) * stride >= size + pad { output -= 1 }
            return output
        }
        let height = outputSize(shape[2], kh, ph, sh)
        let width = outputSize(shape[3], kw, pw, sw)
        guard height > 0, width > 0 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its output would be empty for input \(describe(shape))")
        }
        var attributes: [String: JSONValue] = [
            "layout": "NCHW", "pool_size": [.integer(kh), .integer(kw)], "strides": [.integer(sh), .integer(sw)],
            "padding": [.integer(ph), .integer(ph), .integer(pw), .integer(pw)], "rounding": .string(ceil ? "ceil" : "floor"),
        ]
        if !isMax { attributes["divisor"] = "padded" }
        emit(layer, index: index, op: isMax ? .maxPooling2D : .averagePooling2D, inputs: [input],
             outputShapes: [[shape[0], shape[1], height, width]], attributes: attributes)
    }

    // MARK: Element-wise with parameters

    private func convertExp(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        let parameters = layer.exp?.pointee
        let base = Double(parameters?.base ?? -1), scale = Double(parameters?.scale ?? 1), shift = Double(parameters?.shift ?? 0)
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
            current = emitHelper(name: "\(node)/inner_scale", op: .rescaling, input: current, shape: shape,
                                 attributes: ["scale": .number(inner), "offset": 0.0])
        }
        if outer != 1 {
            current = emitHelper(name: "\(node)/exp", op: .activation, input: current, shape: shape, attributes: ["function": "exponential"])
            emit(layer, index: index, name: node, op: .rescaling, inputs: [current], outputShapes: [shape],
                 attributes: ["scale": .number(outer), "offset": 0.0])
        } else {
            emit(layer, index: index, name: node, op: .activation, inputs: [current], outputShapes: [shape], attributes: ["function": "exponential"])
        }
    }

    private func convertPReLU(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        guard shape.count >= 2 else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its input has fewer than 2 axes") }
        let shared = layer.prelu?.pointee.channel_shared ?? 0 != 0
        let channels = shared ? 1 : shape[1]
        let node = reserveNodeName(layer, index: index)
        let stored = try blobs(layer, expected: [[channels]])
        // graft broadcasts alpha against the input without its batch axis, aligned right, so
        // per-channel slopes of an NCHW blob are shaped [C, 1, 1].
        let alphaShape = shared ? [1] : [channels] + Array(repeating: 1, count: shape.count - 2)
        let alpha = addWeight(node: node, role: "alpha", shape: alphaShape, values: stored[0].values)
        emit(layer, index: index, name: node, op: .preLU, inputs: [input], outputShapes: [shape], weights: ["alpha": alpha])
    }

    private func convertBatchNorm(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        guard shape.count >= 2 else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its input has fewer than 2 axes") }
        let parameters = layer.batchNorm?.pointee
        if let parameters, parameters.has_use_global_stats != 0, parameters.use_global_stats == 0 {
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
        emit(layer, index: index, name: node, op: .batchNormalization, inputs: [input], outputShapes: [shape],
             attributes: ["axis": 1, "epsilon": .number(Double(parameters?.eps ?? 1e-5))], weights: weightNames)
    }

    private func convertScale(_ layer: LayerDefinition, index: Int, inputs: [String], shape: [Int]) throws {
        let isBias = layer.type == "Bias"
        let rawAxis = Int(isBias ? (layer.bias?.pointee.axis ?? 1) : (layer.scale?.pointee.axis ?? 1))
        let rawCount = Int(isBias ? (layer.bias?.pointee.num_axes ?? 1) : (layer.scale?.pointee.num_axes ?? 1))
        let hasBias = !isBias && (layer.scale?.pointee.bias_term ?? 0) != 0
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
                factor = emitHelper(name: "\(layer.name)/reshape", op: .reshape, input: factor, shape: [shape[0]] + target,
                                    attributes: ["shape": .array(target.map { .integer($0) })])
            }
            emit(layer, index: index, op: isBias ? .add : .multiply, inputs: [inputs[0], factor], outputShapes: [shape])
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
        emit(layer, index: index, name: node, op: .scale, inputs: [inputs[0]], outputShapes: [shape],
             attributes: ["axis": .integer(axis), "num_axes": .integer(count)], weights: weightNames)
    }

    // MARK: Several inputs

    private func convertConcat(_ layer: LayerDefinition, index: Int, inputs: [String]) throws {
        let parameters = layer.concat?.pointee
        let first = valueShape(inputs[0])
        let rawAxis: Int
        if let parameters, parameters.has_axis != 0 { rawAxis = Int(parameters.axis) }
        else if let parameters, parameters.has_concat_dim != 0 { rawAxis = Int(parameters.concat_dim) }
        else { rawAxis = 1 }
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
        emit(layer, index: index, op: .concatenate, inputs: inputs, outputShapes: [output], attributes: ["axis": .integer(axis)])
    }

    private func convertEltwise(_ layer: LayerDefinition, index: Int, inputs: [String]) throws {
        let first = valueShape(inputs[0])
        for input in inputs where valueShape(input) != first {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its inputs have different shapes \(describe(first)) and \(describe(valueShape(input)))")
        }
        let parameters = layer.eltwise?.pointee
        let operation = parameters?.operation ?? CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__SUM
        let coefficients = parameters.map { elements($0.coeff, count: $0.n_coeff) } ?? []
        switch operation {
        case CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__SUM:
            var attributes: [String: JSONValue] = [:]
            if !coefficients.isEmpty {
                guard coefficients.count == inputs.count else {
                    throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has \(coefficients.count) coefficients for \(inputs.count) inputs")
                }
                if coefficients.contains(where: { $0 != 1 }) { attributes["coefficients"] = .array(coefficients.map { .number(Double($0)) }) }
            }
            emit(layer, index: index, op: .add, inputs: inputs, outputShapes: [first], attributes: attributes)
        case CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__PROD:
            emit(layer, index: index, op: .multiply, inputs: inputs, outputShapes: [first])
        default:
            emit(layer, index: index, op: .maximum, inputs: inputs, outputShapes: [first])
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
        let axis = try normalizedAxis(Int(layer.crop?.pointee.axis ?? 2), rank: source.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "crops") }
        let given = layer.crop.map { elements($0.pointee.offset, count: $0.pointee.n_offset).map(Int.init) } ?? []
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
        emit(layer, index: index, op: .crop, inputs: inputs, outputShapes: [output],
             attributes: ["axis": .integer(axis), "offsets": .array(offsets.map { .integer($0) })])
    }

    // MARK: Shape

    private func convertFlatten(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        let axis = try normalizedAxis(Int(layer.flatten?.pointee.axis ?? 1), rank: shape.count, layer: layer)
        let end = try normalizedAxis(Int(layer.flatten?.pointee.end_axis ?? -1), rank: shape.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "flattens") }
        guard end >= axis else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "end_axis \(end) precedes axis \(axis)") }
        let output = Array(shape[..<axis]) + [shape[axis...end].reduce(1, *)] + Array(shape[(end + 1)...])
        if axis == 1 && end == shape.count - 1 {
            emit(layer, index: index, op: .flatten, inputs: [input], outputShapes: [output])
        } else {
            emit(layer, index: index, op: .reshape, inputs: [input], outputShapes: [output],
                 attributes: ["shape": .array(output.dropFirst().map { .integer($0) })])
        }
    }

    private func convertReshape(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        let parameters = layer.reshape?.pointee
        let dims = parameters?.shape.map { elements($0.pointee.dim, count: $0.pointee.n_dim).map(Int.init) } ?? []
        let axis = try normalizedAxis(Int(parameters?.axis ?? 0), rank: shape.count, layer: layer, allowEnd: true)
        let rawCount = Int(parameters?.num_axes ?? -1)
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
        emit(layer, index: index, op: .reshape, inputs: [input], outputShapes: [output],
             attributes: ["shape": .array(output.dropFirst().map { .integer($0) })])
    }

    private func convertSlice(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        let parameters = layer.slice?.pointee
        let rawAxis: Int
        if let parameters, parameters.has_axis != 0 { rawAxis = Int(parameters.axis) }
        else if let parameters, parameters.has_slice_dim != 0 { rawAxis = Int(parameters.slice_dim) }
        else { rawAxis = 1 }
        let axis = try normalizedAxis(rawAxis, rank: shape.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "slices") }
        var points = parameters.map { elements($0.slice_point, count: $0.n_slice_point).map(Int.init) } ?? []
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
        emit(layer, index: index, op: .slice, inputs: [input], outputShapes: outputShapes,
             attributes: ["axis": .integer(axis), "slice_points": .array(points.map { .integer($0) })])
    }

    private func convertPermute(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        var order = layer.permute.map { elements($0.pointee.order, count: $0.pointee.n_order).map(Int.init) } ?? []
        guard order.allSatisfy({ $0 < shape.count }), Set(order).count == order.count else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "order \(describe(order)) is not a permutation of \(shape.count) axes")
        }
        // Axes the order leaves out follow in their own order, as the SSD fork does.
        for axis in 0..<shape.count where !order.contains(axis) { order.append(axis) }
        guard order.first == 0 else { throw batchAxisRefused(layer, "moves") }
        emit(layer, index: index, op: .transpose, inputs: [input], outputShapes: [order.map { shape[$0] }],
             attributes: ["permutation": .array(order.map { .integer($0) })])
    }
}

extension Int {
    /// Division rounding toward negative infinity.
    func floorDivided(by divisor: Int) -> Int {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
