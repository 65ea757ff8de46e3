import GraftNumerics
import GraftSupport
import Testing
@testable import GraftTensors
/// A `.npy` file assembled by hand: `header` padded to `alignment` and followed by `data`.
func npyFile(header: String, data: [UInt8], major: UInt8 = 1, alignment: Int = 64, newline: Bool = true) -> [UInt8] {
    let body = Array(header.utf8)
    let lengthSize = major == 1 ? 2 : 4
    var length = body.count + (newline ? 1 : 0)
    length += (alignment - (8 + lengthSize + length) % alignment) % alignment
    var file = [0x93] + Array("NUMPY".utf8) + [major, 0]
    for offset in 0..<lengthSize { file.append(UInt8(truncatingIfNeeded: length >> (8 * offset))) }
    file += body
    file += [UInt8](repeating: 0x20, count: length - body.count - (newline ? 1 : 0))
    if newline { file.append(0x0a) }
    return file + data
}

/// Little-endian float32 bytes.
func float32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init) }
}

/// Header dictionaries written differently from `np.save`, by older NumPy or other writers.
@Suite struct NumPyHeaderTests {
    struct Variant: Sendable, CustomTestStringConvertible {
        var header: String
        var shape: [Int]
        var testDescription: String { header }
    }

    static let variants: [Variant] = [
        Variant(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", shape: [2, 3]),
        Variant(header: "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", shape: [2, 3]),
        Variant(header: "{'fortran_order':False,'descr':'<f4','shape':(6,)}", shape: [6]),
        Variant(header: "  {  \"descr\" : \"<f4\" ,\n 'fortran_order' : False , 'shape' : ( 3 , 2 , ) , }  ", shape: [3, 2]),
        Variant(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", shape: [2, 3]),
        Variant(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 6, 1), }", shape: [1, 6, 1]),
        Variant(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", shape: [6]),
        // Fortran order is the same layout when at most one dimension exceeds 1.
        Variant(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (6,), }", shape: [6]),
        Variant(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 6), }", shape: [1, 6]),
    ]

    static let values: [Float] = [1, 2, 3, 4, 5, 6]

    @Test(arguments: variants)
    func readsHeaderVariants(_ variant: Variant) throws {
        let array = try NumPyArray(decoding: npyFile(header: variant.header, data: float32Bytes(Self.values)), path: "v.npy")
        #expect(array.shape == variant.shape)
        #expect(Tensor(converting: array).scalars == Self.values)
    }

    @Test(arguments: [16, 64, 1], [UInt8(1), 2, 3])
    func acceptsAnyAlignmentAndVersion(alignment: Int, major: UInt8) throws {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        let file = npyFile(header: header, data: float32Bytes(Self.values), major: major, alignment: alignment)
        let array = try NumPyArray(decoding: file, path: "a.npy")
        #expect(Tensor(converting: array) == Tensor(shape: [2, 3], scalars: Self.values))
    }

    @Test func acceptsAHeaderWithoutNewline() throws {
        let file = npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data: float32Bytes([7]), newline: false)
        #expect(Tensor(converting: try NumPyArray(decoding: file, path: "s.npy")) == Tensor(shape: [], scalars: [7]))
    }

    @Test func acceptsOneByteDescriptorsWithAnyByteOrder() throws {
        for descriptor in ["|u1", "<u1", ">u1"] {
            let file = npyFile(header: "{'descr': '\(descriptor)', 'fortran_order': False, 'shape': (3,), }", data: [0, 7, 255])
            let array = try NumPyArray(decoding: file, path: "u.npy")
            #expect(array.elementType == .uint8)
            #expect(Tensor(converting: array).scalars == [0, 7, 255])
        }
    }

    @Test func version3HeaderIsUTF8() throws {
        // A structured dtype with a non-ASCII field name: named in the error, intact.
        let header = "{'descr': [('größe', '<f4')], 'fortran_order': False, 'shape': (1,), }"
        let error = try #require(throws: NumPyError.self) {
            try NumPyArray(decoding: npyFile(header: header, data: [0, 0, 0, 0], major: 3), path: "u.npy")
        }
        #expect(error == .unsupportedElementType(path: "u.npy", descriptor: "[('größe', '<f4')]"))

        var invalid = npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0], major: 3)
        invalid[invalid.count - 10] = 0xff
        let invalidError = try #require(throws: NumPyError.self) { try NumPyArray(decoding: invalid, path: "u.npy") }
        #expect(invalidError == .malformedHeader(path: "u.npy", reason: "the header of a version 3.0 file is not valid UTF-8"))
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var header: String
        var reason: String
        var testDescription: String { header }
    }

    static let malformed: [Malformed] = [
        Malformed(header: "", reason: "the header does not start with '{', but the header ends"),
        Malformed(header: "descr", reason: "the header does not start with '{' at offset 0 of the header, found 'd'"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': False}", reason: "missing key 'shape'"),
        Malformed(header: "{'descr': '<f4', 'shape': (2,)}", reason: "missing key 'fortran_order'"),
        Malformed(header: "{'fortran_order': False, 'shape': (2,)}", reason: "missing key 'descr'"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", reason: "expected a value at offset 65 of the header, found '1'"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 'x'}", reason: "unexpected key 'extra'; expected 'descr', 'fortran_order' and 'shape'"),
        Malformed(header: "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", reason: "key 'descr' appears twice"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", reason: "a dimension of 'shape' is negative at offset 54 of the header, found '-'"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", reason: "'shape' is not a tuple of integers"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}", reason: "expected ',' or ')' in 'shape' at offset 52 of the header, found '.'"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2x,)}", reason: "expected a non-negative integer in 'shape' at offset 52 of the header, found 'x'"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", reason: "a dimension of 'shape' does not fit in 64 bits at offset 69 of the header, found '9'"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", reason: "expected a value at offset 34 of the header, found '0'"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': 'False', 'shape': (2,)}", reason: "'fortran_order' is not True or False"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': Falsely, 'shape': (2,)}", reason: "expected a value at offset 34 of the header, found 'F'"),
        Malformed(header: "{'descr': (4,), 'fortran_order': False, 'shape': (2,)}", reason: "'descr' is not a string"),
        Malformed(header: "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", reason: "expected ',' or '}' after the value of 'descr' at offset 17 of the header, found 'f'"),
        Malformed(header: "{'descr': '<f4", reason: "unterminated string at offset 53 of the header, found byte 0x0a"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", reason: "expected ',' or '}' after the value of 'shape', but the header ends"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", reason: "unexpected text after the closing '}' at offset 56 of the header, found 'x'"),
        Malformed(header: "{'descr': [('a', '<f4'), 'fortran_order': False, 'shape': (2,)}", reason: "unbalanced brackets in a value at offset 62 of the header, found '}'"),
        Malformed(header: "{descr: '<f4'}", reason: "expected a quoted key or '}' at offset 1 of the header, found 'd'"),
        Malformed(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4)}", reason: "the shape (4611686018427387904, 4) has more elements than fit in 64 bits"),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedHeaders(_ example: Malformed) throws {
        let file = npyFile(header: example.header, data: [])
        let error = try #require(throws: NumPyError.self) { try NumPyArray(decoding: file, path: "m.npy") }
        #expect(error == .malformedHeader(path: "m.npy", reason: example.reason))
        #expect(error.description == "'m.npy': malformed .npy header: \(example.reason)")
        #expect(error.exitStatus == .dataError)
    }

    @Test func rejectsBadMagic() throws {
        for bytes: [UInt8] in [[], [0x93], Array("NUMPY\u{1}\u{0}".utf8), [0x89] + Array("PNG\r\n\u{1a}\n".utf8) + [UInt8](repeating: 0, count: 64),
                               [0x93] + Array("NUMPZ".utf8) + [1, 0, 0, 0]] {
            let error = try #require(throws: NumPyError.self) { try NumPyArray(decoding: bytes, path: "x.bin") }
            #expect(error == .notNumPyFile(path: "x.bin"))
            #expect(error.description == "'x.bin' is not a NumPy .npy file: it does not start with \\x93NUMPY")
        }
    }

    @Test func rejectsOtherVersions() throws {
        for (major, minor) in [(UInt8(0), UInt8(0)), (1, 1), (2, 1), (4, 0), (255, 255)] {
            var file = npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data: float32Bytes([1]))
            file[6] = major
            file[7] = minor
            let error = try #require(throws: NumPyError.self) { try NumPyArray(decoding: file, path: "v.npy") }
            #expect(error == .unsupportedVersion(path: "v.npy", major: major, minor: minor))
            #expect(error.description.contains("version \(major).\(minor)"))
        }
    }

    @Test func rejectsFilesCutInsideTheHeader() throws {
        let file = npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data: float32Bytes([1]))
        let expectations: [(Int, String)] = [
            (7, "the file ends inside the format version"),
            (9, "the file ends inside the header length"),
            (10, "the header is 118 bytes long, but the file has only 0 bytes after the header length"),
            (100, "the header is 118 bytes long, but the file has only 90 bytes after the header length"),
        ]
        for (length, reason) in expectations {
            let error = try #require(throws: NumPyError.self) { try NumPyArray(decoding: Array(file.prefix(length)), path: "c.npy") }
            #expect(error == .malformedHeader(path: "c.npy", reason: reason))
        }
        // A version 2.0 length of nearly 4 GiB in a small file.
        var huge = npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data: float32Bytes([1]), major: 2)
        huge[8...11] = [0xff, 0xff, 0xff, 0xff]
        let error = try #require(throws: NumPyError.self) { try NumPyArray(decoding: huge, path: "h.npy") }
        #expect(error == .malformedHeader(path: "h.npy", reason: "the header is 4294967295 bytes long, but the file has only 120 bytes after the header length"))
    }

    @Test func rejectsDataShorterThanTheShape() throws {
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
        let error = try #require(throws: NumPyError.self) {
            try NumPyArray(decoding: npyFile(header: header, data: [UInt8](repeating: 0, count: 47)), path: "t.npy")
        }
        #expect(error == .truncated(path: "t.npy", elementType: .float64, shape: [2, 3], expectedByteCount: 48, actualByteCount: 47))
        #expect(error.description == "'t.npy': truncated data: the header describes 6 float64 elements of shape (2, 3) (48 bytes), but the file has 47 bytes after the header")
    }

    /// A shape of 2^40 × 2^20 float64 elements in a tiny file: no allocation, no crash.
    @Test func rejectsHugeShapesBeforeAllocating() throws {
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1048576), }"
        let error = try #require(throws: NumPyError.self) {
            try NumPyArray(decoding: npyFile(header: header, data: [1, 2, 3]), path: "big.npy")
        }
        #expect(error == .truncated(path: "big.npy", elementType: .float64, shape: [1_099_511_627_776, 1_048_576],
                                    expectedByteCount: Int.max, actualByteCount: 3))
    }

    @Test func rejectsBytesAfterTheData() throws {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
        let error = try #require(throws: NumPyError.self) {
            try NumPyArray(decoding: npyFile(header: header, data: float32Bytes([1, 2, 3])), path: "x.npy")
        }
        #expect(error == .trailingBytes(path: "x.npy", shape: [2], extraByteCount: 4))
        #expect(error.description.contains("4 unexpected bytes"))
    }

    @Test func zeroSizedShapesNeedNoData() throws {
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 0, 4611686018427387904), }"
        let array = try NumPyArray(decoding: npyFile(header: header, data: []), path: "z.npy")
        #expect(array.elementCount == 0)
        #expect(array.shape == [4_611_686_018_427_387_904, 0, 4_611_686_018_427_387_904])
    }

    @Test func namesUnsupportedAndBigEndianDescriptors() throws {
        let cases: [(String, NumPyError)] = [
            ("'>f8'", .bigEndian(path: "d.npy", descriptor: ">f8")),
            ("'>i4'", .bigEndian(path: "d.npy", descriptor: ">i4")),
            ("'<c16'", .unsupportedElementType(path: "d.npy", descriptor: "<c16")),
            ("'|O'", .unsupportedElementType(path: "d.npy", descriptor: "|O")),
            ("'|f4'", .unsupportedElementType(path: "d.npy", descriptor: "|f4")),
            ("'=f4'", .unsupportedElementType(path: "d.npy", descriptor: "=f4")),
            ("'<M8[ns]'", .unsupportedElementType(path: "d.npy", descriptor: "<M8[ns]")),
            ("'>c8'", .unsupportedElementType(path: "d.npy", descriptor: ">c8")),
        ]
        for (descriptor, expected) in cases {
            let header = "{'descr': \(descriptor), 'fortran_order': False, 'shape': (1,), }"
            let error = try #require(throws: NumPyError.self) {
                try NumPyArray(decoding: npyFile(header: header, data: [UInt8](repeating: 0, count: 16)), path: "d.npy")
            }
            #expect(error == expected)
        }
        #expect(NumPyError.unsupportedElementType(path: "d.npy", descriptor: "<c8").description
            == "'d.npy': unsupported dtype '<c8'; graft reads float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64 and bool arrays")
        #expect(NumPyError.bigEndian(path: "d.npy", descriptor: ">f8").description
            == "'d.npy': dtype '>f8' is big-endian: graft reads little-endian arrays only; save with array.astype('<f8')")
    }

    /// Random damage to a valid file either decodes or throws a `NumPyError`; it never crashes.
    @Test func survivesDamagedFiles() throws {
        let valid = npyFile(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data: float32Bytes(Self.values))
        var generator = SplitMix64(seed: 0x6772_6166_74)
        var decoded = 0, rejected = 0
        for _ in 0..<4000 {
            var file = valid
            switch generator.next() % 4 {
            case 0:
                for _ in 0...(generator.next() % 4) {
                    file[Int(generator.next() % UInt64(file.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            case 1:
                file = Array(file.prefix(Int(generator.next() % UInt64(file.count))))
            case 2:
                let position = 10 + Int(generator.next() % 60)
                let alphabet = Array("{}()[]'\",:-0123456789LTF \n".utf8)
                file[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
            default:
                file = (0..<Int(generator.next() % 200)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                if generator.next() % 2 == 0, file.count >= 8 { file.replaceSubrange(0..<8, with: valid[0..<8]) }
            }
            do {
                let array = try NumPyArray(decoding: file, path: "f.npy")
                #expect(array.bytes.count == array.elementCount * array.elementType.byteCount)
                _ = Tensor(converting: array)
                decoded += 1
            } catch {
                #expect(error.exitStatus == .dataError)
                rejected += 1
            }
        }
        #expect(decoded > 0)
        #expect(rejected > 0)
    }
}
