import GraftModel
import GraftNumerics
/// A weight as a kernel reads it: float32 values (in the file's mapping, or a folded copy the
/// session owns) and the shape the file declares.
///
/// A kernel with a BatchNormalization or Scale folded into it (`FoldAffineNormalization`) keeps
/// the file's values and the factor of each output channel (`fold`): kernels that read their
/// weights while they run get a folded copy the first time they ask for `values` or `pointer`,
/// while oneDNN's convolutions and graft's Winograd, which copy the weights into a layout of
/// their own when the plan is made, read a folded copy written into scratch memory that the
/// planner reuses (`folded(into:)`). For ResNet50 that saves 94 MB of folded copies, and the
/// page faults of writing them (about 2 µs a 4 KiB page on the Zen 4 VM).
struct WeightView {
    /// The file's values (unfolded when `fold` is set).
    private let source: UnsafeBufferPointer<Float>
    let shape: [Int]
    let tensor: String
    /// The deferred per-channel factors of a folded kernel.
    private let fold: DeferredFold?

    init(values: UnsafeBufferPointer<Float>, shape: [Int], tensor: String, fold: DeferredFold? = nil) {
        source = values
        self.shape = shape
        self.tensor = tensor
        self.fold = fold
    }

    /// The number of values.
    var count: Int { source.count }
    /// The values, folded (a copy the session keeps, made on first use) when `fold` is set.
    var values: UnsafeBufferPointer<Float> { fold?.persistentCopy(of: source) ?? source }
    var pointer: UnsafePointer<Float> { values.baseAddress! }

    /// The values, folded into `scratch` when `fold` is set (valid until `scratch` is reused):
    /// for kernels that copy their weights when they are made.
    func folded(into scratch: FoldScratch) -> UnsafePointer<Float> {
        guard let fold else { return source.baseAddress! }
        let target = scratch.room(count: source.count)
        fold.write(source, into: target)
        return UnsafePointer(target)
    }
}

/// The per-output-channel factors of a BatchNormalization/Scale chain folded into a kernel whose
/// output channel is the fastest axis: `folded[i] = Float(Double(kernel[i]) · factor[i % n])`,
/// each element rounded to float32 once, the same bits wherever it is written.
final class DeferredFold: @unchecked Sendable {
    let factors: [Double]
    private let storage: OwnedWeights
    private let threads: Int
    private var copy: UnsafeBufferPointer<Float>?

    init(factors: [Double], storage: OwnedWeights, threads: Int) {
        self.factors = factors
        self.storage = storage
        self.threads = threads
    }

    /// Writes the folded values of `source` into `target` (as many elements).
    func write(_ source: UnsafeBufferPointer<Float>, into target: UnsafeMutablePointer<Float>) {
        let channels = factors.count
        factors.withUnsafeBufferPointer { factors in
            let from = source.baseAddress!, scale = factors.baseAddress!
            parallelFor(source.count / channels, threads: threads, minimumPerThread: 64) { rows in
                for row in rows {
                    let offset = row * channels
                    for o in 0..<channels { target[offset + o] = Float(Double(from[offset + o]) * scale[o]) }
                }
            }
        }
    }

    /// The folded values in memory the session owns, written the first time they are asked for
    /// (planning runs under the session's lock).
    func persistentCopy(of source: UnsafeBufferPointer<Float>) -> UnsafeBufferPointer<Float> {
        if let copy { return copy }
        let target = storage.allocate(count: source.count)
        write(source, into: target.baseAddress!)
        copy = UnsafeBufferPointer(target)
        return copy!
    }
}

/// Scratch memory for folded weights that are copied at once (`WeightView.folded(into:)`), kept
/// and reused by one plan's builder, one buffer per `FoldScratch`.
final class FoldScratch {
    private var buffer: UnsafeMutableBufferPointer<Float>?

    /// Room for `count` floats (the previous contents are lost).
    func room(count: Int) -> UnsafeMutablePointer<Float> {
        if let buffer, buffer.count >= count { return buffer.baseAddress! }
        buffer?.deallocate()
        buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
        return buffer!.baseAddress!
    }

    deinit { buffer?.deallocate() }
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
