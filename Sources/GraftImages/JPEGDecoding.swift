internal import CGraftTurboJPEG
extension ImageDecoder {
    /// Decodes a JPEG through TurboJPEG as PIL does: islow IDCT, fancy upsampling, Adobe CMYK.
    ///
    /// Colour JPEGs decode to RGB (the gray option then applies PIL's luma formula to the RGB
    /// pixels, as `convert('L')` does, rather than keeping the JPEG's Y channel); grayscale JPEGs
    /// decode to gray; CMYK and YCCK JPEGs decode to CMYK samples, which PIL reads inverted
    /// (Adobe's convention) and turns into RGB with `cmykToRGB`.
    func decodeJPEG(_ bytes: UnsafeRawBufferPointer, path: String, options: DecodingOptions) throws(ImageError) -> Image {
        let handle = try turboJPEGHandle(path: path)
        let source = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        if tjDecompressHeader3(handle, source, UInt(bytes.count), &width, &height, &subsampling, &colorspace) != 0 {
            throw jpegError(handle: handle, path: path)
        }
        try checkPixelCount(width: Int(width), height: Int(height), path: path, format: .jpeg, options: options)

        let orientation = options.appliesExifOrientation ? ExifOrientation(jpeg: bytes) : .normal
        let (scaledWidth, scaledHeight) = scaledSize(width: Int(width), height: Int(height),
                                                     target: options.reductionTarget, swapsAxes: orientation.swapsAxes)

        let pixelFormat: TJPF
        let decodedChannels: Int
        switch Int(colorspace) {
        case Int(TJCS_GRAY.rawValue):
            pixelFormat = TJPF_GRAY
            decodedChannels = 1
        case Int(TJCS_CMYK.rawValue), Int(TJCS_YCCK.rawValue):
            pixelFormat = TJPF_CMYK
            decodedChannels = 4
        default:
            pixelFormat = TJPF_RGB
            decodedChannels = 3
        }
        let pixelCount = scaledWidth * scaledHeight
        let decodedColor: ColorMode = decodedChannels == 1 ? .gray : .rgb
        var pixels: [UInt8]
        if decodedChannels == 4 {
            // CMYK goes through the reusable scratch buffer, then to RGB.
            if scratch.count < pixelCount * 4 { scratch = [UInt8](repeating: 0, count: pixelCount * 4) }
            try scratch.withUnsafeMutableBufferPointer { (buffer) throws(ImageError) in
                try decompress(handle, source, bytes.count, into: buffer.baseAddress!, width: scaledWidth,
                               height: scaledHeight, pixelFormat: pixelFormat, path: path)
            }
            pixels = [UInt8](unsafeUninitializedCapacity: pixelCount * 3) { output, initialized in
                scratch.withUnsafeBufferPointer { input in
                    cmykToRGB(input.baseAddress!, output.baseAddress!, count: pixelCount)
                }
                initialized = pixelCount * 3
            }
        } else {
            pixels = [UInt8](repeating: 0, count: pixelCount * decodedChannels)
            try pixels.withUnsafeMutableBufferPointer { (buffer) throws(ImageError) in
                try decompress(handle, source, bytes.count, into: buffer.baseAddress!, width: scaledWidth,
                               height: scaledHeight, pixelFormat: pixelFormat, path: path)
            }
        }
        let image = Image(width: scaledWidth, height: scaledHeight, color: decodedColor, pixels: pixels)
        return image.converted(to: options.color).oriented(orientation)
    }

    /// Runs `tjDecompress2`, accepting TurboJPEG's warnings (recoverable corruption PIL also
    /// accepts) except a premature end of data, which PIL reports as a truncated image.
    private func decompress(_ handle: tjhandle, _ source: UnsafePointer<UInt8>, _ count: Int,
                            into destination: UnsafeMutablePointer<UInt8>, width: Int, height: Int,
                            pixelFormat: TJPF, path: String) throws(ImageError) {
        let status = tjDecompress2(handle, source, UInt(count), destination, Int32(width), 0, Int32(height),
                                   Int32(pixelFormat.rawValue), TJFLAG_ACCURATEDCT)
        guard status != 0 else { return }
        let message = String(cString: tjGetErrorStr2(handle))
        if tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) && !message.contains("Premature end") {
            return
        }
        throw jpegError(handle: handle, path: path)
    }

    /// The error TurboJPEG reported last, classified.
    private func jpegError(handle: tjhandle, path: String) -> ImageError {
        let message = String(cString: tjGetErrorStr2(handle))
        if message.contains("Premature end") {
            return .truncated(path: path, format: .jpeg, reason: "the data ends before the last scan")
        }
        if message.contains("Unsupported") || message.contains("unsupported") || message.contains("not supported") {
            return .unsupported(path: path, format: .jpeg, reason: message)
        }
        return .corrupt(path: path, format: .jpeg, reason: message)
    }

    /// The size to decode at: full size, or the smallest DCT-scaled size that still covers the
    /// fast-decode target.
    private func scaledSize(width: Int, height: Int, target: ReductionTarget?, swapsAxes: Bool) -> (Int, Int) {
        guard let target else { return (width, height) }
        // TurboJPEG rounds a scaled dimension up: ceil(size × 1/denominator).
        for denominator in [8, 4, 2] {
            let scaledWidth = (width + denominator - 1) / denominator
            let scaledHeight = (height + denominator - 1) / denominator
            let covered = swapsAxes ? target.isCovered(width: scaledHeight, height: scaledWidth)
                                    : target.isCovered(width: scaledWidth, height: scaledHeight)
            if covered { return (scaledWidth, scaledHeight) }
        }
        return (width, height)
    }
}

/// Converts Adobe-style (inverted) CMYK samples, as libjpeg returns them, into RGB exactly as PIL
/// does: PIL first inverts the samples (`CMYK;I`), then computes each channel as
/// `nk − nk·c/255` with `nk = 255 − k`, using its rounded integer `MULDIV255`.
func cmykToRGB(_ input: UnsafePointer<UInt8>, _ output: UnsafeMutablePointer<UInt8>, count: Int) {
    for index in 0..<count {
        let source = input + 4 * index
        let black = 255 - Int(source[3])
        let blackComplement = 255 - black
        for channel in 0..<3 {
            let ink = 255 - Int(source[channel])
            let product = ink * blackComplement + 128
            let scaled = ((product >> 8) + product) >> 8
            let value = blackComplement - scaled
            output[3 * index + channel] = UInt8(clamping: value)
        }
    }
}
