import Foundation
import GraftSupport
/// How `graft features` reduces a 4-D (or 3-D) activation to one vector per image.
public enum FeaturePooling: String, Sendable, Hashable, CaseIterable {
    /// The activation is flattened in the model's layout order.
    case none
    /// The mean over the spatial axes of the layout, one value per channel.
    case avg
    /// The maximum over the spatial axes of the layout, one value per channel.
    case max
}

/// Where the features in a cache came from: the root attributes of `schemas/feature-cache.md`.
///
/// Two caches hold comparable features exactly when `modelSHA256`, `layers`, `pooling` and
/// `preprocessing` and `numerics` agree; `inputListSHA256`, `graftVersion` and `created` describe one run.
public struct FeatureCacheProvenance: Sendable, Hashable {
    /// Lowercase hexadecimal SHA-256 of the `.graft` file.
    public var modelSHA256: String
    public var modelName: String
    /// The requested layer names, as given (not escaped), in `/features` order.
    public var layers: [String]
    public var pooling: FeaturePooling
    /// The effective preprocessing as JSON text (`schemas/preprocessing.md`).
    public var preprocessing: String
    /// SHA-256 of the input list as graft resolved it (see `InputList`).
    public var inputListSHA256: String
    public var graftVersion: String
    /// ISO 8601 UTC time of creation, e.g. `2025-01-31T12:00:00Z`.
    public var created: String
    /// What the features' last bits depend on: the runtime's numerics version, the precision,
    /// the convolution kernels and algorithm, the CPU instruction set oneDNN used
    /// (`InferenceSession.numerics`). Empty for caches written before graft recorded it.
    public var numerics: String

    /// The `numerics` of caches written before graft recorded it.
    public static let unrecordedNumerics = ""

    public init(modelSHA256: String, modelName: String, layers: [String], pooling: FeaturePooling,
                preprocessing: String, inputListSHA256: String, numerics: String,
                graftVersion: String = GraftVersion.current, created: String = FeatureCacheProvenance.now()) {
        self.numerics = numerics
        self.modelSHA256 = modelSHA256
        self.modelName = modelName
        self.layers = layers
        self.pooling = pooling
        self.preprocessing = preprocessing
        self.inputListSHA256 = inputListSHA256
        self.graftVersion = graftVersion
        self.created = created
    }

    /// The current time as ISO 8601 UTC, to the second.
    public static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }

    /// The attributes that make features comparable and differ between `self` and `other`,
    /// by their attribute names (`model_sha256`, `layers`, `pool`, `preprocessing`).
    public func featureDifferences(from other: FeatureCacheProvenance) -> [ProvenanceDifference] {
        var differences: [ProvenanceDifference] = []
        if modelSHA256 != other.modelSHA256 {
            differences.append(.init(attribute: "model_sha256", cached: modelSHA256, requested: other.modelSHA256))
        }
        if layers != other.layers {
            differences.append(.init(attribute: "layers", cached: layers.joined(separator: ","),
                                     requested: other.layers.joined(separator: ",")))
        }
        if pooling != other.pooling {
            differences.append(.init(attribute: "pool", cached: pooling.rawValue, requested: other.pooling.rawValue))
        }
        if preprocessing != other.preprocessing {
            differences.append(.init(attribute: "preprocessing", cached: preprocessing, requested: other.preprocessing))
        }
        if numerics != other.numerics {
            // Rows computed with other kernels differ in their last bits: one cache holds one kind.
            let describe = { (value: String) in value == FeatureCacheProvenance.unrecordedNumerics ? "not recorded (an older graft)" : value }
            differences.append(.init(attribute: "numerics", cached: describe(numerics), requested: describe(other.numerics)))
        }
        return differences
    }
}

/// One provenance attribute whose value in a cache differs from the value a command asks for.
public struct ProvenanceDifference: Sendable, Hashable {
    public var attribute: String
    public var cached: String
    public var requested: String
}

/// A layer name as an HDF5 dataset name: `%` becomes `%25` and `/` becomes `%2F`, since HDF5
/// reads `/` as a path separator (Keras nests layers as `outer/inner`).
public func escapedLayerName(_ layer: String) -> String {
    var result = ""
    for character in layer {
        switch character {
        case "%": result += "%25"
        case "/": result += "%2F"
        default: result.append(character)
        }
    }
    return result
}

/// The path of a layer's dataset in a cache, e.g. `/features/outer%2Finner`.
public func featureDatasetPath(forLayer layer: String) -> String {
    "/features/" + escapedLayerName(layer)
}

/// Compares strings by their UTF-8 bytes, as Python (and so Keras) sorts class names.
public func precedesInByteOrder(_ first: String, _ second: String) -> Bool {
    first.utf8.lexicographicallyPrecedes(second.utf8)
}
