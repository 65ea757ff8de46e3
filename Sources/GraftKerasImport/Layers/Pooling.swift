import GraftModel

extension GraphBuilder {
    // MARK: Pooling

    /// MaxPooling and AveragePooling, 2-D or 1-D (as 2-D over [N, 1, W, C] or [N, C, 1, W]
    /// between two Reshapes); `operation` makes the op of the pooling attributes.
    func convertPooling(_ call: LayerCall, _ operation: (Operation.Pooling) -> Operation, oneDimensional: Bool) throws -> Value {
        let input = try single(call)
        let config = call.config
        let format = dataFormat(of: config) ?? "channels_last"
        let mode = (config["padding"]?.stringValue ?? config["border_mode"]?.stringValue ?? "valid").lowercased()
        if oneDimensional {
            guard input.rank == 3 else { throw unsupported(call, "reads a value of rank \(input.rank), not 3") }
            guard let size = integers(config["pool_size"], count: 1)?.first ?? config["pool_length"]?.integerValue else {
                throw badConfiguration(call, "has no pool size (expected 'pool_size', or Keras 1's 'pool_length')")
            }
            let stride = (config["strides"].flatMap { $0 == .null ? nil : integers($0, count: 1)?.first }) ?? config["stride"]?.integerValue ?? size
            let channelsFirst = format == "channels_first"
            let width = input.shape[channelsFirst ? 2 : 1]
            let channels = input.shape[channelsFirst ? 1 : 2]
            let layout2D: Layout = channelsFirst ? .nchw : .nhwc
            let expandedShape: [Int?] = channelsFirst ? [nil, channels, 1, width] : [nil, 1, width, channels]
            let expanded = try emit(call.nodeName + "/expand", .reshape(shape: expandedShape.dropFirst().map { $0 ?? -1 }), [input],
                                    shape: expandedShape, layout: layout2D)
            var pooling = Operation.Pooling(layout: layout2D, poolSize: Pair(1, size), strides: Pair(1, stride),
                                            padding: try padding(mode: mode, kernel: Pair(1, size), call: call))
            let outputWidth = try place(&pooling, over: (1, width), call: call).width
            let pooledShape: [Int?] = channelsFirst ? [nil, channels, 1, outputWidth] : [nil, 1, outputWidth, channels]
            let pooled = try emit(call.nodeName + "/pooling", operation(pooling), [expanded], shape: pooledShape, layout: layout2D)
            let outputShape: [Int?] = channelsFirst ? [nil, channels, outputWidth] : [nil, outputWidth, channels]
            return try emit(call.nodeName, .reshape(shape: outputShape.dropFirst().map { $0 ?? -1 }), [pooled],
                            shape: outputShape, layout: channelsFirst ? .ncw : .nwc)
        }
        guard input.rank == 4 else { throw unsupported(call, "reads a value of rank \(input.rank), not 4") }
        guard let size = pair(config["pool_size"]) else {
            throw badConfiguration(call, "has no pool size (expected 'pool_size')")
        }
        let strides = (config["strides"].flatMap { $0 == .null ? nil : pair($0) }) ?? size
        let layout = layout(forFormat: format, rank: 4, call: call)
        var pooling = Operation.Pooling(layout: layout, poolSize: size, strides: strides,
                                        padding: try padding(mode: mode, kernel: size, call: call))
        let output = try place(&pooling, over: spatialSizes(of: input, layout: layout), call: call)
        let channels = input.shape[axes(of: layout).channels]
        return try emit(call.nodeName, operation(pooling), [input],
                        shape: shape4(layout: layout, height: output.height, width: output.width, channels: channels), layout: layout)
    }

    /// GlobalAveragePooling and GlobalMaxPooling, 1-D or 2-D; `operation` makes the op.
    func convertGlobalPooling(_ call: LayerCall, _ operation: (Operation.GlobalPooling) -> Operation) throws -> Value {
        let input = try single(call)
        let format = dataFormat(of: call.config) ?? "channels_last"
        let keepDimensions = call.config["keepdims"]?.boolValue ?? false
        guard input.rank == 3 || input.rank == 4 else { throw unsupported(call, "reads a value of rank \(input.rank)") }
        let layout = layout(forFormat: format, rank: input.rank, call: call)
        let channelAxis = format == "channels_first" ? 1 : input.rank - 1
        let channels = input.shape[channelAxis]
        var shape: [Int?]
        if keepDimensions {
            shape = [nil] + Array(repeating: 1, count: input.rank - 1)
            shape[channelAxis] = channels
        } else {
            shape = [nil, channels]
        }
        return try emit(call.nodeName, operation(.init(layout: layout, keepsDimensions: keepDimensions)), [input], shape: shape,
                        layout: keepDimensions ? layout : .plain)
    }
}
