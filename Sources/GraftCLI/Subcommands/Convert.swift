import ArgumentParser
import Foundation
import GraftModel
import GraftSupport
import KerasImport
import CaffeImport

/// `graft convert SOURCE... -o OUT.graft [--config ARCH.json] [--input-shape N,C,H,W] [--name NAME]`:
/// imports a Keras or Caffe model.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a Keras or Caffe model (recognised by content) into a .graft file.",
        discussion: """
            Keras: a full-model HDF5 file (Keras 1, 2, tf.keras, Keras 3 legacy .h5), a Keras 3 .keras \
            archive, or a weights-only HDF5 file with --config ARCH.json (the output of model.to_json()).
            Caffe: a prototxt (current or legacy V1 format) and its .caffemodel, in either order; \
            --input-shape N,C,H,W for a train_val prototxt whose input is a Data layer.
            """)

    @Argument(help: "The source model file(s).")
    var sources: [String]

    @Option(name: .shortAndLong, help: "The .graft file to write.")
    var output: String

    @Option(name: .customLong("config"), help: "The architecture as JSON (model.to_json()), for weights-only files.")
    var architecture: String?

    @Option(help: "The model name to record (default: the source model's name).")
    var name: String?

    @Option(help: ArgumentHelp("Caffe: the input shape N,C,H,W, for nets whose input is a data layer.", valueName: "N,C,H,W"))
    var inputShape: String?

    func validate() throws {
        if let inputShape, parsedInputShape(inputShape) == nil {
            throw ValidationError("--input-shape takes four positive integers N,C,H,W, not '\(inputShape)'")
        }
    }

    func run() throws {
        let (graph, weights, notes) = try convertedModel()
        for note in notes { printDiagnostic(note) }
        try ModelWriter.write(graph: graph, weights: weights, to: output)
        printDiagnostic("wrote '\(output)': \(graph.nodes.count) nodes, \(weights.count) weight tensors")
    }

    func convertedModel() throws -> (Graph, [WeightTensor], [String]) {
        let formats = sources.map { ($0, SourceFormat.detect(path: $0)) }
        for (path, format) in formats {
            if case let .unreadable(reason) = format { throw FileError.cannotOpen(path: path, reason: reason) }
        }
        let kinds = formats.map(\.1)
        switch kinds {
        case [.hdf5], [.zipArchive]:
            let model = try KerasConverter.convert(modelAt: sources[0], architectureAt: architecture, name: name)
            return (model.graph, model.weights, [])
        case [.prototxt], [.prototxt, .caffemodel], [.caffemodel, .prototxt]:
            var model = try CaffeImporter.convert(files: sources, inputShape: inputShape.flatMap(parsedInputShape))
            if let name { model.graph.name = name }
            return (model.graph, model.weights, model.notes)
        default:
            throw ConvertError.unrecognisedSources(paths: sources, kinds: kinds.map(\.description))
        }
    }

    private func parsedInputShape(_ text: String) -> [Int]? {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 4, values.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return values.compactMap { $0 }
    }
}

/// What a source file is, judged by its first bytes (never by its name).
enum SourceFormat: Equatable, CustomStringConvertible {
    /// An HDF5 file (`\x89HDF\r\n\x1a\n`): a Keras HDF5 model or weights file.
    case hdf5
    /// A zip archive (`PK\x03\x04`): a Keras 3 `.keras` file.
    case zipArchive
    /// Protobuf text: a Caffe net definition.
    case prototxt
    /// Binary protobuf: Caffe weights.
    case caffemodel
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
        case .other:
            switch try? CaffeFileKind.detect(path: path) {
            case .prototxt: return .prototxt
            case .caffemodel: return .caffemodel
            default: return .unknown
            }
        }
    }

    var description: String {
        switch self {
        case .hdf5: "HDF5"
        case .zipArchive: "zip archive"
        case .prototxt: "prototxt"
        case .caffemodel: "caffemodel"
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
            return "unrecognised source \(listed): expected one Keras file (HDF5 or .keras zip archive), or a Caffe prototxt with its caffemodel"
        }
    }
}
