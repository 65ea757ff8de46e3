import GraftModel
extension PlanBuilder {
    /// Conv2D and DepthwiseConv2D (channels-last im2col + GEMM, or the depthwise kernel); a
    /// Conv2D that took a residual Add accumulates onto the Add's other operand in place when
    /// memory allows (`residualTarget`), and otherwise runs the Add as a step of its own.
    func planConvolution(_ item: ExecutableNode, _ attributes: Operation.Convolution) throws(RuntimeError) {
        let layout = attributes.layout
        // A blocked (nChw8c, nChw16c) input stays so for a oneDNN convolution that keeps it
        // (`planBlocked`), and is converted to NHWC for every other kernel.
        // A bfloat16 input (`storesRounded`) stays so for a bfloat16 oneDNN convolution.
        var (x, n, h, w, c) = if let blocked = blockedImage(item) { blocked }
            else if let rounded = roundedImage(item, layout: layout) { rounded } else { try image(item, layout: layout) }
        let kernelSize = attributes.kernelSize, strides = attributes.strides, dilations = attributes.dilations
        let (kh, kw) = (kernelSize.height, kernelSize.width)
        let pads = attributes.resolvedPadding(for: Pair(h, w))
        let kernel = try requireWeight(item, "kernel")
        let isDepthwise = item.op == .depthwiseConv2D
        let groups = isDepthwise ? c : attributes.groups
        let outputChannels: Int
        if isDepthwise {
            let multiplier = attributes.depthMultiplier
            guard kernel.shape == [kh, kw, c, multiplier] else {
                throw .weightShapeMismatch(node: item.name, role: "kernel", tensor: kernel.tensor, expected: [kh, kw, c, multiplier], actual: kernel.shape)
            }
            outputChannels = c * multiplier
        } else {
            guard c % groups == 0 else {
                throw .invalidAttribute(node: item.name, attribute: "groups", reason: "is \(groups), which does not divide the \(c) input channels")
            }
            guard kernel.shape.count == 4, Array(kernel.shape[0..<3]) == [kh, kw, c / groups], kernel.shape[3] % groups == 0 else {
                throw .weightShapeMismatch(node: item.name, role: "kernel", tensor: kernel.tensor,
                                           expected: [kh, kw, c / max(groups, 1), kernel.shape.last ?? 0], actual: kernel.shape)
            }
            outputChannels = kernel.shape[3]
        }
        try checkCount(item.weights["bias"], item, role: "bias", expected: [outputChannels])
        guard let size = attributes.outputSize(for: Pair(h, w)) else {
            throw .incompatibleShapes(node: item.name, reason: "its \(kh)x\(kw) kernel does not fit the padded \(h)x\(w) input")
        }
        let (oh, ow) = (size.height, size.width)
        var geometry = ConvolutionGeometry(batch: n, inputHeight: h, inputWidth: w, inputChannels: c,
                                           outputHeight: oh, outputWidth: ow, outputChannels: outputChannels,
                                           kernelHeight: kh, kernelWidth: kw, strideHeight: strides.height, strideWidth: strides.width,
                                           dilationHeight: dilations.height, dilationWidth: dilations.width,
                                           padTop: pads.top, padLeft: pads.left, groups: isDepthwise ? 1 : groups)
        // A strided, unpadded 1×1 convolution is a stride-1 one on the input's every s-th pixel:
        // subsampled once (ResNet50's projection and first 1×1 layers of a stage read the same
        // input), it runs on oneDNN's stride-1 kernel. On the Zen 4 EPYC at batch 8, ResNet50's
        // 28×28×512 → 14×14×1024 projection took 11.0 ms strided against about 7.8 for the same
        // work at stride 1.
        if KernelChoice.oneDNNEnabled, !isDepthwise, kh == 1, kw == 1, geometry.strideHeight * geometry.strideWidth > 1,
           geometry.dilationHeight == 1, geometry.dilationWidth == 1, pads.top == 0, pads.left == 0, pads.bottom == 0, pads.right == 0,
           !x.layout.channelBlocked, !x.layout.bfloat16 {
            x = subsampled(item.inputs[0], x, strides: (geometry.strideHeight, geometry.strideWidth), height: oh, width: ow)
            (h, w) = (oh, ow)
            (geometry.inputHeight, geometry.inputWidth, geometry.strideHeight, geometry.strideWidth) = (oh, ow, 1, 1)
        }
        let bias = item.weights["bias"]?.pointer
        // oneDNN and graft's Winograd copy the kernel into their own layouts when they are made:
        // they read a folded kernel from scratch memory; graft's other kernels read theirs while
        // they run, from a copy the session keeps (`kernel.pointer`).
        let copiedKernel = kernel.folded(into: foldScratch)
        if try planBlocked(item, layout: layout, geometry: geometry, input: x, kernel: copiedKernel, bias: bias, depthwise: isDepthwise) { return }
        if x.layout.channelBlocked { x = try image(item, layout: layout).0 }
        let outputLayout = ValueLayout.image(batch: n, height: oh, width: ow, channels: outputChannels, layout: layout)
        let target = item.residual.flatMap { residualTarget($0, layout: outputLayout, input: x.buffer) }
        let activation = target != nil ? item.residual!.activation : item.activation
        if KernelChoice.usesGraftWinograd(geometry, depthwise: isDepthwise, algorithm: algorithm, precision: precision) {
            // A 2×2 max pooling after the convolution runs in its output transform (`pool`).
            let pool = item.residual == nil ? fusablePooling(after: item, height: oh, width: ow, layout: layout) : nil
            let winograd = WinogradConvolution(geometry: geometry, kernel: copiedKernel, bias: bias, activation: activation,
                                               threads: threads, accumulates: target != nil, pooled: pool != nil,
                                               cache: sharedWeights.transformed, key: item.name)
            let output = target ?? newBuffer(n * (pool == nil ? oh * ow : (oh / 2) * (ow / 2)) * outputChannels)
            let kind = target != nil ? "Conv2D + residual Add" : pool != nil ? "\(item.op.rawValue) + MaxPooling2D" : item.op.rawValue
            addStep(reads: target == nil ? [x.buffer] : [x.buffer, output], writes: [output], workspace: winograd.workspaceCount,
                    kind: kind + " (graft Winograd F(4x4,3x3), \(winograd.packedProducts ? "AVX2" : "OpenBLAS") products)") { memory in
                let input = memory[x.buffer], out = memory[output], workspace = memory.workspace
                return { winograd.run(input: input, output: out, workspace: workspace) }
            }
            if let pool {
                define(pool.outputs[0], PlannedValue(layout: .image(batch: n, height: oh / 2, width: ow / 2, channels: outputChannels, layout: layout),
                                                     buffer: output))
                fusedNodes.insert(position + 1)
                return
            }
            try finishResidual(item, output: output, layout: outputLayout, inPlace: target != nil)
            return
        }
        let fused = KernelChoice.postOps(for: activation, accumulates: false) != nil
        // A result only bfloat16 convolutions read is written as bfloat16, as they would round it.
        let roundsResult = precision == .bfloat16 && target == nil && item.residual == nil && fused
            && storesRounded(item.outputs[0], layout: layout)
        if let dnnl = KernelChoice.convolution(geometry, kernel: copiedKernel, bias: bias, activation: fused ? activation : .linear,
                                                accumulates: target != nil, depthwise: isDepthwise, precision: precision,
                                                readsRounded: x.layout.bfloat16, roundsResult: roundsResult,
                                                weightCache: sharedWeights.reordered, weightKey: item.name) {
            if roundsResult {
                let output = newBuffer((n * oh * ow * outputChannels + 1) / 2)
                addStep(reads: [x.buffer], writes: [output], workspace: (dnnl.workspaceBytes + 3) / 4,
                        kind: item.op.rawValue + " (oneDNN \(dnnl.implementation), bfloat16 result)") { memory in
                    let input = memory[x.buffer], out = memory[output], workspace = UnsafeMutableRawPointer(memory.workspace)
                    return { dnnl.run(input: input, output: out, batch: n, workspace: workspace) }
                }
                var rounded = outputLayout
                rounded.bfloat16 = true
                define(item.outputs[0], PlannedValue(layout: rounded, buffer: output))
                return
            }
            let output = target ?? newBuffer(n * oh * ow * outputChannels)
            addStep(reads: target == nil ? [x.buffer] : [x.buffer, output], writes: [output], workspace: (dnnl.workspaceBytes + 3) / 4,
                    kind: (target == nil ? item.op.rawValue : "Conv2D + residual Add") + " (oneDNN \(dnnl.implementation))") { memory in
                let input = memory[x.buffer], out = memory[output], workspace = UnsafeMutableRawPointer(memory.workspace)
                return { dnnl.run(input: input, output: out, batch: n, workspace: workspace) }
            }
            if !fused {
                // A function oneDNN has no exact post-op for, in place on the result.
                let count = n * oh * ow * outputChannels
                addStep(reads: [output], writes: [output], kind: "activation") { memory in
                    let out = memory[output], threads = memory.threads
                    return { activation.apply(out, out, count: count, threads: threads) }
                }
            }
            try finishResidual(item, output: output, layout: outputLayout, inPlace: target != nil)
            return
        }
        // graft's own kernels read float32.
        if x.layout.bfloat16 { x = try image(item, layout: layout).0 }
        if isDepthwise {
            let output = newBuffer(n * oh * ow * outputChannels)
            let depthwise = DepthwiseConvolution2D(geometry: geometry, multiplier: outputChannels / c, kernel: kernel.pointer, bias: bias, activation: item.activation)
            addStep(reads: [x.buffer], writes: [output]) { memory in
                let input = memory[x.buffer], out = memory[output], threads = memory.threads
                return { depthwise.run(input: input, output: out, threads: threads) }
            }
            define(item.outputs[0], PlannedValue(layout: outputLayout, buffer: output))
            return
        }
        let output = target ?? newBuffer(n * oh * ow * outputChannels)
        // One image at a time: the products' shapes (and so OpenBLAS's kernels and the cut) are
        // then those of one image, and an image's result does not depend on its batch.
        var single = geometry
        single.batch = 1
        let convolution = Convolution2D(geometry: single, kernel: kernel.pointer, bias: bias, activation: activation,
                                        threads: threads, accumulates: target != nil)
        let (inputStride, outputStride) = (h * w * c, oh * ow * outputChannels)
        addStep(reads: target == nil ? [x.buffer] : [x.buffer, output], writes: [output], workspace: convolution.workspaceCount,
                kind: target == nil ? nil : "Conv2D + residual Add") { memory in
            let input = memory[x.buffer], out = memory[output], workspace = memory.workspace, threads = memory.threads
            return {
                for image in 0..<n {
                    convolution.run(input: input + image * inputStride, output: out + image * outputStride, workspace: workspace, threads: threads)
                }
            }
        }
        try finishResidual(item, output: output, layout: outputLayout, inPlace: target != nil)
    }

    /// The MaxPooling2D that can be fused into a Winograd convolution's output transform: the next
    /// node, when it is a 2×2, stride-2, unpadded max pooling in the same layout, with no
    /// activation of its own, that alone reads the convolution's result, which is not requested
    /// and has an even height and width; and when the convolution's own activation is ReLU or
    /// none (fused in the transform, before the pooling, as the graph has it).
    private func fusablePooling(after item: ExecutableNode, height: Int, width: Int, layout: Layout) -> ExecutableNode? {
        guard position + 1 < graph.nodes.count, item.outputs.count == 1, height % 2 == 0, width % 2 == 0,
              item.activation == .relu || item.activation == .linear else { return nil }
        let next = graph.nodes[position + 1]
        guard case let .maxPooling2D(pooling) = next.operation, pooling.layout == layout,
              pooling.poolSize == Pair(2, 2), pooling.strides == Pair(2, 2), next.activation == .linear,
              next.inputs == item.outputs, next.outputs.count == 1, next.residual == nil,
              pooling.outputSize(for: Pair(height, width)) == Pair(height / 2, width / 2) else { return nil }
        let pads = pooling.resolvedPadding(for: Pair(height, width))
        guard pads.top == 0, pads.left == 0, pads.bottom == 0, pads.right == 0 else { return nil }
        let result = item.outputs[0]
        guard !graph.requested.contains(result), lastUse[result] == position + 1 else { return nil }
        return next
    }

    /// The 4-D input of a convolution when it is stored as bfloat16 in the storage a convolution
    /// of `layout` reads: the value and its NHWC sizes.
    private func roundedImage(_ item: ExecutableNode, layout: Layout) -> (PlannedValue, n: Int, h: Int, w: Int, c: Int)? {
        guard let name = item.inputs.first, let stored = values[name], stored.layout.bfloat16 else { return nil }
        let p = stored.layout.physicalShape
        guard p.count == 4 else { return nil }
        var expected = ValueLayout.image(batch: p[0], height: p[1], width: p[2], channels: p[3], layout: layout)
        expected.bfloat16 = true
        return stored.layout == expected ? (stored, p[0], p[1], p[2], p[3]) : nil
    }

    /// Whether a `--precision bf16` convolution's result `value` may be stored as bfloat16: when
    /// only convolutions of the same layout read it, as their input (not as a residual), which
    /// round their input to bfloat16 anyway, and it is not requested. In ResNets the first two
    /// convolutions of each bottleneck block write so (the third adds the shortcut in float32).
    /// A reader that ends up on a float32 kernel gets it widened (`value`).
    private func storesRounded(_ value: String, layout: Layout) -> Bool {
        guard !graph.requested.contains(value), !graph.outputs.contains(value), let users = readers[value], !users.isEmpty else { return false }
        return users.allSatisfy { index in
            let node = graph.nodes[index]
            guard let attributes = node.operation.convolution, attributes.layout == layout,
                  node.op == .conv2D || node.op == .depthwiseConv2D else { return false }
            return node.inputs.first == value && node.residual?.shortcut != value
        }
    }

    /// The 4-D input of a convolution when it is stored blocked: the value and its NHWC sizes.
    private func blockedImage(_ item: ExecutableNode) -> (PlannedValue, n: Int, h: Int, w: Int, c: Int)? {
        guard let name = item.inputs.first, let stored = values[name], stored.layout.channelBlocked else { return nil }
        let p = stored.layout.physicalShape
        return (stored, p[0], p[1], p[2], p[3])
    }

    /// Plans a convolution on oneDNN's blocked layout (nChw8c on AVX2, nChw16c on AVX-512:
    /// `KernelChoice.channelBlock`) when it can keep it: a 1×1 convolution or a depthwise one
    /// (what MobileNets are made of) run by oneDNN's direct float32 kernels, with channel counts
    /// in multiples of the block, whose input is already blocked or which starts a run, and
    /// whose result only such convolutions read (`readsBlocked`). A 1×1 convolution whose result
    /// a 3×3 depthwise convolution alone reads runs with it as one primitive
    /// (`KernelChoice.convolution(…thenDepthwise:…)`). Returns false to plan it channels-last.
    ///
    /// Where runs start: on AVX2 at a depthwise convolution (so ResNets and VGGs, whose 1×1
    /// layers feed 3×3 ones, never convert); on AVX-512 at such a fused pair only, whose result
    /// is converted back when what reads it cannot keep nChw16c (MobileNetV2's 24- and
    /// 144-channel layers). Whether oneDNN fuses depends on the batch; where it does not, the pair
    /// still runs on nChw16c, apart (`jit_1x1` and `jit_dw`, which give the fused primitive's
    /// bits), so that an image's features never depend on the batch.
    ///
    /// Measured on MobileNetV2 on the AVX2 EPYC (2 threads): the whole model 30.8 against 35.8 ms
    /// at batch 8; at batch 1 the fused 112×112 block 0.299 against 0.455 ms, about what
    /// converting the 112×112×32 input costs. The gain is the fusion's: oneDNN's 1×1 and
    /// depthwise kernels alone run no faster on nChw8c than on NHWC. On the Zen 4 EPYC (oneDNN's
    /// probe, batch 8, 2 threads) the fused 16 → 96 channel, 112×112 pair took 2.12 ms on
    /// nChw16c against 4.67 apart on NHWC (`brgconv_1x1` and `brdgmm_dw`), the 24 → 144, 56×56
    /// one 2.09 against 3.21; at 28×28 and below they are level.
    private func planBlocked(_ item: ExecutableNode, layout: Layout, geometry g: ConvolutionGeometry, input x: PlannedValue,
                             kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?, depthwise: Bool) throws(RuntimeError) -> Bool {
        let block = KernelChoice.channelBlock
        // AVX2 runs start at depthwise convolutions; AVX-512 ones at fused pairs only.
        let pairsStartRuns = block == 16
        guard block > 0, precision == .float32, g.inputChannels % block == 0, g.outputChannels % block == 0,
              x.layout.channelBlocked || depthwise || pairsStartRuns, depthwise || (g.kernelHeight == 1 && g.kernelWidth == 1 && g.groups == 1),
              !KernelChoice.usesGraftWinograd(g, depthwise: depthwise, algorithm: algorithm, precision: precision) else { return false }
        let n = g.batch
        let blockedName = KernelChoice.blockedName
        func blockedInput() -> PlannedValue { x.layout.channelBlocked ? x : convertedBlocks(item.inputs[0], x, toBlocked: true) }
        let pair = depthwise ? nil : fusableDepthwise(after: item, geometry: g, layout: layout)
        // On AVX-512 both halves of a pair run on nChw16c, fused or not.
        let keepsPair = pairsStartRuns && (pair != nil || blockedPairEnds.contains(position))
        if let (next, stage, stride, padding) = pair,
           pairsStartRuns || readsBlocked(next.outputs[0], layout: layout),
           let fused = KernelChoice.convolution(g, kernel: kernel, bias: bias, activation: item.activation,
                                                thenDepthwise: stage.kernel, bias: stage.bias, activation: next.activation,
                                                stride: stride, padding: padding, precision: precision) {
            let source = blockedInput()
            let output = newBuffer(n * fused.outputHeight * fused.outputWidth * g.outputChannels)
            addStep(reads: [source.buffer], writes: [output], workspace: (fused.workspaceBytes + 3) / 4,
                    kind: "\(item.op.rawValue) + \(next.op.rawValue) (oneDNN \(fused.implementation), depthwise post-op, \(blockedName))") { memory in
                let input = memory[source.buffer], out = memory[output], workspace = UnsafeMutableRawPointer(memory.workspace)
                return { fused.run(input: input, output: out, batch: n, workspace: workspace) }
            }
            define(next.outputs[0], PlannedValue(layout: .image(batch: n, height: fused.outputHeight, width: fused.outputWidth, channels: g.outputChannels,
                                                                layout: layout, channelBlocked: true), buffer: output))
            fusedNodes.insert(position + 1)
            return true
        }
        guard x.layout.channelBlocked || (depthwise && !pairsStartRuns) || keepsPair,
              keepsPair || readsBlocked(item.outputs[0], layout: layout) else { return false }
        let outputLayout = ValueLayout.image(batch: n, height: g.outputHeight, width: g.outputWidth, channels: g.outputChannels,
                                             layout: layout, channelBlocked: true)
        let target = item.residual.flatMap { residualTarget($0, layout: outputLayout, input: x.buffer) }
        guard item.residual == nil || target != nil else { return false }
        let activation = target != nil ? item.residual!.activation : item.activation
        guard let dnnl = KernelChoice.convolution(g, kernel: kernel, bias: bias, activation: activation, accumulates: target != nil,
                                                  depthwise: depthwise, precision: precision, layout: KernelChoice.blockedLayout,
                                                  weightCache: sharedWeights.reordered, weightKey: item.name),
              !dnnl.implementation.hasPrefix("ref") else { return false }
        let source = blockedInput()
        let output = target ?? newBuffer(n * g.outputHeight * g.outputWidth * g.outputChannels)
        addStep(reads: target == nil ? [source.buffer] : [source.buffer, output], writes: [output], workspace: (dnnl.workspaceBytes + 3) / 4,
                kind: (target == nil ? item.op.rawValue : "Conv2D + residual Add") + " (oneDNN \(dnnl.implementation), \(blockedName))") { memory in
            let input = memory[source.buffer], out = memory[output], workspace = UnsafeMutableRawPointer(memory.workspace)
            return { dnnl.run(input: input, output: out, batch: n, workspace: workspace) }
        }
        try finishResidual(item, output: output, layout: outputLayout, inPlace: target != nil)
        if keepsPair && pair != nil { blockedPairEnds.insert(position + 1) }
        return true
    }

    /// Whether only convolutions that keep the blocked layout read `value`: 1×1 convolutions and
    /// depthwise ones reading it as their input, with output channels in multiples of the block,
    /// and convolutions adding it as their folded residual; and the value is not requested
    /// (outputs are handed back NHWC).
    private func readsBlocked(_ value: String, layout: Layout) -> Bool {
        guard !graph.requested.contains(value), !graph.outputs.contains(value), let users = readers[value], !users.isEmpty else { return false }
        for index in users {
            let node = graph.nodes[index]
            guard let attributes = node.operation.convolution, attributes.layout == layout,
                  node.op == .conv2D || node.op == .depthwiseConv2D,
                  let kernel = node.weights["kernel"], kernel.shape.count == 4,
                  (node.op == .depthwiseConv2D ? kernel.shape[2] * kernel.shape[3] : kernel.shape[3]) % KernelChoice.channelBlock == 0
            else { return false }
            if node.inputs.first != value, node.residual?.shortcut == value { continue }
            guard node.inputs.first == value,
                  node.op == .depthwiseConv2D || (attributes.kernelSize == Pair(1, 1) && attributes.groups == 1) else { return false }
        }
        return true
    }

    /// The DepthwiseConv2D that oneDNN can run inside a 1×1 convolution (its depthwise post-op),
    /// with its weights, stride and leading padding: the next node, when it is a 3×3 depthwise
    /// convolution with a depth multiplier of 1, the same stride 1 or 2 along both axes, no
    /// dilation, the same padding before the first row and column, and an output of
    /// `ceil(size / stride)` (oneDNN's rule, which fixes the padding after), in the same layout,
    /// without a folded residual Add, that alone reads the 1×1 convolution's result, which is not
    /// requested. The convolution itself must be 1×1, stride 1, unpadded and ungrouped.
    private func fusableDepthwise(after item: ExecutableNode, geometry g: ConvolutionGeometry, layout: Layout)
        -> (ExecutableNode, (kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?), stride: Int, padding: Int)? {
        guard position + 1 < graph.nodes.count, item.outputs.count == 1, item.residual == nil,
              g.kernelHeight == 1, g.kernelWidth == 1, g.strideHeight == 1, g.strideWidth == 1, g.groups == 1,
              g.padTop == 0, g.padLeft == 0 else { return nil }
        let next = graph.nodes[position + 1]
        guard next.op == .depthwiseConv2D, case let .depthwiseConv2D(attributes) = next.operation, attributes.layout == layout,
              next.inputs == item.outputs, next.outputs.count == 1, next.residual == nil, attributes.depthMultiplier == 1,
              attributes.kernelSize == Pair(3, 3), attributes.dilations == Pair(1, 1),
              attributes.strides.height == attributes.strides.width, attributes.strides.height == 1 || attributes.strides.height == 2 else { return nil }
        let result = item.outputs[0]
        guard !graph.requested.contains(result), lastUse[result] == position + 1 else { return nil }
        let size = Pair(g.outputHeight, g.outputWidth), stride = attributes.strides.height
        let pads = attributes.resolvedPadding(for: size)
        guard pads.top == pads.left, pads.top >= 0, pads.top <= 1,
              attributes.outputSize(for: size) == Pair((size.height + stride - 1) / stride, (size.width + stride - 1) / stride),
              let kernel = next.weights["kernel"], kernel.shape == [3, 3, g.outputChannels, 1] else { return nil }
        let bias = next.weights["bias"]
        guard bias == nil || bias!.count == g.outputChannels else { return nil }
        // oneDNN copies the depthwise kernel when the fused primitive is made.
        return (next, (kernel.folded(into: stageFoldScratch), bias?.pointer), stride, pads.top)
    }

    /// Defines a convolution's result: the node's output, or, when its folded residual Add could
    /// not be accumulated in place, the convolution's own value followed by the Add as a step
    /// of its own (as if it had not been folded).
    private func finishResidual(_ item: ExecutableNode, output: Int, layout: ValueLayout, inPlace: Bool) throws(RuntimeError) {
        guard let residual = item.residual, !inPlace else {
            define(item.outputs[0], PlannedValue(layout: layout, buffer: output))
            return
        }
        define(residual.convolutionOutput, PlannedValue(layout: layout, buffer: output))
        var operands = [residual.shortcut]
        operands.insert(residual.convolutionOutput, at: residual.position)
        try planCombination(item, inputs: operands, activation: residual.activation, operation: .add(coefficients: nil),
                            label: residual.node)
    }

    /// The buffer a convolution can accumulate its residual Add into: the other operand's own,
    /// when it is stored in the convolution's output order and shape, is not the convolution's
    /// own input (`conv(x) + x` would overwrite `x` while the kernel still reads it), and every
    /// value sharing that buffer is neither requested nor a graph input nor read after this node.
    private func residualTarget(_ residual: ResidualAdd, layout: ValueLayout, input: Int) -> Int? {
        guard let stored = values[residual.shortcut], stored.layout == layout, stored.buffer != input,
              canOverwrite(residual.shortcut) else { return nil }
        for name in bufferValues[stored.buffer, default: []] where graph.inputs.contains(where: { $0.name == name }) { return nil }
        return stored.buffer
    }

    func planTransposedConvolution(_ item: ExecutableNode, _ attributes: Operation.Convolution) throws(RuntimeError) {
        let layout = attributes.layout
        let (x, n, h, w, c) = try image(item, layout: layout)
        let (kh, kw) = (attributes.kernelSize.height, attributes.kernelSize.width)
        let strides = attributes.strides, dilations = attributes.dilations
        let groups = attributes.groups
        let kernel = try requireWeight(item, "kernel")
        guard c % groups == 0 else {
            throw .invalidAttribute(node: item.name, attribute: "groups", reason: "is \(groups), which does not divide the \(c) input channels")
        }
        guard kernel.shape.count == 4, kernel.shape[0] == kh, kernel.shape[1] == kw, kernel.shape[3] == c else {
            throw .weightShapeMismatch(node: item.name, role: "kernel", tensor: kernel.tensor, expected: [kh, kw, kernel.shape.count == 4 ? kernel.shape[2] : 0, c], actual: kernel.shape)
        }
        let outputChannels = kernel.shape[2] * groups
        try checkCount(item.weights["bias"], item, role: "bias", expected: [outputChannels])
        // "same" for a transposed convolution: the padding the forward convolution of the
        // output size would use (what Keras crops).
        let pads = attributes.resolvedPadding(for: Pair(h, w), transposed: true)
        guard let size = attributes.outputSize(for: Pair(h, w), transposed: true) else {
            throw .incompatibleShapes(node: item.name, reason: "its padding crops the whole \(h)x\(w) output")
        }
        let (oh, ow) = (size.height, size.width)
        let geometry = ConvolutionGeometry(batch: n, inputHeight: h, inputWidth: w, inputChannels: c,
                                           outputHeight: oh, outputWidth: ow, outputChannels: outputChannels,
                                           kernelHeight: kh, kernelWidth: kw, strideHeight: strides.height, strideWidth: strides.width,
                                           dilationHeight: dilations.height, dilationWidth: dilations.width,
                                           padTop: pads.top, padLeft: pads.left, groups: groups)
        // One image at a time, as for Conv2D, so results do not depend on the batch.
        var single = geometry
        single.batch = 1
        let transposed = TransposedConvolution2D(geometry: single, kernel: kernel.pointer, bias: item.weights["bias"]?.pointer, activation: item.activation)
        let output = newBuffer(n * oh * ow * outputChannels)
        let (inputStride, outputStride) = (h * w * c, oh * ow * outputChannels)
        addStep(reads: [x.buffer], writes: [output], workspace: transposed.workspaceCount) { memory in
            let input = memory[x.buffer], out = memory[output], workspace = memory.workspace, threads = memory.threads
            return {
                for image in 0..<n {
                    transposed.run(input: input + image * inputStride, output: out + image * outputStride, workspace: workspace, threads: threads)
                }
            }
        }
        define(item.outputs[0], PlannedValue(layout: .image(batch: n, height: oh, width: ow, channels: outputChannels, layout: layout), buffer: output))
    }

    func planDense(_ item: ExecutableNode) throws(RuntimeError) {
        let x = try identityOrder(item.inputs[0], of: item)
        guard let features = x.layout.shape.last, x.layout.rank >= 2 else {
            throw .incompatibleShapes(node: item.name, reason: "expects an input of rank 2 or more, got \(formatShape(x.layout.shape))")
        }
        let kernel = try requireWeight(item, "kernel")
        guard kernel.shape.count == 2, kernel.shape[0] == features else {
            throw .weightShapeMismatch(node: item.name, role: "kernel", tensor: kernel.tensor, expected: [features, kernel.shape.last ?? 0], actual: kernel.shape)
        }
        let units = kernel.shape[1]
        try checkCount(item.weights["bias"], item, role: "bias", expected: [units])
        let rows = x.layout.elementCount / max(features, 1)
        let product = DenseProduct(rows: rows, inputFeatures: features, outputFeatures: units, kernel: kernel.pointer,
                                   bias: item.weights["bias"]?.pointer, activation: item.activation)
        let output = newBuffer(rows * units)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { product.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: ValueLayout(shape: x.layout.shape.dropLast() + [units]), buffer: output))
    }
}
