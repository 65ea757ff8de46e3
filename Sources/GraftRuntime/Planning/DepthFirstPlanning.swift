import Foundation
import GraftModel
import GraftTensors

/// How a batch moves through a model's first layers.
///
/// Layer by layer, every step reads and writes the whole batch. Early in a CNN the batch's
/// activations are large (ResNet50's 56×56×256 values take 3.2 MB an image, 25.7 MB for 8 images)
/// and the weights small, so at batch 8 each step streams its input and output through main
/// memory, while one image's values stay in the caches from one step to the next. Running those
/// first steps one image at a time, then the rest for the whole batch, does the same arithmetic
/// in the same order: an image's result is bit-identical either way (each kernel already gives an
/// image the same bits whatever the batch).
public enum BatchSchedule: String, Sendable, CaseIterable {
    /// The first steps run image by image where `DepthFirstPolicy.standard` says it pays (unless
    /// `GRAFT_DEPTH_FIRST=0` is in the environment); the others run the whole batch.
    case automatic
    /// Every step runs the whole batch.
    case wholeBatch
    /// As many first steps as possible run image by image: up to the last point, before the first
    /// op that mixes images (Flatten, Reshape, Dense …), where a single value carries everything
    /// the rest of the graph reads. For tests: every kernel then also runs on one image at a time.
    case imageByImage

    var policy: DepthFirstPolicy? {
        switch self {
        case .automatic: DepthFirstPolicy.enabledByEnvironment ? .standard : nil
        case .wholeBatch: nil
        case .imageByImage: .everywhere
        }
    }
}

/// Which of a graph's first nodes run one image at a time (`BatchSchedule`).
///
/// Nodes are taken in schedule order while each one qualifies: its inputs and outputs for the
/// whole batch take at least `minimumBatchBytes`, so that layer by layer they would spill from
/// the last-level cache, and its weights at most `maximumWeightBytes`, so that reading them
/// again for every image costs little. The prefix then ends at the last point before the first
/// node that does not qualify where exactly one value, not requested, crosses from the prefix
/// to the rest of the graph: that value is what the prefix hands over, image by image.
struct DepthFirstPolicy: Equatable {
    var minimumBatchBytes: Int
    var maximumWeightBytes: Int

    /// Measured on the 2-core Zen 4 (1 MiB L2 a core, 32 MiB L3), batch 8, 2 threads: 8 MiB (a
    /// quarter of the L3) and 256 KiB (a quarter of the L2). ResNet50 then runs conv1 to the end
    /// of its 56×56 stage image by image (the stage's 1×1 convolutions take 0.64–0.75 of their
    /// batch time), stopping before the 3×3 convolutions of 128 channels, whose Winograd weights
    /// (2.4 MB) make them slower image by image; MobileNetV2 runs up to its first 28×28 block;
    /// VGG16 only its first two layers.
    static let standard = DepthFirstPolicy(minimumBatchBytes: 8 << 20, maximumWeightBytes: 256 << 10)
    /// Every node qualifies (`BatchSchedule.imageByImage`).
    static let everywhere = DepthFirstPolicy(minimumBatchBytes: 0, maximumWeightBytes: .max)

    /// `GRAFT_DEPTH_FIRST=0` in the environment turns the automatic schedule off (for measuring).
    static let enabledByEnvironment = ProcessInfo.processInfo.environment["GRAFT_DEPTH_FIRST"] != "0"
}

/// The first steps of a plan, planned for one image: each image of the input is copied in and
/// the steps run, the steps that touch the handed-over value bound to that image's place in the
/// batch plan's input (`ExecutionPlan.HandOver`; the value's storage has the batch as its
/// outermost axis in every layout the planner uses).
final class DepthFirstPrefix {
    let plan: ExecutionPlan
    let images: Int
    /// Floats of one image of the graph input.
    let inputFloats: Int

    init(plan: ExecutionPlan, images: Int, inputFloats: Int) {
        self.plan = plan
        self.images = images
        self.inputFloats = inputFloats
    }

    /// Step labels for profiles and `MemoryPlan.steps`.
    var labels: [String] { plan.labels.map { $0 + " [image by image]" } }

    /// Runs every image of `input` through the prefix. `times` sums each step's time over the
    /// images.
    func run(_ input: Tensor, times: inout [Double]?) {
        let entry = plan.inputs[0].pointer
        input.withUnsafeBufferPointer { source in
            guard let start = source.baseAddress else { return }
            for image in 0..<images {
                entry.update(from: start + image * inputFloats, count: inputFloats)
                plan.execute(image: image, times: &times, offset: 0)
            }
        }
    }
}

extension PlanBuilder {
    /// Plans the graph as a prefix run image by image and the rest for the whole batch, when the
    /// graph has one input with a batch of two or more and `policy` gives a prefix; nil otherwise
    /// (also when planning the prefix for one image fails: planning the whole batch then reports
    /// the error).
    func planDepthFirst(inputShapes: [[Int]], policy: DepthFirstPolicy) throws(RuntimeError) -> ExecutionPlan? {
        guard graph.inputs.count == 1, inputShapes.count == 1, let batch = inputShapes[0].first, batch > 1 else { return nil }
        var single = inputShapes[0]
        single[0] = 1
        let head = PlanBuilder(graph: graph, threads: threads, algorithm: algorithm, precision: precision, sharedWeights: sharedWeights)
        guard let cut = try? head.planPrefix(inputShape: single, batch: batch, policy: policy),
              let handed = head.values[cut.value], handed.buffer != cut.inputBuffer else { return nil }
        let elementBytes = handed.layout.bfloat16 ? 2 : 4
        let imageBytes = handed.layout.elementCount * elementBytes

        var layout = handed.layout
        layout.shape[0] = batch
        let buffer = newBuffer(imageBytes / 4 * batch)
        define(cut.value, PlannedValue(layout: layout, buffer: buffer))
        // A depthwise convolution told by the 1×1 before it to run on nChw16c keeps that choice.
        blockedPairEnds = head.blockedPairEnds.filter { $0 >= cut.node }
        for index in cut.node..<graph.nodes.count { try planNode(at: index) }
        let plan = finish(inputs: [(cut.value, buffer, layout.shape)])
        let handOver = ExecutionPlan.HandOver(buffer: handed.buffer, target: plan.inputs[0].pointer, imageFloats: imageBytes / 4, images: batch)
        let prefixPlan = ExecutionPlan(builder: head, inputs: [(graph.inputs[0].name, cut.inputBuffer, single)], outputs: [],
                                       recipeCount: cut.recipeCount, handOver: handOver)
        plan.attach(DepthFirstPrefix(plan: prefixPlan, images: batch, inputFloats: single.reduce(1, *)))
        return plan
    }

    /// Plans nodes for one image (`inputShape`, batch 1) while they qualify under `policy` at
    /// `batch` images, and returns the last valid cut: the node the rest starts at, the steps
    /// recorded before it, the value handed over (stored batch first, each image a whole number
    /// of floats, so that every image's part is float-aligned), and the input's buffer. Steps recorded for
    /// nodes after the cut are left out of the prefix's plan.
    private func planPrefix(inputShape: [Int], batch: Int, policy: DepthFirstPolicy) throws(RuntimeError)
        -> (node: Int, recipeCount: Int, value: String, inputBuffer: Int)? {
        let input = graph.inputs[0].name
        let inputBuffer = newBuffer(inputShape.reduce(1, *))
        define(input, PlannedValue(layout: ValueLayout(shape: inputShape), buffer: inputBuffer))
        var producer: [String: Int] = [input: -1]
        for (index, node) in graph.nodes.enumerated() {
            for output in node.outputs { producer[output] = index }
        }
        var cut: (node: Int, recipeCount: Int, value: String)?
        for index in graph.nodes.indices {
            if index > 0, !fusedNodes.contains(index), let value = soleValue(crossingBefore: index, producer: producer),
               let planned = values[value], planned.layout.order.first == 0, planned.layout.shape.first == 1,
               planned.layout.elementCount * (planned.layout.bfloat16 ? 2 : 4) % 4 == 0 {
                cut = (index, recipes.count, value)
            }
            guard handlesImagesApart(graph.nodes[index]) else { break }
            try planNode(at: index)
            guard qualifies(index, batch: batch, policy: policy) else { break }
        }
        return cut.map { ($0.node, $0.recipeCount, $0.value, inputBuffer) }
    }

    /// The one value computed before node `index` that it or a later node reads (none requested),
    /// or nil when there are more, or the graph input is still read.
    private func soleValue(crossingBefore index: Int, producer: [String: Int]) -> String? {
        var crossing: String?
        for (value, made) in producer where made < index && ((lastUse[value] ?? -1) >= index || graph.requested.contains(value)) {
            guard made >= 0, crossing == nil, !graph.requested.contains(value) else { return nil }
            crossing = value
        }
        return crossing
    }

    /// Whether node `index`, planned for one image, joins the prefix under `policy` at `batch`
    /// images (a node computed by the step before it goes with that step).
    private func qualifies(_ index: Int, batch: Int, policy: DepthFirstPolicy) -> Bool {
        if fusedNodes.contains(index) { return true }
        var nodes = [graph.nodes[index]]
        if fusedNodes.contains(index + 1) { nodes.append(graph.nodes[index + 1]) }
        let touched = Set(nodes.flatMap { $0.inputs + $0.outputs })
        let activationBytes = touched.compactMap { values[$0]?.layout.elementCount }.reduce(0, +) * 4 * batch
        let weightBytes = nodes.flatMap { $0.weights.values.map(\.count) }.reduce(0, +) * 4
        return activationBytes >= policy.minimumBatchBytes && weightBytes <= policy.maximumWeightBytes
    }

    /// Whether a node computes each image's result from that image alone, with the same
    /// attributes at any batch size: spatial and element-wise ops, and ops along an axis other
    /// than the batch's. Flatten, Reshape, Transpose, Dense and LayerNormalization end a prefix.
    private func handlesImagesApart(_ node: ExecutableNode) -> Bool {
        func notBatch(_ axis: Int) -> Bool {
            guard let rank = node.inputs.first.flatMap({ values[$0]?.layout.rank }) else { return false }
            return (axis < 0 ? axis + rank : axis) > 0
        }
        switch node.operation {
        case .conv2D, .depthwiseConv2D, .conv2DTranspose, .batchNormalization, .scale, .rescaling, .localResponseNormalization,
             .activation, .preLU, .identity, .maxPooling2D, .averagePooling2D, .globalAveragePooling, .globalMaxPooling,
             .pad, .crop, .upSampling2D, .add, .subtract, .multiply, .divide, .average, .maximum, .minimum:
            return true
        case let .softmax(axis), let .concatenate(axis), let .slice(axis, _):
            return notBatch(axis)
        case .dense, .layerNormalization, .flatten, .reshape, .transpose:
            return false
        }
    }
}
