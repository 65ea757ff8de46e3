import GraftModel
import GraftNumerics
/// Folds a chain of BatchNormalization and per-channel `Scale` nodes into the convolution or
/// Dense before them (Keras's conv → BN, Caffe's Convolution → BatchNorm → Scale), while each
/// value in the chain has exactly one reader, is not requested, and the op applies no activation
/// of its own.
///
/// Numerics: the affine maps `y = scale·x + shift` compose in `Double`, and the kernel and bias are
/// rewritten once at the end, each element rounded to float32 once (owned copies; the mapped
/// weights are untouched). A transposed convolution takes no fold (its output channel is not the
/// kernel's fastest axis in every group).
struct FoldAffineNormalization: GraphPass {
    func run(on graph: inout ExecutableGraph, context: PassContext) throws(RuntimeError) {
        let readers = graph.readers()
        var absorbed = Set<Int>()
        for index in graph.nodes.indices where !absorbed.contains(index) {
            try fold(into: index, graph: &graph, readers: readers, absorbed: &absorbed, context: context)
        }
        graph.nodes = graph.nodes.indices.filter { !absorbed.contains($0) }.map { graph.nodes[$0] }
    }

    private func fold(into index: Int, graph: inout ExecutableGraph, readers: [String: [Int]], absorbed: inout Set<Int>,
                      context: PassContext) throws(RuntimeError) {
        let item = graph.nodes[index]
        guard [.conv2D, .depthwiseConv2D, .dense].contains(item.op), item.activation == .linear,
              let kernel = item.weights["kernel"], item.outputs.count == 1,
              let (outputChannels, channelAxis) = Self.channels(of: item, kernel: kernel) else { return }
        var scale = [Double](repeating: 1, count: outputChannels)
        var shift = [Double](repeating: 0, count: outputChannels)
        var folded: [Int] = []
        var current = item.outputs[0]
        while let user = graph.soleReader(of: current, readers: readers) {
            let next = graph.nodes[user]
            guard next.inputs == [current], next.outputs.count == 1 else { break }
            let rank = next.declaredShapes.first?.count ?? item.declaredShapes.first?.count ?? 0
            guard let (factors, offsets) = try Self.affineMap(of: next, channelAxis: channelAxis, rank: rank, channels: outputChannels) else { break }
            for c in 0..<outputChannels {
                scale[c] *= factors[c]
                shift[c] = shift[c] * factors[c] + offsets[c]
            }
            folded.append(user)
            current = next.outputs[0]
        }
        guard let last = folded.last else { return }
        absorbed.formUnion(folded)
        graph.nodes[index].foldedNodes += folded.map { graph.nodes[$0].name }
        graph.nodes[index].outputs = graph.nodes[last].outputs
        graph.nodes[index].declaredShapes = graph.nodes[last].declaredShapes

        // kernel[..., o] ·= scale[o] (o is the fastest axis of every folded kernel layout),
        // deferred until a kernel reads the values (`WeightView`).
        guard kernel.count % outputChannels == 0 else { return }
        let bias = item.weights["bias"]
        if let bias, bias.count != outputChannels {
            throw .weightShapeMismatch(node: item.name, role: "bias", tensor: bias.tensor, expected: [outputChannels], actual: bias.shape)
        }
        var foldedBias = [Float](repeating: 0, count: outputChannels)
        for c in 0..<outputChannels {
            foldedBias[c] = Float(Double(bias?.values[c] ?? 0) * scale[c] + shift[c])
        }
        graph.nodes[index].weights["kernel"] = WeightView(values: kernel.values, shape: kernel.shape, tensor: kernel.tensor + " (folded)",
                                                          fold: DeferredFold(factors: scale, storage: context.storage, threads: context.threads))
        graph.nodes[index].weights["bias"] = WeightView(values: context.storage.store(foldedBias), shape: [outputChannels],
                                                        tensor: (bias?.tensor ?? item.name + "/bias") + " (folded)")
    }

    /// The per-channel map `y = factor·x + offset` of a BatchNormalization or one-axis Scale node
    /// along `channelAxis`; nil for any other node.
    private static func affineMap(of next: ExecutableNode, channelAxis: Int, rank: Int, channels: Int) throws(RuntimeError) -> ([Double], [Double])? {
        func normalized(_ axis: Int) -> Int { axis < 0 ? axis + rank : axis }
        func view(_ role: String) throws(RuntimeError) -> UnsafeBufferPointer<Float>? {
            guard let view = next.weights[role] else { return nil }
            guard view.values.count == channels else {
                throw .weightShapeMismatch(node: next.name, role: role, tensor: view.tensor, expected: [channels], actual: view.shape)
            }
            return view.values
        }
        switch next.operation {
        case let .batchNormalization(attributes) where normalized(attributes.axis) == channelAxis:
            guard let mean = try view("moving_mean") else { throw .missingWeight(node: next.name, role: "moving_mean") }
            guard let variance = try view("moving_variance") else { throw .missingWeight(node: next.name, role: "moving_variance") }
            let map = attributes.affine(gamma: try view("gamma"), beta: try view("beta"), mean: mean, variance: variance)
            return (map.scale, map.shift)
        case let .scale(attributes) where attributes.axisCount == 1 && normalized(attributes.axis) == channelAxis:
            let factors = try view("scale").map { $0.map(Double.init) } ?? [Double](repeating: 1, count: channels)
            let offsets = try view("bias").map { $0.map(Double.init) } ?? [Double](repeating: 0, count: channels)
            return (factors, offsets)
        default:
            return nil
        }
    }

    /// The output channel count and the channel axis of a convolution's or Dense's result.
    private static func channels(of item: ExecutableNode, kernel: WeightView) -> (count: Int, axis: Int)? {
        switch item.operation {
        case let .conv2D(attributes):
            guard kernel.shape.count == 4 else { return nil }
            return (kernel.shape[3], attributes.layout == .nchw ? 1 : 3)
        case let .depthwiseConv2D(attributes):
            guard kernel.shape.count == 4 else { return nil }
            return (kernel.shape[2] * kernel.shape[3], attributes.layout == .nchw ? 1 : 3)
        case .dense:
            guard kernel.shape.count == 2 else { return nil }
            return (kernel.shape[1], (item.declaredShapes.first?.count ?? 0) - 1)
        default:
            return nil
        }
    }
}
