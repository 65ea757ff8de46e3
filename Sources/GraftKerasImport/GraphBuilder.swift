import GraftModel
/// A value of the graph being built: its name, its shape (batch axis `nil`) and the layout its
/// axes follow (the Keras tensor's own order).
struct Value {
    var name: String
    var shape: [Int?]
    var layout: Layout

    var rank: Int { shape.count }
}

/// One call of one layer, as the converters see it.
struct LayerCall {
    var layer: LayerSpecification
    /// The graph node name of this call: `outer/inner`, with `:k` appended for call k ≥ 1 of a
    /// shared layer.
    var nodeName: String
    /// The layer's names from the top model down, which identifies its weights.
    var layerPath: [String]
    var classPath: [String]
    var arguments: [CallArgument]
    /// The values of the positional tensor arguments, in order.
    var inputs: [Value]
    /// The keyword arguments of a `TFOpLambda` or `SlicingOpLambda` call (empty for others).
    var keywords: [String: JSONValue] = [:]
    /// The values of the keyword arguments that are tensors, by key.
    var keywordInputs: [String: Value] = [:]

    var config: [String: JSONValue] { layer.config }
    var className: String { layer.className }
}

/// An expected weight: its role and its shape in the source file (`nil` entries are not checked).
struct WeightRequest {
    var role: String
    var shape: [Int?]
    var isRequired: Bool = true
}

/// Builds a flat graft graph from a Keras model configuration and its weights.
///
/// Nested models are inlined: their layers become nodes named `outer/inner`. Every call of a
/// shared layer becomes its own node (`name`, `name:1`, …) reading the same weight tensors.
final class GraphBuilder {
    let path: String
    let source: any WeightSource
    /// 1, 2 or 3: decides the Keras 1 weight layouts and `hard_sigmoid`'s slope.
    let kerasMajorVersion: Int
    /// Theano's convolutions are true convolutions: their kernels are flipped in both spatial
    /// axes to become the cross-correlation kernels graft (and TensorFlow) use.
    let flipsConvolutionKernels: Bool
    /// Keras 1's `dim_ordering: "default"` resolves to `th` under Theano.
    let defaultDimensionOrdering: String
    /// The layout of 4-D values whose layer does not say (graph inputs, reshapes).
    var imageLayout: Layout = .nhwc
    var sequenceLayout: Layout = .plain

    private(set) var nodes: [Node] = []
    private(set) var tensors: [WeightTensor] = []
    private(set) var graphInputs: [ValueInfo] = []
    private var usedNames: Set<String> = []
    private var registeredTensors: [String: String] = [:]

    init(path: String, source: any WeightSource, kerasMajorVersion: Int, flipsConvolutionKernels: Bool,
         defaultDimensionOrdering: String) {
        self.path = path
        self.source = source
        self.kerasMajorVersion = kerasMajorVersion
        self.flipsConvolutionKernels = flipsConvolutionKernels
        self.defaultDimensionOrdering = defaultDimensionOrdering
    }

    // MARK: Models

    /// Converts the top model; returns the names of its output values.
    func convertTopModel(_ model: ModelSpecification) throws -> [String] {
        chooseDefaultLayouts(model)
        let outputs = try convert(model: model, prefix: "", layerPath: [], classPath: [], inputs: nil)
        return outputs.map(\.name)
    }

    /// Converts `model` with its input tensors bound to `inputs` (nil at the top: graph inputs).
    func convert(model: ModelSpecification, prefix: String, layerPath: [String], classPath: [String],
                 inputs: [Value]?) throws -> [Value] {
        var available: [TensorReference: Value] = [:]
        let layersByName = Dictionary(model.layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (index, reference) in model.inputs.enumerated() {
            if let inputs {
                guard index < inputs.count else {
                    throw KerasImportError.badModelConfiguration(
                        path: path, model: model.name,
                        reason: "is called with \(inputs.count) input\(inputs.count == 1 ? "" : "s") but has \(model.inputs.count)")
                }
                available[reference] = inputs[index]
            } else {
                let shape: [Int?]
                if let implicit = model.implicitInputShapes[reference.layer] {
                    shape = implicit
                } else if let layer = layersByName[reference.layer],
                          let declared = ModelConfigurationParser.declaredInputShape(layer.config) {
                    shape = declared
                } else if let layer = layersByName[reference.layer] {
                    throw KerasImportError.badLayerConfiguration(
                        path: path, layer: prefix + layer.name, className: layer.className,
                        reason: "is an input of model '\(model.name)' without a declared shape (expected 'batch_shape', 'batch_input_shape' or 'input_shape')")
                } else {
                    throw KerasImportError.badModelConfiguration(path: path, model: model.name,
                                                                 reason: "declares no shape for its input '\(reference.layer)'")
                }
                let name = try claim(prefix + reference.layer)
                let layout = defaultLayout(rank: shape.count)
                graphInputs.append(ValueInfo(name: name, shape: shape, layout: layout))
                available[reference] = Value(name: name, shape: shape, layout: layout)
            }
        }
        // Calls are converted in layer order, each as soon as everything it reads exists (a
        // shared layer's later call may read layers listed after it).
        var pending: [(layer: LayerSpecification, call: Int)] = []
        for layer in model.layers where layer.className != "InputLayer" {
            for call in layer.calls.indices { pending.append((layer, call)) }
        }
        while !pending.isEmpty {
            var remaining: [(layer: LayerSpecification, call: Int)] = []
            var progressed = false
            for item in pending {
                let references = item.layer.tensorInputs(ofCall: item.call)
                guard references.allSatisfy({ available[$0] != nil }) else {
                    remaining.append(item)
                    continue
                }
                let keywordReferences = item.layer.keywordTensorInputs(ofCall: item.call)
                let inputs = references.dropLast(keywordReferences.count).map { available[$0]! }
                let nodeName = prefix + item.layer.name + (item.call == 0 ? "" : ":\(item.call)")
                var call = LayerCall(layer: item.layer, nodeName: nodeName, layerPath: layerPath + [item.layer.name],
                                     classPath: classPath + [item.layer.className],
                                     arguments: item.layer.calls[item.call], inputs: inputs)
                call.keywords = item.layer.keywordArguments[item.call] ?? [:]
                for (key, reference) in keywordReferences { call.keywordInputs[key] = available[reference]! }
                let outputs: [Value]
                if let nested = item.layer.nestedModel {
                    outputs = try convert(model: nested, prefix: nodeName + "/", layerPath: call.layerPath,
                                          classPath: call.classPath, inputs: inputs)
                } else {
                    outputs = [try convertLayer(call)]
                }
                for (index, output) in outputs.enumerated() {
                    available[TensorReference(layer: item.layer.name, nodeIndex: item.call, tensorIndex: index)] = output
                }
                progressed = true
            }
            if !progressed {
                let stuck = remaining[0]
                let missing = stuck.layer.tensorInputs(ofCall: stuck.call).first { available[$0] == nil }!
                throw KerasImportError.unresolvedInput(path: path, layer: prefix + stuck.layer.name, reference: missing.description)
            }
            pending = remaining
        }
        return try model.outputs.map { reference in
            guard let value = available[reference] else {
                throw KerasImportError.unresolvedInput(path: path, layer: "\(prefix)\(model.name) (model output)", reference: reference.description)
            }
            return value
        }
    }

    /// Picks the layout of graph inputs and of reshaped 4-D values from the model's first layer
    /// that states a data format.
    private func chooseDefaultLayouts(_ model: ModelSpecification) {
        var found: String?
        var usesSequences = false
        func visit(_ model: ModelSpecification) {
            for layer in model.layers {
                if let nested = layer.nestedModel { visit(nested); continue }
                if layer.className.hasSuffix("1D") || layer.className.hasPrefix("Convolution1D") { usesSequences = true }
                if found == nil, let format = dataFormat(of: layer.config), layer.className.contains("2D") || layer.className.contains("Convolution") || layer.className.contains("Pool") {
                    found = format
                }
            }
        }
        visit(model)
        imageLayout = found == "channels_first" ? .nchw : .nhwc
        sequenceLayout = usesSequences ? (found == "channels_first" ? .ncw : .nwc) : .plain
    }

    /// `channels_first` or `channels_last` from Keras 2/3 `data_format` or Keras 1 `dim_ordering`.
    func dataFormat(of config: [String: JSONValue]) -> String? {
        if let format = config["data_format"]?.stringValue { return format }
        if var ordering = config["dim_ordering"]?.stringValue {
            if ordering == "default" { ordering = defaultDimensionOrdering }
            return ordering == "th" ? "channels_first" : "channels_last"
        }
        return nil
    }

    func defaultLayout(rank: Int) -> Layout {
        switch rank {
        case 4: imageLayout
        case 3: sequenceLayout
        default: .plain
        }
    }

    // MARK: Emitting nodes and weights

    /// Reserves a node or value name; two layers may not produce the same name.
    func claim(_ name: String) throws -> String {
        guard usedNames.insert(name).inserted else { throw KerasImportError.duplicateName(path: path, name: name) }
        return name
    }

    /// Appends a node with one output named like the node.
    @discardableResult
    func emit(_ name: String, _ operation: Operation, _ inputs: [Value], shape: [Int?], layout: Layout,
              weights: [String: String] = [:]) throws -> Value {
        let name = try claim(name)
        nodes.append(Node(name: name, operation: operation, inputs: inputs.map(\.name), outputs: [name], outputShapes: [shape],
                          weights: weights))
        return Value(name: name, shape: shape, layout: layout)
    }

    /// Appends a node with several outputs (a Slice), the output at `kept` named like the node
    /// and the others `<node>/piece<k>`; returns the kept output.
    func emit(_ name: String, _ operation: Operation, _ inputs: [Value], pieceShapes: [[Int?]], kept: Int,
              layout: Layout) throws -> Value {
        let name = try claim(name)
        var outputs: [String] = []
        for index in pieceShapes.indices {
            outputs.append(index == kept ? name : try claim(name + "/piece\(index)"))
        }
        nodes.append(Node(name: name, operation: operation, inputs: inputs.map(\.name), outputs: outputs, outputShapes: pieceShapes))
        return Value(name: name, shape: pieceShapes[kept], layout: layout)
    }

    /// Reads the weights `requests` names for `call`'s layer and checks their shapes; throws
    /// `missingWeight` or `weightShapeMismatch` naming the layer.
    func fetch(_ call: LayerCall, _ requests: [WeightRequest]) throws -> [String: StoredWeight] {
        let found = try source.weights(layerPath: call.layerPath, classPath: call.classPath, roles: requests.map(\.role))
        let layerName = call.layerPath.joined(separator: "/")
        for request in requests {
            guard let weight = found[request.role] else {
                if request.isRequired {
                    throw KerasImportError.missingWeight(path: path, layer: layerName, weight: request.role,
                                                         expectedShape: request.shape.map { $0 ?? -1 })
                }
                continue
            }
            let matches = weight.shape.count == request.shape.count
                && zip(weight.shape, request.shape).allSatisfy { actual, expected in expected == nil || expected == actual }
            guard matches else {
                throw KerasImportError.weightShapeMismatch(path: path, layer: layerName, weight: request.role,
                                                           expectedShape: request.shape.map { $0 ?? -1 }, actualShape: weight.shape)
            }
        }
        return found
    }

    /// Whether the layer's weights were already added (by an earlier call of a shared layer);
    /// then returns their tensor names by role.
    func registeredWeights(of call: LayerCall, roles: [String]) -> [String: String]? {
        let key = call.layerPath.joined(separator: "/")
        var result: [String: String] = [:]
        for role in roles {
            if let name = registeredTensors[key + "/" + role] { result[role] = name }
        }
        return result.isEmpty ? nil : result
    }

    /// The weight tensors of a layer call, role → tensor name: those an earlier call of the same
    /// (shared) layer added, or else the arrays `load` returns (in the spec's layout), each added
    /// as `<layer path>/<role>` in the order given, so that files are written the same every time.
    func layerWeights(of call: LayerCall, roles: [String],
                      load: () throws -> [(role: String, shape: [Int], values: [Float])]) throws -> [String: String] {
        if let existing = registeredWeights(of: call, roles: roles) { return existing }
        var names: [String: String] = [:]
        for weight in try load() { names[weight.role] = addTensor(of: call, role: weight.role, shape: weight.shape, values: weight.values) }
        return names
    }

    /// The bias among fetched weights, when the layer has one, for `layerWeights`.
    func biasWeight(_ stored: [String: StoredWeight]) -> [(role: String, shape: [Int], values: [Float])] {
        stored["bias"].map { [("bias", $0.shape, $0.values)] } ?? []
    }

    /// Adds a weight tensor named `<layer path>/<role>` and returns its name.
    func addTensor(of call: LayerCall, role: String, shape: [Int], values: [Float]) -> String {
        let key = call.layerPath.joined(separator: "/") + "/" + role
        if let existing = registeredTensors[key] { return existing }
        tensors.append(WeightTensor(name: key, shape: shape, values: values))
        registeredTensors[key] = key
        return key
    }
}
