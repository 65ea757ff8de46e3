import GraftModel

/// The conversion table: one entry per ONNX op graft converts, in the standard domain (opsets
/// 11 to 21). Each entry turns one node (whose inputs are not all known tensors: those are
/// folded first, `ConstantFolding`) into graft nodes; the functions live in `Conversions/`,
/// one file per op family.
enum NodeConversions {
    typealias Conversion = @Sendable (NodeContext) throws -> Void

    static let table: [String: Conversion] = [
        // Convolutions and products.
        "Conv": Linear.convolution,
        "ConvTranspose": Linear.transposedConvolution,
        "Gemm": Linear.gemm,
        "MatMul": Linear.matrixProduct,
        // Normalisation.
        "BatchNormalization": Normalization.batch,
        "LayerNormalization": Normalization.layer,
        "Softmax": Normalization.softmax,
        "LRN": Normalization.localResponse,
        // Element-wise functions.
        "Relu": { try Elementwise.activation($0, .rectifier) },
        "Sigmoid": { try Elementwise.activation($0, .sigmoid) },
        "Tanh": { try Elementwise.activation($0, .tanh) },
        "HardSwish": { try Elementwise.activation($0, .hardSwish) },
        "Softplus": { try Elementwise.activation($0, .softplus) },
        "Softsign": { try Elementwise.activation($0, .softsign) },
        "Abs": { try Elementwise.activation($0, .abs) },
        "Exp": { try Elementwise.activation($0, .exponential) },
        "Log": { try Elementwise.activation($0, .log()) },
        "Mish": { try Elementwise.activation($0, .mish) },
        "Sqrt": { try Elementwise.activation($0, .power(power: 0.5)) },
        "Reciprocal": { try Elementwise.activation($0, .power(power: -1)) },
        "Neg": { try Elementwise.activation($0, .power(power: 1, scale: -1)) },
        "LeakyRelu": Elementwise.leakyReLU,
        "ThresholdedRelu": { try Elementwise.activation($0, .relu(threshold: Double(try $0.float("alpha", default: 1)))) },
        "Elu": Elementwise.elu,
        "Selu": Elementwise.selu,
        "HardSigmoid": Elementwise.hardSigmoid,
        "Gelu": Elementwise.gelu,
        "Clip": Elementwise.clip,
        "PRelu": Elementwise.parametricReLU,
        "Pow": Elementwise.power,
        "Add": Elementwise.arithmetic,
        "Sub": Elementwise.arithmetic,
        "Mul": Elementwise.arithmetic,
        "Div": Elementwise.arithmetic,
        "Max": Elementwise.extremum,
        "Min": Elementwise.extremum,
        "Identity": Elementwise.identity,
        "Dropout": Elementwise.identity,
        "Cast": Elementwise.cast,
        // Pooling.
        "MaxPool": Pooling.window,
        "AveragePool": Pooling.window,
        "GlobalAveragePool": Pooling.global,
        "GlobalMaxPool": Pooling.global,
        "ReduceMean": Pooling.reduce,
        "ReduceMax": Pooling.reduce,
        // Shape and layout.
        "Flatten": ShapeOps.flatten,
        "Reshape": ShapeOps.reshape,
        "Squeeze": ShapeOps.squeeze,
        "Unsqueeze": ShapeOps.squeeze,
        "Transpose": ShapeOps.transpose,
        "Concat": ShapeOps.concatenate,
        "Split": ShapeOps.split,
        "Slice": ShapeOps.slice,
        "Pad": ShapeOps.pad,
        "Resize": ShapeOps.resize,
        "Gather": ShapeOps.gather,
        "Upsample": ShapeOps.resize,
    ]

    /// Whether graft converts (or folds) nodes of this op at all.
    static func isKnown(_ node: NodeRecord) -> Bool {
        node.domain.isEmpty && (table[node.opType] != nil || ConstantFolding.foldable.contains(node.opType))
    }

    static func convert(_ c: NodeContext) throws {
        guard let conversion = table[c.opType] else {
            throw c.unsupported("graft folds it only when its inputs are constants")
        }
        try conversion(c)
    }
}
