import GraftSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A check of a file's global heap collections before HDF5 reads them.
///
/// Variable-length strings (Keras's `model_config`, a cache's ids) live in global heap
/// collections: the signature `GCOL`, version 1, three reserved bytes, the collection's size
/// (8 bytes, little-endian), then objects, each a 16-byte header (index, reference count,
/// reserved, size) and its data padded to 8 bytes; the object with index 0 is the free space
/// and its size counts its own header. HDF5 1.10 walks the objects by those sizes and never
/// stops when a free-space object says 0 bytes (found by fuzzing: `graft convert` spun
/// forever). So graft walks every collection first, as HDF5 will, and refuses a file whose
/// objects do not fill their collection exactly.
///
/// A collection is recognised by its signature and version byte, as HDF5 recognises it (it
/// ignores the three reserved bytes: a fuzzed file with zero-size free space behind nonzero
/// reserved bytes got past a check that wanted them zero, and HDF5 spun), and a size that fits
/// in the file: bytes in a weight array that happen to match all of that and then fail the
/// walk are vanishingly unlikely.
enum GlobalHeapCheck {
    /// Reads the file at `path` in chunks (with `pread`, not a mapping: a mapped file that
    /// shrinks, or a hole on a full tmpfs, would kill the process with SIGBUS) and checks every
    /// collection in it. Throws `sizeMismatch` naming the first malformed one, `cannotOpen` if
    /// the file cannot be read.
    static func validate(fileAt path: String) throws(HDF5Error) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        let fileSize = Int(info.st_size)
        let chunkSize = 1 << 20
        // No bigger than the file: a Keras file of a few KB should not cost a megabyte.
        var chunk = [UInt8](repeating: 0, count: min(chunkSize, fileSize) + 15)
        var chunkStart = 0
        while chunkStart < fileSize {
            // Each chunk overlaps the next by 15 bytes, so a 16-byte collection header that
            // straddles two chunks is seen whole in the first.
            let wanted = min(chunk.count, fileSize - chunkStart)
            let got = chunk.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, wanted, off_t(chunkStart)) }
            guard got > 0 else { return }
            for collection in candidates(in: chunk, count: got) {
                try validateCollection(at: chunkStart + collection, fileSize: fileSize, descriptor: descriptor, path: path)
            }
            chunkStart += min(chunkSize, got)
        }
    }

    /// Offsets in `bytes[..<count]` of collection headers: "GCOL", version 1.
    private static func candidates(in bytes: [UInt8], count: Int) -> [Int] {
        var found: [Int] = []
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset + 16 <= count {
                guard let hit = memchr(base + offset, Int32(UInt8(ascii: "G")), count - 16 - offset + 1) else { return }
                let start = base.distance(to: UnsafeRawPointer(hit))
                offset = start + 1
                if raw[start + 1] == UInt8(ascii: "C"), raw[start + 2] == UInt8(ascii: "O"), raw[start + 3] == UInt8(ascii: "L"),
                   raw[start + 4] == 1 {
                    found.append(start)
                }
            }
        }
        return found
    }

    /// Walks the collection at byte `start` of the file as HDF5 will.
    private static func validateCollection(at start: Int, fileSize: Int, descriptor: Int32, path: String) throws(HDF5Error) {
        var header = [UInt8](repeating: 0, count: 16)
        guard header.withUnsafeMutableBytes({ pread(descriptor, $0.baseAddress, 16, off_t(start)) }) == 16 else { return }
        let size = header.withUnsafeBytes { readLength($0, at: 8) }
        // Not a collection HDF5 could use: leave it to HDF5.
        guard size >= 16, size <= UInt64(fileSize - start) else { return }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        guard bytes.withUnsafeMutableBytes({ pread(descriptor, $0.baseAddress, Int(size), off_t(start)) }) == Int(size) else { return }
        let problem: String? = bytes.withUnsafeBytes { raw in
            let end = Int(size)
            var position = 16
            while position < end {
                if position + 16 > end { break }  // too small for a header: HDF5 counts it as free space
                let index = UInt16(raw[position]) | UInt16(raw[position + 1]) << 8
                let objectSize = readLength(raw, at: position + 8)
                let need: UInt64 = index == 0 ? objectSize : 16 &+ ((objectSize &+ 7) & ~7)
                let room = UInt64(end - position)
                guard need > 0, objectSize <= room, need <= room else {
                    return "object \(index) at byte \(start + position) claims \(objectSize) bytes, which do not fit the collection's \(size); the file is damaged"
                }
                position += Int(need)
            }
            return nil
        }
        if let problem { throw .sizeMismatch(path: path, object: "the global heap collection at byte \(start)", detail: problem) }
    }

    private static func readLength(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for byte in 0..<8 { value |= UInt64(bytes[offset + byte]) << (8 * UInt64(byte)) }
        return value
    }
}
