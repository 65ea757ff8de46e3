import GraftProtobuf
internal import CGraftCaffeProto
internal import CGraftProtobufC
/// One layer of a Caffe net, the same whether it came from a current `layer` or a legacy V1
/// `layers` entry: V1 type enums are upgraded to the current type names, and the parameter
/// messages (which V1 declares under other field numbers but with the same types) are shared.
///
/// Parameters are plain Swift values (`LayerParameters.swift`), decoded once from the parsed
/// message. The messages whose absence the converter reports are optional; the others hold
/// Caffe's defaults when the prototxt omits them.
struct LayerDefinition: Sendable {
    var name: String
    /// The current Caffe type name (`Convolution`, `InnerProduct`, …).
    var type: String
    var bottoms: [String]
    var tops: [String]
    /// `true` when the layer came from a V1 `layers` entry.
    var isLegacy: Bool
    var include: [NetStateRule] = []
    var exclude: [NetStateRule] = []

    /// A data layer's preprocessing, when given.
    var transform: TransformationParameters?
    var batchNorm = BatchNormParameters()
    var bias = BiasParameters()
    var concat = ConcatParameters()
    var convolution: ConvolutionParameters?
    var crop = CropParameters()
    var eltwise = EltwiseParameters()
    var elu = ELUParameters()
    var exp = ExpLogParameters()
    var flatten = FlattenParameters()
    var innerProduct: InnerProductParameters?
    var input = InputParameters()
    var log = ExpLogParameters()
    var lrn = LRNParameters()
    var permute = PermuteParameters()
    var pooling: PoolingParameters?
    var power = PowerParameters()
    var prelu = PReLUParameters()
    var relu = ReLUParameters()
    var reshape = ReshapeParameters()
    var scale = ScaleParameters()
    var slice = SliceParameters()
    var softmax = SoftmaxParameters()
}

/// A prototxt, parsed: the net's name, its declared inputs and its layers in order.
final class NetDefinition {
    let file: String
    let name: String
    /// Inputs declared at net level (`input` with `input_dim` or `input_shape`).
    let declaredInputs: [(name: String, shape: [Int]?)]
    let layers: [LayerDefinition]

    init(text: String, file: String) throws(CaffeImportError) {
        self.file = file
        // Everything is decoded into Swift values below; the C message lives until then only.
        let message = try parseTextMessage(text, file: file, descriptor: graft_net_parameter_descriptor(),
                                           as: Caffe__NetParameter.self)
        defer { withExtendedLifetime(message) {} }
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
        var definition = LayerDefinition(
            name: string(layer.name), type: string(layer.type),
            bottoms: strings(layer.bottom, count: layer.n_bottom), tops: strings(layer.top, count: layer.n_top),
            isLegacy: false,
            include: messages(layer.include, count: layer.n_include).map { NetStateRule($0.pointee) },
            exclude: messages(layer.exclude, count: layer.n_exclude).map { NetStateRule($0.pointee) })
        definition.transform = decoded(layer.transform_param, TransformationParameters.init)
        definition.batchNorm = decoded(layer.batch_norm_param, BatchNormParameters.init) ?? definition.batchNorm
        definition.bias = decoded(layer.bias_param, BiasParameters.init) ?? definition.bias
        definition.concat = decoded(layer.concat_param, ConcatParameters.init) ?? definition.concat
        definition.convolution = decoded(layer.convolution_param, ConvolutionParameters.init)
        definition.crop = decoded(layer.crop_param, CropParameters.init) ?? definition.crop
        definition.eltwise = decoded(layer.eltwise_param, EltwiseParameters.init) ?? definition.eltwise
        definition.elu = decoded(layer.elu_param, ELUParameters.init) ?? definition.elu
        definition.exp = decoded(layer.exp_param, ExpLogParameters.init) ?? definition.exp
        definition.flatten = decoded(layer.flatten_param, FlattenParameters.init) ?? definition.flatten
        definition.innerProduct = decoded(layer.inner_product_param, InnerProductParameters.init)
        definition.input = decoded(layer.input_param, InputParameters.init) ?? definition.input
        definition.log = decoded(layer.log_param, ExpLogParameters.init) ?? definition.log
        definition.lrn = decoded(layer.lrn_param, LRNParameters.init) ?? definition.lrn
        definition.permute = decoded(layer.permute_param, PermuteParameters.init) ?? definition.permute
        definition.pooling = decoded(layer.pooling_param, PoolingParameters.init)
        definition.power = decoded(layer.power_param, PowerParameters.init) ?? definition.power
        definition.prelu = decoded(layer.prelu_param, PReLUParameters.init) ?? definition.prelu
        definition.relu = decoded(layer.relu_param, ReLUParameters.init) ?? definition.relu
        definition.reshape = decoded(layer.reshape_param, ReshapeParameters.init) ?? definition.reshape
        definition.scale = decoded(layer.scale_param, ScaleParameters.init) ?? definition.scale
        definition.slice = decoded(layer.slice_param, SliceParameters.init) ?? definition.slice
        definition.softmax = decoded(layer.softmax_param, SoftmaxParameters.init) ?? definition.softmax
        return definition
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
        var definition = LayerDefinition(
            name: string(layer.name), type: legacyTypeName(Int32(bitPattern: layer.type.rawValue)),
            bottoms: strings(layer.bottom, count: layer.n_bottom), tops: strings(layer.top, count: layer.n_top),
            isLegacy: true,
            include: messages(layer.include, count: layer.n_include).map { NetStateRule($0.pointee) },
            exclude: messages(layer.exclude, count: layer.n_exclude).map { NetStateRule($0.pointee) })
        definition.transform = decoded(layer.transform_param, TransformationParameters.init)
        definition.concat = decoded(layer.concat_param, ConcatParameters.init) ?? definition.concat
        definition.convolution = decoded(layer.convolution_param, ConvolutionParameters.init)
        definition.eltwise = decoded(layer.eltwise_param, EltwiseParameters.init) ?? definition.eltwise
        definition.exp = decoded(layer.exp_param, ExpLogParameters.init) ?? definition.exp
        definition.innerProduct = decoded(layer.inner_product_param, InnerProductParameters.init)
        definition.lrn = decoded(layer.lrn_param, LRNParameters.init) ?? definition.lrn
        definition.pooling = decoded(layer.pooling_param, PoolingParameters.init)
        definition.power = decoded(layer.power_param, PowerParameters.init) ?? definition.power
        definition.relu = decoded(layer.relu_param, ReLUParameters.init) ?? definition.relu
        definition.slice = decoded(layer.slice_param, SliceParameters.init) ?? definition.slice
        definition.softmax = decoded(layer.softmax_param, SoftmaxParameters.init) ?? definition.softmax
        return definition
    }
}

extension LayerDefinition {
    /// Whether Caffe includes this layer in a net built in `state` (Caffe's
    /// `Net::FilterNet`): with include rules, only if one is met; otherwise unless an exclude
    /// rule is met.
    func isIncluded(in state: NetState) -> Bool {
        if !include.isEmpty { return include.contains { $0.isMet(by: state) } }
        return !exclude.contains { $0.isMet(by: state) }
    }

    /// Whether the layer is in the net graft converts: TEST phase, level 0, no stages.
    var isInTestNet: Bool { isIncluded(in: .deployment) }
}
