internal import CGraftGIF
/// The bytes giflib reads through `DGifOpen`'s input function, and how far it has read.
private final class GIFSource {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
}

/// giflib's input function: copies up to `count` bytes from the `GIFSource` in `UserData`.
private func readGIFBytes(_ file: UnsafeMutablePointer<GifFileType>?, _ buffer: UnsafeMutablePointer<GifByteType>?,
                          _ count: Int32) -> Int32 {
    guard let file, let buffer, count > 0, let user = file.pointee.UserData else { return 0 }
    let source = Unmanaged<GIFSource>.fromOpaque(user).takeUnretainedValue()
    let available = min(Int(count), source.bytes.count - source.offset)
    guard available > 0 else { return 0 }
    buffer.update(from: source.bytes.baseAddress!.advanced(by: source.offset).assumingMemoryBound(to: UInt8.self),
                  count: available)
    source.offset += available
    return Int32(available)
}

extension ImageDecoder {
    /// Decodes the first image of a GIF through giflib, as Pillow gives frame 0.
    ///
    /// Pillow's frame 0: the logical screen (grown to hold the frame if the frame sticks out),
    /// filled with the frame's transparent index when its graphic control extension has one
    /// and with index 0 otherwise, with the frame's indices in its rectangle (interlaced rows
    /// put back in order). The indices go through the local colour table, else the global one;
    /// an index past the table is black; a table that is the identity gray ramp, or no table
    /// at all, leaves the indices as gray values (PIL's mode `L`). Transparency is not
    /// composited: `convert('RGB')` of PIL's `P` image looks every index up.
    func decodeGIF(_ bytes: UnsafeRawBufferPointer, path: String, options: DecodingOptions) throws(ImageError) -> Image {
        let source = GIFSource(bytes)
        var status: Int32 = 0
        let opened = withExtendedLifetime(source) {
            DGifOpen(Unmanaged.passUnretained(source).toOpaque(), readGIFBytes, &status)
        }
        guard let file = opened else { throw gifError(status, path: path) }
        defer {
            var closeStatus: Int32 = 0
            DGifCloseFile(file, &closeStatus)
        }
        return try withExtendedLifetime(source) { () throws(ImageError) -> Image in
            try decodeFirstGIFFrame(file, path: path, options: options)
        }
    }

    private func decodeFirstGIFFrame(_ file: UnsafeMutablePointer<GifFileType>, path: String,
                                     options: DecodingOptions) throws(ImageError) -> Image {
        var transparentIndex: UInt8? = nil
        while true {
            var record = UNDEFINED_RECORD_TYPE
            guard DGifGetRecordType(file, &record) != GIF_ERROR else { throw gifError(file.pointee.Error, path: path) }
            switch record {
            case EXTENSION_RECORD_TYPE:
                var code: Int32 = 0
                var block: UnsafeMutablePointer<GifByteType>? = nil
                guard DGifGetExtension(file, &code, &block) != GIF_ERROR else { throw gifError(file.pointee.Error, path: path) }
                // Graphic control: length byte 4, then flags, delay (2 bytes), transparent index.
                if code == GRAPHICS_EXT_FUNC_CODE, let block, block[0] >= 4 {
                    transparentIndex = block[1] & 1 != 0 ? block[4] : nil
                }
                while block != nil {
                    guard DGifGetExtensionNext(file, &block) != GIF_ERROR else { throw gifError(file.pointee.Error, path: path) }
                }
            case IMAGE_DESC_RECORD_TYPE:
                guard DGifGetImageDesc(file) != GIF_ERROR else { throw gifError(file.pointee.Error, path: path) }
                return try readGIFFrame(file, transparentIndex: transparentIndex, path: path, options: options)
            case TERMINATE_RECORD_TYPE:
                throw .corrupt(path: path, format: .gif, reason: "the file ends before its first image")
            default:
                throw .corrupt(path: path, format: .gif, reason: "giflib found an unknown record type")
            }
        }
    }

    private func readGIFFrame(_ file: UnsafeMutablePointer<GifFileType>, transparentIndex: UInt8?, path: String,
                              options: DecodingOptions) throws(ImageError) -> Image {
        let frame = file.pointee.Image
        let left = Int(frame.Left), top = Int(frame.Top), frameWidth = Int(frame.Width), frameHeight = Int(frame.Height)
        guard frameWidth > 0, frameHeight > 0, left >= 0, top >= 0 else {
            throw .corrupt(path: path, format: .gif, reason: "the first image is \(frameWidth)×\(frameHeight) pixels at (\(left), \(top))")
        }
        let width = max(Int(file.pointee.SWidth), left + frameWidth)
        let height = max(Int(file.pointee.SHeight), top + frameHeight)
        try checkPixelCount(width: width, height: height, path: path, format: .gif, options: options)

        var indices = [UInt8](repeating: transparentIndex ?? 0, count: width * height)
        var line = [UInt8](repeating: 0, count: frameWidth)
        // Interlaced rows come in four passes: every 8th from 0, every 8th from 4, every 4th
        // from 2, every 2nd from 1.
        let rowOrder: [Int] = frame.Interlace
            ? [(0, 8), (4, 8), (2, 4), (1, 2)].flatMap { start, step in Array(stride(from: start, to: frameHeight, by: step)) }
            : Array(0..<frameHeight)
        for row in rowOrder {
            let read = line.withUnsafeMutableBufferPointer { DGifGetLine(file, $0.baseAddress, Int32(frameWidth)) }
            guard read != GIF_ERROR else { throw gifError(file.pointee.Error, path: path) }
            let start = (top + row) * width + left
            indices.withUnsafeMutableBufferPointer { canvas in
                line.withUnsafeBufferPointer { canvas.baseAddress!.advanced(by: start).update(from: $0.baseAddress!, count: frameWidth) }
            }
        }

        let map = frame.ColorMap ?? file.pointee.SColorMap
        var palette: Palette? = nil
        if let map, map.pointee.ColorCount > 0, let colors = map.pointee.Colors {
            var rgb: [UInt8] = []
            rgb.reserveCapacity(3 * Int(map.pointee.ColorCount))
            for entry in 0..<Int(min(map.pointee.ColorCount, 256)) {
                rgb += [colors[entry].Red, colors[entry].Green, colors[entry].Blue]
            }
            palette = Palette(rgb: rgb)
        }
        guard let palette, !palette.isIdentityGrayRamp else {
            return Image(width: width, height: height, color: .gray, pixels: indices).converted(to: options.color)
        }
        return palette.image(indices: indices, width: width, height: height, target: options.color)
    }

    /// giflib's message for an error code, classified.
    private func gifError(_ code: Int32, path: String) -> ImageError {
        let message = GifErrorString(code).map { String(cString: $0) } ?? "giflib error \(code)"
        switch code {
        case D_GIF_ERR_READ_FAILED, D_GIF_ERR_EOF_TOO_SOON:
            return .truncated(path: path, format: .gif, reason: "giflib says: \(message)")
        default:
            return .corrupt(path: path, format: .gif, reason: "giflib says: \(message)")
        }
    }
}
