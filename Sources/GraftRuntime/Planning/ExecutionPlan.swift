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
    private let steps: [() -> Void]
    let labels: [String]
    private let arena: UnsafeMutableRawPointer
    private let ownedConstants: [UnsafeMutableBufferPointer<Float>]
    let threads: Int
    /// Floats in the arena (all activations) and in the shared workspace.
    let arenaFloats: Int
    let workspaceFloats: Int
    /// Floats all buffers would take without sharing.
    let unsharedFloats: Int

    init(builder: PlanBuilder, inputs: [(name: String, buffer: Int, shape: [Int])], outputs: [PlannedValue]) {
        let recipes = builder.recipes
        let memory = MemoryPlanner(bufferSizes: builder.bufferSizes, steps: recipes.map { ($0.reads, $0.writes) },
                                   inputs: inputs.map(\.buffer), outputs: outputs.map(\.buffer))
        let total = memory.arenaFloats
        let workspace = (builder.workspaceFloats + 15) / 16 * 16
        arenaFloats = total
        unsharedFloats = memory.unsharedFloats
        workspaceFloats = workspace
        arena = UnsafeMutableRawPointer.allocate(byteCount: (total + workspace + 16) * 4, alignment: 64)
        // Every step writes its outputs before any step reads them, so the arena is not cleared.
        let base = arena.bindMemory(to: Float.self, capacity: total + workspace + 16)
        let pointers = memory.offsets.map { $0.map { base + $0 } ?? base }
        // The workspace starts on a 64-byte boundary (oneDNN's bfloat16 copies want it aligned).
        let map = MemoryMap(buffers: pointers, workspace: base + (total + 15) / 16 * 16, threads: builder.threads)
        steps = recipes.map { $0.make(map) }
        labels = recipes.map(\.label)
        threads = builder.threads
        ownedConstants = builder.constants
        self.inputs = inputs.map { InputBinding(name: $0.name, shape: $0.shape, pointer: pointers[$0.buffer]) }
        self.outputs = outputs.map { OutputBinding(pointer: pointers[$0.buffer], layout: $0.layout) }
    }

    deinit {
        arena.deallocate()
        for constant in ownedConstants { constant.deallocate() }
    }

    /// Set by `GRAFT_PROFILE=1` in the environment: per-step wall times printed to stderr.
    private let profile: StepProfile? = ProcessInfo.processInfo.environment["GRAFT_PROFILE"] == "1" ? StepProfile() : nil

    /// Copies the inputs in, runs every step, and copies the requested values out in their
    /// logical layout.
    func run(_ tensors: [Tensor]) -> [Tensor] {
        for (binding, tensor) in zip(inputs, tensors) {
            tensor.withUnsafeBufferPointer { source in
                if let start = source.baseAddress, source.count > 0 { binding.pointer.update(from: start, count: source.count) }
            }
        }
        if let profile = profile {
            profile.run(steps, labels: labels)
        } else {
            for step in steps { step() }
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
}

/// Wall time per step and per kind of step, for finding where a model spends its time.
final class StepProfile {
    func run(_ steps: [() -> Void], labels: [String]) {
        var byKind: [String: Double] = [:]
        var total = 0.0
        var lines: [String] = []
        for (step, label) in zip(steps, labels) {
            let start = DispatchTime.now().uptimeNanoseconds
            step()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
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
