import GraftModel

/// Groups of ONNX nodes that together compute one graft op, found before conversion.
///
/// The one such group is GELU written out with Erf, as torch exports `nn.GELU()` below opset 20:
/// `x · 0.5 · (1 + Erf(x / √2))`, with the products grouped in any of the orders exporters use
/// (`(x · (1 + e)) · 0.5`, `x · ((1 + e) · 0.5)`, `(x · 0.5) · (1 + e)`) and `x / √2` also
/// written `x · (1/√2)`. Every intermediate value must be read by the next node of the group
/// only; the group becomes one `Activation(gelu)` node named after its last Mul.
struct Patterns {
    /// Node indices that belong to a group and are not converted themselves.
    var absorbed: Set<Int> = []
    /// The conversion of a group, at the index of its last node.
    var replacements: [Int: (NodeContext) throws -> Void] = [:]

    static func find(in model: ModelRecord, converter: Converter) -> Patterns {
        var patterns = Patterns()
        var producer: [String: Int] = [:]
        var consumers: [String: [Int]] = [:]
        for (index, node) in model.nodes.enumerated() {
            for output in node.outputs { producer[output] = index }
            for input in node.inputs where !input.isEmpty { consumers[input, default: []].append(index) }
        }
        let outputs = Set(model.outputs)
        let scalars = ScalarLookup(model: model, converter: converter)

        /// The only node reading `value`, when exactly one does and the value is no graph output.
        func soleConsumer(_ value: String) -> Int? {
            guard !outputs.contains(value), let readers = consumers[value], readers.count == 1 else { return nil }
            return readers[0]
        }
        /// For a binary node, the other input when one input is the scalar `constant` (within `tolerance`).
        func operand(of index: Int, besides constant: Float, tolerance: Float = 0) -> String? {
            let node = model.nodes[index]
            guard node.inputs.count == 2 else { return nil }
            for (k, input) in node.inputs.enumerated() {
                if let value = scalars.value(input), abs(value - constant) <= tolerance { return node.inputs[1 - k] }
            }
            return nil
        }
        func isOp(_ index: Int, _ op: String) -> Bool { model.nodes[index].opType == op && model.nodes[index].domain.isEmpty }

        for (erfIndex, erf) in model.nodes.enumerated() where erf.opType == "Erf" && erf.domain.isEmpty && erf.inputs.count == 1 {
            // x / √2 (or x · 1/√2) → Erf
            guard let scaleIndex = producer[erf.inputs[0]], soleConsumer(erf.inputs[0]) == erfIndex else { continue }
            let x: String
            if isOp(scaleIndex, "Div"), model.nodes[scaleIndex].inputs.count == 2,
               let divisor = scalars.value(model.nodes[scaleIndex].inputs[1]), abs(divisor - 1.4142135) <= 1e-5 {
                x = model.nodes[scaleIndex].inputs[0]
            } else if isOp(scaleIndex, "Mul"), let other = operand(of: scaleIndex, besides: 0.70710678, tolerance: 1e-6) {
                x = other
            } else { continue }
            // Erf → + 1
            guard let erfOutput = erf.outputs.first, let addIndex = soleConsumer(erfOutput), isOp(addIndex, "Add"),
                  operand(of: addIndex, besides: 1) == erfOutput, let sum = model.nodes[addIndex].outputs.first,
                  let first = soleConsumer(sum), isOp(first, "Mul"), model.nodes[first].inputs.count == 2 else { continue }
            var group: [Int] = [scaleIndex, erfIndex, addIndex, first]
            let firstInputs = model.nodes[first].inputs
            let firstOutput = model.nodes[first].outputs.first ?? ""
            var last: Int?
            if operand(of: first, besides: 0.5) == sum {
                // x · ((1 + e) · 0.5)
                if let next = soleConsumer(firstOutput), isOp(next, "Mul"), Set(model.nodes[next].inputs) == [x, firstOutput] { last = next }
            } else if Set(firstInputs) == [x, sum] {
                // (x · (1 + e)) · 0.5
                if let next = soleConsumer(firstOutput), isOp(next, "Mul"), operand(of: next, besides: 0.5) == firstOutput { last = next }
            } else {
                // (x · 0.5) · (1 + e)
                let half = firstInputs.first { $0 != sum } ?? ""
                if let halfIndex = producer[half], isOp(halfIndex, "Mul"), operand(of: halfIndex, besides: 0.5) == x,
                   soleConsumer(half) == first {
                    group.append(halfIndex)
                    last = first
                }
            }
            guard let last, !group.contains(where: { patterns.absorbed.contains($0) }) else { continue }
            patterns.absorbed.formUnion(group.filter { $0 != last })
            patterns.replacements[last] = { c in
                let (input, shape) = try runtimeValue(x, c)
                c.converter.emit(node: c.name, .activation(.gelu(approximate: false)), inputs: [input], output: c.output, shape: shape)
            }
        }
        return patterns
    }

    private static func runtimeValue(_ name: String, _ c: NodeContext) throws -> (String, [Int]) {
        guard case let .runtime(value, shape)? = try c.converter.value(name) else {
            throw c.unsupported("computes GELU of a constant")
        }
        return (value, shape)
    }
}

/// Scalar values of initializers and Constant nodes, looked up before conversion.
struct ScalarLookup {
    let model: ModelRecord
    let converter: Converter
    private var constants: [String: TensorRecord] = [:]

    init(model: ModelRecord, converter: Converter) {
        self.model = model
        self.converter = converter
        for tensor in model.initializers where tensor.elementCount == 1 { constants[tensor.name] = tensor }
        for node in model.nodes where node.opType == "Constant" {
            if case let .tensor(tensor)? = node.attributes["value"], tensor.elementCount == 1, let output = node.outputs.first {
                constants[output] = tensor
            } else if case let .float(value)? = node.attributes["value_float"], let output = node.outputs.first {
                constants[output] = TensorRecord(name: output, dims: [], dataType: ElementType.float.rawValue, storage: .floats([value]))
            }
        }
    }

    /// The value of a one-element float tensor named `name`, if there is one.
    func value(_ name: String) -> Float? {
        guard let tensor = constants[name], let type = ElementType(rawValue: tensor.dataType), type.isFloatingPoint else { return nil }
        return (try? converter.reader.floats(tensor))?.first
    }
}
