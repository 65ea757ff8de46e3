import GraftNumerics
/// The sizes of a pooling window sweep over NHWC data.
struct PoolingGeometry: Equatable {
    var batch: Int, inputHeight: Int, inputWidth: Int, channels: Int
    var outputHeight: Int, outputWidth: Int
    var windowHeight: Int, windowWidth: Int
    var strideHeight: Int, strideWidth: Int
    var padTop: Int, padBottom: Int, padLeft: Int, padRight: Int
}

/// Max pooling: padding reads as −∞, so only input cells compete.
struct MaxPooling {
    let geometry: PoolingGeometry

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let g = geometry
        let channels = g.channels
        parallelFor(g.batch * g.outputHeight, threads: threads) { block in
            for line in block {
                let oh = line % g.outputHeight
                let n = line / g.outputHeight
                let h0 = max(oh * g.strideHeight - g.padTop, 0)
                let h1 = min(oh * g.strideHeight - g.padTop + g.windowHeight, g.inputHeight)
                let image = input + n * g.inputHeight * g.inputWidth * channels
                for ow in 0..<g.outputWidth {
                    let w0 = max(ow * g.strideWidth - g.padLeft, 0)
                    let w1 = min(ow * g.strideWidth - g.padLeft + g.windowWidth, g.inputWidth)
                    let out = output + (line * g.outputWidth + ow) * channels
                    out.update(repeating: -.infinity, count: channels)
                    if h0 >= h1 || w0 >= w1 { continue }
                    for ih in h0..<h1 {
                        for iw in w0..<w1 {
                            let pixel = image + (ih * g.inputWidth + iw) * channels
                            for c in 0..<channels { out[c] = max(out[c], pixel[c]) }
                        }
                    }
                }
            }
        }
    }
}

/// Average pooling. `countsPadding` false divides by the input cells in the window (Keras);
/// true divides by the window clipped to the padded extent `[−before, in + after)` (Caffe).
struct AveragePooling {
    let geometry: PoolingGeometry
    let countsPadding: Bool

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let g = geometry
        let channels = g.channels
        let countsPadding = countsPadding
        parallelFor(g.batch * g.outputHeight, threads: threads) { block in
            for line in block {
                let oh = line % g.outputHeight
                let n = line / g.outputHeight
                let top = oh * g.strideHeight - g.padTop
                let paddedH = min(top + g.windowHeight, g.inputHeight + g.padBottom) - top
                let h0 = max(top, 0), h1 = min(top + g.windowHeight, g.inputHeight)
                let image = input + n * g.inputHeight * g.inputWidth * channels
                for ow in 0..<g.outputWidth {
                    let left = ow * g.strideWidth - g.padLeft
                    let paddedW = min(left + g.windowWidth, g.inputWidth + g.padRight) - left
                    let w0 = max(left, 0), w1 = min(left + g.windowWidth, g.inputWidth)
                    let out = output + (line * g.outputWidth + ow) * channels
                    out.update(repeating: 0, count: channels)
                    let cells = max(h1 - h0, 0) * max(w1 - w0, 0)
                    if cells == 0 { continue }
                    for ih in h0..<h1 {
                        for iw in w0..<w1 {
                            let pixel = image + (ih * g.inputWidth + iw) * channels
                            for c in 0..<channels { out[c] += pixel[c] }
                        }
                    }
                    let divisor = countsPadding ? paddedH * paddedW : cells
                    let scale = 1 / Float(divisor)
                    for c in 0..<channels { out[c] *= scale }
                }
            }
        }
    }
}

/// Global average or maximum over the middle axis of `[outer, positions, channels]`.
struct GlobalPooling {
    let batch: Int, positions: Int, channels: Int
    let isMaximum: Bool

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let batch = batch, positions = positions, channels = channels, isMaximum = isMaximum
        // Split channels into blocks too, so a batch of one still uses every thread.
        let blockSize = 64
        let blocks = (channels + blockSize - 1) / blockSize
        parallelFor(batch * blocks, threads: threads) { range in
            for item in range {
                let n = item / blocks
                let c0 = (item % blocks) * blockSize
                let width = min(blockSize, channels - c0)
                let out = output + n * channels + c0
                let image = input + n * positions * channels + c0
                if isMaximum {
                    out.update(repeating: -.infinity, count: width)
                    for p in 0..<positions {
                        let pixel = image + p * channels
                        for c in 0..<width { out[c] = max(out[c], pixel[c]) }
                    }
                } else {
                    out.update(repeating: 0, count: width)
                    for p in 0..<positions {
                        let pixel = image + p * channels
                        for c in 0..<width { out[c] += pixel[c] }
                    }
                    let scale = 1 / Float(positions)
                    for c in 0..<width { out[c] *= scale }
                }
            }
        }
    }
}
