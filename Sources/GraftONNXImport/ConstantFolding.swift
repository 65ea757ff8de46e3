import Foundation

/// Evaluates nodes whose inputs are all known while converting: Constant nodes, and the shape
/// subgraphs exporters write around Reshape (`Shape → Gather → Unsqueeze → Concat`), whose
/// results are fixed once the input's size is, except for the batch size, which stays symbolic
/// (`SymbolicInteger.batch`).
///
/// Integer arithmetic follows ONNX (division truncates); float arithmetic is float32, as an ONNX
/// runtime computes it.
enum ConstantFolding {
    /// The ops evaluated here when all their inputs are known (Shape: when its input's shape is).
    static let foldable: Set<String> = [
        "Constant", "Shape", "Size", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Reshape", "Identity",
        "ConstantOfShape", "Add", "Sub", "Mul", "Div", "Neg", "Sqrt", "Reciprocal", "Floor", "Ceil", "Abs", "Equal",
        "Where", "Range", "Expand", "Transpose", "Max", "Min", "Flatten", "Pow", "Less", "Greater", "Not", "Dropout",
    ]

    /// Ops that only ever make known tensors: an unfoldable use of them is unsupported.
    static let foldOnly: Set<String> = ["Constant", "Shape", "Size", "ConstantOfShape", "Range", "Equal", "Where", "Less", "Greater", "Not"]

    /// Folds the node if it can be: defines its outputs as constants and returns true.
    static func fold(_ c: NodeContext) throws -> Bool {
        guard foldable.contains(c.opType) else { return false }
        switch c.opType {
        case "Constant":
            c.converter.define(c.output, .constant(try constantNode(c)))
            return true
        case "Shape":
            let shape: [SymbolicInteger]
            switch try c.input(0) {
            case let .runtime(_, dims): shape = [.batch] + dims.dropFirst().map { .value($0) }
            case let .constant(value): shape = value.shape.map { .value($0) }
            case .flattened, .batchDependent: throw c.unsupported("reads the shape of a value whose size depends on the batch size")
            }
            let rank = shape.count
            func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + rank : v, 0), rank) }
            let start = clamp(try c.int("start", default: 0))
            let end = clamp(try c.int("end", default: rank))
            let picked = start < end ? Array(shape[start..<end]) : []
            c.converter.define(c.output, .constant(Constant(shape: [picked.count], integers: picked)))
            return true
        case "Size":
            switch try c.input(0) {
            case .runtime, .flattened, .batchDependent: throw c.unsupported("the element count depends on the batch size")
            case let .constant(value): c.converter.define(c.output, .constant(Constant(shape: [], ints: [value.count])))
            }
            return true
        default:
            break
        }
        var inputs: [Constant?] = []
        var perBatch: [Int: [Constant]] = [:]
        for i in c.node.inputs.indices {
            guard c.has(i) else { inputs.append(nil); continue }
            switch try c.input(i) {
            case let .constant(value): inputs.append(value)
            case let .batchDependent(values):
                perBatch[i] = values
                inputs.append(values[0])
            case .runtime, .flattened:
                if foldOnly.contains(c.opType) { throw c.unsupported("it computes on a value the runtime computes; graft folds \(c.opType) only on constants") }
                return false
            }
        }
        if perBatch.isEmpty {
            do {
                c.converter.define(c.output, .constant(try evaluate(c, inputs)))
                return true
            } catch NodeProblem.unsupported(let reason) {
                guard inputs.contains(where: { $0?.symbolicIntegers?.contains(.batch) == true }) else { throw NodeProblem.unsupported(reason) }
            }
        }
        // The result depends on the batch size: evaluate it for batch sizes 1, 2 and 3.
        var results: [Constant] = []
        for batch in batchSizes {
            let concrete = inputs.indices.map { i -> Constant? in
                if let values = perBatch[i] { return values[batch - 1] }
                guard let input = inputs[i], let integers = input.symbolicIntegers else { return inputs[i] }
                return Constant(shape: input.shape, integers: integers.map { $0 == .batch ? .value(batch) : $0 })
            }
            results.append(try evaluate(c, concrete))
        }
        c.converter.define(c.output, .batchDependent(results))
        return true
    }

    /// The batch sizes a batch-dependent value is evaluated for.
    static let batchSizes = [1, 2, 3]

    private static func constantNode(_ c: NodeContext) throws -> Constant {
        if case let .tensor(tensor)? = c.attribute("value") { return try c.converter.constant(from: tensor) }
        if let value = c.attribute("value_float"), case let .float(v) = value { return Constant(shape: [], floats: [v]) }
        if let values = try c.floatList("value_floats"), c.attribute("value_floats") != nil { return Constant(shape: [values.count], floats: values) }
        if let value = try c.optionalInt("value_int") { return Constant(shape: [], ints: [value]) }
        if let values = try c.ints("value_ints") { return Constant(shape: [values.count], ints: values) }
        throw c.unsupported("its value is not a numeric tensor (sparse and string constants are not read)")
    }

    private static func required(_ inputs: [Constant?], _ i: Int, _ c: NodeContext) throws -> Constant {
        guard i < inputs.count, let value = inputs[i] else { throw c.invalid("input \(i + 1) is missing") }
        return value
    }

    private static func knownInts(_ value: Constant, _ what: String, _ c: NodeContext) throws -> [Int] {
        guard let ints = value.ints else {
            throw value.isInteger ? c.unsupported("\(what) depends on the batch size") : c.invalid("\(what) must be integers")
        }
        return ints
    }

    private static func evaluate(_ c: NodeContext, _ inputs: [Constant?]) throws -> Constant {
        let x = try required(inputs, 0, c)
        switch c.opType {
        case "Identity", "Dropout":
            return x
        case "Cast":
            let to = try c.int("to", default: 1)
            guard let type = ElementType(rawValue: Int32(to)) else { throw c.unsupported("casts to \(ElementType.name(Int32(to)))") }
            if type.isFloatingPoint {
                guard let floats = x.floats else { throw c.unsupported("casts the batch size to a float") }
                return Constant(shape: x.shape, floats: floats)
            }
            switch x.elements {
            case .integers: return type == .bool ? map(x, c) { $0 != 0 ? 1 : 0 } : x
            case let .floats(values):
                return Constant(shape: x.shape, ints: values.map { type == .bool ? ($0 != 0 ? 1 : 0) : Int($0.rounded(.towardZero)) })
            }
        case "Gather":
            let indices = try required(inputs, 1, c)
            let axis = try c.normalizedAxis(try c.int("axis", default: 0), rank: x.shape.count)
            let positions = try knownInts(indices, "the indices", c)
            let length = x.shape[axis]
            let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
            var picked: [Int] = []
            for o in 0..<outer {
                for p in positions {
                    let q = p < 0 ? p + length : p
                    guard q >= 0, q < length else { throw c.invalid("index \(p) is out of range for axis \(axis) of size \(length)") }
                    for i in 0..<inner { picked.append((o * length + q) * inner + i) }
                }
            }
            return x.picking(picked, shape: Array(x.shape[..<axis]) + indices.shape + Array(x.shape[(axis + 1)...]))
        case "Unsqueeze":
            let axes = try axesList(c, inputs)
            let rank = x.shape.count + axes.count
            var normalized: [Int] = []
            for axis in axes { normalized.append(try c.normalizedAxis(axis, rank: rank)) }
            var shape = x.shape
            for axis in normalized.sorted() { shape.insert(1, at: axis) }
            return x.reshaped(shape)
        case "Squeeze":
            let axes = try axesList(c, inputs)
            var normalized: [Int] = []
            for axis in axes { normalized.append(try c.normalizedAxis(axis, rank: x.shape.count)) }
            let shape = x.shape.enumerated().filter { axes.isEmpty ? $0.element != 1 : !normalized.contains($0.offset) }.map(\.element)
            return x.reshaped(shape)
        case "Flatten":
            let axis = try c.normalizedAxis(try c.int("axis", default: 1), rank: x.shape.count, allowEnd: true)
            return x.reshaped([x.shape[..<axis].reduce(1, *), x.shape[axis...].reduce(1, *)])
        case "Concat":
            let parts = inputs.compactMap { $0 }
            let axis = try c.normalizedAxis(try c.int("axis", default: 0), rank: x.shape.count)
            let outer = x.shape[..<axis].reduce(1, *)
            var shape = x.shape
            shape[axis] = 0
            for part in parts {
                guard part.shape.count == x.shape.count else { throw c.invalid("concatenates tensors of different ranks") }
                shape[axis] += part.shape[axis]
            }
            if parts.allSatisfy(\.isInteger) {
                var result: [SymbolicInteger] = []
                for o in 0..<outer {
                    for part in parts {
                        let block = part.shape[axis...].reduce(1, *)
                        result += part.symbolicIntegers![(o * block)..<((o + 1) * block)]
                    }
                }
                return Constant(shape: shape, integers: result)
            }
            var result: [Float] = []
            for o in 0..<outer {
                for part in parts {
                    guard let floats = part.floats else { throw c.unsupported("concatenates the batch size with floats") }
                    let block = part.shape[axis...].reduce(1, *)
                    result += floats[(o * block)..<((o + 1) * block)]
                }
            }
            return Constant(shape: shape, floats: result)
        case "Reshape":
            let target = try knownInts(try required(inputs, 1, c), "the target shape", c)
            let shape = try resolveReshape(x.shape, target, allowZero: try c.int("allowzero", default: 0) != 0, c)
            return x.reshaped(shape)
        case "Expand":
            let target = try knownInts(try required(inputs, 1, c), "the target shape", c)
            guard target.allSatisfy({ $0 >= 0 }), let shape = Shapes.broadcast(x.shape, target) else { throw c.invalid("cannot expand \(describe(x.shape)) to \(describe(target))") }
            guard let count = Shapes.product(shape), count <= Limits.foldedElements else { throw c.unsupported("expands to \(describe(shape)), too large to fold") }
            return x.picking(Shapes.broadcastIndices(from: x.shape, to: shape), shape: shape)
        case "Transpose":
            let permutation = try c.ints("perm") ?? Array(x.shape.indices.reversed())
            guard permutation.sorted() == Array(x.shape.indices) else { throw c.invalid("perm \(permutation) does not fit rank \(x.shape.count)") }
            return x.picking(Shapes.transposeIndices(shape: x.shape, permutation: permutation), shape: permutation.map { x.shape[$0] })
        case "Slice":
            return try slice(x, inputs, c)
        case "ConstantOfShape":
            let shape = try knownInts(x, "the shape", c)
            guard shape.allSatisfy({ $0 >= 0 }), let count = Shapes.product(shape), count <= Limits.foldedElements else {
                throw c.unsupported("makes a constant of shape \(describe(shape)), too large to fold")
            }
            var fill = Constant(shape: [1], floats: [0])
            if case let .tensor(tensor)? = c.attribute("value") { fill = try c.converter.constant(from: tensor) }
            return fill.picking([Int](repeating: 0, count: count), shape: shape)
        case "Range":
            let start = try required(inputs, 0, c), limit = try required(inputs, 1, c), delta = try required(inputs, 2, c)
            if let s = start.ints?.first, let l = limit.ints?.first, let d = delta.ints?.first {
                guard d != 0 else { throw c.invalid("delta is 0") }
                guard (Double(l) - Double(s)) / Double(d) <= Double(Limits.foldedElements) else { throw c.unsupported("makes a range too long to fold") }
                let values = Array(stride(from: s, to: l, by: d))
                return Constant(shape: [values.count], ints: values)
            }
            guard let s = start.scalar, let l = limit.scalar, let d = delta.scalar, d != 0 else { throw c.unsupported("its bounds depend on the batch size") }
            let length = ((l - s) / d).rounded(.up)
            guard length <= Float(Limits.foldedElements) else { throw c.unsupported("makes a range too long to fold") }
            let count = max(Int(length), 0)
            return Constant(shape: [count], floats: (0..<count).map { s + Float($0) * d })
        case "Where":
            let condition = x, a = try required(inputs, 1, c), b = try required(inputs, 2, c)
            guard let shape0 = Shapes.broadcast(condition.shape, a.shape), let shape = Shapes.broadcast(shape0, b.shape) else {
                throw c.invalid("its inputs do not broadcast")
            }
            let flags = try knownInts(condition, "the condition", c)
            let ci = Shapes.broadcastIndices(from: condition.shape, to: shape)
            let ai = Shapes.broadcastIndices(from: a.shape, to: shape), bi = Shapes.broadcastIndices(from: b.shape, to: shape)
            if let av = a.symbolicIntegers, let bv = b.symbolicIntegers {
                return Constant(shape: shape, integers: (0..<ci.count).map { flags[ci[$0]] != 0 ? av[ai[$0]] : bv[bi[$0]] })
            }
            guard let av = a.floats, let bv = b.floats else { throw c.unsupported("mixes the batch size with floats") }
            return Constant(shape: shape, floats: (0..<ci.count).map { flags[ci[$0]] != 0 ? av[ai[$0]] : bv[bi[$0]] })
        case "Not":
            return map(x, c) { $0 == 0 ? 1 : 0 }
        case "Neg", "Sqrt", "Reciprocal", "Floor", "Ceil", "Abs":
            if c.opType == "Neg", x.isInteger { return map(x, c) { -$0 } }
            if c.opType == "Abs", x.isInteger { return map(x, c) { Swift.abs($0) } }
            if (c.opType == "Floor" || c.opType == "Ceil"), x.isInteger { return x }
            guard let floats = x.floats else { throw c.unsupported("computes on the batch size") }
            let f: (Float) -> Float
            switch c.opType {
            case "Neg": f = { -$0 }
            case "Sqrt": f = { $0.squareRoot() }
            case "Reciprocal": f = { 1 / $0 }
            case "Floor": f = { $0.rounded(.down) }
            case "Ceil": f = { $0.rounded(.up) }
            default: f = { Swift.abs($0) }
            }
            return Constant(shape: x.shape, floats: floats.map(f))
        default:
            return try binary(c, x, try required(inputs, 1, c))
        }
    }

    /// Axes from the attribute (before opset 13) or the second input.
    private static func axesList(_ c: NodeContext, _ inputs: [Constant?]) throws -> [Int] {
        if let axes = try c.ints("axes") { return axes }
        if inputs.count > 1, let axes = inputs[1] { return try knownInts(axes, "the axes", c) }
        return []
    }

    private static func map(_ x: Constant, _ c: NodeContext, _ f: (Int) -> Int) -> Constant {
        guard let values = x.symbolicIntegers else { return x }
        return Constant(shape: x.shape, integers: values.map { v in v.known.map { .value(f($0)) } ?? .batch })
    }

    /// The shape Reshape makes of `shape` for `target` (0 copies a dim unless `allowZero`, −1 is inferred).
    static func resolveReshape(_ shape: [Int], _ target: [Int], allowZero: Bool, _ c: NodeContext) throws -> [Int] {
        var resolved = target
        for (i, dim) in target.enumerated() where dim == 0 && !allowZero {
            guard i < shape.count else { throw c.invalid("target shape \(describe(target)) copies dimension \(i) of \(describe(shape))") }
            resolved[i] = shape[i]
        }
        let total = shape.reduce(1, *)
        let unknown = resolved.indices.filter { resolved[$0] == -1 }
        guard unknown.count <= 1, resolved.allSatisfy({ $0 >= -1 }), Shapes.product(resolved.filter { $0 != -1 }) != nil else {
            throw c.invalid("target shape \(describe(target)) is invalid")
        }
        if let i = unknown.first {
            let known = resolved.filter { $0 != -1 }.reduce(1, *)
            guard known > 0, total % known == 0 else { throw c.invalid("cannot reshape \(describe(shape)) to \(describe(target))") }
            resolved[i] = total / known
        }
        guard resolved.reduce(1, *) == total else { throw c.invalid("cannot reshape \(describe(shape)) to \(describe(target))") }
        return resolved
    }

    private static func slice(_ x: Constant, _ inputs: [Constant?], _ c: NodeContext) throws -> Constant {
        let starts = try knownInts(try required(inputs, 1, c), "starts", c)
        let ends = try knownInts(try required(inputs, 2, c), "ends", c)
        let axes = inputs.count > 3 && inputs[3] != nil ? try knownInts(inputs[3]!, "axes", c) : Array(starts.indices)
        let steps = inputs.count > 4 && inputs[4] != nil ? try knownInts(inputs[4]!, "steps", c) : [Int](repeating: 1, count: starts.count)
        guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else {
            throw c.invalid("starts, ends, axes and steps differ in length")
        }
        var ranges = x.shape.map { Array(0..<$0) }
        for (k, axis) in axes.enumerated() {
            let a = try c.normalizedAxis(axis, rank: x.shape.count)
            ranges[a] = try sliceIndices(length: x.shape[a], start: starts[k], end: ends[k], step: steps[k], c)
        }
        let shape = ranges.map(\.count)
        let strides = Shapes.strides(x.shape)
        var picked: [Int] = []
        picked.reserveCapacity(shape.reduce(1, *))
        func walk(_ axis: Int, _ offset: Int) {
            if axis == shape.count { picked.append(offset); return }
            for i in ranges[axis] { walk(axis + 1, offset + i * strides[axis]) }
        }
        if shape.allSatisfy({ $0 > 0 }) { walk(0, 0) }
        return x.picking(picked, shape: shape)
    }

    /// The indices ONNX Slice takes on one axis (starts and ends clamped as the specification says).
    static func sliceIndices(length: Int, start: Int, end: Int, step: Int, _ c: NodeContext) throws -> [Int] {
        guard step != 0 else { throw c.invalid("a slice step is 0") }
        var s = start < 0 ? start + length : start
        var e = end < 0 ? end + length : end
        if step > 0 {
            s = min(max(s, 0), length)
            e = min(max(e, 0), length)
            return s < e ? Array(stride(from: s, to: e, by: step)) : []
        }
        s = min(max(s, 0), length - 1)
        e = min(max(e, -1), length - 1)
        return s > e ? Array(stride(from: s, to: e, by: step)) : []
    }

    private static func binary(_ c: NodeContext, _ a: Constant, _ b: Constant) throws -> Constant {
        guard let shape = Shapes.broadcast(a.shape, b.shape) else { throw c.invalid("cannot broadcast \(describe(a.shape)) with \(describe(b.shape))") }
        let ai = Shapes.broadcastIndices(from: a.shape, to: shape), bi = Shapes.broadcastIndices(from: b.shape, to: shape)
        let comparison = ["Equal", "Less", "Greater"].contains(c.opType)
        if let av = a.symbolicIntegers, let bv = b.symbolicIntegers {
            var result: [SymbolicInteger] = []
            result.reserveCapacity(ai.count)
            for k in ai.indices {
                guard let value = try integerOperation(c.opType, av[ai[k]], bv[bi[k]], c) else {
                    throw c.unsupported("computes \(c.opType) of \(av[ai[k]]) and \(bv[bi[k]]), which depends on the batch size")
                }
                result.append(value)
            }
            return Constant(shape: shape, integers: result)
        }
        guard let av = a.floats, let bv = b.floats else { throw c.unsupported("mixes the batch size with floats") }
        if comparison {
            return Constant(shape: shape, ints: ai.indices.map { k in
                let (x, y) = (av[ai[k]], bv[bi[k]])
                return (c.opType == "Equal" ? x == y : c.opType == "Less" ? x < y : x > y) ? 1 : 0
            })
        }
        let f: (Float, Float) -> Float
        switch c.opType {
        case "Add": f = (+)
        case "Sub": f = (-)
        case "Mul": f = (*)
        case "Div": f = (/)
        case "Pow": f = { Foundation.pow($0, $1) }
        case "Max": f = { Swift.max($0, $1) }
        default: f = { Swift.min($0, $1) }
        }
        return Constant(shape: shape, floats: ai.indices.map { f(av[ai[$0]], bv[bi[$0]]) })
    }

    private static func integerOperation(_ op: String, _ a: SymbolicInteger, _ b: SymbolicInteger, _ c: NodeContext) throws -> SymbolicInteger? {
        if let x = a.known, let y = b.known {
            switch op {
            case "Add": return .value(x &+ y)
            case "Sub": return .value(x &- y)
            case "Mul": return .value(x &* y)
            case "Div":
                guard y != 0 else { throw c.invalid("divides an integer by 0") }
                return .value(x / y)
            case "Pow": return y >= 0 && y < 63 ? .value(Int(Foundation.pow(Double(x), Double(y)))) : nil
            case "Max": return .value(Swift.max(x, y))
            case "Min": return .value(Swift.min(x, y))
            case "Equal": return .value(x == y ? 1 : 0)
            case "Less": return .value(x < y ? 1 : 0)
            case "Greater": return .value(x > y ? 1 : 0)
            default: return nil
            }
        }
        // The batch size survives only operations that leave it unchanged.
        switch (op, a, b) {
        case ("Mul", .batch, .value(1)), ("Mul", .value(1), .batch), ("Div", .batch, .value(1)),
             ("Add", .batch, .value(0)), ("Add", .value(0), .batch), ("Sub", .batch, .value(0)):
            return .batch
        case ("Equal", .batch, .batch), ("Max", .batch, .batch), ("Min", .batch, .batch):
            return op == "Equal" ? .value(1) : .batch
        default:
            return nil
        }
    }
}
