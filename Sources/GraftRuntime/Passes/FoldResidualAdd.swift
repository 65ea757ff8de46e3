import GraftModel
/// Lets a Conv2D compute the residual `Add` that reads its result, accumulating onto the Add's
/// other operand in its own GEMM (ResNet's `relu(shortcut + bn(conv(x)))`), which saves a pass
/// over memory.
///
/// This pass rewrites the graph where the graph allows it: the convolution applies no activation
/// of its own, its result is read by that Add alone and is not requested; the Add sums exactly
/// two values without coefficients; the other operand is computed before the convolution (not a
/// graph input). The convolution then reads the other operand as its last input and produces the
/// Add's output, carrying the Add's activation in `residual`. Whether the sum can really be
/// accumulated in place depends on memory (the operand's storage order and who else reads its
/// buffer); where it cannot, the planner runs the convolution and the Add as two steps, exactly
/// as before the rewrite.
struct FoldResidualAdd: GraphPass {
    func run(on graph: inout ExecutableGraph, context: PassContext) throws(RuntimeError) {
        let readers = graph.readers()
        var producer: [String: Int] = [:]
        for (index, node) in graph.nodes.enumerated() {
            for output in node.outputs { producer[output] = index }
        }
        var absorbed = Set<Int>()
        for index in graph.nodes.indices where !absorbed.contains(index) {
            let item = graph.nodes[index]
            guard item.op == .conv2D, item.activation == .linear, item.residual == nil, item.outputs.count == 1 else { continue }
            let result = item.outputs[0]
            guard let addIndex = graph.soleReader(of: result, readers: readers), addIndex > index else { continue }
            let add = graph.nodes[addIndex]
            guard case .add(coefficients: nil) = add.operation, add.inputs.count == 2,
                  add.inputs.filter({ $0 == result }).count == 1, let position = add.inputs.firstIndex(of: result),
                  let other = add.inputs.first(where: { $0 != result }),
                  let source = producer[other], source < index else { continue }
            graph.nodes[index].residual = ResidualAdd(node: add.name, shortcut: other, position: position,
                                                      convolutionOutput: result, convolutionShape: item.declaredShapes[0],
                                                      activation: add.activation)
            graph.nodes[index].inputs.append(other)
            graph.nodes[index].outputs = add.outputs
            graph.nodes[index].declaredShapes = add.declaredShapes
            graph.nodes[index].foldedNodes += [add.name] + add.foldedNodes
            absorbed.insert(addIndex)
        }
        graph.nodes = graph.nodes.indices.filter { !absorbed.contains($0) }.map { graph.nodes[$0] }
    }
}
