import GraftModel
/// One rewrite of the executable graph, in the manner of XNNPACK's and onnxruntime's graph
/// transformers: each pass looks for one pattern and rewrites it where nothing can observe the
/// difference (the intermediate value has no other reader and is not requested).
protocol GraphPass: Sendable {
    func run(on graph: inout ExecutableGraph, context: PassContext) throws(RuntimeError)
}

/// Builds the executable graph of a session: resolves the requested values, then runs the
/// passes in order.
enum GraphCompiler {
    /// The rewrite passes, in the order they run. Weights are bound after the Pad fold (which
    /// needs none) and before the folds that rewrite kernels.
    static let passes: [any GraphPass] = [
        FoldZeroPadding(),
        BindWeights(),
        FoldAffineNormalization(),
        FuseActivation(),
        FoldResidualAdd(),
        FoldPaddingIntoMaxPooling(),
    ]

    /// `requests` are node or value names; `nil` asks for the graph's outputs, which are value
    /// names even where a node of another value carries the same name (a Caffe in-place chain
    /// read back from ONNX).
    static func compile(model: ModelFile, requests: [String]?, storage: OwnedWeights, threads: Int) throws(RuntimeError) -> ExecutableGraph {
        let graph = model.graph
        var outputs = graph.outputs
        if let requests { outputs = try requests.map { (request) throws(RuntimeError) in try resolve(request, in: graph) } }
        var executable = PruneUnrequested.graph(graph, keeping: outputs)
        let context = PassContext(model: model, storage: storage, threads: threads)
        for pass in passes { try pass.run(on: &executable, context: context) }
        return executable
    }

    /// A node name (its first output) or a value name.
    static func resolve(_ request: String, in graph: Graph) throws(RuntimeError) -> String {
        if let node = graph.nodes.first(where: { $0.name == request }), let first = node.outputs.first { return first }
        if graph.inputs.contains(where: { $0.name == request }) || graph.nodes.contains(where: { $0.outputs.contains(request) }) {
            return request
        }
        let lowered = request.lowercased()
        var suggestions = graph.nodes.map(\.name).filter { $0.lowercased().contains(lowered) || lowered.contains($0.lowercased()) }
        if suggestions.isEmpty { suggestions = graph.nodes.map(\.name) }
        throw .unknownLayer(name: request, suggestions: Array(suggestions.prefix(5)))
    }
}
