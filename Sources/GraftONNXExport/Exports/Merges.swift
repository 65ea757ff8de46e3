import GraftModel

/// Add, Subtract, Multiply, Average, Maximum, Minimum and Concatenate.
enum Merges {
    /// The inputs in one common order: the first input's when every input has its rank (numpy
    /// broadcasting then lines the same semantic axes up), otherwise the semantic one.
    static func commonInputs(_ c: NodeExport) -> (names: [String], order: [Int]) {
        let rank = c.builder.rank(of: c.input)
        let sameRank = c.node.inputs.allSatisfy { c.builder.rank(of: $0) == rank }
        let order = sameRank ? c.builder.order(of: c.input) : identity(c.outputShape.count)
        let names = c.node.inputs.map { input in
            sameRank ? c.builder.value(input, in: order) : c.builder.semantic(input)
        }
        return (names, order)
    }

    /// A left fold of a binary ONNX op over the inputs.
    static func chain(_ c: NodeExport, _ op: String, _ names: [String]) -> String {
        guard names.count > 1 else { return c.step("Identity", names, "identity") }
        var result = names[0]
        for name in names.dropFirst() { result = c.step(op, [result, name], op.lowercased()) }
        return result
    }

    static func binary(_ c: NodeExport, _ op: String) throws {
        let (names, order) = commonInputs(c)
        guard (op != "Sub" && op != "Div") || names.count == 2 else { throw ExportProblem("subtracts \(names.count) inputs, expected 2") }
        c.finish(chain(c, op, names), order: order)
    }

    static func add(_ c: NodeExport, coefficients: [Double]?) throws {
        var (names, order) = commonInputs(c)
        if let coefficients {
            guard coefficients.count == names.count else { throw ExportProblem("has \(coefficients.count) coefficients for \(names.count) inputs") }
            names = zip(names, coefficients).enumerated().map { index, pair in
                pair.1 == 1 ? pair.0 : c.step("Mul", [pair.0, c.builder.scalar(Float(pair.1), name: "\(c.name)/coefficient\(index)")], "weighted")
            }
        }
        c.finish(chain(c, "Add", names), order: order)
    }

    static func average(_ c: NodeExport) throws {
        let (names, order) = commonInputs(c)
        let sum = chain(c, "Add", names)
        let result = c.step("Div", [sum, c.builder.scalar(Float(names.count), name: "\(c.name)/count")], "average")
        c.finish(result, order: order)
    }

    static func concatenate(_ c: NodeExport, axis: Int) throws {
        let (names, order) = commonInputs(c)
        let resolved = try c.axis(axis, rank: order.count)
        c.finish(c.step("Concat", names, "concat", [.init("axis", .int(order.firstIndex(of: resolved)!))]), order: order)
    }
}
