/// The colour of decoded pixels: three interleaved 8-bit channels in R, G, B order, or one
/// 8-bit luma channel.
public enum ColorMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Red, green, blue; PIL's mode `RGB`.
    case rgb
    /// Luma; PIL's mode `L`.
    case gray

    /// 3 for `rgb`, 1 for `gray`.
    public var channelCount: Int {
        switch self {
        case .rgb: 3
        case .gray: 1
        }
    }
}

/// An 8-bit image in memory: `height` rows of `width` pixels, each pixel `channelCount`
/// interleaved bytes, rows stored top to bottom without padding.
public struct Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let color: ColorMode
    /// `height × width × channelCount` bytes in row-major order (HWC).
    public internal(set) var pixels: [UInt8]

    /// The number of bytes per pixel: 3 for RGB, 1 for gray.
    public var channelCount: Int { color.channelCount }

    /// Creates an image from interleaved pixels.
    ///
    /// - Precondition: `width` and `height` are positive and `pixels` holds
    ///   `width × height × color.channelCount` bytes.
    public init(width: Int, height: Int, color: ColorMode, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "Image: the size \(width)×\(height) is not positive")
        precondition(pixels.count == width * height * color.channelCount,
                     "Image: \(pixels.count) bytes do not hold \(width)×\(height) \(color) pixels")
        self.width = width
        self.height = height
        self.color = color
        self.pixels = pixels
    }

    /// This image in another colour mode, converted as PIL's `Image.convert` does.
    ///
    /// Gray to RGB copies the luma into the three channels. RGB to gray is ITU-R 601-2 luma in
    /// PIL's 16-bit fixed point: `(19595·R + 38470·G + 7471·B + 32768) >> 16`, which is
    /// `0.299 R + 0.587 G + 0.114 B` rounded to nearest.
    public func converted(to target: ColorMode) -> Image {
        if target == color { return self }
        let count = width * height
        let output = [UInt8](unsafeUninitializedCapacity: count * target.channelCount) { buffer, initialized in
            pixels.withUnsafeBufferPointer { input in
                switch target {
                case .gray: convertRGBToLuma(input.baseAddress!, buffer.baseAddress!, count: count)
                case .rgb: convertLumaToRGB(input.baseAddress!, buffer.baseAddress!, count: count)
                }
            }
            initialized = count * target.channelCount
        }
        return Image(width: width, height: height, color: target, pixels: output)
    }

    /// The rectangle of `height × width` pixels whose top-left pixel is (`top`, `left`).
    ///
    /// - Precondition: the rectangle lies inside the image and is not empty.
    public func cropped(top: Int, left: Int, height newHeight: Int, width newWidth: Int) -> Image {
        precondition(top >= 0 && left >= 0 && newHeight > 0 && newWidth > 0
                     && top + newHeight <= height && left + newWidth <= width,
                     "Image.cropped: the rectangle lies outside the image")
        if top == 0 && left == 0 && newHeight == height && newWidth == width { return self }
        let channels = channelCount
        let rowBytes = newWidth * channels
        let output = [UInt8](unsafeUninitializedCapacity: newHeight * rowBytes) { buffer, initialized in
            pixels.withUnsafeBufferPointer { input in
                for row in 0..<newHeight {
                    let source = input.baseAddress! + ((top + row) * width + left) * channels
                    (buffer.baseAddress! + row * rowBytes).update(from: source, count: rowBytes)
                }
            }
            initialized = newHeight * rowBytes
        }
        return Image(width: newWidth, height: newHeight, color: color, pixels: output)
    }
}

/// PIL's `L24` luma of `count` RGB pixels.
@inline(__always)
func convertRGBToLuma(_ input: UnsafePointer<UInt8>, _ output: UnsafeMutablePointer<UInt8>, count: Int) {
    for index in 0..<count {
        let red = UInt32(input[3 * index]), green = UInt32(input[3 * index + 1]), blue = UInt32(input[3 * index + 2])
        output[index] = UInt8(truncatingIfNeeded: (red &* 19595 &+ green &* 38470 &+ blue &* 7471 &+ 0x8000) >> 16)
    }
}

/// Copies each luma byte into three RGB bytes.
@inline(__always)
func convertLumaToRGB(_ input: UnsafePointer<UInt8>, _ output: UnsafeMutablePointer<UInt8>, count: Int) {
    for index in 0..<count {
        let value = input[index]
        output[3 * index] = value
        output[3 * index + 1] = value
        output[3 * index + 2] = value
    }
}
