import GraftNumerics
/// Copies a batch of NHWC images into oneDNN's nChw8c layout (`[N][C/8][H][W][8]`, C a multiple
/// of 8) or back: where a run of oneDNN convolutions that keep nChw8c starts or ends. Each
/// pixel's 8 channels of a block are one 32-byte copy; the threads take rows of the blocked
/// side, so every thread writes (or reads) whole contiguous lines there.
struct ChannelBlockCopy {
    let batch: Int, height: Int, width: Int, channels: Int
    /// From NHWC to nChw8c, or back.
    let toBlocked: Bool

    func run(source: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let (h, w, c) = (height, width, channels)
        let blocks = c / 8
        parallelFor(batch * blocks * h, threads: threads, minimumPerThread: 16) { rows in
            for row in rows {
                let y = row % h, block = (row / h) % blocks, n = row / (h * blocks)
                let plain = (((n * h + y) * w) * c + block * 8)
                let blocked = row * w * 8
                if toBlocked {
                    let from = UnsafeRawPointer(source + plain), to = UnsafeMutableRawPointer(output + blocked)
                    for x in 0..<w {
                        to.storeBytes(of: from.loadUnaligned(fromByteOffset: x * c * 4, as: SIMD8<Float>.self), toByteOffset: x * 32, as: SIMD8<Float>.self)
                    }
                } else {
                    let from = UnsafeRawPointer(source + blocked), to = UnsafeMutableRawPointer(output + plain)
                    for x in 0..<w {
                        to.storeBytes(of: from.loadUnaligned(fromByteOffset: x * 32, as: SIMD8<Float>.self), toByteOffset: x * c * 4, as: SIMD8<Float>.self)
                    }
                }
            }
        }
    }
}
