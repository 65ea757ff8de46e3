internal import CaffeProto
internal import CProtobufC

/// One layer of a Caffe net, the same whether it came from a current `layer` or a legacy V1
/// `layers` entry: V1 type enums are upgraded to the current type names, and the parameter
/// messages (which V1 declares under other field numbers but with the same types) are shared.
///
/// The pointers live as long as the `NetDefinition` that made this value.
struct LayerDefinition {
    var name: String
    /// The current Caffe type name (`Convolution`, `InnerProduct`, …).
    var type: String
    var bottoms: [String]
    var tops: [String]
    /// `true` when the layer came from a V1 `layers` entry.
    var isLegacy: Bool
    var include: [UnsafeMutablePointer<Caffe__NetStateRule>] = []
    var exclude: [UnsafeMutablePointer<Caffe__NetStateRule>] = []

    var transform: UnsafeMutablePointer<Caffe__TransformationParameter>?
    var batchNorm: UnsafeMutablePointer<Caffe__BatchNormParameter>?
    var bias: UnsafeMutablePointer<Caffe__BiasParameter>?
    var concat: UnsafeMutablePointer<Caffe__ConcatParameter>?
    var convolution: UnsafeMutablePointer<Caffe__ConvolutionParameter>?
    var crop: UnsafeMutablePointer<Caffe__CropParameter>?
    var eltwise: UnsafeMutablePointer<Caffe__EltwiseParameter>?
    var elu: UnsafeMutablePointer<Caffe__ELUParameter>?
    var exp: UnsafeMutablePointer<Caffe__ExpParameter>?
    var flatten: UnsafeMutablePointer<Caffe__FlattenParameter>?
    var innerProduct: UnsafeMutablePointer<Caffe__InnerProductParameter>?
    var input: UnsafeMutablePointer<Caffe__InputParameter>?
    var log: UnsafeMutablePointer<Caffe__LogParameter>?
    var lrn: UnsafeMutablePointer<Caffe__LRNParameter>?
    var permute: UnsafeMutablePointer<Caffe__PermuteParameter>?
    var pooling: UnsafeMutablePointer<Caffe__PoolingParameter>?
    var power: UnsafeMutablePointer<Caffe__PowerParameter>?
    var prelu: UnsafeMutablePointer<Caffe__PReLUParameter>?
    var relu: UnsafeMutablePointer<Caffe__ReLUParameter>?
    var reshape: UnsafeMutablePointer<Caffe__ReshapeParameter>?
    var scale: UnsafeMutablePointer<Caffe__ScaleParameter>?
    var slice: UnsafeMutablePointer<Caffe__SliceParameter>?
    var softmax: UnsafeMutablePointer<Caffe__SoftmaxParameter>?
}

/// A prototxt, parsed: the net's name, its declared inputs and its layers in order.
final class NetDefinition {
    let file: String
    let name: String
    /// Inputs declared at net level (`input` with `input_dim` or `input_shape`).
    let declaredInputs: [(name: String, shape: [Int]?)]
    let layers: [LayerDefinition]
    private let message: UnpackedMessage<Caffe__NetParameter>

    init(text: String, file: String) throws(CaffeImportError) {
        self.file = file
        message = try parseTextMessage(text, file: file, descriptor: graft_net_parameter_descriptor(),
                                       as: Caffe__NetParameter.self)
        let net = message.pointer.pointee
        name = string(net.name)

        let inputNames = strings(net.input, count: net.n_input)
        let dims = elements(net.input_dim, count: net.n_input_dim).map(Int.init)
        let shapes = messages(net.input_shape, count: net.n_input_shape).map { elements($0.pointee.dim, count: $0.pointee.n_dim).map(Int.init) }
        var inputs: [(String, [Int]?)] = []
        if !dims.isEmpty {
            guard dims.count == 4 * inputNames.count else {
                throw .inputShape(file: file, reason: "\(inputNames.count) input\(inputNames.count == 1 ? "" : "s") but \(dims.count) input_dim values (4 per input expected)")
            }
            for (index, input) in inputNames.enumerated() { inputs.append((input, Array(dims[(4 * index)..<(4 * index + 4)]))) }
        } else if !shapes.isEmpty {
            guard shapes.count == inputNames.count || shapes.count == 1 else {
                throw .inputShape(file: file, reason: "\(inputNames.count) inputs but \(shapes.count) input_shape entries")
            }
            for (index, input) in inputNames.enumerated() { inputs.append((input, shapes[shapes.count == 1 ? 0 : index])) }
        } else {
            for input in inputNames { inputs.append((input, nil)) }
        }
        declaredInputs = inputs

        var layers: [LayerDefinition] = []
        for layer in messages(net.layers, count: net.n_layers) { layers.append(NetDefinition.upgrade(layer.pointee)) }
        for layer in messages(net.layer, count: net.n_layer) { layers.append(NetDefinition.definition(of: layer.pointee)) }
        self.layers = layers
    }

    /// A current-format layer.
    static func definition(of layer: Caffe__LayerParameter) -> LayerDefinition {
        LayerDefinition(
            name: string(layer.name), type: string(layer.type),
            bottoms: strings(layer.bottom, count: layer.n_bottom), tops: strings(layer.top, count: layer.n_top),
            isLegacy: false,
            include: messages(layer.include, count: layer.n_include), exclude: messages(layer.exclude, count: layer.n_exclude),
            transform: layer.transform_param, batchNorm: layer.batch_norm_param, bias: layer.bias_param,
            concat: layer.concat_param, convolution: layer.convolution_param, crop: layer.crop_param,
            eltwise: layer.eltwise_param, elu: layer.elu_param, exp: layer.exp_param, flatten: layer.flatten_param,
            innerProduct: layer.inner_product_param, input: layer.input_param, log: layer.log_param, lrn: layer.lrn_param,
            permute: layer.permute_param, pooling: layer.pooling_param, power: layer.power_param, prelu: layer.prelu_param,
            relu: layer.relu_param, reshape: layer.reshape_param, scale: layer.scale_param, slice: layer.slice_param,
            softmax: layer.softmax_param)
    }

    /// The current type names of the V1 `LayerType` values, as Caffe's own upgrade names them.
    static let legacyTypeNames: [String: String] = [
        "ABSVAL": "AbsVal", "ACCURACY": "Accuracy", "ARGMAX": "ArgMax", "BNLL": "BNLL", "CONCAT": "Concat",
        "CONTRASTIVE_LOSS": "ContrastiveLoss", "CONVOLUTION": "Convolution", "DATA": "Data",
        "DECONVOLUTION": "Deconvolution", "DROPOUT": "Dropout", "DUMMY_DATA": "DummyData",
        "EUCLIDEAN_LOSS": "EuclideanLoss", "ELTWISE": "Eltwise", "EXP": "Exp", "FLATTEN": "Flatten",
        "HDF5_DATA": "HDF5Data", "HDF5_OUTPUT": "HDF5Output", "HINGE_LOSS": "HingeLoss", "IM2COL": "Im2col",
        "IMAGE_DATA": "ImageData", "INFOGAIN_LOSS": "InfogainLoss", "INNER_PRODUCT": "InnerProduct", "LRN": "LRN",
        "MEMORY_DATA": "MemoryData", "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss", "MVN": "MVN",
        "POOLING": "Pooling", "POWER": "Power", "RELU": "ReLU", "SIGMOID": "Sigmoid",
        "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss", "SILENCE": "Silence", "SOFTMAX": "Softmax",
        "SOFTMAX_LOSS": "SoftmaxWithLoss", "SPLIT": "Split", "SLICE": "Slice", "TANH": "TanH",
        "WINDOW_DATA": "WindowData", "THRESHOLD": "Threshold",
    ]

    /// The current type name of a V1 layer type value (`V1:<number>` for one this schema lacks).
    static func legacyTypeName(_ value: Int32) -> String {
        let name = protobuf_c_enum_descriptor_get_value(graft_v1_layer_type_descriptor(), value).map { String(cString: $0.pointee.name) }
        guard let name else { return "V1:\(value)" }
        return legacyTypeNames[name] ?? name
    }

    /// A V1 layer upgraded in meaning to a current one.
    static func upgrade(_ layer: Caffe__V1LayerParameter) -> LayerDefinition {
        LayerDefinition(
            name: string(layer.name), type: legacyTypeName(Int32(bitPattern: layer.type.rawValue)),
            bottoms: strings(layer.bottom, count: layer.n_bottom), tops: strings(layer.top, count: layer.n_top),
            isLegacy: true,
            include: messages(layer.include, count: layer.n_include), exclude: messages(layer.exclude, count: layer.n_exclude),
            transform: layer.transform_param, concat: layer.concat_param, convolution: layer.convolution_param,
            eltwise: layer.eltwise_param, exp: layer.exp_param, innerProduct: layer.inner_product_param,
            lrn: layer.lrn_param, pooling: layer.pooling_param, power: layer.power_param, relu: layer.relu_param,
            slice: layer.slice_param, softmax: layer.softmax_param)
    }
}

extension LayerDefinition {
    /// Whether Caffe includes this layer in a TEST-phase net at level 0 with no stages
    /// (Caffe's `Net::StateMeetsRule`): with include rules, only if one is met; otherwise
    /// unless an exclude rule is met.
    var isInTestNet: Bool {
        func meets(_ rule: Caffe__NetStateRule) -> Bool {
            if rule.has_phase != 0 && rule.phase != CAFFE__PHASE__TEST { return false }
            if rule.has_min_level != 0 && 0 < rule.min_level { return false }
            if rule.has_max_level != 0 && 0 > rule.max_level { return false }
            if rule.n_stage > 0 { return false }
            return true
        }
        if !include.isEmpty { return include.contains { meets($0.pointee) } }
        return !exclude.contains { meets($0.pointee) }
    }
}
