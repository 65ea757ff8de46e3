public import GraftSupport
/// Errors from compiling a model for the CPU or running it on an input.
///
/// Every case names what the user can fix: the input, the node and its attribute or weight, the
/// expected and the actual shape. All of them are bad or unsupported data (exit status 65).
public enum RuntimeError: GraftError, Equatable {
    /// A requested output is neither a node name nor a value name of the graph.
    case unknownLayer(name: String, suggestions: [String])
    /// The graph has several inputs, so a single tensor cannot say which one it is.
    case ambiguousInput(inputs: [String])
    /// An input the requested outputs need was not given.
    case missingInput(name: String)
    /// A tensor was given for a name that is not a graph input.
    case unknownInput(name: String, inputs: [String])
    /// An input tensor's shape does not fit the graph input (`nil` marks an open dimension).
    case inputShapeMismatch(input: String, expected: [Int?], actual: [Int])
    /// A required attribute is absent.
    case missingAttribute(node: String, attribute: String)
    /// An attribute has a value of the wrong kind or out of range.
    case invalidAttribute(node: String, attribute: String, reason: String)
    /// An attribute value the runtime does not implement.
    case unsupportedAttribute(node: String, attribute: String, value: String)
    /// A required weight role is absent.
    case missingWeight(node: String, role: String)
    /// A weight is not float32 or is missing from the file.
    case unreadableWeight(node: String, role: String, reason: String)
    /// A weight's shape does not fit the node's input.
    case weightShapeMismatch(node: String, role: String, tensor: String, expected: [Int], actual: [Int])
    /// The node cannot be applied to the shapes of its inputs.
    case incompatibleShapes(node: String, reason: String)
    /// The output shape the runtime computes disagrees with the shape the file declares.
    case declaredShapeMismatch(node: String, value: String, declared: [Int?], computed: [Int])
    /// The requested precision cannot run on this machine (a usage error, exit status 64).
    case precisionUnavailable(precision: String, reason: String)

    public var exitStatus: ExitStatus {
        if case .precisionUnavailable = self { return .usage }
        return .dataError
    }

    public var description: String {
        switch self {
        case let .unknownLayer(name, suggestions):
            "the model has no layer or value named '\(name)'"
                + (suggestions.isEmpty ? "" : "; layers include " + suggestions.map { "'\($0)'" }.joined(separator: ", "))
        case let .ambiguousInput(inputs):
            "the model has \(inputs.count) inputs (\(inputs.joined(separator: ", "))); give one tensor per input name"
        case let .missingInput(name):
            "no tensor was given for the model input '\(name)'"
        case let .unknownInput(name, inputs):
            "'\(name)' is not an input of the model; its inputs are \(inputs.joined(separator: ", "))"
        case let .inputShapeMismatch(input, expected, actual):
            "input '\(input)' has shape \(formatShape(actual)), but the model expects \(formatShape(expected)) (? is any size)"
        case let .missingAttribute(node, attribute):
            "node '\(node)' lacks the required attribute '\(attribute)'"
        case let .invalidAttribute(node, attribute, reason):
            "node '\(node)': attribute '\(attribute)' \(reason)"
        case let .unsupportedAttribute(node, attribute, value):
            "node '\(node)': attribute '\(attribute)' = \(value) is not supported by graft's runtime"
        case let .missingWeight(node, role):
            "node '\(node)' has no '\(role)' weight, which its op requires"
        case let .unreadableWeight(node, role, reason):
            "node '\(node)': weight '\(role)' \(reason)"
        case let .weightShapeMismatch(node, role, tensor, expected, actual):
            "node '\(node)': weight '\(role)' ('\(tensor)') has shape \(formatShape(actual)), expected \(formatShape(expected))"
        case let .incompatibleShapes(node, reason):
            "node '\(node)': \(reason)"
        case let .declaredShapeMismatch(node, value, declared, computed):
            "node '\(node)' computes '\(value)' with shape \(formatShape(computed)), but the model file declares \(formatShape(declared))"
        case let .precisionUnavailable(precision, reason):
            "--precision \(precision) needs native bfloat16 arithmetic, but \(reason); use the default fp32"
        }
    }
}

/// A shape as `[2, 3, ?]`.
func formatShape(_ shape: [Int?]) -> String {
    "[" + shape.map { $0.map(String.init) ?? "?" }.joined(separator: ", ") + "]"
}

func formatShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
