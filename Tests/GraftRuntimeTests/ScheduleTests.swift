import Foundation
import GraftModel
import GraftRuntime
import GraftTestSupport
import GraftTensors
import Testing

/// `BatchSchedule.automatic`: a batch's first layers run image by image while the batch's
/// activations there are large (at least 8 MiB per step) and the weights small (at most
/// 256 KiB), up to the last point where one value carries the graph; the rest runs the whole
/// batch. An image's result is the same bits either way.
@Suite struct ScheduleTests {
    /// 128×128×8 images: a 1×1 convolution to 32 channels, a 3×3 one, 2×2 max pooling, a 1×1
    /// to 128 channels at 64×64, pooling again, a 3×3 to 32 channels at 32×32 (a batch of 8 gives
    /// it 5 MiB of activations: it runs the whole batch), and global average pooling.
    static func model(in folder: borrowing TemporaryFolder) throws -> ModelFile {
        func convolution(_ name: String, _ input: String, size: Int, kernel: Int, cin: Int, cout: Int) -> (Node, [WeightTensor]) {
            var state = UInt64(name.unicodeScalars.reduce(1) { $0 &* 31 &+ Int($1.value) }) &* 0x9E37_79B9_7F4A_7C15
            func values(_ count: Int, scale: Float) -> [Float] {
                (0..<count).map { _ in
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000 * scale
                }
            }
            let node = Node(name: name, operation: .conv2D(.init(layout: .nhwc, kernelSize: Pair(kernel, kernel), padding: .same, activation: .relu())),
                            inputs: [input], outputs: [name], outputShapes: [[nil, size, size, cout]],
                            weights: ["kernel": name + "/k", "bias": name + "/b"])
            let scale = 1 / Float(kernel * kernel * cin).squareRoot()
            return (node, [WeightTensor(name: name + "/k", shape: [kernel, kernel, cin, cout], values: values(kernel * kernel * cin * cout, scale: scale)),
                           WeightTensor(name: name + "/b", shape: [cout], values: values(cout, scale: 0.1))])
        }
        func pooling(_ name: String, _ input: String, size: Int, channels: Int) -> Node {
            Node(name: name, operation: .maxPooling2D(.init(layout: .nhwc, poolSize: Pair(2, 2))), inputs: [input], outputs: [name],
                 outputShapes: [[nil, size, size, channels]])
        }
        let layers = [convolution("expand", "image", size: 128, kernel: 1, cin: 8, cout: 32), convolution("conv1", "expand", size: 128, kernel: 3, cin: 32, cout: 24),
                      convolution("conv2", "pool1", size: 64, kernel: 1, cin: 24, cout: 128), convolution("conv3", "pool2", size: 32, kernel: 3, cin: 128, cout: 32)]
        let nodes = [layers[0].0, layers[1].0, pooling("pool1", "conv1", size: 64, channels: 24), layers[2].0, pooling("pool2", "conv2", size: 32, channels: 128),
                     layers[3].0,
                     Node(name: "features", operation: .globalAveragePooling(.init(layout: .nhwc)), inputs: ["conv3"], outputs: ["features"],
                          outputShapes: [[nil, 32]])]
        let graph = Graph(name: "schedule", inputs: [ValueInfo(name: "image", shape: [nil, 128, 128, 8], layout: .nhwc)], outputs: ["features"],
                          nodes: nodes, provenance: Provenance(framework: "graft", converter: "test"))
        let path = folder.path("schedule.graft")
        try ModelWriter.write(graph: graph, weights: layers.flatMap(\.1), to: path)
        return try ModelFile(path: path)
    }

    static func images(_ count: Int) -> Tensor {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        return Tensor(shape: [count, 128, 128, 8], scalars: (0..<(count * 128 * 128 * 8)).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        })
    }

    @Test("a batch of 8 runs the layers before the 32×32 one image by image; a batch of 2 or 1 runs whole")
    func prefixEndsWhereActivationsShrink() throws {
        let folder = try TemporaryFolder()
        let session = try InferenceSession(model: Self.model(in: folder), threadCount: 2)
        let steps = try session.memoryPlan(inputShapes: [[8, 128, 128, 8]]).steps
        let apart = steps.filter { $0.hasSuffix("[image by image]") }
        #expect(!apart.isEmpty && steps.prefix(apart.count).allSatisfy { $0.hasSuffix("[image by image]") }, "\(steps)")
        for name in ["expand", "conv1", "conv2"] {
            #expect(apart.contains { $0.hasPrefix(name + " ") }, "\(name) runs image by image: \(steps)")
        }
        #expect(!apart.contains { $0.hasPrefix("conv3 ") || $0.hasPrefix("features ") }, "\(steps)")
        for batch in [1, 2] {
            let whole = try session.memoryPlan(inputShapes: [[batch, 128, 128, 8]]).steps
            #expect(!whole.contains { $0.hasSuffix("[image by image]") }, "batch \(batch): \(whole)")
        }
        let off = try InferenceSession(model: session.model, threadCount: 2, schedule: .wholeBatch)
        #expect(!(try off.memoryPlan(inputShapes: [[8, 128, 128, 8]]).steps.contains { $0.hasSuffix("[image by image]") }))
    }

    @Test("an image's features are the same bits image by image, in the whole batch, alone, and at 1 or 2 threads")
    func sameBitsEitherWay() throws {
        let folder = try TemporaryFolder()
        let model = try Self.model(in: folder)
        let batch = Self.images(8)
        var reference: [UInt32]?
        for threads in [1, 2] {
            for schedule in [BatchSchedule.automatic, .wholeBatch, .imageByImage] {
                let bits = try InferenceSession(model: model, threadCount: threads, schedule: schedule).run(batch)[0].scalars.map(\.bitPattern)
                if let reference { #expect(bits == reference, "\(schedule), \(threads) threads") } else { reference = bits }
            }
        }
        let alone = try InferenceSession(model: model, threadCount: 2).run(batch.batchItems(5..<6))[0].scalars.map(\.bitPattern)
        #expect(Array(reference![(5 * 32)..<(6 * 32)]) == alone)
    }
}
