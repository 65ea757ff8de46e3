import GraftModel
/// Folds a zero `Pad` into the MaxPooling2D that alone reads it when the padded value cannot be
/// negative: Keras ResNets' `pool1_pad` (ZeroPadding2D) after `conv1_relu`. MaxPooling's own
/// padding reads as −∞, Keras's zeros compete; over values ≥ 0, of which every window holds at
/// least one (each padding is narrower than the window), both give the largest value. The
/// padded copy is never made: ResNet50 at batch 8, 26 MB written and read again, 2.1 ms of
/// about 300 on the AVX2 EPYC (and more on a first run, whose fresh pages are slow to touch).
///
/// "Cannot be negative": the value is computed by a node whose final activation is ReLU or
/// ReLU6 (fused there by `FuseActivation`, or of a folded residual Add). Where a result is
/// −0.0, the window's maximum can differ from Keras's in the sign of a zero.
struct FoldPaddingIntoMaxPooling: GraphPass {
    func run(on graph: inout ExecutableGraph, context: PassContext) throws(RuntimeError) {
        let readers = graph.readers()
        var producers: [String: Int] = [:]
        for (index, node) in graph.nodes.enumerated() { for output in node.outputs { producers[output] = index } }
        var absorbed = Set<Int>()
        for (index, pad) in graph.nodes.enumerated() {
            guard case let .pad(padding) = pad.operation, padding.value == 0, pad.inputs.count == 1, pad.outputs.count == 1,
                  let user = graph.soleReader(of: pad.outputs[0], readers: readers),
                  case var .maxPooling2D(pooling) = graph.nodes[user].operation, graph.nodes[user].inputs == pad.outputs,
                  graph.nodes[user].residual == nil, pooling.layout == padding.layout, pooling.rounding == .floor,
                  case let .explicit(inner) = pooling.padding,
                  let producer = producers[pad.inputs[0]], FoldPaddingIntoMaxPooling.isNonNegative(graph.nodes[producer]) else { continue }
            let total = padding.padding + inner
            guard total.top < pooling.poolSize.height, total.bottom < pooling.poolSize.height,
                  total.left < pooling.poolSize.width, total.right < pooling.poolSize.width else { continue }
            pooling.padding = .explicit(total)
            graph.nodes[user].operation = .maxPooling2D(pooling)
            graph.nodes[user].inputs = pad.inputs
            graph.nodes[user].foldedNodes.append(pad.name)
            absorbed.insert(index)
        }
        graph.nodes = graph.nodes.indices.filter { !absorbed.contains($0) }.map { graph.nodes[$0] }
    }

    /// Whether every value `node` computes is ≥ 0 (or NaN): its last step is ReLU or ReLU6.
    static func isNonNegative(_ node: ExecutableNode) -> Bool {
        guard node.outputs.count == 1 else { return false }
        let last = node.residual?.activation ?? node.activation
        return last == .relu || last == .relu6
    }
}
