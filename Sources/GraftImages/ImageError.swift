public import GraftSupport
/// Why one image could not be decoded.
///
/// Every failure names the file and says what is wrong with it in one sentence. The feature
/// extractor treats each as a per-image failure and carries on with the next image; the
/// `graft preprocess` command exits 65 (66 when the file cannot be opened).
public enum ImageError: GraftError, Equatable {
    /// The file cannot be opened or read.
    case unreadable(path: String, reason: String)
    /// The file has no bytes.
    case empty(path: String)
    /// The content is none of the formats graft decodes (the extension is not consulted).
    case unrecognizedFormat(path: String, leadingBytes: [UInt8])
    /// The header declares more pixels than graft decodes.
    case tooLarge(path: String, width: Int, height: Int, maximumPixelCount: Int)
    /// The data ends before the image does.
    case truncated(path: String, format: ImageFormat, reason: String)
    /// The decoder rejected the data.
    case corrupt(path: String, format: ImageFormat, reason: String)
    /// The file is valid but uses a feature graft does not decode (for example a 12-bit JPEG).
    case unsupported(path: String, format: ImageFormat, reason: String)

    public var exitStatus: ExitStatus {
        switch self {
        case .unreadable: .noInput
        default: .dataError
        }
    }

    /// The file the error is about.
    public var path: String {
        switch self {
        case let .unreadable(path, _), let .empty(path), let .unrecognizedFormat(path, _),
             let .tooLarge(path, _, _, _), let .truncated(path, _, _), let .corrupt(path, _, _),
             let .unsupported(path, _, _):
            path
        }
    }

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            "cannot read image '\(path)': \(reason)"
        case let .empty(path):
            "'\(path)' is an empty file, not an image"
        case let .unrecognizedFormat(path, leadingBytes):
            "'\(path)' is not a JPEG, PNG, WebP, TIFF, BMP or GIF image (it starts with \(describeLeadingBytes(leadingBytes)))"
        case let .tooLarge(path, width, height, maximumPixelCount):
            "'\(path)' declares \(width)×\(height) pixels, more than the \(maximumPixelCount) graft decodes"
        case let .truncated(path, format, reason):
            "'\(path)' is a truncated \(format.displayName) file: \(reason)"
        case let .corrupt(path, format, reason):
            "'\(path)' is a damaged \(format.displayName) file: \(reason)"
        case let .unsupported(path, format, reason):
            "'\(path)' is a \(format.displayName) file graft cannot decode: \(reason)"
        }
    }
}

/// The image file formats graft decodes, recognised by their leading bytes.
public enum ImageFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case jpeg
    case png
    case webp
    case tiff
    case bmp
    case gif

    /// The format's usual name in messages.
    public var displayName: String {
        switch self {
        case .jpeg: "JPEG"
        case .png: "PNG"
        case .webp: "WebP"
        case .tiff: "TIFF"
        case .bmp: "BMP"
        case .gif: "GIF"
        }
    }

    /// The format whose signature starts `bytes`, or `nil`.
    ///
    /// JPEG starts with the SOI marker `FF D8 FF`; PNG with its eight-byte signature; WebP with
    /// `RIFF`, a length, then `WEBP`; TIFF with `II*\0` or `MM\0*` (BigTIFF's `II+\0` and
    /// `MM\0+` too, which libtiff reads); BMP with `BM`; GIF with `GIF87a` or `GIF89a`.
    public init?(signatureOf bytes: UnsafeRawBufferPointer) {
        func starts(with prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && zip(bytes[offset...], prefix).allSatisfy { $0 == $1 }
        }
        if starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if starts(with: Array("RIFF".utf8)), starts(with: Array("WEBP".utf8), at: 8) {
            self = .webp
        } else if starts(with: [0x49, 0x49, 0x2A, 0x00]) || starts(with: [0x4D, 0x4D, 0x00, 0x2A])
                    || starts(with: [0x49, 0x49, 0x2B, 0x00]) || starts(with: [0x4D, 0x4D, 0x00, 0x2B]) {
            self = .tiff
        } else if starts(with: Array("GIF87a".utf8)) || starts(with: Array("GIF89a".utf8)) {
            self = .gif
        } else if starts(with: Array("BM".utf8)), bytes.count >= 18 {
            // "BM" alone is too common a start for text; a BMP also has a 14-byte file header
            // followed by a DIB header whose size is one of the known ones.
            let headerSize = Int(bytes[14]) | Int(bytes[15]) << 8 | Int(bytes[16]) << 16 | Int(bytes[17]) << 24
            guard [12, 40, 52, 56, 64, 108, 124].contains(headerSize) else { return nil }
            self = .bmp
        } else {
            return nil
        }
    }
}

/// The first bytes of a file for a message: quoted text when printable, hexadecimal otherwise.
private func describeLeadingBytes(_ bytes: [UInt8]) -> String {
    if !bytes.isEmpty, bytes.allSatisfy({ (0x20..<0x7F).contains($0) || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
        // quoted() escapes line breaks; "\r\n" is one Character in Swift, so comparing
        // Characters with "\n" misses it (a fuzzing finding: a two-line message).
        return "the text \"\(quoted(String(decoding: bytes, as: UTF8.self)))\""
    }
    let hex = bytes.map { byte in
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }
    return "the bytes " + hex.joined(separator: " ")
}

