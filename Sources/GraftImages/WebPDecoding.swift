internal import CGraftWebP
extension ImageDecoder {
    /// Decodes a WebP file (lossy, lossless, with or without alpha) as Pillow does.
    ///
    /// Pillow reads every WebP through libwebp's animation decoder into non-premultiplied RGBA
    /// (`MODE_RGBA`) and drops the alpha in `convert('RGB')`. A still image is decoded here with
    /// `WebPDecode` into the same non-premultiplied RGBA (or RGB when the file has no alpha):
    /// that is what the animation decoder itself does for a frame covering the canvas, and it
    /// reports why a damaged file fails. An animation goes through the animation decoder and
    /// gives its first frame, composited on the transparent black canvas as Pillow's first frame.
    ///
    /// The canvas size comes from the header and is checked against the pixel cap before
    /// libwebp allocates anything.
    func decodeWebP(_ bytes: UnsafeRawBufferPointer, path: String, options: DecodingOptions) throws(ImageError) -> Image {
        let data = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var config = WebPDecoderConfig()
        guard graft_WebPInitDecoderConfig(&config) != 0 else {
            throw .unsupported(path: path, format: .webp, reason: "libwebp's decoder has another ABI version")
        }
        let status = graft_WebPGetFeatures(data, bytes.count, &config.input)
        guard status == Int32(VP8_STATUS_OK.rawValue) else { throw webpError(status, path: path) }
        let width = Int(config.input.width), height = Int(config.input.height)
        try checkPixelCount(width: width, height: height, path: path, format: .webp, options: options)
        if config.input.has_animation != 0 {
            return try decodeWebPAnimation(bytes, path: path, options: options)
        }

        let hasAlpha = config.input.has_alpha != 0
        let stride = hasAlpha ? 4 : 3
        var samples = [UInt8](repeating: 0, count: width * height * stride)
        let decoded = samples.withUnsafeMutableBufferPointer { buffer in
            config.output.colorspace = hasAlpha ? MODE_RGBA : MODE_RGB
            config.output.is_external_memory = 1
            config.output.u.RGBA = WebPRGBABuffer(rgba: buffer.baseAddress, stride: Int32(width * stride), size: buffer.count)
            return WebPDecode(data, bytes.count, &config)
        }
        WebPFreeDecBuffer(&config.output)
        guard decoded == VP8_STATUS_OK else { throw webpError(Int32(decoded.rawValue), path: path) }
        return DecodedSamples(color: .rgb, stride: stride, width: width, height: height, bytes: samples).image(in: options.color)
    }

    /// The first frame of an animated WebP through libwebp's animation decoder, as Pillow reads it.
    private func decodeWebPAnimation(_ bytes: UnsafeRawBufferPointer, path: String,
                                     options: DecodingOptions) throws(ImageError) -> Image {
        var decoderOptions = WebPAnimDecoderOptions()
        guard graft_WebPAnimDecoderOptionsInit(&decoderOptions) != 0 else {
            throw .unsupported(path: path, format: .webp, reason: "libwebp's animation decoder has another ABI version")
        }
        decoderOptions.color_mode = MODE_RGBA
        decoderOptions.use_threads = 0
        var data = WebPData(bytes: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), size: bytes.count)
        guard let decoder = graft_WebPAnimDecoderNew(&data, &decoderOptions) else {
            throw .corrupt(path: path, format: .webp, reason: "libwebp's animation decoder rejected the file (WebPAnimDecoderNew failed)")
        }
        defer { WebPAnimDecoderDelete(decoder) }
        var info = WebPAnimInfo()
        guard WebPAnimDecoderGetInfo(decoder, &info) != 0 else {
            throw .corrupt(path: path, format: .webp, reason: "libwebp could not read the animation's header (WebPAnimDecoderGetInfo failed)")
        }
        let width = Int(info.canvas_width), height = Int(info.canvas_height)
        try checkPixelCount(width: width, height: height, path: path, format: .webp, options: options)
        var canvas: UnsafeMutablePointer<UInt8>? = nil
        var timestamp: Int32 = 0
        guard WebPAnimDecoderGetNext(decoder, &canvas, &timestamp) != 0, let canvas else {
            throw .corrupt(path: path, format: .webp, reason: "libwebp could not decode the first frame (WebPAnimDecoderGetNext failed)")
        }
        let samples = [UInt8](UnsafeBufferPointer(start: canvas, count: width * height * 4))
        return DecodedSamples(color: .rgb, stride: 4, width: width, height: height, bytes: samples).image(in: options.color)
    }

    /// libwebp's status code, by its own name, classified.
    private func webpError(_ status: Int32, path: String) -> ImageError {
        let name = switch UInt32(bitPattern: status) {
        case VP8_STATUS_OUT_OF_MEMORY.rawValue: "VP8_STATUS_OUT_OF_MEMORY"
        case VP8_STATUS_INVALID_PARAM.rawValue: "VP8_STATUS_INVALID_PARAM"
        case VP8_STATUS_BITSTREAM_ERROR.rawValue: "VP8_STATUS_BITSTREAM_ERROR"
        case VP8_STATUS_UNSUPPORTED_FEATURE.rawValue: "VP8_STATUS_UNSUPPORTED_FEATURE"
        case VP8_STATUS_SUSPENDED.rawValue: "VP8_STATUS_SUSPENDED"
        case VP8_STATUS_USER_ABORT.rawValue: "VP8_STATUS_USER_ABORT"
        case VP8_STATUS_NOT_ENOUGH_DATA.rawValue: "VP8_STATUS_NOT_ENOUGH_DATA"
        default: "status \(status)"
        }
        switch UInt32(bitPattern: status) {
        case VP8_STATUS_NOT_ENOUGH_DATA.rawValue:
            return .truncated(path: path, format: .webp, reason: "libwebp says \(name): the data ends before the image does")
        case VP8_STATUS_UNSUPPORTED_FEATURE.rawValue:
            return .unsupported(path: path, format: .webp, reason: "libwebp says \(name)")
        default:
            return .corrupt(path: path, format: .webp, reason: "libwebp says \(name)")
        }
    }
}
