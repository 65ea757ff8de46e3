import Foundation
import GraftImport
import GraftModel
import GraftSupport
import GraftTestSupport
import Testing

/// The ONNX fixtures written by `Tools/onnx-fixtures/make_fixtures.py`.
private func onnxFixture(_ name: String) -> String {
    repositoryRoot.appendingPathComponent("Tests/GraftONNXImportTests/Fixtures").appendingPathComponent(name).path
}

@Suite struct DetectingONNXByContent {
    /// An ONNX model is told from a caffemodel (both binary protobuf) by its first field, whatever
    /// its name; a cut-off one still goes to the ONNX importer, which says where it ends.
    @Test func onnxModelsWhateverTheirName() throws {
        let model = onnxFixture("external_data.onnx")
        #expect(SourceFormat.detect(path: model) == .onnx)
        #expect(SourceFormat.detect(path: onnxFixture("truncated.onnx")) == .onnx)
        #expect(SourceFormat.detect(path: repositoryRoot.appendingPathComponent("Tests/GraftCaffeImportTests/Fixtures/conv_basic.caffemodel").path) == .caffemodel)
        try withTemporaryFolder { folder in
            let disguised = folder + "/net.caffemodel"
            try FileManager.default.copyItem(atPath: onnxFixture("legacy_opset11.onnx"), toPath: disguised)
            #expect(try ModelImporter.framework(of: [disguised]) == .onnx)
            let imported = try ModelImporter.importModel(from: [disguised], options: .init(preprocessingPreset: "keras-torch"))
            #expect(imported.provenance.framework == "onnx")
            #expect(imported.graph.preprocessing == ["preset": "keras-torch"])
            #expect(imported.graph.inputs[0].layout == .nchw)
        }
    }

    /// Nothing is recorded about preprocessing unless the user says: ONNX files do not tell.
    @Test func noPreprocessingIsGuessed() throws {
        let imported = try ModelImporter.importModel(from: [onnxFixture("products.onnx")])
        #expect(imported.graph.preprocessing.isEmpty)
    }
}
