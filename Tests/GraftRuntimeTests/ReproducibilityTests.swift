import Foundation
import GraftModel
import GraftNumerics
import GraftRuntime
import GraftTestSupport
import GraftTensors
import Testing

/// An image's result must not depend on the batch it runs in, its position there, or the thread
/// count: the Spark driver shards images freely, and a resumed cache must equal an uninterrupted
/// one. Checked bit for bit (not within a tolerance) on every fixture with a single image input.
@Suite struct Reproducibility {
    /// Fixtures whose single input has a batch of at least two items.
    static let cases: [String] = FixtureCase.names.filter { name in
        guard let fixture = try? FixtureCase(name), fixture.inputs.count == 1 else { return false }
        return fixture.input.shape[0] >= 2
    }

    @Test func everyFixtureWithABatchIsChecked() {
        #expect(Reproducibility.cases.count >= 40)
    }

    @Test("an item's result is bit-identical alone, at another position, in another batch size and with other thread counts",
          arguments: Reproducibility.cases)
    func bitIdentical(name: String) throws {
        try checkBitIdentity(name, precision: .float32)
    }

    @Test("the same holds with bfloat16 convolutions", .enabled(if: Precision.bfloat16Unavailable == nil, "no native bfloat16 here"),
          arguments: Reproducibility.cases)
    func bitIdenticalInBFloat16(name: String) throws {
        try checkBitIdentity(name, precision: .bfloat16)
    }

    /// graft's Winograd cuts each image's tiles into blocks by the layer's shape. On 100×100
    /// images every layer of the fixture takes two or three blocks per image, which the threads
    /// share; on 16×16 images each layer is one block of 16 tiles, whose transforms and 36
    /// products the threads share when the batch is smaller than the thread count; on 8×8
    /// images the layers have 4 tiles an image (8×8 and 6×6 outputs), the least graft's
    /// Winograd takes. Either way the results must not depend on the batch or the thread count.
    @Test(arguments: [("winograd_blocks", 100), ("winograd_blocks_nchw", 100), ("winograd_blocks", 16), ("winograd_blocks_nchw", 16),
                      ("winograd_blocks", 8), ("winograd_blocks_nchw", 8)])
    func winogradTileBlocks(name: String, size: Int) throws {
        let fixture = try FixtureCase(name)
        var shape = fixture.input.shape
        shape[0] = 2
        if name.hasSuffix("nchw") { (shape[2], shape[3]) = (size, size) } else { (shape[1], shape[2]) = (size, size) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let scalars = (0..<shape.reduce(1, *)).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 500_000
        }
        let session = try InferenceSession(model: fixture.model, outputs: fixture.outputs.map(\.name), threadCount: 2)
        let steps = try session.memoryPlan(inputShapes: [shape]).steps
        // All four 3×3 layers on graft's Winograd (the one with 32 output channels on graft's
        // products, the others on OpenBLAS's), unless GRAFT_WINOGRAD=0 turns it off.
        if session.numerics.contains("graft winograd") {
            #expect(steps.filter { $0.contains("graft Winograd") }.count == 4, "\(steps)")
            #expect(steps.contains { $0.contains("residual Add (graft Winograd") }, "\(steps)")
        }
        try checkBitIdentity(name, precision: .float32, input: Tensor(shape: shape, scalars: scalars))
    }

    /// With large transformed weights (`Cin·Cout > 256²`), graft's Winograd shares each block of
    /// tiles among the threads phase by phase, blocks sized by the thread count (one thread takes
    /// whole blocks alone): a 3×3 convolution of 272 to 256 channels on 40×40 images (100 tiles an
    /// image, 2 or 3 blocks at batch 3) must still give every image the same bits alone, at any
    /// position of a batch and on 1, 2 or 3 threads; and stay within the parity bar of oneDNN's
    /// direct convolution and of float64 sums computed here at sampled outputs.
    @Test func winogradBlocksSharedAmongThreads() throws {
        let (cin, cout, size) = (272, 256, 40)
        let node = Node(name: "conv", operation: .conv2D(.init(layout: .nhwc, kernelSize: Pair(3, 3), padding: .same)), inputs: ["image"],
                        outputs: ["conv"], outputShapes: [[nil, size, size, cout]], weights: ["kernel": "k", "bias": "b"])
        let graph = Graph(name: "wide", inputs: [ValueInfo(name: "image", shape: [nil, size, size, cin], layout: .nhwc)],
                          outputs: ["conv"], nodes: [node], provenance: Provenance(framework: "graft", converter: "test"))
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func values(_ count: Int, scale: Float) -> [Float] {
            (0..<count).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000 * scale
            }
        }
        let folder = try TemporaryFolder()
        let path = folder.path("wide.graft")
        let kernel = values(9 * cin * cout, scale: 0.05), bias = values(cout, scale: 0.1)
        try ModelWriter.write(graph: graph, weights: [WeightTensor(name: "k", shape: [3, 3, cin, cout], values: kernel),
                                                      WeightTensor(name: "b", shape: [cout], values: bias)], to: path)
        let model = try ModelFile(path: path)
        let images = Tensor(shape: [2, size, size, cin], scalars: values(2 * size * size * cin, scale: 1))
        let second = images.batchItems(1..<2)
        let mixed = second.appendingBatch(images.batchItems(0..<1)).appendingBatch(second)
        let direct = try InferenceSession(model: model, threadCount: 2, algorithm: .exact).run(second)[0]
        // A float64 reference, summed here term by term, at 256 outputs spread over the image
        // (its borders included): the definition of a "same" 3×3 convolution, no kernel involved.
        let pixels = second.scalars
        let samples = (0..<256).map { i in ((i * 7919) % (size * size), (i * 104_729) % cout) }
        let sums: [Double] = samples.map { pixel, k in
            let (y, x) = (pixel / size, pixel % size)
            var sum = Double(bias[k])
            for dy in 0..<3 {
                for dx in 0..<3 {
                    let (iy, ix) = (y + dy - 1, x + dx - 1)
                    guard iy >= 0, iy < size, ix >= 0, ix < size else { continue }
                    for ci in 0..<cin { sum += Double(pixels[(iy * size + ix) * cin + ci]) * Double(kernel[((dy * 3 + dx) * cin + ci) * cout + k]) }
                }
            }
            return sum
        }
        let sumScale = sums.map(abs).max()!
        var reference: [UInt32]?
        for threads in [1, 2, 3] {
            let session = try InferenceSession(model: model, threadCount: threads, algorithm: .winograd)
            if session.numerics.contains("graft winograd") && CPUFeatures.hasAVX2 {
                let steps = try session.memoryPlan(inputShapes: [mixed.shape]).steps
                #expect(steps.contains { $0.contains("graft Winograd F(4x4,3x3), AVX2 products") }, "\(steps)")
            }
            let alone = try session.run(second)[0], batch = try session.run(mixed)[0]
            let bits = alone.scalars.map(\.bitPattern)
            #expect(alone.relativeMaxError(to: direct) <= parityTolerance, "\(threads) threads: \(alone.relativeMaxError(to: direct)) from direct")
            let worst = zip(samples, sums).map { sample, value in abs(Double(alone.scalars[sample.0 * cout + sample.1]) - value) }.max()!
            #expect(worst / sumScale <= Double(parityTolerance), "\(threads) threads: \(worst / sumScale) from the float64 sums")
            for position in [0, 2] {
                #expect(Array(batch.scalars[(position * bits.count)..<((position + 1) * bits.count)]).map(\.bitPattern) == bits,
                        "position \(position) of 3, \(threads) threads")
            }
            if let reference { #expect(bits == reference, "\(threads) threads against 1") } else { reference = bits }
        }
    }

    private func checkBitIdentity(_ name: String, precision: Precision, input given: Tensor? = nil) throws {
        let fixture = try FixtureCase(name)
        let requests = fixture.outputs.map(\.name)
        let input = given ?? fixture.input
        // Item 1 alone, then [item 1, item 0, item 1] (item 1 at positions 0 and 2, batch 3).
        let second = input.batchItems(1..<2)
        let mixed = second.appendingBatch(input.batchItems(0..<1)).appendingBatch(second)
        for threads in [1, 2, 3] {
            let session = try InferenceSession(model: fixture.model, outputs: requests, threadCount: threads, precision: precision)
            let alone = try session.run(second)
            let batch = try session.run(mixed)
            for (index, request) in requests.enumerated() {
                let single = alone[index].scalars
                let items = batch[index].shape[0]
                #expect(items == 3, "\(name) \(request)")
                let size = single.count
                for position in [0, 2] {
                    let slice = Array(batch[index].scalars[(position * size)..<((position + 1) * size)])
                    #expect(slice.map(\.bitPattern) == single.map(\.bitPattern),
                            "\(name) \(request) \(precision): item at position \(position) of 3, \(threads) threads, differs from the item alone")
                }
            }
        }
        // Thread counts against each other, on the batch; and the batch with its first layers run
        // image by image (`BatchSchedule`), on 1 and 2 threads.
        let reference = try InferenceSession(model: fixture.model, outputs: requests, threadCount: 1, precision: precision).run(mixed)
        for threads in [2, 3] {
            let other = try InferenceSession(model: fixture.model, outputs: requests, threadCount: threads, precision: precision).run(mixed)
            for (a, b) in zip(reference, other) {
                #expect(a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern), "\(name): 1 and \(threads) threads differ")
            }
        }
        for threads in [1, 2] {
            let session = try InferenceSession(model: fixture.model, outputs: requests, threadCount: threads, precision: precision,
                                               schedule: .imageByImage)
            for (a, b) in zip(reference, try session.run(mixed)) {
                #expect(a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern),
                        "\(name) \(precision): image by image on \(threads) threads differs from the whole batch")
            }
        }
    }
}
