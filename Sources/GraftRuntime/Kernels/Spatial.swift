import GraftNumerics
/// Constant padding of NHWC data.
struct PadKernel {
    let batch: Int, height: Int, width: Int, channels: Int
    let top: Int, bottom: Int, left: Int, right: Int
    let value: Float

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let outHeight = height + top + bottom, outWidth = width + left + right
        let channels = channels, height = height, width = width, top = top, left = left, right = right, value = value
        parallelFor(batch * outHeight, threads: threads) { lines in
            for line in lines {
                let oh = line % outHeight, n = line / outHeight
                let out = output + line * outWidth * channels
                let ih = oh - top
                if ih < 0 || ih >= height {
                    out.update(repeating: value, count: outWidth * channels)
                    continue
                }
                out.update(repeating: value, count: left * channels)
                (out + left * channels).update(from: input + ((n * height + ih) * width) * channels, count: width * channels)
                (out + (left + width) * channels).update(repeating: value, count: right * channels)
            }
        }
    }
}

/// UpSampling2D over NHWC data: nearest repeats each pixel; bilinear follows TensorFlow's
/// `resize` with half-pixel centres (`src = (dst + 0.5)/scale − 0.5`, clamped to the image).
struct UpSamplingKernel {
    let batch: Int, height: Int, width: Int, channels: Int
    let factorHeight: Int, factorWidth: Int
    let bilinear: Bool

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let outHeight = height * factorHeight, outWidth = width * factorWidth
        let channels = channels, height = height, width = width, factorHeight = factorHeight, factorWidth = factorWidth
        let bilinear = bilinear
        parallelFor(batch * outHeight, threads: threads) { lines in
            for line in lines {
                let oh = line % outHeight, n = line / outHeight
                let image = input + n * height * width * channels
                let out = output + line * outWidth * channels
                if !bilinear {
                    let row = image + (oh / factorHeight) * width * channels
                    for ow in 0..<outWidth {
                        (out + ow * channels).update(from: row + (ow / factorWidth) * channels, count: channels)
                    }
                    continue
                }
                let (top, bottom, lerpH) = UpSamplingKernel.weights(oh, factor: factorHeight, size: height)
                let rowTop = image + top * width * channels, rowBottom = image + bottom * width * channels
                for ow in 0..<outWidth {
                    let (leftIndex, rightIndex, lerpW) = UpSamplingKernel.weights(ow, factor: factorWidth, size: width)
                    let o = out + ow * channels
                    let tl = rowTop + leftIndex * channels, tr = rowTop + rightIndex * channels
                    let bl = rowBottom + leftIndex * channels, br = rowBottom + rightIndex * channels
                    for c in 0..<channels {
                        let upper = tl[c] + (tr[c] - tl[c]) * lerpW
                        let lower = bl[c] + (br[c] - bl[c]) * lerpW
                        o[c] = upper + (lower - upper) * lerpH
                    }
                }
            }
        }
    }

    /// Lower and upper source indices and the interpolation weight of output index `index`.
    @inline(__always)
    static func weights(_ index: Int, factor: Int, size: Int) -> (Int, Int, Float) {
        let source = (Float(index) + 0.5) / Float(factor) - 0.5
        let floorValue = source.rounded(.down)
        let lower = max(Int(floorValue), 0)
        let upper = min(Int(source.rounded(.up)), size - 1)
        return (lower, upper, source - floorValue)
    }
}

/// Copies `inputs` side by side along the middle axis of `[outer, length_i, inner]`.
struct ConcatenateKernel {
    let outer: Int
    /// `length_i · inner` of each input.
    let blockSizes: [Int]

    func run(inputs: [UnsafePointer<Float>], output: UnsafeMutablePointer<Float>, threads: Int) {
        let total = blockSizes.reduce(0, +)
        let blockSizes = blockSizes
        parallelFor(outer, threads: threads, minimumPerThread: max(1, 16_384 / max(total, 1))) { rows in
            for o in rows {
                var destination = output + o * total
                for (k, size) in blockSizes.enumerated() {
                    destination.update(from: inputs[k] + o * size, count: size)
                    destination += size
                }
            }
        }
    }
}
