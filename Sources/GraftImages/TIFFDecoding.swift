internal import CGraftTIFF
/// The bytes libtiff reads through `TIFFClientOpenExt`, its read position, and the first error
/// message libtiff reported while reading them.
private final class TIFFSource {
    let bytes: UnsafeRawBufferPointer
    var offset: UInt64 = 0
    var message: String?

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    static func from(_ handle: UnsafeMutableRawPointer?) -> TIFFSource? {
        handle.map { Unmanaged<TIFFSource>.fromOpaque($0).takeUnretainedValue() }
    }
}

private let readTIFFBytes: TIFFReadWriteProc = { handle, buffer, count in
    guard let source = TIFFSource.from(handle), let buffer, count > 0 else { return 0 }
    let start = Int(clamping: source.offset)
    guard start < source.bytes.count else { return 0 }
    let available = min(Int(count), source.bytes.count - start)
    buffer.copyMemory(from: source.bytes.baseAddress! + start, byteCount: available)
    source.offset += UInt64(available)
    return tmsize_t(available)
}

private let writeTIFFBytes: TIFFReadWriteProc = { _, _, _ in -1 }

private let seekTIFF: TIFFSeekProc = { handle, offset, whence in
    guard let source = TIFFSource.from(handle) else { return UInt64.max }
    let base: UInt64 = switch whence {
    case 1: source.offset  // SEEK_CUR
    case 2: UInt64(source.bytes.count)  // SEEK_END
    default: 0
    }
    // libtiff passes negative offsets as their two's complement.
    source.offset = base &+ offset
    return source.offset
}

private let closeTIFF: TIFFCloseProc = { _ in 0 }

private let sizeOfTIFF: TIFFSizeProc = { handle in UInt64(TIFFSource.from(handle)?.bytes.count ?? 0) }

private let mapTIFF: TIFFMapFileProc = { _, _, _ in 0 }

private let unmapTIFF: TIFFUnmapFileProc = { _, _, _ in }

/// Keeps libtiff's first error message for the source it is about; returning 1 tells libtiff
/// the message is handled, so nothing reaches stderr.
private let tiffErrorHandler: TIFFErrorHandlerExtR = { _, user, module, format, arguments in
    guard let source = TIFFSource.from(user), source.message == nil, let format, let arguments else { return 1 }
    var buffer = [CChar](repeating: 0, count: 512)
    graft_TIFFFormat(&buffer, buffer.count, format, arguments)
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let name = module.map { String(cString: $0) } ?? ""
    source.message = name.isEmpty ? text : "\(name): \(text)"
    return 1
}

/// Warnings (unknown tags, odd but readable fields) are dropped, as Pillow drops them.
private let tiffWarningHandler: TIFFErrorHandlerExtR = { _, _, _, _, _ in 1 }

/// What graft knows how to do with a TIFF's samples, following Pillow's `OPEN_INFO` table.
private enum TIFFLayout {
    /// Gray of 1, 2, 4 or 8 bits (MinIsWhite inverted), `stride` samples per pixel.
    case gray(bits: Int, inverted: Bool, stride: Int)
    /// 16-bit gray (PIL's `I;16`, never inverted, as Pillow reads MinIsWhite 16-bit files).
    case gray16
    /// Gray samples PIL reads as 32-bit integers (mode `I`: signed 16-bit, and 32-bit signed or
    /// unsigned, the latter taken as signed as Pillow's `I;32N` does) or 32-bit floats (mode `F`).
    case grayWide(WideGray)

    enum WideGray {
        case signed16, int32, float32
    }
    /// RGB of 8 or 16 bits, `stride` samples per pixel; `premultiplied` when the fourth sample
    /// is associated alpha, which Pillow divides out (`RGBa`).
    case rgb(bits: Int, stride: Int, premultiplied: Bool)
    /// Palette indices of 1, 2, 4 or 8 bits through the colour map, `stride` samples per pixel.
    case palette(bits: Int, stride: Int)
    /// CMYK of 8 or 16 bits.
    case cmyk(bits: Int, stride: Int)

    var bits: Int {
        switch self {
        case let .gray(bits, _, _), let .rgb(bits, _, _), let .palette(bits, _), let .cmyk(bits, _): bits
        case .gray16: 16
        case let .grayWide(kind): kind == .signed16 ? 16 : 32
        }
    }

    var stride: Int {
        switch self {
        case let .gray(_, _, stride), let .rgb(_, stride, _), let .palette(_, stride), let .cmyk(_, stride): stride
        case .gray16, .grayWide: 1
        }
    }
}

extension ImageDecoder {
    /// Decodes the first page of a TIFF through libtiff, with Pillow's pixel values.
    ///
    /// libtiff undoes the compression (none, LZW, Deflate, PackBits, JPEG, CCITT, …) and the
    /// predictor, and returns samples in the machine's byte order; graft then reads them as
    /// Pillow's raw modes do: 8-bit gray, RGB and RGBA as stored (alpha and unspecified extra
    /// samples dropped; associated alpha divided out as `RGBa`); 1-, 2- and 4-bit gray scaled to
    /// 0–255; MinIsWhite inverted; palettes through the colour map's high bytes; CMYK through
    /// PIL's CMYK → RGB; 16-bit samples reduced by `DecodingOptions.sixteenBitReduction`; a
    /// JPEG-compressed YCbCr file through libtiff's RGB conversion, as Pillow asks for it. The
    /// Orientation tag is applied, as Pillow's TIFF reader applies it.
    ///
    /// The size is checked against the pixel cap before anything is allocated, and libtiff's
    /// own allocations are capped by `TIFFOpenOptionsSetMaxSingleMemAlloc`.
    func decodeTIFF(_ bytes: UnsafeRawBufferPointer, path: String, options: DecodingOptions) throws(ImageError) -> Image {
        let source = TIFFSource(bytes)
        return try withExtendedLifetime(source) { () throws(ImageError) -> Image in
            let handle = Unmanaged.passUnretained(source).toOpaque()
            guard let openOptions = TIFFOpenOptionsAlloc() else {
                throw .unsupported(path: path, format: .tiff, reason: "libtiff could not allocate its options")
            }
            defer { TIFFOpenOptionsFree(openOptions) }
            // libtiff's largest single allocation: 16 bytes for each allowed pixel, at least 64 MB.
            let (product, overflow) = options.maximumPixelCount.multipliedReportingOverflow(by: 16)
            TIFFOpenOptionsSetMaxSingleMemAlloc(openOptions, tmsize_t(max(overflow ? Int.max : product, 64 << 20)))
            TIFFOpenOptionsSetErrorHandlerExtR(openOptions, tiffErrorHandler, handle)
            TIFFOpenOptionsSetWarningHandlerExtR(openOptions, tiffWarningHandler, nil)
            // "m": no memory mapping; libtiff reads through the procedures. libtiff puts the name
            // in its messages, and the error names the path already: the name is the format's.
            guard let tiff = TIFFClientOpenExt("TIFF", "rm", handle, readTIFFBytes, writeTIFFBytes, seekTIFF, closeTIFF,
                                               sizeOfTIFF, mapTIFF, unmapTIFF, openOptions) else {
                throw tiffError(source, path: path, fallback: "libtiff could not read the header")
            }
            defer { TIFFClose(tiff) }
            return try decodeTIFFDirectory(tiff, source: source, path: path, options: options)
        }
    }

    private func decodeTIFFDirectory(_ tiff: OpaquePointer, source: TIFFSource, path: String,
                                     options: DecodingOptions) throws(ImageError) -> Image {
        func unsupported(_ reason: String) -> ImageError { .unsupported(path: path, format: .tiff, reason: reason) }
        var width: UInt32 = 0, height: UInt32 = 0
        guard graft_TIFFGetUInt32(tiff, UInt32(TIFFTAG_IMAGEWIDTH), &width) != 0,
              graft_TIFFGetUInt32(tiff, UInt32(TIFFTAG_IMAGELENGTH), &height) != 0 else {
            throw tiffError(source, path: path, fallback: "the first directory has no ImageWidth or ImageLength")
        }
        try checkPixelCount(width: Int(width), height: Int(height), path: path, format: .tiff, options: options)

        var bits: UInt16 = 1, samples: UInt16 = 1, planar: UInt16 = 1, format: UInt16 = 1, compression: UInt16 = 1
        var photometric: UInt16 = 0
        _ = graft_TIFFGetUInt16Defaulted(tiff, UInt32(TIFFTAG_BITSPERSAMPLE), &bits)
        _ = graft_TIFFGetUInt16Defaulted(tiff, UInt32(TIFFTAG_SAMPLESPERPIXEL), &samples)
        _ = graft_TIFFGetUInt16Defaulted(tiff, UInt32(TIFFTAG_PLANARCONFIG), &planar)
        _ = graft_TIFFGetUInt16Defaulted(tiff, UInt32(TIFFTAG_SAMPLEFORMAT), &format)
        _ = graft_TIFFGetUInt16Defaulted(tiff, UInt32(TIFFTAG_COMPRESSION), &compression)
        guard graft_TIFFGetUInt16(tiff, UInt32(TIFFTAG_PHOTOMETRIC), &photometric) != 0 else {
            throw .corrupt(path: path, format: .tiff, reason: "the first directory has no PhotometricInterpretation")
        }
        var extraCount: UInt16 = 0
        var extraValues: UnsafePointer<UInt16>? = nil
        _ = graft_TIFFGetExtraSamples(tiff, &extraCount, &extraValues)
        let firstExtra: Int? = extraCount > 0 && extraValues != nil ? Int(extraValues![0]) : nil

        let sampleCount = Int(samples), bitCount = Int(bits)
        let wideGray: TIFFLayout.WideGray? = switch (format, bitCount) {
        case (2, 16): .signed16
        case (1, 32), (2, 32): .int32
        case (3, 32): .float32
        default: nil
        }
        guard format == 1 || (format == 2 && bitCount == 8) || (wideGray != nil && sampleCount == 1) else {
            throw unsupported("SampleFormat \(format) with \(bitCount) bits (graft reads unsigned integer samples, and signed and floating-point gray ones)")
        }
        let separatePlanes = planar == 2 && sampleCount > 1
        if separatePlanes {
            guard bitCount == 8 || bitCount == 16, TIFFIsTiled(tiff) == 0, photometric != 6 else {
                throw unsupported("separate colour planes (PlanarConfiguration 2) in tiles, as YCbCr or of \(bitCount)-bit samples")
            }
        }
        if photometric == 6 {
            // YCbCr: Pillow reads JPEG-compressed files through libtiff's conversion to RGB.
            guard compression == 7, bitCount == 8, sampleCount == 3 else {
                throw unsupported("YCbCr samples that are not JPEG-compressed")
            }
            _ = graft_TIFFSetJPEGColorModeRGB(tiff)
            photometric = 2
        }

        let layout: TIFFLayout
        switch (photometric, sampleCount, bitCount) {
        case (0, 1, 1), (0, 1, 2), (0, 1, 4), (0, 1, 8), (1, 1, 1), (1, 1, 2), (1, 1, 4), (1, 1, 8):
            layout = .gray(bits: bitCount, inverted: photometric == 0, stride: 1)
        case (0, 1, 32) where wideGray == .float32, (1, 1, 16) where wideGray != nil, (1, 1, 32) where wideGray != nil:
            layout = .grayWide(wideGray!)
        case (0, 1, 16), (1, 1, 16):
            layout = .gray16
        case (1, 2, 8) where firstExtra == 0 || firstExtra == 2:
            layout = .gray(bits: 8, inverted: false, stride: 2)
        case (2, 3...6, 8) where sampleCount == 3 || firstExtra != nil || sampleCount == 4,
             (2, 3...4, 16) where sampleCount == 3 || firstExtra != nil || sampleCount == 4:
            layout = .rgb(bits: bitCount, stride: sampleCount, premultiplied: sampleCount >= 4 && firstExtra == 1)
        case (3, 1, 1), (3, 1, 2), (3, 1, 4), (3, 1, 8):
            layout = .palette(bits: bitCount, stride: 1)
        case (3, 2, 8) where firstExtra == 0 || firstExtra == 2:
            layout = .palette(bits: 8, stride: 2)
        case (5, 4...6, 8), (5, 4, 16):
            layout = .cmyk(bits: bitCount, stride: sampleCount)
        default:
            throw unsupported("PhotometricInterpretation \(photometric) with \(sampleCount) samples of \(bitCount) bits")
        }

        var orientationValue: UInt16 = 1
        _ = graft_TIFFGetUInt16(tiff, UInt32(TIFFTAG_ORIENTATION), &orientationValue)
        let samplesRead = separatePlanes
            ? try readTIFFPlanes(tiff, source: source, width: Int(width), height: Int(height), layout: layout, path: path)
            : try readTIFFSamples(tiff, source: source, width: Int(width), height: Int(height), layout: layout, path: path)
        let image = try tiffImage(samplesRead, tiff: tiff, width: Int(width), height: Int(height), layout: layout,
                                  path: path, options: options)
        // Pillow's TIFF reader turns the image as its Orientation tag says (ImageOps.exif_transpose
        // in TiffImageFile.load_end, for every orientation 2-8; other values are ignored), so
        // PIL's pixels, and Keras's, are the turned ones. No other format is turned on its own.
        return image.oriented(ExifOrientation(rawValue: Int(orientationValue)) ?? .normal)
    }

    /// Every row of the first page, packed (`ceil(width × samples × bits / 8)` bytes a row),
    /// read strip by strip or tile by tile.
    private func readTIFFSamples(_ tiff: OpaquePointer, source: TIFFSource, width: Int, height: Int,
                                 layout: TIFFLayout, path: String) throws(ImageError) -> [UInt8] {
        let rowBytes = (width * layout.stride * layout.bits + 7) / 8
        guard TIFFScanlineSize64(tiff) == UInt64(rowBytes) else {
            throw tiffError(source, path: path, fallback: "libtiff's row size \(TIFFScanlineSize64(tiff)) differs from the \(rowBytes) bytes the tags describe")
        }
        // The rows grow as strips and tiles decode, so a file that merely claims a large image
        // fails at its first missing strip, not after the whole image has been allocated.
        var rows = [UInt8]()
        if TIFFIsTiled(tiff) != 0 {
            guard layout.bits % 8 == 0 else {
                throw .unsupported(path: path, format: .tiff, reason: "tiles of \(layout.bits)-bit samples")
            }
            var tileWidth: UInt32 = 0, tileHeight: UInt32 = 0
            guard graft_TIFFGetUInt32(tiff, UInt32(TIFFTAG_TILEWIDTH), &tileWidth) != 0,
                  graft_TIFFGetUInt32(tiff, UInt32(TIFFTAG_TILELENGTH), &tileHeight) != 0, tileWidth > 0, tileHeight > 0 else {
                throw tiffError(source, path: path, fallback: "the tile size is missing")
            }
            let pixelBytes = layout.stride * layout.bits / 8
            let tileBytes = TIFFTileSize64(tiff)
            guard tileBytes == UInt64(tileWidth) * UInt64(tileHeight) * UInt64(pixelBytes), tileBytes > 0 else {
                throw tiffError(source, path: path, fallback: "libtiff's tile size \(tileBytes) does not match \(tileWidth)×\(tileHeight) pixels")
            }
            // A tile is at most what libtiff itself may allocate, which the open options cap.
            var tile = [UInt8](repeating: 0, count: Int(tileBytes))
            for top in stride(from: 0, to: height, by: Int(tileHeight)) {
                let bandRows = min(Int(tileHeight), height - top)
                rows.append(contentsOf: repeatElement(0, count: bandRows * rowBytes))
                for left in stride(from: 0, to: width, by: Int(tileWidth)) {
                    let read = tile.withUnsafeMutableBytes { buffer in
                        TIFFReadTile(tiff, buffer.baseAddress, UInt32(left), UInt32(top), 0, 0)
                    }
                    guard read >= 0 else { throw tiffError(source, path: path, fallback: "libtiff could not read the tile at (\(left), \(top))") }
                    let copyBytes = min(Int(tileWidth), width - left) * pixelBytes
                    rows.withUnsafeMutableBufferPointer { output in
                        tile.withUnsafeBufferPointer { input in
                            for row in 0..<bandRows {
                                (output.baseAddress! + (top + row) * rowBytes + left * pixelBytes)
                                    .update(from: input.baseAddress! + row * Int(tileWidth) * pixelBytes, count: copyBytes)
                            }
                        }
                    }
                }
            }
            return rows
        }
        var rowsPerStrip: UInt32 = 0
        _ = graft_TIFFGetUInt32(tiff, UInt32(TIFFTAG_ROWSPERSTRIP), &rowsPerStrip)
        let stripRows = rowsPerStrip == 0 ? height : min(Int(rowsPerStrip), height)
        let strips = Int(TIFFNumberOfStrips(tiff))
        guard strips >= (height + stripRows - 1) / stripRows else {
            throw .corrupt(path: path, format: .tiff, reason: "\(strips) strips of \(stripRows) rows do not cover \(height) rows")
        }
        for strip in 0..<strips {
            let first = strip * stripRows
            guard first < height else { break }
            let count = min(stripRows, height - first) * rowBytes
            rows.append(contentsOf: repeatElement(0, count: count))
            let read = rows.withUnsafeMutableBytes { buffer in
                TIFFReadEncodedStrip(tiff, UInt32(strip), buffer.baseAddress! + first * rowBytes, tmsize_t(count))
            }
            guard read >= 0 else { throw tiffError(source, path: path, fallback: "libtiff could not read strip \(strip)") }
        }
        return rows
    }

    /// The samples of a file whose planes are stored separately (PlanarConfiguration 2), read
    /// plane by plane, strip by strip, and interleaved into the rows `readTIFFSamples` gives.
    private func readTIFFPlanes(_ tiff: OpaquePointer, source: TIFFSource, width: Int, height: Int,
                                layout: TIFFLayout, path: String) throws(ImageError) -> [UInt8] {
        let sampleBytes = layout.bits / 8, stride = layout.stride
        let planeRowBytes = width * sampleBytes
        guard TIFFScanlineSize64(tiff) == UInt64(planeRowBytes) else {
            throw tiffError(source, path: path, fallback: "libtiff's row size \(TIFFScanlineSize64(tiff)) differs from the \(planeRowBytes) bytes of one plane's row")
        }
        var rowsPerStrip: UInt32 = 0
        _ = graft_TIFFGetUInt32(tiff, UInt32(TIFFTAG_ROWSPERSTRIP), &rowsPerStrip)
        let stripRows = rowsPerStrip == 0 ? height : min(Int(rowsPerStrip), height)
        let stripsPerPlane = (height + stripRows - 1) / stripRows
        guard Int(TIFFNumberOfStrips(tiff)) >= stripsPerPlane * stride else {
            throw .corrupt(path: path, format: .tiff, reason: "\(TIFFNumberOfStrips(tiff)) strips do not cover \(stride) planes of \(height) rows")
        }
        var rows = [UInt8]()
        var plane = [UInt8](repeating: 0, count: stripRows * planeRowBytes)
        for sample in 0..<stride {
            for stripInPlane in 0..<stripsPerPlane {
                let first = stripInPlane * stripRows, count = min(stripRows, height - first)
                let strip = TIFFComputeStrip(tiff, UInt32(first), UInt16(sample))
                let read = plane.withUnsafeMutableBytes { buffer in
                    TIFFReadEncodedStrip(tiff, strip, buffer.baseAddress, tmsize_t(count * planeRowBytes))
                }
                guard read >= 0 else { throw tiffError(source, path: path, fallback: "libtiff could not read strip \(strip)") }
                // The interleaved rows grow with the first plane; later planes fill them in.
                if sample == 0 { rows.append(contentsOf: repeatElement(0, count: count * width * stride * sampleBytes)) }
                rows.withUnsafeMutableBufferPointer { output in
                    plane.withUnsafeBufferPointer { input in
                        for pixel in 0..<(count * width) {
                            let to = ((first * width + pixel) * stride + sample) * sampleBytes
                            for byte in 0..<sampleBytes { output[to + byte] = input[pixel * sampleBytes + byte] }
                        }
                    }
                }
            }
        }
        return rows
    }

    /// Pillow's pixel values from the packed rows.
    private func tiffImage(_ rows: [UInt8], tiff: OpaquePointer, width: Int, height: Int, layout: TIFFLayout,
                           path: String, options: DecodingOptions) throws(ImageError) -> Image {
        let pixelCount = width * height
        let rowBytes = (width * layout.stride * layout.bits + 7) / 8
        let reduction = options.sixteenBitReduction
        /// The 8-bit samples of every pixel, `stride` a pixel, from 8- or 16-bit rows.
        func eightBitSamples(stride: Int, isColor: Bool) -> [UInt8] {
            if layout.bits == 8 { return rows }
            return [UInt8](unsafeUninitializedCapacity: pixelCount * stride) { output, initialized in
                rows.withUnsafeBytes { raw in
                    for index in 0..<(pixelCount * stride) {
                        output[index] = reduction.reduce(raw.load(fromByteOffset: 2 * index, as: UInt16.self), isColor: isColor)
                    }
                }
                initialized = pixelCount * stride
            }
        }
        /// One index or gray level per pixel from rows of 1, 2, 4 or 8 bits.
        func unpacked(bits: Int) -> [UInt8] {
            if bits == 8 && layout.stride == 1 { return rows }
            let stride = layout.stride
            return [UInt8](unsafeUninitializedCapacity: pixelCount) { output, initialized in
                for row in 0..<height {
                    for column in 0..<width {
                        if bits == 8 {
                            output[row * width + column] = rows[row * rowBytes + column * stride]
                        } else {
                            let bit = column * bits
                            let byte = rows[row * rowBytes + bit / 8]
                            output[row * width + column] = (byte >> UInt8(8 - bits - bit % 8)) & UInt8((1 << bits) - 1)
                        }
                    }
                }
                initialized = pixelCount
            }
        }

        switch layout {
        case let .gray(bits, inverted, _):
            var levels = unpacked(bits: bits)
            let factor: UInt8 = switch bits { case 1: 255; case 2: 0x55; case 4: 0x11; default: 1 }
            if factor != 1 || inverted {
                for index in 0..<pixelCount {
                    let value = levels[index] &* factor
                    levels[index] = inverted ? 255 - value : value
                }
            }
            return Image(width: width, height: height, color: .gray, pixels: levels).converted(to: options.color)
        case let .grayWide(kind):
            // PIL's `convert('L')` (and `'RGB'`) of modes `I` and `F`: clipped to 0…255; floats
            // truncated toward zero, NaN to 0.
            let levels = [UInt8](unsafeUninitializedCapacity: pixelCount) { output, initialized in
                rows.withUnsafeBytes { raw in
                    for index in 0..<pixelCount {
                        switch kind {
                        case .signed16:
                            output[index] = UInt8(clamping: raw.load(fromByteOffset: 2 * index, as: Int16.self))
                        case .int32:
                            output[index] = UInt8(clamping: raw.load(fromByteOffset: 4 * index, as: Int32.self))
                        case .float32:
                            let value = raw.load(fromByteOffset: 4 * index, as: Float.self)
                            output[index] = value >= 255 ? 255 : value > 0 ? UInt8(value) : 0
                        }
                    }
                }
                initialized = pixelCount
            }
            return Image(width: width, height: height, color: .gray, pixels: levels).converted(to: options.color)
        case .gray16:
            return Image(width: width, height: height, color: .gray, pixels: eightBitSamples(stride: 1, isColor: false))
                .converted(to: options.color)
        case let .rgb(_, stride, premultiplied):
            var samples = eightBitSamples(stride: stride, isColor: true)
            if premultiplied {
                // Pillow's RGBa: each colour sample × 255 / alpha, truncated and clipped to 255;
                // 0 where alpha is 0.
                for pixel in 0..<pixelCount {
                    let base = pixel * stride, alpha = Int(samples[base + 3])
                    for channel in 0..<3 {
                        samples[base + channel] = alpha == 0 ? 0 : UInt8(min(255, Int(samples[base + channel]) * 255 / alpha))
                    }
                }
            }
            return DecodedSamples(color: .rgb, stride: stride, width: width, height: height, bytes: samples).image(in: options.color)
        case let .palette(bits, _):
            var red: UnsafePointer<UInt16>? = nil, green: UnsafePointer<UInt16>? = nil, blue: UnsafePointer<UInt16>? = nil
            guard graft_TIFFGetColorMap(tiff, &red, &green, &blue) != 0, let red, let green, let blue else {
                throw .corrupt(path: path, format: .tiff, reason: "a palette image without a ColorMap")
            }
            // libtiff holds 2^BitsPerSample entries per channel; Pillow keeps each high byte.
            var rgb = [UInt8]()
            for entry in 0..<(1 << bits) {
                rgb += [UInt8(red[entry] >> 8), UInt8(green[entry] >> 8), UInt8(blue[entry] >> 8)]
            }
            return Palette(rgb: rgb).image(indices: unpacked(bits: bits), width: width, height: height, target: options.color)
        case let .cmyk(_, stride):
            // PIL's CMYK → RGB is `cmykToRGB` of the inverted (Adobe) samples.
            let samples = eightBitSamples(stride: stride, isColor: true)
            var inverted = [UInt8](repeating: 0, count: pixelCount * 4)
            for pixel in 0..<pixelCount {
                for channel in 0..<4 { inverted[4 * pixel + channel] = 255 - samples[pixel * stride + channel] }
            }
            let rgb = [UInt8](unsafeUninitializedCapacity: pixelCount * 3) { output, initialized in
                inverted.withUnsafeBufferPointer { cmykToRGB($0.baseAddress!, output.baseAddress!, count: pixelCount) }
                initialized = pixelCount * 3
            }
            return Image(width: width, height: height, color: .rgb, pixels: rgb).converted(to: options.color)
        }
    }

    /// libtiff's first message for this file, or `fallback`, classified.
    private func tiffError(_ source: TIFFSource, path: String, fallback: String) -> ImageError {
        let message = source.message ?? fallback
        let lowered = message.lowercased()
        if lowered.contains("read error") || lowered.contains("unexpected end") || lowered.contains("premature")
            || lowered.contains("past end") || lowered.contains("can not read") || lowered.contains("cannot read") {
            return .truncated(path: path, format: .tiff, reason: "libtiff says: \(message)")
        }
        if lowered.contains("not implemented") || lowered.contains("not supported") || lowered.contains("unsupported") {
            return .unsupported(path: path, format: .tiff, reason: "libtiff says: \(message)")
        }
        return .corrupt(path: path, format: .tiff, reason: "libtiff says: \(message)")
    }
}
