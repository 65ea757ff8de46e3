import GraftModel

/// Conv, ConvTranspose, Gemm and MatMul: the ops with weight matrices.
enum Linear {
    // MARK: Convolutions

    /// The explicit padding of a 2-D window op from `pads` and `auto_pad`, for an input of
    /// `size`. SAME_UPPER puts the odd cell after, SAME_LOWER before; the total is the one that
    /// makes the output `ceil(in / stride)`.
    static func padding(_ c: NodeContext, size: Pair, kernel: Pair, strides: Pair, dilations: Pair) throws -> Sides {
        let autoPad = try c.string("auto_pad", default: "NOTSET")
        switch autoPad {
        case "NOTSET":
            let pads = try c.ints("pads") ?? [0, 0, 0, 0]
            guard pads.count == 4 else { throw c.invalid("pads has \(pads.count) entries, expected 4 for a 2-D window") }
            guard pads.allSatisfy({ $0 >= 0 }) else { throw c.unsupported("has negative pads \(pads)") }
            guard pads.allSatisfy({ $0 <= Limits.size }) else { throw c.invalid("pads \(pads) exceed \(Limits.size)") }
            return Sides(top: pads[0], bottom: pads[2], left: pads[1], right: pads[3])
        case "VALID":
            return .zero
        case "SAME_UPPER", "SAME_LOWER":
            func split(_ input: Int, _ k: Int, _ s: Int, _ d: Int) -> (Int, Int) {
                let output = (input + s - 1) / s
                let total = max((output - 1) * s + (k - 1) * d + 1 - input, 0)
                return autoPad == "SAME_UPPER" ? (total / 2, total - total / 2) : (total - total / 2, total / 2)
            }
            let (top, bottom) = split(size.height, kernel.height, strides.height, dilations.height)
            let (left, right) = split(size.width, kernel.width, strides.width, dilations.width)
            return Sides(top: top, bottom: bottom, left: left, right: right)
        default:
            throw c.invalid("auto_pad is '\(autoPad.prefix(40))'")
        }
    }

    static func pair(_ c: NodeContext, _ key: String, default value: Int) throws -> Pair {
        guard let list = try c.ints(key) else { return .square(value) }
        guard list.count == 2 else { throw c.unsupported("has \(key) \(list); graft converts 2-D windows") }
        guard list.allSatisfy({ $0 > 0 && $0 <= Limits.size }) else { throw c.invalid("\(key) \(list) must be positive and at most \(Limits.size)") }
        return Pair(list[0], list[1])
    }

    /// ONNX's `[out, in, kh, kw]` (or ConvTranspose's `[in, out, kh, kw]`) as graft's
    /// `[kh, kw, in, out]` (`[kh, kw, out, in]`): element (a, b, y, x) goes to (y, x, b, a).
    static func spatialFirst(_ values: [Float], shape: [Int]) -> [Float] {
        let (a, b, h, w) = (shape[0], shape[1], shape[2], shape[3])
        var result = [Float](repeating: 0, count: values.count)
        for i in 0..<a {
            for j in 0..<b {
                for y in 0..<h {
                    for x in 0..<w {
                        result[((y * w + x) * b + j) * a + i] = values[((i * b + j) * h + y) * w + x]
                    }
                }
            }
        }
        return result
    }

    static func convolution(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        guard shape.count == 4 else { throw c.unsupported("is a \(shape.count - 2)-D convolution; graft converts 2-D ones") }
        let weight = try c.requiredConstant(1, "the weight")
        guard weight.shape.count == 4, let values = weight.floats else { throw c.invalid("the weight has shape \(describe(weight.shape)), expected 4-D") }
        let (outputs, perGroup) = (weight.shape[0], weight.shape[1])
        let groups = try c.int("group", default: 1)
        let channels = shape[1]
        guard groups >= 1, perGroup * groups == channels, outputs % groups == 0 else {
            throw c.invalid("weight \(describe(weight.shape)) with group \(groups) does not fit \(channels) input channels")
        }
        let kernel = Pair(weight.shape[2], weight.shape[3])
        if let given = try c.ints("kernel_shape"), given != [kernel.height, kernel.width] {
            throw c.invalid("kernel_shape \(given) differs from the weight's \(describe(weight.shape))")
        }
        let strides = try pair(c, "strides", default: 1), dilations = try pair(c, "dilations", default: 1)
        let size = Pair(shape[2], shape[3])
        let sides = try padding(c, size: size, kernel: kernel, strides: strides, dilations: dilations)
        let convolution = GraftOperation.Convolution(layout: .nchw, kernelSize: kernel, strides: strides, dilations: dilations,
                                                     padding: .explicit(sides), groups: groups)
        guard let out = convolution.outputSize(for: size) else { throw c.invalid("its window is larger than its padded input \(describe(shape))") }
        var weights = ["kernel": c.converter.addWeight(node: c.name, role: "kernel", shape: [kernel.height, kernel.width, perGroup, outputs],
                                                       values: spatialFirst(values, shape: weight.shape))]
        if let bias = try c.floats(2, "the bias") {
            guard bias.count == outputs else { throw c.invalid("the bias has \(bias.count) values for \(outputs) output channels") }
            weights["bias"] = c.converter.addWeight(node: c.name, role: "bias", shape: [outputs], values: bias)
        }
        c.converter.emit(node: c.name, .conv2D(convolution), inputs: [x], output: c.output,
                         shape: [shape[0], outputs, out.height, out.width], weights: weights)
    }

    static func transposedConvolution(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        guard shape.count == 4 else { throw c.unsupported("is a \(shape.count - 2)-D transposed convolution; graft converts 2-D ones") }
        let weight = try c.requiredConstant(1, "the weight")
        guard weight.shape.count == 4, let values = weight.floats else { throw c.invalid("the weight has shape \(describe(weight.shape)), expected 4-D") }
        let groups = try c.int("group", default: 1)
        let channels = shape[1]
        guard groups >= 1, weight.shape[0] == channels, channels % groups == 0 else {
            throw c.invalid("weight \(describe(weight.shape)) with group \(groups) does not fit \(channels) input channels")
        }
        let outputs = weight.shape[1] * groups
        let kernel = Pair(weight.shape[2], weight.shape[3])
        let strides = try pair(c, "strides", default: 1), dilations = try pair(c, "dilations", default: 1)
        let extra = try c.ints("output_padding") ?? [0, 0]
        guard extra.count == 2, extra.allSatisfy({ $0 >= 0 && $0 <= Limits.size }) else { throw c.invalid("output_padding \(extra) is invalid") }
        let size = Pair(shape[2], shape[3])
        // The full output is (in − 1)·s + (k − 1)·d + 1 + output_padding; pads crop it.
        func full(_ i: Int, _ k: Int, _ s: Int, _ d: Int, _ e: Int) -> Int { (i - 1) * s + (k - 1) * d + 1 + e }
        let fullHeight = full(size.height, kernel.height, strides.height, dilations.height, extra[0])
        let fullWidth = full(size.width, kernel.width, strides.width, dilations.width, extra[1])
        let autoPad = try c.string("auto_pad", default: "NOTSET")
        var sides: Sides
        if let target = try c.ints("output_shape") ?? (autoPad.hasPrefix("SAME") ? [size.height * strides.height, size.width * strides.width] : nil) {
            let wanted = Array(target.suffix(2))
            guard wanted.count == 2 else { throw c.invalid("output_shape \(target) is invalid") }
            let totalH = fullHeight - wanted[0], totalW = fullWidth - wanted[1]
            guard totalH >= 0, totalW >= 0 else { throw c.unsupported("asks for output \(wanted), larger than the full output") }
            // The specification's rule: SAME_UPPER crops the odd cell at the end, SAME_LOWER and an
            // explicit output_shape at the start.
            let upper = autoPad == "SAME_UPPER"
            sides = Sides(top: upper ? totalH / 2 : totalH - totalH / 2, bottom: upper ? totalH - totalH / 2 : totalH / 2,
                          left: upper ? totalW / 2 : totalW - totalW / 2, right: upper ? totalW - totalW / 2 : totalW / 2)
        } else if autoPad == "VALID" {
            sides = .zero
        } else {
            let pads = try c.ints("pads") ?? [0, 0, 0, 0]
            guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 <= Limits.size }) else { throw c.invalid("pads \(pads) are invalid for a 2-D window") }
            sides = Sides(top: pads[0], bottom: pads[2], left: pads[1], right: pads[3])
        }
        let convolution = GraftOperation.Convolution(layout: .nchw, kernelSize: kernel, strides: strides, dilations: dilations,
                                                     padding: .explicit(sides), groups: groups, outputPadding: Pair(extra[0], extra[1]))
        guard let out = convolution.outputSize(for: size, transposed: true) else { throw c.invalid("its output would be empty") }
        var weights = ["kernel": c.converter.addWeight(node: c.name, role: "kernel", shape: [kernel.height, kernel.width, weight.shape[1], channels],
                                                       values: spatialFirst(values, shape: weight.shape))]
        if let bias = try c.floats(2, "the bias") {
            guard bias.count == outputs else { throw c.invalid("the bias has \(bias.count) values for \(outputs) output channels") }
            weights["bias"] = c.converter.addWeight(node: c.name, role: "bias", shape: [outputs], values: bias)
        }
        c.converter.emit(node: c.name, .conv2DTranspose(convolution), inputs: [x], output: c.output,
                         shape: [shape[0], outputs, out.height, out.width], weights: weights)
    }

    // MARK: Products

    /// The transpose of a row-major `rows`×`columns` matrix.
    static func transposed(_ values: [Float], rows: Int, columns: Int) -> [Float] {
        var result = [Float](repeating: 0, count: values.count)
        for r in 0..<rows { for k in 0..<columns { result[k * rows + r] = values[r * columns + k] } }
        return result
    }

    /// Gemm: `alpha · A·B + beta · C` with A computed (`[N, K]`, not transposed), B and C known:
    /// a Dense node whose kernel is B (transposed when `transB`) and bias C.
    static func gemm(_ c: NodeContext) throws {
        let (a, shape) = try c.runtime(0)
        guard shape.count == 2 else { throw c.invalid("input A has shape \(describe(shape)), expected 2-D") }
        guard try c.int("transA", default: 0) == 0 else { throw c.unsupported("transposes its computed input (transA 1)") }
        let b = try c.requiredConstant(1, "B")
        guard b.shape.count == 2, var kernel = b.floats else { throw c.invalid("B has shape \(describe(b.shape)), expected 2-D") }
        let transB = try c.int("transB", default: 0) != 0
        let (inputs, outputs) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard inputs == shape[1] else { throw c.invalid("B \(describe(b.shape)) does not fit A \(describe(shape))") }
        if transB { kernel = transposed(kernel, rows: outputs, columns: inputs) }
        let alpha = try c.float("alpha", default: 1), beta = try c.float("beta", default: 1)
        if alpha != 1 { kernel = kernel.map { $0 * alpha } }
        var weights = ["kernel": c.converter.addWeight(node: c.name, role: "kernel", shape: [inputs, outputs], values: kernel)]
        if c.has(2) {
            guard case let .constant(bias) = try c.input(2) else { throw c.unsupported("adds a computed C") }
            let padded = [Int](repeating: 1, count: max(0, 2 - bias.shape.count)) + bias.shape
            guard let values = bias.floats, padded.count == 2, padded[0] == 1, padded[1] == 1 || padded[1] == outputs else {
                throw c.unsupported("adds C of shape \(describe(bias.shape)), which is not one value per output")
            }
            let row = values.count == 1 ? [Float](repeating: values[0], count: outputs) : values
            weights["bias"] = c.converter.addWeight(node: c.name, role: "bias", shape: [outputs], values: beta == 1 ? row : row.map { $0 * beta })
        }
        c.converter.emit(node: c.name, .dense(.init()), inputs: [a], output: c.output, shape: [shape[0], outputs], weights: weights)
    }

    /// MatMul of a computed value by a known 2-D matrix: a Dense node on the last axis. A bias
    /// added right after (`MatMul` then `Add`, as torch writes `Linear` on 3-D and 4-D values)
    /// becomes the Dense node's bias (`Elementwise.arithmetic`).
    static func matrixProduct(_ c: NodeContext) throws {
        guard case .runtime = try c.input(0) else { throw c.unsupported("multiplies a constant by a computed value") }
        let (a, shape) = try c.runtime(0)
        guard case let .constant(b) = try c.input(1) else { throw c.unsupported("multiplies two computed values") }
        guard b.shape.count == 2, let kernel = b.floats else { throw c.unsupported("multiplies by a \(b.shape.count)-D constant; graft converts 2-D matrices") }
        guard shape.count >= 2, shape.last == b.shape[0] else { throw c.invalid("cannot multiply \(describe(shape)) by \(describe(b.shape))") }
        let weight = c.converter.addWeight(node: c.name, role: "kernel", shape: b.shape, values: kernel)
        let value = c.converter.emit(node: c.name, .dense(.init()), inputs: [a], output: c.output,
                                     shape: Array(shape.dropLast()) + [b.shape[1]], weights: ["kernel": weight])
        if c.converter.consumerCount[c.output] == 1 { c.converter.biaslessDense[value] = c.converter.nodes.count - 1 }
    }
}
