import GraftModel
import GraftSupport

/// graft's op, not Foundation's `Operation`.
typealias GraftOperation = GraftModel.Operation

/// What an ONNX value is while converting: a graft value the runtime computes (its name and
/// shape, dim 0 the batch), or a tensor known now.
enum ONNXValue {
    case runtime(name: String, shape: [Int])
    case constant(Constant)
    /// A computed value reshaped to one axis across the batch (`Reshape(x, [-1])`): no graft
    /// value holds it; only a Gather that restores `shape` element for element may read it (the
    /// dynamo exporter writes an identity `as_strided` so).
    case flattened(name: String, shape: [Int])
    /// Integers that depend on the batch size beyond being it (`Range(0, batch)`, indices made
    /// from it): their values for batch sizes 1, 2 and 3, enough to recognise an identity gather.
    case batchDependent([Constant])
}

/// Why one node cannot be converted. `unsupported` is collected with every other such node and
/// reported at once; `invalid` stops the conversion (the model is wrong, not graft).
enum NodeProblem: Error {
    case unsupported(String)
    case invalid(String)
}

/// Turns a decoded ONNX graph into graft nodes and weights.
///
/// Nodes are visited in the graph's (topological) order. Nodes whose inputs are all known
/// tensors are evaluated now (`ConstantFolding`); the others go through the conversion table
/// (`NodeConversions`), one entry per ONNX op. Values keep their ONNX names in graft, nodes their
/// ONNX node names (`<op>_<index>` when unnamed), so `graft run --layer` takes either.
/// Activations stay NCHW, as the graph records them.
final class Converter {
    let file: String
    let model: ModelRecord
    let reader: TensorReader
    /// The standard domain's operator set version.
    let opset: Int

    private(set) var values: [String: ONNXValue] = [:]
    private(set) var nodes: [Node] = []
    private(set) var weights: [WeightTensor] = []
    private(set) var inputs: [ValueInfo] = []
    private(set) var outputs: [String] = []
    private(set) var notes: [String] = []
    private(set) var unsupported: [UnsupportedLayer] = []
    /// Outputs of nodes that could not be converted: their consumers are skipped quietly.
    private var unavailable: Set<String> = []
    private var nodeNames = UniqueNames()
    private var valueNames = UniqueNames()
    /// How many nodes (and graph outputs) read each ONNX value.
    private(set) var consumerCount: [String: Int] = [:]
    /// Dense nodes made from a MatMul and still without bias, by their output value: the index of
    /// the node, so that an Add of a bias right after can become the bias.
    var biaslessDense: [String: Int] = [:]
    /// The batch size the model's input declares, when it is fixed.
    private(set) var staticBatch: Int?
    private var patterns = Patterns()
    /// Initializers by name, read when a node first asks for them.
    private var initializers: [String: TensorRecord] = [:]
    /// Reads of each value still to come.
    private var remainingReads: [String: Int] = [:]

    init(file: String, model: ModelRecord, reader: TensorReader, opset: Int) {
        self.file = file
        self.model = model
        self.reader = reader
        self.opset = opset
    }

    // MARK: Driver

    func convert(inputShape: [Int]?) throws {
        for node in model.nodes { for input in node.inputs where !input.isEmpty { consumerCount[input, default: 0] += 1 } }
        for output in model.outputs { consumerCount[output, default: 0] += 1 }
        for tensor in model.initializers { initializers[tensor.name] = tensor }
        try declareInputs(excluding: Set(initializers.keys), inputShape: inputShape)
        patterns = Patterns.find(in: model, converter: self)
        listUnknownOps()

        for (index, node) in model.nodes.enumerated() where !patterns.absorbed.contains(index) {
            let name = nodeName(node, index: index)
            if node.inputs.contains(where: { unavailable.contains($0) }) || !NodeConversions.isKnown(node) {
                unavailable.formUnion(node.outputs)
                continue
            }
            let context = NodeContext(converter: self, node: node, name: name, index: index)
            do {
                if let fused = patterns.replacements[index] {
                    try fused(context)
                } else if try ConstantFolding.fold(context) {
                    continue
                } else {
                    try NodeConversions.convert(context)
                }
                release(inputsOf: node)
            } catch let problem as NodeProblem {
                switch problem {
                case let .unsupported(reason):
                    unsupported.append(UnsupportedLayer(name: name, kind: node.opType, reason: reason))
                    unavailable.formUnion(node.outputs)
                case let .invalid(reason):
                    throw ONNXImportError.invalidNode(file: file, node: name, op: node.opType, reason: reason)
                }
            }
        }
        if !unsupported.isEmpty { throw ONNXImportError.unsupportedNodes(file: file, nodes: unsupported) }
        for output in model.outputs {
            switch try value(output) {
            case let .runtime(name, _)?: outputs.append(name)
            case .constant?, .batchDependent?:
                throw ONNXImportError.invalidGraph(file: file, reason: "output '\(quoted(output))' is a constant, which graft does not output")
            case .flattened?:
                throw ONNXImportError.invalidGraph(file: file, reason: "output '\(quoted(output))' merges the batch axis with others, which graft does not output")
            case nil:
                throw ONNXImportError.invalidGraph(file: file, reason: "output '\(quoted(output))' is made by no node")
            }
        }
    }

    /// Lists every node whose op graft does not convert (or whose domain it does not know) before
    /// anything else, so the error names them all, even those behind another unsupported node.
    private func listUnknownOps() {
        for (index, node) in model.nodes.enumerated() where !NodeConversions.isKnown(node) && !patterns.absorbed.contains(index) {
            let kind = node.domain.isEmpty ? node.opType : "\(node.domain).\(node.opType)"
            unsupported.append(UnsupportedLayer(name: nodeName(node, index: index), kind: kind))
        }
    }

    private var assignedNames: [Int: String] = [:]

    /// The graft node name of ONNX node `index`: its own name, or `<op>_<index>`, made unique.
    func nodeName(_ node: NodeRecord, index: Int) -> String {
        if let name = assignedNames[index] { return name }
        let name = uniqueNodeName(node.name.isEmpty ? "\(node.opType)_\(index)" : node.name)
        assignedNames[index] = name
        return name
    }

    private func declareInputs(excluding initializers: Set<String>, inputShape: [Int]?) throws {
        let runtimeInputs = model.inputs.filter { !initializers.contains($0.name) }
        guard !runtimeInputs.isEmpty else { throw ONNXImportError.invalidGraph(file: file, reason: "the graph has no input") }
        if inputShape != nil && runtimeInputs.count != 1 {
            throw ONNXImportError.unsupportedInput(file: file, input: runtimeInputs[0].name,
                                                   reason: "is one of \(runtimeInputs.count) inputs; --input-shape gives one shape")
        }
        for input in runtimeInputs {
            guard input.elementType == ElementType.float.rawValue else {
                throw ONNXImportError.unsupportedInput(file: file, input: input.name,
                    reason: "has element type \(input.elementType.map(ElementType.name) ?? "none (not a tensor)"); graft's inputs are FLOAT tensors")
            }
            var dims = input.dims ?? []
            if let inputShape {
                guard inputShape.count == dims.count || input.dims == nil else {
                    throw ONNXImportError.unsupportedInput(file: file, input: input.name,
                        reason: "has \(dims.count) dimensions, but --input-shape gives \(inputShape.count)")
                }
                dims = inputShape.map { Optional($0) }
                dims[0] = input.dims?.first ?? nil
            }
            guard dims.count >= 2 else {
                throw ONNXImportError.unsupportedInput(file: file, input: input.name,
                    reason: "has \(input.dims == nil ? "no shape" : "shape of rank \(dims.count)"); graft needs a batch axis and at least one more")
            }
            if let open = dims.dropFirst().firstIndex(where: { $0 == nil || $0! <= 0 }) {
                throw ONNXImportError.unsupportedInput(file: file, input: input.name,
                    reason: "leaves dimension \(open) open; graft needs every size but the batch fixed (give one with --input-shape N,C,H,W)")
            }
            guard dims.dropFirst().allSatisfy({ $0! <= Limits.dimension }),
                  let count = Shapes.product(dims.dropFirst().map { $0! }), count <= Limits.itemElements else {
                throw ONNXImportError.unsupportedInput(file: file, input: input.name, reason: "has sizes \(dims.dropFirst().map { $0! }), too large")
            }
            if let batch = dims[0], batch > 0 { staticBatch = batch }
            let shape = [staticBatch ?? 1] + dims.dropFirst().map { $0! }
            valueNames.insert(input.name)
            values[input.name] = .runtime(name: input.name, shape: shape)
            inputs.append(ValueInfo(name: input.name, shape: [nil] + shape.dropFirst().map { Optional($0) },
                                    layout: shape.count == 4 ? .nchw : shape.count == 3 ? .ncw : .plain))
        }
    }

    // MARK: Values

    /// The value named `name`; an initializer is read when first asked for.
    func value(_ name: String) throws -> ONNXValue? {
        if let value = values[name] { return value }
        guard let tensor = initializers[name] else { return nil }
        let value = ONNXValue.constant(try constant(from: tensor))
        values[name] = value
        return value
    }

    /// Forgets the known tensors no later node reads (the weights of a converted convolution,
    /// for instance), so a model's weights are not held twice while converting.
    private func release(inputsOf node: NodeRecord) {
        for input in node.inputs where !input.isEmpty {
            remainingReads[input, default: consumerCount[input] ?? 0] -= 1
            if remainingReads[input] == 0, case .constant? = values[input] { values[input] = nil }
        }
    }

    func define(_ name: String, _ value: ONNXValue) { values[name] = value }

    /// A known tensor from an initializer or a Constant attribute.
    func constant(from tensor: TensorRecord) throws -> Constant {
        let count = try reader.count(of: tensor)
        if let type = ElementType(rawValue: tensor.dataType), !type.isFloatingPoint, type != .string {
            let values = try reader.integers(tensor)
            return Constant(shape: tensor.dims, ints: values.map { Int($0) })
        }
        let values = try reader.floats(tensor)
        guard values.count == count else {
            throw ONNXImportError.badTensor(file: file, tensor: tensor.name, reason: "holds \(values.count) values for dims \(describe(tensor.dims))")
        }
        return Constant(shape: tensor.dims, floats: values)
    }

    // MARK: Naming

    private func uniqueNodeName(_ base: String) -> String {
        nodeNames.claim(base)
    }

    /// A graft value name: the ONNX name when free, else with a suffix.
    func uniqueValueName(_ base: String) -> String {
        valueNames.claim(base)
    }

    // MARK: Emitting

    /// Adds a node that computes ONNX value `output` (named after it in graft) with `shape`.
    @discardableResult
    func emit(node name: String, _ operation: GraftOperation, inputs: [String], output: String, shape: [Int],
              weights: [String: String] = [:]) -> String {
        let value = uniqueValueName(output)
        nodes.append(Node(name: name, operation: operation, inputs: inputs, outputs: [value], outputShapes: [graphShape(shape)], weights: weights))
        values[output] = .runtime(name: value, shape: shape)
        return value
    }

    /// Adds a node with several outputs (Split).
    func emit(node name: String, _ operation: GraftOperation, inputs: [String], outputs: [(onnx: String, shape: [Int])]) {
        let names = outputs.map { uniqueValueName($0.onnx) }
        nodes.append(Node(name: name, operation: operation, inputs: inputs, outputs: names, outputShapes: outputs.map { graphShape($0.shape) }))
        for (name, output) in zip(names, outputs) { values[output.onnx] = .runtime(name: name, shape: output.shape) }
    }

    /// Adds a helper node `<node>/<role>` and returns its graft value.
    func emitHelper(node: String, role: String, _ operation: GraftOperation, inputs: [String], shape: [Int],
                    weights: [String: String] = [:]) -> String {
        let name = uniqueNodeName("\(node)/\(role)")
        let value = uniqueValueName(name)
        nodes.append(Node(name: name, operation: operation, inputs: inputs, outputs: [value], outputShapes: [graphShape(shape)], weights: weights))
        return value
    }

    /// Adds a weight tensor `<node>/<role>` and returns its name.
    func addWeight(node: String, role: String, shape: [Int], values: [Float]) -> String {
        let name = "\(node)/\(role)"
        weights.append(WeightTensor(name: name, shape: shape, values: values))
        return name
    }

    /// Gives the Dense node `index` (made from a MatMul) a bias and makes it compute ONNX value
    /// `output` instead of its own.
    func attachBias(toDense index: Int, bias: [Float], output: String, shape: [Int]) {
        let node = nodes[index]
        let weight = addWeight(node: node.name, role: "bias", shape: [bias.count], values: bias)
        let value = uniqueValueName(output)
        nodes[index].weights["bias"] = weight
        nodes[index].outputs = [value]
        values[output] = .runtime(name: value, shape: shape)
        biaslessDense[node.outputs[0]] = nil
    }

    func note(_ text: String) { notes.append(text) }

    private func graphShape(_ shape: [Int]) -> [Int?] {
        shape.isEmpty ? [] : [nil] + shape.dropFirst().map { Optional($0) }
    }
}
