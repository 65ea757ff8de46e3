import ArgumentParser
import Foundation
import GraftModel
import GraftSupport
import GraftImport
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
        let options = ModelImporter.Options(architecturePath: architecture, name: name, inputShape: inputShape.flatMap(parsedInputShape))
        let model = try ModelImporter.importModel(from: sources, options: options)
        for note in model.notes { printDiagnostic(note) }
        try model.write(to: output)
        printDiagnostic("wrote '\(output)': \(model.graph.nodes.count) nodes, \(model.weights.count) weight tensors")
    }

    private func parsedInputShape(_ text: String) -> [Int]? {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 4, values.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return values.compactMap { $0 }
    }
}
