import GraftNumerics
/// An iteration space over a contiguous output with one strided view per operand (stride 0 on
/// broadcast axes), with adjacent axes merged wherever every operand allows, so the innermost loop
/// is as long as possible.
struct StridedSpace: Equatable {
    var shape: [Int]
    var strides: [[Int]]

    init(shape: [Int], strides: [[Int]]) {
        var mergedShape: [Int] = []
        var mergedStrides = [[Int]](repeating: [], count: strides.count)
        for axis in shape.indices where shape[axis] != 1 {
            if let last = mergedShape.indices.last,
               strides.indices.allSatisfy({ mergedStrides[$0][last] == strides[$0][axis] * shape[axis] }) {
                mergedShape[last] *= shape[axis]
                for k in strides.indices { mergedStrides[k][last] = strides[k][axis] }
            } else {
                mergedShape.append(shape[axis])
                for k in strides.indices { mergedStrides[k].append(strides[k][axis]) }
            }
        }
        if mergedShape.isEmpty {
            mergedShape = [1]
            for k in strides.indices { mergedStrides[k] = [1] }
        }
        self.shape = mergedShape
        self.strides = mergedStrides
    }

    /// Contiguous strides of a row-major shape.
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in shape.indices.reversed() {
            strides[axis] = step
            step *= shape[axis]
        }
        return strides
    }

    /// Strides of `operand` (row-major) broadcast against `output` (numpy rules: aligned right,
    /// size-1 axes repeat).
    static func broadcastStrides(_ operand: [Int], to output: [Int]) -> [Int] {
        let own = contiguousStrides(operand)
        let offset = output.count - operand.count
        return output.indices.map { axis in
            let k = axis - offset
            return k < 0 || operand[k] == 1 ? 0 : own[k]
        }
    }

    var innerCount: Int { shape[shape.count - 1] }
    var rowCount: Int { shape.dropLast().reduce(1, *) }

    /// Element offset of row `row` (all axes but the last) in operand `k`.
    @inline(__always)
    func offset(ofRow row: Int, operand k: Int) -> Int {
        var remainder = row
        var offset = 0
        let strides = strides[k]
        var axis = shape.count - 2
        while axis >= 0 {
            let size = shape[axis]
            offset += (remainder % size) * strides[axis]
            remainder /= size
            axis -= 1
        }
        return offset
    }
}

/// The binary functions the several-input ops and PReLU combine values with.
enum CombineOperation: Equatable {
    case add, subtract, multiply, divide, maximum, minimum
    /// `a·left + b·right` (Add with coefficients, Average).
    case weighted(Float, Float)
    /// `left ≥ 0 ? left : right·left` (PReLU, right = alpha).
    case parametricReLU
}

/// `output = op(left, right)` with broadcasting; `output` is contiguous in the space's shape and
/// may be the same memory as a contiguous, non-broadcast `left`.
struct ElementwiseCombine {
    let space: StridedSpace   // operands: 0 left, 1 right
    let operation: CombineOperation
    /// Applied to each output row once it is computed (a folded activation).
    let activation: ActivationKernel

    func run(left: UnsafePointer<Float>, right: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let space = space, operation = operation, activation = activation
        let inner = space.innerCount
        let leftStride = space.strides[0][space.shape.count - 1], rightStride = space.strides[1][space.shape.count - 1]
        parallelFor(space.rowCount, threads: threads, minimumPerThread: max(1, 16_384 / max(inner, 1))) { rows in
            for row in rows {
                let a = left + space.offset(ofRow: row, operand: 0)
                let b = right + space.offset(ofRow: row, operand: 1)
                let out = output + row * inner
                switch operation {
                case .add: combineRow(a, leftStride, b, rightStride, out, inner, { $0 + $1 }) { $0 + $1 }
                case .subtract: combineRow(a, leftStride, b, rightStride, out, inner, { $0 - $1 }) { $0 - $1 }
                case .multiply: combineRow(a, leftStride, b, rightStride, out, inner, { $0 * $1 }) { $0 * $1 }
                case .divide: combineRow(a, leftStride, b, rightStride, out, inner, { $0 / $1 }) { $0 / $1 }
                // Swift.max(x, y) is `y >= x ? y : x`; Swift.min(x, y) is `y < x ? y : x`.
                case .maximum: combineRow(a, leftStride, b, rightStride, out, inner, { $0.replacing(with: $1, where: $1 .>= $0) }) { Swift.max($0, $1) }
                case .minimum: combineRow(a, leftStride, b, rightStride, out, inner, { $0.replacing(with: $1, where: $1 .< $0) }) { Swift.min($0, $1) }
                case let .weighted(p, q): combineRow(a, leftStride, b, rightStride, out, inner, { p * $0 + q * $1 }) { p * $0 + q * $1 }
                case .parametricReLU:
                    let zero = SIMD8<Float>()
                    combineRow(a, leftStride, b, rightStride, out, inner, { $0.replacing(with: $1 * $0, where: .!($0 .>= zero)) }) { $0 >= 0 ? $0 : $1 * $0 }
                }
                if activation != .linear { activation.apply(out, out, count: inner) }
            }
        }
    }
}

/// `out[i] = f(a[i·sa], b[i·sb])`; `vector` is the same function on eight lanes, used when both
/// operands are contiguous (explicit SIMD: `out` may be the same memory as `a`, which keeps the
/// compiler from vectorising the scalar loop).
@inline(__always)
private func combineRow(_ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                        _ out: UnsafeMutablePointer<Float>, _ count: Int,
                        _ vector: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>, _ f: (Float, Float) -> Float) {
    if sa == 1 && sb == 1 {
        let left = UnsafeRawPointer(a), right = UnsafeRawPointer(b), target = UnsafeMutableRawPointer(out)
        var i = 0
        while i + 8 <= count {
            let x = left.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let y = right.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            target.storeBytes(of: vector(x, y), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { out[i] = f(a[i], b[i]); i += 1 }
    } else if sa == 1 && sb == 0 {
        let y = b[0]
        for i in 0..<count { out[i] = f(a[i], y) }
    } else if sa == 0 && sb == 1 {
        let x = a[0]
        for i in 0..<count { out[i] = f(x, b[i]) }
    } else {
        for i in 0..<count { out[i] = f(a[i * sa], b[i * sb]) }
    }
}

/// Copies a strided view into contiguous memory (transposes, crops, slices).
struct StridedCopy {
    let space: StridedSpace   // operand 0: the source

    func run(source: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let space = space
        let inner = space.innerCount
        let stride = space.strides[0][space.shape.count - 1]
        parallelFor(space.rowCount, threads: threads, minimumPerThread: max(1, 16_384 / max(inner, 1))) { rows in
            for row in rows {
                let from = source + space.offset(ofRow: row, operand: 0)
                let to = output + row * inner
                if stride == 1 {
                    to.update(from: from, count: inner)
                } else {
                    for i in 0..<inner { to[i] = from[i * stride] }
                }
            }
        }
    }
}
