import GraftFeatureCache
import Foundation
import GraftSupport
/// Reads a tar stream (POSIX ustar, pax extended headers, GNU long names) and stores its
/// regular image files in a folder, so they can be decoded like files on disk while memory stays
/// bounded whatever the stream's size.
///
/// Labels come from the first path component of a member name (`cat/1.jpg` is class `cat`);
/// members at the top level are unlabelled. A leading `./` is dropped from names. Members that
/// are not regular files (folders, links, devices) and files without an image extension are
/// skipped.
public struct TarInput {
    /// The folder the members were written to; remove it when done.
    public let folder: String
    /// `(id, path, class name)` per image, in stream order.
    public let entries: [(id: String, path: String, className: String?)]

    /// Reads the whole stream from `descriptor` into a new folder `.graft-tar-PID-XXXXXX` under
    /// `temporaryRoot`, first removing such folders left there by killed runs.
    public init(readingFrom descriptor: Int32, temporaryRoot: String = NSTemporaryDirectory()) throws {
        let root = temporaryRoot.hasSuffix("/") ? temporaryRoot : temporaryRoot + "/"
        removeStaleTemporaries(besides: root + "x", prefix: ".graft-tar-")
        var template = Array(root.utf8CString.dropLast()) + Array(".graft-tar-\(getpid())-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw ExtractionError.unreadableInput(path: "-", reason: "cannot create a temporary folder: \(systemErrorMessage())")
        }
        folder = String(cString: created)
        do {
            entries = try TarInput.extract(from: descriptor, into: folder)
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
    }

    private static func extract(from descriptor: Int32, into folder: String) throws -> [(id: String, path: String, className: String?)] {
        var reader = BlockReader(descriptor: descriptor)
        var entries: [(id: String, path: String, className: String?)] = []
        var longName: String?
        var paxPath: String?
        var globalPaxPath: String?
        var header = [UInt8](repeating: 0, count: 512)
        var zeroBlocks = 0
        // Where the current header starts and the member it belongs to, for error messages.
        var headerOffset = 0
        var member: String?
        func located(_ error: any Error) -> any Error {
            guard case let ExtractionError.malformedTar(reason) = error else { return error }
            let place = member.map { "member '\(quoted($0))' (header at byte \(headerOffset))" } ?? "the header at byte \(headerOffset)"
            return ExtractionError.malformedTar(reason: "\(place): \(reason)")
        }
        while true {
          do {
            headerOffset = reader.offset
            member = nil
            guard try reader.readExactly(into: &header, allowEndOfStream: true) else { break }
            if header.allSatisfy({ $0 == 0 }) {
                zeroBlocks += 1
                if zeroBlocks == 2 { break }
                continue
            }
            zeroBlocks = 0
            guard verifyChecksum(header) else { throw ExtractionError.malformedTar(reason: "a header block has a wrong checksum") }
            guard let size = try? parseNumber(header[124..<136]), size >= 0, size <= TarInput.maximumMemberSize else {
                let field = header[124..<136].map { String(format: "%02x", $0) }.joined()
                throw ExtractionError.malformedTar(
                    reason: "member '\(quoted(ustarName(header)))' has a size field (hex \(field)) "
                        + "that is not a size from 0 to \(TarInput.maximumMemberSize) bytes")
            }
            let type = header[156]
            let padded = (size + 511) / 512 * 512
            switch type {
            case UInt8(ascii: "L"):
                longName = cString(try reader.read(count: size, skipping: padded - size))
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                let records = parsePax(try reader.read(count: size, skipping: padded - size))
                if type == UInt8(ascii: "x") { paxPath = records["path"] ?? paxPath } else { globalPaxPath = records["path"] }
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                var name = paxPath ?? longName ?? globalPaxPath ?? ustarName(header)
                paxPath = nil
                longName = nil
                while name.hasPrefix("./") { name.removeFirst(2) }
                member = name
                if InputList.hasImageExtension(name) {
                    let path = folder + "/" + String(format: "%08d", entries.count) + "." + (name.split(separator: ".").last.map(String.init) ?? "img")
                    try reader.copy(count: size, skipping: padded - size, to: path)
                    let components = name.split(separator: "/", omittingEmptySubsequences: true)
                    entries.append((id: name, path: path, className: components.count > 1 ? String(components[0]) : nil))
                } else {
                    try reader.skip(padded)
                }
            default:
                paxPath = nil
                longName = nil
                try reader.skip(padded)
            }
          } catch {
            throw located(error)
          }
        }
        return entries
    }

    private static func verifyChecksum(_ header: [UInt8]) -> Bool {
        guard let stored = try? parseNumber(header[148..<156]) else { return false }
        var sum = 0
        for (index, byte) in header.enumerated() { sum += (148..<156).contains(index) ? 32 : Int(byte) }
        return sum == stored
    }

    /// The largest member size accepted (64 GiB); larger sizes are taken for corruption.
    static let maximumMemberSize = 1 << 36

    /// An octal field, or GNU's base-256 form (high bit set). Throws for a negative base-256
    /// value (bit 6 of the first byte set) or a value that does not fit in an `Int`.
    private static func parseNumber(_ field: ArraySlice<UInt8>) throws -> Int {
        if let first = field.first, first & 0x80 != 0 {
            guard first & 0x40 == 0 else { throw ExtractionError.malformedTar(reason: "a header has a negative base-256 number") }
            var value = Int(first & 0x3F)
            for byte in field.dropFirst() {
                guard value <= (Int.max >> 8) else { throw ExtractionError.malformedTar(reason: "a header has a base-256 number too large") }
                value = value << 8 | Int(byte)
            }
            return value
        }
        var value = 0
        for byte in field {
            if byte == 0 || byte == UInt8(ascii: " ") {
                if value > 0 { break } else { continue }
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) else {
                throw ExtractionError.malformedTar(reason: "a header has a non-octal number field")
            }
            guard value <= (Int.max >> 3) else { throw ExtractionError.malformedTar(reason: "a header has an octal number too large") }
            value = value * 8 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func cString(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    private static func ustarName(_ header: [UInt8]) -> String {
        let name = cString(Array(header[0..<100]))
        let isUstar = header[257..<262].elementsEqual("ustar".utf8)
        let prefix = isUstar ? cString(Array(header[345..<500])) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    /// pax records: `LENGTH key=value\n`, where LENGTH counts the whole record. Parsing stops at
    /// the first record whose length does not cover its own digits, space and line break, or
    /// runs past the data.
    private static func parsePax(_ bytes: [UInt8]) -> [String: String] {
        var records: [String: String] = [:]
        var index = 0
        while index < bytes.count {
            guard let space = bytes[index...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: bytes[index..<space], as: UTF8.self)),
                  length <= bytes.count - index, length >= space - index + 2 else { break }
            let record = bytes[(space + 1)..<(index + length - 1)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[..<equals], as: UTF8.self)] = String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            index += length
        }
        return records
    }
}

/// Reads a stream in blocks.
private struct BlockReader {
    let descriptor: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    /// The bytes read so far: the stream offset of the next read.
    private(set) var offset = 0

    init(descriptor: Int32) { self.descriptor = descriptor }

    /// Fills `destination` completely; returns false at a clean end of stream when allowed.
    mutating func readExactly(into destination: inout [UInt8], allowEndOfStream: Bool = false) throws -> Bool {
        var filled = 0
        while filled < destination.count {
            let count = destination.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ExtractionError.unreadableInput(path: "-", reason: systemErrorMessage())
            }
            if count == 0 {
                if filled == 0 && allowEndOfStream { return false }
                throw ExtractionError.malformedTar(reason: "the stream ends inside a block")
            }
            filled += count
            offset += count
        }
        return true
    }

    mutating func read(count: Int, skipping padding: Int) throws -> [UInt8] {
        guard count <= 1 << 24 else { throw ExtractionError.malformedTar(reason: "an extended header of \(count) bytes is too long") }
        // Grows with what is actually read, chunk by chunk, not with what the header claims.
        var bytes: [UInt8] = []
        var remaining = count
        while remaining > 0 {
            var part = [UInt8](repeating: 0, count: min(remaining, buffer.count))
            _ = try readExactly(into: &part)
            bytes += part
            remaining -= part.count
        }
        try skip(padding)
        return bytes
    }

    mutating func skip(_ count: Int) throws {
        var remaining = count
        while remaining > 0 {
            let chunk = min(remaining, buffer.count)
            var part = [UInt8](repeating: 0, count: chunk)
            _ = try readExactly(into: &part)
            remaining -= chunk
        }
    }

    mutating func copy(count: Int, skipping padding: Int, to path: String) throws {
        let output = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw FileError.cannotCreate(path: path, reason: systemErrorMessage()) }
        defer { close(output) }
        var remaining = count
        while remaining > 0 {
            var part = [UInt8](repeating: 0, count: min(remaining, buffer.count))
            _ = try readExactly(into: &part)
            let written = part.withUnsafeBytes { Glibc.write(output, $0.baseAddress!, $0.count) }
            guard written == part.count else { throw FileError.writeFailed(path: path, reason: systemErrorMessage()) }
            remaining -= part.count
        }
        try skip(padding)
    }
}
