import Foundation
import GraftImport
import GraftModel
import GraftONNXExport
import GraftONNXImport
import GraftRuntime
import GraftTensors
import GraftTestSupport
import Testing

/// Every committed importer fixture (Keras 1/2/3, Caffe including V1, ONNX) converted, exported
/// as ONNX, read back by graft's own ONNX importer and run by graft's runtime: the export's
/// values equal the `.graft` model's and stay within 1e-4 of the source framework's committed
/// outputs. (Tools/onnx-export/check.py runs the same fixtures through onnx.checker and
/// onnxruntime.)
@Suite struct RoundTripTests {
    /// Converts `fixture`, exports it with the reference values as outputs, and reads it back.
    static func roundTrip(_ fixture: ExportFixture, in folder: borrowing TemporaryFolder, options: ONNXExporter.Options = .init())
        throws -> (original: ModelFile, exported: ModelFile, outputs: [String], onnx: String) {
        let stem = fixture.name.replacingOccurrences(of: "/", with: "_")
        let imported = try ModelImporter.importModel(from: fixture.sources, options: fixture.options)
        let graftPath = folder.path("\(stem).graft")
        try imported.write(to: graftPath)
        let original = try ModelFile(path: graftPath)
        let outputs = fixture.references.keys.sorted().map { $0.isEmpty ? original.graph.outputs[0] : $0 }
        var options = options
        options.outputs = outputs
        let onnxPath = folder.path("\(stem).onnx")
        try ONNXExporter.export(original, to: onnxPath, options: options)
        // Sizes the source left open (Keras inputs of any size) are given on the way back.
        let tensors = try fixture.inputTensors(for: original.graph)
        let open = original.graph.inputs.count == 1 && original.graph.inputs[0].shape.dropFirst().contains(nil)
        let back = try ONNXImporter.convert(modelAt: onnxPath, inputShape: open ? tensors.values.first?.shape : nil)
        let backPath = folder.path("\(stem).back.graft")
        try back.write(to: backPath)
        return (original, try ModelFile(path: backPath), outputs, onnxPath)
    }

    @Test(arguments: ExportFixture.all)
    func exportReadBackMatches(_ fixture: ExportFixture) throws {
        let folder = try TemporaryFolder()
        let trip = try Self.roundTrip(fixture, in: folder)
        let inputs = try fixture.inputTensors(for: trip.original.graph)
        let expected = try InferenceSession(model: trip.original, outputs: trip.outputs).run(inputs)
        // The exported graph's outputs are the requested values, in order, under the same input names.
        #expect(trip.exported.graph.inputs.map(\.name) == trip.original.graph.inputs.map(\.name))
        #expect(trip.exported.graph.outputs.count == trip.outputs.count)
        let actual = try InferenceSession(model: trip.exported).run(inputs)
        for (index, key) in fixture.references.keys.sorted().enumerated() {
            let reference = try Tensor(npyFile: fixture.references[key]!)
            #expect(actual[index].shape == expected[index].shape, "\(fixture.name) '\(trip.outputs[index])'")
            let drift = actual[index].relativeMaxError(to: expected[index])
            #expect(drift <= 1e-5, "\(fixture.name) '\(trip.outputs[index])': export differs from the .graft model by \(drift)")
            let error = actual[index].relativeMaxError(to: reference)
            #expect(error <= 1e-4, "\(fixture.name) '\(trip.outputs[index])': export differs from the source framework by \(error)")
        }
    }

    @Test func everySourceIsCovered() {
        #expect(ExportFixture.keras.count >= 15)
        #expect(ExportFixture.caffe.count >= 15)
        #expect(ExportFixture.onnx.count >= 10)
        for name in ["keras/keras1-theano-sequential", "keras/tfkeras-h5", "keras/keras3-archive", "keras/channels-first",
                     "caffe/v1_both", "caffe/lrn", "caffe/deconvolution", "onnx/convolutions", "onnx/normalization"] {
            #expect(ExportFixture.all.contains { $0.name == name }, "no fixture \(name)")
        }
    }
}
