import GraftModel
/// Keeps only the nodes the requested values depend on, walking back from them, and the graph
/// inputs those nodes read. Weights are not bound yet (`BindWeights`), so a pruned node's
/// weights are never touched.
enum PruneUnrequested {
    static func graph(_ graph: Graph, keeping outputs: [String]) -> ExecutableGraph {
        var needed = Set(outputs)
        var keep = [Bool](repeating: false, count: graph.nodes.count)
        for (index, node) in graph.nodes.enumerated().reversed() where node.outputs.contains(where: needed.contains) {
            keep[index] = true
            needed.formUnion(node.inputs)
        }
        let nodes = graph.nodes.indices.filter { keep[$0] }.map { ExecutableNode(graph.nodes[$0], weights: [:]) }
        return ExecutableGraph(nodes: nodes, inputs: graph.inputs.filter { needed.contains($0.name) }, outputs: outputs,
                               requested: Set(outputs))
    }
}

/// Binds every node's weights to float32 views of the model file's mapping.
struct BindWeights: GraphPass {
    func run(on graph: inout ExecutableGraph, context: PassContext) throws(RuntimeError) {
        let declared = Dictionary(context.model.graph.nodes.map { ($0.name, $0.weights) }, uniquingKeysWith: { first, _ in first })
        for index in graph.nodes.indices {
            let name = graph.nodes[index].name
            for (role, tensor) in declared[name] ?? [:] {
                graph.nodes[index].weights[role] = try context.weight(node: name, role: role, tensor: tensor)
            }
        }
    }
}
