import GraftSupport

/// What every importer returns, whatever the source framework: the graph (with its provenance),
/// the weights, and notes for the user.
public struct ImportedModel: Sendable {
    public var graph: Graph
    public var weights: [WeightTensor]
    /// Assumptions the converter made that the user should know of (one line each, for stderr).
    public var notes: [String]

    public init(graph: Graph, weights: [WeightTensor], notes: [String] = []) {
        self.graph = graph
        self.weights = weights
        self.notes = notes
    }

    /// Where the model came from (the graph's provenance).
    public var provenance: Provenance { graph.provenance }

    /// Writes the model as a `.graft` file, atomically (nothing appears at `path` on failure).
    public func write(to path: String) throws {
        try ModelWriter.write(graph: graph, weights: weights, to: path)
    }
}

/// A layer of a source model that graft cannot convert. Importers report every one of them in
/// one error, so the user sees the whole list at once.
public struct UnsupportedLayer: Sendable, Hashable, CustomStringConvertible {
    /// The layer's name (`outer/inner` inside nested Keras models).
    public var name: String
    /// Its class (Keras), type (Caffe) or op (ONNX).
    public var kind: String
    /// Why, when the kind itself is supported but this use of it is not.
    public var reason: String?

    public init(name: String, kind: String, reason: String? = nil) {
        self.name = name
        self.kind = kind
        self.reason = reason
    }

    /// `'name' (kind: reason)`, with the name and kind from the file quoted to bounded length on
    /// one line.
    public var description: String {
        "'\(quoted(name))' (\(quoted(kind, limit: 40))\(reason.map { ": \(singleLine($0))" } ?? ""))"
    }
}

extension Array where Element == UnsupportedLayer {
    /// The layers as a comma-separated list for an error message: the first 20 in full, then how
    /// many more, so that a file with thousands of unknown layers still gets a one-line message of
    /// bounded size.
    public var listedForMessage: String {
        let shown = prefix(20).map(\.description).joined(separator: ", ")
        return count > 20 ? shown + " and \(count - 20) more" : shown
    }
}
