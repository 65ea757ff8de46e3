public import GraftModel
import Foundation
import GraftSupport
import GraftHDF5
/// Converts Keras models into graft graphs.
///
/// Reads, by content rather than by file name:
/// - full-model HDF5 files of Keras 1, Keras 2 / tf.keras and Keras 3's legacy `.h5` (root
///   attribute `model_config`, weights under `model_weights`);
/// - Keras 3 `.keras` archives (a zip of `config.json`, `metadata.json`, `model.weights.h5`);
/// - weights-only HDF5 files (`save_weights`, keras.applications downloads, Keras 3
///   `*.weights.h5`) together with the architecture from `model.to_json()`.
///
/// Nested models become one flat graph whose node names keep the nesting (`outer/inner`).
/// Theano-trained convolution kernels (HDF5 attribute `backend: theano`, or Keras 1 weight names
/// without TensorFlow's `:0` suffix) are flipped into cross-correlation kernels.
public enum KerasConverter {
    /// The kind of Keras file, from its first bytes.
    public enum FileKind: Sendable, Equatable {
        case hdf5
        case kerasArchive
        case other
    }

    /// Classifies the file at `path` by its signature: HDF5's `\x89HDF\r\n\x1a\n` or a zip's
    /// `PK\x03\x04`.
    public static func fileKind(at path: String) -> FileKind {
        if HDF5File.hasSignature(path: path) { return .hdf5 }
        guard let handle = FileHandle(forReadingAtPath: path) else { return .other }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4)) ?? Data()
        return Array(head) == [0x50, 0x4B, 0x03, 0x04] ? .kerasArchive : .other
    }

    /// Converts the Keras model at `path`. `architecturePath` is a `model.to_json()` file, needed
    /// for weights-only files and used instead of the embedded architecture otherwise; `name`
    /// replaces the model's own name.
    public static func convert(modelAt path: String, architectureAt architecturePath: String? = nil,
                               name: String? = nil) throws -> ImportedModel {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw FileError.cannotOpen(path: path, reason: FileManager.default.fileExists(atPath: path) ? "Permission denied" : "No such file or directory")
        }
        var architecture: (text: String, path: String)?
        if let architecturePath {
            architecture = (try readTextFile(architecturePath), architecturePath)
        }
        switch fileKind(at: path) {
        case .hdf5:
            return try convertHDF5(path: path, architecture: architecture, name: name)
        case .kerasArchive:
            return try convertArchive(path: path, architecture: architecture, name: name)
        case .other:
            throw KerasImportError.notKerasModel(path: path, reason: "it is neither an HDF5 file nor a .keras (zip) archive")
        }
    }

    // MARK: HDF5

    static func convertHDF5(path: String, architecture: (text: String, path: String)?, name: String?) throws -> ImportedModel {
        let file = try HDF5File(opening: path)
        let attributes = file.attributes
        var configurationText: String?
        var configurationPath = path
        if try attributes.contains("model_config") { configurationText = try attributes.string("model_config") }
        if let architecture {
            configurationText = architecture.text
            configurationPath = architecture.path
        }
        var kerasVersion = try optionalString(attributes, "keras_version")
        var backend = try optionalString(attributes, "backend")

        let source: any WeightSource
        let parsed: (model: ModelSpecification, root: [String: JSONValue])
        let flavour: String
        if try attributes.contains("layer_names") || file.contains("model_weights") {
            guard let configurationText else { throw KerasImportError.missingArchitecture(path: path) }
            parsed = try ModelConfigurationParser.parse(text: configurationText, path: configurationPath)
            let group = try attributes.contains("layer_names") ? file.root : try file.group("model_weights")
            if kerasVersion == nil { kerasVersion = try optionalString(group.attributes, "keras_version") }
            if backend == nil { backend = try optionalString(group.attributes, "backend") }
            source = LegacyWeightSource(file: file, group: group, path: path)
            flavour = try attributes.contains("model_config") ? "hdf5-model" : "hdf5-weights"
        } else if try file.contains("layers") || file.contains("vars") {
            guard let configurationText else { throw KerasImportError.missingArchitecture(path: path) }
            parsed = try ModelConfigurationParser.parse(text: configurationText, path: configurationPath)
            source = VariableStoreWeightSource(file: file, path: path, model: parsed.model)
            flavour = "keras3-weights"
        } else {
            throw KerasImportError.notKerasModel(path: path, reason: "the HDF5 file has neither a model_config attribute nor Keras weight groups")
        }
        if kerasVersion == nil { kerasVersion = parsed.root["keras_version"]?.stringValue }
        if backend == nil { backend = parsed.root["backend"]?.stringValue }

        var inferredBackend = false
        let major = majorVersion(kerasVersion, model: parsed.model)
        if backend == nil, major == 1, let legacy = source as? LegacyWeightSource {
            // Keras 1 did not record its backend. TensorFlow names variables `name:0`; Theano
            // leaves them bare.
            backend = try usesTensorFlowNames(legacy) ? "tensorflow" : "theano"
            inferredBackend = true
        }
        var sources = [Provenance.SourceFile(file: fileName(path), sha256: try SHA256.hexDigest(ofFileAt: path))]
        if let architecture {
            sources.append(Provenance.SourceFile(file: fileName(architecture.path), sha256: try SHA256.hexDigest(ofFileAt: architecture.path)))
        }
        return try build(parsed: parsed, source: source, path: configurationPath, kerasVersion: kerasVersion, backend: backend,
                         inferredBackend: inferredBackend, flavour: flavour, sources: sources, name: name)
    }

    static func usesTensorFlowNames(_ source: LegacyWeightSource) throws -> Bool {
        for layer in try source.layerNames() {
            for weight in try source.weightNames(ofGroup: layer) {
                return weight.contains(":")
            }
        }
        return true
    }

    // MARK: .keras archives

    static func convertArchive(path: String, architecture: (text: String, path: String)?, name: String?) throws -> ImportedModel {
        let archive = try ZipArchive(path: path)
        func read(_ member: String) throws -> Data? {
            guard let entry = archive[member] else { return nil }
            return try archive.contents(of: entry)
        }
        var configurationText: String
        var configurationPath = path
        if let architecture {
            configurationText = architecture.text
            configurationPath = architecture.path
        } else {
            guard let data = try read("config.json") else {
                throw KerasImportError.badArchive(path: path, reason: "it has no config.json")
            }
            configurationText = String(decoding: data, as: UTF8.self)
        }
        var kerasVersion: String?
        if let metadata = try read("metadata.json"), let object = try? JSONDecoderBox.decode(String(decoding: metadata, as: UTF8.self)) {
            kerasVersion = object["keras_version"]?.stringValue
        }
        guard let entry = archive["model.weights.h5"] else {
            throw KerasImportError.badArchive(path: path, reason: "it has no model.weights.h5")
        }
        // Keras stores the member uncompressed; it is read into memory and HDF5 reads that
        // image in place, so nothing is extracted to disk. Its size is checked against what the
        // archive can hold before anything is allocated.
        let image = HDF5MemoryImage(byteCount: try archive.checkedUncompressedSize(of: entry))
        try archive.read(entry, into: image.bytes)
        let parsed = try ModelConfigurationParser.parse(text: configurationText, path: configurationPath)
        let file = try HDF5File(image: image, name: "\(path):model.weights.h5")
        let source = VariableStoreWeightSource(file: file, path: path, model: parsed.model)
        var sources = [Provenance.SourceFile(file: fileName(path), sha256: try SHA256.hexDigest(ofFileAt: path))]
        if let architecture {
            sources.append(Provenance.SourceFile(file: fileName(architecture.path), sha256: try SHA256.hexDigest(ofFileAt: architecture.path)))
        }
        return try build(parsed: parsed, source: source, path: configurationPath, kerasVersion: kerasVersion ?? parsed.root["keras_version"]?.stringValue,
                         backend: parsed.root["backend"]?.stringValue, inferredBackend: false, flavour: "keras-archive",
                         sources: sources, name: name)
    }

    // MARK: Building

    static func build(parsed: (model: ModelSpecification, root: [String: JSONValue]), source: any WeightSource, path: String,
                      kerasVersion: String?, backend: String?, inferredBackend: Bool, flavour: String,
                      sources: [Provenance.SourceFile], name: String?) throws -> ImportedModel {
        let model = parsed.model
        let unsupported = SupportedLayers.unsupportedLayers(in: model)
        guard unsupported.isEmpty else { throw KerasImportError.unsupportedLayers(path: path, layers: unsupported) }
        let major = majorVersion(kerasVersion, model: model)
        let builder = GraphBuilder(path: path, source: source, kerasMajorVersion: major,
                                   flipsConvolutionKernels: backend == "theano",
                                   defaultDimensionOrdering: backend == "theano" ? "th" : "tf")
        let outputs = try builder.convertTopModel(model)

        var details: [String: JSONValue] = [
            "format": .string(flavour),
            "model_class": .string(model.className),
            "layer_names": .array(model.layers.map { .string($0.name) }),
        ]
        if let backend { details["backend"] = .string(backend) }
        if inferredBackend { details["backend_inferred_from"] = "weight names" }
        let provenance = Provenance(framework: "keras", frameworkVersion: kerasVersion, sources: sources,
                                    converter: GraftVersion.tool, details: details)
        let graph = Graph(name: name ?? model.name, inputs: builder.graphInputs, outputs: outputs, nodes: builder.nodes,
                          preprocessing: PreprocessingPreset.detect(in: model), provenance: provenance)
        return ImportedModel(graph: graph, weights: builder.tensors)
    }

    /// The Keras major version from the recorded version, or from the configuration's spelling
    /// when no version is recorded (Keras 3 writes `batch_shape` and `DTypePolicy` objects,
    /// Keras 1 `Convolution2D`, `output_dim` and `dim_ordering`).
    static func majorVersion(_ version: String?, model: ModelSpecification) -> Int {
        if let first = version?.split(separator: ".").first, let major = Int(first) { return major }
        var keras1 = false
        var keras3 = false
        func visit(_ model: ModelSpecification) {
            for layer in model.layers {
                if let nested = layer.nestedModel { visit(nested) }
                if layer.config["batch_shape"] != nil || layer.config["dtype"]?.objectValue != nil { keras3 = true }
                if layer.config["dim_ordering"] != nil || layer.config["output_dim"] != nil || layer.config["nb_filter"] != nil { keras1 = true }
            }
        }
        visit(model)
        return keras3 ? 3 : keras1 ? 1 : 2
    }

    static func optionalString(_ attributes: HDF5Attributes, _ name: String) throws -> String? {
        guard try attributes.contains(name) else { return nil }
        return try? attributes.string(name)
    }

    static func fileName(_ path: String) -> String {
        URL(fileURLWithPath: path).lastPathComponent
    }
}
