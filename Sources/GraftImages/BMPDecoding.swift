/// The fields of a BMP's headers that decoding needs, read and checked from the file's bytes.
///
/// graft decodes BMP itself (the format is a header over rows of samples; Debian has no BMP
/// library worth a dependency), following Pillow's `BmpImagePlugin` where files are ambiguous.
struct BMPHeader {
    var width: Int
    var height: Int
    /// Whether the first stored row is the top one (a negative height in the header).
    var topDown: Bool
    var bitsPerPixel: Int
    var compression: Int
    /// Where the pixel rows start.
    var dataOffset: Int
    /// The colour table (1, 4 and 8 bits per pixel).
    var palette: Palette?
    /// For 32 bits per pixel: the byte of each pixel holding red, green and blue.
    var byteOfRed = 2, byteOfGreen = 1, byteOfBlue = 0
    /// For 16 bits per pixel: 5-6-5 (`BGR;16`) rather than 5-5-5 (`BGR;15`).
    var is565 = false

    static let raw = 0, rle8 = 1, rle4 = 2, bitfields = 3

    init(_ bytes: UnsafeRawBufferPointer, path: String) throws(ImageError) {
        func truncated(_ what: String) -> ImageError { .truncated(path: path, format: .bmp, reason: "the file ends inside \(what)") }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        guard bytes.count >= 18 else { throw truncated("the file header") }
        let headerSize = u32(14)
        guard bytes.count >= 14 + headerSize else { throw truncated("the \(headerSize)-byte DIB header") }
        var offset = u32(10)
        let paletteEntrySize: Int
        var colors = 0
        switch headerSize {
        case 12:
            width = u16(18)
            height = u16(20)
            topDown = false
            bitsPerPixel = u16(24)
            compression = BMPHeader.raw
            paletteEntrySize = 3
        case 40, 52, 56, 64, 108, 124:
            width = u32(18)
            // Pillow takes the height as negative (rows top-down) when its top byte is 0xFF.
            topDown = bytes[25] == 0xFF
            height = topDown ? (1 << 32) - u32(22) : u32(22)
            bitsPerPixel = u16(28)
            compression = u32(30)
            colors = u32(46)
            paletteEntrySize = 4
        default:
            throw .unsupported(path: path, format: .bmp, reason: "the DIB header has \(headerSize) bytes (graft reads 12, 40, 52, 56, 64, 108 and 124)")
        }
        guard width > 0, height > 0 else {
            throw .corrupt(path: path, format: .bmp, reason: "the header declares a size of \(width)×\(height) pixels")
        }
        guard [1, 4, 8, 16, 24, 32].contains(bitsPerPixel) else {
            throw .unsupported(path: path, format: .bmp, reason: "\(bitsPerPixel) bits per pixel (graft reads 1, 4, 8, 16, 24 and 32)")
        }
        if colors == 0 { colors = 1 << min(bitsPerPixel, 24) }
        dataOffset = offset

        switch compression {
        case BMPHeader.raw:
            break
        case BMPHeader.bitfields:
            // Masks after a 40-byte header, inside the longer ones; alpha only from 56 bytes on.
            guard bytes.count >= 14 + max(headerSize, 52) else { throw truncated("the bit-field masks") }
            let red = u32(54), green = u32(58), blue = u32(62)
            let alpha = headerSize >= 56 ? u32(66) : 0
            switch (bitsPerPixel, red, green, blue) {
            case (32, _, _, _):
                let supported: Set<[Int]> = [[0xFF0000, 0xFF00, 0xFF, 0], [0xFF00_0000, 0xFF0000, 0xFF00, 0],
                                             [0xFF00_0000, 0xFF00, 0xFF, 0], [0xFF00_0000, 0xFF0000, 0xFF00, 0xFF],
                                             [0xFF, 0xFF00, 0xFF0000, 0xFF00_0000], [0xFF0000, 0xFF00, 0xFF, 0xFF00_0000],
                                             [0xFF00_0000, 0xFF00, 0xFF, 0xFF0000], [0, 0, 0, 0]]
                guard supported.contains([red, green, blue, alpha]) else {
                    throw .unsupported(path: path, format: .bmp, reason: "the 32-bit bit-field masks \(hex(red)), \(hex(green)), \(hex(blue)), \(hex(alpha))")
                }
                if red != 0 {
                    byteOfRed = red.trailingZeroBitCount / 8
                    byteOfGreen = green.trailingZeroBitCount / 8
                    byteOfBlue = blue.trailingZeroBitCount / 8
                }
            case (24, 0xFF0000, 0xFF00, 0xFF):
                break
            case (16, 0xF800, 0x7E0, 0x1F):
                is565 = true
            case (16, 0x7C00, 0x3E0, 0x1F):
                break
            default:
                throw .unsupported(path: path, format: .bmp, reason: "the \(bitsPerPixel)-bit bit-field masks \(hex(red)), \(hex(green)), \(hex(blue))")
            }
        case BMPHeader.rle8 where bitsPerPixel == 8, BMPHeader.rle4 where bitsPerPixel == 4:
            break
        default:
            throw .unsupported(path: path, format: .bmp, reason: "compression \(compression) with \(bitsPerPixel) bits per pixel (graft reads uncompressed, bit fields, RLE8 and RLE4)")
        }

        if bitsPerPixel <= 8 {
            guard colors <= 65536 else {
                throw .corrupt(path: path, format: .bmp, reason: "the header declares \(colors) palette colours")
            }
            let paletteStart = 14 + headerSize
            let paletteBytes = paletteEntrySize * colors
            guard bytes.count >= paletteStart + paletteBytes else { throw truncated("the colour table") }
            // Pillow moves the pixel offset past the table when the header says it starts there.
            if offset == paletteStart { offset += paletteBytes }
            dataOffset = offset
            var rgb = [UInt8]()
            rgb.reserveCapacity(3 * min(colors, 256))
            for entry in 0..<min(colors, 256) {
                let at = paletteStart + entry * paletteEntrySize
                rgb += [bytes[at + 2], bytes[at + 1], bytes[at]]
            }
            palette = Palette(rgb: rgb)
        }
    }

    /// Bytes per stored row: the bits of one row rounded up to whole 32-bit words.
    var rowBytes: Int { ((width * bitsPerPixel + 31) >> 3) & ~3 }
}

private func hex(_ value: Int) -> String { "0x" + String(value, radix: 16, uppercase: true) }

extension ImageDecoder {
    /// Decodes a BMP as Pillow does: 1-, 4- and 8-bit palettes (RLE8 and RLE4 too), 16-bit
    /// 5-5-5 and 5-6-5, 24-bit BGR, 32-bit BGRX (the fourth byte ignored, as Pillow ignores it
    /// unless asked) and the 32-bit bit-field layouts Pillow reads. Alpha is dropped.
    func decodeBMP(_ bytes: UnsafeRawBufferPointer, path: String, options: DecodingOptions) throws(ImageError) -> Image {
        let header = try BMPHeader(bytes, path: path)
        let width = header.width, height = header.height
        try checkPixelCount(width: width, height: height, path: path, format: .bmp, options: options)
        guard header.dataOffset <= bytes.count else {
            throw .truncated(path: path, format: .bmp, reason: "the pixel data would start at byte \(header.dataOffset), past the end")
        }
        let data = UnsafeRawBufferPointer(rebasing: bytes[header.dataOffset...])

        if header.compression == BMPHeader.rle8 || header.compression == BMPHeader.rle4 {
            let indices = try decodeBMPRunLengths(data, header: header, path: path)
            return try bmpPaletteImage(indices, header: header, options: options)
        }
        let rowBytes = header.rowBytes
        guard data.count / rowBytes >= height else {
            throw .truncated(path: path, format: .bmp, reason: "\(height) rows of \(rowBytes) bytes need \(height * rowBytes) bytes, the file holds \(data.count)")
        }
        /// The stored row that is image row `row`.
        func storedRow(_ row: Int) -> UnsafeRawBufferPointer {
            let stored = header.topDown ? row : height - 1 - row
            return UnsafeRawBufferPointer(rebasing: data[(stored * rowBytes)..<((stored + 1) * rowBytes)])
        }

        switch header.bitsPerPixel {
        case 1, 4, 8:
            let bits = header.bitsPerPixel
            var indices = [UInt8](repeating: 0, count: width * height)
            let perByte = 8 / bits, mask = UInt8((1 << bits) - 1)
            for row in 0..<height {
                let source = storedRow(row)
                for column in 0..<width {
                    let byte = source[column / perByte]
                    let shift = 8 - bits * (column % perByte + 1)
                    indices[row * width + column] = (byte >> UInt8(shift)) & mask
                }
            }
            return try bmpPaletteImage(indices, header: header, options: options)
        default:
            var rgb = [UInt8](repeating: 0, count: width * height * 3)
            for row in 0..<height {
                let source = storedRow(row)
                for column in 0..<width {
                    let out = (row * width + column) * 3
                    switch header.bitsPerPixel {
                    case 16:
                        let pixel = Int(source[2 * column]) | Int(source[2 * column + 1]) << 8
                        if header.is565 {
                            rgb[out] = UInt8((pixel >> 11 & 31) * 255 / 31)
                            rgb[out + 1] = UInt8((pixel >> 5 & 63) * 255 / 63)
                        } else {
                            rgb[out] = UInt8((pixel >> 10 & 31) * 255 / 31)
                            rgb[out + 1] = UInt8((pixel >> 5 & 31) * 255 / 31)
                        }
                        rgb[out + 2] = UInt8((pixel & 31) * 255 / 31)
                    case 24:
                        rgb[out] = source[3 * column + 2]
                        rgb[out + 1] = source[3 * column + 1]
                        rgb[out + 2] = source[3 * column]
                    default:
                        rgb[out] = source[4 * column + header.byteOfRed]
                        rgb[out + 1] = source[4 * column + header.byteOfGreen]
                        rgb[out + 2] = source[4 * column + header.byteOfBlue]
                    }
                }
            }
            return Image(width: width, height: height, color: .rgb, pixels: rgb).converted(to: options.color)
        }
    }

    /// Palette indices through the colour table; a table that is the gray ramp `(i, i, i)`
    /// leaves indices as gray values, as Pillow's mode `L` does (two-entry tables included: black
    /// and white then come out as 0 and 255 either way).
    private func bmpPaletteImage(_ indices: [UInt8], header: BMPHeader, options: DecodingOptions) throws(ImageError) -> Image {
        let palette = header.palette ?? Palette(rgb: [])
        if palette.count > 2, palette.isIdentityGrayRamp {
            return Image(width: header.width, height: header.height, color: .gray, pixels: indices).converted(to: options.color)
        }
        return palette.image(indices: indices, width: header.width, height: header.height, target: options.color)
    }

    /// Expands RLE8 or RLE4 data into one index per pixel, rows top to bottom, exactly as
    /// Pillow's `BmpRleDecoder` does: the runs fill one stream of `width × height` indices in
    /// stored row order, an encoded run is cut at the end of its row, an absolute run is not,
    /// end-of-line pads the stream to a row boundary, a delta skips `right + up × width`
    /// indices, and the stream ends at end-of-bitmap or where the data ends (the rest stays
    /// index 0: Pillow accepts such files, so graft does too).
    private func decodeBMPRunLengths(_ data: UnsafeRawBufferPointer, header: BMPHeader, path: String) throws(ImageError) -> [UInt8] {
        let width = header.width, height = header.height
        let total = width * height
        let isRLE4 = header.compression == BMPHeader.rle4
        var stream = [UInt8](repeating: 0, count: total)
        var length = 0, x = 0, at = 0
        // Pillow aligns absolute runs to even file offsets, not data offsets.
        let fileOffsetOfData = header.dataOffset
        decoding: while length < total, at + 2 <= data.count {
            let count = Int(data[at]), value = data[at + 1]
            at += 2
            if count > 0 {
                let pixels = x + count > width ? max(0, width - x) : count
                for index in 0..<pixels where length < total {
                    stream[length] = isRLE4 ? (index % 2 == 0 ? value >> 4 : value & 0x0F) : value
                    length += 1
                }
                x += pixels
                continue
            }
            switch value {
            case 0:
                length = min(total, (length + width - 1) / width * width)
                x = 0
            case 1:
                break decoding
            case 2:
                guard at + 2 <= data.count else { break decoding }
                let right = Int(data[at]), up = Int(data[at + 1])
                at += 2
                length += min(total - length, right + up * width)
                x = length % width
            default:
                let pixels = min(total - length, Int(value))
                let byteCount = isRLE4 ? (pixels + 1) / 2 : pixels
                let available = min(byteCount, data.count - at)
                if isRLE4 {
                    for index in 0..<available {
                        let byte = data[at + index]
                        stream[length] = byte >> 4
                        length += 1
                        if index * 2 + 1 < pixels {
                            stream[length] = byte & 0x0F
                            length += 1
                        }
                    }
                } else {
                    for index in 0..<available { stream[length + index] = data[at + index] }
                    length += available
                }
                at += available
                if available < byteCount || length == total { break decoding }
                x += Int(value)
                if (fileOffsetOfData + at) % 2 != 0 { at += 1 }
            }
        }
        if header.topDown { return stream }
        return [UInt8](unsafeUninitializedCapacity: total) { indices, initialized in
            stream.withUnsafeBufferPointer { source in
                for row in 0..<height {
                    (indices.baseAddress! + row * width).initialize(from: source.baseAddress! + (height - 1 - row) * width, count: width)
                }
            }
            initialized = total
        }
    }
}
