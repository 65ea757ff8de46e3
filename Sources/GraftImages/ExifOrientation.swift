/// The Exif orientation tag (0x0112): how the stored pixels must be turned for display.
///
/// graft reads it from a JPEG's APP1 `Exif` segment and applies it only when asked
/// (`DecodingOptions.appliesExifOrientation`), as OpenCV's `imread` does; Keras and PIL ignore it
/// in JPEGs. A TIFF's Orientation tag (the same values) is always applied, because Pillow's TIFF
/// reader applies it.
public enum ExifOrientation: Int, Sendable, Hashable, CaseIterable {
    /// Stored as displayed.
    case normal = 1
    case mirroredHorizontally = 2
    case rotated180 = 3
    case mirroredVertically = 4
    /// Mirrored across the main diagonal (rows become columns).
    case transposed = 5
    /// Must be rotated 90° clockwise for display.
    case rotated90Clockwise = 6
    /// Mirrored across the anti-diagonal.
    case transversed = 7
    /// Must be rotated 90° counter-clockwise for display.
    case rotated90CounterClockwise = 8

    /// Whether displaying the image swaps its width and height.
    public var swapsAxes: Bool { rawValue >= 5 }

    /// The orientation a JPEG's first Exif segment records; `.normal` when there is none, or
    /// when the segment is malformed (a bad tag never makes the image fail).
    public init(jpeg bytes: UnsafeRawBufferPointer) {
        self = ExifOrientation.find(in: bytes) ?? .normal
    }

    private static func find(in bytes: UnsafeRawBufferPointer) -> ExifOrientation? {
        var offset = 2  // after SOI
        while offset + 4 <= bytes.count {
            guard bytes[offset] == 0xFF else { return nil }
            let marker = bytes[offset + 1]
            if marker == 0xFF { offset += 1; continue }  // fill byte
            if marker == 0xD9 || marker == 0xDA { return nil }  // end of image, start of scan
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { offset += 2; continue }
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { return nil }
            let segment = UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 2 + length)])
            if marker == 0xE1, segment.count >= 6, Array(segment[0..<6]) == [0x45, 0x78, 0x69, 0x66, 0, 0] {
                return orientation(inTIFF: UnsafeRawBufferPointer(rebasing: segment[6...]))
            }
            offset += 2 + length
        }
        return nil
    }

    /// Reads tag 0x0112 from IFD0 of a TIFF structure, checking every offset.
    private static func orientation(inTIFF tiff: UnsafeRawBufferPointer) -> ExifOrientation? {
        guard tiff.count >= 8 else { return nil }
        let littleEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): littleEndian = true
        case (0x4D, 0x4D): littleEndian = false
        default: return nil
        }
        func read16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            return littleEndian ? Int(tiff[at]) | Int(tiff[at + 1]) << 8 : Int(tiff[at]) << 8 | Int(tiff[at + 1])
        }
        func read32(_ at: Int) -> Int? {
            guard let low = read16(littleEndian ? at : at + 2), let high = read16(littleEndian ? at + 2 : at) else { return nil }
            return high << 16 | low
        }
        guard read16(2) == 42, let directory = read32(4), let entryCount = read16(directory) else { return nil }
        for entry in 0..<entryCount {
            let at = directory + 2 + 12 * entry
            guard let tag = read16(at) else { return nil }
            if tag == 0x0112 {
                // Type SHORT (3), count 1: the value sits in the first two bytes of the value field.
                guard read16(at + 2) == 3, let value = read16(at + 8) else { return nil }
                return ExifOrientation(rawValue: value)
            }
        }
        return nil
    }
}

extension Image {
    /// The image as it should be displayed under `orientation`.
    public func oriented(_ orientation: ExifOrientation) -> Image {
        if orientation == .normal { return self }
        let channels = channelCount
        let outputWidth = orientation.swapsAxes ? height : width
        let outputHeight = orientation.swapsAxes ? width : height
        let lastRow = height - 1, lastColumn = width - 1
        let output = [UInt8](unsafeUninitializedCapacity: pixels.count) { buffer, initialized in
            pixels.withUnsafeBufferPointer { input in
                for row in 0..<outputHeight {
                    for column in 0..<outputWidth {
                        let (sourceRow, sourceColumn): (Int, Int) = switch orientation {
                        case .normal: (row, column)
                        case .mirroredHorizontally: (row, lastColumn - column)
                        case .rotated180: (lastRow - row, lastColumn - column)
                        case .mirroredVertically: (lastRow - row, column)
                        case .transposed: (column, row)
                        case .rotated90Clockwise: (lastRow - column, row)
                        case .transversed: (lastRow - column, lastColumn - row)
                        case .rotated90CounterClockwise: (column, lastColumn - row)
                        }
                        let source = (sourceRow * width + sourceColumn) * channels
                        let destination = (row * outputWidth + column) * channels
                        for channel in 0..<channels {
                            buffer[destination + channel] = input[source + channel]
                        }
                    }
                }
            }
            initialized = pixels.count
        }
        return Image(width: outputWidth, height: outputHeight, color: color, pixels: output)
    }
}
