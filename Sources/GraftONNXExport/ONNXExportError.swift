public import GraftSupport

/// Why a `.graft` model cannot be written as ONNX.
public enum ONNXExportError: GraftError, Equatable {
    /// An operator set outside the range the exporter writes.
    case unsupportedOpset(requested: Int, supported: ClosedRange<Int>)
    /// Nodes the exporter cannot express, every one listed: name, op and reason.
    case unsupportedNodes(file: String, nodes: [String])
    /// An output asked for that is neither a node nor a value of the graph.
    case unknownValue(file: String, name: String)

    public var exitStatus: ExitStatus {
        switch self {
        case .unsupportedOpset: .usage
        case .unsupportedNodes: .dataError
        case .unknownValue: .usage
        }
    }

    public var description: String {
        switch self {
        case let .unsupportedOpset(requested, supported):
            "cannot write ONNX opset \(requested): graft writes opsets \(supported.lowerBound) to \(supported.upperBound)"
        case let .unsupportedNodes(file, nodes):
            "'\(file)' has \(nodes.count) node\(nodes.count == 1 ? "" : "s") graft cannot write as ONNX: \(nodes.joined(separator: ", "))"
        case let .unknownValue(file, name):
            "'\(file)' has no node or value named '\(quoted(name))'"
        }
    }
}

/// Why one node cannot be exported; collected for every node before one error is thrown.
struct ExportProblem: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}
