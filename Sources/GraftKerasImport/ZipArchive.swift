internal import CGraftZlib
import Foundation
import GraftSupport
#if canImport(Glibc)
import Glibc
#endif

/// A zip archive opened for reading its members by name: how graft reads `.keras` files.
///
/// It reads what PKWARE's APPNOTE (6.3) defines and Python's `zipfile` (which Keras saves with)
/// writes and reads: the end-of-central-directory record, found as `zipfile` finds it (the last
/// signature in the file's final 64 KiB + 22 bytes), with its ZIP64 record when a locator
/// precedes it; the central directory, walked by its byte size; ZIP64 extra fields; data
/// prepended to the archive (offsets shifted as `zipfile` shifts them); members stored (method 0)
/// or deflated (method 8), each checked against its CRC-32. As in `zipfile`, when two members
/// share a name the later one is read. Encrypted members and other methods are refused.
///
/// Every size and offset is a claim checked against the file before it is used: the central
/// directory must lie inside the file, a member's compressed bytes too, a stored member is as
/// long as its compressed bytes, and a deflated one at most 1,032 times as long (RFC 1951's
/// longest match, 258 bytes, costs about 2 bits), so nothing is allocated that the bytes
/// present could not fill. Reads use `pread` on one descriptor the archive owns.
final class ZipArchive {
    /// One member, as the central directory describes it (sizes after the ZIP64 extra field).
    struct Member {
        var name: String
        var flags: UInt16
        var method: UInt16
        var crc32: UInt32
        var compressedSize: UInt64
        var uncompressedSize: UInt64
        /// Where the member's local header starts, prepended data accounted for.
        var localHeaderOffset: UInt64
    }

    let path: String
    /// The archive's size in bytes.
    let size: UInt64
    private let descriptor: Int32
    private var membersByName: [String: Member] = [:]

    /// Opens `path` and reads its central directory.
    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw KerasImportError.badArchive(path: path, reason: "it cannot be opened (\(String(cString: strerror(errno))))")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw KerasImportError.badArchive(path: path, reason: "its size cannot be read (\(reason))")
        }
        size = UInt64(max(info.st_size, 0))
        do {
            try readCentralDirectory()
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit { close(descriptor) }

    /// The member called `name` (the last one, if several are), or nil.
    subscript(name: String) -> Member? { membersByName[name] }

    /// The whole uncompressed contents of `member` (for small members: `config.json`, `metadata.json`).
    func contents(of member: Member) throws -> Data {
        let count = try checkedUncompressedSize(of: member)
        var data = Data(count: count)
        try data.withUnsafeMutableBytes { try read(member, into: $0) }
        return data
    }

    /// The uncompressed size of `member` once checked against what the archive can hold.
    func checkedUncompressedSize(of member: Member) throws -> Int {
        guard member.flags & 1 == 0 else { throw failure(member, "is encrypted, which graft does not read") }
        guard member.method == 0 || member.method == 8 else {
            throw failure(member, "uses compression method \(member.method), where graft reads stored (0) and deflate (8)")
        }
        let largest = member.method == 8 ? member.compressedSize.multipliedReportingOverflow(by: 1032).partialValue : member.compressedSize
        guard member.compressedSize <= size, member.uncompressedSize <= largest, member.uncompressedSize <= UInt64(Int.max) else {
            throw failure(member, "claims \(member.uncompressedSize) bytes, more than the \(size)-byte archive can hold")
        }
        return Int(member.uncompressedSize)
    }

    /// Reads `member` into `buffer`, which must be exactly `checkedUncompressedSize(of:)` bytes
    /// long, and checks its CRC-32.
    func read(_ member: Member, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard try checkedUncompressedSize(of: member) == buffer.count else { throw failure(member, "does not have the size read beforehand") }
        // The local header: its own name and extra lengths say where the data start.
        let header = try bytes(count: 30, at: member.localHeaderOffset, what: "the local header of member '\(quoted(member.name))'")
        guard header.uint32(at: 0) == 0x0403_4B50 else { throw failure(member, "has no local header where the central directory says") }
        let start = member.localHeaderOffset + 30 + UInt64(header.uint16(at: 26)) + UInt64(header.uint16(at: 28))
        guard start <= size, member.compressedSize <= size - start else {
            throw failure(member, "claims \(member.compressedSize) compressed bytes, more than the archive holds after its header")
        }
        if member.method == 0 {
            guard member.compressedSize == member.uncompressedSize else {
                throw failure(member, "is stored with \(member.compressedSize) bytes but claims \(member.uncompressedSize) uncompressed")
            }
            try readFully(into: buffer, at: start, member: member)
        } else {
            try inflate(member, from: start, into: buffer)
        }
        var crc: uLong = 0
        var done = 0
        while done < buffer.count {
            let piece = min(buffer.count - done, 1 << 30)
            crc = CGraftZlib.crc32(crc, buffer.baseAddress!.advanced(by: done).assumingMemoryBound(to: Bytef.self), uInt(piece))
            done += piece
        }
        guard UInt32(truncatingIfNeeded: crc) == member.crc32 else {
            throw failure(member, "fails its CRC-32 check (the archive is damaged)")
        }
    }

    // MARK: Reading the directory

    private func readCentralDirectory() throws {
        // The end-of-central-directory record: 22 bytes and a comment of at most 65,535.
        guard size >= 22 else { throw KerasImportError.badArchive(path: path, reason: "it is \(size) bytes long, too short for a zip archive") }
        let tailLength = min(size, 22 + 65_535)
        let tail = try bytes(count: Int(tailLength), at: size - tailLength, what: "the end of the archive")
        var found: Int?
        var position = tail.count - 22
        while position >= 0 {
            if tail[position] == 0x50, tail.uint32(at: position) == 0x0605_4B50 { found = position; break }
            position -= 1
        }
        guard let found else {
            throw KerasImportError.badArchive(path: path, reason: "it has no end-of-central-directory record (not a zip archive, or cut short)")
        }
        let recordOffset = size - tailLength + UInt64(found)
        var directorySize = UInt64(tail.uint32(at: found + 12))
        var directoryOffset = UInt64(tail.uint32(at: found + 16))
        // Where the directory must end: just before the records that follow it.
        var directoryEnd = recordOffset
        if recordOffset >= 20 {
            let locator = try bytes(count: 20, at: recordOffset - 20, what: "the ZIP64 locator")
            if locator.uint32(at: 0) == 0x0706_4B50 {
                let zip64Offset = locator.uint64(at: 8)
                guard zip64Offset <= recordOffset - 20, recordOffset - 20 - zip64Offset >= 56 else {
                    throw KerasImportError.badArchive(path: path, reason: "its ZIP64 locator points outside the archive")
                }
                // As zipfile does, the record is expected right before its locator.
                let record = try bytes(count: 56, at: recordOffset - 20 - 56, what: "the ZIP64 end-of-central-directory record")
                guard record.uint32(at: 0) == 0x0606_4B50 else {
                    throw KerasImportError.badArchive(path: path, reason: "its ZIP64 end-of-central-directory record is missing")
                }
                directorySize = record.uint64(at: 40)
                directoryOffset = record.uint64(at: 48)
                directoryEnd = recordOffset - 20 - 56
            }
        }
        guard directorySize <= directoryEnd else {
            throw KerasImportError.badArchive(path: path, reason: "its central directory claims \(directorySize) bytes, more than the archive holds")
        }
        // Data prepended to the archive shift every offset by the same amount.
        let directoryStart = directoryEnd - directorySize
        guard directoryOffset <= directoryStart else {
            throw KerasImportError.badArchive(path: path, reason: "its central directory offset \(directoryOffset) lies past the directory's place")
        }
        let shift = directoryStart - directoryOffset
        let directory = try bytes(count: Int(directorySize), at: directoryStart, what: "the central directory")
        var offset = 0
        while offset < directory.count {
            guard directory.count - offset >= 46, directory.uint32(at: offset) == 0x0201_4B50 else {
                throw KerasImportError.badArchive(path: path, reason: "its central directory is damaged at byte \(offset)")
            }
            let nameLength = Int(directory.uint16(at: offset + 28))
            let extraLength = Int(directory.uint16(at: offset + 30))
            let commentLength = Int(directory.uint16(at: offset + 32))
            let next = offset + 46 + nameLength + extraLength + commentLength
            guard next <= directory.count else {
                throw KerasImportError.badArchive(path: path, reason: "its central directory is damaged at byte \(offset) (an entry runs past its end)")
            }
            let name = String(decoding: directory[(offset + 46)..<(offset + 46 + nameLength)], as: UTF8.self)
            var member = Member(
                name: name, flags: directory.uint16(at: offset + 8), method: directory.uint16(at: offset + 10),
                crc32: directory.uint32(at: offset + 16), compressedSize: UInt64(directory.uint32(at: offset + 20)),
                uncompressedSize: UInt64(directory.uint32(at: offset + 24)), localHeaderOffset: UInt64(directory.uint32(at: offset + 42)))
            try readZIP64Extra(directory[(offset + 46 + nameLength)..<(offset + 46 + nameLength + extraLength)], into: &member)
            let (shifted, overflow) = member.localHeaderOffset.addingReportingOverflow(shift)
            guard !overflow, shifted < size else {
                throw failure(member, "has its local header at byte \(member.localHeaderOffset), outside the archive")
            }
            member.localHeaderOffset = shifted
            membersByName[name] = member
            offset = next
        }
    }

    /// Replaces the 32-bit fields of `member` that are 0xFFFFFFFF by the 64-bit values of its
    /// ZIP64 extra field (id 1), which holds them in this order: uncompressed size, compressed
    /// size, local header offset, and only those the 32-bit fields left out.
    private func readZIP64Extra(_ extra: ArraySlice<UInt8>, into member: inout Member) throws {
        let needed = [member.uncompressedSize, member.compressedSize, member.localHeaderOffset].filter { $0 == 0xFFFF_FFFF }.count
        guard needed > 0 else { return }
        var position = extra.startIndex
        while extra.endIndex - position >= 4 {
            let id = extra.uint16(at: position)
            let length = Int(extra.uint16(at: position + 2))
            let body = position + 4
            guard extra.endIndex - body >= length else { break }
            if id == 1 {
                guard length >= 8 * needed else { throw failure(member, "has a ZIP64 extra field too short for the sizes it must hold") }
                var field = body
                if member.uncompressedSize == 0xFFFF_FFFF { member.uncompressedSize = extra.uint64(at: field); field += 8 }
                if member.compressedSize == 0xFFFF_FFFF { member.compressedSize = extra.uint64(at: field); field += 8 }
                if member.localHeaderOffset == 0xFFFF_FFFF { member.localHeaderOffset = extra.uint64(at: field) }
                return
            }
            position = body + length
        }
        throw failure(member, "has 32-bit sizes marked as ZIP64 but no ZIP64 extra field")
    }

    // MARK: Reading bytes

    private func failure(_ member: Member, _ reason: String) -> KerasImportError {
        .badArchive(path: path, reason: "member '\(quoted(member.name))' \(reason)")
    }

    /// `count` bytes at `offset`, which the caller has bounded by the file's size.
    private func bytes(count: Int, at offset: UInt64, what: String) throws -> [UInt8] {
        guard offset <= size, UInt64(count) <= size - offset else {
            throw KerasImportError.badArchive(path: path, reason: "\(what) lies outside the \(size)-byte archive")
        }
        var result = [UInt8](repeating: 0, count: count)
        try result.withUnsafeMutableBytes { buffer in
            var done = 0
            while done < count {
                let got = pread(descriptor, buffer.baseAddress!.advanced(by: done), count - done, off_t(offset) + off_t(done))
                if got < 0, errno == EINTR { continue }
                guard got > 0 else {
                    throw KerasImportError.badArchive(path: path, reason: "\(what) cannot be read (\(got < 0 ? String(cString: strerror(errno)) : "the file ended early"))")
                }
                done += got
            }
        }
        return result
    }

    private func readFully(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, member: Member) throws {
        var done = 0
        while done < buffer.count {
            let got = pread(descriptor, buffer.baseAddress!.advanced(by: done), min(buffer.count - done, 1 << 30), off_t(offset) + off_t(done))
            if got < 0, errno == EINTR { continue }
            guard got > 0 else {
                throw failure(member, "cannot be read (\(got < 0 ? String(cString: strerror(errno)) : "the file ended early"))")
            }
            done += got
        }
    }

    /// Inflates the raw deflate stream of `member`, read in 1 MiB pieces from `start`, into `buffer`.
    private func inflate(_ member: Member, from start: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        var stream = z_stream()
        guard graft_inflate_init_raw(&stream) == Z_OK else { throw failure(member, "cannot be inflated (zlib could not start)") }
        defer { inflateEnd(&stream) }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        var consumed: UInt64 = 0
        var produced = 0
        while true {
            if stream.avail_in == 0 {
                guard consumed < member.compressedSize else {
                    throw failure(member, "ends before its deflate stream does (the archive is damaged)")
                }
                let piece = Int(min(UInt64(chunk.count), member.compressedSize - consumed))
                try readFully(into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<piece]), at: start + consumed, member: member)
                consumed += UInt64(piece)
                stream.next_in = chunk.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(piece)
            }
            let room = min(buffer.count - produced, 1 << 30)
            // Room for one byte more than claimed, kept apart, tells a longer stream from a full buffer.
            var spare: UInt8 = 0
            let status: Int32 = withUnsafeMutablePointer(to: &spare) { sparePointer in
                if room > 0 {
                    stream.next_out = buffer.baseAddress!.advanced(by: produced).assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(room)
                } else {
                    stream.next_out = sparePointer
                    stream.avail_out = 1
                }
                let before = stream.avail_out
                let status = CGraftZlib.inflate(&stream, Z_NO_FLUSH)
                if room > 0 { produced += Int(before - stream.avail_out) } else if stream.avail_out == 0 { produced += 1 }
                return status
            }
            if status == Z_STREAM_END { break }
            guard produced <= buffer.count else { throw failure(member, "inflates to more than the \(buffer.count) bytes it claims") }
            guard status == Z_OK || (status == Z_BUF_ERROR && stream.avail_in == 0) else {
                let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw failure(member, "has damaged deflate data (zlib: \(quoted(message)))")
            }
        }
        guard produced == buffer.count else {
            throw failure(member, "inflates to \(produced) bytes, not the \(buffer.count) it claims")
        }
    }
}

private extension Collection where Element == UInt8, Index == Int {
    func uint16(at offset: Int) -> UInt16 { UInt16(self[offset]) | UInt16(self[offset + 1]) << 8 }
    func uint32(at offset: Int) -> UInt32 { UInt32(uint16(at: offset)) | UInt32(uint16(at: offset + 2)) << 16 }
    func uint64(at offset: Int) -> UInt64 { UInt64(uint32(at: offset)) | UInt64(uint32(at: offset + 4)) << 32 }
}
