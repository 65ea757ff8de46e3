import GraftModel

/// The export table: one line per graft op, the inverse of the ONNX importer's conversion table.
/// The switch is exhaustive, so a new op in the schema does not compile until it has its line
/// here; the functions live in `Exports/`, one file per op family.
enum OpExports {
    static func export(_ c: NodeExport) throws {
        switch c.node.operation {
        case let .conv2D(a): try Linear.convolution(c, a, kind: .regular)
        case let .depthwiseConv2D(a): try Linear.convolution(c, a, kind: .depthwise)
        case let .conv2DTranspose(a): try Linear.convolution(c, a, kind: .transposed)
        case let .dense(a): try Linear.dense(c, a)
        case let .batchNormalization(a): try Normalization.batch(c, a)
        case let .layerNormalization(a): try Normalization.layer(c, a)
        case let .scale(a): try Normalization.scale(c, a)
        case let .rescaling(a): try Normalization.rescaling(c, a)
        case let .localResponseNormalization(a): try Normalization.localResponse(c, a)
        case let .activation(a): try Activations.node(c, a)
        case .preLU: try Activations.parametricReLU(c)
        case let .softmax(axis): try Normalization.softmax(c, axis: axis)
        case .identity: try c.passThrough()
        case let .maxPooling2D(a): try Pooling.window(c, a, max: true)
        case let .averagePooling2D(a): try Pooling.window(c, a, max: false)
        case let .globalAveragePooling(a): try Pooling.global(c, a, max: false)
        case let .globalMaxPooling(a): try Pooling.global(c, a, max: true)
        case let .pad(a): try ShapeOps.pad(c, a)
        case let .crop(a): try ShapeOps.crop(c, a)
        case let .upSampling2D(a): try ShapeOps.upSampling(c, a)
        case .flatten: try ShapeOps.flatten(c)
        case let .reshape(shape): try ShapeOps.reshape(c, shape: shape)
        case let .transpose(permutation): try ShapeOps.transpose(c, permutation: permutation)
        case let .slice(axis, points): try ShapeOps.slice(c, axis: axis, points: points)
        case let .add(coefficients): try Merges.add(c, coefficients: coefficients)
        case .subtract: try Merges.binary(c, "Sub")
        case .multiply: try Merges.binary(c, "Mul")
        case .divide: try Merges.binary(c, "Div")
        case .average: try Merges.average(c)
        case .maximum: try Merges.binary(c, "Max")
        case .minimum: try Merges.binary(c, "Min")
        case let .concatenate(axis): try Merges.concatenate(c, axis: axis)
        }
    }
}

/// One graft node being exported: its inputs as ONNX values and the definition of its outputs.
struct NodeExport {
    let builder: GraphBuilder
    let node: Node

    var name: String { node.name }
    var input: String { node.inputs[0] }
    var output: String { node.outputs[0] }
    var outputShape: [Int?] { node.outputShapes[0] }
    var inputShape: [Int?] { builder.shape(of: input) }

    /// The tensor name of a weight role, when the node has it.
    func weight(_ role: String) -> String? { node.weights[role] }

    /// The tensor name of a weight the node must have.
    func requiredWeight(_ role: String) throws -> String {
        guard let tensor = node.weights[role] else { throw ExportProblem("has no '\(role)' weight") }
        return tensor
    }

    /// A semantic axis, negative counted from the end, checked against `rank`.
    func axis(_ axis: Int, rank: Int) throws -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0, resolved < rank else { throw ExportProblem("axis \(axis) is outside a rank-\(rank) value") }
        return resolved
    }

    /// Appends a helper node named `<node>/<role>` with one new output.
    func step(_ opType: String, _ inputs: [String], _ role: String, _ attributes: [ONNXAttribute] = []) -> String {
        builder.emit(opType, inputs, base: "\(name)/\(role)", attributes: attributes)
    }

    /// Defines output `index` as ONNX value `result`, held in `order`: the node that made it is
    /// renamed so the value carries the graft value's name where it can.
    func finish(_ result: String, order: [Int], index: Int = 0) {
        builder.finish(node.outputs[index], result: result, shape: node.outputShapes[index], order: order, node: name)
    }

    /// Identity and other no-ops: the output is the input.
    func passThrough() throws {
        builder.alias(output, of: input, shape: outputShape)
    }
}
