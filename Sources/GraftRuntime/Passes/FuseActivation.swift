import GraftModel
/// Fuses an `Activation` node into the op before it, which then applies the function as it
/// writes its result: into a convolution or Dense with no activation of its own (after the
/// affine folds), and into an element-wise merge (a residual block's Add followed by its ReLU:
/// one pass over the data).
struct FuseActivation: GraphPass {
    static let merges: Set<Operator> = [.add, .subtract, .multiply, .divide, .average, .maximum, .minimum]
    static let products: Set<Operator> = [.conv2D, .depthwiseConv2D, .conv2DTranspose, .dense]

    func run(on graph: inout ExecutableGraph, context: PassContext) throws(RuntimeError) {
        let readers = graph.readers()
        var absorbed = Set<Int>()
        for index in graph.nodes.indices where !absorbed.contains(index) {
            let item = graph.nodes[index]
            guard Self.products.contains(item.op) || Self.merges.contains(item.op), item.activation == .linear,
                  item.outputs.count == 1, let user = graph.soleReader(of: item.outputs[0], readers: readers) else { continue }
            let next = graph.nodes[user]
            guard case let .activation(function) = next.operation, next.inputs == item.outputs,
                  Self.merges.contains(item.op) || next.outputs.count == 1 else { continue }
            graph.nodes[index].activation = ActivationKernel(function)
            graph.nodes[index].foldedNodes.append(next.name)
            graph.nodes[index].outputs = next.outputs
            graph.nodes[index].declaredShapes = next.declaredShapes
            absorbed.insert(user)
        }
        graph.nodes = graph.nodes.indices.filter { !absorbed.contains($0) }.map { graph.nodes[$0] }
    }
}
