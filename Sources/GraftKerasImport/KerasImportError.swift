public import GraftModel
public import GraftSupport
/// Why a Keras model could not be converted. Every case names the source file and the part of it
/// that is wrong (the model, the layer and its class, the weight); all are bad or unsupported
/// data (exit status 65).
public enum KerasImportError: GraftError, Equatable {
    /// The file is neither a Keras HDF5 file nor a `.keras` archive graft can read.
    case notKerasModel(path: String, reason: String)
    /// The file holds weights only and no architecture was given.
    case missingArchitecture(path: String)
    /// The model configuration (JSON) as a whole is malformed: not JSON, no top-level model, a
    /// layer entry without a class.
    case badConfiguration(path: String, reason: String)
    /// A model of the configuration (the top model or a nested one) lacks something the
    /// importer needs: its layer list, its inputs or outputs, an input shape.
    case badModelConfiguration(path: String, model: String, reason: String)
    /// A layer's configuration lacks an option the importer needs, or has one it cannot read.
    case badLayerConfiguration(path: String, layer: String, className: String, reason: String)
    /// A layer entry of the configuration has no name.
    case unnamedLayer(path: String, className: String)
    /// Two layers (or a layer and an input) would produce the same graph name.
    case duplicateName(path: String, name: String)
    /// Layers graft cannot convert, every one of them (`kind` is the Keras class).
    case unsupportedLayers(path: String, layers: [UnsupportedLayer])
    /// A supported layer uses an option graft does not implement.
    case unsupportedOption(path: String, layer: String, className: String, reason: String)
    /// A layer needs a weight the file does not hold.
    case missingWeight(path: String, layer: String, weight: String, expectedShape: [Int])
    /// A weight's shape is not the one the layer's configuration implies.
    case weightShapeMismatch(path: String, layer: String, weight: String, expectedShape: [Int], actualShape: [Int])
    /// A layer's input refers to a layer or call that does not exist in the model.
    case unresolvedInput(path: String, layer: String, reference: String)
    /// The `.keras` archive is damaged or lacks a member.
    case badArchive(path: String, reason: String)

    public var exitStatus: ExitStatus { .dataError }

    public var description: String {
        switch self {
        case let .notKerasModel(path, reason):
            "'\(path)' is not a Keras model graft can read: \(reason)"
        case let .missingArchitecture(path):
            "'\(path)' holds weights only; give the architecture with --config ARCH.json (the output of model.to_json())"
        case let .badConfiguration(path, reason):
            "'\(path)' has a model configuration graft cannot use: \(reason)"
        case let .badModelConfiguration(path, model, reason):
            "'\(path)': model '\(model)' \(reason)"
        case let .badLayerConfiguration(path, layer, className, reason):
            "'\(path)': layer '\(layer)' (\(className)) \(reason)"
        case let .unnamedLayer(path, className):
            "'\(path)' has a \(className) layer without a name (expected 'name' in the layer entry or its config)"
        case let .duplicateName(path, name):
            "'\(path)': two layers produce the graph name '\(name)', where names must be unique"
        case let .unsupportedLayers(path, layers):
            "'\(path)' uses \(layers.count) layer\(layers.count == 1 ? "" : "s") graft cannot convert: "
                + layers.listedForMessage
                + " (see 'Supported Keras layers' in README.md)"
        case let .unsupportedOption(path, layer, className, reason):
            "'\(path)': layer '\(layer)' (\(className)) \(reason), which graft does not support"
        case let .missingWeight(path, layer, weight, shape):
            "'\(path)': layer '\(layer)' needs weight '\(weight)' of shape \(shape), which the file does not hold"
        case let .weightShapeMismatch(path, layer, weight, expected, actual):
            "'\(path)': layer '\(layer)' weight '\(weight)' has shape \(actual), expected \(expected)"
        case let .unresolvedInput(path, layer, reference):
            "'\(path)': layer '\(layer)' reads \(reference), which the model does not define"
        case let .badArchive(path, reason):
            "'\(path)' is a damaged .keras archive: \(reason)"
        }
    }
}
