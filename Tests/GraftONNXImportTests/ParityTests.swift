import Foundation
import GraftModel
import GraftONNXImport
import GraftRuntime
import GraftTensors
import GraftTestSupport
import Testing

/// Every fixture model, converted and run by graft's runtime, against onnxruntime's value of
/// every graph output on the same input (relative max error ≤ 1e-4).
@Suite struct ParityTests {
    @Test(arguments: ONNXFixture.parity)
    func matchesOnnxruntime(_ fixture: ONNXFixture) throws {
        let conversion = try fixture.convert()
        let folder = try TemporaryFolder()
        let path = folder.path("\(fixture.name).graft")
        try conversion.write(to: path)
        let model = try ModelFile(path: path)
        let outputs = (fixture.outputs ?? [:]).keys.sorted()
        let session = try InferenceSession(model: model, outputs: outputs)
        let input = try Tensor(npyFile: fixturePath(try #require(fixture.input)))
        let results = try session.run(input)
        for (output, result) in zip(outputs, results) {
            let reference = try Tensor(npyFile: fixturePath(fixture.outputs![output]!))
            #expect(result.shape == reference.shape, "\(fixture.name): '\(output)' has shape \(result.shape), onnxruntime \(reference.shape)")
            let error = result.relativeMaxError(to: reference)
            #expect(error <= 1e-4, "\(fixture.name): '\(output)' differs from onnxruntime by \(error)")
        }
    }

    /// External data far into a file of more than 4 GiB (a sparse file written here), as a model
    /// past protobuf's 2 GB limit stores its weights: read in place at 64-bit offsets.
    @Test func externalDataPastFourGigabytes() throws {
        let fixture = try #require(ONNXFixture.named("far_external"))
        let sparse = try #require(fixture.external)
        let folder = try TemporaryFolder()
        let model = folder.path(fixture.model)
        try FileManager.default.copyItem(atPath: fixture.path, toPath: model)
        #expect(FileManager.default.createFile(atPath: folder.path(sparse.file), contents: nil))
        let handle = try FileHandle(forWritingTo: folder.url.appendingPathComponent(sparse.file))
        for part in sparse.parts {
            let values = try Tensor(npyFile: fixturePath(part.values))
            try handle.seek(toOffset: UInt64(part.offset))
            try handle.write(contentsOf: values.scalars.withUnsafeBytes { Data($0) })
        }
        try handle.close()
        #expect(sparse.parts.contains { $0.offset > 1 << 32 })
        let conversion = try ONNXImporter.convert(modelAt: model)
        let path = folder.path("far.graft")
        try conversion.write(to: path)
        let session = try InferenceSession(model: try ModelFile(path: path), outputs: ["logits"])
        let result = try session.run(try Tensor(npyFile: fixturePath(fixture.input!)))[0]
        let reference = try Tensor(npyFile: fixturePath(fixture.outputs!["logits"]!))
        #expect(result.shape == reference.shape)
        #expect(result.relativeMaxError(to: reference) <= 1e-4)
    }

    @Test func everyFamilyHasAFixture() {
        let names = Set(ONNXFixture.parity.map(\.name))
        for family in ["convolutions", "products", "normalization", "activations", "gelu_opset20", "erf_gelu", "arithmetic",
                       "pooling", "shapes", "shape_subgraph", "flattened_gather", "external_data", "legacy_opset11"] {
            #expect(names.contains(family), "no parity fixture '\(family)'")
        }
    }

    /// A batch of 1 and a batch of 2 give the same rows: the batch stays open in the converted graph.
    @Test func batchStaysOpen() throws {
        let fixture = try #require(ONNXFixture.named("shape_subgraph"))
        let conversion = try fixture.convert()
        #expect(conversion.graph.inputs[0].shape == [nil, 2, 4, 5])
        let folder = try TemporaryFolder()
        let path = folder.path("model.graft")
        try conversion.write(to: path)
        let session = try InferenceSession(model: try ModelFile(path: path), outputs: ["logits"])
        let input = try Tensor(npyFile: fixturePath(fixture.input!))
        let reference = try Tensor(npyFile: fixturePath(fixture.outputs!["logits"]!))
        let first = Tensor(shape: [1, 2, 4, 5], scalars: Array(input.scalars.prefix(40)))
        let result = try session.run(first)[0]
        #expect(result.shape == [1, 5])
        for (a, b) in zip(result.scalars, reference.scalars.prefix(5)) { #expect(abs(a - b) <= 1e-4 * max(1, abs(b))) }
    }
}
