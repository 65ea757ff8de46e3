import GraftModel

/// A weight as a kernel reads it: float32 values (in the file's mapping, or a folded copy the
/// session owns) and the shape the file declares.
struct WeightView {
    let values: UnsafeBufferPointer<Float>
    let shape: [Int]
    let tensor: String
    var pointer: UnsafePointer<Float> { values.baseAddress! }
}

/// One node of the pruned, folded graph the planner schedules.
struct ExecutableNode {
    /// The graph node; its attributes and input names.
    var node: Node
    /// The values this node produces: the node's own, or, when batch normalisation, Scale or an
    /// activation was folded into it, the last folded node's.
    var outputs: [String]
    /// Shapes the file declares for `outputs`.
    var declaredShapes: [[Int?]]
    /// The weights by role, after folding.
    var weights: [String: WeightView]
    /// The activation applied after the bias (the node's own, or a folded Activation node).
    var activation: ActivationKernel = .linear
    /// Names of the nodes folded into this one.
    var foldedNodes: [String] = []

    var name: String { node.name }
}

/// Memory the session owns for folded weights; freed with the session.
final class OwnedWeights: @unchecked Sendable {
    private var buffers: [UnsafeMutableBufferPointer<Float>] = []

    func store(_ values: [Float]) -> UnsafeBufferPointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(values.count, 1))
        _ = buffer.initialize(from: values)
        buffers.append(buffer)
        return UnsafeBufferPointer(rebasing: buffer[0..<values.count])
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
    }
}

/// The requested part of a model, ready to plan: nodes not needed for the requested values are
/// pruned, and per-channel affine nodes and activations are folded into the convolution or Dense
/// before them where that is exact.
struct CompiledGraph {
    var nodes: [ExecutableNode]
    /// The graph inputs the requested values depend on.
    var inputs: [ValueInfo]
    /// Value names of the requested outputs, in request order.
    var outputs: [String]
    /// For each value, the index in `nodes` of its last consumer.
    var lastUse: [String: Int]

    init(model: ModelFile, requests: [String], storage: OwnedWeights, threads: Int) throws(RuntimeError) {
        let graph = model.graph
        let outputs = try requests.map { (request) throws(RuntimeError) in try CompiledGraph.resolve(request, in: graph) }
        self.outputs = outputs

        // Prune: walk back from the requested values.
        var needed = Set(outputs)
        var keep = [Bool](repeating: false, count: graph.nodes.count)
        for (index, node) in graph.nodes.enumerated().reversed() where node.outputs.contains(where: needed.contains) {
            keep[index] = true
            needed.formUnion(node.inputs)
        }
        let kept = graph.nodes.indices.filter { keep[$0] }.map { graph.nodes[$0] }
        inputs = graph.inputs.filter { needed.contains($0.name) }

        var consumers: [String: [Int]] = [:]
        for (index, node) in kept.enumerated() {
            for input in Set(node.inputs) { consumers[input, default: []].append(index) }
        }
        let requested = Set(outputs)

        var absorbed = [Bool](repeating: false, count: kept.count)
        var candidates = kept
        let foldedPads = CompiledGraph.foldZeroPadding(&candidates, consumers: consumers, requested: requested, absorbed: &absorbed)
        var executable: [ExecutableNode] = []
        for (index, node) in candidates.enumerated() where !absorbed[index] {
            var weights: [String: WeightView] = [:]
            for (role, tensor) in node.weights {
                weights[role] = try CompiledGraph.weight(model, node: node, role: role, tensor: tensor)
            }
            var item = ExecutableNode(node: node, outputs: node.outputs, declaredShapes: node.outputShapes, weights: weights)
            item.foldedNodes = foldedPads[index] ?? []
            if [.conv2D, .depthwiseConv2D, .dense, .conv2DTranspose].contains(node.op) {
                let attributes = Attributes(node)
                // A fused activation takes its default parameters.
                item.activation = try ActivationKernel(function: try attributes.string("activation", default: "linear"),
                                                       attributes: Attributes(node: node.name, values: [:]), attribute: "activation")
                try CompiledGraph.fold(into: &item, index: index, kept: candidates, consumers: consumers, requested: requested,
                                       absorbed: &absorbed, model: model, storage: storage, threads: threads)
            } else if [.add, .subtract, .multiply, .average, .maximum, .minimum].contains(node.op) {
                // A residual block's Add followed by its ReLU: one pass over the data.
                let output = node.outputs[0]
                if node.outputs.count == 1, !requested.contains(output), let users = consumers[output], users.count == 1,
                   candidates[users[0]].op == .activation, candidates[users[0]].inputs == [output] {
                    let next = candidates[users[0]]
                    let attributes = Attributes(next)
                    guard attributes.contains("function") else { throw .missingAttribute(node: next.name, attribute: "function") }
                    item.activation = try ActivationKernel(function: try attributes.string("function", default: ""), attributes: attributes)
                    absorbed[users[0]] = true
                    item.foldedNodes.append(next.name)
                    item.outputs = next.outputs
                    item.declaredShapes = next.outputShapes
                }
            }
            executable.append(item)
        }
        nodes = executable

        var lastUse: [String: Int] = [:]
        for (index, item) in executable.enumerated() {
            for input in item.node.inputs { lastUse[input] = index }
        }
        self.lastUse = lastUse
    }

    /// Folds a zero `Pad` into the Conv2D or DepthwiseConv2D that alone reads it (Keras's
    /// `ZeroPadding2D` before a `valid` convolution): the convolution takes the pad's input and the
    /// sum of both paddings, so the padded copy is never made. Returns, by convolution index, the
    /// names of the pads folded into it.
    static func foldZeroPadding(_ nodes: inout [Node], consumers: [String: [Int]], requested: Set<String>,
                                absorbed: inout [Bool]) -> [Int: [String]] {
        var folded: [Int: [String]] = [:]
        for (index, pad) in nodes.enumerated() where pad.op == .pad && pad.inputs.count == 1 && pad.outputs.count == 1 {
            let value = pad.outputs[0]
            guard !requested.contains(value), let users = consumers[value], users.count == 1 else { continue }
            let user = users[0]
            let convolution = nodes[user]
            guard convolution.op == .conv2D || convolution.op == .depthwiseConv2D, convolution.inputs == [value] else { continue }
            let padAttributes = Attributes(pad), convolutionAttributes = Attributes(convolution)
            guard (try? padAttributes.double("value", default: 0)) == 0,
                  let outer = try? padAttributes.ints("padding", count: 4, default: nil), outer.allSatisfy({ $0 >= 0 }),
                  (try? padAttributes.layout()) == (try? convolutionAttributes.layout()),
                  let inner = try? convolutionAttributes.ints("padding", count: 4, default: [0, 0, 0, 0]) else { continue }
            nodes[user].attributes["padding"] = .array(zip(outer, inner).map { .integer($0 + $1) })
            nodes[user].inputs = pad.inputs
            absorbed[index] = true
            folded[user, default: []].append(pad.name)
        }
        return folded
    }

    /// A node name (its first output) or a value name.
    static func resolve(_ request: String, in graph: Graph) throws(RuntimeError) -> String {
        if let node = graph.nodes.first(where: { $0.name == request }), let first = node.outputs.first { return first }
        if graph.inputs.contains(where: { $0.name == request }) || graph.nodes.contains(where: { $0.outputs.contains(request) }) {
            return request
        }
        let lowered = request.lowercased()
        var suggestions = graph.nodes.map(\.name).filter { $0.lowercased().contains(lowered) || lowered.contains($0.lowercased()) }
        if suggestions.isEmpty { suggestions = graph.nodes.map(\.name) }
        throw .unknownLayer(name: request, suggestions: Array(suggestions.prefix(5)))
    }

    static func weight(_ model: ModelFile, node: Node, role: String, tensor: String) throws(RuntimeError) -> WeightView {
        do {
            let values = try model.floats(named: tensor)
            return WeightView(values: values, shape: model.tensors[tensor]?.shape ?? [values.count], tensor: tensor)
        } catch {
            throw .unreadableWeight(node: node.name, role: role, reason: "cannot be used: \(error)")
        }
    }

    /// Folds a chain of BatchNormalization / per-channel Scale nodes, then at most one Activation,
    /// into the convolution or Dense `item`, while each value in the chain has exactly one consumer
    /// and is not requested. The affine maps compose in `Double`; the kernel and bias are
    /// rewritten once at the end (owned copies; the mapped weights are untouched).
    static func fold(into item: inout ExecutableNode, index: Int, kept: [Node], consumers: [String: [Int]], requested: Set<String>,
                     absorbed: inout [Bool], model: ModelFile, storage: OwnedWeights, threads: Int) throws(RuntimeError) {
        let node = item.node
        guard let kernel = item.weights["kernel"], node.outputs.count == 1 else { return }
        let outputChannels: Int
        let channelAxis: Int
        let rank = node.outputShapes.first?.count ?? 0
        switch node.op {
        case .conv2D, .conv2DTranspose:
            guard kernel.shape.count == 4 else { return }
            outputChannels = node.op == .conv2D ? kernel.shape[3] : kernel.shape[2] * max(1, (try? Attributes(node).int("groups", default: 1)) ?? 1)
            channelAxis = (try? Attributes(node).layout()) == .nchw ? 1 : 3
        case .depthwiseConv2D:
            guard kernel.shape.count == 4 else { return }
            outputChannels = kernel.shape[2] * kernel.shape[3]
            channelAxis = (try? Attributes(node).layout()) == .nchw ? 1 : 3
        default:
            guard kernel.shape.count == 2 else { return }
            outputChannels = kernel.shape[1]
            channelAxis = rank - 1
        }
        var scale = [Double](repeating: 1, count: outputChannels)
        var shift = [Double](repeating: 0, count: outputChannels)
        var affineFolded = false
        var current = node.outputs[0]
        var declared = node.outputShapes
        while !requested.contains(current), let users = consumers[current], users.count == 1, item.activation == .linear {
            let next = kept[users[0]]
            guard next.inputs == [current], next.outputs.count == 1 else { break }
            let attributes = Attributes(next)
            let nextRank = next.outputShapes.first?.count ?? rank
            func normalized(_ axis: Int) -> Int { axis < 0 ? axis + nextRank : axis }
            if next.op == .batchNormalization, node.op != .conv2DTranspose,
               normalized(try attributes.requiredInt("axis")) == channelAxis {
                let epsilon = try attributes.double("epsilon", default: 0.001)
                var roles: [String: [Float]] = [:]
                for role in ["gamma", "beta", "moving_mean", "moving_variance"] {
                    guard let tensor = next.weights[role] else {
                        if role.hasPrefix("moving") { throw .missingWeight(node: next.name, role: role) }
                        continue
                    }
                    let view = try weight(model, node: next, role: role, tensor: tensor)
                    guard view.values.count == outputChannels else {
                        throw .weightShapeMismatch(node: next.name, role: role, tensor: tensor, expected: [outputChannels], actual: view.shape)
                    }
                    roles[role] = Array(view.values)
                }
                for c in 0..<outputChannels {
                    let factor = Double(roles["gamma"]?[c] ?? 1) / (Double(roles["moving_variance"]![c]) + epsilon).squareRoot()
                    let offset = Double(roles["beta"]?[c] ?? 0) - Double(roles["moving_mean"]![c]) * factor
                    scale[c] *= factor
                    shift[c] = shift[c] * factor + offset
                }
                affineFolded = true
            } else if next.op == .scale, node.op != .conv2DTranspose,
                      try attributes.int("num_axes", default: 1) == 1, normalized(try attributes.int("axis", default: 1)) == channelAxis {
                var factors: [Float]?, offsets: [Float]?
                for role in ["scale", "bias"] {
                    guard let tensor = next.weights[role] else { continue }
                    let view = try weight(model, node: next, role: role, tensor: tensor)
                    guard view.values.count == outputChannels else {
                        throw .weightShapeMismatch(node: next.name, role: role, tensor: tensor, expected: [outputChannels], actual: view.shape)
                    }
                    if role == "scale" { factors = Array(view.values) } else { offsets = Array(view.values) }
                }
                for c in 0..<outputChannels {
                    let factor = Double(factors?[c] ?? 1)
                    scale[c] *= factor
                    shift[c] = shift[c] * factor + Double(offsets?[c] ?? 0)
                }
                affineFolded = true
            } else if next.op == .activation {
                guard attributes.contains("function") else { throw .missingAttribute(node: next.name, attribute: "function") }
                item.activation = try ActivationKernel(function: try attributes.string("function", default: ""), attributes: attributes)
            } else {
                break
            }
            absorbed[users[0]] = true
            item.foldedNodes.append(next.name)
            current = next.outputs[0]
            declared = next.outputShapes
            if next.op == .activation { break }
        }
        item.outputs = [current]
        item.declaredShapes = declared
        guard affineFolded else { return }

        // kernel[..., o] ·= scale[o] (o is the fastest axis of every folded kernel layout).
        guard kernel.values.count % outputChannels == 0 else { return }
        var folded = [Float](repeating: 0, count: kernel.values.count)
        folded.withUnsafeMutableBufferPointer { target in
            scale.withUnsafeBufferPointer { scale in
                let target = target.baseAddress!, source = kernel.pointer, factors = scale.baseAddress!
                parallelFor(kernel.values.count / outputChannels, threads: threads, minimumPerThread: 64) { rows in
                    for row in rows {
                        let offset = row * outputChannels
                        for o in 0..<outputChannels {
                            target[offset + o] = Float(Double(source[offset + o]) * factors[o])
                        }
                    }
                }
            }
        }
        let bias = item.weights["bias"]
        if let bias, bias.values.count != outputChannels {
            throw .weightShapeMismatch(node: node.name, role: "bias", tensor: bias.tensor, expected: [outputChannels], actual: bias.shape)
        }
        var foldedBias = [Float](repeating: 0, count: outputChannels)
        for c in 0..<outputChannels {
            foldedBias[c] = Float(Double(bias?.values[c] ?? 0) * scale[c] + shift[c])
        }
        item.weights["kernel"] = WeightView(values: storage.store(folded), shape: kernel.shape, tensor: kernel.tensor + " (folded)")
        item.weights["bias"] = WeightView(values: storage.store(foldedBias), shape: [outputChannels], tensor: (bias?.tensor ?? node.name + "/bias") + " (folded)")
    }
}
