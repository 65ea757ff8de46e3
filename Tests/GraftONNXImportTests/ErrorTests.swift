import Foundation
import GraftModel
import GraftONNXImport
import GraftSupport
import GraftTestSupport
import Testing

/// Models graft refuses, and what it says.
@Suite struct ErrorTests {
    /// Every node graft cannot convert is named in one error: unknown ops (Einsum, TopK),
    /// including those behind another refused node, and supported ops used in ways graft does
    /// not convert (LRN of an even size, Clip to [−1, 1]), with the reason.
    @Test func listsEveryUnsupportedNode() throws {
        let fixture = try #require(ONNXFixture.named("unsupported"))
        do {
            _ = try fixture.convert()
            Issue.record("the model converted")
        } catch let error as ONNXImportError {
            guard case let .unsupportedNodes(file, nodes) = error else { Issue.record("unexpected error \(error)"); return }
            #expect(file == fixture.path)
            #expect(Set(nodes.map(\.name)) == ["local_norm", "clip_both_sides", "einsum", "top_k"])
            #expect(nodes.first { $0.name == "local_norm" }?.kind == "LRN")
            #expect(nodes.first { $0.name == "local_norm" }?.reason?.contains("even size 4") == true)
            #expect(nodes.first { $0.name == "clip_both_sides" }?.reason?.contains("min 0") == true)
            #expect(error.exitStatus == .dataError)
            #expect(error.description.contains("4 nodes graft cannot convert"))
        }
    }

    /// A file cut in the middle of its graph is an error naming the file and the byte where it stops.
    @Test func truncatedFileIsMalformed() throws {
        let fixture = try #require(ONNXFixture.named("truncated"))
        #expect(ONNXImporter.isONNX(path: fixture.path))
        let error = try #require(throws: ONNXImportError.self) { try fixture.convert() }
        guard case let .malformed(file, offset, reason) = error else { Issue.record("unexpected error \(error)"); return }
        #expect(file == fixture.path)
        #expect(offset >= 0)
        #expect(reason.contains("claims"))
        #expect(error.description.contains(fixture.path))
    }

    /// Bytes that are no model, or a model cut at every length, give a clean error, never a crash.
    @Test func garbageAndEveryCutAreRefused() throws {
        let folder = try TemporaryFolder()
        let garbage = folder.path("garbage.onnx")
        try writeBytes(Array("not a model at all\n".utf8), to: garbage)
        let error = try #require(throws: ONNXImportError.self) { try ONNXImporter.convert(modelAt: garbage) }
        #expect(error == .notONNX(file: garbage))

        let whole = try readBytes(try #require(ONNXFixture.named("legacy_opset11")).path)
        let cut = folder.path("cut.onnx")
        for length in stride(from: 0, to: whole.count, by: max(1, whole.count / 97)) {
            try writeBytes(Array(whole.prefix(length)), to: cut)
            #expect(throws: ONNXImportError.self, "cut at \(length) of \(whole.count) bytes") { try ONNXImporter.convert(modelAt: cut) }
        }
    }

    /// Dims that claim far more values than the data holds are refused before any allocation by
    /// the claimed size (2^60 floats would not fit in memory; the test would crash, not fail).
    @Test func claimedSizesAreCheckedAgainstTheData() throws {
        for (name, phrase) in [("claimed_dims", "too large"), ("short_data", "holds 16 bytes")] {
            let fixture = try #require(ONNXFixture.named(name))
            let error = try #require(throws: ONNXImportError.self) { try fixture.convert() }
            guard case let .badTensor(file, tensor, reason) = error else { Issue.record("\(name): unexpected error \(error)"); continue }
            #expect(file == fixture.path)
            #expect(tensor == "w")
            #expect(reason.contains(phrase), "\(name): \(reason)")
        }
    }

    @Test func externalDataMustBeInsideItsFileAndFolder() throws {
        let short = try #require(ONNXFixture.named("short_external"))
        let error = try #require(throws: ONNXImportError.self) { try short.convert() }
        #expect(error.description.contains("needs bytes 8..<24 of 'short_external.weights', which has 12 bytes"), "\(error)")
        let escaping = try #require(ONNXFixture.named("escaping_external"))
        let refusal = try #require(throws: ONNXImportError.self) { try escaping.convert() }
        #expect(refusal.description.contains("not a relative path inside the model's folder"), "\(refusal)")
    }
}
