import GraftFeatureCache
import Foundation
import GraftModel
import GraftNumerics
import GraftTestSupport
import Testing
@testable import GraftHead
/// `HeadAttachment` on a small trunk written here: image [?, 4, 4, 3] NHWC → 1×1 Conv2D "conv"
/// (5 channels) → Dense "classifier".
@Suite("Attaching a head to its trunk")
struct AttachmentTests {
    static func writeTrunk(to path: String) throws {
        var generator = SeededGenerator(seed: 11)
        let nodes = [
            Node(name: "conv", operation: .conv2D(.init(layout: .nhwc, kernelSize: Pair(1, 1), activation: .rectifier)),
                 inputs: ["image"], outputs: ["conv"], outputShapes: [[nil, 4, 4, 5]],
                 weights: ["kernel": "conv/kernel", "bias": "conv/bias"]),
            Node(name: "flat", operation: .flatten, inputs: ["conv"], outputs: ["flat"], outputShapes: [[nil, 80]]),
            Node(name: "classifier", operation: .dense(.init()), inputs: ["flat"], outputs: ["classifier"], outputShapes: [[nil, 3]],
                 weights: ["kernel": "classifier/kernel"]),
        ]
        let graph = Graph(name: "trunk", inputs: [ValueInfo(name: "image", shape: [nil, 4, 4, 3], layout: .nhwc)],
                          outputs: ["classifier"], nodes: nodes, preprocessing: ["preset": "none"],
                          provenance: Provenance(framework: "keras", converter: "test"))
        try ModelWriter.write(graph: graph, weights: [
            WeightTensor(name: "conv/kernel", shape: [1, 1, 3, 5], values: (0..<15).map { _ in generator.nextUnitFloat() - 0.5 }),
            WeightTensor(name: "conv/bias", shape: [5], values: [0.1, 0.2, 0.3, 0.4, 0.5]),
            WeightTensor(name: "classifier/kernel", shape: [80, 3], values: (0..<240).map { _ in generator.nextUnitFloat() }),
        ], to: path)
    }

    /// A head on `dimension` random features of `layer`, trained as if from a cache of `trunk`.
    static func writeHead(to path: String, trunk: ModelFile, layer: String, dimension: Int, pooling: FeaturePooling,
                          kind: HeadKind = .logistic) throws -> TrainedHead {
        var generator = SeededGenerator(seed: 5)
        let rows = 60
        let labels = (0..<rows).map { Int32($0 % 3) }
        let features = (0..<(rows * dimension)).map { index in
            generator.nextUnitFloat() * 4 + Float(labels[index / dimension]) * Float(index % dimension % 3) + 10
        }
        let data = LabelledFeatures(source: "synthetic.h5", layer: layer, dimension: dimension, classes: ["a", "b", "c"],
                                    ids: (0..<rows).map { "img\($0).png" }, labels: labels, features: features)
        var options = HeadTrainingOptions(kind: kind, threadCount: 1)
        options.hiddenUnits = 8
        options.epochs = 3
        let head = try HeadTrainer.train(data, validation: nil, options: options)
        let provenance = FeatureCacheProvenance(modelSHA256: trunk.contentHash(), modelName: trunk.graph.name, layers: [layer],
                                                pooling: pooling, preprocessing: #"{"preset":"none","size":[4,4]}"#,
                                                inputListSHA256: String(repeating: "0", count: 64), numerics: "test")
        try head.write(to: path, source: HeadSource(cachePath: "synthetic.h5", cache: provenance, cacheRows: rows), options: options)
        return head
    }

    @Test("pooled features: a GlobalAveragePooling node, the standardisation folded into the Dense layer")
    func pooledAndFolded() throws {
        let folder = try TemporaryFolder()
        try Self.writeTrunk(to: folder.path("trunk.graft"))
        let trunk = try ModelFile(path: folder.path("trunk.graft"))
        let trained = try Self.writeHead(to: folder.path("head.graft"), trunk: trunk, layer: "conv", dimension: 5, pooling: .avg)
        let head = try ModelFile(path: folder.path("head.graft"))
        #expect(head.graph.nodes.map(\.op) == [.scale, .dense, .softmax])

        let result = try HeadAttachment.attach(trunk: trunk, head: head)
        let graph = result.graph
        #expect(graph.nodes.map(\.name) == ["conv", "head/global_average_pooling", "head/logits", "head/probabilities"])
        #expect(graph.nodes[1].op == .globalAveragePooling && graph.nodes[1].operation.layout == .nhwc)
        #expect(graph.nodes[2].inputs == ["head/global_average_pooling"])
        #expect(graph.outputs == ["head/probabilities"])
        #expect(graph.recordedClassNames == ["a", "b", "c"])
        #expect(graph.preprocessing == ["preset": "none", "size": [4, 4]])
        #expect(graph.provenance.sources.map(\.sha256) == [trunk.contentHash(), head.contentHash()])
        #expect(!result.weights.contains { $0.name == "classifier/kernel" })

        // The folded Dense on raw features equals Scale then Dense.
        let kernel = try #require(result.weights.first { $0.name == graph.nodes[2].weights["kernel"] })
        let bias = try #require(result.weights.first { $0.name == graph.nodes[2].weights["bias"] })
        var generator = SeededGenerator(seed: 8)
        let x = (0..<(4 * 5)).map { _ in generator.nextUnitFloat() * 20 }
        let expected = trained.probabilities(for: x, rowCount: 4)
        for row in 0..<4 {
            var logits = [Double](repeating: 0, count: 3)
            for j in 0..<3 {
                logits[j] = Double(bias.values[j])
                for i in 0..<5 { logits[j] += Double(x[row * 5 + i]) * Double(kernel.values[i * 3 + j]) }
            }
            let largest = logits.max()!
            let total = logits.reduce(0) { $0 + exp($1 - largest) }
            for j in 0..<3 {
                #expect(abs(exp(logits[j] - largest) / total - Double(expected[row * 3 + j])) < 1e-5)
            }
        }

        // The result is a valid model file.
        try ModelWriter.write(graph: graph, weights: result.weights, to: folder.path("full.graft"))
        #expect(try ModelFile(path: folder.path("full.graft")).graph.nodes.count == 4)
    }

    @Test("an unpooled spatial layer gets a Flatten; an MLP head keeps its hidden layer")
    func flattenedPerceptron() throws {
        let folder = try TemporaryFolder()
        try Self.writeTrunk(to: folder.path("trunk.graft"))
        let trunk = try ModelFile(path: folder.path("trunk.graft"))
        _ = try Self.writeHead(to: folder.path("head.graft"), trunk: trunk, layer: "conv", dimension: 80, pooling: .none, kind: .mlp)
        let graph = try HeadAttachment.attach(trunk: trunk, head: ModelFile(path: folder.path("head.graft"))).graph
        #expect(graph.nodes.map(\.name) == ["conv", "head/flatten", "head/hidden", "head/logits", "head/probabilities"])
        #expect(graph.nodes[1].op == .flatten && graph.nodes[1].outputShapes == [[nil, 80]])
        #expect(graph.nodes[2].operation.activation == .rectifier)
    }

    @Test("the wrong trunk, an unknown layer and a length mismatch are refused")
    func refusals() throws {
        let folder = try TemporaryFolder()
        try Self.writeTrunk(to: folder.path("trunk.graft"))
        let trunk = try ModelFile(path: folder.path("trunk.graft"))
        _ = try Self.writeHead(to: folder.path("head.graft"), trunk: trunk, layer: "conv", dimension: 5, pooling: .avg)
        let head = try ModelFile(path: folder.path("head.graft"))

        _ = try Self.writeHead(to: folder.path("flat-head.graft"), trunk: trunk, layer: "conv", dimension: 7, pooling: .none)
        #expect(throws: HeadError.dimensionMismatch(trunk: folder.path("trunk.graft"), layer: "conv", trunkDimension: 80, headDimension: 7)) {
            _ = try HeadAttachment.attach(trunk: trunk, head: ModelFile(path: folder.path("flat-head.graft")))
        }
        _ = try Self.writeHead(to: folder.path("lost-head.graft"), trunk: trunk, layer: "pool5", dimension: 5, pooling: .none)
        #expect(throws: HeadError.unknownLayer(trunk: folder.path("trunk.graft"), layer: "pool5")) {
            _ = try HeadAttachment.attach(trunk: trunk, head: ModelFile(path: folder.path("lost-head.graft")))
        }
        // Another trunk: same graph, one bias changed.
        let other = folder.path("other.graft")
        let weights = try trunk.tensors.keys.sorted().map { name in
            var values = Array(try trunk.floats(named: name))
            if name == "conv/bias" { values[0] += 1 }
            return WeightTensor(name: name, shape: trunk.tensors[name]!.shape, values: values)
        }
        try ModelWriter.write(graph: trunk.graph, weights: weights, to: other)
        do {
            _ = try HeadAttachment.attach(trunk: ModelFile(path: other), head: head)
            Issue.record("expected an error")
        } catch let error as HeadError {
            guard case .trunkMismatch = error else { Issue.record("unexpected \(error)"); return }
            #expect(error.description.contains("SHA-256"))
        }
        // A trunk is not a head.
        #expect(throws: HeadError.self) { _ = try HeadDescription(model: trunk) }
    }
}
