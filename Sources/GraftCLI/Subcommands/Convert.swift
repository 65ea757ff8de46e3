import ArgumentParser
import Foundation
import GraftModel
import GraftSupport
import GraftImport
import GraftImages
/// `graft convert SOURCE... -o OUT.graft [--config ARCH.json] [--input-shape N,C,H,W] [--name NAME]
/// [--preprocess PRESET]`: imports a Keras, Caffe or ONNX model.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a Keras, Caffe or ONNX model (recognised by content) into a .graft file.",
        discussion: """
            Keras: a full-model HDF5 file (Keras 1, 2, tf.keras, Keras 3 legacy .h5), a Keras 3 .keras \
            archive, or a weights-only HDF5 file with --config ARCH.json (the output of model.to_json()).
            Caffe: a prototxt (current or legacy V1 format) and its .caffemodel, in either order; \
            --input-shape N,C,H,W for a train_val prototxt whose input is a Data layer.
            ONNX: one model file (opsets 11 to 21; external data is read from beside it); \
            --input-shape N,C,H,W when the file leaves sizes other than the batch open. ONNX files do not \
            record their preprocessing: give it with --preprocess (keras-torch is torchvision's ImageNet \
            mean and deviation), or choose it later on graft features.
            """)

    @Argument(help: "The source model file(s).")
    var sources: [String]

    @Option(name: .shortAndLong, help: "The .graft file to write.")
    var output: String

    @Option(name: .customLong("config"), help: "The architecture as JSON (model.to_json()), for weights-only files.")
    var architecture: String?

    @Option(help: "The model name to record (default: the source model's name).")
    var name: String?

    @Option(help: ArgumentHelp("Caffe: the input shape N,C,H,W, for nets whose input is a data layer; ONNX: the sizes the file leaves open.", valueName: "N,C,H,W"))
    var inputShape: String?

    @Option(name: .customLong("preprocess"),
            help: "The preprocessing preset to record in the model: keras-caffe, keras-tf, keras-torch (torchvision's ImageNet mean/std), caffe or none.")
    var preprocess: String?

    func validate() throws {
        if let inputShape, parsedInputShape(inputShape) == nil {
            throw ValidationError("--input-shape takes four positive integers N,C,H,W, not '\(inputShape)'")
        }
        if let preprocess, PreprocessingPreset(rawValue: preprocess) == nil {
            throw ValidationError("--preprocess takes keras-caffe, keras-tf, keras-torch, caffe or none, not '\(quoted(preprocess, limit: 40))'")
        }
    }

    func run() throws {
        let options = ModelImporter.Options(architecturePath: architecture, name: name, inputShape: inputShape.flatMap(parsedInputShape),
                                            preprocessingPreset: preprocess)
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
