import ArgumentParser
import Foundation
import GraftModel
import GraftONNXExport
import GraftSupport
/// `graft export MODEL.graft -o MODEL.onnx [--opset 17]`: writes a model as ONNX.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a .graft model as an ONNX file, weights included.",
        discussion: """
            Any .graft model (converted from Keras, Caffe or ONNX, or joined by graft attach) is written \
            with standard ONNX operators. The ONNX model takes the array graft run takes: an NHWC \
            (Keras channels_last) model keeps its NHWC input and transposes it inside. The preprocessing \
            record, the class names and the provenance go into metadata_props (keys graft.preprocessing, \
            graft.class_names, graft.input_layouts, graft.provenance, graft.model_sha256). When the weights \
            pass 2 GB they are written beside the model as OUTPUT.data (ONNX external data).
            """)

    @Argument(help: "The model to export (.graft).")
    var model: String

    @Option(name: .shortAndLong, help: "The ONNX file to write.")
    var output: String

    @Option(help: "The ONNX operator set to write (17 to 21).")
    var opset: Int = ONNXExporter.defaultOpset

    @Option(name: .customLong("layer"), help: ArgumentHelp("A node or value to output instead of the model's outputs (repeatable).", valueName: "NAME"))
    var layers: [String] = []

    func validate() throws {
        guard ONNXExporter.supportedOpsets.contains(opset) else {
            throw ValidationError("--opset takes \(ONNXExporter.supportedOpsets.lowerBound) to \(ONNXExporter.supportedOpsets.upperBound), not \(opset)")
        }
    }

    func run() throws {
        let file = try ModelFile(path: model)
        let summary = try ONNXExporter.export(file, to: output, options: .init(opset: opset, outputs: layers))
        var message = "wrote '\(output)': \(summary.nodeCount) ONNX nodes, \(summary.initializerCount) initializers, opset \(opset)"
        if let data = summary.externalDataPath { message += "; \(summary.externalBytes) bytes of weights in '\(data)'" }
        printDiagnostic(message)
    }
}
