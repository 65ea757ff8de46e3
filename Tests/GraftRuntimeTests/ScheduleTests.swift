import Foundation
import GraftModel
import GraftRuntime
import GraftTestSupport
import GraftTensors
import Testing

/// `BatchSchedule.automatic`: a batch's first layers run image by image while the batch's
/// activations there are large (at least 8 MiB per step) and the weights small (at most
/// 256 KiB), up to the last point where one value carries the graph; the rest runs the whole
/// batch. An image's result is the same bits either way, and Keras's.
@Suite struct ScheduleTests {
    /// The `schedule_net` fixture (Tools/fixtures/make_op_fixtures.py): on 128×128×8 images a 1×1
    /// convolution to 32 channels, a 3×3 one to 24, 2×2 max pooling, a 1×1 to 128 channels at
    /// 64×64, pooling again, a 3×3 to 32 channels at 32×32 (a batch of 8 gives it 5 MiB of
    /// activations: it runs the whole batch), and global average pooling.
    static let fixture = Result { try FixtureCase("schedule_net") }

    /// The batch Keras's `expected_formula_batch8.npy` was computed on: element i (NHWC, row-major)
    /// is float32(2 sin(0.001 i)).
    static func images() -> Tensor {
        let shape = [8, 128, 128, 8]
        return Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Float(2 * sin(0.001 * Double($0))) })
    }

    @Test("a batch of 8 runs the layers before the 32×32 one image by image; a batch of 2 or 1 runs whole")
    func prefixEndsWhereActivationsShrink() throws {
        let session = try InferenceSession(model: Self.fixture.get().model, threadCount: 2)
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

    @Test("the features match Keras's, and are the same bits image by image, in the whole batch, alone, and at 1 or 2 threads")
    func sameBitsEitherWay() throws {
        let fixture = try Self.fixture.get()
        let batch = Self.images()
        let keras = try Tensor(npyFile: FixtureCase.root.appendingPathComponent("schedule_net").appendingPathComponent("expected_formula_batch8.npy").path)
        var reference: [UInt32]?
        for threads in [1, 2] {
            for schedule in [BatchSchedule.automatic, .wholeBatch, .imageByImage] {
                let features = try InferenceSession(model: fixture.model, threadCount: threads, schedule: schedule).run(batch)[0]
                #expect(features.relativeMaxError(to: keras) <= parityTolerance, "\(schedule), \(threads) threads: \(features.relativeMaxError(to: keras)) from Keras")
                let bits = features.scalars.map(\.bitPattern)
                if let reference { #expect(bits == reference, "\(schedule), \(threads) threads") } else { reference = bits }
            }
        }
        let alone = try InferenceSession(model: fixture.model, threadCount: 2).run(batch.batchItems(5..<6))[0].scalars.map(\.bitPattern)
        #expect(Array(reference![(5 * 32)..<(6 * 32)]) == alone)
    }
}
