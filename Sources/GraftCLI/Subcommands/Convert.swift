import ArgumentParser
import Foundation
import GraftModel
import GraftSupport
import KerasImport

/// `graft convert SOURCE... -o OUT.graft [--config ARCH.json] [--name NAME]`: imports a model.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a Keras model (HDF5 or .keras, recognised by content) into a .graft file.",
        discussion: """
            Keras: a full-model HDF5 file (Keras 1, 2, tf.keras, Keras 3 legacy .h5), a Keras 3 .keras \
            archive, or a weights-only HDF5 file with --config ARCH.json (the output of model.to_json()).
            """)

    @Argument(help: "The source model file(s).")
    var sources: [String]

    @Option(name: .shortAndLong, help: "The .graft file to write.")
    var output: String

    @Option(name: .customLong("config"), help: "The architecture as JSON (model.to_json()), for weights-only files.")
    var architecture: String?

    @Option(help: "The model name to record (default: the source model's name).")
    var name: String?

    func run() throws {
        let model = try convertedModel()
        try model.write(to: output)
        printDiagnostic("wrote '\(output)': \(model.graph.nodes.count) nodes, \(model.weights.count) weight tensors")
    }

    func convertedModel() throws -> ConvertedModel {
        let formats = sources.map { ($0, SourceFormat.detect(path: $0)) }
        switch formats.map(\.1) {
        case [.hdf5], [.zipArchive]:
            return try KerasConverter.convert(modelAt: sources[0], architectureAt: architecture, name: name)
        default:
            for (path, format) in formats {
                if case let .unreadable(reason) = format { throw FileError.cannotOpen(path: path, reason: reason) }
            }
            throw ConvertError.unrecognisedSources(paths: sources, kinds: formats.map(\.1.description))
        }
    }
}

/// What a source file is, judged by its first bytes (never by its name).
enum SourceFormat: Equatable, CustomStringConvertible {
    /// An HDF5 file (`\x89HDF\r\n\x1a\n`): a Keras HDF5 model or weights file.
    case hdf5
    /// A zip archive (`PK\x03\x04`): a Keras 3 `.keras` file.
    case zipArchive
    /// Anything else.
    case unknown
    /// The file cannot be read.
    case unreadable(String)

    static func detect(path: String) -> SourceFormat {
        guard FileManager.default.fileExists(atPath: path) else { return .unreadable("No such file or directory") }
        guard FileManager.default.isReadableFile(atPath: path) else { return .unreadable("Permission denied") }
        switch KerasConverter.fileKind(at: path) {
        case .hdf5: return .hdf5
        case .kerasArchive: return .zipArchive
        case .other: return .unknown
        }
    }

    var description: String {
        switch self {
        case .hdf5: "HDF5"
        case .zipArchive: "zip archive"
        case .unknown: "unrecognised"
        case .unreadable: "unreadable"
        }
    }
}

/// Errors of `graft convert` itself (the importers report their own).
enum ConvertError: GraftError {
    case unrecognisedSources(paths: [String], kinds: [String])

    var exitStatus: ExitStatus { .dataError }

    var description: String {
        switch self {
        case let .unrecognisedSources(paths, kinds):
            let listed = zip(paths, kinds).map { "'\($0)' (\($1))" }.joined(separator: ", ")
            return "unrecognised source \(listed): expected one Keras file (HDF5 or .keras zip archive)"
        }
    }
}
