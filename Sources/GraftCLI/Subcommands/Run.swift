import ArgumentParser
import Foundation
import GraftModel
import GraftSupport
import GraftRuntime
import GraftTensors
/// `graft run MODEL.graft --input X.npy --output Y.npy [--layer NAME] [--batch N] [--threads N]`.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model on a NumPy input and write one output (or one layer's value) as NumPy.",
        discussion: """
            The input is read in the source framework's layout (NHWC for Keras models, NCHW for Caffe \
            models), batch first; float64 and integer arrays are converted to float32. The output is \
            written as float32 in the same layout, to a temporary file renamed into place. With \
            --batch N the input's rows (its first axis) run N at a time and the outputs are joined \
            along the first axis; the result equals one run on the whole input up to float rounding.
            """)

    @Argument(help: "The .graft model file.")
    var model: String

    @Option(help: "The input array (.npy).")
    var input: String

    @Option(help: "Where to write the output array (.npy).")
    var output: String

    @Option(help: "A node (layer) or value name to output instead of the model's output.")
    var layer: String?

    @Option(help: "Rows of the input per forward pass (default: the whole input in one pass).")
    var batch: Int?

    @OptionGroup(title: "Numerics")
    var numerics: NumericsOptions

    @Option(help: "Threads for the matrix products and kernels (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    /// For benchmarks (Tools/bench): run the model this many times on the input, printing each
    /// run's wall time to stderr; the output is the last run's.
    @Option(name: .customLong("repeat"), help: .hidden)
    var repetitions: Int = 1

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be 1 or more") }
        guard repetitions >= 1 else { throw ValidationError("--repeat must be 1 or more") }
        if let batch, batch < 1 { throw ValidationError("--batch must be 1 or more") }
    }

    func run() throws {
        let file = try ModelFile(path: model)
        if layer == nil && file.graph.outputs.count > 1 {
            throw ValidationError("the model has \(file.graph.outputs.count) outputs (\(file.graph.outputs.joined(separator: ", "))); choose one with --layer")
        }
        let session = try inModel { try InferenceSession(model: file, outputs: layer.map { [$0] }, threadCount: threads,
                                                         algorithm: numerics.algorithm, precision: numerics.precision) }
        let tensor = try Tensor(npyFile: input)
        let batches = RowBatches(tensor, rowsPerBatch: batch)
        var result = try inModel { try batches.run(session) }
        if repetitions > 1 {
            for index in 1..<repetitions {
                let start = DispatchTime.now().uptimeNanoseconds
                result = try inModel { try batches.run(session) }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                printDiagnostic(String(format: "run %d: %.4f s", index + 1, seconds))
            }
        }
        try result.writeNumPy(to: output)
    }

    /// Runs `body`, naming the model file in the graph errors it throws.
    private func inModel<Value>(_ body: () throws -> Value) throws -> Value {
        do {
            return try body()
        } catch let error as RuntimeError {
            // A usage error (a precision this CPU lacks) is about the command, not the model.
            if error.exitStatus == .usage { throw error }
            throw ModelRunError(model: model, underlying: error)
        }
    }
}

/// A graph error from compiling or running a model, prefixed with the model file's path.
struct ModelRunError: GraftError {
    let model: String
    let underlying: RuntimeError

    var exitStatus: ExitStatus { underlying.exitStatus }
    var description: String { "model '\(model)': \(underlying)" }
}

/// An input run in consecutive slices of its first axis, for `graft run --batch`.
struct RowBatches {
    let input: Tensor
    /// Rows per slice; `nil` for the whole input in one run.
    let rowsPerBatch: Int?

    init(_ input: Tensor, rowsPerBatch: Int?) {
        self.input = input
        self.rowsPerBatch = rowsPerBatch
    }

    /// Runs every slice (each made when its turn comes, so the input is held once) and joins the
    /// outputs along their first axis, which must have as many rows as the slice (a value that
    /// does not keep the batch axis cannot be split).
    func run(_ session: InferenceSession) throws -> Tensor {
        guard let rowsPerBatch, let rows = input.shape.first, rows > rowsPerBatch else {
            return try session.run(input)[0]
        }
        let rowSize = input.shape.dropFirst().reduce(1, *)
        var scalars: [Float] = []
        var rowShape: [Int]?
        for start in stride(from: 0, to: rows, by: rowsPerBatch) {
            let count = min(rowsPerBatch, rows - start)
            let slice = Tensor(shape: [count] + input.shape.dropFirst(),
                               scalars: Array(input.scalars[(start * rowSize)..<((start + count) * rowSize)]))
            let output = try session.run(slice)[0]
            guard output.shape.first == count, rowShape == nil || Array(output.shape.dropFirst()) == rowShape else {
                throw ValidationError("--batch needs an output whose first axis is the batch, but '\(session.outputNames[0])' "
                                      + "has shape \(output.shape) for \(count) input rows; run without --batch")
            }
            if rowShape == nil {
                rowShape = Array(output.shape.dropFirst())
                scalars.reserveCapacity(output.elementCount / count * rows)
            }
            scalars.append(contentsOf: output.scalars)
        }
        return Tensor(shape: [rows] + (rowShape ?? []), scalars: scalars)
    }
}
