import GraftModel

extension GraphBuilder {
    // MARK: Shape and layout

    /// ZeroPadding2D / Cropping2D amounts: `n`, `[a, b]` (symmetric per axis), `[[t, b], [l, r]]`,
    /// Keras 1's `[t, b, l, r]` or `{"top_pad", …}`.
    func fourSides(_ value: JSONValue?, keys: [String], call: LayerCall) throws -> Sides {
        if let single = value?.integerValue { return Sides(top: single, bottom: single, left: single, right: single) }
        if let flat = value?.integerArray {
            if flat.count == 2 { return Sides(top: flat[0], bottom: flat[0], left: flat[1], right: flat[1]) }
            if flat.count == 4 { return Sides(top: flat[0], bottom: flat[1], left: flat[2], right: flat[3]) }
        }
        if let pairs = value?.arrayValue, pairs.count == 2, let first = integers(pairs[0], count: 2), let second = integers(pairs[1], count: 2) {
            return Sides(top: first[0], bottom: first[1], left: second[0], right: second[1])
        }
        if let members = value?.objectValue {
            let sides = keys.compactMap { members[$0]?.integerValue }
            if sides.count == 4 { return Sides(top: sides[0], bottom: sides[1], left: sides[2], right: sides[3]) }
        }
        throw unsupported(call, "has an amount graft cannot read (\(value ?? .null))")
    }

    func convertPadding(_ call: LayerCall) throws -> Value {
        let input = try singleImage(call)
        let sides = try fourSides(call.config["padding"], keys: ["top_pad", "bottom_pad", "left_pad", "right_pad"], call: call)
        let layout = layout(forFormat: dataFormat(of: call.config) ?? "channels_last", rank: 4, call: call)
        let spatial = axes(of: layout)
        var shape = input.shape
        shape[spatial.height] = shape[spatial.height].map { $0 + sides.top + sides.bottom }
        shape[spatial.width] = shape[spatial.width].map { $0 + sides.left + sides.right }
        return try emit(call.nodeName, .pad(.init(layout: layout, padding: sides)), [input], shape: shape, layout: layout)
    }

    func convertCropping(_ call: LayerCall) throws -> Value {
        let input = try singleImage(call)
        let sides = try fourSides(call.config["cropping"], keys: ["top_crop", "bottom_crop", "left_crop", "right_crop"], call: call)
        let layout = layout(forFormat: dataFormat(of: call.config) ?? "channels_last", rank: 4, call: call)
        let spatial = axes(of: layout)
        var shape = input.shape
        shape[spatial.height] = shape[spatial.height].map { $0 - sides.top - sides.bottom }
        shape[spatial.width] = shape[spatial.width].map { $0 - sides.left - sides.right }
        return try emit(call.nodeName, .crop(.sides(layout: layout, cropping: sides)), [input], shape: shape, layout: layout)
    }

    func convertUpSampling(_ call: LayerCall) throws -> Value {
        let input = try singleImage(call)
        guard let size = pair(call.config["size"]) else { throw unsupported(call, "has no size") }
        let name = call.config["interpolation"]?.stringValue ?? "nearest"
        guard let interpolation = Operation.UpSampling.Interpolation(rawValue: name) else {
            throw unsupported(call, "uses '\(name)' interpolation")
        }
        let layout = layout(forFormat: dataFormat(of: call.config) ?? "channels_last", rank: 4, call: call)
        let spatial = axes(of: layout)
        var shape = input.shape
        shape[spatial.height] = shape[spatial.height].map { $0 * size.height }
        shape[spatial.width] = shape[spatial.width].map { $0 * size.width }
        return try emit(call.nodeName, .upSampling2D(.init(layout: layout, size: size, interpolation: interpolation)), [input],
                        shape: shape, layout: layout)
    }

    func product(_ dimensions: some Sequence<Int?>) -> Int? {
        var result = 1
        for dimension in dimensions {
            guard let dimension else { return nil }
            result *= dimension
        }
        return result
    }

    /// Flatten. A Keras 2/3 Flatten with `data_format: channels_first` moves the channels last
    /// before flattening (so weights keep their order across data formats): a Transpose first.
    func convertFlatten(_ call: LayerCall) throws -> Value {
        var input = try single(call)
        if call.config["data_format"]?.stringValue == "channels_first", input.rank > 2 {
            let permutation = [0] + Array(2..<input.rank) + [1]
            let shape = permutation.map { input.shape[$0] }
            input = try emit(call.nodeName + "/channels_last", .transpose(permutation: permutation), [input], shape: shape, layout: .plain)
        }
        return try emit(call.nodeName, .flatten, [input], shape: [nil, product(input.shape.dropFirst())], layout: .plain)
    }

    func convertReshape(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        guard let target = call.config["target_shape"]?.arrayValue?.map({ $0.integerValue ?? -1 }) else {
            throw unsupported(call, "has no target_shape")
        }
        var shape: [Int?] = target.map { $0 == -1 ? nil : $0 }
        if let unknown = target.firstIndex(of: -1), let total = product(input.shape.dropFirst()) {
            let known = target.filter { $0 != -1 }.reduce(1, *)
            if known > 0 { shape[unknown] = total / known }
        }
        let layout = input.rank == target.count + 1 ? input.layout : defaultLayout(rank: target.count + 1)
        return try emit(call.nodeName, .reshape(shape: target), [input], shape: [nil] + shape, layout: layout)
    }

    func convertPermute(_ call: LayerCall) throws -> Value {
        let input = try single(call)
        guard let dims = call.config["dims"]?.integerArray, dims.count == input.rank - 1 else {
            throw unsupported(call, "has dims that do not match its input")
        }
        let permutation = [0] + dims
        return try emit(call.nodeName, .transpose(permutation: permutation), [input], shape: permutation.map { input.shape[$0] },
                        layout: .plain)
    }
}
