import GraftSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks of a file's heaps before HDF5 reads them, and what they learn for later checks.
///
/// HDF5 1.10 trusts the sizes and links it finds in a file's heaps; fuzzing found each of these
/// making it spin, allocate without end or read out of bounds on a file of a few KB:
///
/// - **Global heap collections** hold variable-length data (Keras's `model_config` and weight
///   names, a cache's ids): the signature `GCOL`, version 1, three reserved bytes, the
///   collection's size (a length), then objects, each a header (2-byte index, 2-byte reference
///   count, 4 reserved bytes, a length) and its data padded to 8 bytes; the object with index 0
///   is the free space and its size counts its own header. HDF5 walks the objects by those
///   sizes and never stops when a free-space object says 0 bytes (`graft convert` spun
///   forever). So graft walks every collection first, as HDF5 will, refuses a file whose
///   objects do not fill their collection exactly, and keeps each object's size by index
///   (`GlobalHeapIndex`) to check references against later.
/// - **Local heaps** hold the link names of old-style groups (h5py's default): the signature
///   `HEAP`, version 0, three reserved bytes, the data segment's size and the offset of the
///   first free block (lengths), and the data segment's address. Each free block starts with
///   the offset of the next (1 ends the list) and its own size. HDF5 follows that list,
///   allocating a record per block, and never notices a cycle: a 28 KB Keras file made it
///   allocate 1.6 GB in 50 million records. graft walks each list first and refuses one that
///   runs past its data segment, or is longer than the segment has room for (a cycle).
///
/// A collection or heap is recognised by its signature and version byte, as HDF5 recognises it
/// (it ignores the reserved bytes: a fuzzed file with zero-size free space behind nonzero
/// reserved bytes got past a check that wanted them zero, and HDF5 spun), with sizes that fit
/// in the file: bytes in a weight array that happen to match all of that and then fail the
/// walk are vanishingly unlikely. Addresses and lengths have the sizes the superblock declares
/// (8 and 8 in every file h5py, Keras and graft write).
enum HeapCheck {
    /// Checks the file at `path`, read in chunks with `pread` (not a mapping: a mapped file
    /// that shrinks, or a hole on a full tmpfs, would kill the process with SIGBUS). Throws
    /// `sizeMismatch` naming the first malformed heap, `cannotOpen` if the file cannot be read.
    /// Returns nil, checking nothing, for a superblock whose address or length size graft does
    /// not read (16 or 32 bytes): the heaps' layout would be guessed wrong.
    static func validate(fileAt path: String) throws(HDF5Error) -> GlobalHeapIndex? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        return try validate(ByteSource(descriptor: descriptor, size: Int(info.st_size)), path: path)
    }

    /// Checks an HDF5 file image in memory; `name` stands for its path in messages.
    static func validate(image: UnsafeRawBufferPointer, name: String) throws(HDF5Error) -> GlobalHeapIndex? {
        try validate(ByteSource(memory: image), path: name)
    }

    private static func validate(_ source: ByteSource, path: String) throws(HDF5Error) -> GlobalHeapIndex? {
        guard let layout = FileLayout(source) else { return nil }
        var index = GlobalHeapIndex(base: UInt64(layout.base), addressSize: layout.addressSize, collections: [:])
        let chunkSize = 1 << 20
        // No bigger than the file: a Keras file of a few KB should not cost a megabyte.
        var scratch = [UInt8](repeating: 0, count: source.isInMemory ? 0 : min(chunkSize, source.size) + 15)
        var chunkStart = 0
        var localHeaps: [Int] = []
        while chunkStart < source.size {
            // Each chunk overlaps the next by 15 bytes, so a 16-byte header that straddles two
            // chunks is seen whole in the first.
            let wanted = min(chunkSize + 15, source.size - chunkStart)
            let (got, found) = source.withBytes(at: chunkStart, count: wanted, scratch: &scratch) { ($0.count, candidates(in: $0)) }
            guard got > 0 else { break }
            for (offset, kind) in found {
                switch kind {
                case .collection:
                    if let objects = try validateCollection(at: chunkStart + offset, layout: layout, source: source, path: path) {
                        index.collections[UInt64(chunkStart + offset)] = objects
                    }
                case .localHeap:
                    localHeaps.append(chunkStart + offset)
                }
            }
            chunkStart += min(chunkSize, got)
        }
        // After the collections, so that a file damaged in both names its collection first.
        for start in localHeaps {
            try validateLocalHeap(at: start, layout: layout, source: source, path: path)
        }
        return index
    }

    private enum Kind { case collection, localHeap }

    /// Offsets in `raw` of collection headers ("GCOL", version 1) and local heap headers
    /// ("HEAP", version 0) that start at least 16 bytes before its end.
    private static func candidates(in raw: UnsafeRawBufferPointer) -> [(Int, Kind)] {
        var found: [(Int, Kind)] = []
        guard let base = raw.baseAddress else { return found }
        let count = raw.count
        for (signature, version, kind) in [("GCOL", UInt8(1), Kind.collection), ("HEAP", UInt8(0), Kind.localHeap)] {
            let letters = Array(signature.utf8)
            var offset = 0
            while offset + 16 <= count {
                guard let hit = memchr(base + offset, Int32(letters[0]), count - 16 - offset + 1) else { break }
                let start = base.distance(to: UnsafeRawPointer(hit))
                offset = start + 1
                if raw[start + 1] == letters[1], raw[start + 2] == letters[2], raw[start + 3] == letters[3],
                   raw[start + 4] == version {
                    found.append((start, kind))
                }
            }
        }
        return found.sorted { $0.0 < $1.0 }
    }

    /// Walks the collection at byte `start` of the file as HDF5 will; returns the size of each
    /// object by index (a later object with the same index replaces an earlier one, as in
    /// HDF5), or nil if it is not a collection HDF5 could load (HDF5 reports that itself).
    private static func validateCollection(
        at start: Int, layout: FileLayout, source: ByteSource, path: String
    ) throws(HDF5Error) -> [UInt16: UInt64]? {
        let lengthSize = layout.lengthSize
        var header = [UInt8](repeating: 0, count: 8 + lengthSize)
        guard header.withUnsafeMutableBytes({ source.read(into: $0, count: $0.count, at: start) }) == header.count else { return nil }
        let size = header.withUnsafeBytes { readInteger($0, at: 8, size: lengthSize) }
        let objectHeader = 8 + lengthSize
        guard size >= UInt64(8 + lengthSize), size <= UInt64(source.size - start) else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        guard bytes.withUnsafeMutableBytes({ source.read(into: $0, count: $0.count, at: start) }) == Int(size) else { return nil }
        var objects: [UInt16: UInt64] = [:]
        let problem: String? = bytes.withUnsafeBytes { raw in
            let end = Int(size)
            var position = 8 + lengthSize
            while position < end {
                if position + objectHeader > end { break }  // too small for a header: HDF5 counts it as free space
                let index = UInt16(raw[position]) | UInt16(raw[position + 1]) << 8
                let objectSize = readInteger(raw, at: position + 8, size: lengthSize)
                let need: UInt64 = index == 0 ? objectSize : UInt64(objectHeader) &+ ((objectSize &+ 7) & ~7)
                let room = UInt64(end - position)
                guard need > 0, objectSize <= room, need <= room else {
                    return "object \(index) at byte \(start + position) claims \(objectSize) bytes, which do not fit the collection's \(size); the file is damaged"
                }
                if index != 0 { objects[index] = objectSize }
                position += Int(need)
            }
            return nil
        }
        if let problem { throw .sizeMismatch(path: path, object: "the global heap collection at byte \(start)", detail: problem) }
        return objects
    }

    /// Walks the free list of the local heap at byte `start` as HDF5 will, and refuses one that
    /// reads past the data segment or never ends. A heap HDF5 would refuse by itself (a data
    /// segment outside the file) is left to HDF5.
    private static func validateLocalHeap(at start: Int, layout: FileLayout, source: ByteSource, path: String) throws(HDF5Error) {
        let lengthSize = layout.lengthSize, addressSize = layout.addressSize
        var header = [UInt8](repeating: 0, count: 8 + 2 * lengthSize + addressSize)
        guard header.withUnsafeMutableBytes({ source.read(into: $0, count: $0.count, at: start) }) == header.count else { return }
        let (dataSize, firstFree, dataAddress) = header.withUnsafeBytes { raw in
            (readInteger(raw, at: 8, size: lengthSize), readInteger(raw, at: 8 + lengthSize, size: lengthSize),
             readInteger(raw, at: 8 + 2 * lengthSize, size: addressSize))
        }
        let fileSize = UInt64(source.size), base = UInt64(layout.base)
        let heap = "the local heap at byte \(start)"
        guard dataSize <= fileSize, dataAddress < fileSize, base + dataAddress + dataSize <= fileSize else {
            // A segment right after the header is loaded with it, and HDF5 computes the size of
            // that read without checking it: a segment of 2^64 - 1 bytes made it copy -1 bytes.
            // A segment elsewhere is read on its own, and HDF5 refuses one outside the file.
            let header = UInt64((8 + 2 * lengthSize + addressSize + 7) & ~7)
            if dataAddress == UInt64(start) &- base &+ header {
                throw .sizeMismatch(path: path, object: heap,
                                    detail: "its \(dataSize)-byte data segment does not fit in the \(fileSize)-byte file; the file is damaged")
            }
            return
        }
        let end: UInt64 = 1  // HDF5's H5HL_FREE_NULL
        let entry = UInt64(2 * lengthSize)
        // Free blocks do not overlap and each holds its two fields: a longer list is a cycle.
        let longest = dataSize / entry + 1
        var offset = firstFree, steps: UInt64 = 0
        var fields = [UInt8](repeating: 0, count: 2 * lengthSize)
        while offset != end {
            guard offset < dataSize, offset + entry <= dataSize else {
                throw .sizeMismatch(path: path, object: heap,
                                    detail: "its free list points to byte \(offset) of a \(dataSize)-byte data segment; the file is damaged")
            }
            steps += 1
            guard steps <= longest else {
                throw .sizeMismatch(path: path, object: heap,
                                    detail: "its free list runs in a cycle (more than \(longest) blocks in \(dataSize) bytes); the file is damaged")
            }
            let position = Int(base + dataAddress + offset)
            guard fields.withUnsafeMutableBytes({ source.read(into: $0, count: $0.count, at: position) }) == fields.count else { return }
            offset = fields.withUnsafeBytes { readInteger($0, at: 0, size: lengthSize) }
        }
    }
}

/// What graft knows of a file's global heap collections once `HeapCheck` has walked them: the
/// size of every object in each, by collection address (a file offset) and index.
///
/// A variable-length string's stored element is a reference: a 4-byte length, the address of
/// a collection (relative to the superblock) and a 4-byte object index. HDF5 1.10 trusts it:
/// an index past the collection's table reads a wild pointer, an unused index reads through
/// NULL, and a length larger than the object makes it convert that many characters one by one
/// from whatever follows (a 37 KB Keras file took 26 s). `problem(withReference:)` checks a
/// reference against the walk before HDF5 follows it.
struct GlobalHeapIndex: Sendable {
    /// The file offset of the superblock, to which stored addresses are relative.
    let base: UInt64
    /// The size of a stored address in bytes (8 in files h5py, Keras and graft write).
    let addressSize: Int
    /// Object sizes by collection file offset and object index.
    var collections: [UInt64: [UInt16: UInt64]]

    /// The size of one stored reference: length, address, index.
    var referenceSize: Int { 8 + addressSize }

    /// Why the stored reference at `bytes` cannot be followed safely, or nil if it can. A
    /// string of `n` characters is an object of exactly `n` bytes (HDF5 writes it so).
    func problem(withReference bytes: UnsafeRawBufferPointer) -> String? {
        let length = readInteger(bytes, at: 0, size: 4)
        let address = readInteger(bytes, at: 4, size: addressSize)
        let index = readInteger(bytes, at: 4 + addressSize, size: 4)
        if address == 0 { return nil }  // HDF5's null reference: an empty string, nothing read
        guard let objects = collections[base &+ address] else {
            return "it refers to a global heap collection at byte \(base &+ address), where there is none"
        }
        guard index <= UInt64(UInt16.max), let size = objects[UInt16(index)] else {
            return "it refers to object \(index) of the global heap collection at byte \(base &+ address), which has no such object"
        }
        guard size == length else {
            return "it claims \(length) characters but its object in the global heap collection at byte \(base &+ address) holds \(size) bytes"
        }
        return nil
    }
}

/// Where a file's superblock is, and the sizes of its addresses and lengths.
private struct FileLayout {
    let base: Int
    let addressSize: Int
    let lengthSize: Int

    /// Reads the superblock at offset 0, 512, 1024, … (versions 0–3), or nil if there is none
    /// with sizes HDF5 accepts (2, 4, 8, 16 or 32 bytes; graft checks files with 2, 4 or 8).
    init?(_ source: ByteSource) {
        var offset = 0
        var bytes = [UInt8](repeating: 0, count: 16)
        while offset + 16 <= source.size {
            if bytes.withUnsafeMutableBytes({ source.read(into: $0, count: 16, at: offset) }) == 16,
               Array(bytes[0..<8]) == HDF5File.signature {
                let version = bytes[8]
                let sizes: (Int, Int) = version < 2 ? (Int(bytes[13]), Int(bytes[14])) : (Int(bytes[9]), Int(bytes[10]))
                guard [2, 4, 8].contains(sizes.0), [2, 4, 8].contains(sizes.1) else { return nil }
                (base, addressSize, lengthSize) = (offset, sizes.0, sizes.1)
                return
            }
            offset = offset == 0 ? 512 : offset * 2
        }
        return nil
    }
}

/// The bytes `HeapCheck` reads: a file, through `pread`, or an image in memory.
private struct ByteSource {
    let size: Int
    private let descriptor: Int32
    private let memory: UnsafeRawBufferPointer?

    init(descriptor: Int32, size: Int) { (self.descriptor, self.size, memory) = (descriptor, size, nil) }
    init(memory: UnsafeRawBufferPointer) { (descriptor, size, self.memory) = (-1, memory.count, memory) }

    var isInMemory: Bool { memory != nil }

    /// Calls `body` with up to `count` bytes from `offset`: the image's own bytes in place, or
    /// the file's read into `scratch` (which must hold `count` bytes).
    func withBytes<Result>(
        at offset: Int, count: Int, scratch: inout [UInt8], _ body: (UnsafeRawBufferPointer) -> Result
    ) -> Result {
        if let memory {
            let end = min(size, offset + max(0, count))
            return body(UnsafeRawBufferPointer(rebasing: memory[min(offset, end)..<end]))
        }
        return scratch.withUnsafeMutableBytes { buffer in
            let got = read(into: buffer, count: count, at: offset)
            return body(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
        }
    }

    /// Copies up to `count` bytes from `offset` into `buffer`; returns how many.
    func read(into buffer: UnsafeMutableRawBufferPointer, count: Int, at offset: Int) -> Int {
        let count = min(count, buffer.count, max(0, size - offset))
        guard count > 0, let target = buffer.baseAddress else { return 0 }
        if let memory, let start = memory.baseAddress {
            target.copyMemory(from: start + offset, byteCount: count)
            return count
        }
        return max(0, pread(descriptor, target, count, off_t(offset)))
    }
}

/// The little-endian unsigned integer of `size` bytes at `offset`.
private func readInteger(_ bytes: UnsafeRawBufferPointer, at offset: Int, size: Int) -> UInt64 {
    var value: UInt64 = 0
    for byte in 0..<size { value |= UInt64(bytes[offset + byte]) << (8 * UInt64(byte)) }
    return value
}
