internal import GraftAVX2Kernels
internal import GraftAVX512Kernels
import GraftNumerics
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

/// The im2col budget, 16 MiB: a convolution with few output rows gathers all of them when they fit
/// in it, and a row block takes at most `1/ProductSplit.notionalParallelism` of it.
let workspaceTargetFloats = 1 << 22

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
/// reads them and no thread waits for another. A convolution with few output rows (late layers,
/// small batches), whose patches all fit the workspace budget, gathers every row first and then
/// runs one `parallelProduct`, which splits the weights' columns among the threads instead of
/// leaving threads idle and packing the weights once per row block.
///
/// With `accumulates`, the output already holds a value of the output's shape (the other operand
/// of a residual Add folded into this convolution) and the product is added to it:
/// `activation(output + conv + bias)`. Keras adds in the order `(conv + bias) + residual`; the two
/// differ by float rounding only.
struct Convolution2D {
    let geometry: ConvolutionGeometry
    let kernel: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let activation: ActivationKernel
    let threads: Int
    let accumulates: Bool
    /// Output rows per im2col block and GEMM call.
    let rowsPerBlock: Int
    /// Whether every row's patches are gathered before one parallel product (see above).
    let gathersAllRows: Bool

    init(geometry: ConvolutionGeometry, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: ActivationKernel,
         threads: Int, accumulates: Bool = false) {
        self.geometry = geometry
        self.kernel = kernel
        self.bias = bias
        self.activation = activation
        self.threads = threads
        self.accumulates = accumulates
        // About 2 × notionalParallelism blocks (so threads slowed by other work even out), small
        // enough that a block's patches (about 256 KiB) stay in the core's L2 cache between the
        // gather and the GEMM, but at least 128 rows for GEMM efficiency, and within the
        // workspace budget. Like `ProductSplit`, this depends on the shape only, so the GEMM
        // calls, and so the results, are the same for every thread count. (ResNet50 at batch 8: 20 -> 15 ms for conv1, 86 -> 78 ms for the
        // conv2 stage against fixed 256-row-or-larger blocks.)
        let notionalParallelism = ProductSplit.notionalParallelism
        let cacheRows = max(128, ProductSplit.blockTargetFloats / max(geometry.patchSize, 1))
        let perBlock = min(cacheRows, max(256, (geometry.outputRows + notionalParallelism * 2 - 1) / (notionalParallelism * 2)))
        rowsPerBlock = max(1, min(perBlock, geometry.outputRows, workspaceTargetFloats / notionalParallelism / max(geometry.patchSize, 1)))
        gathersAllRows = !geometry.isPointwise && geometry.groups == 1
            && geometry.outputRows < 2048
            && geometry.outputRows * geometry.patchSize <= workspaceTargetFloats
    }

    var workspaceCount: Int {
        if geometry.isPointwise { return 0 }
        return gathersAllRows ? geometry.outputRows * geometry.patchSize : threads * rowsPerBlock * geometry.patchSize
    }

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>, threads: Int) {
        let g = geometry
        // Without a residual, C starts as the bias and the GEMM adds onto it; with one, C holds
        // the residual and the bias is added with the activation afterwards.
        let lateBias = accumulates ? bias : nil
        if g.isPointwise || gathersAllRows {
            let left: UnsafePointer<Float>
            if g.isPointwise {
                left = input
            } else {
                let patch = g.patchSize
                parallelFor(g.outputRows, threads: threads, minimumPerThread: 16) { block in
                    gatherPatches(input: input, rows: block, group: 0, into: workspace + block.lowerBound * patch)
                }
                left = UnsafePointer(workspace)
            }
            let channels = g.outputChannels, bias = bias, activation = activation
            parallelProduct(rows: g.outputRows, columns: channels, depth: g.patchSize, left, g.patchSize,
                            kernel, channels, output, channels, accumulate: true, threads: threads,
                            prepare: accumulates ? nil : { rows, columns in
                                fillBlock(output, rowLength: channels, rows: rows, columns: columns, with: bias)
                            },
                            finish: { rows, columns in
                                finishBlock(output, rowLength: channels, rows: rows, columns: columns, bias: lateBias, activation: activation)
                            })
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
                if !accumulates { fillBlock(block, rowLength: g.outputChannels, rows: 0..<count, columns: 0..<g.outputChannels, with: bias) }
                for group in 0..<g.groups {
                    gatherPatches(input: input, rows: start..<(start + count), group: group, into: patches)
                    sgemm(rows: count, columns: g.outputGroupChannels, depth: patch, patches, patch,
                          kernel + group * g.outputGroupChannels, g.outputChannels,
                          block + group * g.outputGroupChannels, g.outputChannels, accumulate: true)
                }
                finishBlock(block, rowLength: g.outputChannels, rows: 0..<count, columns: 0..<g.outputChannels, bias: lateBias, activation: activation)
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

/// `line[c] += bias[c]` for `c < count`, eight at a time.
@inline(__always)
func addBias(_ bias: UnsafePointer<Float>, to line: UnsafeMutablePointer<Float>, count: Int) {
    let source = UnsafeRawPointer(bias), target = UnsafeMutableRawPointer(line)
    var c = 0
    while c + 8 <= count {
        let sum = target.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self) + source.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self)
        target.storeBytes(of: sum, toByteOffset: c * 4, as: SIMD8<Float>.self)
        c += 8
    }
    while c < count { line[c] += bias[c]; c += 1 }
}

/// Sets columns `columns` of rows `rows` (of `rowLength` values) to the bias, or to zero.
func fillBlock(_ data: UnsafeMutablePointer<Float>, rowLength: Int, rows: Range<Int>, columns: Range<Int>, with bias: UnsafePointer<Float>?) {
    for row in rows {
        let line = data + row * rowLength + columns.lowerBound
        if let bias { line.update(from: bias + columns.lowerBound, count: columns.count) } else { line.update(repeating: 0, count: columns.count) }
    }
}

/// Adds the bias (when given) to columns `columns` of rows `rows` and applies the activation.
func finishBlock(_ data: UnsafeMutablePointer<Float>, rowLength: Int, rows: Range<Int>, columns: Range<Int>,
                 bias: UnsafePointer<Float>?, activation: ActivationKernel) {
    if bias == nil && activation == .linear { return }
    if bias == nil && columns.count == rowLength {
        activation.apply(data + rows.lowerBound * rowLength, data + rows.lowerBound * rowLength, count: rows.count * rowLength)
        return
    }
    for row in rows {
        let line = data + row * rowLength + columns.lowerBound
        if let bias { addBias(bias + columns.lowerBound, to: line, count: columns.count) }
        activation.apply(line, line, count: columns.count)
    }
}

/// Adds the bias to each row of `channels` values and applies the activation, in parallel.
func finishRows(_ data: UnsafeMutablePointer<Float>, rows: Int, channels: Int, bias: UnsafePointer<Float>?, activation: ActivationKernel, threads: Int) {
    if bias == nil && activation == .linear { return }
    parallelFor(rows, threads: threads, minimumPerThread: max(1, 4096 / max(channels, 1))) { block in
        finishBlock(data, rowLength: channels, rows: block, columns: 0..<channels, bias: bias, activation: activation)
    }
}

/// Dense on the last axis: `[rows, in] × [in, out]`, the spec's kernel `[in, out]` read in place:
/// graft's AVX2 product (`multiplyStrided`) where the CPU has AVX2, else one OpenBLAS GEMM cut by shape.
struct DenseProduct {
    let rows: Int, inputFeatures: Int, outputFeatures: Int
    let kernel: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let activation: ActivationKernel

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let features = outputFeatures, bias = bias, activation = activation
        if CPUFeatures.hasAVX2 {
            // graft's AVX2 product streams the weights once (`multiplyStrided`); each thread takes
            // a contiguous share of the columns, in whole vectors of 8. Each output is one chain
            // of multiply-adds from the bias, so neither the cut nor the batch changes its bits.
            let panels = (features + 7) / 8
            let count = min(panels, max(1, threads))
            parallelItems(count, threads: threads) { _, item in
                let columns = (panels * item / count * 8)..<min(features, panels * (item + 1) / count * 8)
                guard !columns.isEmpty else { return }
                fillBlock(output, rowLength: features, rows: 0..<rows, columns: columns, with: bias)
                // The AVX-512 product gives the AVX2 product's bits (one FMA chain per element).
                if CPUFeatures.hasAVX512 {
                    multiplyStrided512(rows: rows, columns: columns.count, depth: inputFeatures, input, lda: inputFeatures,
                                       kernel + columns.lowerBound, ldb: features, output + columns.lowerBound, ldc: features, accumulate: true)
                } else {
                    multiplyStrided(rows: rows, columns: columns.count, depth: inputFeatures, input, lda: inputFeatures,
                                    kernel + columns.lowerBound, ldb: features, output + columns.lowerBound, ldc: features, accumulate: true)
                }
                finishBlock(output, rowLength: features, rows: 0..<rows, columns: columns, bias: nil, activation: activation)
            }
            return
        }
        parallelProduct(rows: rows, columns: features, depth: inputFeatures, input, inputFeatures,
                        kernel, features, output, features, accumulate: true, threads: threads,
                        prepare: { rows, columns in fillBlock(output, rowLength: features, rows: rows, columns: columns, with: bias) },
                        finish: { rows, columns in
                            finishBlock(output, rowLength: features, rows: rows, columns: columns, bias: nil, activation: activation)
                        })
    }
}

/// DepthwiseConv2D over NHWC: each tap multiplies a pixel's channel vector by the kernel's
/// channel vector, so the work runs over contiguous channels.
///
/// With a multiplier of 1 (every depthwise layer of keras.applications), one output row is
/// accumulated in place, tap by tap: the row starts as the bias, and for each tap `(ki, kj)` and
/// block of eight channels the tap's weights stay in one SIMD register while the loop runs along
/// the row's pixels (whose input pixels are `stride` apart), so the inner loop is one load, one
/// multiply-add and one store, with no bounds checks: the pixels whose window reads padding are
/// cut from the range beforehand. Each output is `bias + Σ tap·pixel` summed in (ki, kj) order.
/// Output channel `c·multiplier + j` reads input channel `c`, as the spec's kernel
/// `[kh, kw, C, multiplier]` orders them; a multiplier above 1 takes a scalar loop.
struct DepthwiseConvolution2D {
    let geometry: ConvolutionGeometry
    let multiplier: Int
    let kernel: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let activation: ActivationKernel

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        if multiplier == 1 {
            runAlongRows(input: input, output: output, threads: threads)
        } else {
            runWithMultiplier(input: input, output: output, threads: threads)
        }
    }

    private func runAlongRows(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
        let g = geometry
        let channels = g.inputChannels
        let rowLength = g.outputWidth * channels
        let vectorEnd = channels / 8 * 8
        let inputStep = g.strideWidth * channels
        parallelFor(g.batch * g.outputHeight, threads: threads) { block in
            for line in block {
                let oh = line % g.outputHeight
                let image = input + (line / g.outputHeight) * g.inputHeight * g.inputWidth * channels
                let row = output + line * rowLength
                for ow in 0..<g.outputWidth {
                    if let bias { (row + ow * channels).update(from: bias, count: channels) } else { (row + ow * channels).update(repeating: 0, count: channels) }
                }
                for ki in 0..<g.kernelHeight {
                    let ih = oh * g.strideHeight - g.padTop + ki * g.dilationHeight
                    if ih < 0 || ih >= g.inputHeight { continue }
                    let inputLine = image + ih * g.inputWidth * channels
                    for kj in 0..<g.kernelWidth {
                        // Output pixels whose input column `ow·stride + shift` is inside the image.
                        let shift = kj * g.dilationWidth - g.padLeft
                        let first = shift >= 0 ? 0 : (g.strideWidth - 1 - shift) / g.strideWidth
                        let end = g.inputWidth - 1 - shift < 0 ? 0 : min(g.outputWidth, (g.inputWidth - 1 - shift) / g.strideWidth + 1)
                        if first >= end { continue }
                        let taps = kernel + (ki * g.kernelWidth + kj) * channels
                        let count = end - first
                        var c = 0
                        while c < vectorEnd {
                            let weights = UnsafeRawPointer(taps + c).loadUnaligned(as: SIMD8<Float>.self)
                            var source = UnsafeRawPointer(inputLine + (first * g.strideWidth + shift) * channels + c)
                            var target = UnsafeMutableRawPointer(row + first * channels + c)
                            for _ in 0..<count {
                                let sum = target.loadUnaligned(as: SIMD8<Float>.self) + source.loadUnaligned(as: SIMD8<Float>.self) * weights
                                target.storeBytes(of: sum, as: SIMD8<Float>.self)
                                source += inputStep * MemoryLayout<Float>.stride
                                target += channels * MemoryLayout<Float>.stride
                            }
                            c += 8
                        }
                        while c < channels {
                            let weight = taps[c]
                            for ow in first..<end {
                                row[ow * channels + c] += inputLine[(ow * g.strideWidth + shift) * channels + c] * weight
                            }
                            c += 1
                        }
                    }
                }
                activation.apply(row, row, count: rowLength)
            }
        }
    }

    private func runWithMultiplier(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, threads: Int) {
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
