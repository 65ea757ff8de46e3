/// The resampling filter of a resize, with Pillow's `Image.resize` semantics.
public enum Interpolation: String, Sendable, Hashable, Codable, CaseIterable {
    /// `Image.NEAREST`: each output pixel copies the input pixel under its centre.
    case nearest
    /// `Image.BILINEAR`: the triangle filter, support 1, widened by the reduction factor.
    case bilinear
    /// `Image.BICUBIC`: Keys' cubic with a = −0.5, support 2, widened by the reduction factor.
    case bicubic
    /// `Image.BOX` (Keras's `"box"`): every input pixel under the output pixel weighs the same.
    case area

    /// The name Keras's `load_img(interpolation:)` uses for this filter.
    public var kerasName: String {
        switch self {
        case .nearest: "nearest"
        case .bilinear: "bilinear"
        case .bicubic: "bicubic"
        case .area: "box"
        }
    }

    /// The filter's support radius at scale 1, in input pixels.
    var support: Double {
        switch self {
        case .nearest: 0
        case .area: 0.5
        case .bilinear: 1
        case .bicubic: 2
        }
    }

    /// The filter's weight at distance `x` (in output-pixel units scaled to the input).
    func weight(_ x: Double) -> Double {
        switch self {
        case .nearest:
            return 0
        case .area:
            return x > -0.5 && x <= 0.5 ? 1 : 0
        case .bilinear:
            let distance = abs(x)
            return distance < 1 ? 1 - distance : 0
        case .bicubic:
            let a = -0.5
            let distance = abs(x)
            if distance < 1 { return ((a + 2) * distance - (a + 3)) * distance * distance + 1 }
            if distance < 2 { return (((distance - 5) * distance + 8) * distance - 4) * a }
            return 0
        }
    }
}

/// The weights of a filtered resize along one axis, in Pillow's 8-bit fixed point.
///
/// Output pixel `i` is `Σ_k input[start_i + k] · weight_ik` for `k < count_i`. The weights are
/// computed as Pillow's `precompute_coeffs` does (double precision, filter widened by
/// `max(1, in/out)`, window bounds rounded by adding 0.5 and truncating, each row normalised to
/// sum 1), then scaled by 2²² and rounded half away from zero (`normalize_coeffs_8bpc`). Sums
/// start at 2²¹ (so the final shift rounds) and are clipped to 0…255 after each pass.
struct AxisFilter: Sendable {
    static let precisionBits = 22

    let inputSize: Int
    let outputSize: Int
    /// Weights per output pixel (the longest window).
    let kernelSize: Int
    let starts: [Int]
    let counts: [Int]
    /// `outputSize × kernelSize` fixed-point weights, zero past each window's count.
    let weights: [Int32]

    init(inputSize: Int, outputSize: Int, interpolation: Interpolation) {
        precondition(interpolation != .nearest && inputSize > 0 && outputSize > 0)
        self.inputSize = inputSize
        self.outputSize = outputSize
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = interpolation.support * filterScale
        let kernelSize = Int(support.rounded(.up)) * 2 + 1
        self.kernelSize = kernelSize
        var starts = [Int](repeating: 0, count: outputSize)
        var counts = [Int](repeating: 0, count: outputSize)
        var weights = [Int32](repeating: 0, count: outputSize * kernelSize)
        var row = [Double](repeating: 0, count: kernelSize)
        let inverseScale = 1.0 / filterScale
        let one = Double(1 << AxisFilter.precisionBits)
        for output in 0..<outputSize {
            let center = (Double(output) + 0.5) * scale
            let start = max(0, Int(center - support + 0.5))
            let end = min(inputSize, Int(center + support + 0.5))
            let count = end - start
            var total = 0.0
            for k in 0..<count {
                let weight = interpolation.weight((Double(k + start) - center + 0.5) * inverseScale)
                row[k] = weight
                total += weight
            }
            for k in 0..<count {
                let normalized = total != 0 ? row[k] / total : row[k]
                weights[output * kernelSize + k] = normalized < 0 ? Int32(-0.5 + normalized * one) : Int32(0.5 + normalized * one)
            }
            starts[output] = start
            counts[output] = count
        }
        self.starts = starts
        self.counts = counts
        self.weights = weights
    }
}

/// Pillow's nearest-neighbour source index for each output index along one axis.
///
/// Pillow resizes with NEAREST through an affine transform: the source coordinate starts at
/// `0.5 · in/out` and grows by `in/out` per output pixel (accumulated in double precision, as
/// Pillow does, so rounding drift matches), and is truncated to an index.
func nearestIndices(inputSize: Int, outputSize: Int) -> [Int] {
    let step = Double(inputSize) / Double(outputSize)
    var position = step * 0.5
    var indices = [Int](repeating: 0, count: outputSize)
    for output in 0..<outputSize {
        indices[output] = position < 0 ? 0 : min(inputSize - 1, Int(position))
        position += step
    }
    return indices
}

/// A resize from one size to another with one filter: Pillow's two-pass separable algorithm
/// (horizontal pass first, rounded and clipped to 8 bits, then vertical), or its nearest-neighbour
/// affine scaling.
///
/// A plan holds only tables; it can be reused for every image of the same source size and is
/// `Sendable`. `apply` may compute only a window of the output (the centre crop), which gives the
/// same pixels as resizing fully and cropping.
public struct ResamplingPlan: Sendable {
    public let sourceWidth: Int
    public let sourceHeight: Int
    public let width: Int
    public let height: Int
    public let interpolation: Interpolation
    let horizontal: AxisFilter?
    let vertical: AxisFilter?
    let nearestColumns: [Int]
    let nearestRows: [Int]

    /// Builds the tables for resizing `sourceWidth × sourceHeight` to `width × height`.
    ///
    /// - Precondition: all sizes are positive.
    public init(sourceWidth: Int, sourceHeight: Int, width: Int, height: Int, interpolation: Interpolation) {
        precondition(sourceWidth > 0 && sourceHeight > 0 && width > 0 && height > 0,
                     "ResamplingPlan: sizes must be positive")
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.width = width
        self.height = height
        self.interpolation = interpolation
        if interpolation == .nearest {
            nearestColumns = nearestIndices(inputSize: sourceWidth, outputSize: width)
            nearestRows = nearestIndices(inputSize: sourceHeight, outputSize: height)
            horizontal = nil
            vertical = nil
        } else {
            nearestColumns = []
            nearestRows = []
            horizontal = width == sourceWidth ? nil
                : AxisFilter(inputSize: sourceWidth, outputSize: width, interpolation: interpolation)
            vertical = height == sourceHeight ? nil
                : AxisFilter(inputSize: sourceHeight, outputSize: height, interpolation: interpolation)
        }
    }

    init(sourceWidth: Int, sourceHeight: Int, horizontal: AxisFilter?, vertical: AxisFilter?,
         width: Int, height: Int, interpolation: Interpolation) {
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.width = width
        self.height = height
        self.interpolation = interpolation
        self.horizontal = horizontal
        self.vertical = vertical
        if interpolation == .nearest {
            nearestColumns = nearestIndices(inputSize: sourceWidth, outputSize: width)
            nearestRows = nearestIndices(inputSize: sourceHeight, outputSize: height)
        } else {
            nearestColumns = []
            nearestRows = []
        }
    }

    /// Resizes `source` (`sourceHeight × sourceWidth × channels` bytes) and writes the output
    /// rows `rows` and columns `columns` to `destination`, tightly packed.
    ///
    /// `scratch` holds the intermediate image of the horizontal pass and an accumulator row; it
    /// grows as needed and can be reused across calls.
    func apply(source: UnsafePointer<UInt8>, channels: Int, rows: Range<Int>, columns: Range<Int>,
               destination: UnsafeMutablePointer<UInt8>, scratch: inout ResamplingScratch) {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= height && columns.lowerBound >= 0
                     && columns.upperBound <= width && !rows.isEmpty && !columns.isEmpty)
        let outputRowBytes = columns.count * channels
        if interpolation == .nearest {
            nearestColumns.withUnsafeBufferPointer { columnIndex in
                for (outputRow, row) in rows.enumerated() {
                    let sourceRow = source + nearestRows[row] * sourceWidth * channels
                    let outputPixels = destination + outputRow * outputRowBytes
                    for (outputColumn, column) in columns.enumerated() {
                        let from = sourceRow + columnIndex[column] * channels
                        for channel in 0..<channels { outputPixels[outputColumn * channels + channel] = from[channel] }
                    }
                }
            }
            return
        }

        guard let horizontal, let vertical else {
            if let horizontal {
                // Horizontal only: output rows are source rows.
                for (index, row) in rows.enumerated() {
                    horizontalPass(horizontal, source: source + row * sourceWidth * channels, columnOffset: 0,
                                   channels: channels, columns: columns, destination: destination + index * outputRowBytes)
                }
            } else if let vertical {
                scratch.reserve(intermediate: 0, accumulator: outputRowBytes)
                for (index, row) in rows.enumerated() {
                    verticalPass(vertical, row: row, source: source + columns.lowerBound * channels,
                                 sourceRowBytes: sourceWidth * channels, firstSourceRow: 0, byteCount: outputRowBytes,
                                 accumulator: scratch.accumulator.baseAddress!, destination: destination + index * outputRowBytes)
                }
            } else {
                for (index, row) in rows.enumerated() {
                    (destination + index * outputRowBytes).update(
                        from: source + (row * sourceWidth + columns.lowerBound) * channels, count: outputRowBytes)
                }
            }
            return
        }

        if verticalFirst {
            // The source columns the horizontal pass reads, resized vertically first.
            let neededColumns = horizontal.inputWindow(for: columns)
            let intermediateRowBytes = neededColumns.count * channels
            scratch.reserve(intermediate: rows.count * intermediateRowBytes, accumulator: intermediateRowBytes)
            let intermediate = scratch.intermediate.baseAddress!
            for (index, row) in rows.enumerated() {
                verticalPass(vertical, row: row, source: source + neededColumns.lowerBound * channels,
                             sourceRowBytes: sourceWidth * channels, firstSourceRow: 0, byteCount: intermediateRowBytes,
                             accumulator: scratch.accumulator.baseAddress!, destination: intermediate + index * intermediateRowBytes)
            }
            for index in 0..<rows.count {
                horizontalPass(horizontal, source: intermediate + index * intermediateRowBytes,
                               columnOffset: neededColumns.lowerBound, channels: channels, columns: columns,
                               destination: destination + index * outputRowBytes)
            }
        } else {
            // The source rows the vertical pass reads, resized horizontally first.
            let neededRows = vertical.inputWindow(for: rows)
            scratch.reserve(intermediate: neededRows.count * outputRowBytes, accumulator: outputRowBytes)
            let intermediate = scratch.intermediate.baseAddress!
            for (index, row) in neededRows.enumerated() {
                horizontalPass(horizontal, source: source + row * sourceWidth * channels, columnOffset: 0,
                               channels: channels, columns: columns, destination: intermediate + index * outputRowBytes)
            }
            for (index, row) in rows.enumerated() {
                verticalPass(vertical, row: row, source: UnsafePointer(intermediate), sourceRowBytes: outputRowBytes,
                             firstSourceRow: neededRows.lowerBound, byteCount: outputRowBytes,
                             accumulator: scratch.accumulator.baseAddress!, destination: destination + index * outputRowBytes)
            }
        }
    }

    /// Whether Pillow runs the vertical pass first: since Pillow 13 (python-pillow/Pillow#9549)
    /// it does when both passes are needed, the height shrinks, and it shrinks by more than twice
    /// as many pixels as the width does. The rounding between passes makes the order visible.
    var verticalFirst: Bool {
        horizontal != nil && vertical != nil && height < sourceHeight
            && sourceHeight - height > 2 * (sourceWidth - width)
    }

    /// One output row of the vertical pass over `byteCount` interleaved bytes per row.
    ///
    /// `source` points at the first byte of row `firstSourceRow`; rows are `sourceRowBytes` apart.
    private func verticalPass(_ filter: AxisFilter, row: Int, source: UnsafePointer<UInt8>, sourceRowBytes: Int,
                              firstSourceRow: Int, byteCount: Int, accumulator: UnsafeMutablePointer<Int32>,
                              destination: UnsafeMutablePointer<UInt8>) {
        for index in 0..<byteCount { accumulator[index] = 1 << (AxisFilter.precisionBits - 1) }
        let start = filter.starts[row]
        filter.weights.withUnsafeBufferPointer { weights in
            let kernel = weights.baseAddress! + row * filter.kernelSize
            for k in 0..<filter.counts[row] {
                let weight = kernel[k]
                let input = source + (start + k - firstSourceRow) * sourceRowBytes
                for index in 0..<byteCount {
                    accumulator[index] &+= Int32(input[index]) &* weight
                }
            }
        }
        for index in 0..<byteCount { destination[index] = clipToByte(accumulator[index]) }
    }

    /// One row of the horizontal pass.
    ///
    /// `source` holds the input row from input column `columnOffset` on.
    private func horizontalPass(_ filter: AxisFilter, source: UnsafePointer<UInt8>, columnOffset: Int, channels: Int,
                                columns: Range<Int>, destination: UnsafeMutablePointer<UInt8>) {
        let half: Int32 = 1 << (AxisFilter.precisionBits - 1)
        filter.weights.withUnsafeBufferPointer { weights in
            filter.starts.withUnsafeBufferPointer { starts in
                filter.counts.withUnsafeBufferPointer { counts in
                    var output = destination
                    for column in columns {
                        let kernel = weights.baseAddress! + column * filter.kernelSize
                        let input = source + (starts[column] - columnOffset) * channels
                        let count = counts[column]
                        switch channels {
                        case 3:
                            var red = half, green = half, blue = half
                            for k in 0..<count {
                                let weight = kernel[k]
                                red &+= Int32(input[3 * k]) &* weight
                                green &+= Int32(input[3 * k + 1]) &* weight
                                blue &+= Int32(input[3 * k + 2]) &* weight
                            }
                            output[0] = clipToByte(red)
                            output[1] = clipToByte(green)
                            output[2] = clipToByte(blue)
                        case 1:
                            var sum = half
                            for k in 0..<count { sum &+= Int32(input[k]) &* kernel[k] }
                            output[0] = clipToByte(sum)
                        default:
                            for channel in 0..<channels {
                                var sum = half
                                for k in 0..<count { sum &+= Int32(input[channels * k + channel]) &* kernel[k] }
                                output[channel] = clipToByte(sum)
                            }
                        }
                        output += channels
                    }
                }
            }
        }
    }
}

extension AxisFilter {
    /// The input indices that the outputs `outputs` of this filter read.
    func inputWindow(for outputs: Range<Int>) -> Range<Int> {
        var first = Int.max, last = 0
        for output in outputs {
            first = min(first, starts[output])
            last = max(last, starts[output] + counts[output])
        }
        return first..<max(first, last)
    }
}

/// Pillow's `clip8`: the fixed-point sum shifted down (arithmetic shift) and clamped to 0…255.
@inline(__always)
func clipToByte(_ sum: Int32) -> UInt8 {
    let shifted = sum >> Int32(AxisFilter.precisionBits)
    return shifted < 0 ? 0 : shifted > 255 ? 255 : UInt8(truncatingIfNeeded: shifted)
}

/// Reusable memory for `ResamplingPlan.apply`.
struct ResamplingScratch {
    var intermediate = UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0)
    var accumulator = UnsafeMutableBufferPointer<Int32>(start: nil, count: 0)

    mutating func reserve(intermediate intermediateCount: Int, accumulator accumulatorCount: Int) {
        if intermediate.count < intermediateCount {
            intermediate.deallocate()
            intermediate = .allocate(capacity: intermediateCount)
        }
        if accumulator.count < accumulatorCount {
            accumulator.deallocate()
            accumulator = .allocate(capacity: accumulatorCount)
        }
    }

    func release() {
        intermediate.deallocate()
        accumulator.deallocate()
    }
}

extension Image {
    /// This image resized to `width × height` as Pillow's `Image.resize((width, height), filter)`
    /// does; an image already of that size is returned unchanged.
    public func resized(width newWidth: Int, height newHeight: Int, interpolation: Interpolation) -> Image {
        if newWidth == width && newHeight == height { return self }
        let plan = ResamplingPlan(sourceWidth: width, sourceHeight: height, width: newWidth, height: newHeight,
                                  interpolation: interpolation)
        return resized(with: plan, rows: 0..<newHeight, columns: 0..<newWidth)
    }

    /// The window `rows × columns` of this image resized with `plan`.
    func resized(with plan: ResamplingPlan, rows: Range<Int>, columns: Range<Int>) -> Image {
        precondition(plan.sourceWidth == width && plan.sourceHeight == height)
        let channels = channelCount
        var scratch = ResamplingScratch()
        defer { scratch.release() }
        let output = [UInt8](unsafeUninitializedCapacity: rows.count * columns.count * channels) { buffer, initialized in
            pixels.withUnsafeBufferPointer { input in
                plan.apply(source: input.baseAddress!, channels: channels, rows: rows, columns: columns,
                           destination: buffer.baseAddress!, scratch: &scratch)
            }
            initialized = rows.count * columns.count * channels
        }
        return Image(width: columns.count, height: rows.count, color: color, pixels: output)
    }
}
