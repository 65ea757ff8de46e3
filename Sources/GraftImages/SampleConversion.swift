/// What the WebP, TIFF, BMP and GIF decoders hand over: 8-bit samples in the file's own layout,
/// turned into an `Image` of the requested colour exactly as PIL's `convert` does.
struct DecodedSamples {
    /// The colour the first samples of each pixel carry: 3 for RGB, 1 for gray.
    var color: ColorMode
    /// Bytes per pixel (the colour samples, then any alpha or extra sample, which is dropped).
    var stride: Int
    var width: Int
    var height: Int
    /// `height × width × stride` bytes, rows top to bottom.
    var bytes: [UInt8]

    /// The image in `target` colour: alpha and extra samples dropped (never composited, as
    /// `convert('RGB')` drops them), RGB → gray by PIL's luma, gray → RGB by copying.
    func image(in target: ColorMode) -> Image {
        let pixelCount = width * height
        if stride == color.channelCount {
            return Image(width: width, height: height, color: color, pixels: bytes).converted(to: target)
        }
        let channels = color.channelCount
        let pixels = [UInt8](unsafeUninitializedCapacity: pixelCount * target.channelCount) { output, initialized in
            bytes.withUnsafeBufferPointer { input in
                let source = input.baseAddress!, destination = output.baseAddress!
                switch (color, target) {
                case (.rgb, .rgb), (.gray, .gray):
                    for index in 0..<pixelCount {
                        for channel in 0..<channels { destination[index * channels + channel] = source[index * stride + channel] }
                    }
                case (.rgb, .gray):
                    for index in 0..<pixelCount {
                        let pixel = source + index * stride
                        let luma = UInt32(pixel[0]) &* 19595 &+ UInt32(pixel[1]) &* 38470 &+ UInt32(pixel[2]) &* 7471 &+ 0x8000
                        destination[index] = UInt8(truncatingIfNeeded: luma >> 16)
                    }
                case (.gray, .rgb):
                    for index in 0..<pixelCount {
                        let value = source[index * stride]
                        destination[3 * index] = value
                        destination[3 * index + 1] = value
                        destination[3 * index + 2] = value
                    }
                }
            }
            initialized = pixelCount * target.channelCount
        }
        return Image(width: width, height: height, color: target, pixels: pixels)
    }
}

/// A colour table: RGB triples, looked up by index as PIL's `P` mode does.
struct Palette {
    /// `3 × count` bytes.
    var rgb: [UInt8]

    var count: Int { rgb.count / 3 }

    /// The image of `indices` (`width × height` bytes) in `target` colour. An index past the
    /// end of the table is black, as in PIL (its palettes are zero-filled to 256 entries);
    /// gray is PIL's luma of each entry, as `convert('L')` of a `P` image computes it.
    func image(indices: [UInt8], width: Int, height: Int, target: ColorMode) -> Image {
        var table = [UInt8](repeating: 0, count: 256 * target.channelCount)
        for entry in 0..<min(count, 256) {
            let red = rgb[3 * entry], green = rgb[3 * entry + 1], blue = rgb[3 * entry + 2]
            switch target {
            case .rgb:
                table[3 * entry] = red
                table[3 * entry + 1] = green
                table[3 * entry + 2] = blue
            case .gray:
                let luma = UInt32(red) &* 19595 &+ UInt32(green) &* 38470 &+ UInt32(blue) &* 7471 &+ 0x8000
                table[entry] = UInt8(truncatingIfNeeded: luma >> 16)
            }
        }
        let channels = target.channelCount
        let pixelCount = width * height
        let pixels = [UInt8](unsafeUninitializedCapacity: pixelCount * channels) { output, initialized in
            indices.withUnsafeBufferPointer { input in
                table.withUnsafeBufferPointer { lookup in
                    let source = input.baseAddress!, destination = output.baseAddress!, entries = lookup.baseAddress!
                    if channels == 1 {
                        for index in 0..<pixelCount { destination[index] = entries[Int(source[index])] }
                    } else {
                        for index in 0..<pixelCount {
                            let entry = entries + Int(source[index]) * 3, pixel = destination + index * 3
                            pixel[0] = entry[0]
                            pixel[1] = entry[1]
                            pixel[2] = entry[2]
                        }
                    }
                }
            }
            initialized = pixelCount * channels
        }
        return Image(width: width, height: height, color: target, pixels: pixels)
    }

    /// Whether entry `i` is `(i, i, i)` for every entry: PIL then drops the table and keeps the
    /// indices as gray values (GIF's `_is_palette_needed`, BMP's grayscale check), which differs
    /// from a lookup only for indices past the end of the table.
    var isIdentityGrayRamp: Bool {
        (0..<count).allSatisfy { entry in
            rgb[3 * entry] == UInt8(truncatingIfNeeded: entry) && rgb[3 * entry + 1] == rgb[3 * entry]
                && rgb[3 * entry + 2] == rgb[3 * entry] && entry < 256
        }
    }
}
