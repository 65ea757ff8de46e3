import Foundation
import GraftNumerics
/// `y = x·scale[c] + shift[c]` over data viewed as `[outer, channels, inner]`: batch
/// normalisation (its statistics folded into scale and shift in `Double` first), `Scale`, and
/// Keras `Normalization`. A missing scale is 1, a missing shift 0.
struct ChannelAffine {
    let outer: Int, channels: Int, inner: Int
    let scale: UnsafePointer<Float>?
    let shift: UnsafePointer<Float>?

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let channels = channels, inner = inner, scale = scale, shift = shift
        if inner == 1 {
            parallelFor(outer, threads: threads, minimumPerThread: max(1, 4096 / max(channels, 1))) { block in
                for o in block {
                    let x = input + o * channels, y = output + o * channels
                    switch (scale, shift) {
                    case let (s?, b?): for c in 0..<channels { y[c] = x[c] * s[c] + b[c] }
                    case let (s?, nil): for c in 0..<channels { y[c] = x[c] * s[c] }
                    case let (nil, b?): for c in 0..<channels { y[c] = x[c] + b[c] }
                    case (nil, nil): if UnsafePointer(y) != x { y.update(from: x, count: channels) }
                    }
                }
            }
        } else {
            parallelFor(outer * channels, threads: threads, minimumPerThread: max(1, 4096 / max(inner, 1))) { block in
                for index in block {
                    let c = index % channels
                    let s = scale?[c] ?? 1, b = shift?[c] ?? 0
                    let x = input + index * inner, y = output + index * inner
                    for i in 0..<inner { y[i] = x[i] * s + b }
                }
            }
        }
    }
}

/// Softmax along the middle axis of `[outer, length, inner]`: `exp(x − max) / Σ exp(x − max)`.
struct SoftmaxKernel {
    let outer: Int, length: Int, inner: Int

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let length = length, inner = inner
        parallelFor(outer * inner, threads: threads, minimumPerThread: max(1, 2048 / max(length, 1))) { block in
            for item in block {
                let o = item / inner, i = item % inner
                let x = input + o * length * inner + i, y = output + o * length * inner + i
                var largest = -Float.infinity
                for k in 0..<length { largest = max(largest, x[k * inner]) }
                var sum: Float = 0
                for k in 0..<length {
                    let e = exp(x[k * inner] - largest)
                    y[k * inner] = e
                    sum += e
                }
                let reciprocal = 1 / sum
                for k in 0..<length { y[k * inner] *= reciprocal }
            }
        }
    }
}

/// Layer normalisation over contiguous groups of `size` values, as Keras computes it:
/// `inv = gamma / sqrt(var + ε)`, `y = x·inv + (beta − mean·inv)`, the moments taken in `Double`.
struct LayerNormalizationKernel {
    let groups: Int, size: Int
    let epsilon: Double
    let gamma: UnsafePointer<Float>?
    let beta: UnsafePointer<Float>?

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let size = size, epsilon = epsilon, gamma = gamma, beta = beta
        parallelFor(groups, threads: threads, minimumPerThread: max(1, 4096 / max(size, 1))) { block in
            for group in block {
                let x = input + group * size, y = output + group * size
                var sum = 0.0
                for i in 0..<size { sum += Double(x[i]) }
                let mean = sum / Double(size)
                var squares = 0.0
                for i in 0..<size { let d = Double(x[i]) - mean; squares += d * d }
                let inverse = 1 / (squares / Double(size) + epsilon).squareRoot()
                let meanF = Float(mean), inverseF = Float(inverse)
                for i in 0..<size {
                    let factor = inverseF * (gamma?[i] ?? 1)
                    y[i] = x[i] * factor + ((beta?[i] ?? 0) - meanF * factor)
                }
            }
        }
    }
}

/// Caffe's local response normalisation over NHWC data.
///
/// Across channels: `y = x / (k + α/size · Σ x²)^β`, the sum over channels
/// `c − (size−1)/2 … c + size/2` (zero beyond the edges). Within a channel the sum runs over the
/// `size×size` window starting `(size−1)/2` before the pixel, and `α/size²` replaces `α/size`.
struct LocalResponseNormalizationKernel {
    let batch: Int, height: Int, width: Int, channels: Int
    let size: Int
    let alpha: Float, beta: Float, bias: Float
    let acrossChannels: Bool

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let channels = channels, size = size, beta = beta, bias = bias
        let before = (size - 1) / 2
        if acrossChannels {
            let factor = alpha / Float(size)
            parallelFor(batch * height * width, threads: threads, minimumPerThread: 16) { block in
                for pixel in block {
                    let x = input + pixel * channels, y = output + pixel * channels
                    for c in 0..<channels {
                        var sum: Float = 0
                        for k in max(c - before, 0)..<min(c - before + size, channels) { sum += x[k] * x[k] }
                        y[c] = x[c] * pow(bias + factor * sum, -beta)
                    }
                }
            }
        } else {
            let factor = alpha / Float(size * size)
            let height = height, width = width
            parallelFor(batch * height, threads: threads) { block in
                for line in block {
                    let h = line % height, n = line / height
                    let image = input + n * height * width * channels
                    for w in 0..<width {
                        let y = output + (line * width + w) * channels
                        let x = image + (h * width + w) * channels
                        for c in 0..<channels {
                            var sum: Float = 0
                            for ih in max(h - before, 0)..<min(h - before + size, height) {
                                for iw in max(w - before, 0)..<min(w - before + size, width) {
                                    let v = image[(ih * width + iw) * channels + c]
                                    sum += v * v
                                }
                            }
                            y[c] = x[c] * pow(bias + factor * sum, -beta)
                        }
                    }
                }
            }
        }
    }
}
