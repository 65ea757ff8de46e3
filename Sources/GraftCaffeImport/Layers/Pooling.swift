import GraftModel

/// graft's op, not Foundation's `Operation` (NSOperation), which the name would otherwise also find.
private typealias Operation = GraftModel.Operation

extension Converter {
    // MARK: Pooling

    func convertPooling(_ layer: LayerDefinition, index: Int, input: String, shape: [Int]) throws {
        try require4D(layer, shape)
        let method = layer.pooling?.method ?? .max
        guard method != .stochastic else {
            throw CaffeImportError.unsupportedParameter(file: file, layer: layer.name, reason: "uses STOCHASTIC pooling")
        }
        let isMax = method == .max
        if let parameters = layer.pooling, parameters.global {
            let global = Operation.GlobalPooling(layout: .nchw, keepsDimensions: true)
            emit(layer, index: index, isMax ? .globalMaxPooling(global) : .globalAveragePooling(global), inputs: [input],
                 outputShapes: [[shape[0], shape[1], 1, 1]])
            return
        }
        guard let parameters = layer.pooling else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no pooling_param (kernel size needed)")
        }
        /// (height, width) from Caffe's single value or its `_h`/`_w` pair.
        func pair(_ value: Int?, height: Int?, width: Int?, what: String, default fallback: Int?) throws -> Pair {
            if height != nil || width != nil {
                guard let height, let width, value == nil else {
                    throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "\(what)_h and \(what)_w must be given together and without \(what)")
                }
                return Pair(height, width)
            }
            guard let size = value ?? fallback else {
                throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "it has no kernel_size")
            }
            return .square(size)
        }
        let kernel = try pair(parameters.kernelSize, height: parameters.kernelHeight, width: parameters.kernelWidth, what: "kernel", default: nil)
        let pad = try pair(parameters.pad, height: parameters.padHeight, width: parameters.padWidth, what: "pad", default: 0)
        let strides = try pair(parameters.stride, height: parameters.strideHeight, width: parameters.strideWidth, what: "stride", default: 1)
        guard kernel.height > 0, kernel.width > 0, strides.height > 0, strides.width > 0 else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "kernel and stride must be positive")
        }
        guard pad.height < kernel.height, pad.width < kernel.width else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "padding must be smaller than the kernel")
        }
        // Caffe's rounding, including its rule that drops a last window starting inside the
        // bottom or right padding, is `WindowArithmetic.poolingOutput`'s.
        let pooling = Operation.Pooling(
            layout: .nchw, poolSize: kernel, strides: strides,
            padding: .explicit(Sides(top: pad.height, bottom: pad.height, left: pad.width, right: pad.width)),
            rounding: parameters.roundMode == .floor ? .floor : .ceil, divisor: isMax ? .valid : .padded)
        guard let size = pooling.outputSize(for: Pair(shape[2], shape[3])) else {
            throw CaffeImportError.invalidLayer(file: file, layer: layer.name, reason: "its output would be empty for input \(describe(shape))")
        }
        emit(layer, index: index, isMax ? .maxPooling2D(pooling) : .averagePooling2D(pooling), inputs: [input],
             outputShapes: [[shape[0], shape[1], size.height, size.width]])
    }
}
