import GraftModel

extension Converter {
    // MARK: Several inputs

    func convertConcat(_ layer: LayerDefinition, index: Int, inputs: [String]) throws {
        let first = valueShape(inputs[0])
        let rawAxis = layer.concat.axis ?? layer.concat.concatDimension ?? 1
        let axis = try normalizedAxis(rawAxis, rank: first.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "concatenates along") }
        var output = first
        output[axis] = 0
        for input in inputs {
            let other = valueShape(input)
            guard other.count == first.count,
                  other.enumerated().allSatisfy({ $0.offset == axis || $0.element == first[$0.offset] }) else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its inputs \(describe(first)) and \(describe(other)) differ outside axis \(axis)")
            }
            output[axis] += other[axis]
        }
        emit(layer, index: index, .concatenate(axis: axis), inputs: inputs, outputShapes: [output])
    }

    func convertEltwise(_ layer: LayerDefinition, index: Int, inputs: [String]) throws {
        let first = valueShape(inputs[0])
        for input in inputs where valueShape(input) != first {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its inputs have different shapes \(describe(first)) and \(describe(valueShape(input)))")
        }
        let coefficients = layer.eltwise.coefficients
        switch layer.eltwise.operation {
        case .sum:
            guard coefficients.isEmpty || coefficients.count == inputs.count else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has \(coefficients.count) coefficients for \(inputs.count) inputs")
            }
            // All 1 is a plain sum, written without coefficients.
            let weighted = coefficients.contains { $0 != 1 } ? coefficients.map(Double.init) : nil
            emit(layer, index: index, .add(coefficients: weighted), inputs: inputs, outputShapes: [first])
        case .product:
            emit(layer, index: index, .multiply, inputs: inputs, outputShapes: [first])
        case .maximum:
            emit(layer, index: index, .maximum, inputs: inputs, outputShapes: [first])
        }
    }
}
