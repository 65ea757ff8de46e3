public import GraftTensors
/// Turns image files into model input tensors under one effective `Preprocessing`.
///
/// A preprocessor owns an `ImageDecoder`, the resize tables it has built (one per source size,
/// shared by every image of that size) and scratch memory, so it is not `Sendable`: give each
/// worker thread its own. The per-image path allocates only the decoded and resized pixels.
///
/// Pixel values are mapped through a table of 256 floats per output channel, computed with the
/// exact single-precision operations of the recipe, so the results equal Keras's
/// `preprocess_input` applied to `img_to_array` bit for bit when the pixels are equal.
public final class Preprocessor {
    /// The effective preprocessing (complete).
    public let preprocessing: Preprocessing
    /// The tensor shape of one image: `[1, height, width, channels]` or `[1, channels, height, width]`.
    public let shape: [Int]
    /// The number of floats one image fills.
    public let elementCount: Int

    private let decoder = ImageDecoder()
    private let height: Int
    private let width: Int
    private let color: ColorMode
    private let layout: TensorLayout
    private let resize: ResizeMode
    private let shorterSide: Int
    private let interpolation: Interpolation
    private let decodingOptions: DecodingOptions
    /// `channels × 256` output values, indexed by output channel and 8-bit input value.
    private let valueTable: [Float]
    /// The input channel each output channel reads.
    private let sourceChannel: [Int]
    private var plans: [PlanKey: ResamplingPlan] = [:]
    private var scratch = ResamplingScratch()
    private var resized: [UInt8] = []

    private struct PlanKey: Hashable {
        var sourceWidth, sourceHeight, width, height: Int
    }

    /// Creates a preprocessor for an effective preprocessing (see `Preprocessing.resolved(for:)`).
    ///
    /// `maximumPixelCount` is the decompression-bomb cap: an image declaring more pixels fails
    /// before any pixel buffer is allocated (PIL's `MAX_IMAGE_PIXELS` in spirit). It does not
    /// change any pixel, so it is not part of the preprocessing record.
    ///
    /// - Throws: `PreprocessingError.invalidRecord` when a member is missing.
    public init(_ preprocessing: Preprocessing,
                maximumPixelCount: Int = DecodingOptions.defaultMaximumPixelCount) throws(PreprocessingError) {
        guard preprocessing.isComplete, let height = preprocessing.height, let width = preprocessing.width,
              let color = preprocessing.color, let layout = preprocessing.layout, let resize = preprocessing.resize,
              let interpolation = preprocessing.interpolation, let order = preprocessing.channelOrder,
              let divisor = preprocessing.divisor, let mean = preprocessing.mean, let std = preprocessing.std,
              let scale = preprocessing.scale
        else {
            throw .invalidRecord(reason: "the preprocessing is not complete; resolve it for the model first: \(preprocessing.jsonText())")
        }
        let channels = color.channelCount
        guard mean.count == channels, std.count == channels else {
            throw .invalidRecord(reason: "mean and std need \(channels) values each")
        }
        self.preprocessing = preprocessing
        self.height = height
        self.width = width
        self.color = color
        self.layout = layout
        self.resize = resize
        self.shorterSide = preprocessing.shorterSide ?? 0
        self.interpolation = interpolation
        shape = layout == .nhwc ? [1, height, width, channels] : [1, channels, height, width]
        elementCount = height * width * channels
        decodingOptions = DecodingOptions(
            color: color, appliesExifOrientation: preprocessing.exifOrientation ?? false,
            reductionTarget: preprocessing.fastDecode == true
                ? (resize == .crop ? .shorterSide(shorterSide) : .size(width: width, height: height)) : nil,
            maximumPixelCount: maximumPixelCount, sixteenBitReduction: preprocessing.depth16 ?? .pil)
        sourceChannel = (0..<channels).map { order == .bgr && channels == 3 ? 2 - $0 : $0 }
        var table = [Float](repeating: 0, count: channels * 256)
        for channel in 0..<channels {
            let divisor = Float(divisor), mean = Float(mean[channel]), std = Float(std[channel]), scale = Float(scale)
            for value in 0..<256 {
                var result = Float(value)
                result = result / divisor
                result = result - mean
                result = result / std
                result = result * scale
                table[channel * 256 + value] = result
            }
        }
        valueTable = table
    }

    deinit { scratch.release() }

    /// Decodes, resizes and normalises the image at `path` into a new tensor of `shape`.
    public func tensor(forImageAt path: String) throws(ImageError) -> Tensor {
        var scalars = [Float](repeating: 0, count: elementCount)
        let result = scalars.withUnsafeMutableBufferPointer { buffer in
            Result { () throws(ImageError) in try preprocess(imageAt: path, into: buffer) }
        }
        try result.get()
        return Tensor(shape: shape, scalars: scalars)
    }

    /// Decodes, resizes and normalises the image at `path` into `destination`, which must hold
    /// `elementCount` floats (one batch item in the model's layout).
    public func preprocess(imageAt path: String, into destination: UnsafeMutableBufferPointer<Float>) throws(ImageError) {
        let image = try decoder.decode(fileAt: path, options: decodingOptions)
        write(image, into: destination)
    }

    /// The tensor of an image already decoded (converted to the preprocessing's colour first).
    public func tensor(for image: Image) -> Tensor {
        var scalars = [Float](repeating: 0, count: elementCount)
        scalars.withUnsafeMutableBufferPointer { write(image, into: $0) }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// Resizes (stretch or shorter side and centre crop) and normalises `image` into `destination`.
    public func write(_ image: Image, into destination: UnsafeMutableBufferPointer<Float>) {
        precondition(destination.count >= elementCount, "Preprocessor.write: the buffer holds \(destination.count) floats, not \(elementCount)")
        let image = image.converted(to: color)
        let channels = color.channelCount
        let (resizedWidth, resizedHeight) = resizedSize(width: image.width, height: image.height)
        let top = (resizedHeight - height) / 2, left = (resizedWidth - width) / 2
        let key = PlanKey(sourceWidth: image.width, sourceHeight: image.height, width: resizedWidth, height: resizedHeight)
        let plan: ResamplingPlan
        if let cached = plans[key] {
            plan = cached
        } else {
            plan = ResamplingPlan(sourceWidth: image.width, sourceHeight: image.height, width: resizedWidth,
                                  height: resizedHeight, interpolation: interpolation)
            if plans.count >= 64 { plans.removeAll(keepingCapacity: true) }
            plans[key] = plan
        }
        if resized.count < elementCount { resized = [UInt8](repeating: 0, count: elementCount) }
        resized.withUnsafeMutableBufferPointer { pixels in
            image.pixels.withUnsafeBufferPointer { source in
                plan.apply(source: source.baseAddress!, channels: channels, rows: top..<(top + height),
                           columns: left..<(left + width), destination: pixels.baseAddress!, scratch: &scratch)
            }
        }
        normalize(into: destination.baseAddress!)
    }

    /// The size the image is resized to before the crop (the output size when stretching).
    ///
    /// Crop mode scales the shorter side to `shorter_side` and the longer side in proportion,
    /// truncated: `longer · shorter_side / shorter` in integer arithmetic (as torchvision's
    /// `Resize(int)` does). The crop then starts at `floor((resized − output) / 2)` on each axis,
    /// as Caffe's test-phase crop does.
    func resizedSize(width imageWidth: Int, height imageHeight: Int) -> (Int, Int) {
        switch resize {
        case .stretch:
            return (width, height)
        case .crop:
            if imageWidth <= imageHeight {
                return (shorterSide, max(shorterSide, imageHeight * shorterSide / imageWidth))
            }
            return (max(shorterSide, imageWidth * shorterSide / imageHeight), shorterSide)
        }
    }

    private func normalize(into destination: UnsafeMutablePointer<Float>) {
        let channels = color.channelCount
        let pixelCount = height * width
        resized.withUnsafeBufferPointer { pixels in
            valueTable.withUnsafeBufferPointer { table in
                let source = pixels.baseAddress!
                for outputChannel in 0..<channels {
                    let lookup = table.baseAddress! + outputChannel * 256
                    let input = sourceChannel[outputChannel]
                    switch layout {
                    case .nhwc:
                        for pixel in 0..<pixelCount {
                            destination[pixel * channels + outputChannel] = lookup[Int(source[pixel * channels + input])]
                        }
                    case .nchw:
                        let plane = destination + outputChannel * pixelCount
                        for pixel in 0..<pixelCount {
                            plane[pixel] = lookup[Int(source[pixel * channels + input])]
                        }
                    }
                }
            }
        }
    }
}

extension Preprocessing {
    /// The input tensor of one decoded image under this (effective) preprocessing.
    public func tensor(for image: Image) throws(PreprocessingError) -> Tensor {
        try Preprocessor(self).tensor(for: image)
    }
}
