internal import GraftAVX2Kernels
internal import GraftAVX512Kernels
import GraftNumerics

/// A 3×3, stride-1 convolution by Winograd's minimal filtering algorithm F(4×4, 3×3), with the
/// transforms in graft's own SIMD code and the 36 elementwise products of each tile block by
/// graft's AVX2 product on weights packed once (`multiplyPacked`), or OpenBLAS sgemm calls on a
/// CPU without AVX2 or with output channels not in multiples of 16 (Lavin and Gray, "Fast
/// Algorithms for Convolutional Neural Networks", 2016).
///
/// Each 4×4 block of outputs is computed from the 6×6 input window around it as
/// `Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A`, summed over input channels, with the interpolation points
/// 0, ±1, ±2 and ∞:
///
///     Bᵀ = [4  0 -5  0 1 0]     G = [ 1/4     0     0]     Aᵀ = [1 1  1 1  1 0]
///          [0 -4 -4  1 1 0]         [-1/6  -1/6  -1/6]          [0 1 -1 2 -2 0]
///          [0  4 -4 -1 1 0]         [-1/6   1/6  -1/6]          [0 1  1 4  4 0]
///          [0 -2 -1  2 1 0]         [1/24  1/12   1/6]          [0 1 -1 8 -8 1]
///          [0  2 -1 -2 1 0]         [1/24 -1/12   1/6]
///          [0  4  0 -5 0 1]         [   0     0     1]
///
/// The sum over channels of the transformed products is, for each of the 36 positions ξ of the
/// transformed window, a matrix product `M[ξ] = V[ξ]·U[ξ]` of the transformed inputs of a block
/// of tiles (`tiles × Cin`) by the transformed weights (`Cin × Cout`, computed once in Double
/// when the plan is built). That is 36 multiplications per 16 outputs where a direct convolution
/// makes 144: 4× fewer, for the price of the transforms, which are linear passes over the data.
///
/// Numerics: the transforms add and scale by small powers of two and by 1/6, 1/12 and 1/24, so
/// results differ from a direct convolution's by rounding, a few 1e-6 relative on real
/// networks (`--exact` turns Winograd off).
///
/// Reproducibility: with OpenBLAS, tiles are cut into blocks by position within one image, and
/// the block size depends on the layer's shape only, so the same sgemm calls compute every
/// output whatever the batch size, the image's place in the batch or the thread count. graft's
/// packed product computes each row of a product by itself, so there blocks run across images
/// and are cut evenly among the threads (`balancedBlock`; large blocks cut how often the
/// transformed weights are read: 37.7 MB a block for VGG16's 512-channel layers); every output
/// is still computed by the same operations wherever its tile falls. Either way features are
/// bit-identical across batch sizes, positions and thread counts.
final class WinogradConvolution {
    let geometry: ConvolutionGeometry
    let bias: UnsafePointer<Float>?
    let activation: ActivationKernel
    /// With `accumulates`, the output holds the residual to add: `activation(output + conv + bias)`.
    let accumulates: Bool
    /// Whether the output is the 2×2, stride-2 max pooling of the convolution's result (a
    /// MaxPooling2D fused by the planner: VGG's blocks end so), written at half the height and
    /// width; the full-size result is never stored.
    let pooled: Bool
    /// Threads the workspace is laid out for.
    let threads: Int
    /// Whether the threads share every block phase by phase (input transforms, the 36 products
    /// a position a thread at a time, output transforms) rather than each taking whole blocks:
    /// for graft's packed products when the transformed weights are large (`Cin·Cout > 256²`,
    /// 37.7 MB for 512 channels), so that each block reads them once rather than once a thread,
    /// with blocks as large as all the threads' budgets. VGG16's 512-channel layers at batch 8
    /// on 2 threads of the AVX2 EPYC: 149–154 ms against 169–180 (best of each layer over 3
    /// alternating runs); ResNet50's 64–256-channel layers lose 3–6 % with it, so they keep whole
    /// blocks a thread.
    let sharesBlocks: Bool
    /// Tiles per block: the rows of each of the 36 products.
    let tilesPerBlock: Int
    let tileRows: Int, tileColumns: Int
    /// `U`: 36 matrices of `Cin × Cout`, row-major, or with `packedProducts` each packed in
    /// panels of 16 output channels as `multiplyPacked` reads them.
    private let transformed: TransformedWeights
    private var transformedWeights: UnsafeMutablePointer<Float> { transformed.pointer }
    /// Whether the 36 products run graft's AVX2 product on packed weights (AVX2 present, output
    /// channels in multiples of 16) rather than OpenBLAS, which packs the weights again on every
    /// call: on VGG16 that repacking was 16 % of the run, and zeroing the products 4 %. VGG16's
    /// conv base at batch 8 on 2 threads of the AVX2 EPYC: 0.56–0.60 s a batch against 0.70.
    let packedProducts: Bool

    /// Whether convolutions of `outputChannels` run graft's AVX2 products here (for the numerics record).
    static func usesPackedProducts(outputChannels: Int) -> Bool {
        CPUFeatures.hasAVX2 && outputChannels % 16 == 0
    }

    /// Whether a convolution of this shape runs here: 3×3, stride 1, no dilation, no groups,
    /// channel counts in whole SIMD vectors of 8 with at least 16 input channels, and at least 4
    /// tiles of 4×4 outputs per image (an output of 5×5 or more). The rule looks at one image's
    /// shape only, so the algorithm, and so the bits, never depend on the batch. Measured per
    /// layer on ResNet50 and VGG16 on an AVX2 EPYC (`graft run` with GRAFT_PROFILE=1, against
    /// oneDNN's direct kernel): 56×56 and 28×28 layers gain 1.4–2.8×, VGG16's 14×14×512 layers
    /// 1.6×; ResNet50's 7×7×512 layers (4 tiles an image) 2.2× at batch 8 (5.4 against 12 ms,
    /// with blocks balanced among the threads, `balancedBlock`) and 1.1–1.2× at batch 1 (1.3–1.5
    /// against 1.6 ms).
    static func supports(_ g: ConvolutionGeometry) -> Bool {
        guard g.kernelHeight == 3 && g.kernelWidth == 3 && g.strideHeight == 1 && g.strideWidth == 1
            && g.dilationHeight == 1 && g.dilationWidth == 1 && g.groups == 1
            && g.inputChannels % 8 == 0 && g.outputChannels % 8 == 0 && g.inputChannels >= 16 else { return false }
        let tiles = ((g.outputHeight + 3) / 4) * ((g.outputWidth + 3) / 4)
        return tiles >= 4
    }

    /// The transformed inputs and products of one block take at most about this many floats
    /// (8 MiB, within the last-level cache between the transforms and the products). Measured on
    /// VGG16's conv base at batch 8 on the AVX2 EPYC: 2 MiB blocks 0.71–0.77 s a batch, 8 MiB
    /// 0.62–0.65 s (fewer, larger products; OpenBLAS packs the transformed weights once a call).
    static let blockBudgetFloats = 1 << 21
    /// The budget for graft's packed products when the transformed weights are small
    /// (`Cin·Cout ≤ 256·256`, at most 9.4 MB): 2^17 floats (512 KiB, the L2 cache of a Zen 3 core),
    /// so that a block's transformed inputs and products stay in L2 between the transforms and
    /// the products, at the price of reading the weights once a block. Measured on the AVX2 EPYC
    /// at batch 8, 2 threads: VGG16's 224×224×64 layer 67–69 ms against 85–89 with 2^21, the
    /// 112×112×128 ones 61–63 against 68–76, the whole of VGG16 5–10 % faster; 2^16 and 2^15
    /// were slower again (83 ms), and the 512-channel layers, whose 37.7 MB of weights would
    /// be read for every 16 tiles, lose 30 % with it (so they keep 2^21).
    static let cachedBlockBudgetFloats = 1 << 17
    /// Blocks per image to aim for when that leaves at least 16 tiles a block, so that a batch of
    /// one image still shares its tiles among threads: with 2 (against 1, 4 and 8) VGG16's conv
    /// base ran fastest at batch 1 and at batch 8 on 2 threads.
    static let notionalBlocks = 2

    /// `kernel` is the spec's `[3, 3, Cin, Cout]`; `geometry.batch` is the batch a run computes.
    /// With `cache`, the transformed weights are taken from it under `key` (the node's name), or
    /// made and left there: they depend on the kernel and the channel counts, not on the batch.
    init(geometry g: ConvolutionGeometry, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?, activation: ActivationKernel,
         threads: Int, accumulates: Bool, pooled: Bool = false, cache: TransformedWeightCache? = nil, key: String = "") {
        precondition(WinogradConvolution.supports(g))
        precondition(!pooled || (!accumulates && g.outputHeight % 2 == 0 && g.outputWidth % 2 == 0 && (activation == .relu || activation == .linear)))
        self.pooled = pooled
        geometry = g
        self.bias = bias
        self.activation = activation
        self.accumulates = accumulates
        self.threads = max(1, threads)
        tileRows = (g.outputHeight + 3) / 4
        tileColumns = (g.outputWidth + 3) / 4
        let perImage = tileRows * tileColumns
        // As many tiles as the budget holds, but at least `notionalBlocks` blocks per image where
        // that leaves 16 tiles or more a block, so that one image keeps several threads busy
        // (batch 1); both depend on the shape only.
        let (c, k) = (g.inputChannels, g.outputChannels)
        let packed = WinogradConvolution.usesPackedProducts(outputChannels: k)
        let largeWeights = c * k > 256 * 256
        let budget = packed && !largeWeights ? WinogradConvolution.cachedBlockBudgetFloats : WinogradConvolution.blockBudgetFloats
        let fitting = budget / (36 * (c + k))
        packedProducts = packed
        sharesBlocks = packed && largeWeights && self.threads > 1
        if sharesBlocks {
            tilesPerBlock = min(g.batch * perImage, max(16, fitting) * self.threads)
        } else if packed {
            // Rows of graft's product do not depend on the product's other rows, so a block may
            // take tiles of several images, and the blocks may be cut by the thread count.
            tilesPerBlock = WinogradConvolution.balancedBlock(tiles: g.batch * perImage, fitting: max(16, fitting), threads: self.threads)
        } else {
            let shared = (perImage + WinogradConvolution.notionalBlocks - 1) / WinogradConvolution.notionalBlocks
            tilesPerBlock = max(1, min(perImage, max(16, min(fitting, shared))))
        }
        let count = 36 * c * k, threads = self.threads
        let fill = { (weights: UnsafeMutablePointer<Float>) in
            WinogradConvolution.transformWeights(kernel, into: weights, inputChannels: c, outputChannels: k, packed: packed, threads: threads)
        }
        transformed = cache?.weights(for: key, count: count, packed: packed, filledBy: fill) ?? TransformedWeights(count: count, packed: packed, filledBy: fill)
    }

    /// Writes `U` for `kernel` (`[3, 3, Cin, Cout]`) into `weights`: packed in panels of 16
    /// output channels for graft's products, row-major for OpenBLAS's.
    private static func transformWeights(_ kernel: UnsafePointer<Float>, into weights: UnsafeMutablePointer<Float>,
                                         inputChannels c: Int, outputChannels k: Int, packed: Bool, threads: Int) {
        // U = G g Gᵀ per (input, output) channel pair, in Double, output channels innermost (the
        // spec's kernel has them contiguous), input channels shared among the threads.
        let gMatrix: [Double] = [0.25, 0, 0, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6,
                                 1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 24, -1.0 / 12, 1.0 / 6, 0, 0, 1]
        parallelFor(c, threads: threads, minimumPerThread: 8) { channels in
            // half = G·g (6×3) for every output channel of one input channel.
            var half = [Double](repeating: 0, count: 18 * k)
            half.withUnsafeMutableBufferPointer { half in
                gMatrix.withUnsafeBufferPointer { gm in
                    for ci in channels {
                        for i in 0..<6 {
                            for b in 0..<3 {
                                let row = half.baseAddress! + (i * 3 + b) * k
                                let (g0, g1, g2) = (gm[i * 3], gm[i * 3 + 1], gm[i * 3 + 2])
                                let w0 = kernel + ((0 * 3 + b) * c + ci) * k, w1 = kernel + ((1 * 3 + b) * c + ci) * k
                                let w2 = kernel + ((2 * 3 + b) * c + ci) * k
                                for ko in 0..<k { row[ko] = g0 * Double(w0[ko]) + g1 * Double(w1[ko]) + g2 * Double(w2[ko]) }
                            }
                        }
                        for i in 0..<6 {
                            let h0 = half.baseAddress! + (i * 3) * k, h1 = h0 + k, h2 = h1 + k
                            for j in 0..<6 {
                                let (g0, g1, g2) = (gm[j * 3], gm[j * 3 + 1], gm[j * 3 + 2])
                                if packed {
                                    // Panel ko/16, row ci, column ko%16: 16 contiguous floats a
                                    // panel (k is a multiple of 16 here).
                                    let row = weights + (i * 6 + j) * c * k + ci * 16
                                    for panel in 0..<(k >> 4) {
                                        let target = row + panel * c * 16, first = panel << 4
                                        for lane in 0..<16 {
                                            let ko = first + lane
                                            target[lane] = Float(h0[ko] * g0 + h1[ko] * g1 + h2[ko] * g2)
                                        }
                                    }
                                } else {
                                    let target = weights + ((i * 6 + j) * c + ci) * k
                                    for ko in 0..<k { target[ko] = Float(h0[ko] * g0 + h1[ko] * g1 + h2[ko] * g2) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Tiles per block when blocks may span images (graft's packed products): blocks of at most
    /// `fitting` tiles, as many blocks as a multiple of `threads`, all of the same size but the
    /// last, so that every thread gets the same work. (Blocks cut only by the budget left one
    /// thread with 113 tiles and the other 15 on ResNet50's 14×14 layers at batch 8; and at batch
    /// 1 its 28×28 layers' 49 tiles went 16, 16, 16, 1, one thread taking 32: 0.59 ms a layer on
    /// the Zen 4 EPYC, 0.49 balanced.) When there are fewer than `minimumPerThread` tiles a thread
    /// and fewer blocks than threads, one block of all the tiles, which the threads share phase
    /// by phase: each then reads only its share of the transformed weights.
    /// The blocking never changes a result's bits: every tile row is computed alone.
    static func balancedBlock(tiles: Int, fitting: Int, threads: Int, minimumPerThread: Int = 32) -> Int {
        guard tiles > 0 else { return 1 }
        var blocks = (tiles + fitting - 1) / fitting
        guard threads > 1, tiles >= threads * minimumPerThread || blocks >= threads else { return max(1, min(tiles, fitting)) }
        blocks = (blocks + threads - 1) / threads * threads
        return (tiles + blocks - 1) / blocks
    }

    /// Floats of workspace a run needs: the transformed inputs and the products of one block per
    /// thread, or of the one block all share (`sharesBlocks`).
    var workspaceCount: Int { (sharesBlocks ? 1 : threads) * blockFloats }
    private var blockFloats: Int { 36 * tilesPerBlock * (geometry.inputChannels + geometry.outputChannels) }

    /// Runs the whole batch: `input` NHWC `batch × H × W × Cin`, `output` NHWC `batch × OH × OW × Cout`
    /// (`batch × OH/2 × OW/2 × Cout` when `pooled`).
    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        let g = geometry
        let perImage = tileRows * tileColumns
        let blocksPerImage = (perImage + tilesPerBlock - 1) / tilesPerBlock
        let (c, k, t) = (g.inputChannels, g.outputChannels, tilesPerBlock)
        let inputStride = g.inputHeight * g.inputWidth * c
        let outputStride = (pooled ? (g.outputHeight / 2) * (g.outputWidth / 2) : g.outputHeight * g.outputWidth) * k
        if packedProducts {
            // Blocks of `t` tiles cut from the batch's tiles in order, across images: every output
            // row is computed the same way whatever block it falls in (graft's product makes each
            // row alone), so the bits do not depend on the batch or the thread count. Each thread
            // takes whole blocks, as below; with fewer blocks than threads, or with large
            // transformed weights (`sharesBlocks`), the threads share each block in three phases
            // (input transforms, the 36 products one position a thread at a time, output
            // transforms).
            let total = g.batch * perImage
            let blocks = (total + t - 1) / t
            func transformInputs(rows: Range<Int>, into transformed: UnsafeMutablePointer<Float>, from first: Int) {
                forEachImageSegment(of: rows) { image, tiles, row in
                    self.transformInputs(input + image * inputStride, tiles: tiles, into: transformed + (row - first) * c)
                }
            }
            func transformOutputs(rows: Range<Int>, from products: UnsafeMutablePointer<Float>, first: Int) {
                forEachImageSegment(of: rows) { image, tiles, row in
                    self.transformOutputs(products + (row - first) * k, tiles: tiles, into: output + image * outputStride)
                }
            }
            if blocks < threads || sharesBlocks {
                let transformed = workspace, products = workspace + 36 * t * c
                for block in 0..<blocks {
                    let first = block * t, count = min(t, total - first)
                    parallelFor(count, threads: threads) { rows in
                        transformInputs(rows: (first + rows.lowerBound)..<(first + rows.upperBound), into: transformed, from: first)
                    }
                    parallelItems(36, threads: threads) { _, position in
                        multiply(position, rows: count, transformed, into: products)
                    }
                    parallelFor(count, threads: threads) { rows in
                        transformOutputs(rows: (first + rows.lowerBound)..<(first + rows.upperBound), from: products, first: first)
                    }
                }
            } else {
                parallelItems(blocks, threads: threads) { worker, block in
                    let first = block * t, count = min(t, total - first)
                    let transformed = workspace + worker * blockFloats, products = transformed + 36 * t * c
                    transformInputs(rows: first..<(first + count), into: transformed, from: first)
                    for position in 0..<36 { multiply(position, rows: count, transformed, into: products) }
                    transformOutputs(rows: first..<(first + count), from: products, first: first)
                }
            }
            return
        }
        if blocksPerImage == 1 && g.batch < threads {
            // Fewer whole-image blocks than threads (batch 1, small layers): each image in three
            // phases that the threads share (its tiles' input transforms, the 36 products, the
            // output transforms). The products are the same sgemm calls as below, so the results
            // are the same bits either way.
            let transformed = workspace, products = workspace + 36 * t * c
            for image in 0..<g.batch {
                let source = input + image * inputStride, target = output + image * outputStride
                parallelFor(perImage, threads: threads) { tiles in
                    transformInputs(source, tiles: tiles, into: transformed + tiles.lowerBound * c)
                }
                parallelItems(36, threads: threads) { _, position in
                    multiply(position, rows: perImage, transformed, into: products)
                }
                parallelFor(perImage, threads: threads) { tiles in
                    transformOutputs(products + tiles.lowerBound * k, tiles: tiles, into: target)
                }
            }
            return
        }
        parallelItems(g.batch * blocksPerImage, threads: threads) { worker, item in
            let image = item / blocksPerImage
            let first = (item % blocksPerImage) * t
            let count = min(t, perImage - first)
            let transformed = workspace + worker * blockFloats
            let products = transformed + 36 * t * c
            transformInputs(input + image * inputStride, tiles: first..<(first + count), into: transformed)
            for position in 0..<36 { multiply(position, rows: count, transformed, into: products) }
            transformOutputs(products, tiles: first..<(first + count), into: output + image * outputStride)
        }
    }

    /// Calls `body(image, tiles, row)` for each image's part of the batch-wide tile rows `rows`
    /// (row `r` is tile `r % perImage` of image `r / perImage`), `row` being the first of the part.
    private func forEachImageSegment(of rows: Range<Int>, _ body: (_ image: Int, _ tiles: Range<Int>, _ row: Int) -> Void) {
        let perImage = tileRows * tileColumns
        var row = rows.lowerBound
        while row < rows.upperBound {
            let image = row / perImage, tile = row % perImage
            let end = min(rows.upperBound, (image + 1) * perImage)
            body(image, tile..<(tile + end - row), row)
            row = end
        }
    }

    /// `M[ξ] = V[ξ]·U[ξ]` for the first `rows` tiles of a block: the one product both schedules
    /// of `run` make, so that they give the same bits. (graft's packed product gives each row
    /// the same bits whatever the number of rows; OpenBLAS is called with the same shapes.)
    private func multiply(_ position: Int, rows: Int, _ v: UnsafePointer<Float>, into m: UnsafeMutablePointer<Float>) {
        let (c, k, t) = (geometry.inputChannels, geometry.outputChannels, tilesPerBlock)
        if packedProducts {
            // The AVX-512 product gives the AVX2 product's bits (one FMA chain per element).
            if CPUFeatures.hasAVX512 {
                multiplyPacked512(rows: rows, panels: k / 16, depth: c, v + position * t * c, lda: c,
                                  transformedWeights + position * c * k, m + position * t * k, ldc: k)
            } else {
                multiplyPacked(rows: rows, panels: k / 16, depth: c, v + position * t * c, lda: c,
                               transformedWeights + position * c * k, m + position * t * k, ldc: k)
            }
            return
        }
        sgemm(rows: rows, columns: k, depth: c, v + position * t * c, c,
              transformedWeights + position * c * k, k, m + position * t * k, k, accumulate: false)
    }

    /// `V[ξ][tile][c]` for the tiles of one image (`winogradTransformInputs`, its AVX2 copy where
    /// the CPU has AVX2: the same bits either way).
    private func transformInputs(_ image: UnsafePointer<Float>, tiles: Range<Int>, into v: UnsafeMutablePointer<Float>) {
        let g = geometry
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 72) { scratch in
            let transform = CPUFeatures.hasAVX2 ? GraftAVX2Kernels.winogradTransformInputs : GraftRuntime.winogradTransformInputs
            transform(image, g.inputHeight, g.inputWidth, g.inputChannels, g.padTop, g.padLeft, tileColumns,
                      tiles.lowerBound, tiles.count, v, tilesPerBlock * g.inputChannels, scratch.baseAddress!)
        }
    }

    /// The outputs of one image's tiles from `M[ξ][tile][k]` (`winogradTransformOutputs`, or its
    /// AVX2 copy): `Aᵀ m A` plus the bias (and the residual already in `output` when
    /// accumulating), ReLU fused, any other activation applied after, cropped at the edges.
    private func transformOutputs(_ m: UnsafePointer<Float>, tiles: Range<Int>, into image: UnsafeMutablePointer<Float>) {
        let g = geometry
        let fusedReLU = activation == .relu
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 36) { scratch in
            let transform = CPUFeatures.hasAVX2 ? GraftAVX2Kernels.winogradTransformOutputs : GraftRuntime.winogradTransformOutputs
            transform(m, tilesPerBlock * g.outputChannels, g.outputHeight, g.outputWidth, g.outputChannels, tileColumns,
                      tiles.lowerBound, tiles.count, bias, accumulates, fusedReLU, pooled, image, scratch.baseAddress!)
        }
        guard !fusedReLU && activation != .linear else { return }
        for tile in tiles {
            let top = (tile / tileColumns) * 4, left = (tile % tileColumns) * 4
            let rows = min(4, g.outputHeight - top), columns = min(4, g.outputWidth - left)
            for i in 0..<rows {
                let line = image + ((top + i) * g.outputWidth + left) * g.outputChannels
                activation.apply(line, line, count: columns * g.outputChannels)
            }
        }
    }
}

/// The transformed weights of one Winograd convolution, `36 · Cin · Cout` floats, packed for
/// graft's products or row-major for OpenBLAS's (`packed`), written once when made.
final class TransformedWeights {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    let packed: Bool

    init(count: Int, packed: Bool, filledBy fill: (UnsafeMutablePointer<Float>) -> Void) {
        pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        self.count = count
        self.packed = packed
        fill(pointer)
    }

    deinit { pointer.deallocate() }
}

/// Winograd-transformed weights shared by a session's plans, by node: they do not depend on the
/// batch, so the plan for another batch size (the smaller last batch of `graft features`, or the
/// batch plan after an image-by-image prefix, which plans one node twice) reuses them rather
/// than writing them again (180 MB for ResNet50, much of a plan's making in page faults alone).
/// Used under the session's lock, as planning is.
final class TransformedWeightCache {
    private var entries: [String: TransformedWeights] = [:]

    /// The weights kept for `key`, or new ones written by `fill` and kept from now on.
    func weights(for key: String, count: Int, packed: Bool, filledBy fill: (UnsafeMutablePointer<Float>) -> Void) -> TransformedWeights {
        if let kept = entries[key], kept.count == count, kept.packed == packed { return kept }
        let fresh = TransformedWeights(count: count, packed: packed, filledBy: fill)
        entries[key] = fresh
        return fresh
    }
}
