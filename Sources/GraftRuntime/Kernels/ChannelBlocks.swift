import GraftNumerics
/// Copies a batch of NHWC images into oneDNN's nChw8c or nChw16c layout (`[N][C/b][H][W][b]`,
/// C a multiple of the block b) or back: where a run of oneDNN convolutions that keep it starts
/// or ends. Each pixel's channels of a block are one 32- or 64-byte copy; the threads take rows
/// of the blocked side, so every thread writes (or reads) whole contiguous lines there.
struct ChannelBlockCopy {
    let batch: Int, height: Int, width: Int, channels: Int
    /// Channels per block: 8 or 16.
    let block: Int
    /// From NHWC to the blocked layout, or back.
    let toBlocked: Bool

    func run(source: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let (h, w, c) = (height, width, channels)
        let b = block, blocks = c / b, halves = b / 8
        parallelFor(batch * blocks * h, threads: threads, minimumPerThread: 16) { rows in
            for row in rows {
                let y = row % h, index = (row / h) % blocks, n = row / (h * blocks)
                let plain = (((n * h + y) * w) * c + index * b)
                let blocked = row * w * b
                let (from, to) = toBlocked
                    ? (UnsafeRawPointer(source + plain), UnsafeMutableRawPointer(output + blocked))
                    : (UnsafeRawPointer(source + blocked), UnsafeMutableRawPointer(output + plain))
                let (fromStride, toStride) = toBlocked ? (c * 4, b * 4) : (b * 4, c * 4)
                for x in 0..<w {
                    for half in 0..<halves {
                        to.storeBytes(of: from.loadUnaligned(fromByteOffset: x * fromStride + half * 32, as: SIMD8<Float>.self),
                                      toByteOffset: x * toStride + half * 32, as: SIMD8<Float>.self)
                    }
                }
            }
        }
    }
}
