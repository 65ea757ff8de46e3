import Foundation
import GraftTensors
/// Pointers to the planned memory, handed to each step when the plan is built.
struct MemoryMap {
    let buffers: [UnsafeMutablePointer<Float>]
    let workspace: UnsafeMutablePointer<Float>
    let threads: Int

    subscript(buffer: Int) -> UnsafeMutablePointer<Float> { buffers[buffer] }
}

/// One kernel call with the buffers it reads and writes (for liveness) and a factory that binds
/// it to memory once offsets are known.
struct StepRecipe {
    /// The node the step belongs to and what it does, for profiles.
    var label: String
    var reads: [Int]
    var writes: [Int]
    var workspace: Int
    var make: (MemoryMap) -> () -> Void
}

/// The compiled form of a model for one set of input shapes: kernels bound to one arena whose
/// buffers are reused by values whose lifetimes do not overlap (liveness over the schedule).
/// Running it allocates nothing but the output tensors.
final class ExecutionPlan {
    struct InputBinding {
        let name: String
        let shape: [Int]
        let pointer: UnsafeMutablePointer<Float>
    }

    struct OutputBinding {
        let pointer: UnsafeMutablePointer<Float>
        let layout: ValueLayout
    }

    let inputs: [InputBinding]
    let outputs: [OutputBinding]
    /// Each step bound to memory: one closure, or for a depth-first prefix's steps that touch the
    /// handed-over value, one closure per image (`HandOver`).
    private let steps: [[() -> Void]]
    let labels: [String]
    private let arena: UnsafeMutableRawPointer
    private let ownedConstants: [UnsafeMutableBufferPointer<Float>]
    let threads: Int
    /// Floats in the arena (all activations) and in the shared workspace.
    let arenaFloats: Int
    let workspaceFloats: Int
    /// Floats all buffers would take without sharing.
    let unsharedFloats: Int

    /// The plan of the first steps, run one image at a time before this plan's own steps run the
    /// whole batch (`DepthFirstPrefix`); nil when every step runs the whole batch.
    private(set) var prefix: DepthFirstPrefix?

    /// Where a depth-first prefix's result goes: the steps that read or write `buffer` get
    /// `images` bindings, image `i`'s with `buffer` at `target + i · imageFloats` (the batch
    /// plan's input), so the result lands in place without a copy.
    struct HandOver {
        let buffer: Int
        let target: UnsafeMutablePointer<Float>
        let imageFloats: Int
        let images: Int
    }

    /// Binds the first `recipeCount` (default: all) of `builder`'s steps to a new arena.
    init(builder: PlanBuilder, inputs: [(name: String, buffer: Int, shape: [Int])], outputs: [PlannedValue],
         recipeCount: Int? = nil, handOver: HandOver? = nil) {
        let recipes = Array(builder.recipes.prefix(recipeCount ?? builder.recipes.count))
        let memory = MemoryPlanner(bufferSizes: builder.bufferSizes, steps: recipes.map { ($0.reads, $0.writes) },
                                   inputs: inputs.map(\.buffer), outputs: outputs.map(\.buffer))
        let total = memory.arenaFloats
        let workspace = ((recipes.map(\.workspace).max() ?? 0) + 15) / 16 * 16
        arenaFloats = total
        unsharedFloats = memory.unsharedFloats
        workspaceFloats = workspace
        arena = UnsafeMutableRawPointer.allocate(byteCount: (total + workspace + 16) * 4, alignment: 64)
        // Every step writes its outputs before any step reads them, so the arena is not cleared.
        let base = arena.bindMemory(to: Float.self, capacity: total + workspace + 16)
        let pointers = memory.offsets.map { $0.map { base + $0 } ?? base }
        // The workspace starts on a 64-byte boundary (oneDNN's bfloat16 copies want it aligned).
        let map = MemoryMap(buffers: pointers, workspace: base + (total + 15) / 16 * 16, threads: builder.threads)
        steps = recipes.map { recipe in
            guard let handOver, (recipe.reads + recipe.writes).contains(handOver.buffer) else { return [recipe.make(map)] }
            return (0..<handOver.images).map { image in
                var buffers = pointers
                buffers[handOver.buffer] = handOver.target + image * handOver.imageFloats
                return recipe.make(MemoryMap(buffers: buffers, workspace: map.workspace, threads: map.threads))
            }
        }
        labels = recipes.map(\.label)
        threads = builder.threads
        ownedConstants = builder.constants
        self.inputs = inputs.map { InputBinding(name: $0.name, shape: $0.shape, pointer: pointers[$0.buffer]) }
        self.outputs = outputs.map { OutputBinding(pointer: pointers[$0.buffer], layout: $0.layout) }
    }

    /// Makes `prefix` run before this plan's steps, filling its input.
    func attach(_ prefix: DepthFirstPrefix) {
        self.prefix = prefix
    }

    deinit {
        arena.deallocate()
        for constant in ownedConstants { constant.deallocate() }
    }

    /// Set by `GRAFT_PROFILE=1` in the environment: per-step wall times printed to stderr.
    private let profile: StepProfile? = ProcessInfo.processInfo.environment["GRAFT_PROFILE"] == "1" ? StepProfile() : nil

    /// Copies the inputs in, runs every step, and copies the requested values out in their
    /// logical layout. With a depth-first prefix, the prefix runs each image of the (single)
    /// input alone and its result fills this plan's input one image after another.
    func run(_ tensors: [Tensor]) -> [Tensor] {
        var times: [Double]? = profile == nil ? nil : []
        if let prefix {
            prefix.run(tensors[0], times: &times)
        } else {
            for (binding, tensor) in zip(inputs, tensors) {
                tensor.withUnsafeBufferPointer { source in
                    if let start = source.baseAddress, source.count > 0 { binding.pointer.update(from: start, count: source.count) }
                }
            }
        }
        execute(times: &times, offset: prefix?.plan.labels.count ?? 0)
        if let profile, let times {
            profile.report(labels: (prefix?.labels ?? []) + labels, times: times)
        }
        return outputs.map { binding in
            let layout = binding.layout
            var result = Tensor(shape: layout.shape, repeating: 0)
            result.withUnsafeMutableBufferPointer { destination in
                guard let target = destination.baseAddress, destination.count > 0 else { return }
                if layout.isIdentity {
                    target.update(from: binding.pointer, count: destination.count)
                } else {
                    let copy = StridedCopy(space: StridedSpace(shape: layout.shape, strides: [layout.logicalStrides]))
                    copy.run(source: binding.pointer, output: target, threads: threads)
                }
            }
            return result
        }
    }

    /// Runs every step (the bindings of image `image` where a step has one per image) on whatever
    /// the input buffers hold; with `times`, adds each step's wall time to entry `offset + step`
    /// (appending the entries the first time).
    func execute(image: Int = 0, times: inout [Double]?, offset: Int) {
        guard var record = times else {
            for step in steps { step.count == 1 ? step[0]() : step[image]() }
            return
        }
        if record.count < offset + steps.count { record += [Double](repeating: 0, count: offset + steps.count - record.count) }
        for (index, step) in steps.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            step.count == 1 ? step[0]() : step[image]()
            record[offset + index] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        times = record
    }
}

/// Wall time per step and per kind of step, for finding where a model spends its time.
final class StepProfile {
    func report(labels: [String], times: [Double]) {
        var byKind: [String: Double] = [:]
        var total = 0.0
        var lines: [String] = []
        for (label, seconds) in zip(labels, times) {
            total += seconds
            let kind = String(label.split(separator: " ", maxSplits: 1).last ?? "")
            byKind[kind, default: 0] += seconds
            lines.append(String(format: "%9.3f ms  %@", seconds * 1000, label))
        }
        var report = lines.joined(separator: "\n") + "\n"
        for (kind, seconds) in byKind.sorted(by: { $0.value > $1.value }) {
            report += String(format: "%9.3f ms  %5.1f%%  %@\n", seconds * 1000, seconds / max(total, 1e-12) * 100, kind)
        }
        report += String(format: "%9.3f ms  total\n", total * 1000)
        FileHandle.standardError.write(Data(report.utf8))
    }
}
