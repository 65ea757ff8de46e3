import GraftModel
/// A weight as a kernel reads it: float32 values (in the file's mapping, or a folded copy the
/// session owns) and the shape the file declares.
struct WeightView {
    let values: UnsafeBufferPointer<Float>
    let shape: [Int]
    let tensor: String
    var pointer: UnsafePointer<Float> { values.baseAddress! }
}

/// One node of the graph the planner schedules: a graph node after the rewrite passes, with
/// its weights bound and whatever was folded into it.
struct ExecutableNode {
    /// The graph node's name (the first of the nodes folded together).
    var name: String
    /// The op and its attributes (a folded Pad's padding already added to a convolution's).
    var operation: Operation
    /// The values read: the node's own inputs; a convolution that took a residual Add reads
    /// the Add's other operand last.
    var inputs: [String]
    /// The values produced: the node's own, or the last folded node's.
    var outputs: [String]
    /// Shapes the file declares for `outputs`.
    var declaredShapes: [[Int?]]
    /// The weights by role, after folding.
    var weights: [String: WeightView]
    /// The activation applied last (the op's own, or that of a folded Activation node).
    var activation: ActivationKernel
    /// A residual `Add` folded into this convolution (see `FoldResidualAdd`).
    var residual: ResidualAdd?
    /// Names of the graph nodes folded into this one.
    var foldedNodes: [String] = []

    var op: Operator { operation.op }

    init(_ node: Node, weights: [String: WeightView]) {
        name = node.name
        operation = node.operation
        inputs = node.inputs
        outputs = node.outputs
        declaredShapes = node.outputShapes
        self.weights = weights
        activation = node.operation.activation.map(ActivationKernel.init) ?? .linear
    }
}

/// A residual `Add` whose sum a convolution computes itself, accumulating onto the other
/// operand in its GEMM (ResNet's `relu(shortcut + bn(conv(x)))`).
struct ResidualAdd {
    /// The Add's node name.
    var node: String
    /// The other operand, also the convolution's last input.
    var shortcut: String
    /// The convolution's result's position among the Add's two inputs (0 or 1).
    var position: Int
    /// The convolution's own result (a value only when the planner runs the Add apart).
    var convolutionOutput: String
    var convolutionShape: [Int?]
    /// The Add's own activation, applied after the sum.
    var activation: ActivationKernel
}

/// Memory the session owns for folded weights; freed with the session.
final class OwnedWeights: @unchecked Sendable {
    private var buffers: [UnsafeMutableBufferPointer<Float>] = []

    func store(_ values: [Float]) -> UnsafeBufferPointer<Float> {
        let buffer = allocate(count: values.count)
        _ = buffer.initialize(from: values)
        return UnsafeBufferPointer(buffer)
    }

    /// Uninitialised room for `count` floats, owned by the session; the caller fills all of it
    /// before anything reads it. Folding a model's weights straight into it saves filling a
    /// temporary array with zeros and copying it (for ResNet50, 100 MB written twice).
    func allocate(count: Int) -> UnsafeMutableBufferPointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
        buffers.append(buffer)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
    }
}

/// The requested part of a model as a list of executable nodes in schedule order, which the
/// rewrite passes transform and the planner schedules.
struct ExecutableGraph {
    var nodes: [ExecutableNode]
    /// The graph inputs the requested values depend on.
    var inputs: [ValueInfo]
    /// Value names of the requested outputs, in request order.
    let outputs: [String]
    /// `outputs` as a set.
    let requested: Set<String>

    /// The indices of the nodes that read each value, in schedule order, once per node.
    func readers() -> [String: [Int]] {
        var readers: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for input in node.inputs where readers[input]?.last != index { readers[input, default: []].append(index) }
        }
        return readers
    }

    /// For each value, the index of its last reader.
    func lastUse() -> [String: Int] {
        var lastUse: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            for input in node.inputs { lastUse[input] = index }
        }
        return lastUse
    }

    /// The single node that reads `value`, when exactly one does and the value is not
    /// requested: the condition for folding the value's producer into its reader.
    func soleReader(of value: String, readers: [String: [Int]]) -> Int? {
        guard !requested.contains(value), let users = readers[value], users.count == 1 else { return nil }
        return users[0]
    }
}

/// What the rewrite passes need besides the graph: the model (for weights), the session's
/// memory for folded weights, and the thread count for folding work.
struct PassContext {
    let model: ModelFile
    let storage: OwnedWeights
    let threads: Int

    /// A node's weight as a float32 view of the file's mapping.
    func weight(node: String, role: String, tensor: String) throws(RuntimeError) -> WeightView {
        do {
            let values = try model.floats(named: tensor)
            return WeightView(values: values, shape: model.tensors[tensor]?.shape ?? [values.count], tensor: tensor)
        } catch {
            throw .unreadableWeight(node: node, role: role, reason: "cannot be used: \(error)")
        }
    }
}
