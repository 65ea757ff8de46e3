import GraftModel

/// A constant tensor of the exported graph.
struct Initializer {
    enum Data {
        /// Float values computed by the exporter (a kernel in ONNX's order, a folded constant).
        case floats([Float])
        /// Float values used as the `.graft` file holds them, in place in its mapping.
        case mapped(UnsafeBufferPointer<Float>)
        case int64s([Int64])
    }

    var name: String
    var dims: [Int]
    var data: Data

    /// ONNX's `TensorProto.DataType`: FLOAT 1, INT64 7.
    var dataType: Int {
        if case .int64s = data { return 7 }
        return 1
    }

    var byteCount: Int {
        switch data {
        case let .floats(values): values.count * 4
        case let .mapped(values): values.count * 4
        case let .int64s(values): values.count * 8
        }
    }

    /// Calls `body` with the little-endian bytes of the values.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch data {
        case let .floats(values): try values.withUnsafeBytes(body)
        case let .mapped(values): try body(UnsafeRawBufferPointer(values))
        case let .int64s(values): try values.withUnsafeBytes(body)
        }
    }
}

/// Builds the ONNX graph of one `.graft` graph, node by node.
///
/// graft values keep their *semantic* layout (the source framework's: NHWC for Keras
/// `channels_last`), while ONNX's spatial operators read NCHW. Each graft value is therefore held
/// in ONNX in some axis order: `order[i]` is the semantic axis at ONNX axis `i` (the identity for
/// values as graft sees them, `[0, 3, 1, 2]` for an NHWC value held as NCHW). An op asks for its
/// inputs in the order it needs (`value(_:in:)`), and a Transpose is written only when the order
/// held differs, once per value and order. So an NHWC model has a Transpose at the input edge,
/// convolutions and pooling run in NCHW between, and Transposes come back only where an op
/// counts axes in the semantic layout (Flatten, Reshape, Dense on a 4-D value) or at an output.
final class GraphBuilder {
    let model: ModelFile
    let opset: Int
    private(set) var nodes: [ONNXNode] = []
    private(set) var initializers: [Initializer] = []
    /// Semantic shapes of graft values (batch `nil`).
    private(set) var shapes: [String: [Int?]] = [:]
    /// The ONNX name of each graft value in each axis order it has been written in.
    private var held: [String: [[Int]: String]] = [:]
    /// The order each graft value was first written in.
    private var primary: [String: [Int]] = [:]
    private var valueNames = UniqueNames()
    /// Whether ONNX's shape inference computes other sizes than onnxruntime for some node, so the
    /// outputs' sizes other than the batch are better left open.
    var inferenceDisagrees = false
    /// Graph outputs named so far.
    private var outputsNamed: Set<String> = []
    /// Intermediate values not yet given to a graft value.
    private var temporaries: Set<String> = []
    private var nodeNames = UniqueNames()
    /// Initializers already written for a graft tensor and a transformation of it.
    private var weightCache: [String: String] = [:]

    init(model: ModelFile, opset: Int) {
        self.model = model
        self.opset = opset
    }

    // MARK: Values

    /// Declares a graph input, held in its semantic order under its own name.
    func declareInput(_ input: ValueInfo) {
        let name = valueNames.claim(input.name)
        shapes[input.name] = input.shape
        held[input.name] = [identity(input.shape.count): name]
        primary[input.name] = identity(input.shape.count)
    }

    func shape(of value: String) -> [Int?] { shapes[value] ?? [] }
    func rank(of value: String) -> Int { shape(of: value).count }

    /// The order a value was first written in.
    func order(of value: String) -> [Int] { primary[value] ?? identity(rank(of: value)) }

    /// The ONNX name of graft value `value` with its axes in `order`, transposing if needed.
    func value(_ value: String, in order: [Int]) -> String {
        if let name = held[value]?[order] { return name }
        let source = self.order(of: value)
        guard let sourceName = held[value]?[source] else { preconditionFailure("graft value '\(value)' used before it is defined") }
        // Output axis j holds semantic axis order[j], which sits at source axis inverse[order[j]].
        var inverse = [Int](repeating: 0, count: source.count)
        for (i, axis) in source.enumerated() { inverse[axis] = i }
        let permutation = order.map { inverse[$0] }
        let name = valueNames.claim(order == identity(order.count) ? value : "\(value)/\(orderName(order))")
        emit("Transpose", inputs: [sourceName], outputs: [name], node: "\(value)/to_\(orderName(order))",
             attributes: [.init("perm", .ints(permutation))])
        held[value, default: [:]][order] = name
        return name
    }

    /// The ONNX name of `value` in its semantic order.
    func semantic(_ value: String) -> String { self.value(value, in: identity(rank(of: value))) }

    /// The ONNX name of graph output `value`: its semantic order, under its own name (an Identity
    /// gives it that name when the value is another's alias or is output twice).
    func outputName(_ value: String) -> String {
        let name = semantic(value)
        if name == value && !outputsNamed.contains(name) {
            outputsNamed.insert(name)
            return name
        }
        let output = valueNames.claim(value)
        outputsNamed.insert(output)
        emit("Identity", inputs: [name], outputs: [output], node: "\(value)/output")
        return output
    }

    /// The ONNX name of `value` with its channels at axis 1, for an op of `layout`.
    func channelsFirst(_ value: String, layout: Layout) -> String {
        self.value(value, in: channelsFirstOrder(layout, rank: rank(of: value)))
    }

    /// The ONNX name of `value` in the order it was written in (for ops indifferent to order).
    func anyOrder(_ value: String) -> String { self.value(value, in: order(of: value)) }

    /// Names a new graft value held in `order`, with its semantic `shape`.
    func define(_ value: String, shape: [Int?], order: [Int]) -> String {
        let name = valueNames.claim(order == identity(order.count) ? value : "\(value)/\(orderName(order))")
        shapes[value] = shape
        held[value] = [order: name]
        primary[value] = order
        return name
    }

    /// Makes graft value `value` an alias of an existing ONNX value held in `order`.
    func alias(_ value: String, to name: String, shape: [Int?], order: [Int]) {
        shapes[value] = shape
        held[value] = [order: name]
        primary[value] = order
    }

    /// A fresh name for an intermediate ONNX value.
    func temporary(_ base: String) -> String {
        let name = valueNames.claim(base)
        temporaries.insert(name)
        return name
    }

    /// Defines graft value `value` as ONNX value `result`, held in `order`. When `result` is the
    /// only output of the last node written and no other value uses it yet, it is renamed after
    /// the graft value and its node after the graft node.
    func finish(_ value: String, result: String, shape: [Int?], order: [Int], node: String) {
        if temporaries.contains(result), let last = nodes.indices.last, nodes[last].outputs == [result] {
            temporaries.remove(result)
            let name = define(value, shape: shape, order: order)
            nodes[last].outputs = [name]
            nodes[last].name = nodeNames.claim(node)
        } else {
            temporaries.remove(result)
            alias(value, to: result, shape: shape, order: order)
        }
    }

    /// Makes graft value `value` the same ONNX values as `source` (Identity and other no-ops).
    func alias(_ value: String, of source: String, shape: [Int?]) {
        shapes[value] = shape
        held[value] = held[source]
        primary[value] = primary[source]
    }

    // MARK: Nodes and constants

    /// Appends a node; its name is made unique from `node`.
    func emit(_ opType: String, inputs: [String], outputs: [String], node: String, attributes: [ONNXAttribute] = []) {
        nodes.append(ONNXNode(opType: opType, name: nodeNames.claim(node), inputs: inputs, outputs: outputs, attributes: attributes))
    }

    /// Appends a node with one new output named from `base` and returns that name.
    func emit(_ opType: String, _ inputs: [String], base: String, node: String? = nil, attributes: [ONNXAttribute] = []) -> String {
        let output = temporary(base)
        emit(opType, inputs: inputs, outputs: [output], node: node ?? base, attributes: attributes)
        return output
    }

    /// A float constant.
    func constant(_ values: [Float], dims: [Int], name: String) -> String {
        let unique = temporary(name)
        initializers.append(Initializer(name: unique, dims: dims, data: .floats(values)))
        return unique
    }

    /// A float scalar constant (rank 0).
    func scalar(_ value: Float, name: String) -> String { constant([value], dims: [], name: name) }

    /// An int64 constant vector.
    func integers(_ values: [Int], name: String) -> String {
        let unique = temporary(name)
        initializers.append(Initializer(name: unique, dims: [values.count], data: .int64s(values.map(Int64.init))))
        return unique
    }

    /// A weight of the `.graft` file, as it is (no copy) or through `transform`, written once per
    /// tensor and transformation (`key` names the transformation).
    func weight(_ tensor: String, key: String = "", dims: [Int]? = nil,
                transform: ((UnsafeBufferPointer<Float>, [Int]) -> (values: [Float], dims: [Int]))? = nil) throws -> String {
        let cacheKey = tensor + "\u{0}" + key
        if let name = weightCache[cacheKey] { return name }
        let values = try model.floats(named: tensor)
        let shape = model.tensors[tensor]?.shape ?? [values.count]
        let name = temporary(key.isEmpty ? tensor : "\(tensor)/\(key)")
        if let transform {
            let (out, outDims) = transform(values, shape)
            initializers.append(Initializer(name: name, dims: outDims, data: .floats(out)))
        } else {
            initializers.append(Initializer(name: name, dims: dims ?? shape, data: .mapped(values)))
        }
        weightCache[cacheKey] = name
        return name
    }

    /// The float values of a weight (a copy), for exports that compute with them.
    func weightValues(_ tensor: String) throws -> [Float] { Array(try model.floats(named: tensor)) }

    /// The shape of a weight in the `.graft` file.
    func weightShape(_ tensor: String) -> [Int] { model.tensors[tensor]?.shape ?? [] }
}

// MARK: Axis orders

/// `[0, 1, …, rank − 1]`.
func identity(_ rank: Int) -> [Int] { Array(0..<rank) }

/// The order that puts a `layout` value's channels at axis 1: NHWC held as NCHW, NWC as NCW;
/// the identity for layouts that already have them there.
func channelsFirstOrder(_ layout: Layout, rank: Int) -> [Int] {
    switch layout {
    case .nhwc where rank == 4: [0, 3, 1, 2]
    case .nwc where rank == 3: [0, 2, 1]
    default: identity(rank)
    }
}

private func orderName(_ order: [Int]) -> String {
    switch order {
    case [0, 3, 1, 2]: "nchw"
    case [0, 2, 1]: "ncw"
    case [0, 1, 2, 3]: "nhwc"
    default: "order" + order.map(String.init).joined()
    }
}
