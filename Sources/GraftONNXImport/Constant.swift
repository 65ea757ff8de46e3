/// An integer known while converting, or the batch size, which the graph leaves open.
///
/// Shape subgraphs (`Shape → Gather → Unsqueeze → Concat → Reshape`, as torch emits them) read
/// the batch size from a value's shape; it stays symbolic here, so that a folded target shape
/// can say "the batch" where the model meant it.
enum SymbolicInteger: Hashable, CustomStringConvertible {
    case value(Int)
    case batch

    var known: Int? {
        if case let .value(v) = self { return v }
        return nil
    }

    var description: String {
        switch self {
        case let .value(v): "\(v)"
        case .batch: "batch"
        }
    }
}

/// A tensor whose values are known while converting: an initializer, a Constant node's value, or
/// the result of folding nodes whose inputs are all known.
struct Constant {
    enum Elements {
        case floats([Float])
        case integers([SymbolicInteger])
    }

    var shape: [Int]
    var elements: Elements

    init(shape: [Int], floats: [Float]) {
        precondition(shape.reduce(1, *) == floats.count)
        self.shape = shape
        elements = .floats(floats)
    }

    init(shape: [Int], integers: [SymbolicInteger]) {
        precondition(shape.reduce(1, *) == integers.count)
        self.shape = shape
        elements = .integers(integers)
    }

    init(shape: [Int], ints: [Int]) {
        self.init(shape: shape, integers: ints.map { .value($0) })
    }

    var count: Int {
        switch elements {
        case let .floats(values): values.count
        case let .integers(values): values.count
        }
    }

    var isInteger: Bool {
        if case .integers = elements { return true }
        return false
    }

    /// The values as floats (integers converted; nil when one is the symbolic batch).
    var floats: [Float]? {
        switch elements {
        case let .floats(values): return values
        case let .integers(values):
            var result: [Float] = []
            result.reserveCapacity(values.count)
            for value in values {
                guard let known = value.known else { return nil }
                result.append(Float(known))
            }
            return result
        }
    }

    /// The values as known integers (nil for floats or a symbolic batch).
    var ints: [Int]? {
        guard case let .integers(values) = elements else { return nil }
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let known = value.known else { return nil }
            result.append(known)
        }
        return result
    }

    var symbolicIntegers: [SymbolicInteger]? {
        if case let .integers(values) = elements { return values }
        return nil
    }

    /// The single value of a tensor with one element, as a float.
    var scalar: Float? {
        guard count == 1 else { return nil }
        return floats?.first
    }

    /// Whether every element equals the first (a scalar in disguise).
    var uniformValue: Float? {
        guard let values = floats, let first = values.first else { return nil }
        return values.allSatisfy { $0 == first } ? first : nil
    }

    /// The same elements under another shape of the same count.
    func reshaped(_ shape: [Int]) -> Constant {
        var copy = self
        copy.shape = shape
        return copy
    }

    /// Picks elements by index (for gathers, slices, transposes and broadcasts).
    func picking(_ indices: [Int], shape: [Int]) -> Constant {
        switch elements {
        case let .floats(values): Constant(shape: shape, floats: indices.map { values[$0] })
        case let .integers(values): Constant(shape: shape, integers: indices.map { values[$0] })
        }
    }
}

/// Bounds on sizes a model claims, checked before any arithmetic or allocation that uses them.
enum Limits {
    /// A window size, stride, dilation or padding.
    static let size = 1 << 20
    /// One input dimension.
    static let dimension = 1 << 24
    /// The elements of one item of the input (the batch aside).
    static let itemElements = 1 << 34
    /// The elements of a tensor made while folding (ConstantOfShape, Expand, Range).
    static let foldedElements = 1 << 24
}

/// Index arithmetic on row-major shapes.
enum Shapes {
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in shape.indices.reversed() {
            strides[axis] = step
            step *= shape[axis]
        }
        return strides
    }

    /// numpy's broadcast of two shapes (aligned right), or nil.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if x == y || y == 1 { result[i] = x } else if x == 1 { result[i] = y } else { return nil }
        }
        return result
    }

    /// For each element of `target` (row-major), the index of the element of a tensor of `shape`
    /// that broadcasts to it. `shape` must broadcast to `target`.
    static func broadcastIndices(from shape: [Int], to target: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: target.count - shape.count) + shape
        let sourceStrides = strides(padded)
        let count = target.reduce(1, *)
        var result = [Int](repeating: 0, count: count)
        var position = [Int](repeating: 0, count: target.count)
        for flat in 0..<count {
            var index = 0
            for axis in target.indices where padded[axis] != 1 { index += position[axis] * sourceStrides[axis] }
            result[flat] = index
            var axis = target.count - 1
            while axis >= 0 {
                position[axis] += 1
                if position[axis] < target[axis] { break }
                position[axis] = 0
                axis -= 1
            }
        }
        return result
    }

    /// The row-major indices of a permuted tensor's elements in the original.
    static func transposeIndices(shape: [Int], permutation: [Int]) -> [Int] {
        let source = strides(shape)
        let target = permutation.map { shape[$0] }
        let count = shape.reduce(1, *)
        var result = [Int](repeating: 0, count: count)
        var position = [Int](repeating: 0, count: target.count)
        for flat in 0..<count {
            var index = 0
            for (axis, from) in permutation.enumerated() { index += position[axis] * source[from] }
            result[flat] = index
            var axis = target.count - 1
            while axis >= 0 {
                position[axis] += 1
                if position[axis] < target[axis] { break }
                position[axis] = 0
                axis -= 1
            }
        }
        return result
    }

    /// The product of sizes with an overflow check.
    static func product(_ sizes: some Sequence<Int>) -> Int? {
        var result = 1
        for size in sizes {
            let (p, overflow) = result.multipliedReportingOverflow(by: size)
            guard !overflow, size >= 0 else { return nil }
            result = p
        }
        return result
    }
}
