import GraftModel
import GraftSupport

/// One node being converted: its inputs resolved to values, its attributes typed, and errors
/// phrased for it.
struct NodeContext {
    let converter: Converter
    let node: NodeRecord
    /// The graft node name.
    let name: String
    /// The node's position in the ONNX graph.
    let index: Int

    var opType: String { node.opType }
    var opset: Int { converter.opset }

    func unsupported(_ reason: String) -> NodeProblem { .unsupported(reason) }
    func invalid(_ reason: String) -> NodeProblem { .invalid(reason) }

    // MARK: Inputs

    /// Whether input `i` is given (optional inputs may be absent or named "").
    func has(_ i: Int) -> Bool { i < node.inputs.count && !node.inputs[i].isEmpty }

    func input(_ i: Int) throws -> ONNXValue {
        guard has(i) else { throw invalid("input \(i + 1) is missing") }
        guard let value = try converter.value(node.inputs[i]) else {
            throw ONNXImportError.invalidGraph(file: converter.file, reason: "node '\(quoted(name))' reads '\(quoted(node.inputs[i]))', which no earlier node, input or initializer makes")
        }
        return value
    }

    /// Input `i`, which the runtime computes: its graft name and shape.
    func runtime(_ i: Int) throws -> (name: String, shape: [Int]) {
        switch try input(i) {
        case let .runtime(name, shape): return (name, shape)
        case .constant, .batchDependent: throw unsupported("input \(i + 1) is a constant where graft expects a computed value")
        case .flattened: throw unsupported("input \(i + 1) is flattened across the batch axis")
        }
    }

    /// Input `i` when it is known now, nil when it is absent.
    func constant(_ i: Int) throws -> Constant? {
        guard has(i) else { return nil }
        switch try input(i) {
        case let .constant(value): return value
        case .batchDependent: throw unsupported("input \(i + 1) ('\(quoted(node.inputs[i], limit: 60))') depends on the batch size")
        case .runtime, .flattened: throw unsupported("input \(i + 1) ('\(quoted(node.inputs[i], limit: 60))') must be a constant (an initializer or a folded shape)")
        }
    }

    /// Input `i` as a required constant.
    func requiredConstant(_ i: Int, _ what: String) throws -> Constant {
        guard let value = try constant(i) else { throw invalid("\(what) (input \(i + 1)) is missing") }
        return value
    }

    /// Input `i` as known integers (shapes, axes, pads).
    func integers(_ i: Int, _ what: String) throws -> [Int]? {
        guard let value = try constant(i) else { return nil }
        guard let ints = value.ints else {
            if value.isInteger { throw unsupported("\(what) depends on the batch size") }
            throw invalid("\(what) must be integers")
        }
        return ints
    }

    /// Input `i` as floats, nil when absent.
    func floats(_ i: Int, _ what: String) throws -> [Float]? {
        guard let value = try constant(i) else { return nil }
        guard let floats = value.floats else { throw unsupported("\(what) depends on the batch size") }
        return floats
    }

    // MARK: Attributes

    func attribute(_ key: String) -> AttributeValue? { node.attributes[key] }

    func int(_ key: String, default value: Int) throws -> Int {
        guard let attribute = node.attributes[key] else { return value }
        guard case let .int(v) = attribute else { throw invalid("attribute '\(key)' is \(attribute.kind), expected int") }
        return v
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard node.attributes[key] != nil else { return nil }
        return try int(key, default: 0)
    }

    func float(_ key: String, default value: Float) throws -> Float {
        guard let attribute = node.attributes[key] else { return value }
        switch attribute {
        case let .float(v): return v
        case let .int(v): return Float(v)
        default: throw invalid("attribute '\(key)' is \(attribute.kind), expected float")
        }
    }

    func string(_ key: String, default value: String) throws -> String {
        guard let attribute = node.attributes[key] else { return value }
        guard case let .string(v) = attribute else { throw invalid("attribute '\(key)' is \(attribute.kind), expected string") }
        return v
    }

    func ints(_ key: String) throws -> [Int]? {
        guard let attribute = node.attributes[key] else { return nil }
        switch attribute {
        case let .ints(v): return v
        case let .int(v): return [v]
        default: throw invalid("attribute '\(key)' is \(attribute.kind), expected ints")
        }
    }

    func floatList(_ key: String) throws -> [Float]? {
        guard let attribute = node.attributes[key] else { return nil }
        switch attribute {
        case let .floats(v): return v
        case let .float(v): return [v]
        default: throw invalid("attribute '\(key)' is \(attribute.kind), expected floats")
        }
    }

    // MARK: Outputs

    var output: String { node.outputs.first ?? "" }

    /// Fails when an optional output other than the first is read by another node.
    func requireOnlyFirstOutputUsed(_ what: String) throws {
        for extra in node.outputs.dropFirst() where !extra.isEmpty && (converter.consumerCount[extra] ?? 0) > 0 {
            throw unsupported("its output '\(quoted(extra, limit: 60))' (\(what)) is used, which graft does not compute")
        }
    }

    /// `axis` (negative from the end) made non-negative for `rank`, or an invalid-node error.
    func normalizedAxis(_ axis: Int, rank: Int, allowEnd: Bool = false) throws -> Int {
        let limit = rank + (allowEnd ? 1 : 0)
        let value = axis < 0 ? axis + limit : axis
        guard value >= 0, value < limit else { throw invalid("axis \(axis) is out of range for rank \(rank)") }
        return value
    }
}
