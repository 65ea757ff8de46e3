import Foundation
import GraftTestSupport
import GraftModel
import GraftNumerics
import GraftSupport
import GraftTensors
import Testing
/// What numpy saw when Tools/fixtures/make_graft_fixtures.py wrote tiny-cnn.graft.
struct Expected: Decodable {
    struct TensorFacts: Decodable {
        var shape: [Int]
        var sum: Double
        var first: [Double]
    }
    var parameters: Int
    var tensors: [String: TensorFacts]

    static func load() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: fixtureFolder().appendingPathComponent("tiny-cnn.expected.json")))
    }
}

@Suite struct ReadingPythonWrittenFiles {
    @Test func readsTheGraphAndEveryTensorAsNumpyWroteThem() throws {
        let file = try ModelFile(path: fixturePath("tiny-cnn.graft"))
        let expected = try Expected.load()
        #expect(file.graph.name == "tiny_cnn")
        #expect(file.graph.nodes.map(\.op) == [.conv2D, .maxPooling2D, .conv2D, .globalAveragePooling, .dense, .softmax])
        #expect(file.graph.inputs == [ValueInfo(name: "image", shape: [nil, 28, 28, 1], layout: .nhwc)])
        #expect(file.graph.defaultFeatureValue == "gap")
        #expect(file.parameterCount == expected.parameters)
        #expect(Set(file.tensors.keys) == Set(expected.tensors.keys))
        for (name, facts) in expected.tensors {
            let values = try file.floats(named: name)
            #expect(file.tensors[name]?.shape == facts.shape, "\(name)")
            let sum = values.reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - facts.sum) <= 1e-9 * max(1, abs(facts.sum)), "\(name): sum \(sum) vs numpy \(facts.sum)")
            #expect(Array(values.prefix(4)).map(Double.init) == facts.first, "\(name)")
        }
        let conv = try #require(file.graph.nodes.first)
        #expect(conv.operation.convolution?.kernelSize == Pair(3, 3))
        #expect(conv.operation.activation == .rectifier)
        #expect(conv.weights == ["kernel": "conv1/kernel", "bias": "conv1/bias"])
    }

    @Test func aMissingTensorIsNamedInTheError() throws {
        let file = try ModelFile(path: fixturePath("tiny-cnn.graft"))
        #expect(throws: ModelFormatError.missingTensor(path: file.path, tensor: "nope")) { try file.floats(named: "nope") }
    }
}

@Suite struct CorruptFiles {
    /// Each damaged fixture and a phrase its one-line message must contain.
    static let cases: [(String, String)] = [
        ("truncated", "is truncated"),
        ("header-past-end", "runs past the end of the file"),
        ("offsets-out-of-range", "outside the"),
        ("overlapping-tensors", "overlap"),
        ("dtype-size-mismatch", "is F64 with shape"),
        ("bad-json", "unreadable header"),
        ("missing-graph", "has no graph"),
        ("future-format-version", "format_version 99"),
        ("undefined-value", "reads 'pool9' before"),
        ("missing-weight", "conv1/kernel_missing"),
        ("unknown-op", "FancyPool"),
        ("graph-not-json", "does not decode"),
        ("empty", "has 0 bytes"),
        ("unknown-dtype", "dtype 'Q7'"),
    ]

    @Test(arguments: cases)
    func isRejectedWithItsOwnMessage(name: String, phrase: String) throws {
        let path = fixturePath("corrupt/\(name).graft")
        do {
            _ = try ModelFile(path: path)
            Issue.record("\(name) was accepted")
        } catch let error as ModelFormatError {
            let message = error.description
            #expect(message.contains(phrase), "\(name): \(message)")
            #expect(message.contains(path))
            #expect(!message.contains("\n"))
            #expect(error.exitStatus == .dataError)
        }
    }

    @Test func messagesAreDistinct() throws {
        var messages = Set<String>()
        for (name, _) in Self.cases {
            do { _ = try ModelFile(path: fixturePath("corrupt/\(name).graft")) } catch {
                messages.insert("\(error)".replacingOccurrences(of: name, with: "X"))
            }
        }
        #expect(messages.count == Self.cases.count)
    }

    @Test func aMissingFileIsNoInput() {
        do {
            _ = try ModelFile(path: "/nonexistent/model.graft")
            Issue.record("accepted")
        } catch let error as FileError {
            #expect(error.exitStatus == .noInput)
            #expect(error.description.contains("/nonexistent/model.graft"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    /// Random single-byte damage anywhere in a valid file never crashes the reader.
    @Test func randomDamageIsRejectedOrHarmless() throws {
        let original = try readBytes(fixturePath("tiny-cnn.graft"))
        var generator = SplitMix64(seed: 7)
        let folder = try TemporaryFolder()
        let path = folder.path("damaged.graft")
        for _ in 0..<300 {
            var bytes = original
            let position = Int(generator.next() % UInt64(min(bytes.count, 4096)))
            bytes[position] = UInt8(truncatingIfNeeded: generator.next())
            if generator.next() % 4 == 0 { bytes.removeLast(Int(generator.next() % 64)) }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do { _ = try ModelFile(path: path) } catch is ModelFormatError {} // rejected cleanly
        }
    }
}
