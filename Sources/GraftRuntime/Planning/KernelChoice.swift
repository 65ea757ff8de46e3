import Foundation
import GraftDNNL
import GraftNumerics

/// Which implementation runs an op family, chosen when a plan is built.
///
/// oneDNN runs 2-D convolutions (grouped, depthwise and dilated ones included) where it has a
/// kernel for them: its direct convolutions in blocked layouts run near the CPU's peak, far
/// above im2col + sgemm. graft's own kernels run the rest, and everything when
/// `GRAFT_KERNELS=graft` is set in the environment (for measuring one against the other).
enum KernelChoice {
    /// Whether oneDNN may be used at all in this process.
    static let oneDNNEnabled: Bool = ProcessInfo.processInfo.environment["GRAFT_KERNELS"] != "graft"

    /// The version of graft's runtime numerics: raised whenever a change of kernels or of their
    /// summation order can change results in their last bits.
    static let numericsVersion = 8

    /// What the results' last bits depend on, for a feature cache to record and compare:
    /// the numerics version, the precision, and the convolution kernels with the instruction set
    /// oneDNN dispatches to on this machine.
    static func numerics(_ algorithm: ConvolutionAlgorithm, precision: Precision = .float32) -> String {
        let winograd = algorithm == .winograd && precision == .float32
        var convolutions = oneDNNEnabled
            ? "oneDNN \(DNNLInfo.version) \(DNNLInfo.instructionSet) direct"
            : "graft im2col+OpenBLAS"
        if winograd {
            let products = CPUFeatures.hasAVX2 ? "graft avx2 products where Cout % 16 == 0" : "OpenBLAS products"
            convolutions += ", 3x3 stride 1: graft winograd F(4x4,3x3) with \(products), OpenBLAS products elsewhere"
        }
        return "graft runtime numerics \(numericsVersion); \(precision == .float32 ? "f32" : "bf16 convolutions, f32 accumulation"); convolutions \(convolutions); dense \(CPUFeatures.hasAVX2 ? "graft avx2" : "OpenBLAS")"
    }

    /// The channel block of oneDNN's blocked layout that runs of 1×1 and depthwise convolutions
    /// keep between them (`PlanBuilder.planBlocked`): 8 (nChw8c) where oneDNN dispatches to its
    /// AVX2 kernels, 16 (nChw16c) to its AVX-512 ones, 0 (NHWC throughout) elsewhere.
    static let channelBlock: Int = {
        guard oneDNNEnabled else { return 0 }
        let isa = DNNLInfo.instructionSet
        return isa.hasPrefix("avx2") ? 8 : isa.hasPrefix("avx512_core") ? 16 : 0
    }()
    /// oneDNN's name of that layout, for plan labels.
    static var blockedName: String { "nChw\(channelBlock)c" }
    /// That layout as the oneDNN wrapper names it.
    static var blockedLayout: DNNLConvolution.ActivationLayout { channelBlock == 16 ? .blocked16 : .blocked8 }

    /// Whether graft's own Winograd runs this convolution: 3×3 stride-1 float32 layers it
    /// supports, when Winograd is asked for; its products run on graft's AVX2 (or AVX-512)
    /// kernel where output channels come in multiples of 16, on OpenBLAS elsewhere.
    ///
    /// oneDNN 2.6 also has Winograd kernels on AVX-512 CPUs (`jit_avx512_core_f32_wino_conv_4x3`,
    /// `jit_fp32_wino_2x3`), which graft used for the layers its own would run on OpenBLAS
    /// products, until they turned out to give results that depend on the thread count: a 3×3
    /// layer of 32 to 24 channels on 128×128 images at batch 8 differed in 47 % of its outputs
    /// between 1 and 2 threads (by up to 1.4e-6 of the largest), where graft's own Winograd gives
    /// the same bits on any thread count. graft's was already the faster on every layer measured
    /// where its products run on AVX2 (ResNet50's sixteen 3×3 layers 3.2–4.0 ms each against
    /// 3.5–6.1 at batch 8, 2 threads, on the Zen 4 EPYC; VGG16's layers 7–20 % faster).
    static func usesGraftWinograd(_ geometry: ConvolutionGeometry, depthwise: Bool, algorithm: ConvolutionAlgorithm, precision: Precision) -> Bool {
        algorithm == .winograd && precision == .float32 && !depthwise && WinogradConvolution.supports(geometry)
    }

    /// The oneDNN post-ops that compute `activation` after the bias (and the residual sum, when
    /// `accumulates`), or nil when oneDNN has no exact equivalent of the function.
    static func postOps(for activation: ActivationKernel, accumulates: Bool) -> [PostOp]? {
        let function: [PostOp]
        switch activation {
        case .linear: function = []
        case .relu: function = [.relu]
        case .relu6: function = [.relu6]
        case .sigmoid: function = [.sigmoid]
        case .tanh: function = [.tanh]
        default: return nil
        }
        return (accumulates ? [.sum] : []) + function
    }

    /// A oneDNN direct convolution for `geometry` with `activation` fused (and the residual sum
    /// when `accumulates`), or nil to use graft's own kernel.
    static func convolution(_ geometry: ConvolutionGeometry, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                            activation: ActivationKernel, accumulates: Bool, depthwise: Bool,
                            precision: Precision = .float32,
                            layout: DNNLConvolution.ActivationLayout = .channelsLast,
                            readsRounded: Bool = false, roundsResult: Bool = false,
                            weightCache: ReorderedWeightCache? = nil, weightKey: String = "") -> DNNLConvolution? {
        guard oneDNNEnabled, let postOps = postOps(for: activation, accumulates: accumulates) else { return nil }
        let g = geometry
        let shape = oneDNNGeometry(g, depthwise: depthwise)
        if precision == .bfloat16, layout == .channelsLast,
           // Direct, on the whole batch: oneDNN's bf16 kernels, like its f32 direct ones, fix each
           // output's summation order by the shapes of one image (checked by the batch tests).
           let reduced = try? DNNLConvolution(geometry: shape, imagesPerCall: g.batch, weights: kernel, bias: bias,
                                              postOps: postOps, precision: .bfloat16, readsRounded: readsRounded, roundsResult: roundsResult,
                                              weightCache: weightCache, weightKey: weightKey) {
            return reduced
        }
        // A bfloat16 source or result needs the bfloat16 kernel.
        if readsRounded || roundsResult { return nil }
        return try? DNNLConvolution(geometry: shape, imagesPerCall: g.batch, weights: kernel, bias: bias, postOps: postOps, layout: layout,
                                    weightCache: weightCache, weightKey: weightKey)
    }
}

extension KernelChoice {
    /// oneDNN's description of a convolution of `geometry` (per image).
    static func oneDNNGeometry(_ g: ConvolutionGeometry, depthwise: Bool) -> DNNLConvolution.Geometry {
        DNNLConvolution.Geometry(
            inputHeight: g.inputHeight, inputWidth: g.inputWidth, inputChannels: g.inputChannels,
            outputHeight: g.outputHeight, outputWidth: g.outputWidth, outputChannels: g.outputChannels,
            kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth, strideHeight: g.strideHeight, strideWidth: g.strideWidth,
            dilationHeight: g.dilationHeight, dilationWidth: g.dilationWidth, padTop: g.padTop, padLeft: g.padLeft,
            groups: depthwise ? g.inputChannels : g.groups)
    }

    /// A 1×1 convolution and the 3×3 depthwise convolution that alone reads its result, as one
    /// oneDNN primitive (its depthwise post-op): the 1×1 result is computed a band of rows at a
    /// time into a small buffer and never written out, which on MobileNetV2's expand →
    /// depthwise pairs saves the widest tensors' round trip to memory. Nil when oneDNN has no
    /// such kernel here, an activation has no exact post-op, or the precision is bfloat16, and
    /// the two run apart.
    ///
    /// Numerics: each depthwise output is the sum of its 9 products in the kernel's fixed
    /// order, over 1×1 results computed as in the unfused kernel's blocking, all by the shapes
    /// of one image; whole batch in one call, as for the direct convolutions (the batch tests
    /// check that an image's bits do not depend on its batch or position).
    static func convolution(_ geometry: ConvolutionGeometry, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: ActivationKernel,
                            thenDepthwise weights: UnsafePointer<Float>, bias depthwiseBias: UnsafePointer<Float>?, activation depthwiseActivation: ActivationKernel,
                            stride: Int, padding: Int, precision: Precision) -> DNNLConvolution? {
        guard oneDNNEnabled, precision == .float32, let before = postOps(for: activation, accumulates: false),
              let after = postOps(for: depthwiseActivation, accumulates: false) else { return nil }
        let stage = DNNLConvolution.DepthwiseStage(weights: weights, bias: depthwiseBias, stride: stride, padding: padding, postOps: after)
        // oneDNN falls back on running the two primitives one after the other over whole tensors
        // (`ref_fused_convolution`, on 7×7 images here), slower than planning them apart.
        guard let fused = try? DNNLConvolution(geometry: oneDNNGeometry(geometry, depthwise: false), imagesPerCall: geometry.batch, weights: kernel,
                                               bias: bias, postOps: before, depthwise: stage, layout: blockedLayout),
              !fused.implementation.hasPrefix("ref") else { return nil }
        return fused
    }
}

/// The element type of the convolutions' operands (`--precision`).
public enum Precision: String, Sendable, CaseIterable {
    /// float32 everywhere (the default).
    case float32 = "fp32"
    /// bfloat16 weights and convolution inputs with float32 accumulation, on CPUs with native
    /// bf16 dot products (`avx512_bf16`). Convolutions run oneDNN's direct bf16 kernels (it has no
    /// bf16 Winograd); every other op, and the values between ops, stay float32. Operands keep
    /// 8 significant bits, so features differ from float32 ones by about 1e-2 relative: opt-in,
    /// never the default.
    case bfloat16 = "bf16"

    /// Whether this CPU runs bfloat16 natively, and if not why (for the error message).
    public static var bfloat16Unavailable: String? {
        guard KernelChoice.oneDNNEnabled else { return "GRAFT_KERNELS=graft turns oneDNN off" }
        return DNNLInfo.hasNativeBFloat16 ? nil : "this CPU (oneDNN dispatches to \(DNNLInfo.instructionSet)) has no avx512_bf16 instructions"
    }
}

/// How 3×3 stride-1 convolutions are computed.
public enum ConvolutionAlgorithm: String, Sendable, CaseIterable {
    /// Winograd F(4×4, 3×3): graft's own (`WinogradConvolution`), or oneDNN's on AVX-512 for
    /// layers graft's own would run on OpenBLAS products (`KernelChoice.usesGraftWinograd`);
    /// 2–3× faster on such layers, with results within a few 1e-6 (relative) of the direct
    /// convolution's.
    case winograd
    /// Direct convolution everywhere (`--exact`).
    case exact

    /// The default (`defaultAlgorithm`), unless `GRAFT_WINOGRAD=1` or `0` in the environment says
    /// otherwise.
    public static var standard: ConvolutionAlgorithm {
        switch ProcessInfo.processInfo.environment["GRAFT_WINOGRAD"] {
        case "0": .exact
        case "1": .winograd
        default: defaultAlgorithm
        }
    }

    /// The algorithm when neither `--exact` nor `GRAFT_WINOGRAD` says otherwise: Winograd, since
    /// the whole Keras zoo (207 runs) and the Caffe zoo stay within the parity bar with it on
    /// (worst 2.7e-5 on outputs, 3.1e-6 on penultimate layers).
    static let defaultAlgorithm = ConvolutionAlgorithm.winograd
}
