public import GraftModel
public import GraftSupport
import Foundation
import GraftKerasImport
import GraftCaffeImport
import GraftONNXImport
/// The one door into graft for models from other frameworks.
///
/// ```swift
/// let model = try ModelImporter.importModel(from: ["deploy.prototxt", "net.caffemodel"])
/// for note in model.notes { print(note) }
/// try model.write(to: "net.graft")
/// ```
///
/// Sources are recognised by their content, never by their file names (`SourceFormat`), and
/// routed to the importer of their framework. Every importer returns the same `ImportedModel`:
/// the graph with its provenance, the weights, and notes; an importer that meets layers it
/// cannot convert lists all of them in one error, with their names and kinds.
public enum ModelImporter {
    /// What the user may add to what the source files say.
    public struct Options: Sendable {
        /// Keras: the architecture as JSON (`model.to_json()`), for weights-only files.
        public var architecturePath: String?
        /// The model name to record instead of the source's own.
        public var name: String?
        /// Caffe: the input shape `[N, C, H, W]`, for nets whose input is a data layer; ONNX: the
        /// input's sizes where the file leaves them open (the batch stays open).
        public var inputShape: [Int]?
        /// The preprocessing preset to record (`keras-torch`, …), replacing what the source says:
        /// ONNX files say nothing, and graft never guesses.
        public var preprocessingPreset: String?

        public init(architecturePath: String? = nil, name: String? = nil, inputShape: [Int]? = nil, preprocessingPreset: String? = nil) {
            self.architecturePath = architecturePath
            self.name = name
            self.inputShape = inputShape
            self.preprocessingPreset = preprocessingPreset
        }
    }

    /// The frameworks graft imports, with the file combinations each takes.
    public enum Framework: String, Sendable, CaseIterable {
        /// One HDF5 file (Keras 1, 2, tf.keras, Keras 3 legacy `.h5`) or a Keras 3 `.keras` archive.
        case keras
        /// A prototxt with its caffemodel, in either order (or a prototxt alone for a net without weights).
        case caffe
        /// One ONNX model file (`ModelProto`; external data files are found through it).
        case onnx
    }

    /// The framework the files at `paths` come from, judged by their content.
    ///
    /// - Throws: `FileError.cannotOpen` for a missing or unreadable file, and
    ///   `ImportError.unrecognisedSources` for any other combination.
    public static func framework(of paths: [String]) throws -> Framework {
        let formats = paths.map { ($0, SourceFormat.detect(path: $0)) }
        for (path, format) in formats {
            if case let .unreadable(reason) = format { throw FileError.cannotOpen(path: path, reason: reason) }
        }
        switch formats.map(\.1) {
        case [.hdf5], [.zipArchive]: return .keras
        case [.onnx]: return .onnx
        case [.prototxt], [.prototxt, .caffemodel], [.caffemodel, .prototxt]: return .caffe
        case let kinds: throw ImportError.unrecognisedSources(paths: paths, kinds: kinds.map(\.description))
        }
    }

    /// Imports the model the files at `paths` hold.
    public static func importModel(from paths: [String], options: Options = Options()) throws -> ImportedModel {
        var model: ImportedModel
        switch try framework(of: paths) {
        case .keras:
            model = try KerasConverter.convert(modelAt: paths[0], architectureAt: options.architecturePath)
        case .caffe:
            model = try CaffeImporter.convert(files: paths, inputShape: options.inputShape)
        case .onnx:
            model = try ONNXImporter.convert(modelAt: paths[0], inputShape: options.inputShape)
        }
        if let name = options.name { model.graph.name = name }
        if let preset = options.preprocessingPreset { model.graph.preprocessing = ["preset": .string(preset)] }
        return model
    }
}

/// What a source file is, judged by its first bytes (never by its name).
public enum SourceFormat: Sendable, Equatable, CustomStringConvertible {
    /// An HDF5 file (`\x89HDF\r\n\x1a\n`): a Keras HDF5 model or weights file.
    case hdf5
    /// A zip archive (`PK\x03\x04`): a Keras 3 `.keras` file.
    case zipArchive
    /// Protobuf text: a Caffe net definition.
    case prototxt
    /// Binary protobuf: Caffe weights.
    case caffemodel
    /// Binary protobuf starting with an ONNX `ModelProto`'s `ir_version`.
    case onnx
    /// Anything else.
    case unknown
    /// The file cannot be read, with the reason.
    case unreadable(String)

    public static func detect(path: String) -> SourceFormat {
        guard FileManager.default.fileExists(atPath: path) else { return .unreadable("No such file or directory") }
        guard FileManager.default.isReadableFile(atPath: path) else { return .unreadable("Permission denied") }
        switch KerasConverter.fileKind(at: path) {
        case .hdf5: return .hdf5
        case .kerasArchive: return .zipArchive
        case .other:
            // An ONNX model is binary protobuf too; its first field (ir_version, a varint) tells
            // it from a caffemodel, whose first field is a string.
            if ONNXImporter.isONNX(path: path) { return .onnx }
            switch try? CaffeFileKind.detect(path: path) {
            case .prototxt: return .prototxt
            case .caffemodel: return .caffemodel
            default: return .unknown
            }
        }
    }

    public var description: String {
        switch self {
        case .hdf5: "HDF5"
        case .zipArchive: "zip archive"
        case .prototxt: "prototxt"
        case .caffemodel: "caffemodel"
        case .onnx: "ONNX model"
        case .unknown: "unrecognised"
        case .unreadable: "unreadable"
        }
    }
}

/// Errors of the import façade itself (the importers report their own).
public enum ImportError: GraftError, Equatable {
    /// The files are no combination graft imports.
    case unrecognisedSources(paths: [String], kinds: [String])

    public var exitStatus: ExitStatus { .dataError }

    public var description: String {
        switch self {
        case let .unrecognisedSources(paths, kinds):
            let listed = zip(paths, kinds).map { "'\($0)' (\($1))" }.joined(separator: ", ")
            return "unrecognised source \(listed): expected one Keras file (HDF5 or .keras zip archive), a Caffe prototxt with its caffemodel, or one ONNX model"
        }
    }
}
