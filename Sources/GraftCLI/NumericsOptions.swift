import ArgumentParser
import GraftRuntime

extension Precision: ExpressibleByArgument {}

/// `--exact` and `--precision`: how the commands that run a model compute its convolutions.
struct NumericsOptions: ParsableArguments {
    @Flag(help: "Direct convolution everywhere: no Winograd for 3x3 layers (results within a few 1e-6 of the default's).")
    var exact = false

    @Option(help: ArgumentHelp(
        "Convolution operands: fp32 (default) or bf16 (bfloat16 weights and inputs with float32 sums, on CPUs with avx512_bf16; faster, features within about 1e-2).",
        valueName: "fp32|bf16"))
    var precision: Precision = .float32

    /// The convolution algorithm the flags ask for (bf16 always runs direct convolutions).
    var algorithm: ConvolutionAlgorithm { exact ? .exact : .standard }
}
