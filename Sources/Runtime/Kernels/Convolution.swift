internal import CBLAS

/// The sizes of a 2-D convolution over NHWC data (any of the three convolution ops).
///
/// For `Conv2D` and `DepthwiseConv2D`, `input…` is what is read and `output…` what is computed;
/// for `Conv2DTranspose`, `input…` is the small side read and `output…` the large side written,
/// and `padTop`/`padLeft` are what is cropped from the full transposed output.
struct ConvolutionGeometry: Equatable {
    var batch: Int
    var inputHeight: Int, inputWidth: Int, inputChannels: Int
    var outputHeight: Int, outputWidth: Int, outputChannels: Int
    var kernelHeight: Int, kernelWidth: Int
    var strideHeight: Int, strideWidth: Int
    var dilationHeight: Int, dilationWidth: Int
    var padTop: Int, padLeft: Int
    var groups: Int

    var inputGroupChannels: Int { inputChannels / groups }
    var outputGroupChannels: Int { outputChannels / groups }
    /// GEMM depth of a convolution: one im2col row.
    var patchSize: Int { kernelHeight * kernelWidth * inputGroupChannels }
    var outputRows: Int { batch * outputHeight * outputWidth }

    /// A 1×1, stride-1, unpadded convolution reads its input as the GEMM's left matrix directly.
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideHeight == 1 && strideWidth == 1 && padTop == 0 && padLeft == 0
            && groups == 1 && inputHeight == outputHeight && inputWidth == outputWidth
    }
}

/// im2col floats per thread: bounded so the workspace stays near 16 MiB in all, large enough for
/// GEMM efficiency.
let workspaceTargetFloats = 1 << 22

/// `C = A·B (+ C when accumulate)` on OpenBLAS, split over `threads` threads by rows of C (or by
/// columns when there are too few rows), each part a single-threaded `sgemm`.
///
/// The session keeps OpenBLAS itself at one thread: graft's threads own the parallelism, so
/// OpenBLAS workers never spin while graft's kernels run. Each element of C is still one dot
/// product over the same K in the same order, whatever the split.
func parallelProduct(rows m: Int, columns n: Int, depth k: Int, _ a: UnsafePointer<Float>, _ lda: Int, transposeB: Bool = false,
                     _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                     accumulate: Bool, threads: Int) {
    let beta: Float = accumulate ? 1 : 0
    let transB = transposeB ? CblasTrans : CblasNoTrans
    if m >= threads * 16 || n < threads * 16 {
        // Up to four blocks per thread, taken dynamically, each at least 64 rows.
        let blocks = max(1, min(threads * 4, m / 64))
        parallelItems(blocks, threads: threads) { _, item in
            let first = m * item / blocks, end = m * (item + 1) / blocks
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transB, Int32(end - first), Int32(n), Int32(k),
                        1, a + first * lda, Int32(lda), b, Int32(ldb), beta, c + first * ldc, Int32(ldc))
        }
    } else {
        parallelFor(n, threads: threads, minimumPerThread: 16) { block in
            let columns = transposeB ? b + block.lowerBound * ldb : b + block.lowerBound
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transB, Int32(m), Int32(block.count), Int32(k),
                        1, a, Int32(lda), columns, Int32(ldb), beta, c + block.lowerBound, Int32(ldc))
        }
    }
}

/// Conv2D as im2col + GEMM (per group), with bias and activation fused.
///
/// NHWC makes the GEMM `[rows = N·OH·OW, K = kh·kw·Cin/g] × [K, Cout/g]`, and the spec's kernel
/// layout `[kh, kw, Cin/g, Cout]` is already that right-hand matrix (row-major, leading dimension
/// Cout, group g's columns starting at g·Cout/g), so weights are used where they are mapped. A
/// 1×1, stride-1, unpadded convolution reads its input as the left matrix directly.
///
/// Otherwise the output rows are cut into blocks that the threads take in turn; a thread gathers
/// a block's im2col rows into its own slice of the workspace and multiplies them (single-threaded
/// sgemm) onto rows pre-filled with the bias, so the patches are still in cache when the GEMM
/// reads them and no thread waits for another.
struct Convolution2D {
    let geometry: ConvolutionGeometry
    let kernel: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let activation: ActivationKernel
    let threads: Int
    /// Output rows per im2col block and GEMM call.
    let rowsPerBlock: Int

    init(geometry: ConvolutionGeometry, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: ActivationKernel, threads: Int) {
        self.geometry = geometry
        self.kernel = kernel
        self.bias = bias
        self.activation = activation
        self.threads = threads
        // Blocks small enough that each thread gets about four (so threads slowed by other work
        // even out), large enough (256 rows) for GEMM efficiency, and within the workspace budget.
        let perBlock = max(256, (geometry.outputRows + threads * 4 - 1) / (threads * 4))
        rowsPerBlock = max(1, min(perBlock, geometry.outputRows, workspaceTargetFloats / threads / max(geometry.patchSize, 1)))
    }

    var workspaceCount: Int { geometry.isPointwise ? 0 : threads * rowsPerBlock * geometry.patchSize }

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>, threads: Int) {
        let g = geometry
        if g.isPointwise {
            fillRows(output, rows: g.outputRows, channels: g.outputChannels, with: bias, threads: threads)
            parallelProduct(rows: g.outputRows, columns: g.outputChannels, depth: g.inputChannels, input, g.inputChannels,
                            kernel, g.outputChannels, output, g.outputChannels, accumulate: true, threads: threads)
            finishRows(output, rows: g.outputRows, channels: g.outputChannels, bias: nil, activation: activation, threads: threads)
            return
        }
        let patch = g.patchSize
        let rowsPerBlock = rowsPerBlock
        let blocks = (g.outputRows + rowsPerBlock - 1) / rowsPerBlock
        parallelItems(blocks, threads: self.threads) { worker, item in
            let patches = workspace + worker * rowsPerBlock * patch
            do {
                let start = item * rowsPerBlock
                let count = min(rowsPerBlock, g.outputRows - start)
                let block = output + start * g.outputChannels
                fillRows(block, rows: count, channels: g.outputChannels, with: bias, threads: 1)
                for group in 0..<g.groups {
                    gatherPatches(input: input, rows: start..<(start + count), group: group, into: patches)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(g.outputGroupChannels), Int32(patch),
                                1, patches, Int32(patch), kernel + group * g.outputGroupChannels, Int32(g.outputChannels),
                                1, block + group * g.outputGroupChannels, Int32(g.outputChannels))
                }
                finishRows(block, rows: count, channels: g.outputChannels, bias: nil, activation: activation, threads: 1)
            }
        }
    }

    /// im2col: one row per output pixel, `kh·kw·Cin/g` values ordered (ki, kj, channel), zeros
    /// where the window reads padding.
    private func gatherPatches(input: UnsafePointer<Float>, rows: Range<Int>, group: Int, into workspace: UnsafeMutablePointer<Float>) {
        let g = geometry
        let channels = g.inputGroupChannels
        let patch = g.patchSize
        let firstRow = rows.lowerBound
        let contiguousWindow = g.dilationWidth == 1 && g.groups == 1
        do {
            for local in 0..<rows.count {
                let row = firstRow + local
                let ow = row % g.outputWidth
                let oh = (row / g.outputWidth) % g.outputHeight
                let n = row / (g.outputWidth * g.outputHeight)
                var destination = workspace + local * patch
                let image = input + n * g.inputHeight * g.inputWidth * g.inputChannels + group * channels
                let iw0 = ow * g.strideWidth - g.padLeft
                for ki in 0..<g.kernelHeight {
                    let ih = oh * g.strideHeight - g.padTop + ki * g.dilationHeight
                    if ih < 0 || ih >= g.inputHeight {
                        destination.update(repeating: 0, count: g.kernelWidth * channels)
                        destination += g.kernelWidth * channels
                        continue
                    }
                    let line = image + ih * g.inputWidth * g.inputChannels
                    if contiguousWindow && iw0 >= 0 && iw0 + g.kernelWidth <= g.inputWidth {
                        destination.update(from: line + iw0 * g.inputChannels, count: g.kernelWidth * channels)
                        destination += g.kernelWidth * channels
                        continue
                    }
                    for kj in 0..<g.kernelWidth {
                        let iw = iw0 + kj * g.dilationWidth
                        if iw < 0 || iw >= g.inputWidth {
                            destination.update(repeating: 0, count: channels)
                        } else {
                            destination.update(from: line + iw * g.inputChannels, count: channels)
                        }
                        destination += channels
                    }
                }
            }
        }
    }
}

/// Sets each row of `channels` values to the bias (or zero), in parallel.
func fillRows(_ data: UnsafeMutablePointer<Float>, rows: Int, channels: Int, with bias: UnsafePointer<Float>?, threads: Int) {
    parallelFor(rows, threads: threads, minimumPerThread: max(1, 8192 / max(channels, 1))) { block in
        for row in block {
            let line = data + row * channels
            if let bias { line.update(from: bias, count: channels) } else { line.update(repeating: 0, count: channels) }
        }
    }
}

/// Adds the bias to each row of `channels` values and applies the activation, in parallel.
func finishRows(_ data: UnsafeMutablePointer<Float>, rows: Int, channels: Int, bias: UnsafePointer<Float>?, activation: ActivationKernel, threads: Int) {
    if bias == nil && activation == .linear { return }
    parallelFor(rows, threads: threads, minimumPerThread: max(1, 4096 / max(channels, 1))) { block in
        for row in block {
            let line = data + row * channels
            if let bias {
                for c in 0..<channels { line[c] += bias[c] }
            }
            activation.apply(line, line, count: channels)
        }
    }
}

/// Dense on the last axis: `[rows, in] × [in, out]` in one GEMM, the spec's kernel `[in, out]` in place.
struct DenseProduct {
    let rows: Int, inputFeatures: Int, outputFeatures: Int
    let kernel: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let activation: ActivationKernel

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        fillRows(output, rows: rows, channels: outputFeatures, with: bias, threads: threads)
        parallelProduct(rows: rows, columns: outputFeatures, depth: inputFeatures, input, inputFeatures,
                        kernel, outputFeatures, output, outputFeatures, accumulate: true, threads: threads)
        finishRows(output, rows: rows, channels: outputFeatures, bias: nil, activation: activation, threads: threads)
    }
}

/// DepthwiseConv2D over NHWC: each tap multiplies a pixel's channel vector by the kernel's
/// channel vector, so the work runs over contiguous channels. For each output pixel and block of
/// eight channels, the sum over the window stays in one SIMD register and is stored once.
/// Output channel `c·multiplier + j` reads input channel `c`, as the spec's kernel
/// `[kh, kw, C, multiplier]` orders them; a multiplier above 1 takes a scalar loop.
struct DepthwiseConvolution2D {
    let geometry: ConvolutionGeometry
    let multiplier: Int
    let kernel: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let activation: ActivationKernel

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let g = geometry
        let channels = g.inputChannels
        let outChannels = g.outputChannels
        let multiplier = multiplier
        let vectorEnd = multiplier == 1 ? channels / 8 * 8 : 0
        parallelFor(g.batch * g.outputHeight, threads: threads) { block in
            for line in block {
                let oh = line % g.outputHeight
                let n = line / g.outputHeight
                let image = input + n * g.inputHeight * g.inputWidth * channels
                let kiStart = max(0, (g.padTop - oh * g.strideHeight + g.dilationHeight - 1) / g.dilationHeight)
                let kiEnd = min(g.kernelHeight, (g.inputHeight + g.padTop - oh * g.strideHeight + g.dilationHeight - 1) / g.dilationHeight)
                for ow in 0..<g.outputWidth {
                    let out = output + (line * g.outputWidth + ow) * outChannels
                    let kjStart = max(0, (g.padLeft - ow * g.strideWidth + g.dilationWidth - 1) / g.dilationWidth)
                    let kjEnd = min(g.kernelWidth, (g.inputWidth + g.padLeft - ow * g.strideWidth + g.dilationWidth - 1) / g.dilationWidth)
                    var c = 0
                    while c < vectorEnd {
                        var sum = bias.map { UnsafeRawPointer($0 + c).loadUnaligned(as: SIMD8<Float>.self) } ?? SIMD8<Float>()
                        if kiStart < kiEnd && kjStart < kjEnd {
                            for ki in kiStart..<kiEnd {
                                let ih = oh * g.strideHeight - g.padTop + ki * g.dilationHeight
                                for kj in kjStart..<kjEnd {
                                    let iw = ow * g.strideWidth - g.padLeft + kj * g.dilationWidth
                                    let pixel = UnsafeRawPointer(image + (ih * g.inputWidth + iw) * channels + c)
                                    let taps = UnsafeRawPointer(kernel + (ki * g.kernelWidth + kj) * outChannels + c)
                                    sum += pixel.loadUnaligned(as: SIMD8<Float>.self) * taps.loadUnaligned(as: SIMD8<Float>.self)
                                }
                            }
                        }
                        UnsafeMutableRawPointer(out + c).storeBytes(of: sum, as: SIMD8<Float>.self)
                        c += 8
                    }
                    // Remaining channels (all of them when the multiplier is above 1).
                    let first = c * multiplier
                    for o in first..<outChannels { out[o] = bias?[o] ?? 0 }
                    if kiStart < kiEnd && kjStart < kjEnd && first < outChannels {
                        for ki in kiStart..<kiEnd {
                            let ih = oh * g.strideHeight - g.padTop + ki * g.dilationHeight
                            for kj in kjStart..<kjEnd {
                                let iw = ow * g.strideWidth - g.padLeft + kj * g.dilationWidth
                                let pixel = image + (ih * g.inputWidth + iw) * channels
                                let taps = kernel + (ki * g.kernelWidth + kj) * outChannels
                                for channel in c..<channels {
                                    let value = pixel[channel]
                                    let base = channel * multiplier
                                    for j in 0..<multiplier { out[base + j] += value * taps[base + j] }
                                }
                            }
                        }
                    }
                    activation.apply(out, out, count: outChannels)
                }
            }
        }
    }
}

/// Conv2DTranspose as GEMM + col2im.
///
/// The GEMM `[N·H·W, Cin/g] × [Cin/g, kh·kw·Cout/g]` (the spec's kernel `[kh, kw, Cout/g, Cin]`
/// read transposed, in place) gives every input pixel's contribution to each tap; col2im then
/// gathers, for each output pixel, the taps that land on it, so the parallel loop over output
/// rows writes disjoint memory. Images are processed in blocks to bound the workspace.
struct TransposedConvolution2D {
    let geometry: ConvolutionGeometry
    let kernel: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let activation: ActivationKernel
    let imagesPerBlock: Int

    init(geometry: ConvolutionGeometry, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: ActivationKernel) {
        self.geometry = geometry
        self.kernel = kernel
        self.bias = bias
        self.activation = activation
        let perImage = geometry.inputHeight * geometry.inputWidth * geometry.kernelHeight * geometry.kernelWidth * geometry.outputGroupChannels
        imagesPerBlock = max(1, min(geometry.batch, workspaceTargetFloats / max(perImage, 1)))
    }

    var workspaceCount: Int {
        imagesPerBlock * geometry.inputHeight * geometry.inputWidth * geometry.kernelHeight * geometry.kernelWidth * geometry.outputGroupChannels
    }

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>, threads: Int) {
        let g = geometry
        let taps = g.kernelHeight * g.kernelWidth
        let columns = taps * g.outputGroupChannels
        let pixelsIn = g.inputHeight * g.inputWidth
        let pixelsOut = g.outputHeight * g.outputWidth
        var firstImage = 0
        while firstImage < g.batch {
            let images = min(imagesPerBlock, g.batch - firstImage)
            for group in 0..<g.groups {
                parallelProduct(rows: images * pixelsIn, columns: columns, depth: g.inputGroupChannels,
                                input + firstImage * pixelsIn * g.inputChannels + group * g.inputGroupChannels, g.inputChannels,
                                transposeB: true, kernel + group * g.inputGroupChannels, g.inputChannels,
                                workspace, columns, accumulate: false, threads: threads)
                scatterColumns(workspace, images: images, firstImage: firstImage, group: group, output: output, threads: threads)
            }
            finishRows(output + firstImage * pixelsOut * g.outputChannels, rows: images * pixelsOut, channels: g.outputChannels,
                       bias: bias, activation: activation, threads: threads)
            firstImage += images
        }
    }

    private func scatterColumns(_ columns: UnsafeMutablePointer<Float>, images: Int, firstImage: Int, group: Int,
                                output: UnsafeMutablePointer<Float>, threads: Int) {
        let g = geometry
        let groupChannels = g.outputGroupChannels
        let rowLength = g.kernelHeight * g.kernelWidth * groupChannels
        parallelFor(images * g.outputHeight, threads: threads) { block in
            for line in block {
                let oh = line % g.outputHeight
                let localImage = line / g.outputHeight
                for ow in 0..<g.outputWidth {
                    let out = output + (((firstImage + localImage) * g.outputHeight + oh) * g.outputWidth + ow) * g.outputChannels
                        + group * groupChannels
                    out.update(repeating: 0, count: groupChannels)
                    for ki in 0..<g.kernelHeight {
                        let shiftedH = oh + g.padTop - ki * g.dilationHeight
                        if shiftedH < 0 || shiftedH % g.strideHeight != 0 { continue }
                        let ih = shiftedH / g.strideHeight
                        if ih >= g.inputHeight { continue }
                        for kj in 0..<g.kernelWidth {
                            let shiftedW = ow + g.padLeft - kj * g.dilationWidth
                            if shiftedW < 0 || shiftedW % g.strideWidth != 0 { continue }
                            let iw = shiftedW / g.strideWidth
                            if iw >= g.inputWidth { continue }
                            let source = columns + ((localImage * g.inputHeight + ih) * g.inputWidth + iw) * rowLength
                                + (ki * g.kernelWidth + kj) * groupChannels
                            for c in 0..<groupChannels { out[c] += source[c] }
                        }
                    }
                }
            }
        }
    }
}
