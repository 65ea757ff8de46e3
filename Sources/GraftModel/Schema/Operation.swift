/// One op of a graft graph with its typed attributes: the schema every importer writes, the
/// runtime and `graft attach` read, and the graph's JSON coding goes through.
///
/// In the spirit of ONNX's OpSchema, each op's attributes are one type with its defaults and its
/// validation; the formulas that derive shapes from them live next to them
/// (`WindowArithmetic`, `Operation.Convolution.outputSize(for:)`, …), once.
/// `schemas/graft-model.md` is the prose specification and `schemas/graft-graph.schema.json` the
/// JSON Schema of the same vocabulary; a test keeps the three in step.
public enum Operation: Sendable, Hashable {
    // Linear layers with weights.
    case conv2D(Convolution)
    case depthwiseConv2D(Convolution)
    case conv2DTranspose(Convolution)
    case dense(Dense)

    // Normalisation.
    case batchNormalization(BatchNormalization)
    case layerNormalization(LayerNormalization)
    case scale(Scale)
    case rescaling(Rescaling)
    case localResponseNormalization(LocalResponseNormalization)

    // Element-wise functions of one input.
    case activation(Activation)
    case preLU
    case softmax(axis: Int = -1)
    case identity

    // Pooling.
    case maxPooling2D(Pooling)
    case averagePooling2D(Pooling)
    case globalAveragePooling(GlobalPooling)
    case globalMaxPooling(GlobalPooling)

    // Shape and layout.
    case pad(Pad)
    case crop(Crop)
    case upSampling2D(UpSampling)
    case flatten
    case reshape(shape: [Int])
    case transpose(permutation: [Int])
    case slice(axis: Int, slicePoints: [Int] = [])

    // Several inputs.
    case add(coefficients: [Double]? = nil)
    case subtract
    case multiply
    /// The first input divided by the second, elementwise with broadcasting.
    case divide
    case average
    case maximum
    case minimum
    case concatenate(axis: Int = -1)

    /// The op's kind, its name in the JSON.
    public var op: Operator {
        switch self {
        case .conv2D: .conv2D
        case .depthwiseConv2D: .depthwiseConv2D
        case .conv2DTranspose: .conv2DTranspose
        case .dense: .dense
        case .batchNormalization: .batchNormalization
        case .layerNormalization: .layerNormalization
        case .scale: .scale
        case .rescaling: .rescaling
        case .localResponseNormalization: .localResponseNormalization
        case .activation: .activation
        case .preLU: .preLU
        case .softmax: .softmax
        case .identity: .identity
        case .maxPooling2D: .maxPooling2D
        case .averagePooling2D: .averagePooling2D
        case .globalAveragePooling: .globalAveragePooling
        case .globalMaxPooling: .globalMaxPooling
        case .pad: .pad
        case .crop: .crop
        case .upSampling2D: .upSampling2D
        case .flatten: .flatten
        case .reshape: .reshape
        case .transpose: .transpose
        case .slice: .slice
        case .add: .add
        case .subtract: .subtract
        case .multiply: .multiply
        case .divide: .divide
        case .average: .average
        case .maximum: .maximum
        case .minimum: .minimum
        case .concatenate: .concatenate
        }
    }

    /// The convolution attributes of Conv2D, DepthwiseConv2D and Conv2DTranspose.
    public var convolution: Convolution? {
        switch self {
        case let .conv2D(c), let .depthwiseConv2D(c), let .conv2DTranspose(c): c
        default: nil
        }
    }

    /// The activation a convolution or Dense applies after its bias, or an Activation node's.
    public var activation: Activation? {
        switch self {
        case let .conv2D(c), let .depthwiseConv2D(c), let .conv2DTranspose(c): c.activation
        case let .dense(d): d.activation
        case let .activation(a): a
        default: nil
        }
    }

    /// The pooling attributes of MaxPooling2D and AveragePooling2D.
    public var pooling: Pooling? {
        switch self {
        case let .maxPooling2D(p), let .averagePooling2D(p): p
        default: nil
        }
    }

    /// The spatial layout of an op that has one (convolutions, pooling, padding, …).
    public var layout: Layout? {
        switch self {
        case let .conv2D(c), let .depthwiseConv2D(c), let .conv2DTranspose(c): c.layout
        case let .maxPooling2D(p), let .averagePooling2D(p): p.layout
        case let .globalAveragePooling(g), let .globalMaxPooling(g): g.layout
        case let .localResponseNormalization(l): l.layout
        case let .pad(p): p.layout
        case let .crop(c): if case let .sides(layout, _) = c { layout } else { nil }
        case let .upSampling2D(u): u.layout
        default: nil
        }
    }

    // MARK: JSON

    /// Decodes the attributes of a node of kind `op`, with the schema's defaults, rejecting
    /// unknown attributes and invalid values with errors that name `node`.
    public static func decode(_ op: Operator, attributes: [String: JSONValue], node: String) throws(AttributeError) -> Operation {
        var reader = AttributeReader(node: node, op: op, values: attributes)
        let operation: Operation
        switch op {
        case .conv2D: operation = .conv2D(try Convolution(op, &reader))
        case .depthwiseConv2D: operation = .depthwiseConv2D(try Convolution(op, &reader))
        case .conv2DTranspose: operation = .conv2DTranspose(try Convolution(op, &reader))
        case .dense: operation = .dense(Dense(activation: try Activation.read("activation", from: &reader, parameters: false)))
        case .batchNormalization: operation = .batchNormalization(try BatchNormalization(&reader))
        case .layerNormalization: operation = .layerNormalization(try LayerNormalization(&reader))
        case .scale: operation = .scale(try Scale(&reader))
        case .rescaling: operation = .rescaling(Rescaling(scale: try reader.double("scale", default: 1), offset: try reader.double("offset", default: 0)))
        case .localResponseNormalization: operation = .localResponseNormalization(try LocalResponseNormalization(&reader))
        case .activation: operation = .activation(try Activation.read("function", from: &reader, parameters: true))
        case .preLU: operation = .preLU
        case .softmax: operation = .softmax(axis: try reader.int("axis", default: -1))
        case .identity: operation = .identity
        case .maxPooling2D: operation = .maxPooling2D(try Pooling(op, &reader))
        case .averagePooling2D: operation = .averagePooling2D(try Pooling(op, &reader))
        case .globalAveragePooling: operation = .globalAveragePooling(try GlobalPooling(&reader))
        case .globalMaxPooling: operation = .globalMaxPooling(try GlobalPooling(&reader))
        case .pad: operation = .pad(try Pad(&reader))
        case .crop: operation = .crop(try Crop(&reader))
        case .upSampling2D: operation = .upSampling2D(try UpSampling(&reader))
        case .flatten: operation = .flatten
        case .reshape:
            let shape = try reader.ints("shape")
            guard shape.allSatisfy({ $0 >= 0 || $0 == -1 }), shape.filter({ $0 == -1 }).count <= 1 else {
                throw reader.invalid("shape", "is \(shape), expected sizes with at most one -1")
            }
            operation = .reshape(shape: shape)
        case .transpose:
            let permutation = try reader.ints("permutation")
            guard permutation.sorted() == Array(0..<permutation.count) else {
                throw reader.invalid("permutation", "is \(permutation), not a permutation of 0..<\(permutation.count)")
            }
            operation = .transpose(permutation: permutation)
        case .slice:
            let axis = try reader.int("axis")
            let points = try reader.ints("slice_points", default: [])
            guard zip(points, points.dropFirst()).allSatisfy({ $0.0 < $0.1 }), points.allSatisfy({ $0 > 0 }) else {
                throw reader.invalid("slice_points", "is \(points), expected increasing positive indices")
            }
            operation = .slice(axis: axis, slicePoints: points)
        case .add: operation = .add(coefficients: try reader.optionalDoubles("coefficients"))
        case .subtract: operation = .subtract
        case .multiply: operation = .multiply
        case .divide: operation = .divide
        case .average: operation = .average
        case .maximum: operation = .maximum
        case .minimum: operation = .minimum
        case .concatenate: operation = .concatenate(axis: try reader.int("axis", default: -1))
        }
        try reader.finish()
        return operation
    }

    /// The node's JSON attributes in the schema's spelling. Every attribute is written out, except
    /// optional ones that are absent and activation parameters at their defaults.
    public var attributes: [String: JSONValue] {
        var writer = AttributeWriter()
        switch self {
        case let .conv2D(c), let .depthwiseConv2D(c), let .conv2DTranspose(c): c.encode(op, into: &writer)
        case let .dense(d): writer.set("activation", d.activation.function.rawValue)
        case let .batchNormalization(b):
            writer.set("axis", b.axis)
            writer.set("epsilon", b.epsilon)
        case let .layerNormalization(l):
            writer.set("axes", l.axes)
            writer.set("epsilon", l.epsilon)
        case let .scale(s):
            writer.set("axis", s.axis)
            writer.set("num_axes", s.axisCount)
        case let .rescaling(r):
            writer.set("scale", r.scale)
            writer.set("offset", r.offset)
        case let .localResponseNormalization(l): l.encode(into: &writer)
        case let .activation(a):
            writer.set("function", a.function.rawValue)
            a.encodeParameters(into: &writer)
        case .preLU, .identity, .flatten, .subtract, .multiply, .divide, .average, .maximum, .minimum: break
        case let .softmax(axis), let .concatenate(axis): writer.set("axis", axis)
        case let .maxPooling2D(p), let .averagePooling2D(p): p.encode(op, into: &writer)
        case let .globalAveragePooling(g), let .globalMaxPooling(g):
            writer.set("layout", g.layout.rawValue)
            writer.set("keepdims", g.keepsDimensions)
        case let .pad(p):
            writer.set("layout", p.layout.rawValue)
            writer.set("padding", p.padding.list)
            writer.set("value", p.value)
        case let .crop(c): c.encode(into: &writer)
        case let .upSampling2D(u):
            writer.set("layout", u.layout.rawValue)
            writer.set("size", u.size)
            writer.set("interpolation", u.interpolation.rawValue)
        case let .reshape(shape): writer.set("shape", shape)
        case let .transpose(permutation): writer.set("permutation", permutation)
        case let .slice(axis, points):
            writer.set("axis", axis)
            writer.set("slice_points", points)
        case let .add(coefficients):
            if let coefficients { writer.set("coefficients", .array(coefficients.map { .number($0) })) }
        }
        return writer.values
    }

    /// Checks what decoding checks, for a value built in code (an importer's): encoding and
    /// decoding again must give the same operation.
    public func validate(node: String) throws(AttributeError) {
        let decoded = try Operation.decode(op, attributes: attributes, node: node)
        guard decoded == self else {
            throw .invalid(node: node, attribute: "(all)", reason: "do not survive encoding: \(attributes)")
        }
    }
}

/// The attribute names of every op, in the order the spec lists them; what a test compares
/// with `schemas/graft-model.md` and `schemas/graft-graph.schema.json`.
public enum OpSchema {
    public static func attributeNames(of op: Operator) -> [String] {
        switch op {
        case .conv2D: ["layout", "kernel_size", "strides", "dilations", "padding", "groups", "activation"]
        case .depthwiseConv2D: ["layout", "kernel_size", "strides", "dilations", "padding", "depth_multiplier", "activation"]
        case .conv2DTranspose: ["layout", "kernel_size", "strides", "dilations", "padding", "groups", "output_padding", "activation"]
        case .dense: ["activation"]
        case .batchNormalization: ["axis", "epsilon"]
        case .layerNormalization: ["axes", "epsilon"]
        case .scale: ["axis", "num_axes"]
        case .rescaling: ["scale", "offset"]
        case .localResponseNormalization: ["layout", "size", "alpha", "beta", "k", "region"]
        case .activation: ["function"] + Activation.Function.allCases.flatMap(\.parameterNames).uniqued()
        case .preLU, .identity, .flatten, .subtract, .multiply, .divide, .average, .maximum, .minimum: []
        case .softmax, .concatenate: ["axis"]
        case .maxPooling2D: ["layout", "pool_size", "strides", "padding", "rounding"]
        case .averagePooling2D: ["layout", "pool_size", "strides", "padding", "rounding", "divisor"]
        case .globalAveragePooling, .globalMaxPooling: ["layout", "keepdims"]
        case .pad: ["layout", "padding", "value"]
        case .crop: ["layout", "cropping", "axis", "offsets"]
        case .upSampling2D: ["layout", "size", "interpolation"]
        case .reshape: ["shape"]
        case .transpose: ["permutation"]
        case .slice: ["axis", "slice_points"]
        case .add: ["coefficients"]
        }
    }
}

extension Array where Element: Hashable {
    fileprivate func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
