import GraftModel

/// Flatten, Reshape, Squeeze/Unsqueeze, Transpose, Concat, Split, Slice, Pad and Resize of
/// computed values. graft keeps the batch as axis 0 of every value, so ops that would move or
/// merge it are not converted.
enum ShapeOps {
    /// A Reshape node (or Identity when the shape does not change) from `shape` to `target`,
    /// both with the batch first.
    private static func emitReshape(_ c: NodeContext, x: String, shape: [Int], target: [Int]) {
        if target == shape {
            c.converter.emit(node: c.name, .identity, inputs: [x], output: c.output, shape: target)
        } else {
            c.converter.emit(node: c.name, .reshape(shape: Array(target.dropFirst())), inputs: [x], output: c.output, shape: target)
        }
    }

    static func flatten(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        let axis = try c.normalizedAxis(try c.int("axis", default: 1), rank: shape.count, allowEnd: true)
        guard axis == 1 else { throw c.unsupported("flattens at axis \(axis), which merges the batch axis with others") }
        if shape.count == 2 {
            c.converter.emit(node: c.name, .identity, inputs: [x], output: c.output, shape: shape)
        } else {
            c.converter.emit(node: c.name, .flatten, inputs: [x], output: c.output, shape: [shape[0], shape.dropFirst().reduce(1, *)])
        }
    }

    /// Reshape to a known target whose first entry keeps the batch: the symbolic batch (from a
    /// folded shape subgraph), 0 (copy), the input's fixed batch size, or −1 when the other
    /// entries account for one item's elements.
    static func reshape(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        guard let target = try c.constant(1)?.symbolicIntegers else { throw c.invalid("the target shape must be integers") }
        if target == [.value(-1)] {
            // Flattened across the batch: representable only until a Gather puts it back.
            c.converter.define(c.output, .flattened(name: x, shape: shape))
            return
        }
        guard !target.isEmpty else { throw c.unsupported("reshapes to a scalar") }
        let allowZero = try c.int("allowzero", default: 0) != 0
        let perItem = shape.dropFirst().reduce(1, *)
        var rest: [Int] = []
        for (i, entry) in target.enumerated().dropFirst() {
            switch entry {
            case .batch: throw c.unsupported("moves the batch size to axis \(i)")
            case let .value(v):
                if v == 0 && !allowZero {
                    guard i < shape.count else { throw c.invalid("copies dimension \(i) of \(describe(shape))") }
                    rest.append(shape[i])
                } else {
                    rest.append(v)
                }
            }
        }
        let keepsBatch: Bool
        switch target[0] {
        case .batch: keepsBatch = true
        case let .value(v):
            keepsBatch = (v == 0 && !allowZero) || v == -1 && !rest.contains(-1) && rest.reduce(1, *) == perItem
                || (c.converter.staticBatch.map { $0 == v } ?? false)
        }
        guard keepsBatch else { throw c.unsupported("reshapes to \(target) across the batch axis") }
        guard rest.filter({ $0 == -1 }).count <= 1, rest.allSatisfy({ $0 >= -1 }),
              Shapes.product(rest.filter { $0 != -1 }) != nil else { throw c.invalid("target shape \(target) is invalid") }
        if let i = rest.firstIndex(of: -1) {
            let known = rest.filter { $0 != -1 }.reduce(1, *)
            guard known > 0, perItem % known == 0 else { throw c.invalid("cannot reshape \(describe(shape)) to \(target)") }
            rest[i] = perItem / known
        }
        guard rest.reduce(1, *) == perItem else { throw c.unsupported("reshapes \(describe(shape)) to \(target) across the batch axis") }
        emitReshape(c, x: x, shape: shape, target: [shape[0]] + rest)
    }

    /// Gather along axis 0 of a value flattened across the batch (`Reshape(x, [-1])`) with the
    /// indices `0 ..< count` shaped like x, for every batch size: the identity `as_strided` the
    /// dynamo exporter writes (after ConvNeXt's final mean), converted to an Identity of x.
    static func gather(_ c: NodeContext) throws {
        guard case let .flattened(x, shape) = try c.input(0) else { throw c.unsupported("gathers from a computed value") }
        guard try c.int("axis", default: 0) == 0 else { throw c.unsupported("gathers along an axis of a flattened value other than 0") }
        let indices: [Constant]
        switch try c.input(1) {
        case let .batchDependent(values): indices = values
        case let .constant(value): indices = ConstantFolding.batchSizes.map { _ in value }
        default: throw c.unsupported("gathers with computed indices")
        }
        let perItem = shape.dropFirst().reduce(1, *)
        for (batch, index) in zip(ConstantFolding.batchSizes, indices) {
            guard index.shape == [batch] + shape.dropFirst(), index.ints == Array(0..<(batch * perItem)) else {
                throw c.unsupported("gathers elements of a value flattened across the batch axis in another order")
            }
        }
        c.converter.emit(node: c.name, .identity, inputs: [x], output: c.output, shape: shape)
    }

    /// Squeeze and Unsqueeze of axes other than the batch axis: a Reshape.
    static func squeeze(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        let axes = try c.ints("axes") ?? c.integers(1, "the axes")
        var target = shape
        if c.opType == "Unsqueeze" {
            guard let axes else { throw c.invalid("has no axes") }
            let rank = shape.count + axes.count
            var normalized: [Int] = []
            for axis in axes { normalized.append(try c.normalizedAxis(axis, rank: rank)) }
            guard !normalized.contains(0) else { throw c.unsupported("inserts an axis before the batch axis") }
            for axis in normalized.sorted() { target.insert(1, at: axis) }
        } else {
            var normalized: Set<Int> = []
            for axis in axes ?? shape.indices.filter({ $0 > 0 && shape[$0] == 1 }) {
                normalized.insert(try c.normalizedAxis(axis, rank: shape.count))
            }
            guard !normalized.contains(0) else { throw c.unsupported("removes the batch axis") }
            guard normalized.allSatisfy({ shape[$0] == 1 }) else { throw c.invalid("squeezes an axis whose size is not 1 in \(describe(shape))") }
            target = shape.indices.filter { !normalized.contains($0) }.map { shape[$0] }
        }
        emitReshape(c, x: x, shape: shape, target: target)
    }

    static func transpose(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        let permutation = try c.ints("perm") ?? Array(shape.indices.reversed())
        guard permutation.sorted() == Array(shape.indices) else { throw c.invalid("perm \(permutation) does not fit rank \(shape.count)") }
        guard permutation.first == 0 else { throw c.unsupported("moves the batch axis (perm \(permutation))") }
        c.converter.emit(node: c.name, .transpose(permutation: permutation), inputs: [x], output: c.output, shape: permutation.map { shape[$0] })
    }

    static func concatenate(_ c: NodeContext) throws {
        var names: [String] = []
        var shapes: [[Int]] = []
        for i in c.node.inputs.indices where c.has(i) {
            guard case let .runtime(name, shape) = try c.input(i) else { throw c.unsupported("concatenates a constant with computed values") }
            names.append(name)
            shapes.append(shape)
        }
        guard let first = shapes.first else { throw c.invalid("has no inputs") }
        let axis = try c.normalizedAxis(try c.int("axis", default: 0), rank: first.count)
        guard axis > 0 else { throw c.unsupported("concatenates along the batch axis") }
        var shape = first
        shape[axis] = 0
        for part in shapes {
            guard part.count == first.count, part.indices.allSatisfy({ $0 == axis || part[$0] == first[$0] }) else {
                throw c.invalid("cannot concatenate \(describe(first)) and \(describe(part)) along axis \(axis)")
            }
            shape[axis] += part[axis]
        }
        if names.count == 1 {
            c.converter.emit(node: c.name, .identity, inputs: names, output: c.output, shape: shape)
        } else {
            c.converter.emit(node: c.name, .concatenate(axis: axis), inputs: names, output: c.output, shape: shape)
        }
    }

    static func split(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        let axis = try c.normalizedAxis(try c.int("axis", default: 0), rank: shape.count)
        guard axis > 0 else { throw c.unsupported("splits the batch axis") }
        let length = shape[axis]
        var sizes = try c.ints("split") ?? c.integers(1, "the split sizes")
        if sizes == nil {
            let parts = try c.optionalInt("num_outputs") ?? c.node.outputs.count
            guard parts > 0 else { throw c.invalid("splits into no parts") }
            let chunk = (length + parts - 1) / parts
            sizes = (0..<parts).map { max(0, min(chunk, length - $0 * chunk)) }
        }
        guard let sizes, sizes.count == c.node.outputs.count, sizes.reduce(0, +) == length, sizes.allSatisfy({ $0 >= 0 }) else {
            throw c.invalid("split sizes \(sizes ?? []) do not divide axis \(axis) of \(describe(shape)) into \(c.node.outputs.count) parts")
        }
        guard sizes.allSatisfy({ $0 > 0 }) else { throw c.unsupported("makes an empty part") }
        var points: [Int] = []
        var offset = 0
        for size in sizes.dropLast() { offset += size; points.append(offset) }
        let outputs = zip(c.node.outputs, sizes).map { output, size -> (onnx: String, shape: [Int]) in
            var part = shape
            part[axis] = size
            return (output, part)
        }
        if sizes.count == 1 {
            c.converter.emit(node: c.name, .identity, inputs: [x], output: c.output, shape: shape)
        } else {
            c.converter.emit(node: c.name, .slice(axis: axis, slicePoints: points), inputs: [x], outputs: outputs)
        }
    }

    /// Slice with step 1 on axes other than the batch axis: one graft Slice per cut axis, which
    /// splits the axis at the bounds; the piece in the middle is the result.
    static func slice(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        guard let starts = try c.integers(1, "starts"), let ends = try c.integers(2, "ends") else { throw c.invalid("starts and ends are required") }
        let axes = try c.integers(3, "axes") ?? Array(starts.indices)
        let steps = try c.integers(4, "steps") ?? [Int](repeating: 1, count: starts.count)
        guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else {
            throw c.invalid("starts, ends, axes and steps differ in length")
        }
        var cuts: [(axis: Int, range: Range<Int>)] = []
        for k in starts.indices {
            let axis = try c.normalizedAxis(axes[k], rank: shape.count)
            let indices = try ConstantFolding.sliceIndices(length: shape[axis], start: starts[k], end: ends[k], step: steps[k], c)
            if indices.count == shape[axis] && (steps[k] == 1 || indices.count <= 1) { continue }
            guard steps[k] == 1 else { throw c.unsupported("slices with step \(steps[k])") }
            guard axis > 0 else { throw c.unsupported("slices the batch axis") }
            guard let first = indices.first, let last = indices.last else { throw c.unsupported("makes an empty slice") }
            cuts.append((axis, first..<(last + 1)))
        }
        var current = x
        var currentShape = shape
        guard !cuts.isEmpty else {
            c.converter.emit(node: c.name, .identity, inputs: [x], output: c.output, shape: shape)
            return
        }
        for (k, cut) in cuts.enumerated() {
            let length = currentShape[cut.axis]
            var points: [Int] = []
            if cut.range.lowerBound > 0 { points.append(cut.range.lowerBound) }
            if cut.range.upperBound < length { points.append(cut.range.upperBound) }
            let bounds = [0] + points + [length]
            let wanted = cut.range.lowerBound > 0 ? 1 : 0
            let isLast = k == cuts.count - 1
            let nodeName = isLast ? c.name : "\(c.name)/axis\(cut.axis)"
            var outputs: [(onnx: String, shape: [Int])] = []
            for piece in 0..<(bounds.count - 1) {
                var pieceShape = currentShape
                pieceShape[cut.axis] = bounds[piece + 1] - bounds[piece]
                let name = piece == wanted && isLast ? c.output : "\(c.name)/axis\(cut.axis)/piece\(piece)"
                outputs.append((name, pieceShape))
            }
            c.converter.emit(node: nodeName, .slice(axis: cut.axis, slicePoints: points), inputs: [current], outputs: outputs)
            guard case let .runtime(name, pieceShape)? = try c.converter.value(outputs[wanted].onnx) else { return }
            current = name
            currentShape = pieceShape
        }
    }

    /// Constant padding of the two spatial axes of an NCHW value.
    static func pad(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        let mode = try c.string("mode", default: "constant")
        guard mode == "constant" else { throw c.unsupported("pads in mode '\(mode.prefix(20))'; graft pads with a constant") }
        guard var pads = try c.ints("pads") ?? c.integers(1, "pads") else { throw c.invalid("has no pads") }
        var value = try c.float("value", default: 0)
        if let given = try c.floats(2, "the constant value")?.first { value = given }
        if let axes = try c.integers(3, "axes") {
            guard pads.count == 2 * axes.count else { throw c.invalid("pads \(pads) do not fit axes \(axes)") }
            var full = [Int](repeating: 0, count: 2 * shape.count)
            for (k, axis) in axes.enumerated() {
                let a = try c.normalizedAxis(axis, rank: shape.count)
                full[a] = pads[k]
                full[a + shape.count] = pads[k + axes.count]
            }
            pads = full
        }
        guard pads.count == 2 * shape.count else { throw c.invalid("pads \(pads) do not fit rank \(shape.count)") }
        guard shape.count == 4, pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0 else {
            throw c.unsupported("pads \(pads) reach beyond the spatial axes of an NCHW value")
        }
        guard pads.allSatisfy({ $0 >= 0 }) else { throw c.unsupported("has negative pads (cropping) \(pads)") }
        guard pads.allSatisfy({ $0 <= Limits.size }) else { throw c.invalid("pads \(pads) exceed \(Limits.size)") }
        let sides = Sides(top: pads[2], bottom: pads[6], left: pads[3], right: pads[7])
        c.converter.emit(node: c.name, .pad(.init(layout: .nchw, padding: sides, value: Double(value))), inputs: [x], output: c.output,
                         shape: [shape[0], shape[1], shape[2] + sides.top + sides.bottom, shape[3] + sides.left + sides.right])
    }

    /// Resize and Upsample by whole factors of the spatial axes: nearest-neighbour where the
    /// coordinate rule picks the source cell `out / factor` (asymmetric with floor, the
    /// half-pixel rules with rounding, tf_half_pixel_for_nn with floor), and bilinear with the
    /// half-pixel rules (graft's bilinear is half-pixel with edge clamping).
    static func resize(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        guard shape.count == 4 else { throw c.unsupported("resizes a \(shape.count)-D value; graft resizes NCHW images") }
        let mode = try c.string("mode", default: "nearest")
        var factors: [Float]
        if c.opType == "Upsample" {
            guard let scales = try c.floatList("scales") ?? c.floats(1, "scales") else { throw c.invalid("has no scales") }
            factors = scales
        } else {
            guard try c.int("antialias", default: 0) == 0 else { throw c.unsupported("resizes with antialiasing") }
            let axes = try c.ints("axes")
            if let scales = try c.floats(2, "scales"), !scales.isEmpty {
                factors = scales
            } else if let symbolic = try c.constant(3)?.symbolicIntegers {
                // The batch entry of sizes (symbolic, or the batch the exporter traced with) is not
                // a resize: graft's batch stays open.
                var sizes = symbolic.map { $0.known ?? shape[0] }
                guard axes == nil || axes!.count == sizes.count else { throw c.invalid("sizes \(symbolic) do not fit axes \(axes!)") }
                for k in sizes.indices where (axes == nil ? k : try c.normalizedAxis(axes![k], rank: 4)) == 0 { sizes[k] = shape[0] }
                var full = shape
                if let axes {
                    guard sizes.count == axes.count else { throw c.invalid("sizes \(sizes) do not fit axes \(axes)") }
                    for (k, axis) in axes.enumerated() { full[try c.normalizedAxis(axis, rank: 4)] = sizes[k] }
                } else {
                    guard sizes.count == 4 else { throw c.invalid("sizes \(sizes) do not fit rank 4") }
                    full = sizes
                }
                factors = zip(full, shape).map { Float($0) / Float($1) }
            } else {
                throw c.invalid("has neither scales nor sizes")
            }
            if let axes, factors.count != 4 { factors = try expand(factors, axes: axes, rank: 4, fill: 1, c) }
        }
        guard factors.count == 4 else { throw c.invalid("scales \(factors) do not fit rank 4") }
        guard factors[0] == 1, factors[1] == 1 else { throw c.unsupported("resizes the batch or channel axis (scales \(factors))") }
        guard factors[2] >= 1, factors[3] >= 1, factors[2] <= 1024, factors[3] <= 1024,
              Float(Int(factors[2])) == factors[2], Float(Int(factors[3])) == factors[3] else {
            throw c.unsupported("resizes by \(factors[2])×\(factors[3]); graft upsamples by whole factors")
        }
        let fh = Int(factors[2]), fw = Int(factors[3])
        let coordinates = c.opType == "Upsample" ? "asymmetric" : try c.string("coordinate_transformation_mode", default: "half_pixel")
        let rounding = c.opType == "Upsample" ? "floor" : try c.string("nearest_mode", default: "round_prefer_floor")
        let interpolation: GraftOperation.UpSampling.Interpolation
        let halfPixel = coordinates == "half_pixel" || coordinates == "pytorch_half_pixel"
        switch mode {
        case "nearest":
            let rounds = rounding == "round_prefer_floor" || rounding == "round_prefer_ceil"
            let exact = (coordinates == "asymmetric" && rounding == "floor")
                || (coordinates == "asymmetric" && rounding == "round_prefer_floor" && max(fh, fw) <= 2)
                || (halfPixel && rounds) || (coordinates == "tf_half_pixel_for_nn" && rounding == "floor")
            guard exact else { throw c.unsupported("picks nearest cells by \(coordinates) with \(rounding), which is not repetition") }
            interpolation = .nearest
        case "linear", "bilinear":
            guard halfPixel || (fh == 1 && fw == 1) else { throw c.unsupported("interpolates linearly with \(coordinates); graft's bilinear is half_pixel") }
            interpolation = .bilinear
        default:
            throw c.unsupported("resizes with mode '\(mode.prefix(20))'")
        }
        let outputShape = [shape[0], shape[1], shape[2] * fh, shape[3] * fw]
        if fh == 1 && fw == 1 {
            c.converter.emit(node: c.name, .identity, inputs: [x], output: c.output, shape: outputShape)
            return
        }
        c.converter.emit(node: c.name, .upSampling2D(.init(layout: .nchw, size: Pair(fh, fw), interpolation: interpolation)),
                         inputs: [x], output: c.output, shape: outputShape)
    }

    private static func expand(_ values: [Float], axes: [Int], rank: Int, fill: Float, _ c: NodeContext) throws -> [Float] {
        guard values.count == axes.count else { throw c.invalid("has \(values.count) values for axes \(axes)") }
        var full = [Float](repeating: fill, count: rank)
        for (k, axis) in axes.enumerated() { full[try c.normalizedAxis(axis, rank: rank)] = values[k] }
        return full
    }
}
