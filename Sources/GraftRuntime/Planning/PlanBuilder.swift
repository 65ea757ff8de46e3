import GraftDNNL
import GraftModel
import GraftNumerics
/// The weights a session's plans share, as the kernels copy them when a plan is made: graft's
/// Winograd-transformed weights and oneDNN's reordered ones. Neither depends on the batch (oneDNN
/// mostly chooses the same layout at every batch size; a layout it has not kept is reordered
/// anew), so a plan for another batch size, such as the smaller last batch of `graft features`,
/// or the batch plan after an image-by-image prefix, which plans one node twice, reuses them.
/// For ResNet50 that is 180 MB of Winograd weights and 94 MB of oneDNN's, much of a plan's
/// making in page faults alone. Used under the session's lock, as planning is.
final class SharedWeights {
    let transformed = TransformedWeightCache()
    let reordered = ReorderedWeightCache()
}

/// A value during planning: where it is stored and in what order.
struct PlannedValue {
    var layout: ValueLayout
    var buffer: Int
}

/// Builds an `ExecutionPlan` for concrete input shapes: infers every shape, checks weights and
/// attributes against them, chooses storage orders, and records one step per kernel call.
final class PlanBuilder {
    let graph: ExecutableGraph
    let threads: Int
    private(set) var recipes: [StepRecipe] = []
    private(set) var bufferSizes: [Int] = []
    /// Small per-plan constants (batch-normalisation scale and shift), freed with the plan.
    private(set) var constants: [UnsafeMutableBufferPointer<Float>] = []
    /// Scratch memory for the folded kernel of the convolution being planned, and for that of a
    /// depthwise convolution fused into it, when the kernel copying them is oneDNN's or graft's
    /// Winograd (`WeightView.folded(into:)`).
    let foldScratch = FoldScratch(), stageFoldScratch = FoldScratch()

    private(set) var values: [String: PlannedValue] = [:]
    /// Values stored in each buffer (aliases share one), to know when a buffer may be overwritten.
    private(set) var bufferValues: [Int: [String]] = [:]
    /// Converted copies already made: value name and storage order.
    private var conversions: [String: PlannedValue] = [:]
    /// For each value, the index of the node that reads it last.
    let lastUse: [String: Int]
    /// For each value, the nodes that read it.
    let readers: [String: [Int]]
    /// The index of the node being planned.
    private(set) var position = 0
    /// Nodes already computed by the step of the node before them (a MaxPooling2D fused into a
    /// Winograd convolution's output transform): the loop skips them.
    var fusedNodes: Set<Int> = []
    /// Depthwise convolutions that run on nChw16c because the 1×1 convolution before them did, as
    /// the unfused half of a pair (`planBlocked`).
    var blockedPairEnds: Set<Int> = []
    /// When set, batches large enough run their first steps one image at a time
    /// (`DepthFirstPolicy`).
    let depthFirst: DepthFirstPolicy?
    /// Weights in kernels' own layouts, shared with the session's other plans.
    let sharedWeights: SharedWeights

    /// How 3×3 stride-1 convolutions are computed.
    let algorithm: ConvolutionAlgorithm
    /// The element type of the convolutions' operands.
    let precision: Precision

    init(graph: ExecutableGraph, threads: Int, algorithm: ConvolutionAlgorithm, precision: Precision = .float32,
         depthFirst: DepthFirstPolicy? = nil, sharedWeights: SharedWeights = SharedWeights()) {
        self.graph = graph
        self.depthFirst = depthFirst
        self.sharedWeights = sharedWeights
        self.threads = threads
        self.algorithm = algorithm
        self.precision = precision
        self.lastUse = graph.lastUse()
        self.readers = graph.readers()
    }

    /// Plans the whole graph for inputs of the given shapes (one per `graph.inputs`, in order):
    /// with a depth-first policy that applies to these shapes, as a prefix planned for one image
    /// and the rest for the whole batch (`planDepthFirst`).
    func build(inputShapes: [[Int]]) throws(RuntimeError) -> ExecutionPlan {
        if let depthFirst, let plan = try planDepthFirst(inputShapes: inputShapes, policy: depthFirst) { return plan }
        var inputBindings: [(name: String, buffer: Int, shape: [Int])] = []
        for (info, shape) in zip(graph.inputs, inputShapes) {
            let buffer = newBuffer(shape.reduce(1, *))
            define(info.name, PlannedValue(layout: ValueLayout(shape: shape), buffer: buffer))
            inputBindings.append((info.name, buffer, shape))
        }
        for index in graph.nodes.indices { try planNode(at: index) }
        return finish(inputs: inputBindings)
    }

    /// Plans node `index` (unless the step of the node before it computes it) and checks its
    /// results' shapes against the file's.
    func planNode(at index: Int) throws(RuntimeError) {
        let item = graph.nodes[index]
        position = index
        if !fusedNodes.contains(index) { try plan(item) }
        for (value, declared) in zip(item.outputs, item.declaredShapes) {
            guard let computed = values[value]?.layout.shape else { continue }
            let matches = declared.count == computed.count
                && zip(declared.dropFirst(), computed.dropFirst()).allSatisfy { $0.0 == nil || $0.0 == $0.1 }
            if !matches { throw .declaredShapeMismatch(node: item.name, value: value, declared: declared, computed: computed) }
        }
    }

    /// The plan of the steps recorded, with the graph's outputs as requested values.
    func finish(inputs: [(name: String, buffer: Int, shape: [Int])]) -> ExecutionPlan {
        // Requested values are never left blocked (`readsBlocked`) or bfloat16 (`storesRounded`);
        // converted should one be.
        let outputs = graph.outputs.map { name in
            let stored = values[name]!
            if stored.layout.bfloat16 { return widened(name, stored) }
            return stored.layout.channelBlocked ? convertedBlocks(name, stored, toBlocked: false) : stored
        }
        return ExecutionPlan(builder: self, inputs: inputs, outputs: outputs)
    }

    // MARK: Values and buffers

    func newBuffer(_ count: Int) -> Int {
        bufferSizes.append(count)
        return bufferSizes.count - 1
    }

    func define(_ name: String, _ value: PlannedValue) {
        values[name] = value
        bufferValues[value.buffer, default: []].append(name)
    }

    /// A value as every kernel but oneDNN's convolutions reads it: a blocked (nChw8c, nChw16c) value is converted
    /// (once) to its NHWC storage, a bfloat16 one widened (once) to float32.
    func value(_ name: String, of item: ExecutableNode) throws(RuntimeError) -> PlannedValue {
        guard let value = values[name] else {
            throw .incompatibleShapes(node: item.name, reason: "reads '\(name)', which was not computed")
        }
        if value.layout.bfloat16 { return widened(name, value) }
        return value.layout.channelBlocked ? convertedBlocks(name, value, toBlocked: false) : value
    }

    /// Every `strides`-th pixel of `source` (the NHWC image `name`), `height` × `width` of them
    /// from the first: a strided 1×1 convolution's input (once per value and stride).
    func subsampled(_ name: String, _ source: PlannedValue, strides: (Int, Int), height: Int, width: Int) -> PlannedValue {
        let p = source.layout.physicalShape
        let (n, h, w, c) = (p[0], p[1], p[2], p[3])
        var layout = source.layout
        layout.shape = layout.order == [0, 2, 3, 1] ? [n, c, height, width] : [n, height, width, c]
        return converted(name, source, key: "every\(strides.0)x\(strides.1)", layout: layout, floats: n * height * width * c,
                         kind: "(every \(strides.0)x\(strides.1) pixel)") { from, to, threads in
            parallelFor(n * height, threads: threads, minimumPerThread: 8) { rows in
                for row in rows {
                    let (image, y) = (row / height, row % height)
                    let input = from + ((image * h + y * strides.0) * w) * c, output = to + row * width * c
                    for x in 0..<width { (output + x * c).update(from: input + x * strides.1 * c, count: c) }
                }
            }
        }
    }

    /// `source` (the bfloat16 image `name`) as float32, exactly (once per value).
    func widened(_ name: String, _ source: PlannedValue) -> PlannedValue {
        let count = source.layout.elementCount
        var layout = source.layout
        layout.bfloat16 = false
        return converted(name, source, key: "f32", layout: layout, floats: count, kind: "(bfloat16 to float32)") { from, to, threads in
            let halves = UnsafeRawPointer(from).assumingMemoryBound(to: UInt16.self)
            parallelFor(count, threads: threads, minimumPerThread: 1 << 14) { range in
                for i in range { to[i] = Float(bitPattern: UInt32(halves[i]) << 16) }
            }
        }
    }

    /// `source` (the 4-D image `name`, stored NHWC) in nChw8c or nChw16c
    /// (`KernelChoice.channelBlock`), or back (once per value and way).
    func convertedBlocks(_ name: String, _ source: PlannedValue, toBlocked: Bool) -> PlannedValue {
        let blocked = KernelChoice.blockedName
        let key = toBlocked ? blocked : "nhwc"
        var layout = source.layout
        layout.channelBlocked = toBlocked
        let p = source.layout.physicalShape
        // One block: [N][1][H][W][C] is NHWC itself, so the value is read in place.
        if p[3] == KernelChoice.channelBlock { return PlannedValue(layout: layout, buffer: source.buffer) }
        let copy = ChannelBlockCopy(batch: p[0], height: p[1], width: p[2], channels: p[3], block: KernelChoice.channelBlock, toBlocked: toBlocked)
        return converted(name, source, key: key, layout: layout, floats: source.layout.elementCount,
                         kind: toBlocked ? "(NHWC to \(blocked))" : "(\(blocked) to NHWC)") { from, to, threads in
            copy.run(source: from, output: to, threads: threads)
        }
    }

    /// `source` (the value `name`) made over by `kernel` into a new buffer of `floats`, stored as
    /// `layout`: planned once per value and `key`, later readers get the same copy.
    private func converted(_ name: String, _ source: PlannedValue, key: String, layout: ValueLayout, floats: Int, kind: String,
                           _ kernel: @escaping (_ from: UnsafeMutablePointer<Float>, _ to: UnsafeMutablePointer<Float>, _ threads: Int) -> Void)
        -> PlannedValue {
        if let done = conversions[name + "#" + key] { return done }
        let buffer = newBuffer(floats)
        addStep(reads: [source.buffer], writes: [buffer], kind: kind) { memory in
            let from = memory[source.buffer], to = memory[buffer], threads = memory.threads
            return { kernel(from, to, threads) }
        }
        let value = PlannedValue(layout: layout, buffer: buffer)
        conversions[name + "#" + key] = value
        bufferValues[buffer, default: []].append(name)
        return value
    }

    /// Records one kernel call, labelled by the node being planned (or `name`) and `kind` (the op
    /// by default), for profiles and `MemoryPlan.steps`.
    func addStep(reads: [Int], writes: [Int], workspace: Int = 0, kind: String? = nil, name: String? = nil,
                 _ make: @escaping (MemoryMap) -> () -> Void) {
        let node = graph.nodes[position]
        recipes.append(StepRecipe(label: "\(name ?? node.name) \(kind ?? node.op.rawValue)", reads: reads, writes: writes, workspace: workspace, make: make))
    }

    func constant(_ values: [Float]) -> UnsafePointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(values.count, 1))
        _ = buffer.initialize(from: values)
        constants.append(buffer)
        return UnsafePointer(buffer.baseAddress!)
    }

    /// Whether the node being planned may write over `name`'s buffer: every value stored there is
    /// read for the last time by this node and none is a requested output.
    func canOverwrite(_ name: String) -> Bool {
        guard let buffer = values[name]?.buffer else { return false }
        return bufferValues[buffer, default: []].allSatisfy { !graph.requested.contains($0) && (lastUse[$0] ?? -1) <= position }
    }

    /// A buffer for an element-wise result of `input`: the input's own when it dies here.
    func outputBuffer(overwriting input: String, count: Int) -> Int {
        if canOverwrite(input), let value = values[input], value.layout.elementCount == count { return value.buffer }
        return newBuffer(count)
    }

    /// The value stored in `order`, converting (once per value and order) if needed.
    func stored(_ name: String, of item: ExecutableNode, order: [Int]) throws(RuntimeError) -> PlannedValue {
        let source = try value(name, of: item)
        if source.layout.order == order { return source }
        let key = name + "#" + order.map(String.init).joined(separator: ",")
        if let converted = conversions[key] { return converted }
        let layout = ValueLayout(shape: source.layout.shape, order: order)
        let buffer = newBuffer(layout.elementCount)
        let logicalStrides = source.layout.logicalStrides
        let copy = StridedCopy(space: StridedSpace(shape: layout.physicalShape, strides: [order.map { logicalStrides[$0] }]))
        addStep(reads: [source.buffer], writes: [buffer], kind: "(storage-order conversion)") { memory in
            let from = memory[source.buffer], to = memory[buffer], threads = memory.threads
            return { copy.run(source: from, output: to, threads: threads) }
        }
        let converted = PlannedValue(layout: layout, buffer: buffer)
        conversions[key] = converted
        bufferValues[buffer, default: []].append(name)
        return converted
    }

    func identityOrder(_ name: String, of item: ExecutableNode) throws(RuntimeError) -> PlannedValue {
        let source = try value(name, of: item)
        return try stored(name, of: item, order: Array(0..<source.layout.rank))
    }

    /// A 4-D input of a spatial op stored channels-last: its value and NHWC sizes.
    func image(_ item: ExecutableNode, layout: Layout, input: Int = 0) throws(RuntimeError) -> (PlannedValue, n: Int, h: Int, w: Int, c: Int) {
        guard layout == .nhwc || layout == .nchw else {
            throw .unsupportedAttribute(node: item.name, attribute: "layout", value: "'\(layout.rawValue)'")
        }
        guard item.inputs.count > input else { throw .incompatibleShapes(node: item.name, reason: "has no input \(input + 1)") }
        let source = try value(item.inputs[input], of: item)
        guard source.layout.rank == 4 else {
            throw .incompatibleShapes(node: item.name, reason: "expects a 4-D \(layout.rawValue) input, got shape \(formatShape(source.layout.shape))")
        }
        let planned = try stored(item.inputs[input], of: item, order: ValueLayout.spatialOrder(rank: 4, layout: layout))
        let p = planned.layout.physicalShape
        return (planned, p[0], p[1], p[2], p[3])
    }

    func normalizedAxis(_ axis: Int, rank: Int, item: ExecutableNode, attribute: String = "axis") throws(RuntimeError) -> Int {
        let value = axis < 0 ? axis + rank : axis
        guard value >= 0 && value < rank else {
            throw .invalidAttribute(node: item.name, attribute: attribute, reason: "is \(axis), outside the \(rank) axes of the input")
        }
        return value
    }

    func requireWeight(_ item: ExecutableNode, _ role: String) throws(RuntimeError) -> WeightView {
        guard let weight = item.weights[role] else { throw .missingWeight(node: item.name, role: role) }
        return weight
    }

    func checkCount(_ weight: WeightView?, _ item: ExecutableNode, role: String, expected: [Int]) throws(RuntimeError) {
        guard let weight else { return }
        if weight.count != expected.reduce(1, *) {
            throw .weightShapeMismatch(node: item.name, role: role, tensor: weight.tensor, expected: expected, actual: weight.shape)
        }
    }
    // MARK: Ops

    /// Plans one node: the planner of its op family (one file each) checks its inputs, weights
    /// and attributes against the actual shapes and records its steps.
    func plan(_ item: ExecutableNode) throws(RuntimeError) {
        switch item.operation {
        case let .conv2D(attributes), let .depthwiseConv2D(attributes): try planConvolution(item, attributes)
        case let .conv2DTranspose(attributes): try planTransposedConvolution(item, attributes)
        case .dense: try planDense(item)
        case let .batchNormalization(attributes): try planBatchNormalization(item, attributes)
        case let .scale(attributes): try planScale(item, attributes)
        case let .layerNormalization(attributes): try planLayerNormalization(item, attributes)
        case let .rescaling(attributes):
            try planUnary(item, .power(exponent: 1, scale: Float(attributes.scale), shift: Float(attributes.offset)))
        case .activation: try planUnary(item, item.activation)
        case .identity: define(item.outputs[0], try value(item.inputs[0], of: item))
        case let .localResponseNormalization(attributes): try planLocalResponseNormalization(item, attributes)
        case .preLU: try planParametricReLU(item)
        case let .softmax(axis): try planSoftmax(item, axis: axis)
        case let .maxPooling2D(attributes), let .averagePooling2D(attributes): try planPooling(item, attributes)
        case let .globalAveragePooling(attributes), let .globalMaxPooling(attributes): try planGlobalPooling(item, attributes)
        case let .pad(attributes): try planPad(item, attributes)
        case let .crop(attributes): try planCrop(item, attributes)
        case let .upSampling2D(attributes): try planUpSampling(item, attributes)
        case .flatten: try planReshape(item, shape: nil)
        case let .reshape(shape): try planReshape(item, shape: shape)
        case let .transpose(permutation): try planTranspose(item, permutation: permutation)
        case let .slice(axis, points): try planSlice(item, axis: axis, points: points)
        case let .concatenate(axis): try planConcatenate(item, axis: axis)
        case .add, .subtract, .multiply, .divide, .average, .maximum, .minimum: try planCombination(item, inputs: item.inputs, activation: item.activation)
        }
    }
}
