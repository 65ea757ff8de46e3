import GraftModel

/// MaxPool, AveragePool, the global pools and ReduceMean/ReduceMax over the spatial axes.
enum Pooling {
    /// The output length ONNX gives a pooling window (onnxruntime's arithmetic): floor or ceil of
    /// `(in + pads − k) / s` plus one, and with ceil a last window that would start past the
    /// input and its leading padding is dropped.
    static func expectedLength(input: Int, kernel: Int, stride: Int, before: Int, after: Int, ceil: Bool) -> Int {
        let span = input + before + after - kernel
        var length = (ceil ? (span + stride - 1) / stride : span / stride) + 1
        if ceil && (length - 1) * stride >= input + before { length -= 1 }
        return length
    }

    static func window(_ c: NodeContext) throws {
        try c.requireOnlyFirstOutputUsed("the indices of the maxima")
        let (x, shape) = try c.runtime(0)
        guard shape.count == 4 else { throw c.unsupported("pools a \(shape.count - 2)-D input; graft converts 2-D pooling") }
        guard let kernelList = try c.ints("kernel_shape"), kernelList.count == 2, kernelList.allSatisfy({ $0 > 0 && $0 <= Limits.size }) else {
            throw c.invalid("kernel_shape must be two positive sizes")
        }
        let kernel = Pair(kernelList[0], kernelList[1])
        let strides = try Linear.pair(c, "strides", default: 1)
        let dilations = try Linear.pair(c, "dilations", default: 1)
        guard dilations == .square(1) else { throw c.unsupported("has dilations \(dilations)") }
        let size = Pair(shape[2], shape[3])
        let sides = try Linear.padding(c, size: size, kernel: kernel, strides: strides, dilations: dilations)
        let ceil = try c.int("ceil_mode", default: 0) != 0
        let isMax = c.opType == "MaxPool"
        let includePad = try c.int("count_include_pad", default: 0) != 0
        let pooling = GraftOperation.Pooling(layout: .nchw, poolSize: kernel, strides: strides, padding: .explicit(sides),
                                             rounding: ceil ? .ceil : .floor, divisor: includePad ? .padded : .valid)
        let expected = Pair(
            expectedLength(input: size.height, kernel: kernel.height, stride: strides.height, before: sides.top, after: sides.bottom, ceil: ceil),
            expectedLength(input: size.width, kernel: kernel.width, stride: strides.width, before: sides.left, after: sides.right, ceil: ceil))
        guard expected.height > 0, expected.width > 0 else { throw c.invalid("its window is larger than its padded input \(describe(shape))") }
        guard let out = pooling.outputSize(for: size), out == expected else {
            throw c.unsupported("its output size \(expected) follows a rounding rule graft's pooling does not")
        }
        c.converter.emit(node: c.name, isMax ? .maxPooling2D(pooling) : .averagePooling2D(pooling), inputs: [x], output: c.output,
                         shape: [shape[0], shape[1], out.height, out.width])
    }

    static func global(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        guard shape.count == 4 || shape.count == 3 else { throw c.unsupported("pools a \(shape.count - 2)-D input; graft converts 1-D and 2-D pooling") }
        let global = GraftOperation.GlobalPooling(layout: shape.count == 4 ? .nchw : .ncw, keepsDimensions: true)
        c.converter.emit(node: c.name, c.opType == "GlobalMaxPool" ? .globalMaxPooling(global) : .globalAveragePooling(global),
                         inputs: [x], output: c.output, shape: [shape[0], shape[1]] + Array(repeating: 1, count: shape.count - 2))
    }

    /// ReduceMean and ReduceMax over the two spatial axes of an NCHW value: global pooling.
    static func reduce(_ c: NodeContext) throws {
        let (x, shape) = try c.runtime(0)
        let axes = try c.ints("axes") ?? c.integers(1, "the axes") ?? Array(shape.indices)
        var normalized: Set<Int> = []
        for axis in axes { normalized.insert(try c.normalizedAxis(axis, rank: shape.count)) }
        guard shape.count == 4, normalized == [2, 3] else {
            throw c.unsupported("reduces axes \(axes.sorted()) of a \(shape.count)-D value; graft converts reductions over the spatial axes of NCHW values")
        }
        let keep = try c.int("keepdims", default: 1) != 0
        let global = GraftOperation.GlobalPooling(layout: .nchw, keepsDimensions: keep)
        c.converter.emit(node: c.name, c.opType == "ReduceMax" ? .globalMaxPooling(global) : .globalAveragePooling(global),
                         inputs: [x], output: c.output, shape: keep ? [shape[0], shape[1], 1, 1] : [shape[0], shape[1]])
    }
}
