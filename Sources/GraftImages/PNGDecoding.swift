internal import CGraftPNG
/// What graft needs to know of a PNG before libpng reads it: the IHDR fields and the ancillary
/// chunks that would make libpng's simplified API change pixel values.
struct PNGChunkSurvey {
    /// IHDR width and height, when the first chunk is a well-formed IHDR.
    var width: Int?
    var height: Int?
    /// Byte ranges of whole `gAMA`, `cHRM`, `sRGB`, `iCCP` and `tRNS` chunks.
    ///
    /// The simplified API colour-manages: it gamma-corrects to sRGB when the file declares
    /// another gamma, and composites transparent pixels over a background when asked for an
    /// output without alpha. PIL does neither (it ignores colour chunks, and `convert('RGB')`
    /// only drops alpha), so graft hands libpng a copy without these chunks. Removing
    /// ancillary chunks leaves a valid PNG whose samples are unchanged.
    var colorChunks: [Range<Int>] = []

    init(_ bytes: UnsafeRawBufferPointer) {
        var offset = 8
        let stripped: Set<[UInt8]> = [Array("gAMA".utf8), Array("cHRM".utf8), Array("sRGB".utf8),
                                      Array("iCCP".utf8), Array("tRNS".utf8)]
        while offset + 12 <= bytes.count {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length <= bytes.count - offset - 12 else { break }  // libpng reports the damage
            let type = Array(bytes[(offset + 4)..<(offset + 8)])
            if offset == 8, type == Array("IHDR".utf8), length == 13 {
                let data = offset + 8
                width = Int(bytes[data]) << 24 | Int(bytes[data + 1]) << 16 | Int(bytes[data + 2]) << 8 | Int(bytes[data + 3])
                height = Int(bytes[data + 4]) << 24 | Int(bytes[data + 5]) << 16 | Int(bytes[data + 6]) << 8 | Int(bytes[data + 7])
            }
            if stripped.contains(type) { colorChunks.append(offset..<(offset + 12 + length)) }
            if type == Array("IEND".utf8) { break }
            offset += 12 + length
        }
    }
}

extension ImageDecoder {
    /// Decodes a PNG through libpng's simplified API with PIL's pixel values.
    ///
    /// 8-bit and lower depths are read as 8-bit gray, gray+alpha, RGB or RGBA (palettes
    /// expanded, 1/2/4-bit gray scaled to 0–255 as PIL does) and alpha is dropped. 16-bit files
    /// are read as linear 16-bit samples (with the colour chunks removed, libpng leaves them
    /// untouched) and reduced as PIL reduces them: RGB and RGBA keep the high byte (`RGB;16B`),
    /// gray (`I;16`) is clipped to 255 by `convert('L')` and `convert('RGB')` alike.
    func decodePNG(_ bytes: UnsafeRawBufferPointer, path: String, options: DecodingOptions) throws(ImageError) -> Image {
        let survey = PNGChunkSurvey(bytes)
        if let width = survey.width, let height = survey.height {
            try checkPixelCount(width: width, height: height, path: path, format: .png, options: options)
        }
        if survey.colorChunks.isEmpty {
            return try decodePNGWithoutColorChunks(bytes, path: path, options: options)
        }
        var copy = [UInt8]()
        copy.reserveCapacity(bytes.count)
        var start = 0
        for range in survey.colorChunks {
            copy.append(contentsOf: bytes[start..<range.lowerBound])
            start = range.upperBound
        }
        copy.append(contentsOf: bytes[start...])
        let result = copy.withUnsafeBytes { buffer in
            Result { () throws(ImageError) in try decodePNGWithoutColorChunks(buffer, path: path, options: options) }
        }
        return try result.get()
    }

    private func decodePNGWithoutColorChunks(_ bytes: UnsafeRawBufferPointer, path: String,
                                             options: DecodingOptions) throws(ImageError) -> Image {
        let read = try beginPNGRead(bytes, path: path)
        let width = Int(read.image.pointee.width), height = Int(read.image.pointee.height)
        try checkPixelCount(width: width, height: height, path: path, format: .png, options: options)
        let format = read.image.pointee.format
        let hasColor = format & PNG_FORMAT_FLAG_COLOR != 0
        let hasAlpha = format & PNG_FORMAT_FLAG_ALPHA != 0
        let isSixteenBit = format & PNG_FORMAT_FLAG_LINEAR != 0
        let sourceChannels = (hasColor ? 3 : 1) + (hasAlpha ? 1 : 0)
        let pixelCount = width * height
        let sourceColor: ColorMode = hasColor ? .rgb : .gray

        // 8-bit samples in the file's own channels, before alpha is dropped.
        var samples = [UInt8](repeating: 0, count: pixelCount * sourceChannels)
        if !isSixteenBit {
            read.image.pointee.format = (hasColor ? PNG_FORMAT_FLAG_COLOR : 0) | (hasAlpha ? PNG_FORMAT_FLAG_ALPHA : 0)
            try finishPNGRead(read, into: &samples, path: path)
        } else if !hasAlpha {
            read.image.pointee.format = PNG_FORMAT_FLAG_LINEAR | (hasColor ? PNG_FORMAT_FLAG_COLOR : 0)
            if wideScratch.count < pixelCount * sourceChannels {
                wideScratch = [UInt16](repeating: 0, count: pixelCount * sourceChannels)
            }
            try finishPNGRead(read, into: &wideScratch, path: path)
            wideScratch.withUnsafeBufferPointer { wide in
                samples.withUnsafeMutableBufferPointer { narrow in
                    let count = pixelCount * sourceChannels
                    let reduction = options.sixteenBitReduction
                    for index in 0..<count { narrow[index] = reduction.reduce(wide[index], isColor: hasColor) }
                }
            }
        } else {
            read.release()
            try readSixteenBitWithAlpha(bytes, path: path, channels: sourceChannels, pixelCount: pixelCount,
                                        reduction: options.sixteenBitReduction, into: &samples)
        }

        if !hasAlpha && sourceColor == options.color {
            return Image(width: width, height: height, color: sourceColor, pixels: samples)
        }
        let colorChannels = sourceColor.channelCount
        let pixels = [UInt8](unsafeUninitializedCapacity: pixelCount * options.color.channelCount) { output, initialized in
            samples.withUnsafeBufferPointer { input in
                let source = input.baseAddress!, destination = output.baseAddress!
                switch (sourceColor, options.color) {
                case (.rgb, .rgb), (.gray, .gray):
                    for index in 0..<pixelCount {
                        for channel in 0..<colorChannels {
                            destination[index * colorChannels + channel] = source[index * sourceChannels + channel]
                        }
                    }
                case (.rgb, .gray):
                    for index in 0..<pixelCount {
                        let pixel = source + index * sourceChannels
                        let luma = UInt32(pixel[0]) &* 19595 &+ UInt32(pixel[1]) &* 38470 &+ UInt32(pixel[2]) &* 7471 &+ 0x8000
                        destination[index] = UInt8(truncatingIfNeeded: luma >> 16)
                    }
                case (.gray, .rgb):
                    for index in 0..<pixelCount {
                        let value = source[index * sourceChannels]
                        destination[3 * index] = value
                        destination[3 * index + 1] = value
                        destination[3 * index + 2] = value
                    }
                }
            }
            initialized = pixelCount * options.color.channelCount
        }
        return Image(width: width, height: height, color: options.color, pixels: pixels)
    }

    /// The high byte of each colour sample of a 16-bit gray+alpha or RGBA PNG, and its alpha.
    ///
    /// The simplified API premultiplies linear 16-bit output by alpha, so one read cannot give
    /// the stored samples of translucent pixels. graft reads twice: linear (premultiplied,
    /// `p = round(v·a/65535)`, exact alpha `a`) and 8-bit with the 16-bit samples taken as sRGB
    /// (`s = round(v·255/65535)`, not premultiplied). Each read confines the stored sample `v`
    /// to an interval; the high byte of `v` is exact whenever the intersection of the two lies in
    /// one 256-wide bin, which includes every opaque pixel. Otherwise (nearly transparent pixels)
    /// the middle of the intersection is taken, at most one level from PIL's value.
    ///
    /// With `SixteenBitReduction.scale` the second read alone is the answer: libpng's
    /// `(v·255 + 32895) >> 16` equals `(v + 128) / 257` for every 16-bit `v` (checked
    /// exhaustively), and gray+alpha files, like gray ones, are scaled rather than clipped.
    private func readSixteenBitWithAlpha(_ bytes: UnsafeRawBufferPointer, path: String, channels: Int,
                                         pixelCount: Int, reduction: SixteenBitReduction,
                                         into samples: inout [UInt8]) throws(ImageError) {
        let count = pixelCount * channels
        if reduction == .scale {
            let scaled = try beginPNGRead(bytes, path: path)
            scaled.image.pointee.format = scaled.image.pointee.format & (PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
            scaled.image.pointee.flags |= graft_PNG_IMAGE_FLAG_16BIT_sRGB()
            try finishPNGRead(scaled, into: &samples, path: path)
            return
        }
        let linear = try beginPNGRead(bytes, path: path)
        linear.image.pointee.format = linear.image.pointee.format & (PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA) | PNG_FORMAT_FLAG_LINEAR
        if wideScratch.count < count { wideScratch = [UInt16](repeating: 0, count: count) }
        try finishPNGRead(linear, into: &wideScratch, path: path)

        let scaled = try beginPNGRead(bytes, path: path)
        scaled.image.pointee.format = scaled.image.pointee.format & (PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        scaled.image.pointee.flags |= graft_PNG_IMAGE_FLAG_16BIT_sRGB()
        try finishPNGRead(scaled, into: &samples, path: path)

        wideScratch.withUnsafeBufferPointer { wide in
            samples.withUnsafeMutableBufferPointer { narrow in
                for pixel in 0..<pixelCount {
                    let base = pixel * channels
                    let alpha = Double(wide[base + channels - 1])
                    for channel in 0..<(channels - 1) {
                        let eightBit = Double(narrow[base + channel])
                        // v with (v·255 + 32895) >> 16 == s.
                        var low = max(0, ((eightBit * 65536 - 32895) / 255).rounded(.up))
                        var high = min(65535, (((eightBit + 1) * 65536 - 1 - 32895) / 255).rounded(.down))
                        if alpha > 0 {
                            let premultiplied = Double(wide[base + channel])
                            let lowFromAlpha = ((premultiplied - 0.5) * 65535 / alpha).rounded(.up)
                            let highFromAlpha = ((premultiplied + 0.5) * 65535 / alpha).rounded(.down)
                            if max(low, lowFromAlpha) <= min(high, highFromAlpha) {
                                low = max(low, lowFromAlpha)
                                high = min(high, highFromAlpha)
                            }
                        }
                        narrow[base + channel] = UInt8(Int((low + high) / 2) >> 8)
                    }
                    narrow[base + channels - 1] = UInt8(truncatingIfNeeded: Int(alpha) >> 8)
                }
            }
        }
    }

    /// Starts a simplified-API read from memory, throwing libpng's message on failure.
    ///
    /// libpng keeps the address of the `png_image` from `begin` to `finish` (it is the error
    /// handler's context), so the structure lives on the heap in a `PNGRead`, never in a Swift
    /// value that could move.
    private func beginPNGRead(_ bytes: UnsafeRawBufferPointer, path: String) throws(ImageError) -> PNGRead {
        let read = PNGRead()
        guard png_image_begin_read_from_memory(read.image, bytes.baseAddress, bytes.count) != 0 else {
            throw pngError(read.image.pointee, path: path)
        }
        return read
    }

    /// Finishes a read into `buffer` (which must hold the whole image); libpng then frees its
    /// internal state.
    private func finishPNGRead<Sample>(_ read: PNGRead, into buffer: inout [Sample], path: String) throws(ImageError) {
        let succeeded = buffer.withUnsafeMutableBytes { raw in
            png_image_finish_read(read.image, nil, raw.baseAddress, 0, nil) != 0
        }
        if !succeeded { throw pngError(read.image.pointee, path: path) }
    }

    /// Classifies libpng's message.
    private func pngError(_ image: png_image, path: String) -> ImageError {
        var message = image.message
        let text = withUnsafeBytes(of: &message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let lowered = text.lowercased()
        if lowered.contains("not enough") || lowered.contains("end of data") || lowered.contains("truncated")
            || lowered.contains("read beyond") || lowered.contains("unexpected end") {
            return .truncated(path: path, format: .png, reason: text)
        }
        return .corrupt(path: path, format: .png, reason: text)
    }
}

/// A `png_image` at a fixed heap address for the length of one read. libpng's state is freed by
/// `png_image_finish_read` (on success and failure alike), or here if the read is abandoned.
private final class PNGRead {
    let image: UnsafeMutablePointer<png_image>

    init() {
        image = .allocate(capacity: 1)
        image.initialize(to: png_image())
        image.pointee.version = UInt32(PNG_IMAGE_VERSION)
    }

    /// Frees libpng's state of an unfinished read (a no-op once finished).
    func release() {
        png_image_free(image)
    }

    deinit {
        png_image_free(image)
        image.deallocate()
    }
}
