import GraftModel

/// Conv2D, DepthwiseConv2D, Conv2DTranspose (ONNX Conv and ConvTranspose) and Dense (Gemm, or
/// MatMul and Add on values of other ranks).
enum Linear {
    enum Kind { case regular, depthwise, transposed }

    /// graft's `[kh, kw, A, B]` kernel as ONNX's `[B, A, kh, kw]`: element (y, x, a, b) goes to
    /// (b, a, y, x). Conv: A = Cin/groups, B = Cout. ConvTranspose: A = Cout/groups, B = Cin.
    /// Depthwise: `[kh, kw, C, m]` read as `[kh, kw, 1, C·m]`, channel `c·m + j`.
    static func channelsFirst(_ k: UnsafeBufferPointer<Float>, height: Int, width: Int, a: Int, b: Int) -> [Float] {
        var result = [Float](repeating: 0, count: k.count)
        for y in 0..<height {
            for x in 0..<width {
                for i in 0..<a {
                    for j in 0..<b {
                        result[((j * a + i) * height + y) * width + x] = k[((y * width + x) * a + i) * b + j]
                    }
                }
            }
        }
        return result
    }

    static func convolution(_ c: NodeExport, _ conv: Operation.Convolution, kind: Kind) throws {
        guard conv.layout == .nhwc || conv.layout == .nchw else { throw ExportProblem("has layout \(conv.layout.rawValue); graft exports 2-D convolutions") }
        let x = c.builder.channelsFirst(c.input, layout: conv.layout)
        let kernelName = try c.requiredWeight("kernel")
        let shape = c.builder.weightShape(kernelName)
        guard shape.count == 4 else { throw ExportProblem("has a kernel of shape \(shape), expected 4-D") }
        let (kh, kw) = (shape[0], shape[1])
        var attributes: [ONNXAttribute] = [
            .init("kernel_shape", .ints([kh, kw])),
            .init("strides", .ints([conv.strides.height, conv.strides.width])),
            .init("dilations", .ints([conv.dilations.height, conv.dilations.width])),
        ]
        let (a, b, group): (Int, Int, Int)
        switch kind {
        case .regular: (a, b, group) = (shape[2], shape[3], conv.groups)
        case .depthwise: (a, b, group) = (1, shape[2] * shape[3], shape[2])
        case .transposed: (a, b, group) = (shape[2], shape[3], conv.groups)
        }
        attributes.append(.init("group", .int(group)))
        let onnxShape = [b, a, kh, kw]
        let kernel = try c.builder.weight(kernelName, key: "oihw") { values, _ in
            (channelsFirst(values, height: kh, width: kw, a: a, b: b), onnxShape)
        }
        let inputShape = c.inputShape
        let (hAxis, wAxis) = conv.layout == .nchw ? (2, 3) : (1, 2)
        switch conv.padding {
        case let .explicit(sides):
            attributes.append(.init("pads", .ints([sides.top, sides.left, sides.bottom, sides.right])))
        case .same:
            if inputShape.count == 4, let h = inputShape[hAxis], let w = inputShape[wAxis] {
                let sides = conv.padding.resolved(for: Pair(h, w), kernel: conv.kernelSize, strides: conv.strides, dilations: conv.dilations)
                attributes.append(.init("pads", .ints([sides.top, sides.left, sides.bottom, sides.right])))
            } else {
                guard kind != .transposed else { throw ExportProblem("has padding \"same\" on an open input size") }
                // TensorFlow's rule puts the odd cell after: ONNX's SAME_UPPER.
                attributes.append(.init("auto_pad", .string("SAME_UPPER")))
            }
        }
        if kind == .transposed {
            attributes.append(.init("output_padding", .ints([conv.outputPadding.height, conv.outputPadding.width])))
        }
        var inputs = [x, kernel]
        if let bias = c.weight("bias") { inputs.append(try c.builder.weight(bias)) }
        var result = c.step(kind == .transposed ? "ConvTranspose" : "Conv", inputs, kind == .transposed ? "conv_transpose" : "conv", attributes)
        result = try Activations.apply(conv.activation, to: result, c)
        c.finish(result, order: channelsFirstOrder(conv.layout, rank: 4))
    }

    static func dense(_ c: NodeExport, _ dense: Operation.Dense) throws {
        let x = c.builder.semantic(c.input)
        let kernel = try c.builder.weight(try c.requiredWeight("kernel"))
        let bias = try c.weight("bias").map { try c.builder.weight($0) }
        var result: String
        if c.builder.rank(of: c.input) == 2 {
            result = c.step("Gemm", [x, kernel] + (bias.map { [$0] } ?? []), "gemm")
        } else {
            result = c.step("MatMul", [x, kernel], "matmul")
            if let bias { result = c.step("Add", [result, bias], "bias") }
        }
        result = try Activations.apply(dense.activation, to: result, c)
        c.finish(result, order: identity(c.outputShape.count))
    }
}
