import GraftModel

/// A value during planning: where it is stored and in what order.
struct PlannedValue {
    var layout: ValueLayout
    var buffer: Int
}

/// Builds an `ExecutionPlan` for concrete input shapes: infers every shape, checks weights and
/// attributes against them, chooses storage orders, and records one step per kernel call.
final class PlanBuilder {
    let graph: CompiledGraph
    let threads: Int
    private(set) var recipes: [StepRecipe] = []
    private(set) var bufferSizes: [Int] = []
    private(set) var workspaceFloats = 0
    /// Small per-plan constants (batch-normalisation scale and shift), freed with the plan.
    private(set) var constants: [UnsafeMutableBufferPointer<Float>] = []

    private var values: [String: PlannedValue] = [:]
    /// Values stored in each buffer (aliases share one), to know when a buffer may be overwritten.
    private var bufferValues: [Int: [String]] = [:]
    /// Converted copies already made: value name and storage order.
    private var conversions: [String: PlannedValue] = [:]
    private let requested: Set<String>
    private var position = 0
    /// The nodes that read each value, in execution order.
    private let readers: [String: [Int]]
    /// Residual Adds folded into the convolution that computes one of their operands: node index
    /// to the buffer that holds the sum.
    private var foldedResiduals: [Int: Int] = [:]

    init(graph: CompiledGraph, threads: Int) {
        self.graph = graph
        self.threads = threads
        self.requested = Set(graph.outputs)
        var readers: [String: [Int]] = [:]
        for (index, item) in graph.nodes.enumerated() {
            for input in item.node.inputs where readers[input]?.last != index { readers[input, default: []].append(index) }
        }
        self.readers = readers
    }

    /// Plans the whole graph for inputs of the given shapes (one per `graph.inputs`, in order).
    func build(inputShapes: [[Int]]) throws(RuntimeError) -> ExecutionPlan {
        var inputBindings: [(name: String, buffer: Int, shape: [Int])] = []
        for (info, shape) in zip(graph.inputs, inputShapes) {
            let buffer = newBuffer(shape.reduce(1, *))
            define(info.name, PlannedValue(layout: ValueLayout(shape: shape), buffer: buffer))
            inputBindings.append((info.name, buffer, shape))
        }
        for (index, item) in graph.nodes.enumerated() {
            position = index
            try plan(item)
            for (value, declared) in zip(item.outputs, item.declaredShapes) {
                guard let computed = values[value]?.layout.shape else { continue }
                let matches = declared.count == computed.count
                    && zip(declared.dropFirst(), computed.dropFirst()).allSatisfy { $0.0 == nil || $0.0 == $0.1 }
                if !matches { throw .declaredShapeMismatch(node: item.name, value: value, declared: declared, computed: computed) }
            }
        }
        let outputs = graph.outputs.map { values[$0]! }
        return ExecutionPlan(builder: self, inputs: inputBindings, outputs: outputs)
    }

    // MARK: Values and buffers

    private func newBuffer(_ count: Int) -> Int {
        bufferSizes.append(count)
        return bufferSizes.count - 1
    }

    private func define(_ name: String, _ value: PlannedValue) {
        values[name] = value
        bufferValues[value.buffer, default: []].append(name)
    }

    private func value(_ name: String, of item: ExecutableNode) throws(RuntimeError) -> PlannedValue {
        guard let value = values[name] else {
            throw .incompatibleShapes(node: item.name, reason: "reads '\(name)', which was not computed")
        }
        return value
    }

    private func addStep(reads: [Int], writes: [Int], workspace: Int = 0, kind: String? = nil, _ make: @escaping (MemoryMap) -> () -> Void) {
        let node = graph.nodes[position]
        recipes.append(StepRecipe(label: "\(node.name) \(kind ?? node.node.op.rawValue)", reads: reads, writes: writes, workspace: workspace, make: make))
        workspaceFloats = max(workspaceFloats, workspace)
    }

    private func constant(_ values: [Float]) -> UnsafePointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(values.count, 1))
        _ = buffer.initialize(from: values)
        constants.append(buffer)
        return UnsafePointer(buffer.baseAddress!)
    }

    /// Whether the node being planned may write over `name`'s buffer: every value stored there is
    /// read for the last time by this node and none is a requested output.
    private func canOverwrite(_ name: String) -> Bool {
        guard let buffer = values[name]?.buffer else { return false }
        return bufferValues[buffer, default: []].allSatisfy { !requested.contains($0) && (graph.lastUse[$0] ?? -1) <= position }
    }

    /// A buffer for an element-wise result of `input`: the input's own when it dies here.
    private func outputBuffer(overwriting input: String, count: Int) -> Int {
        if canOverwrite(input), let value = values[input], value.layout.elementCount == count { return value.buffer }
        return newBuffer(count)
    }

    /// The value stored in `order`, converting (once per value and order) if needed.
    private func stored(_ name: String, of item: ExecutableNode, order: [Int]) throws(RuntimeError) -> PlannedValue {
        let source = try value(name, of: item)
        if source.layout.order == order { return source }
        let key = name + "#" + order.map(String.init).joined(separator: ",")
        if let converted = conversions[key] { return converted }
        let layout = ValueLayout(shape: source.layout.shape, order: order)
        let buffer = newBuffer(layout.elementCount)
        let logicalStrides = source.layout.logicalStrides
        let copy = StridedCopy(space: StridedSpace(shape: layout.physicalShape, strides: [order.map { logicalStrides[$0] }]))
        addStep(reads: [source.buffer], writes: [buffer], kind: "(storage-order conversion)") { memory in
            let from = memory[source.buffer], to = memory[buffer], threads = memory.threads
            return { copy.run(source: from, output: to, threads: threads) }
        }
        let converted = PlannedValue(layout: layout, buffer: buffer)
        conversions[key] = converted
        bufferValues[buffer, default: []].append(name)
        return converted
    }

    private func identityOrder(_ name: String, of item: ExecutableNode) throws(RuntimeError) -> PlannedValue {
        let source = try value(name, of: item)
        return try stored(name, of: item, order: Array(0..<source.layout.rank))
    }

    /// A 4-D input of a spatial op stored channels-last: its value and NHWC sizes.
    private func image(_ item: ExecutableNode, layout: Layout, input: Int = 0) throws(RuntimeError) -> (PlannedValue, n: Int, h: Int, w: Int, c: Int) {
        guard layout == .nhwc || layout == .nchw else {
            throw .unsupportedAttribute(node: item.name, attribute: "layout", value: "'\(layout.rawValue)'")
        }
        guard item.node.inputs.count > input else { throw .incompatibleShapes(node: item.name, reason: "has no input \(input + 1)") }
        let source = try value(item.node.inputs[input], of: item)
        guard source.layout.rank == 4 else {
            throw .incompatibleShapes(node: item.name, reason: "expects a 4-D \(layout.rawValue) input, got shape \(formatShape(source.layout.shape))")
        }
        let planned = try stored(item.node.inputs[input], of: item, order: ValueLayout.spatialOrder(rank: 4, layout: layout))
        let p = planned.layout.physicalShape
        return (planned, p[0], p[1], p[2], p[3])
    }

    private func normalizedAxis(_ axis: Int, rank: Int, item: ExecutableNode, attribute: String = "axis") throws(RuntimeError) -> Int {
        let value = axis < 0 ? axis + rank : axis
        guard value >= 0 && value < rank else {
            throw .invalidAttribute(node: item.name, attribute: attribute, reason: "is \(axis), outside the \(rank) axes of the input")
        }
        return value
    }

    private func requireWeight(_ item: ExecutableNode, _ role: String) throws(RuntimeError) -> WeightView {
        guard let weight = item.weights[role] else { throw .missingWeight(node: item.name, role: role) }
        return weight
    }

    private func checkCount(_ weight: WeightView?, _ item: ExecutableNode, role: String, expected: [Int]) throws(RuntimeError) {
        guard let weight else { return }
        if weight.values.count != expected.reduce(1, *) {
            throw .weightShapeMismatch(node: item.name, role: role, tensor: weight.tensor, expected: expected, actual: weight.shape)
        }
    }

    // MARK: Ops

    private func plan(_ item: ExecutableNode) throws(RuntimeError) {
        switch item.node.op {
        case .conv2D, .depthwiseConv2D: try planConvolution(item)
        case .conv2DTranspose: try planTransposedConvolution(item)
        case .dense: try planDense(item)
        case .batchNormalization: try planBatchNormalization(item)
        case .scale: try planScale(item)
        case .layerNormalization: try planLayerNormalization(item)
        case .rescaling:
            let attributes = Attributes(item.node)
            try planUnary(item, .power(exponent: 1, scale: try attributes.float("scale", default: 1), shift: try attributes.float("offset", default: 0)))
        case .activation:
            let attributes = Attributes(item.node)
            guard attributes.contains("function") else { throw .missingAttribute(node: item.name, attribute: "function") }
            try planUnary(item, try ActivationKernel(function: try attributes.string("function", default: ""), attributes: attributes))
        case .identity:
            define(item.outputs[0], try value(item.node.inputs[0], of: item))
        case .localResponseNormalization: try planLocalResponseNormalization(item)
        case .preLU: try planParametricReLU(item)
        case .softmax: try planSoftmax(item)
        case .maxPooling2D, .averagePooling2D: try planPooling(item)
        case .globalAveragePooling, .globalMaxPooling: try planGlobalPooling(item)
        case .pad: try planPad(item)
        case .crop: try planCrop(item)
        case .upSampling2D: try planUpSampling(item)
        case .flatten, .reshape: try planReshape(item)
        case .transpose: try planTranspose(item)
        case .slice: try planSlice(item)
        case .concatenate: try planConcatenate(item)
        case .add, .subtract, .multiply, .average, .maximum, .minimum: try planCombination(item)
        }
    }

    private func planConvolution(_ item: ExecutableNode) throws(RuntimeError) {
        let attributes = Attributes(item.node)
        let layout = try attributes.layout()
        let (x, n, h, w, c) = try image(item, layout: layout)
        let (kh, kw) = try attributes.pair("kernel_size", default: nil)
        let strides = try attributes.pair("strides", default: [1, 1])
        let dilations = try attributes.pair("dilations", default: [1, 1])
        let pads = try SpatialPadding(attributes).resolve(height: h, width: w, kernel: (kh, kw), strides: strides, dilations: dilations)
        let kernel = try requireWeight(item, "kernel")
        let isDepthwise = item.node.op == .depthwiseConv2D
        let groups = isDepthwise ? c : try attributes.int("groups", default: 1)
        let outputChannels: Int
        if isDepthwise {
            let multiplier = try attributes.int("depth_multiplier", default: 1)
            guard multiplier >= 1 else { throw .invalidAttribute(node: item.name, attribute: "depth_multiplier", reason: "is \(multiplier), expected 1 or more") }
            guard kernel.shape == [kh, kw, c, multiplier] else {
                throw .weightShapeMismatch(node: item.name, role: "kernel", tensor: kernel.tensor, expected: [kh, kw, c, multiplier], actual: kernel.shape)
            }
            outputChannels = c * multiplier
        } else {
            guard groups >= 1, c % groups == 0 else {
                throw .invalidAttribute(node: item.name, attribute: "groups", reason: "is \(groups), which does not divide the \(c) input channels")
            }
            guard kernel.shape.count == 4, Array(kernel.shape[0..<3]) == [kh, kw, c / groups], kernel.shape[3] % groups == 0 else {
                throw .weightShapeMismatch(node: item.name, role: "kernel", tensor: kernel.tensor,
                                           expected: [kh, kw, c / max(groups, 1), kernel.shape.last ?? 0], actual: kernel.shape)
            }
            outputChannels = kernel.shape[3]
        }
        try checkCount(item.weights["bias"], item, role: "bias", expected: [outputChannels])
        let oh = (h + pads.top + pads.bottom - dilations.0 * (kh - 1) - 1) / strides.0 + 1
        let ow = (w + pads.left + pads.right - dilations.1 * (kw - 1) - 1) / strides.1 + 1
        guard h + pads.top + pads.bottom >= dilations.0 * (kh - 1) + 1, w + pads.left + pads.right >= dilations.1 * (kw - 1) + 1 else {
            throw .incompatibleShapes(node: item.name, reason: "its \(kh)x\(kw) kernel does not fit the padded \(h)x\(w) input")
        }
        let geometry = ConvolutionGeometry(batch: n, inputHeight: h, inputWidth: w, inputChannels: c,
                                           outputHeight: oh, outputWidth: ow, outputChannels: outputChannels,
                                           kernelHeight: kh, kernelWidth: kw, strideHeight: strides.0, strideWidth: strides.1,
                                           dilationHeight: dilations.0, dilationWidth: dilations.1,
                                           padTop: pads.top, padLeft: pads.left, groups: isDepthwise ? 1 : groups)
        let outputLayout = ValueLayout.image(batch: n, height: oh, width: ow, channels: outputChannels, layout: layout)
        let residual = isDepthwise ? nil : foldableResidual(after: item, layout: outputLayout)
        let output = residual?.buffer ?? newBuffer(n * oh * ow * outputChannels)
        let bias = item.weights["bias"]?.pointer
        if isDepthwise {
            let kernelPointer = kernel.pointer
            let depthwise = DepthwiseConvolution2D(geometry: geometry, multiplier: outputChannels / c, kernel: kernelPointer, bias: bias, activation: item.activation)
            addStep(reads: [x.buffer], writes: [output]) { memory in
                let input = memory[x.buffer], out = memory[output], threads = memory.threads
                return { depthwise.run(input: input, output: out, threads: threads) }
            }
        } else {
            let convolution = Convolution2D(geometry: geometry, kernel: kernel.pointer, bias: bias, activation: residual?.activation ?? item.activation,
                                            threads: threads, accumulates: residual != nil)
            addStep(reads: residual == nil ? [x.buffer] : [x.buffer, output], writes: [output], workspace: convolution.workspaceCount,
                    kind: residual == nil ? nil : "Conv2D + residual Add") { memory in
                let input = memory[x.buffer], out = memory[output], workspace = memory.workspace, threads = memory.threads
                return { convolution.run(input: input, output: out, workspace: workspace, threads: threads) }
            }
        }
        define(item.outputs[0], PlannedValue(layout: outputLayout, buffer: output))
    }

    /// A residual `Add` this convolution can compute in its own GEMM, accumulating onto the Add's
    /// other operand (ResNet's `relu(shortcut + bn(conv(x)))`), which saves a pass over memory.
    ///
    /// Folded only when nothing can observe the difference: the convolution's result is read by
    /// that Add alone and is not a requested output; the Add adds exactly two values without
    /// coefficients and has no broadcasting (the other operand is already computed and stored in
    /// the same shape and order); and every value stored in the other operand's buffer is not
    /// requested and is read by no node after this convolution except the Add. The convolution
    /// then writes the sum into that buffer, with the Add's activation, and the Add runs no step.
    private func foldableResidual(after item: ExecutableNode, layout: ValueLayout) -> (buffer: Int, activation: ActivationKernel)? {
        guard item.activation == .linear, item.outputs.count == 1 else { return nil }
        let result = item.outputs[0]
        guard !requested.contains(result), let users = readers[result], users.count == 1, users[0] > position else { return nil }
        let addIndex = users[0]
        let add = graph.nodes[addIndex]
        guard add.node.op == .add, add.node.inputs.count == 2, add.node.inputs.filter({ $0 == result }).count == 1,
              add.node.attributes["coefficients"] == nil,
              let other = add.node.inputs.first(where: { $0 != result }),
              let stored = values[other], stored.layout == layout else { return nil }
        for name in bufferValues[stored.buffer, default: []] {
            if requested.contains(name) || graph.inputs.contains(where: { $0.name == name }) { return nil }
            if (readers[name] ?? []).contains(where: { $0 > position && $0 != addIndex }) { return nil }
        }
        foldedResiduals[addIndex] = stored.buffer
        return (stored.buffer, add.activation)
    }

    private func planTransposedConvolution(_ item: ExecutableNode) throws(RuntimeError) {
        let attributes = Attributes(item.node)
        let layout = try attributes.layout()
        let (x, n, h, w, c) = try image(item, layout: layout)
        let (kh, kw) = try attributes.pair("kernel_size", default: nil)
        let strides = try attributes.pair("strides", default: [1, 1])
        let dilations = try attributes.pair("dilations", default: [1, 1])
        let groups = try attributes.int("groups", default: 1)
        let outputPadding = try attributes.ints("output_padding", count: 2, default: [0, 0])
        let kernel = try requireWeight(item, "kernel")
        guard groups >= 1, c % groups == 0 else {
            throw .invalidAttribute(node: item.name, attribute: "groups", reason: "is \(groups), which does not divide the \(c) input channels")
        }
        guard kernel.shape.count == 4, kernel.shape[0] == kh, kernel.shape[1] == kw, kernel.shape[3] == c else {
            throw .weightShapeMismatch(node: item.name, role: "kernel", tensor: kernel.tensor, expected: [kh, kw, kernel.shape.count == 4 ? kernel.shape[2] : 0, c], actual: kernel.shape)
        }
        let outputChannels = kernel.shape[2] * groups
        try checkCount(item.weights["bias"], item, role: "bias", expected: [outputChannels])
        // "same" for a transposed convolution: the padding the forward convolution of the
        // output size would use (what Keras crops).
        let padding = try SpatialPadding(attributes)
        let pads = padding.resolve(height: h * strides.0, width: w * strides.1, kernel: (kh, kw), strides: strides, dilations: dilations)
        let oh = (h - 1) * strides.0 + dilations.0 * (kh - 1) + 1 + outputPadding[0] - pads.top - pads.bottom
        let ow = (w - 1) * strides.1 + dilations.1 * (kw - 1) + 1 + outputPadding[1] - pads.left - pads.right
        guard oh > 0, ow > 0 else { throw .incompatibleShapes(node: item.name, reason: "its padding crops the whole \(h)x\(w) output") }
        let geometry = ConvolutionGeometry(batch: n, inputHeight: h, inputWidth: w, inputChannels: c,
                                           outputHeight: oh, outputWidth: ow, outputChannels: outputChannels,
                                           kernelHeight: kh, kernelWidth: kw, strideHeight: strides.0, strideWidth: strides.1,
                                           dilationHeight: dilations.0, dilationWidth: dilations.1,
                                           padTop: pads.top, padLeft: pads.left, groups: groups)
        let transposed = TransposedConvolution2D(geometry: geometry, kernel: kernel.pointer, bias: item.weights["bias"]?.pointer, activation: item.activation)
        let output = newBuffer(n * oh * ow * outputChannels)
        addStep(reads: [x.buffer], writes: [output], workspace: transposed.workspaceCount) { memory in
            let input = memory[x.buffer], out = memory[output], workspace = memory.workspace, threads = memory.threads
            return { transposed.run(input: input, output: out, workspace: workspace, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: .image(batch: n, height: oh, width: ow, channels: outputChannels, layout: layout), buffer: output))
    }

    private func planDense(_ item: ExecutableNode) throws(RuntimeError) {
        let x = try identityOrder(item.node.inputs[0], of: item)
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

    /// Runs `ChannelAffine` along logical `axis` of the input (any storage order).
    private func planChannelAffine(_ item: ExecutableNode, axis: Int, scale: UnsafePointer<Float>?, shift: UnsafePointer<Float>?) throws(RuntimeError) {
        let name = item.node.inputs[0]
        let x = try value(name, of: item)
        let physical = x.layout.physicalShape
        let p = x.layout.physicalAxis(of: axis)
        let affine = ChannelAffine(outer: physical[..<p].reduce(1, *), channels: physical[p], inner: physical[(p + 1)...].reduce(1, *),
                                   scale: scale, shift: shift)
        let output = outputBuffer(overwriting: name, count: x.layout.elementCount)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { affine.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: x.layout, buffer: output))
    }

    private func planBatchNormalization(_ item: ExecutableNode) throws(RuntimeError) {
        let attributes = Attributes(item.node)
        let x = try value(item.node.inputs[0], of: item)
        let axis = try normalizedAxis(try attributes.requiredInt("axis"), rank: x.layout.rank, item: item)
        let channels = x.layout.shape[axis]
        let epsilon = try attributes.double("epsilon", default: 0.001)
        let mean = try requireWeight(item, "moving_mean"), variance = try requireWeight(item, "moving_variance")
        for (role, weight) in [("moving_mean", mean), ("moving_variance", variance)] { try checkCount(weight, item, role: role, expected: [channels]) }
        try checkCount(item.weights["gamma"], item, role: "gamma", expected: [channels])
        try checkCount(item.weights["beta"], item, role: "beta", expected: [channels])
        var scale = [Float](repeating: 0, count: channels), shift = [Float](repeating: 0, count: channels)
        for c in 0..<channels {
            let factor = Double(item.weights["gamma"]?.values[c] ?? 1) / (Double(variance.values[c]) + epsilon).squareRoot()
            scale[c] = Float(factor)
            shift[c] = Float(Double(item.weights["beta"]?.values[c] ?? 0) - Double(mean.values[c]) * factor)
        }
        try planChannelAffine(item, axis: axis, scale: constant(scale), shift: constant(shift))
    }

    private func planScale(_ item: ExecutableNode) throws(RuntimeError) {
        let attributes = Attributes(item.node)
        let name = item.node.inputs[0]
        let x = try value(name, of: item)
        let axis = try normalizedAxis(try attributes.int("axis", default: 1), rank: x.layout.rank, item: item)
        var count = try attributes.int("num_axes", default: 1)
        if count == -1 { count = x.layout.rank - axis }
        guard count >= 0, axis + count <= x.layout.rank else {
            throw .invalidAttribute(node: item.name, attribute: "num_axes", reason: "is \(count), past the \(x.layout.rank) axes of the input")
        }
        let covered = Array(x.layout.shape[axis..<(axis + count)])
        let scale = item.weights["scale"], bias = item.weights["bias"]
        try checkCount(scale, item, role: "scale", expected: covered)
        try checkCount(bias, item, role: "bias", expected: covered)
        if count == 1 {
            try planChannelAffine(item, axis: axis, scale: scale?.pointer, shift: bias?.pointer)
            return
        }
        // Several (or no) axes: in logical order the covered axes are one contiguous block.
        let stored = try identityOrder(name, of: item)
        let shape = stored.layout.shape
        let affine = ChannelAffine(outer: shape[..<axis].reduce(1, *), channels: covered.reduce(1, *), inner: shape[(axis + count)...].reduce(1, *),
                                   scale: scale?.pointer, shift: bias?.pointer)
        let output = stored.buffer == x.buffer ? outputBuffer(overwriting: name, count: x.layout.elementCount) : newBuffer(x.layout.elementCount)
        addStep(reads: [stored.buffer], writes: [output]) { memory in
            let input = memory[stored.buffer], out = memory[output], threads = memory.threads
            return { affine.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: stored.layout, buffer: output))
    }

    private func planLayerNormalization(_ item: ExecutableNode) throws(RuntimeError) {
        let attributes = Attributes(item.node)
        let name = item.node.inputs[0]
        var x = try value(name, of: item)
        let rank = x.layout.rank
        var axes: [Int] = []
        for axis in try attributes.ints("axes", default: [-1]) { axes.append(try normalizedAxis(axis, rank: rank, item: item, attribute: "axes")) }
        axes = Array(Set(axes)).sorted()
        guard !axes.isEmpty, !axes.contains(0) || rank == 1 else {
            throw .invalidAttribute(node: item.name, attribute: "axes", reason: "must name axes other than the batch axis")
        }
        // The normalised axes must be the trailing block of storage, in their logical order (so
        // gamma and beta, shaped like those axes, line up element by element); store the value
        // that way if it is not (channels of an NCHW value, for instance).
        if Array(x.layout.order.suffix(axes.count)) != axes {
            x = try stored(name, of: item, order: (0..<rank).filter { !axes.contains($0) } + axes)
        }
        let size = axes.map { x.layout.shape[$0] }.reduce(1, *)
        try checkCount(item.weights["gamma"], item, role: "gamma", expected: axes.map { x.layout.shape[$0] })
        try checkCount(item.weights["beta"], item, role: "beta", expected: axes.map { x.layout.shape[$0] })
        let kernel = LayerNormalizationKernel(groups: x.layout.elementCount / max(size, 1), size: size,
                                              epsilon: try attributes.double("epsilon", default: 0.001),
                                              gamma: item.weights["gamma"]?.pointer, beta: item.weights["beta"]?.pointer)
        let output = x.buffer == values[name]?.buffer ? outputBuffer(overwriting: name, count: x.layout.elementCount) : newBuffer(x.layout.elementCount)
        let source = x
        addStep(reads: [source.buffer], writes: [output]) { memory in
            let input = memory[source.buffer], out = memory[output], threads = memory.threads
            return { kernel.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: x.layout, buffer: output))
    }

    private func planUnary(_ item: ExecutableNode, _ function: ActivationKernel) throws(RuntimeError) {
        let name = item.node.inputs[0]
        let x = try value(name, of: item)
        let count = x.layout.elementCount
        let output = outputBuffer(overwriting: name, count: count)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { function.apply(input, out, count: count, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: x.layout, buffer: output))
    }

    private func planLocalResponseNormalization(_ item: ExecutableNode) throws(RuntimeError) {
        let attributes = Attributes(item.node)
        let (x, n, h, w, c) = try image(item, layout: try attributes.layout())
        let region = try attributes.string("region", default: "across_channels")
        guard region == "across_channels" || region == "within_channel" else {
            throw .unsupportedAttribute(node: item.name, attribute: "region", value: "'\(region)'")
        }
        let size = try attributes.int("size", default: 5)
        guard size >= 1 else { throw .invalidAttribute(node: item.name, attribute: "size", reason: "is \(size), expected 1 or more") }
        let kernel = LocalResponseNormalizationKernel(batch: n, height: h, width: w, channels: c, size: size,
                                                      alpha: try attributes.float("alpha", default: 1), beta: try attributes.float("beta", default: 0.75),
                                                      bias: try attributes.float("k", default: 1), acrossChannels: region == "across_channels")
        let output = newBuffer(x.layout.elementCount)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { kernel.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: x.layout, buffer: output))
    }

    private func planParametricReLU(_ item: ExecutableNode) throws(RuntimeError) {
        let name = item.node.inputs[0]
        let x = try value(name, of: item)
        let alpha = try requireWeight(item, "alpha")
        let features = Array(x.layout.shape.dropFirst())
        guard alpha.shape.count <= features.count, broadcastShape(features, alpha.shape) == features else {
            throw .weightShapeMismatch(node: item.name, role: "alpha", tensor: alpha.tensor, expected: features, actual: alpha.shape)
        }
        let logical = [0] + StridedSpace.broadcastStrides(alpha.shape, to: features)
        let physicalShape = x.layout.physicalShape
        let space = StridedSpace(shape: physicalShape, strides: [StridedSpace.contiguousStrides(physicalShape), x.layout.order.map { logical[$0] }])
        let combine = ElementwiseCombine(space: space, operation: .parametricReLU, activation: .linear)
        let output = outputBuffer(overwriting: name, count: x.layout.elementCount)
        let alphaPointer = alpha.pointer
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { combine.run(left: input, right: alphaPointer, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: x.layout, buffer: output))
    }

    private func planSoftmax(_ item: ExecutableNode) throws(RuntimeError) {
        let name = item.node.inputs[0]
        let x = try value(name, of: item)
        let axis = try normalizedAxis(try Attributes(item.node).int("axis", default: -1), rank: x.layout.rank, item: item)
        let physical = x.layout.physicalShape
        let p = x.layout.physicalAxis(of: axis)
        let kernel = SoftmaxKernel(outer: physical[..<p].reduce(1, *), length: physical[p], inner: physical[(p + 1)...].reduce(1, *))
        let output = outputBuffer(overwriting: name, count: x.layout.elementCount)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { kernel.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: x.layout, buffer: output))
    }

    private func planPooling(_ item: ExecutableNode) throws(RuntimeError) {
        let attributes = Attributes(item.node)
        let layout = try attributes.layout()
        let (x, n, h, w, c) = try image(item, layout: layout)
        let pool = try attributes.ints("pool_size", count: 2, default: nil)
        let window = try attributes.pair("pool_size", default: nil)
        let strides = try attributes.pair("strides", default: pool)
        let pads = try SpatialPadding(attributes).resolve(height: h, width: w, kernel: window, strides: strides, dilations: (1, 1))
        let rounding = try attributes.string("rounding", default: "floor")
        guard rounding == "floor" || rounding == "ceil" else { throw .unsupportedAttribute(node: item.name, attribute: "rounding", value: "'\(rounding)'") }
        let anyPadding = pads.top > 0 || pads.bottom > 0 || pads.left > 0 || pads.right > 0
        let oh = PoolingGeometry.outputSize(input: h, window: window.0, stride: strides.0, before: pads.top, after: pads.bottom, ceil: rounding == "ceil", anyPadding: anyPadding)
        let ow = PoolingGeometry.outputSize(input: w, window: window.1, stride: strides.1, before: pads.left, after: pads.right, ceil: rounding == "ceil", anyPadding: anyPadding)
        guard oh > 0, ow > 0 else { throw .incompatibleShapes(node: item.name, reason: "its \(window.0)x\(window.1) window does not fit the \(h)x\(w) input") }
        let geometry = PoolingGeometry(batch: n, inputHeight: h, inputWidth: w, channels: c, outputHeight: oh, outputWidth: ow,
                                       windowHeight: window.0, windowWidth: window.1, strideHeight: strides.0, strideWidth: strides.1,
                                       padTop: pads.top, padBottom: pads.bottom, padLeft: pads.left, padRight: pads.right)
        let output = newBuffer(n * oh * ow * c)
        if item.node.op == .maxPooling2D {
            let kernel = MaxPooling(geometry: geometry)
            addStep(reads: [x.buffer], writes: [output]) { memory in
                let input = memory[x.buffer], out = memory[output], threads = memory.threads
                return { kernel.run(input: input, output: out, threads: threads) }
            }
        } else {
            let divisor = try attributes.string("divisor", default: "valid")
            guard divisor == "valid" || divisor == "padded" else { throw .unsupportedAttribute(node: item.name, attribute: "divisor", value: "'\(divisor)'") }
            let kernel = AveragePooling(geometry: geometry, countsPadding: divisor == "padded")
            addStep(reads: [x.buffer], writes: [output]) { memory in
                let input = memory[x.buffer], out = memory[output], threads = memory.threads
                return { kernel.run(input: input, output: out, threads: threads) }
            }
        }
        define(item.outputs[0], PlannedValue(layout: .image(batch: n, height: oh, width: ow, channels: c, layout: layout), buffer: output))
    }

    private func planGlobalPooling(_ item: ExecutableNode) throws(RuntimeError) {
        let attributes = Attributes(item.node)
        let layout = try attributes.layout()
        let name = item.node.inputs[0]
        let source = try value(name, of: item)
        let rank = source.layout.rank
        let expectedRank: Int
        switch layout {
        case .nhwc, .nchw: expectedRank = 4
        case .nwc, .ncw: expectedRank = 3
        case .plain: throw .unsupportedAttribute(node: item.name, attribute: "layout", value: "'plain'")
        }
        guard rank == expectedRank else {
            throw .incompatibleShapes(node: item.name, reason: "expects a \(expectedRank)-D \(layout.rawValue) input, got shape \(formatShape(source.layout.shape))")
        }
        let order = ValueLayout.spatialOrder(rank: rank, layout: layout)
        let x = try stored(name, of: item, order: order)
        let physical = x.layout.physicalShape
        let batch = physical[0], channels = physical[rank - 1]
        let kernel = GlobalPooling(batch: batch, positions: physical[1..<(rank - 1)].reduce(1, *), channels: channels,
                                   isMaximum: item.node.op == .globalMaxPooling)
        let output = newBuffer(batch * channels)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { kernel.run(input: input, output: out, threads: threads) }
        }
        let resultLayout: ValueLayout
        if try attributes.bool("keepdims", default: false) {
            let channelAxis = order[rank - 1]
            resultLayout = ValueLayout(shape: (0..<rank).map { $0 == 0 ? batch : $0 == channelAxis ? channels : 1 }, order: order)
        } else {
            resultLayout = ValueLayout(shape: [batch, channels])
        }
        define(item.outputs[0], PlannedValue(layout: resultLayout, buffer: output))
    }

    private func planPad(_ item: ExecutableNode) throws(RuntimeError) {
        let attributes = Attributes(item.node)
        let layout = try attributes.layout()
        let (x, n, h, w, c) = try image(item, layout: layout)
        guard attributes.contains("padding") else { throw .missingAttribute(node: item.name, attribute: "padding") }
        guard case let .explicit(top, bottom, left, right) = try SpatialPadding(attributes) else {
            throw .unsupportedAttribute(node: item.name, attribute: "padding", value: "'same'")
        }
        let kernel = PadKernel(batch: n, height: h, width: w, channels: c, top: top, bottom: bottom, left: left, right: right,
                               value: try attributes.float("value", default: 0))
        let oh = h + top + bottom, ow = w + left + right
        let output = newBuffer(n * oh * ow * c)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { kernel.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: .image(batch: n, height: oh, width: ow, channels: c, layout: layout), buffer: output))
    }

    /// A strided window of `source` (logical `offsets`, result logical `shape`), in the source's order.
    private func planWindow(_ item: ExecutableNode, source: PlannedValue, offsets: [Int], shape: [Int], output name: String) {
        let strides = source.layout.logicalStrides
        let start = zip(offsets, strides).reduce(0) { $0 + $1.0 * $1.1 }
        let layout = ValueLayout(shape: shape, order: source.layout.order)
        let copy = StridedCopy(space: StridedSpace(shape: layout.physicalShape, strides: [layout.order.map { strides[$0] }]))
        let output = newBuffer(layout.elementCount)
        addStep(reads: [source.buffer], writes: [output]) { memory in
            let input = memory[source.buffer] + start, out = memory[output], threads = memory.threads
            return { copy.run(source: input, output: out, threads: threads) }
        }
        define(name, PlannedValue(layout: layout, buffer: output))
    }

    private func planCrop(_ item: ExecutableNode) throws(RuntimeError) {
        let attributes = Attributes(item.node)
        if attributes.contains("cropping") {
            let layout = try attributes.layout()
            guard layout == .nhwc || layout == .nchw else { throw .unsupportedAttribute(node: item.name, attribute: "layout", value: "'\(layout.rawValue)'") }
            let x = try value(item.node.inputs[0], of: item)
            guard x.layout.rank == 4 else {
                throw .incompatibleShapes(node: item.name, reason: "expects a 4-D \(layout.rawValue) input, got shape \(formatShape(x.layout.shape))")
            }
            let crop = try attributes.ints("cropping", count: 4, default: nil)
            let (hAxis, wAxis) = layout == .nchw ? (2, 3) : (1, 2)
            var shape = x.layout.shape
            var offsets = [0, 0, 0, 0]
            shape[hAxis] -= crop[0] + crop[1]
            shape[wAxis] -= crop[2] + crop[3]
            offsets[hAxis] = crop[0]
            offsets[wAxis] = crop[2]
            guard crop.allSatisfy({ $0 >= 0 }), shape[hAxis] > 0, shape[wAxis] > 0 else {
                throw .invalidAttribute(node: item.name, attribute: "cropping", reason: "is \(crop), which leaves nothing of the \(formatShape(x.layout.shape)) input")
            }
            planWindow(item, source: x, offsets: offsets, shape: shape, output: item.outputs[0])
            return
        }
        guard item.node.inputs.count == 2 else {
            throw .missingAttribute(node: item.name, attribute: "cropping (or axis and offsets with a reference input)")
        }
        let x = try value(item.node.inputs[0], of: item)
        let reference = try value(item.node.inputs[1], of: item)
        let rank = x.layout.rank
        guard reference.layout.rank == rank else {
            throw .incompatibleShapes(node: item.name, reason: "crops \(formatShape(x.layout.shape)) to a reference of different rank \(formatShape(reference.layout.shape))")
        }
        let axis = try normalizedAxis(try attributes.int("axis", default: 2), rank: rank, item: item)
        let given = try attributes.ints("offsets", default: [0])
        guard given.count == 1 || given.count == rank - axis else {
            throw .invalidAttribute(node: item.name, attribute: "offsets", reason: "has \(given.count) entries, expected 1 or \(rank - axis)")
        }
        var offsets = [Int](repeating: 0, count: rank)
        var shape = x.layout.shape
        for d in axis..<rank {
            offsets[d] = given.count == 1 ? given[0] : given[d - axis]
            shape[d] = reference.layout.shape[d]
            guard offsets[d] >= 0, offsets[d] + shape[d] <= x.layout.shape[d] else {
                throw .incompatibleShapes(node: item.name, reason: "cropping axis \(d) to \(shape[d]) at offset \(offsets[d]) leaves \(formatShape(x.layout.shape))")
            }
        }
        planWindow(item, source: x, offsets: offsets, shape: shape, output: item.outputs[0])
    }

    private func planUpSampling(_ item: ExecutableNode) throws(RuntimeError) {
        let attributes = Attributes(item.node)
        let layout = try attributes.layout()
        let (x, n, h, w, c) = try image(item, layout: layout)
        let size = try attributes.pair("size", default: nil)
        let interpolation = try attributes.string("interpolation", default: "nearest")
        guard interpolation == "nearest" || interpolation == "bilinear" else {
            throw .unsupportedAttribute(node: item.name, attribute: "interpolation", value: "'\(interpolation)'")
        }
        let kernel = UpSamplingKernel(batch: n, height: h, width: w, channels: c, factorHeight: size.0, factorWidth: size.1, bilinear: interpolation == "bilinear")
        let output = newBuffer(n * h * size.0 * w * size.1 * c)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { kernel.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: .image(batch: n, height: h * size.0, width: w * size.1, channels: c, layout: layout), buffer: output))
    }

    /// Flatten and Reshape: the logical order made physical, then the same memory under a new shape.
    private func planReshape(_ item: ExecutableNode) throws(RuntimeError) {
        let x = try identityOrder(item.node.inputs[0], of: item)
        let shape = x.layout.shape
        guard let batch = shape.first else { throw .incompatibleShapes(node: item.name, reason: "cannot reshape a scalar") }
        let rest = shape.dropFirst().reduce(1, *)
        var target: [Int]
        if item.node.op == .flatten {
            target = [batch, rest]
        } else {
            let requested = try Attributes(item.node).ints("shape", default: nil)
            let unknown = requested.indices.filter { requested[$0] == -1 }
            guard unknown.count <= 1, requested.allSatisfy({ $0 >= 0 || $0 == -1 }) else {
                throw .invalidAttribute(node: item.name, attribute: "shape", reason: "is \(requested), expected sizes with at most one -1")
            }
            var resolved = requested
            let known = requested.filter { $0 != -1 }.reduce(1, *)
            if let index = unknown.first {
                guard known > 0, rest % known == 0 else {
                    throw .incompatibleShapes(node: item.name, reason: "cannot reshape \(formatShape(shape)) to \(requested)")
                }
                resolved[index] = rest / known
            }
            guard resolved.reduce(1, *) == rest else {
                throw .incompatibleShapes(node: item.name, reason: "cannot reshape \(formatShape(shape)) (\(rest) values per item) to \(requested)")
            }
            target = [batch] + resolved
        }
        define(item.outputs[0], PlannedValue(layout: ValueLayout(shape: target), buffer: x.buffer))
    }

    /// Transpose moves no data: the result is the same memory with a new logical-to-storage map.
    private func planTranspose(_ item: ExecutableNode) throws(RuntimeError) {
        let x = try value(item.node.inputs[0], of: item)
        let permutation = try Attributes(item.node).ints("permutation", default: nil)
        guard permutation.count == x.layout.rank, permutation.sorted() == Array(0..<x.layout.rank) else {
            throw .invalidAttribute(node: item.name, attribute: "permutation", reason: "is \(permutation), not a permutation of the \(x.layout.rank) axes of \(formatShape(x.layout.shape))")
        }
        var inverse = [Int](repeating: 0, count: permutation.count)
        for (i, axis) in permutation.enumerated() { inverse[axis] = i }
        let layout = ValueLayout(shape: permutation.map { x.layout.shape[$0] }, order: x.layout.order.map { inverse[$0] })
        define(item.outputs[0], PlannedValue(layout: layout, buffer: x.buffer))
    }

    private func planSlice(_ item: ExecutableNode) throws(RuntimeError) {
        let attributes = Attributes(item.node)
        let x = try value(item.node.inputs[0], of: item)
        let axis = try normalizedAxis(try attributes.requiredInt("axis"), rank: x.layout.rank, item: item)
        let points = try attributes.ints("slice_points", default: [])
        let length = x.layout.shape[axis]
        let bounds = [0] + points + [length]
        guard zip(bounds, bounds.dropFirst()).allSatisfy({ $0.0 < $0.1 }) else {
            throw .invalidAttribute(node: item.name, attribute: "slice_points", reason: "is \(points), expected increasing points inside the axis of length \(length)")
        }
        guard item.outputs.count == bounds.count - 1 else {
            throw .incompatibleShapes(node: item.name, reason: "has \(item.outputs.count) outputs for \(bounds.count - 1) pieces")
        }
        for (index, output) in item.outputs.enumerated() {
            var offsets = [Int](repeating: 0, count: x.layout.rank)
            var shape = x.layout.shape
            offsets[axis] = bounds[index]
            shape[axis] = bounds[index + 1] - bounds[index]
            planWindow(item, source: x, offsets: offsets, shape: shape, output: output)
        }
    }

    private func planConcatenate(_ item: ExecutableNode) throws(RuntimeError) {
        guard let firstName = item.node.inputs.first else { throw .incompatibleShapes(node: item.name, reason: "has no inputs") }
        let first = try value(firstName, of: item)
        let rank = first.layout.rank
        let axis = try normalizedAxis(try Attributes(item.node).int("axis", default: -1), rank: rank, item: item)
        var parts: [PlannedValue] = []
        for name in item.node.inputs {
            let part = try value(name, of: item)
            guard part.layout.rank == rank,
                  part.layout.shape.indices.allSatisfy({ $0 == axis || part.layout.shape[$0] == first.layout.shape[$0] }) else {
                throw .incompatibleShapes(node: item.name, reason: "cannot concatenate \(formatShape(first.layout.shape)) and \(formatShape(part.layout.shape)) along axis \(axis)")
            }
            parts.append(try stored(name, of: item, order: first.layout.order))
        }
        let p = first.layout.physicalAxis(of: axis)
        let physical = first.layout.physicalShape
        let inner = physical[(p + 1)...].reduce(1, *)
        let kernel = ConcatenateKernel(outer: physical[..<p].reduce(1, *), blockSizes: parts.map { $0.layout.shape[axis] * inner })
        var shape = first.layout.shape
        shape[axis] = parts.reduce(0) { $0 + $1.layout.shape[axis] }
        let layout = ValueLayout(shape: shape, order: first.layout.order)
        let output = newBuffer(layout.elementCount)
        let buffers = parts.map(\.buffer)
        addStep(reads: buffers, writes: [output]) { memory in
            let inputs = buffers.map { UnsafePointer(memory[$0]) }, out = memory[output], threads = memory.threads
            return { kernel.run(inputs: inputs, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: layout, buffer: output))
    }

    private func planCombination(_ item: ExecutableNode) throws(RuntimeError) {
        let op = item.node.op
        let names = item.node.inputs
        if let buffer = foldedResiduals[position], let operand = values[names[0]] {
            // Computed by the convolution that produced one operand (see foldableResidual).
            define(item.outputs[0], PlannedValue(layout: operand.layout, buffer: buffer))
            return
        }
        guard names.count >= 2 else { throw .incompatibleShapes(node: item.name, reason: "needs at least two inputs, has \(names.count)") }
        if op == .subtract && names.count != 2 {
            throw .incompatibleShapes(node: item.name, reason: "subtracts exactly two inputs, has \(names.count)")
        }
        var coefficients: [Float]?
        if op == .add, let given = try Attributes(item.node).doubles("coefficients") {
            guard given.count == names.count else {
                throw .invalidAttribute(node: item.name, attribute: "coefficients", reason: "has \(given.count) entries for \(names.count) inputs")
            }
            coefficients = given.map(Float.init)
        }
        var inputs: [PlannedValue] = []
        for name in names { inputs.append(try value(name, of: item)) }
        // Work in storage order when every input shares it; otherwise in logical order.
        let sharedOrder = inputs.allSatisfy { $0.layout.order == inputs[0].layout.order }
        if !sharedOrder {
            inputs = []
            for name in names { inputs.append(try identityOrder(name, of: item)) }
        }
        var shape = inputs[0].layout.shape
        for input in inputs.dropFirst() {
            guard let combined = broadcastShape(shape, input.layout.shape) else {
                throw .incompatibleShapes(node: item.name, reason: "cannot broadcast \(formatShape(shape)) with \(formatShape(input.layout.shape))")
            }
            shape = combined
        }
        let order = shape.count == inputs[0].layout.rank ? inputs[0].layout.order : Array(0..<shape.count)
        let layout = ValueLayout(shape: shape, order: order)
        let physical = layout.physicalShape
        let contiguous = StridedSpace.contiguousStrides(physical)
        func strides(_ input: PlannedValue) -> [Int] {
            StridedSpace.broadcastStrides(input.layout.physicalShape, to: physical)
        }
        // The first input's buffer can take the result when it dies here and is not broadcast.
        let output: Int
        if inputs[0].layout.physicalShape == physical, values[names[0]]?.buffer == inputs[0].buffer, canOverwrite(names[0]),
           !inputs.dropFirst().contains(where: { $0.buffer == inputs[0].buffer }) {
            output = inputs[0].buffer
        } else {
            output = newBuffer(layout.elementCount)
        }
        let share = 1 / Float(names.count)
        func operation(_ k: Int) -> CombineOperation {
            switch op {
            case .add:
                if let coefficients { return k == 1 ? .weighted(coefficients[0], coefficients[1]) : .weighted(1, coefficients[k]) }
                return .add
            // Σ xᵢ/n: within a rounding step of (Σ xᵢ)/n, in the same pass.
            case .average: return k == 1 ? .weighted(share, share) : .weighted(1, share)
            case .subtract: return .subtract
            case .multiply: return .multiply
            case .maximum: return .maximum
            default: return .minimum
            }
        }
        // The activation folded into this node runs on each row as the last combination writes it.
        var combines: [(ElementwiseCombine, Int, Int)] = []  // kernel, left buffer, right buffer
        for k in 1..<inputs.count {
            let left = k == 1 ? strides(inputs[0]) : contiguous
            combines.append((ElementwiseCombine(space: StridedSpace(shape: physical, strides: [left, strides(inputs[k])]), operation: operation(k),
                                                activation: k == inputs.count - 1 ? item.activation : .linear),
                             k == 1 ? inputs[0].buffer : output, inputs[k].buffer))
        }
        addStep(reads: inputs.map(\.buffer), writes: [output]) { memory in
            let bound = combines.map { (kernel: $0.0, left: UnsafePointer(memory[$0.1]), right: UnsafePointer(memory[$0.2])) }
            let out = memory[output], threads = memory.threads
            return {
                for step in bound { step.kernel.run(left: step.left, right: step.right, output: out, threads: threads) }
            }
        }
        define(item.outputs[0], PlannedValue(layout: layout, buffer: output))
    }
}
