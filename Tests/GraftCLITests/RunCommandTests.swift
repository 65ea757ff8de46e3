import Foundation
import GraftTestSupport
import Testing
import GraftTensors
/// `graft run` and `graft diff` on a small Keras CNN (Tools/fixtures/make_op_fixtures.py): its
/// input, Keras's output, and per-layer activations in HDF5 (one copy with `pool1` perturbed).
@Suite struct RunCommand {
    static let fixtures = "Tests/GraftCLITests/Fixtures/cli_cnn"
    static let model = "\(fixtures)/model.graft"
    static let input = "\(fixtures)/input.npy"

    @Test func writesTheModelOutputAsKerasComputedIt() throws {
        let folder = try TemporaryFolder()
        let output = folder.path("predictions.npy")
        let result = try GraftBinary.run(["run", RunCommand.model, "--input", RunCommand.input, "--output", output, "--threads", "2"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        let written = try Tensor(npyFile: output)
        let expected = try Tensor(npyFile: "\(GraftBinary.repository.path)/\(RunCommand.fixtures)/expected_0.npy")
        #expect(written.shape == [2, 3])
        #expect(written.relativeMaxError(to: expected) <= 1e-4)
        // Only the output itself is left in the folder (no temporary file).
        #expect(try folder.contents() == ["predictions.npy"])
    }

    @Test func writesANestedLayerWhenAsked() throws {
        let folder = try TemporaryFolder()
        let output = folder.path("gap.npy")
        let result = try GraftBinary.run(["run", RunCommand.model, "--input", RunCommand.input, "--output", output, "--layer", "head/gap"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try Tensor(npyFile: output).shape == [2, 6])
    }

    @Test func batchRunsTheRowsInSlicesAndJoinsThemInOrder() throws {
        let folder = try TemporaryFolder()
        // Five rows (the fixture's two in the order 0 1 1 0 1, each one scaled differently), so
        // --batch 2 makes two full slices and a short one, and a misplaced slice shows.
        let fixture = try Tensor(npyFile: "\(GraftBinary.repository.path)/\(RunCommand.input)")
        let rowSize = fixture.elementCount / fixture.shape[0]
        var scalars: [Float] = []
        for (row, factor) in zip([0, 1, 1, 0, 1], [Float(1), 1, 0.5, 2, 1.5]) {
            scalars += fixture.scalars[(row * rowSize)..<((row + 1) * rowSize)].map { $0 * factor }
        }
        let input = folder.path("five.npy")
        try Tensor(shape: [5] + fixture.shape.dropFirst(), scalars: scalars).writeNumPy(to: input)
        for layer in [nil, "pool1"] as [String?] {
            let whole = folder.path("whole.npy")
            let sliced = folder.path("sliced.npy")
            let layerArguments = layer.map { ["--layer", $0] } ?? []
            let one = try GraftBinary.run(["run", RunCommand.model, "--input", input, "--output", whole] + layerArguments)
            #expect(one.status == 0, "\(one.standardError)")
            let expected = try Tensor(npyFile: whole)
            #expect(expected.shape.first == 5)
            for batch in ["1", "2", "5", "9"] {
                let result = try GraftBinary.run(["run", RunCommand.model, "--input", input, "--output", sliced, "--batch", batch]
                                                 + layerArguments)
                #expect(result.status == 0, "\(result.standardError)")
                let written = try Tensor(npyFile: sliced)
                #expect(written.shape == expected.shape, "--batch \(batch) \(layer ?? "output")")
                #expect(written.relativeMaxError(to: expected) <= 1e-6, "--batch \(batch) \(layer ?? "output")")
            }
        }
        // Rows 0 and 3 of the model output are Keras's for the fixture's row 0 (scaled by 1 and 2,
        // so row 3 differs), row 1 is Keras's row 1.
        let keras = try Tensor(npyFile: "\(GraftBinary.repository.path)/\(RunCommand.fixtures)/expected_0.npy")
        let output = folder.path("out.npy")
        #expect(try GraftBinary.run(["run", RunCommand.model, "--input", input, "--output", output, "--batch", "2"]).status == 0)
        let written = try Tensor(npyFile: output)
        let width = keras.shape[1]
        let rows = (0..<5).map { Tensor(shape: [1, width], scalars: Array(written.scalars[($0 * width)..<(($0 + 1) * width)])) }
        let kerasRows = (0..<2).map { Tensor(shape: [1, width], scalars: Array(keras.scalars[($0 * width)..<(($0 + 1) * width)])) }
        #expect(rows[0].relativeMaxError(to: kerasRows[0]) <= 1e-4)
        #expect(rows[1].relativeMaxError(to: kerasRows[1]) <= 1e-4)
        #expect(rows[3].relativeMaxError(to: kerasRows[0]) > 1e-3)
    }

    /// Whether the kernel reports avx512_bf16 (read from /proc/cpuinfo, not from graft).
    static let cpuHasBFloat16: Bool = {
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return flags.split(separator: "\n").contains { $0.hasPrefix("flags") && $0.split(separator: " ").contains("avx512_bf16") }
    }()

    /// `--precision bf16` runs where the CPU has avx512_bf16 (close to Keras's float32 output but
    /// not equal to graft's own fp32 result), and is a usage error naming the reason elsewhere.
    @Test func bfloat16PrecisionRunsWhereTheCPUHasItAndIsAUsageErrorElsewhere() throws {
        let folder = try TemporaryFolder()
        let fp32 = folder.path("fp32.npy")
        let bf16 = folder.path("bf16.npy")
        #expect(try GraftBinary.run(["run", RunCommand.model, "--input", RunCommand.input, "--output", fp32]).status == 0)
        let result = try GraftBinary.run(["run", RunCommand.model, "--input", RunCommand.input, "--output", bf16, "--precision", "bf16"])
        if RunCommand.cpuHasBFloat16 && ProcessInfo.processInfo.environment["GRAFT_KERNELS"] != "graft" {
            #expect(result.status == 0, "\(result.standardError)")
            let keras = try Tensor(npyFile: "\(GraftBinary.repository.path)/\(RunCommand.fixtures)/expected_0.npy")
            let written = try Tensor(npyFile: bf16)
            #expect(written.relativeMaxError(to: keras) <= 2e-2)
            #expect(written.scalars != (try Tensor(npyFile: fp32)).scalars)
        } else {
            #expect(result.status == 64)
            #expect(result.standardError.hasPrefix("graft: error: --precision bf16 needs native bfloat16 arithmetic"))
            #expect(!FileManager.default.fileExists(atPath: bf16))
        }
        let wrong = try GraftBinary.run(["run", RunCommand.model, "--input", RunCommand.input, "--output", bf16, "--precision", "fp16"])
        #expect(wrong.status == 64)
    }

    /// Runs `graft run` on `input` with `options`, and returns the result after checking that the
    /// output file was not written.
    static func runExpectingNoOutput(input: String = RunCommand.input, _ options: [String]) throws -> GraftBinary.Result {
        let folder = try TemporaryFolder()
        let output = folder.path("out.npy")
        let result = try GraftBinary.run(["run", RunCommand.model, "--input", input, "--output", output] + options)
        #expect(!FileManager.default.fileExists(atPath: output))
        return result
    }

    @Test func aBatchBelowOneIsAUsageError() throws {
        let result = try RunCommand.runExpectingNoOutput(["--batch", "0"])
        #expect(result.status == 64)
        #expect(result.standardError.contains("--batch must be 1 or more"))
    }

    @Test func anUnknownLayerExits65AndWritesNothing() throws {
        let result = try RunCommand.runExpectingNoOutput(["--layer", "conv9"])
        #expect(result.status == 65)
        // Fuzzing finding 6: graph errors name the model file.
        #expect(result.standardError.hasPrefix("graft: error: model '\(RunCommand.model)': the model has no layer or value named 'conv9'; layers include"))
    }

    @Test func aWrongInputShapeExits65AndWritesNothing() throws {
        let folder = try TemporaryFolder()
        let wrong = folder.path("wrong.npy")
        try Tensor(shape: [2, 8, 8, 4], repeating: 0).writeNumPy(to: wrong)
        let result = try RunCommand.runExpectingNoOutput(input: wrong, [])
        #expect(result.status == 65)
        #expect(result.standardError == "graft: error: model '\(RunCommand.model)': input 'image' has shape [2, 8, 8, 4], but the model expects [?, 8, 8, 3] (? is any size)\n")
    }

    @Test func diffPassesOnTheFrameworksOwnActivations() throws {
        let result = try GraftBinary.run(["diff", RunCommand.model, "--input", RunCommand.input,
                                          "--reference", "\(RunCommand.fixtures)/activations.h5"])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(lines.count == 9)
        #expect(lines[0] == "layer op shape relative error")
        #expect(lines.map { $0.split(separator: " ").first.map(String.init) ?? "" }
                == ["layer", "conv1", "bn1", "relu1", "pool1", "conv2", "head/gap", "head/logits", "head/predictions"])
        #expect(lines.contains("relu1 Activation no reference"))
        #expect(lines.contains { $0.hasPrefix("pool1 MaxPooling2D [2, 4, 4, 4] ") })
        #expect(!result.standardOutput.contains("over"))
    }

    @Test func diffFindsTheFirstPerturbedLayer() throws {
        let result = try GraftBinary.run(["diff", RunCommand.model, "--input", RunCommand.input,
                                          "--reference", "\(RunCommand.fixtures)/activations-perturbed.h5"])
        #expect(result.status == 1)
        let marked = result.standardOutput.split(separator: "\n").filter { $0.contains("first over tolerance") }
        #expect(marked.count == 1)
        #expect(marked.first?.hasPrefix("pool1 ") == true)
        #expect(result.standardError.contains("'pool1'"))
        // A loose enough tolerance accepts the perturbation (1% of the layer's largest value).
        let loose = try GraftBinary.run(["diff", RunCommand.model, "--input", RunCommand.input,
                                         "--reference", "\(RunCommand.fixtures)/activations-perturbed.h5", "--tolerance", "0.02"])
        #expect(loose.status == 0)
    }

    @Test func diffRejectsAFileThatIsNotHDF5() throws {
        let result = try GraftBinary.run(["diff", RunCommand.model, "--input", RunCommand.input, "--reference", RunCommand.input])
        #expect(result.status == 65)
        #expect(result.standardOutput.isEmpty)
    }
}
