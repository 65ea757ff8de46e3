import ArgumentParser
import Foundation
import GraftModel
import GraftFeatureCache
import GraftSupport
import GraftHDF5
import GraftRuntime
import GraftTensors
/// `graft diff MODEL.graft --input X.npy --reference ACTS.h5 [--tolerance 1e-4]`: per-layer
/// parity against activations the source framework computed for the same input.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare every layer's output with reference activations in an HDF5 file.",
        discussion: """
            ACTS.h5 holds one dataset per layer at its root, named by the layer with '%' written \
            '%25' and '/' written '%2F' (or a nested layer 'outer/inner' as the dataset 'inner' in \
            the group 'outer'), each the layer's output for the input in the \
            source framework's layout, as Tools/dump-activations writes it. graft computes every layer \
            that has a reference in one run and prints, in execution order, each layer's name, op, \
            shape and relative max error max|graft - reference| / max|reference|. The exit status is \
            1 if any layer exceeds the tolerance, 0 otherwise.
            """)

    @Argument(help: "The .graft model file.")
    var model: String

    @Option(help: "The input array (.npy) the reference activations were computed on.")
    var input: String

    @Option(help: "The reference activations (.h5).")
    var reference: String

    @Option(help: "The largest relative max error a layer may have.")
    var tolerance: Float = 1e-4

    @OptionGroup(title: "Numerics")
    var numerics: NumericsOptions

    @Option(help: "Threads for the matrix products and kernels (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard tolerance >= 0, tolerance.isFinite else { throw ValidationError("--tolerance must be a non-negative number") }
        guard threads >= 1 else { throw ValidationError("--threads must be 1 or more") }
    }

    func run() throws {
        let file = try ModelFile(path: model)
        let activations = try HDF5File(opening: reference)
        var references: [String: HDF5Dataset] = [:]
        for node in file.graph.nodes {
            // Tools/dump-activations writes `outer/inner` as the root dataset `outer%2Finner`
            // (the feature cache's escaping); a nested path `outer/inner` is read too.
            for name in [escapedLayerName(node.name), node.name] where try activations.root.contains(name) {
                guard try activations.root.kind(ofMember: name) == .dataset else { continue }
                references[node.name] = try activations.dataset(name)
                break
            }
        }
        let compared = file.graph.nodes.map(\.name).filter { references[$0] != nil }
        guard !compared.isEmpty else {
            throw DiffError.noReferences(reference: reference, model: model, example: file.graph.nodes.first?.name ?? "")
        }
        let session = try InferenceSession(model: file, outputs: compared, threadCount: threads, algorithm: numerics.algorithm, precision: numerics.precision)
        let results = try session.run(try Tensor(npyFile: input))
        let resultByName = Dictionary(uniqueKeysWithValues: zip(compared, results))

        var rows: [[String]] = [["layer", "op", "shape", "relative error", ""]]
        var firstFailure: String?
        var failures = 0
        for node in file.graph.nodes {
            guard let dataset = references[node.name], let result = resultByName[node.name] else {
                rows.append([node.name, node.op.rawValue, "", "no reference", ""])
                continue
            }
            let shape = try dataset.shape
            let values = try dataset.read(as: Float.self)
            let shapeText = "[" + result.shape.map(String.init).joined(separator: ", ") + "]"
            let errorText: String
            let failed: Bool
            if shape != result.shape {
                errorText = "reference shape [" + shape.map(String.init).joined(separator: ", ") + "]"
                failed = true
            } else {
                let error = result.relativeMaxError(to: Tensor(shape: shape, scalars: values))
                errorText = String(format: "%.3e", Double(error))
                failed = !(error <= tolerance)
            }
            var marker = ""
            if failed {
                failures += 1
                if firstFailure == nil {
                    firstFailure = node.name
                    marker = "<- first over tolerance"
                } else {
                    marker = "over"
                }
            }
            rows.append([node.name, node.op.rawValue, shapeText, errorText, marker])
        }
        FileHandle.standardOutput.write(Data(Diff.table(rows).utf8))
        if let firstFailure {
            printDiagnostic("\(failures) of \(compared.count) layers exceed the tolerance \(tolerance); the first is '\(firstFailure)'")
            // Status 1 is a result, not an error: GraftMain exits with it and prints nothing more.
            throw ExitCode(1)
        }
    }

    /// Left-aligned columns separated by two spaces.
    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}

/// Errors of `graft diff` beyond those of the model, input and reference files.
enum DiffError: GraftError {
    case noReferences(reference: String, model: String, example: String)

    var exitStatus: ExitStatus { .dataError }

    var description: String {
        switch self {
        case let .noReferences(reference, model, example):
            "'\(reference)' holds no dataset named after a layer of '\(model)' (for example '\(example)')"
        }
    }
}
