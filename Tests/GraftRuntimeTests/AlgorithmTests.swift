import Foundation
import GraftModel
import GraftNumerics
import GraftRuntime
import GraftTensors
import Testing

/// `--exact` and Winograd: both within the parity bar of the framework's outputs (the suite runs
/// again with GRAFT_WINOGRAD=1 for the rest), and each names itself in the session's numerics,
/// which a feature cache records.
@Suite struct ConvolutionAlgorithms {
    @Test(arguments: ["conv_bn_relu", "residual_net", "conv_valid", "se_block", "winograd_blocks", "winograd_blocks_nchw",
                      "winograd_pooling", "winograd_pooling_nchw"])
    func bothAlgorithmsMatchTheFramework(name: String) throws {
        let fixture = try FixtureCase(name)
        let requests = fixture.outputs.map(\.name)
        var numerics: Set<String> = []
        for algorithm in ConvolutionAlgorithm.allCases {
            let session = try InferenceSession(model: fixture.model, outputs: requests, threadCount: 2, algorithm: algorithm)
            numerics.insert(session.numerics)
            let results = try session.run(fixture.inputs)
            for (result, output) in zip(results, fixture.outputs) {
                let error = result.relativeMaxError(to: output.expected)
                #expect(error <= parityTolerance, "\(name) \(output.name) with \(algorithm): relative max error \(error)")
            }
        }
        #expect(numerics.count == ConvolutionAlgorithm.allCases.count || ProcessInfo.processInfo.environment["GRAFT_KERNELS"] == "graft")
    }

    /// graft's own F(4×4, 3×3) runs all four 3×3 stride-1 layers of the fixture (its fused ReLU,
    /// tanh without bias, residual Add of the layer's own input, done as a separate step, and
    /// residual accumulation into another layer's output): the one with 32 output channels on
    /// graft's AVX2 products where the CPU has AVX2, the others (24 output channels) on OpenBLAS
    /// products. oneDNN's Winograd, whose bits depend on the thread count, runs nowhere. The
    /// numerics say so, and `--exact` turns Winograd off. The results are checked against Keras
    /// by the test above.
    @Test(arguments: ["winograd_blocks", "winograd_blocks_nchw"])
    func graftWinogradRunsWhereItsProductsDo(name: String) throws {
        let (fixture, requests, shapes, session, steps) = try winogradPlan(name)
        let exact = try InferenceSession(model: fixture.model, outputs: requests, threadCount: 2, algorithm: .exact)
        #expect(!exact.numerics.contains("winograd"))
        #expect(try !exact.memoryPlan(inputShapes: shapes).steps.contains { $0.contains("Winograd") })
        #expect(session.numerics.contains("graft winograd"), "\(session.numerics)")
        let packed = steps.filter { $0.contains("AVX2 products") }.count
        #expect(packed == (CPUFeatures.hasAVX2 ? 1 : 0), "\(steps)")
        #expect(!steps.contains { $0.contains("_wino_") }, "\(steps)")
        #expect(steps.filter { $0.contains("graft Winograd") }.count == 4, "\(steps)")
        #expect(steps.contains { $0.contains("residual Add (graft Winograd") }, "\(steps)")
        #expect(steps.filter { $0.contains("OpenBLAS products") }.count == 4 - packed, "\(steps)")
    }

    /// A 2×2 stride-2 MaxPooling2D after one of graft's Winograd convolutions runs in its output
    /// transform when the convolution's result is even-sized, read by the pooling alone and not
    /// requested: the fixture's first two poolings, not the one after a 10×11 result nor the one
    /// after a requested convolution. The results match Keras (the test above, with the pooled
    /// values requested too) and are bit-identical to the unfused plan's.
    @Test(arguments: ["winograd_pooling", "winograd_pooling_nchw"])
    func maxPoolingRunsInTheWinogradOutputTransform(name: String) throws {
        let (fixture, requests, shapes, session, steps) = try winogradPlan(name)
        let fused = steps.filter { $0.contains("+ MaxPooling2D (graft Winograd") }
        // conv_pooled (32 outputs, graft's AVX2 products where the CPU has AVX2) and
        // conv_linear_pooled (24 outputs, OpenBLAS products).
        let expected = ["conv_pooled ", "conv_linear_pooled "]
        #expect(fused.count == expected.count && zip(fused, expected).allSatisfy { $0.hasPrefix($1) }, "\(steps)")
        #expect(steps.filter { $0.hasSuffix(" MaxPooling2D") }.count == 4 - expected.count, "the other poolings run apart: \(steps)")
        // The same plan with every convolution's result requested fuses nothing; the values the
        // fused plan computes must be the same bits.
        let convolutions = ["conv_pooled", "conv_linear_pooled", "conv_odd", "conv_requested"]
        let unfused = try InferenceSession(model: fixture.model, outputs: requests + convolutions, threadCount: 2, algorithm: .winograd)
        #expect(try !unfused.memoryPlan(inputShapes: shapes).steps.contains { $0.contains("+ MaxPooling2D") })
        let together = try session.run(fixture.inputs), apart = try unfused.run(fixture.inputs)
        for (index, request) in requests.enumerated() {
            #expect(together[index].scalars.map(\.bitPattern) == apart[index].scalars.map(\.bitPattern), "\(name) \(request)")
        }
    }

    /// Where oneDNN dispatches to its AVX2 kernels, MobileNetV2's blocks run on its nChw8c layout
    /// (on AVX-512, each expand and depthwise pair fused on nChw16c; see the branches below)
    /// from the first depthwise convolution
    /// (whose NHWC input is converted once) to the 1×1 convolution whose result pooling reads
    /// (converted back once), with the residual Add accumulated in place in nChw8c. On AVX2,
    /// oneDNN runs each "expand" 1×1 convolution with the depthwise one after it as one primitive
    /// (stride 1, and stride 2 after Keras's asymmetric padding) when the batch's images are
    /// large enough (8 of 40×40 here; at batch 1 it runs them apart): the image's bits must not
    /// change. On that batch the results match Keras's (`expected_formula_batch8.npy`, computed
    /// by the fixture script on the same formula input) and the all-NHWC plan's within 1e-6.
    @Test(arguments: ["mobilenet_blocks", "mobilenet_blocks_nchw"])
    func mobileNetBlocksKeepOneDNNsBlockedLayout(name: String) throws {
        let fixture = try FixtureCase(name)
        let requests = fixture.outputs.map(\.name)
        let nchw = name.hasSuffix("nchw")
        // Element i of the input, in the fixture's layout, is float32(2 sin(0.001 i)).
        let shape = nchw ? [8, 16, 40, 40] : [8, 40, 40, 16]
        let batch = Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Float(2 * sin(0.001 * Double($0))) })
        let keras = try Tensor(npyFile: FixtureCase.root.appendingPathComponent(name).appendingPathComponent("expected_formula_batch8.npy").path)
        let session = try InferenceSession(model: fixture.model, outputs: requests, threadCount: 2)
        let steps = try session.memoryPlan(inputShapes: [batch.shape]).steps
        guard ProcessInfo.processInfo.environment["GRAFT_KERNELS"] != "graft" else {
            #expect(!steps.contains { $0.contains("nChw8c") }, "\(steps)")
            return
        }
        // oneDNN's AVX2 kernels: "oneDNN <version> avx2… direct" in the numerics.
        if session.numerics.range(of: #"oneDNN \S+ avx2\S* direct"#, options: .regularExpression) != nil {
            #expect(steps.filter { $0.contains("(NHWC to nChw8c") }.count == 1 && steps.contains { $0.hasPrefix("dw0 (NHWC to nChw8c") }, "\(steps)")
            #expect(steps.filter { $0.contains("(nChw8c to NHWC") }.count == 1 && steps.contains { $0.hasPrefix("head (nChw8c to NHWC") }, "\(steps)")
            #expect(steps.contains { $0.hasPrefix("project1 Conv2D + residual Add (oneDNN") && $0.hasSuffix(", nChw8c)") }, "\(steps)")
            #expect(steps.contains { $0.hasPrefix("head Conv2D (oneDNN") && !$0.contains("nChw8c)") }, "\(steps)")
            let fused = steps.filter { $0.contains("+ DepthwiseConv2D (oneDNN jit") && $0.hasSuffix("depthwise post-op, nChw8c)") }
            #expect(fused.contains { $0.hasPrefix("expand1 ") } && fused.contains { $0.hasPrefix("expand2 ") }, "\(steps)")
        } else if session.numerics.range(of: #"oneDNN \S+ avx512_core\S* direct"#, options: .regularExpression) != nil {
            // oneDNN's AVX-512 kernels: nChw16c runs start at fused pairs only, on channel counts in
            // multiples of 16 (expand1 and expand2: 16 → 48); what the others read goes back to NHWC.
            #expect(!steps.contains { $0.contains("nChw8c") }, "\(steps)")
            let fused = steps.filter { $0.contains("+ DepthwiseConv2D (oneDNN jit") && $0.hasSuffix("depthwise post-op, nChw16c)") }
            #expect(fused.count == 2 && fused.contains { $0.hasPrefix("expand1 ") } && fused.contains { $0.hasPrefix("expand2 ") }, "\(steps)")
            // Their 16-channel inputs are NHWC and nChw16c at once: read in place, not copied.
            #expect(!steps.contains { $0.contains("(NHWC to nChw16c)") }, "\(steps)")
        } else {
            // Older CPUs keep NHWC throughout (`KernelChoice.channelBlock`).
            #expect(!steps.contains { $0.contains("nChw") }, "\(steps)")
        }
        // With every layer's result requested, every layer runs on NHWC, apart.
        let layers = ["dw0_relu", "project0_bn", "expand1_relu", "dw1_relu", "add1", "expand2_relu", "dw2_relu", "project2", "expand3", "dw3"]
        let apart = try InferenceSession(model: fixture.model, outputs: requests + layers, threadCount: 2)
        #expect(try !apart.memoryPlan(inputShapes: [batch.shape]).steps.contains { $0.contains("nChw8c") })
        let together = try session.run(batch)[0], separately = try apart.run(batch)[0]
        #expect(together.relativeMaxError(to: keras) <= parityTolerance, "\(name): \(together.relativeMaxError(to: keras)) from Keras")
        let error = together.relativeMaxError(to: separately)
        #expect(error <= 1e-6, "\(name): \(error) from the NHWC plan")
        // The first image alone (the layers apart) and on one thread: the same bits.
        var single = batch.shape
        single[0] = 1
        let first = Tensor(shape: single, scalars: Array(batch.scalars.prefix(single.reduce(1, *))))
        let alone = try session.run(first)[0]
        let oneThread = try InferenceSession(model: fixture.model, outputs: requests, threadCount: 1).run(batch)[0]
        let width = alone.scalars.count
        #expect(alone.scalars.map(\.bitPattern) == together.scalars.prefix(width).map(\.bitPattern), "\(name): batch 1 against batch 8")
        #expect(oneThread.scalars.map(\.bitPattern) == together.scalars.map(\.bitPattern), "\(name): 1 thread against 2")
        // The batch with its layers run image by image up to the last single value (`head`'s
        // result): Keras's results, the same bits.
        let imageByImage = try InferenceSession(model: fixture.model, outputs: requests, threadCount: 2, schedule: .imageByImage)
        #expect(try imageByImage.memoryPlan(inputShapes: [batch.shape]).steps.contains { $0.hasPrefix("head ") && $0.hasSuffix("[image by image]") })
        let apartImages = try imageByImage.run(batch)[0]
        #expect(apartImages.relativeMaxError(to: keras) <= parityTolerance, "\(name): \(apartImages.relativeMaxError(to: keras)) from Keras")
        #expect(apartImages.scalars.map(\.bitPattern) == together.scalars.map(\.bitPattern), "\(name): image by image against the batch")
    }

    /// A strided, unpadded 1×1 convolution runs on oneDNN as a stride-1 one on its input's every
    /// second pixel, subsampled once: the results still match Keras (the parity suite runs the
    /// fixture) and the strided primitive's bits.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["GRAFT_KERNELS"] != "graft", "oneDNN is off"),
          arguments: ["conv_1x1_stride2", "conv_1x1_stride2_nchw"])
    func stridedPointwiseConvolutionsReadASubsampledInput(name: String) throws {
        let fixture = try FixtureCase(name)
        let requests = fixture.outputs.map(\.name)
        let session = try InferenceSession(model: fixture.model, outputs: requests, threadCount: 2)
        let steps = try session.memoryPlan(inputShapes: fixture.inputs.values.map(\.shape)).steps
        #expect(steps.contains { $0.contains("(every 2x2 pixel)") }, "\(steps)")
        for (result, output) in zip(try session.run(fixture.inputs), fixture.outputs) {
            #expect(result.relativeMaxError(to: output.expected) <= parityTolerance, "\(name) \(output.name)")
        }
    }

    /// A fixture planned with Winograd on 2 threads for its own inputs and requests, and the
    /// plan's step labels.
    private func winogradPlan(_ name: String) throws
        -> (fixture: FixtureCase, requests: [String], shapes: [[Int]], session: InferenceSession, steps: [String]) {
        let fixture = try FixtureCase(name)
        let requests = fixture.outputs.map(\.name)
        let shapes = fixture.inputs.values.map(\.shape)
        let session = try InferenceSession(model: fixture.model, outputs: requests, threadCount: 2, algorithm: .winograd)
        return (fixture, requests, shapes, session, try session.memoryPlan(inputShapes: shapes).steps)
    }

    /// bfloat16 operands keep 8 significant bits: results stay within a few 1e-3 of the framework's
    /// float32 ones (relative to the output's largest magnitude), and the plan really runs oneDNN's
    /// native bf16 kernels.
    @Test(.enabled(if: Precision.bfloat16Unavailable == nil, "no native bfloat16 here"),
          arguments: ["conv_bn_relu", "residual_net", "conv_valid", "se_block", "depthwise_wide_channels"])
    func bfloat16StaysNearTheFramework(name: String) throws {
        let fixture = try FixtureCase(name)
        let requests = fixture.outputs.map(\.name)
        let session = try InferenceSession(model: fixture.model, outputs: requests, threadCount: 2, precision: .bfloat16)
        #expect(session.numerics.contains("bf16"))
        let plan = try session.memoryPlan(inputShapes: fixture.inputs.values.map(\.shape))
        #expect(plan.steps.contains { $0.contains("bf16") }, "\(name): no bf16 kernel in \(plan.steps)")
        let results = try session.run(fixture.inputs)
        for (result, output) in zip(results, fixture.outputs) {
            let error = result.relativeMaxError(to: output.expected)
            #expect(error <= 2e-2, "\(name) \(output.name) in bf16: relative max error \(error)")
            #expect(error > 0, "\(name) \(output.name): bf16 gave the float32 result exactly")
        }
    }

    /// With bfloat16 convolutions, a result that only convolutions read (residual_net's
    /// block_conv1, after its folded normalisation and ReLU) is written as bfloat16, which the
    /// next convolution reads as it is: the same bits as writing float32 and rounding it there
    /// (the plan with that value requested, which keeps it float32), on NHWC and NCHW.
    @Test(.enabled(if: Precision.bfloat16Unavailable == nil, "no native bfloat16 here"),
          arguments: ["residual_net", "residual_net_nchw"])
    func bfloat16ResultsBetweenConvolutionsKeepTheBits(name: String) throws {
        let fixture = try FixtureCase(name)
        let requests = fixture.outputs.map(\.name)
        let shapes = fixture.inputs.values.map(\.shape)
        let rounded = try InferenceSession(model: fixture.model, outputs: requests, threadCount: 2, precision: .bfloat16)
        let steps = try rounded.memoryPlan(inputShapes: shapes).steps
        #expect(steps.contains { $0.hasPrefix("block_conv1 ") && $0.hasSuffix(", bfloat16 result)") }, "\(steps)")
        let wide = try InferenceSession(model: fixture.model, outputs: requests + ["block_relu1"], threadCount: 2, precision: .bfloat16)
        #expect(try !wide.memoryPlan(inputShapes: shapes).steps.contains { $0.contains("bfloat16 result") })
        let together = try rounded.run(fixture.inputs), apart = try wide.run(fixture.inputs)
        for (index, request) in requests.enumerated() {
            #expect(together[index].scalars.map(\.bitPattern) == apart[index].scalars.map(\.bitPattern), "\(name) \(request)")
            // And near Keras's float32 result, as every bf16 plan (`bfloat16StaysNearTheFramework`).
            let error = together[index].relativeMaxError(to: fixture.outputs[index].expected)
            #expect(error <= 2e-2, "\(name) \(request) in bf16: relative max error \(error)")
        }
    }

    @Test(.enabled(if: Precision.bfloat16Unavailable != nil, "this CPU has native bfloat16"))
    func bfloat16IsRefusedWhereItIsNotNative() throws {
        let fixture = try FixtureCase("conv_bn_relu")
        #expect(throws: RuntimeError.self) { try InferenceSession(model: fixture.model, precision: .bfloat16) }
    }
}
