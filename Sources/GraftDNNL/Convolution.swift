internal import CGraftDNNL
import Synchronization

/// A 2-D convolution run by oneDNN on channels-last (NHWC) data, or on its nChw8c layout
/// (`ActivationLayout`), optionally followed by a 3×3 depthwise convolution in the same
/// primitive (`DepthwiseStage`).
///
/// The weights are graft's layout, `[kh, kw, Cin/groups, Cout]` with output channel
/// `g·(Cout/groups) + j` (oneDNN's `hwigo`; depthwise kernels `[kh, kw, C, multiplier]` are the
/// same with `Cin/groups` = 1), reordered once into the layout the chosen kernel wants. The bias,
/// an optional accumulation onto the destination's previous contents (a residual sum) and an
/// element-wise function run as oneDNN post-ops, in that order:
/// `dst = f(conv(src) + bias [+ dst])`.
///
/// Numerics: each output is one dot product summed by oneDNN's kernel in an order fixed by the
/// kernel and the shapes. Each call runs `imagesPerCall` images: the direct kernels fix every
/// output's order by one image's shapes (the runtime's batch tests check it), so they take the
/// whole batch; oneDNN's Winograd tiles across images, so it takes one image a call. Either
/// way an image's result does not depend on the batch size or its position in the batch.
public final class DNNLConvolution: @unchecked Sendable {
    /// The sizes of the convolution, per image.
    public struct Geometry: Sendable, Hashable {
        public var inputHeight: Int, inputWidth: Int, inputChannels: Int
        public var outputHeight: Int, outputWidth: Int, outputChannels: Int
        public var kernelHeight: Int, kernelWidth: Int
        public var strideHeight: Int, strideWidth: Int
        public var dilationHeight: Int, dilationWidth: Int
        public var padTop: Int, padLeft: Int
        public var groups: Int

        public init(inputHeight: Int, inputWidth: Int, inputChannels: Int, outputHeight: Int, outputWidth: Int, outputChannels: Int,
                    kernelHeight: Int, kernelWidth: Int, strideHeight: Int, strideWidth: Int, dilationHeight: Int, dilationWidth: Int,
                    padTop: Int, padLeft: Int, groups: Int) {
            self.inputHeight = inputHeight
            self.inputWidth = inputWidth
            self.inputChannels = inputChannels
            self.outputHeight = outputHeight
            self.outputWidth = outputWidth
            self.outputChannels = outputChannels
            self.kernelHeight = kernelHeight
            self.kernelWidth = kernelWidth
            self.strideHeight = strideHeight
            self.strideWidth = strideWidth
            self.dilationHeight = dilationHeight
            self.dilationWidth = dilationWidth
            self.padTop = padTop
            self.padLeft = padLeft
            self.groups = groups
        }

        /// Padding after the last row and column that makes oneDNN's output size equal ours
        /// (negative when the last input rows are never read).
        var padBottom: Int { (outputHeight - 1) * strideHeight + (kernelHeight - 1) * dilationHeight + 1 - inputHeight - padTop }
        var padRight: Int { (outputWidth - 1) * strideWidth + (kernelWidth - 1) * dilationWidth + 1 - inputWidth - padLeft }
    }

    /// How the caller stores the source and the result (both the same way).
    public enum ActivationLayout: Sendable {
        /// NHWC.
        case channelsLast
        /// oneDNN's nChw8c: `[N][C/8][H][W][8]`, channels in blocks of 8 (C a multiple of 8),
        /// the layout its AVX2 kernels compute in, and the only one its fused 1×1 + depthwise
        /// kernel gets right (`DepthwiseStage`).
        case blocked8
        /// oneDNN's nChw16c: `[N][C/16][H][W][16]` (C a multiple of 16), the layout its AVX-512
        /// kernels compute in; there too its fused 1×1 + depthwise kernel is right only on
        /// blocked data (`Tools/bench/onednn/check-fused-depthwise.sh`).
        case blocked16

        /// Channels per block: 1 for NHWC.
        var channelBlock: Int {
            switch self {
            case .channelsLast: 1
            case .blocked8: 8
            case .blocked16: 16
            }
        }
    }

    /// Which algorithm oneDNN may use.
    public enum Algorithm: Sendable {
        /// Direct convolution (exact summation of each dot product).
        case direct
        /// Winograd F(4×4, 3×3) where oneDNN has it (3×3, stride 1), direct elsewhere.
        case winograd
    }

    /// The element type of the product's operands. The destination, bias and post-ops are
    /// float32 in either case.
    public enum Precision: Sendable {
        /// float32 operands.
        case float32
        /// bfloat16 source and weights with float32 accumulation: the float32 source is rounded to
        /// bfloat16 (round to nearest even) into the caller's workspace before each call, the
        /// weights once at creation. About 3 significant decimal digits per operand; the sums
        /// keep float32.
        case bfloat16
    }

    /// A 3×3 depthwise convolution that oneDNN runs on the result of a 1×1, stride-1 convolution
    /// inside the same primitive (its depthwise post-op), a band of rows at a time, so that the
    /// 1×1 convolution's full result is never written to memory: MobileNet's expand → depthwise
    /// pairs. The 1×1 convolution's own post-ops (its activation) run before it, `postOps` after.
    public struct DepthwiseStage {
        /// `[3, 3, C, 1]`, graft's depthwise kernel layout, C the 1×1 convolution's outputs.
        public var weights: UnsafePointer<Float>
        public var bias: UnsafePointer<Float>?
        /// The same stride along both axes: 1 or 2.
        public var stride: Int
        /// The padding before the first row and the first column; the padding after them is
        /// what makes the output `ceil(size / stride)` (oneDNN's rule for this post-op).
        public var padding: Int
        /// What runs on the depthwise result: its activation.
        public var postOps: [PostOp]

        public init(weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, stride: Int, padding: Int, postOps: [PostOp]) {
            self.weights = weights
            self.bias = bias
            self.stride = stride
            self.padding = padding
            self.postOps = postOps
        }

        /// The output size along an axis of `size` inputs.
        public func outputSize(_ size: Int) -> Int { (size + stride - 1) / stride }
    }

    public let geometry: Geometry
    /// The operands' element type.
    public let precision: Precision
    /// The scratch bytes `run` needs (`workspace`): the bfloat16 copy of one call's source, then
    /// the kernel's own scratchpad.
    public let workspaceBytes: Int
    /// Where the scratchpad starts in the workspace: after the bfloat16 copy of the source, if
    /// any, 64-byte aligned.
    private let scratchpadOffset: Int
    /// The kernel's scratchpad, bound to the caller's workspace on every run (nil when the kernel
    /// needs none).
    ///
    /// graft gives oneDNN its scratch memory (`dnnl_scratchpad_mode_user`) instead of letting it
    /// allocate its own: in its library mode some kernels (its Winograd among them) share one
    /// buffer per thread that created them, which is wrong memory when a session runs on another
    /// thread than the one that planned it.
    private let scratchpad: dnnl_memory_t?
    /// oneDNN's name of the kernel it chose (`brgconv:avx512_core`, `jit_wino_4x3:…`, …).
    public let implementation: String
    private let handles = Handles()
    private let primitive: dnnl_primitive_t
    private let source: dnnl_memory_t
    private let destination: dnnl_memory_t
    private let weights: dnnl_memory_t
    /// The memory of `weights`, shared with other primitives through a `ReorderedWeightCache`.
    private let weightStorage: ReorderedWeights
    private let bias: dnnl_memory_t?
    /// The fused depthwise stage's weights and bias, in the layouts its kernel wants.
    private let depthwiseOperands: (weights: dnnl_memory_t, bias: dnnl_memory_t)?
    private let context: Context
    /// For blocked layouts: NHWC into the primitive's source layout, and its destination back.
    private let reorders: (in: Reorder, out: Reorder)?
    /// For bfloat16: the float32 NHWC source into the bfloat16 copy in the workspace.
    private let rounding: Reorder?

    /// Builds the primitive and reorders the weights; throws `DNNLError` when oneDNN has no
    /// kernel for the shapes and post-ops (the caller then uses its own).
    /// Images per primitive call: `run` splits a batch into calls of this many images.
    public let imagesPerCall: Int

    /// Whether the caller's source is already bfloat16 (NHWC, 2 bytes an element: another
    /// bfloat16 convolution's `roundsResult`), read as it is instead of rounded.
    public let readsRounded: Bool
    /// Whether the result is written as bfloat16 (NHWC, 2 bytes an element), rounded to nearest
    /// even from the float32 value after the bias and post-ops: the very bits a bfloat16
    /// convolution reading a float32 result would round it to, in half the memory and without
    /// that rounding pass.
    public let roundsResult: Bool

    public init(geometry g: Geometry, imagesPerCall: Int = 1, weights kernel: UnsafePointer<Float>, bias biasValues: UnsafePointer<Float>?,
                postOps: [PostOp], depthwise: DepthwiseStage? = nil, algorithm: Algorithm = .direct,
                precision: Precision = .float32, layout: ActivationLayout = .channelsLast,
                readsRounded: Bool = false, roundsResult: Bool = false,
                weightCache: ReorderedWeightCache? = nil, weightKey: String = "") throws(DNNLError) {
        self.imagesPerCall = imagesPerCall
        self.precision = precision
        self.readsRounded = readsRounded
        self.roundsResult = roundsResult
        let reduced = precision == .bfloat16
        if (readsRounded || roundsResult) && (!reduced || depthwise != nil) || roundsResult && postOps.contains(.sum) {
            throw DNNLError(call: "bfloat16 storage", status: "only for bfloat16 convolutions, and results without a residual sum")
        }
        if reduced && algorithm == .winograd { throw DNNLError(call: "Winograd convolution", status: "no bfloat16 kernel") }
        let operandType = reduced ? dnnl_bf16 : dnnl_f32
        let context = try Context.shared.get()
        self.context = context
        self.geometry = g
        outputHeight = depthwise?.outputSize(g.outputHeight) ?? g.outputHeight
        outputWidth = depthwise?.outputSize(g.outputWidth) ?? g.outputWidth
        if depthwise != nil {
            // oneDNN 2.6's fused 1×1 + depthwise kernel (`jit_1x1:avx2` with a depthwise post-op)
            // computes wrong results from channels-last data (up to 6.0 off after ReLU6 on
            // MobileNetV2's shapes, at every batch size, checked against the two primitives run
            // apart), and exactly the separate primitives' bits from nChw8c, with either padding;
            // the same holds for `jit_1x1:avx512_core` on NHWC and nChw16c.
            guard g.kernelHeight == 1, g.kernelWidth == 1, g.strideHeight == 1, g.strideWidth == 1, g.groups == 1,
                  g.padTop == 0, g.padLeft == 0, algorithm == .direct, !reduced, !postOps.contains(.sum), layout != .channelsLast else {
                throw DNNLError(call: "depthwise post-op", status: "needs a plain 1x1, stride-1 float32 convolution on blocked data before it")
            }
        }
        if reduced && layout != .channelsLast { throw DNNLError(call: "bfloat16 convolution", status: "channels-last data only") }
        let block = layout.channelBlock
        if g.inputChannels % block != 0 || g.outputChannels % block != 0 {
            throw DNNLError(call: "nChw\(block)c convolution", status: "channel counts not multiples of \(block)")
        }
        let userTag = switch layout {
        case .channelsLast: dnnl_nhwc
        case .blocked8: dnnl_nChw8c
        case .blocked16: dnnl_nChw16c
        }
        let sourceDescriptor = try memoryDescriptor([imagesPerCall, g.inputChannels, g.inputHeight, g.inputWidth], userTag)
        // The 1×1 convolution's own result: the primitive's destination unless a depthwise stage
        // follows, whose result (`finalDescriptor`) the primitive then writes instead.
        let destinationDescriptor = try memoryDescriptor([imagesPerCall, g.outputChannels, g.outputHeight, g.outputWidth], userTag,
                                                         roundsResult ? dnnl_bf16 : dnnl_f32)
        let finalDescriptor = try depthwise.map { (stage) throws(DNNLError) in
            try memoryDescriptor([imagesPerCall, g.outputChannels, stage.outputSize(g.outputHeight), stage.outputSize(g.outputWidth)], userTag)
        } ?? destinationDescriptor
        let grouped = g.groups > 1
        let weightDims = grouped
            ? [g.groups, g.outputChannels / g.groups, g.inputChannels / g.groups, g.kernelHeight, g.kernelWidth]
            : [g.outputChannels, g.inputChannels, g.kernelHeight, g.kernelWidth]
        let userWeights = try memoryDescriptor(weightDims, grouped ? dnnl_hwigo : dnnl_hwio)
        let anyWeights = try memoryDescriptor(weightDims, dnnl_format_tag_any, operandType)
        let roundedSource = try memoryDescriptor([imagesPerCall, g.inputChannels, g.inputHeight, g.inputWidth], dnnl_nhwc, operandType)
        let biasDescriptor = try biasValues.map { (_) throws(DNNLError) in try memoryDescriptor([g.outputChannels], dnnl_x) }

        var operation = dnnl_convolution_desc_t()
        // oneDNN reads each of these as an array of two dims; Swift passes the arrays' storage.
        let strides: [dnnl_dim_t] = [dnnl_dim_t(g.strideHeight), dnnl_dim_t(g.strideWidth)]
        let dilations: [dnnl_dim_t] = [dnnl_dim_t(g.dilationHeight - 1), dnnl_dim_t(g.dilationWidth - 1)]
        let left: [dnnl_dim_t] = [dnnl_dim_t(g.padTop), dnnl_dim_t(g.padLeft)]
        let right: [dnnl_dim_t] = [dnnl_dim_t(g.padBottom), dnnl_dim_t(g.padRight)]
        // Winograd runs only on oneDNN's blocked layouts (nChw16c): the primitive picks its layouts
        // and the activations are reordered in and out around it. A residual sum would need the
        // destination reordered in as well; such a convolution stays direct.
        let blocked = algorithm == .winograd
        if blocked && postOps.contains(.sum) { throw DNNLError(call: "Winograd convolution", status: "no residual sum") }
        var src = blocked ? try memoryDescriptor([imagesPerCall, g.inputChannels, g.inputHeight, g.inputWidth], dnnl_format_tag_any)
            : reduced ? roundedSource : sourceDescriptor
        var dst = blocked ? try memoryDescriptor([imagesPerCall, g.outputChannels, g.outputHeight, g.outputWidth], dnnl_format_tag_any) : destinationDescriptor
        var wei = anyWeights
        var biasCopy = biasDescriptor ?? dnnl_memory_desc_t()
        try check(withUnsafePointer(to: &biasCopy) { biasPointer in
            dnnl_dilated_convolution_forward_desc_init(&operation, dnnl_forward_inference,
                                                       algorithm == .winograd ? dnnl_convolution_winograd : dnnl_convolution_direct,
                                                       &src, &wei, biasDescriptor == nil ? nil : biasPointer, &dst,
                                                       strides, dilations, left, right)
        }, "dnnl_dilated_convolution_forward_desc_init")

        let attributes = try PostOp.attributes(postOps, depthwise: depthwise)
        defer { dnnl_primitive_attr_destroy(attributes) }
        // The caller provides the scratch memory (`scratchpad`).
        try check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "dnnl_primitive_attr_set_scratchpad_mode")
        var descriptor: dnnl_primitive_desc_t?
        var created: dnnl_primitive_t?
        let engine = context.engine
        let (described, made) = creatingPrimitives { () -> (dnnl_status_t, dnnl_status_t) in
            let described = dnnl_primitive_desc_create(&descriptor, &operation, attributes, engine, nil)
            return (described, described == dnnl_success ? dnnl_primitive_create(&created, descriptor) : described)
        }
        if let descriptor { handles.descriptors.append(descriptor) }
        try check(described, "dnnl_primitive_desc_create (convolution)")
        try check(made, "dnnl_primitive_create (convolution)")
        handles.primitives.append(created!)
        var implementationName: UnsafePointer<CChar>?
        _ = dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &implementationName)
        implementation = implementationName.map { String(cString: $0) } ?? "unknown"
        // oneDNN's reference kernels accept bfloat16 anywhere but run it far slower than float32.
        if reduced && !implementation.contains("bf16") {
            throw DNNLError(call: "bfloat16 convolution", status: "no native kernel (\(implementation))")
        }
        primitive = created!
        // The scratch memory the kernel wants (padded copies, per-thread accumulators, Winograd's
        // transformed tiles), which the caller provides in its workspace after the bfloat16 copy.
        let scratchDescriptor = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0)!.pointee
        let scratchBytes = dnnl_memory_desc_get_size([scratchDescriptor])
        scratchpad = scratchBytes > 0 ? try handles.memory(scratchDescriptor, engine: context.engine, handle: nil) : nil

        // Weights: graft's layout -> the kernel's, once (or taken from the cache, already in it).
        let chosenWeights = dnnl_primitive_desc_query_md(descriptor, dnnl_query_weights_md, 0)!.pointee
        if let kept = weightCache?.weights(for: weightKey, layout: chosenWeights) {
            weightStorage = kept
            weights = try handles.memory(chosenWeights, engine: context.engine, handle: kept.pointer)
        } else {
            weightStorage = ReorderedWeights(bytes: dnnl_memory_desc_get_size([chosenWeights]), layout: chosenWeights)
            weights = try handles.memory(chosenWeights, engine: context.engine, handle: weightStorage.pointer)
            let userMemory = try handles.memory(userWeights, engine: context.engine, handle: UnsafeMutableRawPointer(mutating: kernel))
            try reorder(from: userMemory, userWeights, to: weights, chosenWeights, context: context, handles: handles)
            weightCache?.keep(weightStorage, for: weightKey)
        }
        if let biasDescriptor, let biasValues {
            let biasBuffer = handles.buffer(bytes: g.outputChannels * 4)
            biasBuffer.copyMemory(from: biasValues, byteCount: g.outputChannels * 4)
            bias = try handles.memory(biasDescriptor, engine: context.engine, handle: biasBuffer)
        } else {
            bias = nil
        }
        if let depthwise {
            let channels = g.outputChannels
            let userDepthwise = try memoryDescriptor([channels, 1, 1, 3, 3], dnnl_hwigo)
            let chosen = dnnl_primitive_desc_query_md(descriptor, dnnl_query_exec_arg_md, graft_dnnl_arg_depthwise_weights())!.pointee
            let depthwiseWeights = try handles.memory(chosen, engine: context.engine, handle: handles.buffer(bytes: dnnl_memory_desc_get_size([chosen])))
            let userMemory = try handles.memory(userDepthwise, engine: context.engine, handle: UnsafeMutableRawPointer(mutating: depthwise.weights))
            try reorder(from: userMemory, userDepthwise, to: depthwiseWeights, chosen, context: context, handles: handles)
            let biasDescriptor = dnnl_primitive_desc_query_md(descriptor, dnnl_query_exec_arg_md, graft_dnnl_arg_depthwise_bias())!.pointee
            guard dnnl_memory_desc_get_size([biasDescriptor]) == channels * 4 else {
                throw DNNLError(call: "depthwise post-op", status: "unexpected bias layout")
            }
            let biasBuffer = handles.buffer(bytes: channels * 4)
            if let values = depthwise.bias {
                biasBuffer.copyMemory(from: values, byteCount: channels * 4)
            } else {
                biasBuffer.initializeMemory(as: Float.self, repeating: 0, count: channels)
            }
            depthwiseOperands = (depthwiseWeights, try handles.memory(biasDescriptor, engine: context.engine, handle: biasBuffer))
        } else {
            depthwiseOperands = nil
        }
        if blocked {
            let innerSource = dnnl_primitive_desc_query_md(descriptor, dnnl_query_src_md, 0)!.pointee
            let innerDestination = dnnl_primitive_desc_query_md(descriptor, dnnl_query_dst_md, 0)!.pointee
            source = try handles.memory(innerSource, engine: context.engine, handle: handles.buffer(bytes: dnnl_memory_desc_get_size([innerSource])))
            destination = try handles.memory(innerDestination, engine: context.engine,
                                             handle: handles.buffer(bytes: dnnl_memory_desc_get_size([innerDestination])))
            let userSource = try handles.memory(sourceDescriptor, engine: context.engine, handle: nil)
            let userDestination = try handles.memory(finalDescriptor, engine: context.engine, handle: nil)
            reorders = (try Reorder(from: userSource, sourceDescriptor, to: source, innerSource, context: context, handles: handles),
                        try Reorder(from: destination, innerDestination, to: userDestination, finalDescriptor, context: context, handles: handles))
            rounding = nil
            scratchpadOffset = 0
        } else if reduced {
            source = try handles.memory(roundedSource, engine: context.engine, handle: nil)
            destination = try handles.memory(destinationDescriptor, engine: context.engine, handle: nil)
            if readsRounded {
                rounding = nil
                scratchpadOffset = 0
            } else {
                let userSource = try handles.memory(sourceDescriptor, engine: context.engine, handle: nil)
                rounding = try Reorder(from: userSource, sourceDescriptor, to: source, roundedSource, context: context, handles: handles)
                scratchpadOffset = (dnnl_memory_desc_get_size([roundedSource]) + 63) / 64 * 64
            }
            reorders = nil
        } else {
            source = try handles.memory(sourceDescriptor, engine: context.engine, handle: nil)
            destination = try handles.memory(finalDescriptor, engine: context.engine, handle: nil)
            reorders = nil
            rounding = nil
            scratchpadOffset = 0
        }
        workspaceBytes = scratchpadOffset + scratchBytes
    }

    /// The height and width of the primitive's result: the depthwise stage's when there is one.
    public let outputHeight: Int, outputWidth: Int

    /// Runs `batch` images: `input` holds `batch` NHWC images, `output` receives `batch` results
    /// (and holds the residual to add when a `.sum` post-op was given). `workspace` holds at least
    /// `workspaceBytes`, 64-byte aligned (unused when that is 0). oneDNN runs on the calling
    /// thread's OpenMP team, whose size `Parallelism.configure(threads:)` sets.
    public func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int,
                    workspace: UnsafeMutableRawPointer? = nil) {
        let g = geometry
        precondition(batch % imagesPerCall == 0, "a batch of \(batch) in calls of \(imagesPerCall) images")
        precondition(workspaceBytes == 0 || workspace != nil, "oneDNN convolution run without its workspace")
        // Bytes per call's source and result (2 an element where stored as bfloat16).
        let inputStride = g.inputHeight * g.inputWidth * g.inputChannels * imagesPerCall * (readsRounded ? 2 : 4)
        let outputStride = outputHeight * outputWidth * g.outputChannels * imagesPerCall * (roundsResult ? 2 : 4)
        for image in 0..<(batch / imagesPerCall) {
            let from = UnsafeMutableRawPointer(mutating: input) + image * inputStride, to = UnsafeMutableRawPointer(output) + image * outputStride
            if let reorders {
                reorders.in.run(source: from, stream: context.stream)
            } else if let rounding {
                dnnl_memory_set_data_handle(source, workspace)
                rounding.run(source: from, stream: context.stream)
                dnnl_memory_set_data_handle(destination, to)
            } else {
                dnnl_memory_set_data_handle(source, from)
                dnnl_memory_set_data_handle(destination, to)
            }
            var arguments = [dnnl_exec_arg_t(arg: graft_dnnl_arg_src(), memory: source),
                             dnnl_exec_arg_t(arg: graft_dnnl_arg_weights(), memory: weights),
                             dnnl_exec_arg_t(arg: graft_dnnl_arg_dst(), memory: destination)]
            if let bias { arguments.append(dnnl_exec_arg_t(arg: graft_dnnl_arg_bias(), memory: bias)) }
            if let scratchpad {
                dnnl_memory_set_data_handle(scratchpad, workspace! + scratchpadOffset)
                arguments.append(dnnl_exec_arg_t(arg: graft_dnnl_arg_scratchpad(), memory: scratchpad))
            }
            if let depthwiseOperands {
                arguments.append(dnnl_exec_arg_t(arg: graft_dnnl_arg_depthwise_weights(), memory: depthwiseOperands.weights))
                arguments.append(dnnl_exec_arg_t(arg: graft_dnnl_arg_depthwise_bias(), memory: depthwiseOperands.bias))
            }
            let status = dnnl_primitive_execute(primitive, context.stream, Int32(arguments.count), &arguments)
            precondition(status == dnnl_success, "oneDNN convolution failed: \(String(cString: dnnl_status2str(status)))")
            reorders?.out.run(destination: to, stream: context.stream)
        }
    }
}

/// Serializes the making of oneDNN convolution primitives in this process.
///
/// oneDNN 2.6 chooses a convolution kernel's blocking (`brgconv`) through a global variable
/// that each choice sets for its data type and then reads (`brg_blocking_t::last_ic_block_size`,
/// made thread-local in oneDNN 2.7): a float32 convolution planned while a bfloat16 one is being
/// planned on another thread can get the bfloat16 rounding of its input channels, and computes
/// wrong results from then on (seen in graft's tests, which plan sessions of both precisions at
/// once, on a 9-channel float32 convolution). Making primitives is a small part of planning.
private let primitiveCreation = Mutex<Void>(())

/// Runs `body`, which makes a convolution's primitive descriptor and primitive, alone in the process.
func creatingPrimitives<Result>(_ body: () -> Result) -> Result {
    primitiveCreation.withLock { _ in body() }
}

/// What a primitive does after its product, in order.
public enum PostOp: Sendable, Hashable {
    /// Adds the destination's previous contents (a residual sum).
    case sum
    /// `max(x, 0)`.
    case relu
    /// `min(max(x, 0), 6)`.
    case relu6
    case sigmoid
    case tanh

    /// The attributes holding `operations`, then the depthwise stage and its own post-ops.
    static func attributes(_ operations: [PostOp], depthwise: DNNLConvolution.DepthwiseStage? = nil) throws(DNNLError) -> dnnl_primitive_attr_t {
        var attributes: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attributes), "dnnl_primitive_attr_create")
        guard !operations.isEmpty || depthwise != nil else { return attributes! }
        var postOps: dnnl_post_ops_t?
        try check(dnnl_post_ops_create(&postOps), "dnnl_post_ops_create")
        defer { dnnl_post_ops_destroy(postOps) }
        try append(operations, to: postOps)
        if let depthwise {
            try check(dnnl_post_ops_append_dw(postOps, dnnl_f32, dnnl_f32, dnnl_f32, 3, dnnl_dim_t(depthwise.stride),
                                              dnnl_dim_t(depthwise.padding), 0, 0, nil), "dnnl_post_ops_append_dw")
            try append(depthwise.postOps, to: postOps)
        }
        try check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "dnnl_primitive_attr_set_post_ops")
        return attributes!
    }

    private static func append(_ operations: [PostOp], to postOps: dnnl_post_ops_t?) throws(DNNLError) {
        for operation in operations {
            switch operation {
            case .sum: try check(dnnl_post_ops_append_sum(postOps, 1), "dnnl_post_ops_append_sum")
            case .relu: try check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0), "dnnl_post_ops_append_eltwise")
            case .relu6: try check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_clip_v2, 0, 6), "dnnl_post_ops_append_eltwise")
            case .sigmoid: try check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_logistic, 0, 0), "dnnl_post_ops_append_eltwise")
            case .tanh: try check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_tanh, 0, 0), "dnnl_post_ops_append_eltwise")
            }
        }
    }
}

/// Copies `from` (layout `fromDescriptor`) into `to` (layout `toDescriptor`) with a oneDNN reorder.
func reorder(from: dnnl_memory_t, _ fromDescriptor: dnnl_memory_desc_t, to: dnnl_memory_t, _ toDescriptor: dnnl_memory_desc_t,
             context: Context, handles: Handles) throws(DNNLError) {
    var source = fromDescriptor, target = toDescriptor
    var descriptor: dnnl_primitive_desc_t?
    try check(dnnl_reorder_primitive_desc_create(&descriptor, &source, context.engine, &target, context.engine, nil), "dnnl_reorder_primitive_desc_create")
    defer { dnnl_primitive_desc_destroy(descriptor) }
    var primitive: dnnl_primitive_t?
    try check(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create (reorder)")
    defer { dnnl_primitive_destroy(primitive) }
    var arguments = [dnnl_exec_arg_t(arg: graft_dnnl_arg_from(), memory: from), dnnl_exec_arg_t(arg: graft_dnnl_arg_to(), memory: to)]
    try check(dnnl_primitive_execute(primitive, context.stream, 2, &arguments), "dnnl_primitive_execute (reorder)")
    try check(dnnl_stream_wait(context.stream), "dnnl_stream_wait")
}

/// A reorder primitive between two memories of the same tensor, one of which is rebound to the
/// caller's pointer on every run.
final class Reorder: @unchecked Sendable {
    private let primitive: dnnl_primitive_t
    private let from: dnnl_memory_t
    private let to: dnnl_memory_t

    init(from: dnnl_memory_t, _ fromDescriptor: dnnl_memory_desc_t, to: dnnl_memory_t, _ toDescriptor: dnnl_memory_desc_t,
         context: Context, handles: Handles) throws(DNNLError) {
        var source = fromDescriptor, target = toDescriptor
        var descriptor: dnnl_primitive_desc_t?
        try check(dnnl_reorder_primitive_desc_create(&descriptor, &source, context.engine, &target, context.engine, nil), "dnnl_reorder_primitive_desc_create")
        handles.descriptors.append(descriptor!)
        var primitive: dnnl_primitive_t?
        try check(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create (reorder)")
        handles.primitives.append(primitive!)
        self.primitive = primitive!
        self.from = from
        self.to = to
    }

    /// Reorders from `source` (rebinding the source memory to it) into the owned destination.
    func run(source: UnsafeMutableRawPointer, stream: dnnl_stream_t) {
        dnnl_memory_set_data_handle(from, source)
        execute(stream)
    }

    /// Reorders the owned source into `destination` (rebinding the destination memory to it).
    func run(destination: UnsafeMutableRawPointer, stream: dnnl_stream_t) {
        dnnl_memory_set_data_handle(to, destination)
        execute(stream)
    }

    private func execute(_ stream: dnnl_stream_t) {
        var arguments = [dnnl_exec_arg_t(arg: graft_dnnl_arg_from(), memory: from), dnnl_exec_arg_t(arg: graft_dnnl_arg_to(), memory: to)]
        let status = dnnl_primitive_execute(primitive, stream, 2, &arguments)
        precondition(status == dnnl_success, "oneDNN reorder failed: \(String(cString: dnnl_status2str(status)))")
    }
}

/// Weights reordered into the layout a kernel chose (`layout`), owned jointly by the primitives
/// that read them.
final class ReorderedWeights: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let layout: dnnl_memory_desc_t

    init(bytes: Int, layout: dnnl_memory_desc_t) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        self.layout = layout
    }

    deinit { pointer.deallocate() }
}

/// Reordered weights kept by key (the caller's name for a layer's weights, which must be the
/// same values under the same key) and layout, for the other primitives of the same weights: a
/// runtime session's plans for other batch sizes, whose kernels mostly choose the same layout.
/// Not thread-safe: one owner plans at a time.
public final class ReorderedWeightCache: @unchecked Sendable {
    private var entries: [String: [ReorderedWeights]] = [:]

    public init() {}

    /// The weights kept for `key` in exactly `layout`, if any.
    func weights(for key: String, layout: dnnl_memory_desc_t) -> ReorderedWeights? {
        var wanted = layout
        return entries[key]?.first { kept in
            var layout = kept.layout
            return dnnl_memory_desc_equal(&layout, &wanted) != 0
        }
    }

    func keep(_ weights: ReorderedWeights, for key: String) {
        entries[key, default: []].append(weights)
    }
}
