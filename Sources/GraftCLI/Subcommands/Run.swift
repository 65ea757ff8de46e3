import ArgumentParser
import Foundation
import GraftModel
import Runtime
import Tensors

/// `graft run MODEL.graft --input X.npy --output Y.npy [--layer NAME] [--threads N]`.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model on a NumPy input and write one output (or one layer's value) as NumPy.",
        discussion: """
            The input is read in the source framework's layout (NHWC for Keras models, NCHW for Caffe \
            models), batch first; float64 and integer arrays are converted to float32. The output is \
            written as float32 in the same layout, to a temporary file renamed into place.
            """)

    @Argument(help: "The .graft model file.")
    var model: String

    @Option(help: "The input array (.npy).")
    var input: String

    @Option(help: "Where to write the output array (.npy).")
    var output: String

    @Option(help: "A node (layer) or value name to output instead of the model's output.")
    var layer: String?

    @Option(help: "Threads for the matrix products and kernels (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    /// For benchmarks (Tools/bench): run the model this many times on the input, printing each
    /// run's wall time to stderr; the output is the last run's.
    @Option(name: .customLong("repeat"), help: .hidden)
    var repetitions: Int = 1

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be 1 or more") }
        guard repetitions >= 1 else { throw ValidationError("--repeat must be 1 or more") }
    }

    func run() throws {
        let file = try ModelFile(path: model)
        if layer == nil && file.graph.outputs.count > 1 {
            throw ValidationError("the model has \(file.graph.outputs.count) outputs (\(file.graph.outputs.joined(separator: ", "))); choose one with --layer")
        }
        let session = try InferenceSession(model: file, outputs: layer.map { [$0] }, threadCount: threads)
        let tensor = try Tensor(npyFile: input)
        var result = try session.run(tensor)[0]
        if repetitions > 1 {
            for index in 1..<repetitions {
                let start = DispatchTime.now().uptimeNanoseconds
                result = try session.run(tensor)[0]
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                printDiagnostic(String(format: "run %d: %.4f s", index + 1, seconds))
            }
        }
        try result.writeNumPy(to: output)
    }
}
