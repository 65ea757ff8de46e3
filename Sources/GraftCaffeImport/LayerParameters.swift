import GraftProtobuf
internal import CGraftCaffeProto
internal import CGraftProtobufC
// The parameter messages of a Caffe layer that the converter reads, decoded once from
// protobuf-c's C structs into Swift values (the `init(_:)` of each type below).
//
// Every field carries Caffe's default as `schemas/caffe.proto` declares it: protobuf-c fills an
// absent field with that default when it unpacks a message, and a `…Parameters()` value (what a
// layer has when its prototxt omits the whole message) holds the same defaults. A field is an
// optional only where the converter must tell "absent" from "given with the default value"
// (`kernel_h` without `kernel_w`, `axis` against the older `concat_dim`, …), or where the proto
// declares no default at all (`num_output`, `kernel_size`).

// MARK: Net state

/// A `NetStateRule`: the condition of a layer's `include` or `exclude` entry.
struct NetStateRule: Sendable, Hashable {
    /// Caffe's `Phase`.
    enum Phase: Sendable, Hashable {
        case train, test
    }

    /// Met only in this phase; `nil` in any.
    var phase: Phase?
    /// Met only at this level or above.
    var minimumLevel: Int?
    /// Met only at this level or below.
    var maximumLevel: Int?
    /// Met only if the net's state has every one of these stages.
    var stages: [String] = []
    /// Met only if the net's state has none of these stages (`not_stage`).
    var excludedStages: [String] = []

    /// Whether a net built in `state` meets the rule (Caffe's `Net::StateMeetsRule`).
    func isMet(by state: NetState) -> Bool {
        if let phase, phase != state.phase { return false }
        if let minimumLevel, state.level < minimumLevel { return false }
        if let maximumLevel, state.level > maximumLevel { return false }
        if stages.contains(where: { !state.stages.contains($0) }) { return false }
        if excludedStages.contains(where: { state.stages.contains($0) }) { return false }
        return true
    }
}

/// The state Caffe builds a net in, which selects the layers whose rules it meets.
struct NetState: Sendable, Hashable {
    var phase: NetStateRule.Phase
    var level: Int
    var stages: [String]

    /// What graft converts: the TEST phase at level 0, with no stages (Caffe's default state
    /// for a deployed net).
    static let deployment = NetState(phase: .test, level: 0, stages: [])
}

// MARK: Data

/// A data layer's `transform_param`: the preprocessing its images get, recorded as hints.
struct TransformationParameters: Sendable, Hashable {
    /// The factor applied after mean subtraction; `nil` when absent (Caffe: 1).
    var scale: Float?
    /// Whether training images are mirrored at random; `nil` when absent (Caffe: false).
    var mirror: Bool?
    /// The side of the square crop; 0 for none.
    var cropSize: Int = 0
    /// A binaryproto of the mean image, when given.
    var meanFile: String?
    /// Per-channel means (`mean_value`, repeated).
    var meanValues: [Float] = []
}

/// `input_param` of an Input layer.
struct InputParameters: Sendable, Hashable {
    /// One shape per top, or one for all of them; empty when none is given.
    var shapes: [[Int]] = []
}

// MARK: Layers with weights

/// `convolution_param` of Convolution and Deconvolution.
///
/// Caffe gives each 2-D size either as a repeated field (one value for both axes, or height then
/// width) or as an `_h`/`_w` pair; both forms are kept so the converter can refuse a mixture.
struct ConvolutionParameters: Sendable, Hashable {
    /// `num_output`; `nil` when absent (invalid: Caffe requires it).
    var outputCount: Int?
    var biasTerm: Bool = true
    /// `pad`, repeated; empty when absent (Caffe: 0).
    var pad: [Int] = []
    /// `kernel_size`, repeated.
    var kernelSize: [Int] = []
    /// `stride`, repeated; empty when absent (Caffe: 1).
    var stride: [Int] = []
    /// `dilation`, repeated; empty when absent (Caffe: 1).
    var dilation: [Int] = []
    var padHeight: Int?
    var padWidth: Int?
    var kernelHeight: Int?
    var kernelWidth: Int?
    var strideHeight: Int?
    var strideWidth: Int?
    var group: Int = 1
    /// The channel axis of the input.
    var axis: Int = 1
}

/// `inner_product_param` of InnerProduct.
struct InnerProductParameters: Sendable, Hashable {
    /// `num_output`; `nil` when absent (invalid: Caffe requires it).
    var outputCount: Int?
    var biasTerm: Bool = true
    /// The first axis flattened into the product.
    var axis: Int = 1
    /// Whether the weight blob is stored `[inputs, outputs]` rather than `[outputs, inputs]`.
    var transpose: Bool = false
}

/// `prelu_param` of PReLU.
struct PReLUParameters: Sendable, Hashable {
    /// One slope for every channel rather than one per channel.
    var channelShared: Bool = false
}

/// `batch_norm_param` of BatchNorm.
struct BatchNormParameters: Sendable, Hashable {
    /// `nil` when absent: Caffe then uses the stored statistics in the TEST phase.
    var useGlobalStats: Bool?
    var movingAverageFraction: Float = 0.999
    var epsilon: Float = 1e-5
}

/// `scale_param` of Scale.
struct ScaleParameters: Sendable, Hashable {
    var axis: Int = 1
    /// `num_axes`: how many input axes from `axis` on the factor spans; −1 for all of them.
    var axisCount: Int = 1
    var biasTerm: Bool = false
}

/// `bias_param` of Bias.
struct BiasParameters: Sendable, Hashable {
    var axis: Int = 1
    /// `num_axes`: how many input axes from `axis` on the addend spans; −1 for all of them.
    var axisCount: Int = 1
}

// MARK: Pooling and normalisation

/// `pooling_param` of Pooling.
///
/// Unlike convolution, pooling sizes are single values (`kernel_size`, `pad`, `stride`) or
/// `_h`/`_w` pairs; each is `nil` when absent so the converter can refuse a mixture.
struct PoolingParameters: Sendable, Hashable {
    /// `PoolMethod`.
    enum Method: Sendable, Hashable {
        case max, average, stochastic
    }

    /// `RoundMode`: how the count of windows is rounded.
    enum RoundMode: Sendable, Hashable {
        case ceil, floor
    }

    var method: Method = .max
    var kernelSize: Int?
    var kernelHeight: Int?
    var kernelWidth: Int?
    /// `nil` when absent (Caffe: 0).
    var pad: Int?
    var padHeight: Int?
    var padWidth: Int?
    /// `nil` when absent (Caffe: 1).
    var stride: Int?
    var strideHeight: Int?
    var strideWidth: Int?
    /// Pool over the whole spatial extent, ignoring the sizes.
    var global: Bool = false
    var roundMode: RoundMode = .ceil
}

/// `lrn_param` of LRN.
struct LRNParameters: Sendable, Hashable {
    /// `NormRegion`.
    enum NormRegion: Sendable, Hashable {
        case acrossChannels, withinChannel
    }

    var localSize: Int = 5
    var alpha: Float = 1
    var beta: Float = 0.75
    var normRegion: NormRegion = .acrossChannels
    var k: Float = 1
}

// MARK: Element-wise

/// `relu_param` of ReLU.
struct ReLUParameters: Sendable, Hashable {
    /// The slope for negative inputs (a leaky ReLU when non-zero).
    var negativeSlope: Float = 0
}

/// `elu_param` of ELU.
struct ELUParameters: Sendable, Hashable {
    var alpha: Float = 1
}

/// `power_param` of Power: `y = (shift + scale·x)^power`.
struct PowerParameters: Sendable, Hashable {
    var power: Float = 1
    var scale: Float = 1
    var shift: Float = 0
}

/// `exp_param` of Exp (`y = base^(shift + scale·x)`) and `log_param` of Log
/// (`y = log_base(shift + scale·x)`): Caffe declares both messages with the same fields.
struct ExpLogParameters: Sendable, Hashable {
    /// −1 for e.
    var base: Float = -1
    var scale: Float = 1
    var shift: Float = 0
}

/// `eltwise_param` of Eltwise.
struct EltwiseParameters: Sendable, Hashable {
    /// `EltwiseOp`.
    enum Operation: Sendable, Hashable {
        case product, sum, maximum
    }

    var operation: Operation = .sum
    /// Per-input factors of a sum (`coeff`, repeated); empty for all 1.
    var coefficients: [Float] = []
}

/// `softmax_param` of Softmax.
struct SoftmaxParameters: Sendable, Hashable {
    var axis: Int = 1
}

// MARK: Shape

/// `concat_param` of Concat.
struct ConcatParameters: Sendable, Hashable {
    /// `nil` when absent (Caffe: 1, or `concatDimension` when that is given).
    var axis: Int?
    /// The older `concat_dim`, read only without `axis`.
    var concatDimension: Int?
}

/// `slice_param` of Slice.
struct SliceParameters: Sendable, Hashable {
    /// `nil` when absent (Caffe: 1, or `sliceDimension` when that is given).
    var axis: Int?
    /// The older `slice_dim`, read only without `axis`.
    var sliceDimension: Int?
    /// Where the pieces start, after the first; empty for equal pieces.
    var slicePoints: [Int] = []
}

/// `flatten_param` of Flatten.
struct FlattenParameters: Sendable, Hashable {
    var axis: Int = 1
    var endAxis: Int = -1
}

/// `reshape_param` of Reshape.
struct ReshapeParameters: Sendable, Hashable {
    /// The new dimensions of the reshaped axes (0 copies one, −1 is inferred); empty when absent.
    var shape: [Int] = []
    /// The first axis reshaped.
    var axis: Int = 0
    /// `num_axes`: how many axes from `axis` on are reshaped; −1 for all of them.
    var axisCount: Int = -1
}

/// `crop_param` of Crop.
struct CropParameters: Sendable, Hashable {
    /// The first axis cropped; every later axis is cropped too.
    var axis: Int = 2
    /// One offset per cropped axis, or one for all of them; empty for 0.
    var offsets: [Int] = []
}

/// `permute_param` of Permute (the SSD fork's layer).
struct PermuteParameters: Sendable, Hashable {
    /// The new order of the axes; axes it leaves out follow in their own order.
    var order: [Int] = []
}

// MARK: - Decoding protobuf-c messages

/// The value of an optional scalar field: `nil` when its `has_` flag is clear.
private func present<Value>(_ has: protobuf_c_boolean, _ value: Value) -> Value? {
    has != 0 ? value : nil
}

/// The dimensions of a `BlobShape`.
private func dimensions(_ shape: Caffe__BlobShape) -> [Int] {
    elements(shape.dim, count: shape.n_dim).map(Int.init)
}

extension NetStateRule {
    init(_ message: Caffe__NetStateRule) {
        // The text parser accepts only declared enum values; anything but TEST is TRAIN.
        phase = present(message.has_phase, message.phase == CAFFE__PHASE__TEST ? Phase.test : Phase.train)
        minimumLevel = present(message.has_min_level, Int(message.min_level))
        maximumLevel = present(message.has_max_level, Int(message.max_level))
        stages = strings(message.stage, count: message.n_stage)
        excludedStages = strings(message.not_stage, count: message.n_not_stage)
    }
}

extension TransformationParameters {
    init(_ message: Caffe__TransformationParameter) {
        scale = present(message.has_scale, message.scale)
        mirror = present(message.has_mirror, message.mirror != 0)
        cropSize = Int(message.crop_size)
        meanFile = message.mean_file.map { String(cString: $0) }
        meanValues = elements(message.mean_value, count: message.n_mean_value)
    }
}

extension InputParameters {
    init(_ message: Caffe__InputParameter) {
        shapes = messages(message.shape, count: message.n_shape).map { dimensions($0.pointee) }
    }
}

extension ConvolutionParameters {
    init(_ message: Caffe__ConvolutionParameter) {
        outputCount = present(message.has_num_output, Int(message.num_output))
        biasTerm = message.bias_term != 0
        pad = elements(message.pad, count: message.n_pad).map(Int.init)
        kernelSize = elements(message.kernel_size, count: message.n_kernel_size).map(Int.init)
        stride = elements(message.stride, count: message.n_stride).map(Int.init)
        dilation = elements(message.dilation, count: message.n_dilation).map(Int.init)
        padHeight = present(message.has_pad_h, Int(message.pad_h))
        padWidth = present(message.has_pad_w, Int(message.pad_w))
        kernelHeight = present(message.has_kernel_h, Int(message.kernel_h))
        kernelWidth = present(message.has_kernel_w, Int(message.kernel_w))
        strideHeight = present(message.has_stride_h, Int(message.stride_h))
        strideWidth = present(message.has_stride_w, Int(message.stride_w))
        group = Int(message.group)
        axis = Int(message.axis)
    }
}

extension InnerProductParameters {
    init(_ message: Caffe__InnerProductParameter) {
        outputCount = present(message.has_num_output, Int(message.num_output))
        biasTerm = message.bias_term != 0
        axis = Int(message.axis)
        transpose = message.transpose != 0
    }
}

extension PReLUParameters {
    init(_ message: Caffe__PReLUParameter) {
        channelShared = message.channel_shared != 0
    }
}

extension BatchNormParameters {
    init(_ message: Caffe__BatchNormParameter) {
        useGlobalStats = present(message.has_use_global_stats, message.use_global_stats != 0)
        movingAverageFraction = message.moving_average_fraction
        epsilon = message.eps
    }
}

extension ScaleParameters {
    init(_ message: Caffe__ScaleParameter) {
        axis = Int(message.axis)
        axisCount = Int(message.num_axes)
        biasTerm = message.bias_term != 0
    }
}

extension BiasParameters {
    init(_ message: Caffe__BiasParameter) {
        axis = Int(message.axis)
        axisCount = Int(message.num_axes)
    }
}

extension PoolingParameters {
    init(_ message: Caffe__PoolingParameter) {
        switch message.pool {
        case CAFFE__POOLING_PARAMETER__POOL_METHOD__AVE: method = .average
        case CAFFE__POOLING_PARAMETER__POOL_METHOD__STOCHASTIC: method = .stochastic
        default: method = .max
        }
        kernelSize = present(message.has_kernel_size, Int(message.kernel_size))
        kernelHeight = present(message.has_kernel_h, Int(message.kernel_h))
        kernelWidth = present(message.has_kernel_w, Int(message.kernel_w))
        pad = present(message.has_pad, Int(message.pad))
        padHeight = present(message.has_pad_h, Int(message.pad_h))
        padWidth = present(message.has_pad_w, Int(message.pad_w))
        stride = present(message.has_stride, Int(message.stride))
        strideHeight = present(message.has_stride_h, Int(message.stride_h))
        strideWidth = present(message.has_stride_w, Int(message.stride_w))
        global = message.global_pooling != 0
        roundMode = message.round_mode == CAFFE__POOLING_PARAMETER__ROUND_MODE__FLOOR ? .floor : .ceil
    }
}

extension LRNParameters {
    init(_ message: Caffe__LRNParameter) {
        localSize = Int(message.local_size)
        alpha = message.alpha
        beta = message.beta
        normRegion = message.norm_region == CAFFE__LRNPARAMETER__NORM_REGION__WITHIN_CHANNEL ? .withinChannel : .acrossChannels
        k = message.k
    }
}

extension ReLUParameters {
    init(_ message: Caffe__ReLUParameter) {
        negativeSlope = message.negative_slope
    }
}

extension ELUParameters {
    init(_ message: Caffe__ELUParameter) {
        alpha = message.alpha
    }
}

extension PowerParameters {
    init(_ message: Caffe__PowerParameter) {
        power = message.power
        scale = message.scale
        shift = message.shift
    }
}

extension ExpLogParameters {
    init(_ message: Caffe__ExpParameter) {
        base = message.base
        scale = message.scale
        shift = message.shift
    }

    init(_ message: Caffe__LogParameter) {
        base = message.base
        scale = message.scale
        shift = message.shift
    }
}

extension EltwiseParameters {
    init(_ message: Caffe__EltwiseParameter) {
        switch message.operation {
        case CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__PROD: operation = .product
        case CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__MAX: operation = .maximum
        default: operation = .sum
        }
        coefficients = elements(message.coeff, count: message.n_coeff)
    }
}

extension SoftmaxParameters {
    init(_ message: Caffe__SoftmaxParameter) {
        axis = Int(message.axis)
    }
}

extension ConcatParameters {
    init(_ message: Caffe__ConcatParameter) {
        axis = present(message.has_axis, Int(message.axis))
        concatDimension = present(message.has_concat_dim, Int(message.concat_dim))
    }
}

extension SliceParameters {
    init(_ message: Caffe__SliceParameter) {
        axis = present(message.has_axis, Int(message.axis))
        sliceDimension = present(message.has_slice_dim, Int(message.slice_dim))
        slicePoints = elements(message.slice_point, count: message.n_slice_point).map(Int.init)
    }
}

extension FlattenParameters {
    init(_ message: Caffe__FlattenParameter) {
        axis = Int(message.axis)
        endAxis = Int(message.end_axis)
    }
}

extension ReshapeParameters {
    init(_ message: Caffe__ReshapeParameter) {
        shape = message.shape.map { dimensions($0.pointee) } ?? []
        axis = Int(message.axis)
        axisCount = Int(message.num_axes)
    }
}

extension CropParameters {
    init(_ message: Caffe__CropParameter) {
        axis = Int(message.axis)
        offsets = elements(message.offset, count: message.n_offset).map(Int.init)
    }
}

extension PermuteParameters {
    init(_ message: Caffe__PermuteParameter) {
        order = elements(message.order, count: message.n_order).map(Int.init)
    }
}

/// Decodes an optional sub-message with `decode`, or gives nil when the layer lacks it.
func decoded<Message, Value>(_ message: UnsafeMutablePointer<Message>?, _ decode: (Message) -> Value) -> Value? {
    message.map { decode($0.pointee) }
}
