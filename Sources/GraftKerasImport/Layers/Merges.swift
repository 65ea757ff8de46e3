import GraftModel

extension GraphBuilder {
    // MARK: Several inputs

    /// Add, Subtract, Multiply, Average, Maximum, Minimum: `operation` over every input.
    func convertMerge(_ call: LayerCall, _ operation: Operation) throws -> Value {
        guard call.inputs.count >= 2 else { throw unsupported(call, "has \(call.inputs.count) input") }
        if operation == .subtract || operation == .divide, call.inputs.count != 2 {
            throw unsupported(call, "\(operation == .subtract ? "subtracts" : "divides") \(call.inputs.count) inputs")
        }
        let shape = try broadcastShape(call.inputs.map(\.shape), call)
        let layout = call.inputs.first { $0.rank == shape.count }?.layout ?? .plain
        return try emit(call.nodeName, operation, call.inputs, shape: shape, layout: layout)
    }

    func convertConcatenate(_ call: LayerCall, axis: Int) throws -> Value {
        guard call.inputs.count >= 1 else { throw unsupported(call, "has no inputs") }
        let rank = call.inputs[0].rank
        let positive = axis < 0 ? axis + rank : axis
        guard positive >= 1, positive < rank, call.inputs.allSatisfy({ $0.rank == rank }) else {
            throw unsupported(call, "concatenates along axis \(axis) values of ranks \(call.inputs.map(\.rank))")
        }
        var shape = call.inputs[0].shape
        let sizes = call.inputs.map { $0.shape[positive] }
        shape[positive] = sizes.contains { $0 == nil } ? nil : sizes.reduce(0) { $0 + $1! }
        return try emit(call.nodeName, .concatenate(axis: axis), call.inputs, shape: shape, layout: call.inputs[0].layout)
    }

    /// Keras 1 `Merge` in functional models.
    func convertKeras1Merge(_ call: LayerCall) throws -> Value {
        guard call.config["layers"] == nil || call.config["layers"] == .null || call.config["layers"]?.arrayValue?.isEmpty == true else {
            throw unsupported(call, "merges Sequential branches (legacy Merge of models)")
        }
        let mode = call.config["mode"]?.stringValue ?? "sum"
        switch mode {
        case "sum": return try convertMerge(call, .add())
        case "mul": return try convertMerge(call, .multiply)
        case "ave": return try convertMerge(call, .average)
        case "max": return try convertMerge(call, .maximum)
        case "concat": return try convertConcatenate(call, axis: call.config["concat_axis"]?.integerValue ?? -1)
        default: throw unsupported(call, "uses merge mode '\(mode)'")
        }
    }

    /// Keras 3 operation layers: `x + c`, `x * c`, `x - c`, `c - x`, `x / c` become Rescaling;
    /// operations on two tensors become Add, Subtract, Multiply or Divide.
    func convertOperation(_ call: LayerCall) throws -> Value {
        let tensors = call.inputs
        let constants = call.arguments.compactMap { if case let .constant(value) = $0 { value } else { nil } }
        if tensors.count == 2, constants.isEmpty {
            switch call.className {
            case "Add": return try convertMerge(call, .add())
            case "Subtract": return try convertMerge(call, .subtract)
            case "Multiply": return try convertMerge(call, .multiply)
            case "Divide", "TrueDivide": return try convertMerge(call, .divide)
            default: throw unsupported(call, "is an operation graft does not convert")
            }
        }
        guard tensors.count == 1, constants.count == 1, call.arguments.count == 2 else {
            throw unsupported(call, "combines \(tensors.count) tensors and \(constants.count) constants")
        }
        let constant = constants[0]
        let constantFirst: Bool = if case .constant = call.arguments[0] { true } else { false }
        var scale = 1.0, offset = 0.0
        switch call.className {
        case "Add": offset = constant
        case "Subtract": if constantFirst { scale = -1; offset = constant } else { offset = -constant }
        case "Multiply": scale = constant
        case "Divide", "TrueDivide":
            guard !constantFirst, constant != 0 else { throw unsupported(call, "divides a constant by a tensor") }
            scale = 1 / constant
        default: throw unsupported(call, "is an operation graft does not convert")
        }
        let input = tensors[0]
        return try emit(call.nodeName, .rescaling(.init(scale: scale, offset: offset)), [input], shape: input.shape, layout: input.layout)
    }
}
