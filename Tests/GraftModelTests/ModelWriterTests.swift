import Foundation
import GraftModel
import GraftSupport
import GraftTensors
import GraftTestSupport
import Testing
@Suite struct Writing {
    /// Copies every tensor of a Python-written file into graft's writer.
    func rewrite(_ file: ModelFile, to path: String) throws {
        let weights = try file.tensors.keys.sorted().map { name in
            WeightTensor(name: name, shape: file.tensors[name]!.shape, values: Array(try file.floats(named: name)))
        }
        try ModelWriter.write(graph: file.graph, weights: weights, to: path)
    }

    @Test func roundTripKeepsGraphAndWeights() throws {
        let original = try ModelFile(path: fixturePath("tiny-cnn.graft"))
        let folder = try TemporaryFolder()
        let path = folder.path("roundtrip.graft")
        try rewrite(original, to: path)
        let copy = try ModelFile(path: path)
        #expect(copy.graph == original.graph)
        #expect(Set(copy.tensors.keys) == Set(original.tensors.keys))
        for name in original.tensors.keys {
            #expect(Array(try copy.floats(named: name)) == Array(try original.floats(named: name)))
            #expect(copy.tensors[name]!.shape == original.tensors[name]!.shape)
            // Every tensor starts on a 64-byte boundary of the file.
            #expect((copy.dataOffset + copy.tensors[name]!.byteRange.lowerBound) % 64 == 0, "\(name)")
        }
        #expect(copy.dataOffset % 64 == 0)
    }

    /// The committed file `written-by-graft.graft` is what graft's writer makes of tiny-cnn.graft;
    /// Tools/check-safetensors.py loads it with Python's safetensors. This keeps the two in step.
    @Test func writerOutputMatchesTheFileCheckedWithPythonSafetensors() throws {
        let original = try ModelFile(path: fixturePath("tiny-cnn.graft"))
        let committed = fixturePath("written-by-graft.graft")
        let folder = try TemporaryFolder()
        let path = folder.path("written.graft")
        try rewrite(original, to: path)
        if ProcessInfo.processInfo.environment["GRAFT_UPDATE_FIXTURES"] == "1" {
            try? FileManager.default.removeItem(atPath: committed)
            try FileManager.default.copyItem(atPath: path, toPath: committed)
        }
        let made = try Data(contentsOf: URL(fileURLWithPath: path))
        let expected = try Data(contentsOf: URL(fileURLWithPath: committed))
        #expect(made == expected, "the writer's output changed; rerun Tools/check-safetensors.py with GRAFT_UPDATE_FIXTURES=1")
    }

    @Test func aGraphThatNamesAMissingWeightIsNotWritten() throws {
        let original = try ModelFile(path: fixturePath("tiny-cnn.graft"))
        let folder = try TemporaryFolder()
        let path = folder.path("incomplete.graft")
        let weights = [WeightTensor(name: "conv1/kernel", shape: [3, 3, 1, 8], values: Array(try original.floats(named: "conv1/kernel")))]
        #expect(throws: ModelFormatError.self) { try ModelWriter.write(graph: original.graph, weights: weights, to: path) }
        #expect(!FileManager.default.fileExists(atPath: path))
        let leftovers = try folder.contents().filter { $0.contains("incomplete.graft") }
        #expect(leftovers.isEmpty)
    }

    @Test func anUnwritableFolderIsCannotCreate() throws {
        let original = try ModelFile(path: fixturePath("tiny-cnn.graft"))
        let weights = try original.tensors.keys.map { WeightTensor(name: $0, shape: original.tensors[$0]!.shape, values: Array(try original.floats(named: $0))) }
        do {
            try ModelWriter.write(graph: original.graph, weights: weights, to: "/nonexistent-folder/model.graft")
            Issue.record("written")
        } catch let error as FileError {
            #expect(error.exitStatus == .cannotCreate)
            #expect(error.description.contains("/nonexistent-folder/model.graft"))
        }
    }
}
