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
    /// The content is neither JPEG nor PNG (the extension is not consulted).
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
            "'\(path)' is neither a JPEG nor a PNG image (it starts with \(describeLeadingBytes(leadingBytes)))"
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
public enum ImageFormat: String, Sendable, Hashable, Codable {
    case jpeg
    case png

    /// The format's usual name in messages.
    public var displayName: String {
        switch self {
        case .jpeg: "JPEG"
        case .png: "PNG"
        }
    }

    /// The format whose signature starts `bytes`, or `nil`.
    ///
    /// JPEG starts with the SOI marker `FF D8 FF`; PNG with its eight-byte signature.
    public init?(signatureOf bytes: UnsafeRawBufferPointer) {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF {
            self = .jpeg
        } else if bytes.count >= 8, Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] {
            self = .png
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

