import GraftModel
import GraftSupport
/// A reference to one output of one call of a layer: Keras's `(layer, node index, tensor index)`.
///
/// Node indices are the ones the saved configuration uses: Keras renumbers each layer's calls to
/// count only those inside the model being saved, so index `k` is entry `k` of the layer's
/// `inbound_nodes` (and 0 for an input layer, which has none). tf.keras counts a nested model's
/// calls from 1; `ModelConfigurationParser.renumberNestedModelCalls` moves them to this rule.
struct TensorReference: Hashable, CustomStringConvertible {
    var layer: String
    var nodeIndex: Int
    var tensorIndex: Int

    var description: String { "output \(tensorIndex) of call \(nodeIndex) of layer '\(layer)'" }
}

/// One argument of a layer call: a tensor or a constant (Keras 3 operation layers such as
/// `x + 3.0` keep their constants in the call).
enum CallArgument: Hashable {
    case tensor(TensorReference)
    case constant(Double)
    /// A constant array as the first argument of a `TFOpLambda` call (`[1.0, 2.0] - x`), as written.
    case constantArray(JSONValue)
}

/// One layer of a model configuration, with the Keras 1, 2 and 3 spellings made uniform.
struct LayerSpecification {
    var className: String
    /// The Python module Keras 3 records (`keras.layers`, `keras.src.ops.numpy`, …), if any.
    var module: String?
    var name: String
    var config: [String: JSONValue]
    /// One entry per call of the layer inside its model: its positional arguments.
    var calls: [[CallArgument]]
    /// The keyword arguments of a call, by call index, for the layers that keep them
    /// (`TFOpLambda`, `SlicingOpLambda`: `{"y": 3.0}`, `{"y": ["other", 0, 0]}`, `{"axis": -1}`).
    var keywordArguments: [Int: [String: JSONValue]] = [:]
    /// Set when the layer is itself a model (Functional, Model, Sequential).
    var nestedModel: ModelSpecification?

    /// The tensors a call reads: its positional tensors, then those among its keyword arguments
    /// (by key), constants left out.
    func tensorInputs(ofCall index: Int) -> [TensorReference] {
        calls[index].compactMap { if case let .tensor(reference) = $0 { reference } else { nil } }
            + keywordTensorInputs(ofCall: index).map(\.reference)
    }

    /// The keyword arguments of a call that are tensor references, sorted by key.
    func keywordTensorInputs(ofCall index: Int) -> [(key: String, reference: TensorReference)] {
        guard let keywords = keywordArguments[index] else { return [] }
        return keywords.keys.sorted().compactMap { key in
            keywords[key].flatMap(ModelConfigurationParser.tensorReference).map { (key, $0) }
        }
    }
}

/// A model configuration in functional form: layers, the tensors that are its inputs and its
/// outputs. Sequential models are rewritten into this form (each layer reads the previous one).
struct ModelSpecification {
    var className: String
    var name: String
    var layers: [LayerSpecification]
    var inputs: [TensorReference]
    var outputs: [TensorReference]
    /// Shapes of inputs that are not InputLayers of `layers` (a Sequential model without an
    /// InputLayer declares its input shape on its first layer), keyed by input layer name.
    var implicitInputShapes: [String: [Int?]]
}

/// Parses `model_config` / `config.json` / `to_json()` text.
enum ModelConfigurationParser {
    static let modelClasses: Set<String> = ["Functional", "Model", "Sequential"]

    /// Parses the JSON of a whole configuration: `{"class_name": …, "config": …}`, possibly
    /// with `keras_version` and `backend` members (the `to_json()` form).
    static func parse(text: String, path: String) throws -> (model: ModelSpecification, root: [String: JSONValue]) {
        let root: JSONValue
        do {
            root = try JSONDecoderBox.decode(text)
        } catch {
            throw KerasImportError.badConfiguration(path: path, reason: "the configuration is not valid JSON")
        }
        guard let object = root.objectValue else {
            throw KerasImportError.badConfiguration(path: path, reason: "the configuration is not a JSON object")
        }
        guard let className = object["class_name"]?.stringValue, let config = object["config"] else {
            throw KerasImportError.badConfiguration(path: path, reason: "the configuration has no class_name and config")
        }
        guard modelClasses.contains(className) else {
            throw KerasImportError.badConfiguration(path: path, reason: "the top-level class is '\(className)', not a Functional or Sequential model")
        }
        return (try parseModel(className: className, config: config, path: path), object)
    }

    static func parseModel(className: String, config: JSONValue, path: String) throws -> ModelSpecification {
        if className == "Sequential" {
            return try parseSequential(config: config, path: path)
        }
        guard let members = config.objectValue, let layerList = members["layers"]?.arrayValue else {
            throw KerasImportError.badModelConfiguration(path: path, model: config["name"]?.stringValue ?? className,
                                                         reason: "has no layer list (expected 'layers' in its config)")
        }
        let name = members["name"]?.stringValue ?? "model"
        var layers: [LayerSpecification] = []
        for entry in layerList {
            var layer = try parseLayer(entry, path: path)
            var keywords: [Int: [String: JSONValue]] = [:]
            layer.calls = try parseCalls(entry["inbound_nodes"], of: layer, path: path, keywords: &keywords)
            layer.keywordArguments = keywords
            layers.append(layer)
        }
        let inputs = try parseEndpoints(members["input_layers"], what: "input_layers", model: name, path: path)
        let outputs = try parseEndpoints(members["output_layers"], what: "output_layers", model: name, path: path)
        var model = ModelSpecification(className: className, name: name, layers: layers, inputs: inputs, outputs: outputs,
                                       implicitInputShapes: [:])
        renumberNestedModelCalls(&model)
        return model
    }

    /// tf.keras (Keras 2 inside TensorFlow, and tf_keras) keeps, for a nested model built on an
    /// Input, the node that links its own input to its output as node 0, leaves it out of
    /// `inbound_nodes`, and numbers the model's calls from 1 in the references that read them;
    /// Keras 1 and 3 number them from 0. The numbering shows in the references themselves: when
    /// one reads call `n` of a nested model that lists only `n` calls, every reference to that
    /// model counts from 1 and is moved down by one.
    static func renumberNestedModelCalls(_ model: inout ModelSpecification) {
        var shifted: Set<String> = []
        for layer in model.layers where layer.nestedModel != nil && !layer.calls.isEmpty {
            let name = layer.name
            var highest = -1
            for other in model.layers {
                for index in other.calls.indices {
                    for reference in other.tensorInputs(ofCall: index) where reference.layer == name {
                        highest = max(highest, reference.nodeIndex)
                    }
                }
            }
            for reference in model.outputs where reference.layer == name { highest = max(highest, reference.nodeIndex) }
            if highest == layer.calls.count { shifted.insert(name) }
        }
        guard !shifted.isEmpty else { return }
        func moved(_ reference: TensorReference) -> TensorReference {
            guard shifted.contains(reference.layer) else { return reference }
            return TensorReference(layer: reference.layer, nodeIndex: reference.nodeIndex - 1, tensorIndex: reference.tensorIndex)
        }
        for layerIndex in model.layers.indices {
            model.layers[layerIndex].calls = model.layers[layerIndex].calls.map { arguments in
                arguments.map { if case let .tensor(reference) = $0 { .tensor(moved(reference)) } else { $0 } }
            }
            model.layers[layerIndex].keywordArguments = model.layers[layerIndex].keywordArguments.mapValues { keywords in
                keywords.mapValues { value in
                    guard let reference = tensorReference(value), shifted.contains(reference.layer) else { return value }
                    let target = moved(reference)
                    return .array([.string(target.layer), .integer(target.nodeIndex), .integer(target.tensorIndex)])
                }
            }
        }
        model.outputs = model.outputs.map(moved)
    }

    /// A Sequential model: Keras 1 stores a bare list of layers, Keras 2 and 3 `{"name", "layers"}`.
    static func parseSequential(config: JSONValue, path: String) throws -> ModelSpecification {
        let layerList: [JSONValue]
        var name = "sequential"
        if let list = config.arrayValue {
            layerList = list
        } else if let members = config.objectValue, let list = members["layers"]?.arrayValue {
            layerList = list
            name = members["name"]?.stringValue ?? name
        } else {
            throw KerasImportError.badModelConfiguration(path: path, model: config["name"]?.stringValue ?? name,
                                                         reason: "is a Sequential model without a layer list")
        }
        var layers: [LayerSpecification] = []
        for entry in layerList { layers.append(try parseLayer(entry, path: path)) }
        guard !layers.isEmpty else {
            throw KerasImportError.badModelConfiguration(path: path, model: name, reason: "is a Sequential model without layers")
        }
        var implicitShapes: [String: [Int?]] = [:]
        var inputName: String
        var firstComputing = 0
        if layers[0].className == "InputLayer" {
            inputName = layers[0].name
            firstComputing = 1
        } else if let shape = declaredInputShape(layers[0].config) {
            // Keras names the input it creates for a Sequential model `<first layer>_input`.
            inputName = layers[0].name + "_input"
            implicitShapes[inputName] = shape
        } else if layers[0].nestedModel != nil {
            // A Sequential whose first layer is a model takes that model's input shape.
            inputName = layers[0].name + "_input"
        } else {
            throw KerasImportError.badModelConfiguration(
                path: path, model: name,
                reason: "is a Sequential model that declares no input shape (expected an InputLayer, or batch_input_shape on its first layer)")
        }
        var previous = TensorReference(layer: inputName, nodeIndex: 0, tensorIndex: 0)
        for index in firstComputing..<layers.count {
            layers[index].calls = [[.tensor(previous)]]
            previous = TensorReference(layer: layers[index].name, nodeIndex: 0, tensorIndex: 0)
        }
        if firstComputing == 1 { layers[0].calls = [] }
        var spec = ModelSpecification(className: "Sequential", name: name, layers: layers,
                                      inputs: [TensorReference(layer: inputName, nodeIndex: 0, tensorIndex: 0)],
                                      outputs: [previous], implicitInputShapes: implicitShapes)
        if firstComputing == 0, implicitShapes.isEmpty, let nested = layers[0].nestedModel {
            spec.implicitInputShapes[inputName] = nestedInputShape(nested)
        }
        return spec
    }

    /// The input shape of a model's first input, batch axis included, when its configuration says.
    static func nestedInputShape(_ model: ModelSpecification) -> [Int?]? {
        guard let first = model.inputs.first else { return nil }
        if let shape = model.implicitInputShapes[first.layer] { return shape }
        guard let layer = model.layers.first(where: { $0.name == first.layer }) else { return nil }
        return declaredInputShape(layer.config)
    }

    /// `batch_shape` (Keras 3), `batch_input_shape` (Keras 1 and 2) or `input_shape` plus a batch
    /// axis, as a shape with `nil` for open dimensions.
    static func declaredInputShape(_ config: [String: JSONValue]) -> [Int?]? {
        for key in ["batch_shape", "batch_input_shape"] {
            if let list = config[key]?.arrayValue { return list.map(\.integerValue) }
        }
        if let list = config["input_shape"]?.arrayValue { return [nil] + list.map(\.integerValue) }
        if let dimension = config["input_dim"]?.integerValue { return [nil, dimension] }
        return nil
    }

    /// The largest dimension accepted from a configuration; shape and window arithmetic stays
    /// far from overflow below it.
    static let maximumDimension = 1 << 31

    /// Checks the input shape a layer declares (`batch_shape`, `batch_input_shape`,
    /// `input_shape`, `input_dim`) where it is read, before any shape arithmetic: every
    /// dimension must be null (open; not for `input_dim`) or an integer from 1 to 2^31.
    static func checkDeclaredInputShape(_ config: [String: JSONValue], layer: String, className: String, path: String) throws {
        func invalid(_ key: String, _ value: JSONValue) -> KerasImportError {
            .badLayerConfiguration(
                path: path, layer: layer, className: className,
                reason: "has '\(key)' \(quoted(value.description)); expected a list of null or integers from 1 to \(maximumDimension)")
        }
        for key in ["batch_shape", "batch_input_shape", "input_shape"] {
            guard let value = config[key], value != .null else { continue }
            guard let list = value.arrayValue else { throw invalid(key, value) }
            for dimension in list where dimension != .null {
                guard let size = dimension.integerValue, (1...maximumDimension).contains(size) else { throw invalid(key, value) }
            }
        }
        // Window and size options, read as integers by the layer converters.
        for key in ["kernel_size", "strides", "pool_size", "dilation_rate", "filters", "units", "subsample", "pool_length",
                    "filter_length", "stride", "subsample_length", "atrous_rate", "depth_multiplier"] {
            guard let value = config[key], value != .null else { continue }
            let sizes = value.arrayValue ?? [value]
            for size in sizes {
                guard let integer = size.integerValue, (1...maximumDimension).contains(integer) else {
                    throw KerasImportError.badLayerConfiguration(
                        path: path, layer: layer, className: className,
                        reason: "has '\(key)' \(quoted(value.description)); expected integers from 1 to \(maximumDimension)")
                }
            }
        }
        if let value = config["input_dim"], value != .null {
            guard let size = value.integerValue, (1...maximumDimension).contains(size) else {
                throw KerasImportError.badLayerConfiguration(
                    path: path, layer: layer, className: className,
                    reason: "has 'input_dim' \(quoted(value.description)); expected an integer from 1 to \(maximumDimension)")
            }
        }
    }

    /// A layer entry: `{"class_name", "config", "name"?, "module"?, "inbound_nodes"?}`.
    static func parseLayer(_ entry: JSONValue, path: String) throws -> LayerSpecification {
        guard let className = entry["class_name"]?.stringValue, let config = entry["config"] else {
            throw KerasImportError.badConfiguration(path: path, reason: "a layer entry has no class_name and config")
        }
        let configMembers = config.objectValue ?? [:]
        guard let name = entry["name"]?.stringValue ?? configMembers["name"]?.stringValue else {
            throw KerasImportError.unnamedLayer(path: path, className: className)
        }
        try checkDeclaredInputShape(configMembers, layer: name, className: className, path: path)
        var layer = LayerSpecification(className: className, module: entry["module"]?.stringValue, name: name,
                                       config: configMembers, calls: [], nestedModel: nil)
        if modelClasses.contains(className) {
            layer.nestedModel = try parseModel(className: className, config: config, path: path)
        }
        return layer
    }

    /// Layer classes whose Keras 2 calls keep their keyword arguments (raw TensorFlow calls).
    static let keywordLayerClasses: Set<String> = ["TFOpLambda", "SlicingOpLambda"]

    /// A Keras 2 tensor reference inside keyword arguments: `["layer", node, tensor]`.
    static func tensorReference(_ value: JSONValue) -> TensorReference? {
        guard let parts = value.arrayValue, parts.count == 3, let source = parts[0].stringValue,
              let nodeIndex = parts[1].integerValue, let tensorIndex = parts[2].integerValue else { return nil }
        return TensorReference(layer: source, nodeIndex: nodeIndex, tensorIndex: tensorIndex)
    }

    /// `inbound_nodes` in their spellings:
    /// Keras 1 `[[["name", node, tensor], …], …]`, Keras 2 `[[["name", node, tensor, {kwargs}], …], …]`,
    /// Keras 3 `[{"args": [...], "kwargs": {...}}, …]` with `__keras_tensor__` objects inside args.
    /// Keras 2 `TFOpLambda` calls on one tensor drop a level, `[["name", node, tensor, {kwargs}], …]`,
    /// and a constant first argument is `["_CONSTANT_VALUE", -1, value, {kwargs}]`; their keyword
    /// arguments (those of the first reference, when the first argument is a list) are kept in
    /// `keywords`, by call index.
    static func parseCalls(_ value: JSONValue?, of layer: LayerSpecification, path: String,
                           keywords: inout [Int: [String: JSONValue]]) throws -> [[CallArgument]] {
        func malformed(_ reason: String) -> KerasImportError {
            .badLayerConfiguration(path: path, layer: layer.name, className: layer.className, reason: reason)
        }
        let keepsKeywords = keywordLayerClasses.contains(layer.className)
        guard let nodes = value?.arrayValue else { return [] }
        var calls: [[CallArgument]] = []
        for node in nodes {
            if let members = node.objectValue {
                var arguments: [CallArgument] = []
                collectKeras3Arguments(members["args"] ?? .array([]), into: &arguments)
                calls.append(arguments)
            } else if let references = node.arrayValue {
                var arguments: [CallArgument] = []
                // The one-tensor spelling of a TFOpLambda call: the node is itself a reference.
                let entries = references.first?.stringValue != nil ? [node] : references
                for reference in entries {
                    guard let parts = reference.arrayValue, parts.count >= 3, let source = parts[0].stringValue else {
                        throw malformed("has a malformed inbound node (expected [layer name, node index, tensor index] references)")
                    }
                    if keepsKeywords, arguments.isEmpty, parts.count >= 4 {
                        guard let members = parts[3].objectValue else {
                            throw malformed("has a malformed inbound node (expected a keyword argument object after a reference)")
                        }
                        keywords[calls.count] = members
                    }
                    if source == "_CONSTANT_VALUE" {
                        guard keepsKeywords else {
                            throw malformed("has a constant argument where a layer takes tensors")
                        }
                        if let constant = parts[2].doubleValue {
                            arguments.append(.constant(constant))
                        } else {
                            arguments.append(.constantArray(parts[2]))
                        }
                        continue
                    }
                    guard let nodeIndex = parts[1].integerValue, let tensorIndex = parts[2].integerValue else {
                        throw malformed("has a malformed inbound node (expected [layer name, node index, tensor index] references)")
                    }
                    arguments.append(.tensor(TensorReference(layer: source, nodeIndex: nodeIndex, tensorIndex: tensorIndex)))
                }
                calls.append(arguments)
            } else {
                throw malformed("has a malformed inbound node (expected a list of references, or a Keras 3 object with 'args')")
            }
        }
        return calls
    }

    static func collectKeras3Arguments(_ value: JSONValue, into arguments: inout [CallArgument]) {
        switch value {
        case let .array(elements):
            for element in elements { collectKeras3Arguments(element, into: &arguments) }
        case let .object(members):
            if members["class_name"]?.stringValue == "__keras_tensor__",
               let history = members["config"]?["keras_history"]?.arrayValue, history.count >= 3,
               let source = history[0].stringValue, let nodeIndex = history[1].integerValue,
               let tensorIndex = history[2].integerValue {
                arguments.append(.tensor(TensorReference(layer: source, nodeIndex: nodeIndex, tensorIndex: tensorIndex)))
            }
        case let .integer(number):
            arguments.append(.constant(Double(number)))
        case let .number(number):
            arguments.append(.constant(number))
        default:
            break
        }
    }

    /// `input_layers` / `output_layers`: a list of `[name, node, tensor]`, or (Keras 3, one
    /// endpoint) a single `[name, node, tensor]`.
    static func parseEndpoints(_ value: JSONValue?, what: String, model: String, path: String) throws -> [TensorReference] {
        guard let list = value?.arrayValue, !list.isEmpty else {
            throw KerasImportError.badModelConfiguration(path: path, model: model, reason: "has no \(what)")
        }
        func reference(_ parts: [JSONValue]) -> TensorReference? {
            guard parts.count >= 3, let name = parts[0].stringValue, let node = parts[1].integerValue,
                  let tensor = parts[2].integerValue else { return nil }
            return TensorReference(layer: name, nodeIndex: node, tensorIndex: tensor)
        }
        if list[0].stringValue != nil {
            guard let single = reference(list) else {
                throw KerasImportError.badModelConfiguration(path: path, model: model,
                                                             reason: "has malformed \(what) (expected [layer name, node index, tensor index])")
            }
            return [single]
        }
        return try list.map { entry in
            guard let parts = entry.arrayValue, let item = reference(parts) else {
                throw KerasImportError.badModelConfiguration(path: path, model: model,
                                                             reason: "has malformed \(what) (expected [layer name, node index, tensor index] entries)")
            }
            return item
        }
    }
}
