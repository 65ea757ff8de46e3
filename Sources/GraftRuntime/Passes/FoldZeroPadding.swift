import GraftModel
/// Folds a zero `Pad` into the Conv2D or DepthwiseConv2D that alone reads it (Keras's
/// `ZeroPadding2D` before a `valid` convolution): the convolution reads the pad's input with the
/// sum of both paddings, so the padded copy is never made.
struct FoldZeroPadding: GraphPass {
    func run(on graph: inout ExecutableGraph, context: PassContext) throws(RuntimeError) {
        let readers = graph.readers()
        var absorbed = Set<Int>()
        for (index, pad) in graph.nodes.enumerated() {
            guard case let .pad(padding) = pad.operation, padding.value == 0, pad.inputs.count == 1, pad.outputs.count == 1,
                  let user = graph.soleReader(of: pad.outputs[0], readers: readers) else { continue }
            let convolution = graph.nodes[user]
            guard convolution.op == .conv2D || convolution.op == .depthwiseConv2D, convolution.inputs == pad.outputs,
                  var attributes = convolution.operation.convolution, attributes.layout == padding.layout,
                  case let .explicit(inner) = attributes.padding else { continue }
            attributes.padding = .explicit(padding.padding + inner)
            graph.nodes[user].operation = convolution.op == .conv2D ? .conv2D(attributes) : .depthwiseConv2D(attributes)
            graph.nodes[user].inputs = pad.inputs
            graph.nodes[user].foldedNodes.append(pad.name)
            absorbed.insert(index)
        }
        graph.nodes = graph.nodes.indices.filter { !absorbed.contains($0) }.map { graph.nodes[$0] }
    }
}
