import GraftModel

/// Pad, Crop, UpSampling2D, Flatten, Reshape, Transpose and Slice.
enum ShapeOps {
    static func spatialOrder(_ c: NodeExport, _ layout: Layout) throws -> [Int] {
        guard layout == .nhwc || layout == .nchw, c.builder.rank(of: c.input) == 4 else {
            throw ExportProblem("acts on a \(layout.rawValue) value of rank \(c.builder.rank(of: c.input)); graft exports 4-D ones")
        }
        return channelsFirstOrder(layout, rank: 4)
    }

    static func pad(_ c: NodeExport, _ pad: Operation.Pad) throws {
        let order = try spatialOrder(c, pad.layout)
        let x = c.builder.value(c.input, in: order)
        let p = pad.padding
        let pads = c.builder.integers([0, 0, p.top, p.left, 0, 0, p.bottom, p.right], name: "\(c.name)/pads")
        let value = c.builder.scalar(Float(pad.value), name: "\(c.name)/value")
        c.finish(c.step("Pad", [x, pads, value], "pad", [.init("mode", .string("constant"))]), order: order)
    }

    static func crop(_ c: NodeExport, _ crop: Operation.Crop) throws {
        switch crop {
        case let .sides(layout, cropping):
            let order = try spatialOrder(c, layout)
            let x = c.builder.value(c.input, in: order)
            // Ends counted from the end; INT64_MAX reaches it.
            let end = { (side: Int) in side == 0 ? Int(Int64.max) : -side }
            let starts = c.builder.integers([cropping.top, cropping.left], name: "\(c.name)/starts")
            let ends = c.builder.integers([end(cropping.bottom), end(cropping.right)], name: "\(c.name)/ends")
            let axes = c.builder.integers([2, 3], name: "\(c.name)/axes")
            c.finish(c.step("Slice", [x, starts, ends, axes], "crop"), order: order)
        case let .reference(axis, offsets):
            let rank = c.builder.rank(of: c.input)
            let first = try c.axis(axis, rank: rank)
            let order = c.builder.order(of: c.input)
            let x = c.builder.value(c.input, in: order)
            var starts: [Int] = [], ends: [Int] = [], axes: [Int] = []
            for (k, semantic) in (first..<rank).enumerated() {
                guard let size = c.outputShape[semantic] else { throw ExportProblem("crops axis \(semantic) to an open size") }
                let offset = offsets.count == 1 ? offsets[0] : offsets[k]
                starts.append(offset)
                ends.append(offset + size)
                axes.append(order.firstIndex(of: semantic)!)
            }
            let result = c.step("Slice", [x, c.builder.integers(starts, name: "\(c.name)/starts"), c.builder.integers(ends, name: "\(c.name)/ends"),
                                          c.builder.integers(axes, name: "\(c.name)/axes")], "crop")
            c.finish(result, order: order)
        }
    }

    /// Resize by integer factors: nearest as Keras repeats cells (asymmetric coordinates, floor),
    /// bilinear with half-pixel centres as TensorFlow's resize.
    static func upSampling(_ c: NodeExport, _ up: Operation.UpSampling) throws {
        let order = try spatialOrder(c, up.layout)
        let x = c.builder.value(c.input, in: order)
        let scales = c.builder.constant([1, 1, Float(up.size.height), Float(up.size.width)], dims: [4], name: "\(c.name)/scales")
        let attributes: [ONNXAttribute] = switch up.interpolation {
        case .nearest: [.init("mode", .string("nearest")), .init("coordinate_transformation_mode", .string("asymmetric")),
                        .init("nearest_mode", .string("floor"))]
        case .bilinear: [.init("mode", .string("linear")), .init("coordinate_transformation_mode", .string("half_pixel"))]
        }
        c.finish(c.step("Resize", [x, "", scales], "resize", attributes), order: order)
    }

    static func flatten(_ c: NodeExport) throws {
        let x = c.builder.semantic(c.input)
        c.finish(c.step("Flatten", [x], "flatten", [.init("axis", .int(1))]), order: identity(2))
    }

    /// Reshape with the batch copied (0) and graft's shape after it.
    static func reshape(_ c: NodeExport, shape: [Int]) throws {
        let x = c.builder.semantic(c.input)
        let target = c.builder.integers([0] + shape, name: "\(c.name)/shape")
        c.finish(c.step("Reshape", [x, target], "reshape"), order: identity(shape.count + 1))
    }

    static func transpose(_ c: NodeExport, permutation: [Int]) throws {
        // Transposing the held value directly composes the two orders.
        let order = c.builder.order(of: c.input)
        let x = c.builder.value(c.input, in: order)
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        let perm = permutation.map { inverse[$0] }
        c.finish(c.step("Transpose", [x], "transpose", [.init("perm", .ints(perm))]), order: identity(permutation.count))
    }

    /// Slice into pieces along one axis: Split with the pieces' sizes.
    static func slice(_ c: NodeExport, axis: Int, points: [Int]) throws {
        let order = c.builder.order(of: c.input)
        let resolved = try c.axis(axis, rank: order.count)
        let x = c.builder.value(c.input, in: order)
        var sizes: [Int] = []
        for shape in c.node.outputShapes {
            guard resolved < shape.count, let size = shape[resolved] else { throw ExportProblem("slices an axis of open size") }
            sizes.append(size)
        }
        let outputs = c.node.outputs.map { c.builder.temporary("\(c.name)/\($0)") }
        c.builder.emit("Split", inputs: [x, c.builder.integers(sizes, name: "\(c.name)/split")], outputs: outputs, node: c.name,
                       attributes: [.init("axis", .int(order.firstIndex(of: resolved)!))])
        for (index, output) in outputs.enumerated() { c.finish(output, order: order, index: index) }
    }
}
