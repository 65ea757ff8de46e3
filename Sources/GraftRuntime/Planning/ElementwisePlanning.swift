import GraftModel
extension PlanBuilder {
    func planUnary(_ item: ExecutableNode, _ function: ActivationKernel) throws(RuntimeError) {
        let name = item.inputs[0]
        let x = try value(name, of: item)
        let count = x.layout.elementCount
        let output = outputBuffer(overwriting: name, count: count)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { function.apply(input, out, count: count, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: x.layout, buffer: output))
    }

    func planParametricReLU(_ item: ExecutableNode) throws(RuntimeError) {
        let name = item.inputs[0]
        let x = try value(name, of: item)
        let alpha = try requireWeight(item, "alpha")
        let features = Array(x.layout.shape.dropFirst())
        guard alpha.shape.count <= features.count, broadcastShape(features, alpha.shape) == features else {
            throw .weightShapeMismatch(node: item.name, role: "alpha", tensor: alpha.tensor, expected: features, actual: alpha.shape)
        }
        let logical = [0] + StridedSpace.broadcastStrides(alpha.shape, to: features)
        let physicalShape = x.layout.physicalShape
        let space = StridedSpace(shape: physicalShape, strides: [StridedSpace.contiguousStrides(physicalShape), x.layout.order.map { logical[$0] }])
        let combine = ElementwiseCombine(space: space, operation: .parametricReLU, activation: .linear)
        let output = outputBuffer(overwriting: name, count: x.layout.elementCount)
        let alphaPointer = alpha.pointer
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { combine.run(left: input, right: alphaPointer, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: x.layout, buffer: output))
    }

    func planSoftmax(_ item: ExecutableNode, axis: Int) throws(RuntimeError) {
        let name = item.inputs[0]
        let x = try value(name, of: item)
        let axis = try normalizedAxis(axis, rank: x.layout.rank, item: item)
        let physical = x.layout.physicalShape
        let p = x.layout.physicalAxis(of: axis)
        let kernel = SoftmaxKernel(outer: physical[..<p].reduce(1, *), length: physical[p], inner: physical[(p + 1)...].reduce(1, *))
        let output = outputBuffer(overwriting: name, count: x.layout.elementCount)
        addStep(reads: [x.buffer], writes: [output]) { memory in
            let input = memory[x.buffer], out = memory[output], threads = memory.threads
            return { kernel.run(input: input, output: out, threads: threads) }
        }
        define(item.outputs[0], PlannedValue(layout: x.layout, buffer: output))
    }

    /// An element-wise merge of `names` (Add, Subtract, Multiply, Average, Maximum, Minimum) with
    /// numpy broadcasting, `activation` applied as the last combination writes each row.
    /// `operation` and `label` name a merge planned on behalf of another node (a residual Add
    /// its convolution could not accumulate in place).
    func planCombination(_ item: ExecutableNode, inputs names: [String], activation: ActivationKernel,
                         operation given: Operation? = nil, label: String? = nil) throws(RuntimeError) {
        let merge = given ?? item.operation
        let op = merge.op
        guard names.count >= 2 else { throw .incompatibleShapes(node: item.name, reason: "needs at least two inputs, has \(names.count)") }
        if (op == .subtract || op == .divide) && names.count != 2 {
            throw .incompatibleShapes(node: item.name, reason: "\(op == .subtract ? "subtracts" : "divides") exactly two inputs, has \(names.count)")
        }
        var coefficients: [Float]?
        if case let .add(given?) = merge {
            guard given.count == names.count else {
                throw .invalidAttribute(node: item.name, attribute: "coefficients", reason: "has \(given.count) entries for \(names.count) inputs")
            }
            coefficients = given.map(Float.init)
        }
        var inputs: [PlannedValue] = []
        for name in names { inputs.append(try value(name, of: item)) }
        // Work in storage order when every input shares it; otherwise in logical order.
        let sharedOrder = inputs.allSatisfy { $0.layout.order == inputs[0].layout.order }
        if !sharedOrder {
            inputs = []
            for name in names { inputs.append(try identityOrder(name, of: item)) }
        }
        var shape = inputs[0].layout.shape
        for input in inputs.dropFirst() {
            guard let combined = broadcastShape(shape, input.layout.shape) else {
                throw .incompatibleShapes(node: item.name, reason: "cannot broadcast \(formatShape(shape)) with \(formatShape(input.layout.shape))")
            }
            shape = combined
        }
        let order = shape.count == inputs[0].layout.rank ? inputs[0].layout.order : Array(0..<shape.count)
        let layout = ValueLayout(shape: shape, order: order)
        let physical = layout.physicalShape
        let contiguous = StridedSpace.contiguousStrides(physical)
        func strides(_ input: PlannedValue) -> [Int] {
            StridedSpace.broadcastStrides(input.layout.physicalShape, to: physical)
        }
        // The first input's buffer can take the result when it dies here and is not broadcast.
        let output: Int
        if inputs[0].layout.physicalShape == physical, values[names[0]]?.buffer == inputs[0].buffer, canOverwrite(names[0]),
           !inputs.dropFirst().contains(where: { $0.buffer == inputs[0].buffer }) {
            output = inputs[0].buffer
        } else {
            output = newBuffer(layout.elementCount)
        }
        let share = 1 / Float(names.count)
        func operation(_ k: Int) -> CombineOperation {
            switch op {
            case .add:
                if let coefficients { return k == 1 ? .weighted(coefficients[0], coefficients[1]) : .weighted(1, coefficients[k]) }
                return .add
            // Σ xᵢ/n: within a rounding step of (Σ xᵢ)/n, in the same pass.
            case .average: return k == 1 ? .weighted(share, share) : .weighted(1, share)
            case .subtract: return .subtract
            case .multiply: return .multiply
            case .divide: return .divide
            case .maximum: return .maximum
            default: return .minimum
            }
        }
        // The activation folded into this node runs on each row as the last combination writes it.
        var combines: [(ElementwiseCombine, Int, Int)] = []  // kernel, left buffer, right buffer
        for k in 1..<inputs.count {
            let left = k == 1 ? strides(inputs[0]) : contiguous
            combines.append((ElementwiseCombine(space: StridedSpace(shape: physical, strides: [left, strides(inputs[k])]), operation: operation(k),
                                                activation: k == inputs.count - 1 ? activation : .linear),
                             k == 1 ? inputs[0].buffer : output, inputs[k].buffer))
        }
        addStep(reads: inputs.map(\.buffer), writes: [output], kind: label == nil ? nil : op.rawValue, name: label) { memory in
            let bound = combines.map { (kernel: $0.0, left: UnsafePointer(memory[$0.1]), right: UnsafePointer(memory[$0.2])) }
            let out = memory[output], threads = memory.threads
            return {
                for step in bound { step.kernel.run(left: step.left, right: step.right, output: out, threads: threads) }
            }
        }
        define(item.outputs[0], PlannedValue(layout: layout, buffer: output))
    }
}
