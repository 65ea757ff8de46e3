import Foundation
import GraftHDF5
import GraftTestSupport
import Testing

/// Damaged heaps in a file h5py wrote (`h5py_attributes.h5`: three local heaps for its groups'
/// link names, one global heap collection for its variable-length strings), refused by graft
/// before HDF5 1.10 follows them. Each damage is one fuzzing found: HDF5 looped allocating a
/// record per free block, or followed a string reference into memory it does not own.
@Suite("Heap checks")
struct HeapCheckTests {
    /// The fixture's bytes, with `change` applied, written to a temporary file for `body`.
    func withDamagedFixture(_ change: (inout [UInt8]) -> Void, _ body: (String) throws -> Void) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath("h5py_attributes.h5"))))
        change(&bytes)
        try withTemporaryFolder { folder in
            let path = folder + "/damaged.h5"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            try body(path)
        }
    }

    static func offset(of text: String, in bytes: [UInt8]) -> Int {
        let pattern = Array(text.utf8)
        return (0...(bytes.count - pattern.count)).first { Array(bytes[$0..<$0 + pattern.count]) == pattern }!
    }

    static func integer(_ bytes: [UInt8], at offset: Int) -> Int {
        (0..<8).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
    }

    static func store(_ value: Int, size: Int = 8, in bytes: inout [UInt8], at offset: Int) {
        for byte in 0..<size { bytes[offset + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
    }

    @Test func theUndamagedFixtureReadsWhole() throws {
        let file = try HDF5File(opening: fixturePath("h5py_attributes.h5"))
        #expect(try file.attributes.string("keras_version") == "2.15.0")
        #expect(try file.attributes.strings("variable_names") == ["α", "beta", ""])
    }

    /// A free list whose block names itself as the next: HDF5 allocated 1.6 GB of free-block
    /// records from a 28 KB Keras file before the sanitizer stopped it.
    @Test(.timeLimit(.minutes(1)))
    func aLocalHeapFreeListInACycleIsRefused() throws {
        try withDamagedFixture({ bytes in
            let heap = Self.offset(of: "HEAP", in: bytes)
            let (first, data) = (Self.integer(bytes, at: heap + 16), Self.integer(bytes, at: heap + 24))
            Self.store(first, in: &bytes, at: data + first)  // the first free block's "next" is itself
        }) { path in
            #expect {
                _ = try HDF5File(opening: path)
            } throws: { error in
                "\(error)".contains("runs in a cycle") && "\(error)".contains("local heap at byte")
            }
        }
    }

    /// The same checks run on an image in memory (a `.keras` archive's weights), read in place.
    @Test(.timeLimit(.minutes(1)))
    func aDamagedImageInMemoryIsRefusedToo() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath("h5py_attributes.h5"))))
        let heap = Self.offset(of: "HEAP", in: bytes)
        let (first, data) = (Self.integer(bytes, at: heap + 16), Self.integer(bytes, at: heap + 24))
        Self.store(first, in: &bytes, at: data + first)
        let image = HDF5MemoryImage(byteCount: bytes.count)
        image.bytes.copyBytes(from: bytes)
        #expect {
            _ = try HDF5File(image: image, name: "model.weights.h5")
        } throws: { error in
            "\(error)".contains("runs in a cycle") && "\(error)".contains("'model.weights.h5'")
        }
    }

    @Test func aLocalHeapFreeListPastItsSegmentIsRefused() throws {
        try withDamagedFixture({ bytes in
            let heap = Self.offset(of: "HEAP", in: bytes)
            let size = Self.integer(bytes, at: heap + 8)
            Self.store(size - 8, in: &bytes, at: heap + 16)  // a free block whose fields end past the segment
        }) { path in
            #expect {
                _ = try HDF5File(opening: path)
            } throws: { error in
                "\(error)".contains("its free list points to byte")
            }
        }
    }

    /// A data segment loaded with its header and claiming 2^64 - 1 bytes: HDF5 copied -1 bytes.
    @Test func aLocalHeapSegmentLargerThanTheFileIsRefused() throws {
        try withDamagedFixture({ bytes in
            let heap = Self.offset(of: "HEAP", in: bytes)
            Self.store(-1, in: &bytes, at: heap + 8)
        }) { path in
            #expect {
                _ = try HDF5File(opening: path)
            } throws: { error in
                "\(error)".contains("data segment does not fit in the")
            }
        }
    }

    /// `keras_version` is stored as a reference to object 1 of the collection: 6 characters.
    /// Each damaged reference is refused when the attribute is read, naming it.
    @Test(arguments: [
        ("index", "has no such object"),
        ("length", "claims 4000000 characters but its object"),
        ("address", "where there is none"),
    ])
    func aDamagedStringReferenceIsRefused(field: String, message: String) throws {
        try withDamagedFixture({ bytes in
            let collection = Self.offset(of: "GCOL", in: bytes)
            var reference: [UInt8] = [6, 0, 0, 0]
            reference += (0..<8).map { UInt8(truncatingIfNeeded: collection >> (8 * $0)) }
            reference += [1, 0, 0, 0]
            let at = (0...(bytes.count - 16)).first { Array(bytes[$0..<$0 + 16]) == reference }!
            switch field {
            case "index": Self.store(0x7777, size: 4, in: &bytes, at: at + 12)
            case "length": Self.store(4_000_000, size: 4, in: &bytes, at: at)
            default: Self.store(collection + 8, in: &bytes, at: at + 4)
            }
        }) { path in
            let file = try HDF5File(opening: path)
            #expect {
                _ = try file.attributes.string("keras_version")
            } throws: { error in
                "\(error)".contains("attribute 'keras_version'") && "\(error)".contains("string 0: ") && "\(error)".contains(message)
            }
            // The other strings are untouched and still read.
            #expect(try file.attributes.strings("variable_names") == ["α", "beta", ""])
        }
    }
}
