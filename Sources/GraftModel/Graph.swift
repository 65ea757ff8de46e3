/// The computation a `.graft` model describes: named inputs, nodes in topological order, outputs,
/// plus the preprocessing its inputs expect and where the model came from.
///
/// Values are named SSA-style: every node output has a name no other node output or graph input
/// uses, and a node may consume only graph inputs and the outputs of nodes before it. The JSON
/// form is specified in `schemas/graft-model.md` and `schemas/graft-graph.schema.json`.
public struct Graph: Sendable, Hashable, Codable {
    /// The graph format version this graft writes and the newest it reads.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// The model's name (the Keras model name or the Caffe net name).
    public var name: String
    public var inputs: [ValueInfo]
    /// Names of the values the model outputs by default.
    public var outputs: [String]
    public var nodes: [Node]
    /// The input preprocessing the model expects (`{}` when unknown); the feature extractor
    /// reads it.
    public var preprocessing: [String: JSONValue]
    public var provenance: Provenance

    public init(name: String, inputs: [ValueInfo], outputs: [String], nodes: [Node],
                preprocessing: [String: JSONValue] = [:], provenance: Provenance,
                formatVersion: Int = Graph.currentFormatVersion) {
        self.formatVersion = formatVersion
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.nodes = nodes
        self.preprocessing = preprocessing
        self.provenance = provenance
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case name, inputs, outputs, nodes, preprocessing, provenance
    }
}

/// The memory layout of a 4-D (or 3-D) activation, in the source framework's semantics.
///
/// Axis attributes of nodes (concatenation axis, softmax axis, flatten order) are expressed in
/// the layout of the values they act on; the runtime may store activations differently inside,
/// but results are as if it used this layout.
public enum Layout: String, Sendable, Hashable, Codable, CaseIterable {
    /// Batch, height, width, channels: Keras's `channels_last`.
    case nhwc = "NHWC"
    /// Batch, channels, height, width: Caffe and Keras's `channels_first`.
    case nchw = "NCHW"
    /// Batch, width, channels: a 1-D signal in Keras's `channels_last`.
    case nwc = "NWC"
    /// Batch, channels, width: a 1-D signal in `channels_first`.
    case ncw = "NCW"
    /// No spatial axes: [batch, features] or any tensor whose axes carry no image meaning.
    case plain = "plain"
}

/// A named value with its shape. The batch dimension (and any other dimension the source leaves
/// open) is `nil`.
public struct ValueInfo: Sendable, Hashable, Codable {
    public var name: String
    public var shape: [Int?]
    public var layout: Layout

    public init(name: String, shape: [Int?], layout: Layout) {
        self.name = name
        self.shape = shape
        self.layout = layout
    }
}

/// One operation of the graph.
public struct Node: Sendable, Hashable, Codable {
    /// The layer's name in the source model; inside nested Keras models `outer/inner`.
    public var name: String
    /// The op and its typed attributes.
    public var operation: Operation
    /// Names of the values consumed, in the op's argument order.
    public var inputs: [String]
    /// Names of the values produced.
    public var outputs: [String]
    /// Shapes of `outputs`, batch dimension `nil`, as the converter computed them.
    public var outputShapes: [[Int?]]
    /// Weight role (`kernel`, `bias`, `gamma`, …) to tensor name in the file.
    public var weights: [String: String]

    public init(name: String, operation: Operation, inputs: [String], outputs: [String],
                outputShapes: [[Int?]], weights: [String: String] = [:]) {
        self.name = name
        self.operation = operation
        self.inputs = inputs
        self.outputs = outputs
        self.outputShapes = outputShapes
        self.weights = weights
    }

    /// The op's kind.
    public var op: Operator { operation.op }

    enum CodingKeys: String, CodingKey {
        case name, op, inputs, outputs, attributes, weights
        case outputShapes = "output_shapes"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        let opName = try container.decode(String.self, forKey: .op)
        guard let op = Operator(rawValue: opName) else {
            throw GraphDecodingError.unknownOperator(node: name, op: opName)
        }
        let attributes = try container.decodeIfPresent([String: JSONValue].self, forKey: .attributes) ?? [:]
        operation = try Operation.decode(op, attributes: attributes, node: name)
        inputs = try container.decode([String].self, forKey: .inputs)
        outputs = try container.decode([String].self, forKey: .outputs)
        outputShapes = try container.decode([[Int?]].self, forKey: .outputShapes)
        weights = try container.decodeIfPresent([String: String].self, forKey: .weights) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(op.rawValue, forKey: .op)
        try container.encode(inputs, forKey: .inputs)
        try container.encode(outputs, forKey: .outputs)
        try container.encode(outputShapes, forKey: .outputShapes)
        try container.encode(operation.attributes, forKey: .attributes)
        if !weights.isEmpty { try container.encode(weights, forKey: .weights) }
    }
}

/// Where a model came from.
public struct Provenance: Sendable, Hashable, Codable {
    /// One source file and its SHA-256.
    public struct SourceFile: Sendable, Hashable, Codable {
        public var file: String
        public var sha256: String
        public init(file: String, sha256: String) {
            self.file = file
            self.sha256 = sha256
        }
    }

    /// `keras`, `caffe`, `onnx`, or `graft` for models graft made itself (heads, attached models).
    public var framework: String
    /// The framework version the source file records, when it records one.
    public var frameworkVersion: String?
    public var sources: [SourceFile]
    /// The program that wrote the file, e.g. `graft 0.1.0`.
    public var converter: String
    /// Anything else the converter records (backend, layer names, net name, …).
    public var details: [String: JSONValue]

    public init(framework: String, frameworkVersion: String? = nil, sources: [SourceFile] = [],
                converter: String, details: [String: JSONValue] = [:]) {
        self.framework = framework
        self.frameworkVersion = frameworkVersion
        self.sources = sources
        self.converter = converter
        self.details = details
    }

    enum CodingKeys: String, CodingKey {
        case framework, sources, converter, details
        case frameworkVersion = "framework_version"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        framework = try container.decode(String.self, forKey: .framework)
        frameworkVersion = try container.decodeIfPresent(String.self, forKey: .frameworkVersion)
        sources = try container.decodeIfPresent([SourceFile].self, forKey: .sources) ?? []
        converter = try container.decode(String.self, forKey: .converter)
        details = try container.decodeIfPresent([String: JSONValue].self, forKey: .details) ?? [:]
    }
}

/// Errors raised while decoding a graph's JSON that JSONDecoder cannot phrase itself.
enum GraphDecodingError: Error, CustomStringConvertible {
    case unknownOperator(node: String, op: String)

    var description: String {
        switch self {
        case let .unknownOperator(node, op): "node '\(node)' has the unknown op '\(op.prefix(80))'"
        }
    }
}

extension Graph {
    /// The value the feature extractor reads by default: the input of the last Dense node, or
    /// for a model with no Dense node, the input of its final activation (Activation or Softmax).
    /// `nil` when the graph has neither.
    public var defaultFeatureValue: String? {
        if let dense = nodes.last(where: { $0.op == .dense }) { return dense.inputs.first }
        if let last = nodes.last(where: { $0.op == .activation || $0.op == .softmax }) { return last.inputs.first }
        return nil
    }

    /// The node that produces `value`, if a node does.
    public func producer(of value: String) -> Node? {
        nodes.first { $0.outputs.contains(value) }
    }
}
