import GraftModel

extension Converter {
    // MARK: Shape

    func convertCrop(_ layer: LayerDefinition, index: Int, inputs: [String]) throws {
        guard inputs.count == 2 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has \(inputs.count) bottoms, expected 2 (the blob and the reference)")
        }
        let source = valueShape(inputs[0]), reference = valueShape(inputs[1])
        guard source.count == reference.count else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its inputs \(describe(source)) and \(describe(reference)) differ in rank")
        }
        let axis = try normalizedAxis(layer.crop.axis, rank: source.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "crops") }
        let given = layer.crop.offsets
        let cropped = source.count - axis
        guard given.count <= 1 || given.count == cropped else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has \(given.count) offsets for \(cropped) cropped axes")
        }
        let offsets = given.count == cropped ? given : Array(repeating: given.first ?? 0, count: cropped)
        var output = source
        for (position, axisIndex) in (axis..<source.count).enumerated() {
            guard offsets[position] + reference[axisIndex] <= source[axisIndex] else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "offset \(offsets[position]) plus size \(reference[axisIndex]) exceeds \(source[axisIndex]) on axis \(axisIndex)")
            }
            output[axisIndex] = reference[axisIndex]
        }
        emit(layer, index: index, .crop(.reference(axis: axis, offsets: offsets)), inputs: inputs, outputShapes: [output])
    }

    func convertFlatten(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        let axis = try normalizedAxis(layer.flatten.axis, rank: shape.count, layer: layer)
        let end = try normalizedAxis(layer.flatten.endAxis, rank: shape.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "flattens") }
        guard end >= axis else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "end_axis \(end) precedes axis \(axis)") }
        let output = Array(shape[..<axis]) + [shape[axis...end].reduce(1, *)] + Array(shape[(end + 1)...])
        if axis == 1 && end == shape.count - 1 {
            emit(layer, index: index, .flatten, inputs: [input], outputShapes: [output])
        } else {
            emit(layer, index: index, .reshape(shape: Array(output.dropFirst())), inputs: [input], outputShapes: [output])
        }
    }

    func convertReshape(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        let dims = layer.reshape.shape
        let axis = try normalizedAxis(layer.reshape.axis, rank: shape.count, layer: layer, allowEnd: true)
        let rawCount = layer.reshape.axisCount
        let count = rawCount == -1 ? shape.count - axis : rawCount
        guard count >= 0, axis + count <= shape.count else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "num_axes \(rawCount) from axis \(axis) exceeds the \(shape.count)-D input")
        }
        var middle: [Int] = []
        var inferred: Int? = nil
        for (position, dim) in dims.enumerated() {
            switch dim {
            case 0:
                guard axis + position < shape.count else {
                    throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "dimension \(position) is 0 (copy) but the input has no axis \(axis + position)")
                }
                middle.append(shape[axis + position])
            case -1:
                guard inferred == nil else { throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "more than one dimension is -1") }
                inferred = position
                middle.append(1)
            case 1...: middle.append(dim)
            default: throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "dimension \(dim) is invalid")
            }
        }
        var output = Array(shape[..<axis]) + middle + Array(shape[(axis + count)...])
        let total = shape.reduce(1, *)
        if let inferred {
            let known = output.reduce(1, *)
            guard known > 0, total % known == 0 else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "\(describe(shape)) cannot be reshaped to \(describe(dims))")
            }
            output[axis + inferred] = total / known
        }
        guard output.reduce(1, *) == total else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "\(describe(shape)) cannot be reshaped to \(describe(dims))")
        }
        // The first output axis must remain the batch: Caffe copies it (dim 0, or an axis past
        // 0) or the prototxt restates the declared batch size.
        let keepsBatch = axis > 0 || (dims.first == 0) || (dims.first == batch && (inferred ?? 1) != 0)
        guard keepsBatch, output.first == shape.first else {
            throw batchAxisRefused(layer, "reshapes")
        }
        emit(layer, index: index, .reshape(shape: Array(output.dropFirst())), inputs: [input], outputShapes: [output])
    }

    func convertSlice(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        let rawAxis = layer.slice.axis ?? layer.slice.sliceDimension ?? 1
        let axis = try normalizedAxis(rawAxis, rank: shape.count, layer: layer)
        guard axis > 0 else { throw batchAxisRefused(layer, "slices") }
        var points = layer.slice.slicePoints
        let pieces = layer.tops.count
        if points.isEmpty {
            guard shape[axis] % pieces == 0 else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "axis \(axis) of size \(shape[axis]) does not split into \(pieces) equal pieces")
            }
            points = (1..<pieces).map { $0 * shape[axis] / pieces }
        }
        guard points.count == pieces - 1, zip([0] + points, points + [shape[axis]]).allSatisfy({ $0 < $1 }) else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "slice points \(describe(points)) do not split axis \(axis) of size \(shape[axis]) into \(pieces) pieces")
        }
        let bounds = [0] + points + [shape[axis]]
        let outputShapes = (0..<pieces).map { piece -> [Int] in
            var output = shape
            output[axis] = bounds[piece + 1] - bounds[piece]
            return output
        }
        emit(layer, index: index, .slice(axis: axis, slicePoints: points), inputs: [input], outputShapes: outputShapes)
    }

    func convertPermute(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        var order = layer.permute.order
        guard order.allSatisfy({ $0 < shape.count }), Set(order).count == order.count else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "order \(describe(order)) is not a permutation of \(shape.count) axes")
        }
        // Axes the order leaves out follow in their own order, as the SSD fork does.
        for axis in 0..<shape.count where !order.contains(axis) { order.append(axis) }
        guard order.first == 0 else { throw batchAxisRefused(layer, "moves") }
        emit(layer, index: index, .transpose(permutation: order), inputs: [input], outputShapes: [order.map { shape[$0] }])
    }
}
