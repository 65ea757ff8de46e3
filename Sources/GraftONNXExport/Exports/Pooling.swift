import GraftModel

/// MaxPooling2D and AveragePooling2D (MaxPool, AveragePool), global pooling.
enum Pooling {
    /// ONNX's output length (onnxruntime's arithmetic): with ceil_mode a last window starting past
    /// the input and its leading padding is dropped.
    static func onnxLength(input: Int, kernel: Int, stride: Int, before: Int, after: Int, ceil: Bool) -> Int {
        let span = input + before + after - kernel
        var length = (ceil ? (span + stride - 1) / stride : span / stride) + 1
        if ceil && (length - 1) * stride >= input + before { length -= 1 }
        return length
    }

    static func window(_ c: NodeExport, _ pooling: Operation.Pooling, max: Bool) throws {
        guard pooling.layout == .nhwc || pooling.layout == .nchw else { throw ExportProblem("has layout \(pooling.layout.rawValue); graft exports 2-D pooling") }
        let order = channelsFirstOrder(pooling.layout, rank: 4)
        let x = c.builder.value(c.input, in: order)
        var attributes: [ONNXAttribute] = [
            .init("kernel_shape", .ints([pooling.poolSize.height, pooling.poolSize.width])),
            .init("strides", .ints([pooling.strides.height, pooling.strides.width])),
        ]
        let shape = c.inputShape
        let (hAxis, wAxis) = pooling.layout == .nchw ? (2, 3) : (1, 2)
        let size = shape.count == 4 ? shape[hAxis].flatMap { h in shape[wAxis].map { Pair(h, $0) } } : nil
        if let size {
            let sides = pooling.resolvedPadding(for: size)
            attributes.append(.init("pads", .ints([sides.top, sides.left, sides.bottom, sides.right])))
            let ceil = pooling.rounding == .ceil
            let expected = Pair(
                onnxLength(input: size.height, kernel: pooling.poolSize.height, stride: pooling.strides.height, before: sides.top, after: sides.bottom, ceil: ceil),
                onnxLength(input: size.width, kernel: pooling.poolSize.width, stride: pooling.strides.width, before: sides.left, after: sides.right, ceil: ceil))
            guard pooling.outputSize(for: size) == expected else {
                throw ExportProblem("its output size \(pooling.outputSize(for: size).map(\.description) ?? "(none)") follows a rounding rule ONNX's pooling does not (\(expected))")
            }
            // onnxruntime drops a last window that starts in the padding, as Caffe does, but the
            // onnx package's shape inference does not: sizes after it are left open in the file.
            if ceil {
                let kept = { (i: Int, k: Int, s: Int, b: Int, a: Int) in (i + b + a - k + s - 1) / s + 1 }
                if kept(size.height, pooling.poolSize.height, pooling.strides.height, sides.top, sides.bottom) != expected.height
                    || kept(size.width, pooling.poolSize.width, pooling.strides.width, sides.left, sides.right) != expected.width {
                    c.builder.inferenceDisagrees = true
                }
            }
        } else if case let .explicit(sides) = pooling.padding {
            guard pooling.rounding == .floor || sides == .zero else { throw ExportProblem("rounds up with padding on an open input size") }
            attributes.append(.init("pads", .ints([sides.top, sides.left, sides.bottom, sides.right])))
        } else {
            attributes.append(.init("auto_pad", .string("SAME_UPPER")))
        }
        if pooling.rounding == .ceil { attributes.append(.init("ceil_mode", .int(1))) }
        if !max { attributes.append(.init("count_include_pad", .int(pooling.divisor == .padded ? 1 : 0))) }
        let result = c.step(max ? "MaxPool" : "AveragePool", [x], max ? "max_pool" : "average_pool", attributes)
        c.finish(result, order: order)
    }

    /// GlobalAveragePool/GlobalMaxPool keep the spatial axes as 1; without `keepdims` a Flatten
    /// drops them.
    static func global(_ c: NodeExport, _ pooling: Operation.GlobalPooling, max: Bool) throws {
        let rank = c.builder.rank(of: c.input)
        guard pooling.layout != .plain, rank >= 3 else { throw ExportProblem("pools a \(pooling.layout.rawValue) value") }
        let order = channelsFirstOrder(pooling.layout, rank: rank)
        let x = c.builder.value(c.input, in: order)
        var result = c.step(max ? "GlobalMaxPool" : "GlobalAveragePool", [x], max ? "global_max_pool" : "global_average_pool")
        if pooling.keepsDimensions {
            c.finish(result, order: order)
        } else {
            result = c.step("Flatten", [result], "flatten", [.init("axis", .int(1))])
            c.finish(result, order: identity(2))
        }
    }
}
