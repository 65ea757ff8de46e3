import GraftTestSupport
import GraftSupport
import Testing
@testable import GraftTensors
@Suite struct NumPyWriteTests {
    /// Element bytes for every type NumPy can describe survive a write and a read.
    @Test(arguments: ElementType.allCases.filter { $0.numPyDescriptor != nil })
    func roundTrip(_ type: ElementType) throws {
        let shape = [3, 1, 2]
        let bytes = (0..<(6 * type.byteCount)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let array = NumPyArray(elementType: type, shape: shape, bytes: type == .bool ? bytes.map { $0 & 1 } : bytes)
        let folder = try TemporaryFolder()
        try array.write(to: folder.path("a.npy"))
        #expect(try NumPyArray(contentsOf: folder.path("a.npy")) == array)
        #expect(try folder.contents() == ["a.npy"])
    }

    @Test func tensorRoundTripKeepsEveryBit() throws {
        let values: [Float] = [0, -0.0, 1, -1, .pi, .infinity, -.infinity, .leastNonzeroMagnitude,
                               .greatestFiniteMagnitude, Float(bitPattern: 0x7fc0_1234), 1e-20, 3]
        let tensor = Tensor(shape: [3, 4], scalars: values)
        let folder = try TemporaryFolder()
        let path = folder.path("t.npy")
        try tensor.writeNumPy(to: path)
        let back = try Tensor(npyFile: path)
        #expect(back.shape == [3, 4])
        #expect(back.scalars.map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test func overwritesAnExistingFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("t.npy")
        try Tensor(shape: [100], repeating: 1).writeNumPy(to: path)
        try Tensor(shape: [], scalars: [2]).writeNumPy(to: path)
        #expect(try Tensor(npyFile: path) == Tensor(shape: [], scalars: [2]))
        #expect(try folder.contents() == ["t.npy"])
    }

    @Test func headersAreAlignedTo64Bytes() throws {
        for shape in [[], [0], [7], [1, 2, 3, 4, 5, 6, 7, 8], [123_456_789_012, 0], Array(repeating: 1, count: 64)] {
            let array = NumPyArray(elementType: .uint8, shape: shape, bytes: [UInt8](repeating: 0, count: Tensor.elementCount(of: shape)!))
            let header = array.encodedHeader()
            #expect(header.count % 64 == 0, "\(shape)")
            #expect(header.last == 0x0a)
            #expect(Array(header[6..<8]) == [1, 0])
            #expect(Int(header[8]) | Int(header[9]) << 8 == header.count - 10)
            #expect(try NumPyArray(decoding: array.encoded(), path: "h.npy") == array)
        }
    }

    /// A header over 64 KiB does not fit version 1.0's 16-bit length; version 2.0 is used.
    @Test func longHeadersUseVersion2() throws {
        let shape = [Int](repeating: 1, count: 22_000)
        let array = NumPyArray(elementType: .float32, shape: shape, bytes: float32Bytes([42]))
        let folder = try TemporaryFolder()
        let path = folder.path("long.npy")
        try array.write(to: path)
        let file = try readBytes(path)
        #expect(Array(file[6..<8]) == [2, 0])
        let length = Int(file[8]) | Int(file[9]) << 8 | Int(file[10]) << 16 | Int(file[11]) << 24
        #expect(length > 65_535)
        #expect((12 + length) % 64 == 0)
        #expect(file.count == 12 + length + 4)
        #expect(try NumPyArray(contentsOf: path) == array)
    }

    @Test func cannotCreateInAMissingFolder() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("missing/t.npy")
        let error = try #require(throws: FileError.self) { try Tensor(shape: [1], repeating: 0).writeNumPy(to: path) }
        #expect(error.exitStatus == .cannotCreate)
        #expect(error.description.contains("'\(path)'"))
    }

    @Test func halfPrecisionConversion() {
        let cases: [(UInt16, Float)] = [
            (0x0000, 0), (0x3c00, 1), (0xc000, -2), (0x3555, 0.333251953125), (0x7bff, 65504),
            (0x0400, 0x1p-14), (0x0001, 0x1p-24), (0x03ff, 0x1.ff8p-15), (0x7c00, .infinity), (0xfc00, -.infinity),
        ]
        for (bits, expected) in cases {
            #expect(floatFromHalf(bits) == expected, "0x\(String(bits, radix: 16))")
        }
        #expect(floatFromHalf(0x8000).bitPattern == (-Float(0)).bitPattern)
        #expect(floatFromHalf(0x7e00).isNaN)
        #expect(floatFromHalf(0xfe01).isNaN)
    }

    @Test func conversionOfOtherTypes() {
        let bfloat = NumPyArrayFreeConversion.convert(.bfloat16, [0x80, 0x3f, 0x00, 0xc0])
        #expect(bfloat == [1, -2])
        #expect(NumPyArrayFreeConversion.convert(.bool, [0, 1, 2, 255]) == [0, 1, 1, 1])
        #expect(NumPyArrayFreeConversion.convert(.int64, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) == [-1])
        #expect(NumPyArrayFreeConversion.convert(.uint64, [UInt8](repeating: 0xff, count: 8)) == [0x1p64])  // 2^64 − 1 rounds up
        #expect(NumPyArrayFreeConversion.convert(.int32, [1, 0, 0, 1]) == [16_777_216])  // 2^24 + 1 rounds to even
    }
}

/// Converts raw bytes with `ElementType.loadFloat` (bfloat16 cannot be in a `NumPyArray`).
enum NumPyArrayFreeConversion {
    static func convert(_ type: ElementType, _ bytes: [UInt8]) -> [Float] {
        bytes.withUnsafeBytes { buffer in
            (0..<(bytes.count / type.byteCount)).map { type.loadFloat(from: buffer, at: $0) }
        }
    }
}
