public import GraftModel
public import GraftTensors
import GraftNumerics
import Foundation
/// A model compiled for the CPU: give it inputs, get the requested values back.
///
/// ```swift
/// let model = try ModelFile(path: "resnet50.graft")
/// let session = try InferenceSession(model: model, outputs: ["avg_pool"], threadCount: 2)
/// let features = try session.run(images)[0]      // [N, 2048]
/// ```
///
/// Creating a session resolves the requested outputs (node names, for a node's first output, or
/// value names; by default the graph's outputs), prunes every node they do not depend on, and
/// folds batch normalisation, per-channel `Scale` and a following activation into the
/// convolution or Dense before them, a zero `Pad` into the convolution after it, and an
/// activation into the Add (or other merge) before it, whenever the intermediate value has no
/// other reader and is not requested (so asking for `conv1` still returns the pre-normalisation
/// value). Weights are used in place
/// in the model file's mapping; only folded kernels are copied.
///
/// The first run for a set of input shapes plans memory (liveness over the schedule, buffers
/// reused) and binds every kernel; later runs with the same shapes reuse that plan and allocate
/// only the returned tensors. Convolutions and Dense run on OpenBLAS `sgemm`, split by rows of the
/// result between `threadCount` threads (OpenBLAS itself is kept single-threaded so its workers
/// never spin against graft's); other kernels split their loops the same way. Every element is
/// computed by the same code over the same summation order whatever the split, so results do not
/// depend on the thread count.
///
/// Inputs and outputs are in the source framework's layout: NHWC for Keras, NCHW for Caffe, batch
/// first, exactly as the graph declares them. Internally spatial kernels work on channels-last
/// memory and an NCHW value is stored transposed; ops whose results depend on element order
/// (Flatten, Reshape, Dense on the last axis, axis attributes) see the declared layout.
///
/// A batch's first layers, where its activations are large and the weights small, run one image
/// at a time so that each image's values stay in the caches from layer to layer; the rest runs
/// the whole batch (`BatchSchedule`, `DepthFirstPolicy`). The results are the same bits either
/// way.
///
/// A session may be shared between threads; runs are serialised. With `GRAFT_PROFILE=1` in the
/// environment, each run prints every step's wall time and a total per op to stderr.
public final class InferenceSession: @unchecked Sendable {
    /// The model, kept alive because the session reads its weights in place.
    public let model: ModelFile
    /// The value names of the requested outputs, in the order `run` returns them.
    public let outputNames: [String]
    /// The graph inputs the requested outputs depend on, in graph order.
    public let inputs: [ValueInfo]
    /// Threads for OpenBLAS and for graft's own kernels.
    public let threadCount: Int
    /// The names of the graph nodes whose work a run performs, in execution order (nodes folded
    /// into a convolution or Dense included, pruned nodes not).
    public let computedNodeNames: [String]
    /// The names of the kernels a run executes: `computedNodeNames` without folded nodes.
    public let executedNodeNames: [String]
    /// What this session's results depend on besides the model and the input (the runtime's
    /// numerics version, precision, convolution kernels and the CPU instruction set they use):
    /// equal strings give bit-identical results. A feature cache records it.
    public var numerics: String { KernelChoice.numerics(algorithm, precision: precision) }
    /// How 3×3 stride-1 convolutions are computed.
    public let algorithm: ConvolutionAlgorithm
    /// The element type of the convolutions' operands.
    public let precision: Precision
    /// Whether a batch's first layers run image by image (results are the same bits either way).
    public let schedule: BatchSchedule

    private let graph: ExecutableGraph
    private let storage = OwnedWeights()
    /// Weights in kernels' layouts, made by the first plan that needs them and shared by the rest.
    private let sharedWeights = SharedWeights()
    private let lock = NSLock()
    private var plans: [[[Int]]: ExecutionPlan] = [:]
    private var planOrder: [[[Int]]] = []
    /// Plans kept for different input shapes (batch sizes) before the oldest is dropped.
    private static let planCacheSize = 4

    /// Compiles `model` for the values named in `outputs` (node or value names; `nil` for the
    /// graph's outputs).
    ///
    /// - Throws: `RuntimeError` for an unknown name, for a weight that cannot be folded, and
    ///   `.precisionUnavailable` for bfloat16 on a CPU without native bf16.
    public init(model: ModelFile, outputs: [String]? = nil, threadCount: Int = 1,
                algorithm: ConvolutionAlgorithm = .standard, precision: Precision = .float32,
                schedule: BatchSchedule = .automatic) throws(RuntimeError) {
        if precision == .bfloat16, let reason = Precision.bfloat16Unavailable {
            throw .precisionUnavailable(precision: precision.rawValue, reason: reason)
        }
        self.model = model
        self.algorithm = algorithm
        self.precision = precision
        self.schedule = schedule
        self.threadCount = max(1, threadCount)
        graph = try GraphCompiler.compile(model: model, requests: outputs, storage: storage, threads: self.threadCount)
        outputNames = graph.outputs
        inputs = graph.inputs
        executedNodeNames = graph.nodes.map(\.name)
        let computed = Set(graph.nodes.flatMap { [$0.name] + $0.foldedNodes })
        computedNodeNames = model.graph.nodes.map(\.name).filter(computed.contains)
    }

    /// Runs a model with one input (the only graph input the outputs need).
    public func run(_ input: Tensor) throws(RuntimeError) -> [Tensor] {
        guard inputs.count <= 1 else { throw .ambiguousInput(inputs: inputs.map(\.name)) }
        guard let only = inputs.first else { return try run([:]) }
        return try run([only.name: input])
    }

    /// Runs the model on named inputs (graph input names).
    public func run(_ tensors: [String: Tensor]) throws(RuntimeError) -> [Tensor] {
        let graphInputNames = model.graph.inputs.map(\.name)
        for name in tensors.keys.sorted() where !graphInputNames.contains(name) {
            throw .unknownInput(name: name, inputs: graphInputNames)
        }
        var ordered: [Tensor] = []
        for info in inputs {
            guard let tensor = tensors[info.name] else { throw .missingInput(name: info.name) }
            let fits = tensor.shape.count == info.shape.count && zip(info.shape, tensor.shape).allSatisfy { $0.0 == nil || $0.0 == $0.1 }
            guard fits, tensor.shape.allSatisfy({ $0 > 0 }) else {
                throw .inputShapeMismatch(input: info.name, expected: info.shape, actual: tensor.shape)
            }
            ordered.append(tensor)
        }
        lock.lock()
        defer { lock.unlock() }
        let plan = try plan(for: ordered.map(\.shape))
        // One OpenMP team of `threadCount` threads runs oneDNN and graft's kernels; OpenBLAS runs
        // single-threaded inside them (see `Parallelism`).
        Parallelism.configure(threads: threadCount)
        return plan.run(ordered)
    }

    /// The memory the plan for these input shapes uses (planning it if needed).
    public func memoryPlan(inputShapes: [[Int]]) throws(RuntimeError) -> MemoryPlan {
        lock.lock()
        defer { lock.unlock() }
        let plan = try plan(for: inputShapes)
        let size = MemoryLayout<Float>.size
        let prefix = plan.prefix?.plan
        return MemoryPlan(activationBytes: (plan.arenaFloats + (prefix?.arenaFloats ?? 0)) * size,
                          workspaceBytes: (plan.workspaceFloats + (prefix?.workspaceFloats ?? 0)) * size,
                          unsharedActivationBytes: (plan.unsharedFloats + (prefix?.unsharedFloats ?? 0)) * size,
                          steps: (plan.prefix?.labels ?? []) + plan.labels)
    }

    private func plan(for shapes: [[Int]]) throws(RuntimeError) -> ExecutionPlan {
        if let plan = plans[shapes] { return plan }
        // oneDNN sizes its kernels' blocking, and chooses whether to fuse, for the calling
        // thread's OpenMP team when a primitive is made: the team the plan will run on.
        Parallelism.configure(threads: threadCount)
        let plan = try PlanBuilder(graph: graph, threads: threadCount, algorithm: algorithm, precision: precision,
                               depthFirst: schedule.policy, sharedWeights: sharedWeights).build(inputShapes: shapes)
        plans[shapes] = plan
        planOrder.append(shapes)
        if planOrder.count > InferenceSession.planCacheSize {
            plans[planOrder.removeFirst()] = nil
        }
        return plan
    }
}

/// How much memory a plan for one set of input shapes takes.
public struct MemoryPlan: Sendable, Equatable {
    /// The arena holding every activation, buffers shared by values whose lifetimes do not overlap.
    public var activationBytes: Int
    /// The scratch memory of im2col and col2im, shared by all steps.
    public var workspaceBytes: Int
    /// What the activations would take if each had its own buffer.
    public var unsharedActivationBytes: Int
    /// The kernel calls in execution order, each named by its node and what it does (as
    /// `GRAFT_PROFILE=1` prints them); nodes folded into another node's kernel have none.
    public var steps: [String]
}
