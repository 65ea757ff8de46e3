import Testing
import GraftModel
import Runtime
import Tensors

/// The bar every kernel meets against the real framework's output.
let parityTolerance: Float = 1e-4

@Suite("Parity with TensorFlow/Keras and OpenCV's Caffe importer")
struct ParityTests {
    @Test("every fixture matches its reference", arguments: FixtureCase.names)
    func fixtureMatchesReference(name: String) throws {
        let fixture = try FixtureCase(name)
        let session = try InferenceSession(model: fixture.model, outputs: fixture.outputs.map(\.name), threadCount: 2)
        let results = try session.run(fixture.inputs)
        #expect(results.count == fixture.outputs.count)
        for (result, output) in zip(results, fixture.outputs) {
            #expect(result.shape == output.expected.shape, "\(name) \(output.name)")
            let error = result.relativeMaxError(to: output.expected)
            #expect(error <= parityTolerance, "\(name) \(output.name): relative max error \(error)")
        }
    }

    @Test func fixturesArePresent() {
        #expect(FixtureCase.names.count >= 60)
    }

    @Test("batch sizes 1 and 3 give the per-item results of batch 2", arguments: ["residual_net", "residual_net_nchw", "se_block", "caffe_conv_bn_scale"])
    func batchSizes(name: String) throws {
        let fixture = try FixtureCase(name)
        let session = try InferenceSession(model: fixture.model, outputs: fixture.outputs.map(\.name), threadCount: 2)
        let inputName = fixture.inputs.keys.sorted().first!
        guard fixture.inputs.count == 1 else { return }
        let input = fixture.inputs[inputName]!
        let one = try session.run(input.batchItems(0..<1))
        let three = try session.run(input.appendingBatch(input.batchItems(1..<2)))
        for (index, output) in fixture.outputs.enumerated() {
            #expect(one[index].relativeMaxError(to: output.expected.batchItems(0..<1)) <= parityTolerance)
            let expectedThree = output.expected.appendingBatch(output.expected.batchItems(1..<2))
            #expect(three[index].relativeMaxError(to: expectedThree) <= parityTolerance)
        }
        // The plan for batch 2 is still cached and still right.
        let two = try session.run(input)
        #expect(two[0].relativeMaxError(to: fixture.outputs[0].expected) <= parityTolerance)
    }

    /// The kernels cut every product and convolution by its shape alone (never by the thread
    /// count), so the same OpenBLAS calls compute the same values whatever the thread count: the
    /// results are bit-identical, which the Spark driver relies on when shards run with other
    /// thread counts than a single run.
    @Test("results are bit-identical whatever the thread count",
          arguments: ["residual_net", "conv_transpose_same_nchw", "upsampling_bilinear", "caffe_lrn", "se_block", "depthwise_wide_channels"])
    func threadCountInvariance(name: String) throws {
        let fixture = try FixtureCase(name)
        let requests = fixture.outputs.map(\.name)
        let single = try InferenceSession(model: fixture.model, outputs: requests, threadCount: 1).run(fixture.inputs)
        for threads in [2, 3] {
            let several = try InferenceSession(model: fixture.model, outputs: requests, threadCount: threads).run(fixture.inputs)
            for (a, b) in zip(single, several) {
                #expect(a.scalars == b.scalars, "\(threads) threads")
            }
        }
    }
}
