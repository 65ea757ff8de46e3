public import GraftModel
public import GraftSupport
/// Why an ONNX model could not be converted. Each case names the file and the node, tensor or
/// field at fault; every case means bad or unsupported data (exit status 65).
public enum ONNXImportError: GraftError, Equatable {
    /// The file is not an ONNX model (no `ModelProto` with a graph).
    case notONNX(file: String)
    /// The bytes stop being a protobuf message at `offset` (a cut-off or damaged file).
    case malformed(file: String, offset: Int, reason: String)
    /// protobuf-c refused a part of the model (a field whose wire type does not match the
    /// specification's declaration).
    case undecodable(file: String, part: String)
    /// The model's structure is invalid: a value read before it is made, a duplicate name, a
    /// missing input.
    case invalidGraph(file: String, reason: String)
    /// A node is invalid for ONNX itself (a missing input, an attribute of the wrong type, shapes
    /// that do not fit).
    case invalidNode(file: String, node: String, op: String, reason: String)
    /// A tensor (an initializer or a Constant's value) is inconsistent: its data does not hold
    /// what its dims claim, or its external data cannot be read.
    case badTensor(file: String, tensor: String, reason: String)
    /// The model imports an operator set graft does not convert.
    case unsupportedOpset(file: String, domain: String, version: Int)
    /// The model's inputs cannot be used (not float, open sizes other than the batch).
    case unsupportedInput(file: String, input: String, reason: String)
    /// Every node graft cannot convert, with its op and why (`kind` is the ONNX op type).
    case unsupportedNodes(file: String, nodes: [UnsupportedLayer])

    public var exitStatus: ExitStatus { .dataError }

    public var description: String {
        switch self {
        case let .notONNX(file):
            "'\(file)' is not an ONNX model (expected a binary ModelProto with a graph)"
        case let .malformed(file, offset, reason):
            "'\(file)' is not a readable ONNX model: \(reason) at byte \(offset)"
        case let .undecodable(file, part):
            "'\(file)' cannot be decoded as an ONNX model: protobuf-c refused \(part)"
        case let .invalidGraph(file, reason):
            "'\(file)': the graph is invalid: \(reason)"
        case let .invalidNode(file, node, op, reason):
            "'\(file)': node '\(quoted(node))' (\(quoted(op, limit: 40))) is invalid: \(reason)"
        case let .badTensor(file, tensor, reason):
            "'\(file)': tensor '\(quoted(tensor))' \(reason)"
        case let .unsupportedOpset(file, domain, version):
            "'\(file)' imports operator set \(domain.isEmpty ? "ai.onnx" : quoted(domain, limit: 40)) version \(version); graft converts ai.onnx versions \(ONNXImporter.supportedOpsets.lowerBound) to \(ONNXImporter.supportedOpsets.upperBound)"
        case let .unsupportedInput(file, input, reason):
            "'\(file)': input '\(quoted(input))' \(reason)"
        case let .unsupportedNodes(file, nodes):
            "'\(file)' has \(nodes.count) node\(nodes.count == 1 ? "" : "s") graft cannot convert: " + nodes.listedForMessage
        }
    }
}

/// A shape as `[a, b, c]`.
func describe(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
