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
    private var valueNames = UniqueNames()
    private var nodeNames = UniqueNames()
    private var usedModelLayers: Set<String> = []
    /// For each blob, the index (in `layers`) of the last layer writing it.
    private var lastWriter: [String: Int] = [:]
    /// Values produced, in order, and whether a later layer read them.
    private var producedOrder: [String] = []
    private var consumed: Set<String> = []
    private(set) var batch = 1

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
            guard valueNames.insert(name) else {
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
        nodeNames.claim(base.isEmpty ? "layer" : base)
    }

    private func uniqueValueName(_ base: String) -> String {
        valueNames.claim(base)
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
    func emit(_ layer: LayerDefinition, index: Int, name: String? = nil, _ operation: GraftModel.Operation, inputs: [String],
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
    func emitHelper(name: String, _ operation: GraftModel.Operation, input: String, shape: [Int]) -> String {
        let nodeName = uniqueNodeName(name)
        let value = uniqueValueName(nodeName)
        shapes[value] = shape
        nodes.append(Node(name: nodeName, operation: operation, inputs: [input], outputs: [value], outputShapes: [graphShape(shape)]))
        return value
    }

    private func graphShape(_ shape: [Int]) -> [Int?] {
        shape.isEmpty ? [] : [nil] + shape.dropFirst().map { Optional($0) }
    }

    func addWeight(node: String, role: String, shape: [Int], values: [Float]) -> String {
        let name = "\(node)/\(role)"
        weights.append(WeightTensor(name: name, shape: shape, values: values))
        return name
    }

    /// The node name a layer will get (reserved now so weights can be named after it).
    func reserveNodeName(_ layer: LayerDefinition, index: Int) -> String {
        uniqueNodeName(layer.name.isEmpty ? "\(layer.type)_\(index)" : layer.name)
    }

    // MARK: Weights

    /// The layer's blobs from the caffemodel, checked against the shapes the prototxt implies.
    /// `optional` trailing blobs may be absent only if `expected` lists them after `required`.
    func blobs(_ layer: LayerDefinition, expected: [[Int]]) throws -> [CaffeModelFile.Blob] {
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

    func release(_ blob: CaffeModelFile.Blob) {
        if let mapped = blob.mapped { model?.release(mapped) }
    }

    // MARK: Layers

    func valueShape(_ value: String) -> [Int] { shapes[value] ?? [] }

    func require4D(_ layer: LayerDefinition, _ shape: [Int]) throws {
        guard shape.count == 4 else {
            throw CaffeImportError.unsupportedParameter(file: file, layer: layer.name, reason: "has a \(shape.count)-D input \(describe(shape)) (graft converts 2-D \(layer.type) on NCHW blobs)")
        }
    }

    func normalizedAxis(_ axis: Int, rank: Int, layer: LayerDefinition, allowEnd: Bool = false) throws -> Int {
        let normalized = axis < 0 ? axis + rank + (allowEnd ? 1 : 0) : axis
        guard normalized >= 0, normalized < rank + (allowEnd ? 1 : 0) else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "axis \(axis) is out of range for a \(rank)-D blob")
        }
        return normalized
    }

    func batchAxisRefused(_ layer: LayerDefinition, _ what: String) -> CaffeImportError {
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
}
