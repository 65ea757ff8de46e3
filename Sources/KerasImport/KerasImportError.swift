public import GraftSupport

/// A layer the importer cannot convert: its name (as `outer/inner` inside nested models) and its
/// Keras class.
public struct UnsupportedLayer: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var className: String

    public init(name: String, className: String) {
        self.name = name
        self.className = className
    }

    public var description: String { "'\(name)' (\(className))" }
}

/// Why a Keras model could not be converted. Every case names the source file and the part of it
/// that is wrong; all are bad or unsupported data (exit status 65).
public enum KerasImportError: GraftError, Equatable {
    /// The file is neither a Keras HDF5 file nor a `.keras` archive graft can read.
    case notKerasModel(path: String, reason: String)
    /// The file holds weights only and no architecture was given.
    case missingArchitecture(path: String)
    /// The model configuration (JSON) is malformed or lacks something the importer needs.
    case badConfiguration(path: String, reason: String)
    /// Layers graft cannot convert, every one of them.
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
        case let .unsupportedLayers(path, layers):
            "'\(path)' uses \(layers.count) layer\(layers.count == 1 ? "" : "s") graft cannot convert: "
                + layers.map(\.description).joined(separator: ", ")
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
