internal import CGraftTurboJPEG
import GraftSupport
/// How `ImageDecoder` decodes a file.
public struct DecodingOptions: Sendable, Hashable {
    /// The colour of the decoded pixels, converted as PIL's `convert('RGB')` or `convert('L')`
    /// would (see `Image.converted(to:)`; alpha is dropped, never composited).
    public var color: ColorMode
    /// Whether to turn the image as a JPEG's Exif orientation tag says (as OpenCV's `imread`
    /// does). Off by default: Keras and PIL ignore the tag.
    public var appliesExifOrientation: Bool
    /// Fast decoding: when set, a JPEG is decoded at the smallest of TurboJPEG's DCT scaling
    /// factors 1/8, 1/4 and 1/2 whose result still covers this target (measured after the
    /// orientation is applied). The pixels then differ from a full-size decode followed by a
    /// resize, so this is never on by default. PNG files are always decoded at full size.
    public var reductionTarget: ReductionTarget?
    /// Files that declare more pixels than this are refused before any pixel memory is allocated.
    public var maximumPixelCount: Int
    /// How 16-bit samples (PNG, TIFF) become 8-bit ones: PIL's way by default.
    public var sixteenBitReduction: SixteenBitReduction

    /// The default cap on decoded pixels: 100 megapixels.
    public static let defaultMaximumPixelCount = 100_000_000

    public init(color: ColorMode = .rgb, appliesExifOrientation: Bool = false,
                reductionTarget: ReductionTarget? = nil,
                maximumPixelCount: Int = DecodingOptions.defaultMaximumPixelCount,
                sixteenBitReduction: SixteenBitReduction = .pil) {
        self.color = color
        self.appliesExifOrientation = appliesExifOrientation
        self.reductionTarget = reductionTarget
        self.maximumPixelCount = maximumPixelCount
        self.sixteenBitReduction = sixteenBitReduction
    }
}

/// How a 16-bit sample becomes an 8-bit one.
public enum SixteenBitReduction: String, Sendable, Hashable, Codable, CaseIterable {
    /// PIL's reduction, for parity with Keras's `load_img`: colour samples (16-bit RGB and RGBA,
    /// PIL's `RGB;16B`) keep their high byte, `v >> 8`; gray samples (PIL's mode `I;16`) are
    /// clipped, `min(v, 255)`, by `convert('L')` and `convert('RGB')` alike, so a gray scan whose
    /// values use the 16-bit range comes out nearly white.
    case pil
    /// Every unsigned 16-bit sample, gray or colour, mapped linearly from 0…65535 onto 0…255 and rounded
    /// to nearest: `round(v · 255 / 65535)`, computed exactly as `(v + 128) / 257` in integers
    /// (`v / 257` is never halfway between two integers, so there are no ties).
    case scale

    /// The 8-bit value of the 16-bit sample `value`, from a gray (`isColor` false) or colour image.
    @inline(__always)
    func reduce(_ value: UInt16, isColor: Bool) -> UInt8 {
        switch self {
        case .pil: isColor ? UInt8(truncatingIfNeeded: value >> 8) : UInt8(clamping: value)
        case .scale: UInt8(truncatingIfNeeded: (UInt32(value) + 128) / 257)
        }
    }
}

/// The smallest image a fast (DCT-scaled) JPEG decode may produce.
public enum ReductionTarget: Sendable, Hashable {
    /// The decoded width and height must stay at least this large.
    case size(width: Int, height: Int)
    /// The decoded shorter side must stay at least this long.
    case shorterSide(Int)

    /// Whether a decoded image of `width × height` still covers the target.
    func isCovered(width: Int, height: Int) -> Bool {
        switch self {
        case let .size(targetWidth, targetHeight): width >= targetWidth && height >= targetHeight
        case let .shorterSide(side): min(width, height) >= side
        }
    }
}

/// Decodes JPEG, PNG, WebP, TIFF, BMP and GIF files into 8-bit `Image`s the way PIL (and so
/// Keras's `load_img`) does.
///
/// The format is recognised from the file's leading bytes, never from its extension. JPEG goes
/// through TurboJPEG (errors are return values, never `longjmp`), PNG through libpng's simplified
/// `png_image` API, WebP through libwebp (the first frame of an animation through its animation
/// decoder, as Pillow reads every WebP), TIFF through libtiff opened from memory, GIF (the first
/// frame) through giflib, and BMP through graft's own small decoder. Every failure is a thrown `ImageError` naming the file and the reason.
///
/// An `ImageDecoder` keeps a TurboJPEG handle and scratch memory between calls, so it is not
/// `Sendable`: give each worker thread its own decoder. Separate decoders run concurrently.
public final class ImageDecoder {
    private var jpegHandle: tjhandle?
    /// Reused memory for intermediate pixels (CMYK samples, 16-bit PNG samples).
    var scratch: [UInt8] = []
    var wideScratch: [UInt16] = []

    public init() {}

    deinit {
        if let jpegHandle { tjDestroy(jpegHandle) }
    }

    /// Decodes the file at `path`.
    public func decode(fileAt path: String, options: DecodingOptions = DecodingOptions()) throws(ImageError) -> Image {
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch {
            switch error {
            case let .cannotOpen(_, reason), let .readFailed(_, reason), let .cannotCreate(_, reason), let .writeFailed(_, reason):
                throw .unreadable(path: path, reason: reason)
            }
        }
        return try withExtendedLifetime(file) { () throws(ImageError) -> Image in
            try decode(file.bytes, path: path, options: options)
        }
    }

    /// Decodes an image held in memory; `path` names it in errors.
    public func decode(_ bytes: UnsafeRawBufferPointer, path: String,
                       options: DecodingOptions = DecodingOptions()) throws(ImageError) -> Image {
        guard bytes.count > 0 else { throw .empty(path: path) }
        switch ImageFormat(signatureOf: bytes) {
        case .jpeg: return try decodeJPEG(bytes, path: path, options: options)
        case .png: return try decodePNG(bytes, path: path, options: options)
        case .webp: return try decodeWebP(bytes, path: path, options: options)
        case .tiff: return try decodeTIFF(bytes, path: path, options: options)
        case .bmp: return try decodeBMP(bytes, path: path, options: options)
        case .gif: return try decodeGIF(bytes, path: path, options: options)
        case nil: throw .unrecognizedFormat(path: path, leadingBytes: Array(bytes.prefix(8)))
        }
    }

    /// Decodes the file at `path` with a decoder of its own.
    public static func decode(fileAt path: String, options: DecodingOptions = DecodingOptions()) throws(ImageError) -> Image {
        try ImageDecoder().decode(fileAt: path, options: options)
    }

    /// The TurboJPEG decompressor, created on first use.
    func turboJPEGHandle(path: String) throws(ImageError) -> tjhandle {
        if let jpegHandle { return jpegHandle }
        guard let handle = tjInitDecompress() else {
            throw .unsupported(path: path, format: .jpeg, reason: "TurboJPEG could not start: \(String(cString: tjGetErrorStr2(nil)))")
        }
        jpegHandle = handle
        return handle
    }
}

/// Throws `tooLarge` when `width × height` exceeds the cap (or is not positive).
func checkPixelCount(width: Int, height: Int, path: String, format: ImageFormat, options: DecodingOptions) throws(ImageError) {
    guard width > 0, height > 0 else {
        throw .corrupt(path: path, format: format, reason: "the header declares a size of \(width)×\(height) pixels")
    }
    let (count, overflow) = width.multipliedReportingOverflow(by: height)
    if overflow || count > options.maximumPixelCount {
        throw .tooLarge(path: path, width: width, height: height, maximumPixelCount: options.maximumPixelCount)
    }
}
