import Foundation
import GraftTestSupport
import GraftSupport
import Testing
@testable import GraftTensors
/// Reading the files NumPy wrote (`Tools/fixtures/make_npy_fixtures.py`) and writing the same
/// bytes back.
@Suite struct NumPyFixtureTests {
    @Test func manifestListsEveryFixture() throws {
        let manifest = try FixtureManifest.load()
        let listed = Set(manifest.arrays.map(\.file) + manifest.errors.map(\.file))
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: fixtureFolder().path)
            .filter { $0.hasSuffix(".npy") })
        #expect(listed == present)
        #expect(manifest.arrays.count >= 19)
        #expect(manifest.errors.count >= 6)
        // Every element type NumPy can describe has a fixture.
        let described = Set(ElementType.allCases.filter { $0.numPyDescriptor != nil }.map(\.rawValue))
        #expect(Set(manifest.arrays.map(\.dtype)) == described)
    }

    @Test(arguments: FixtureManifest.shared.arrays)
    func readsWhatNumPyWrote(_ fixture: FixtureManifest.ArrayFixture) throws {
        let array = try NumPyArray(contentsOf: fixturePath(fixture.file))
        #expect(array.elementType.rawValue == fixture.dtype)
        #expect(array.elementType.numPyDescriptor == fixture.descr)
        #expect(array.shape == fixture.shape)
        #expect(array.elementCount == fixture.values.count)
        #expect(array.bytes.count == fixture.values.count * array.elementType.byteCount)

        let tensor = Tensor(converting: array)
        #expect(tensor.shape == fixture.shape)
        try #require(tensor.scalars.count == fixture.values.count)
        for (index, (actual, text)) in zip(tensor.scalars, fixture.values).enumerated() {
            let expected = try #require(expectedFloat(text, dtype: fixture.dtype), "cannot parse '\(text)'")
            if expected.isNaN {
                #expect(actual.isNaN, "element \(index)")
            } else {
                #expect(actual.bitPattern == expected.bitPattern, "element \(index): \(actual) != \(expected)")
            }
        }

        let viaFile = try Tensor(npyFile: fixturePath(fixture.file))
        #expect(viaFile.shape == tensor.shape)
        #expect(viaFile.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern))
    }

    /// The element bytes of integer fixtures, rebuilt from the decimal values.
    @Test(arguments: FixtureManifest.shared.arrays.filter { $0.dtype.contains("int") || $0.dtype == "bool" })
    func integerBytesMatchTheValues(_ fixture: FixtureManifest.ArrayFixture) throws {
        let array = try NumPyArray(contentsOf: fixturePath(fixture.file))
        var expected: [UInt8] = []
        for text in fixture.values {
            let bits: UInt64 = fixture.dtype.hasPrefix("u") || fixture.dtype == "bool"
                ? try #require(UInt64(text)) : UInt64(bitPattern: try #require(Int64(text)))
            for byte in 0..<array.elementType.byteCount { expected.append(UInt8(truncatingIfNeeded: bits >> (8 * byte))) }
        }
        #expect(array.bytes == expected)
    }

    /// Arrays `np.save` wrote come out of graft's writer byte for byte.
    @Test(arguments: FixtureManifest.shared.arrays.filter { $0.writer == "np.save" })
    func encodesLikeNumPySave(_ fixture: FixtureManifest.ArrayFixture) throws {
        let fileBytes = try readBytes(fixturePath(fixture.file))
        let array = try NumPyArray(decoding: fileBytes, path: fixture.file)
        #expect(array.encoded() == fileBytes)

        let folder = try TemporaryFolder()
        let output = folder.path(fixture.file)
        try array.write(to: output)
        #expect(try readBytes(output) == fileBytes)
        #expect(try folder.contents() == [fixture.file])
    }

    @Test(arguments: FixtureManifest.shared.arrays.filter { $0.writer == "write_array" })
    func readsFormatVersionsTwoAndThree(_ fixture: FixtureManifest.ArrayFixture) throws {
        let fileBytes = try readBytes(fixturePath(fixture.file))
        #expect([Int(fileBytes[6]), Int(fileBytes[7])] == fixture.version)
        #expect(fixture.version != [1, 0])
        let array = try NumPyArray(decoding: fileBytes, path: fixture.file)
        // Rewritten as version 1.0 with the same data.
        let rewritten = array.encoded()
        #expect(rewritten[6] == 1)
        #expect(try NumPyArray(decoding: rewritten, path: "rewritten") == array)
        #expect(rewritten.suffix(array.bytes.count).elementsEqual(fileBytes.suffix(array.bytes.count)))
    }

    /// A tensor built in Swift is written exactly as `np.save` wrote the same values.
    @Test func tensorWritesTheBytesOfNumPySave() throws {
        let tensor = Tensor(shape: [2, 3], scalars: [0.5, 1.0, 1.5, -2.0, 0.25, 1e-3])
        let folder = try TemporaryFolder()
        let output = folder.path("tensor.npy")
        try tensor.writeNumPy(to: output)
        let expected = try readBytes(fixturePath("float32_2x3.npy"))
        #expect(try readBytes(output) == expected)
        #expect(NumPyArray(tensor).encoded() == expected)
        #expect(try Tensor(npyFile: output) == tensor)
    }

    @Test(arguments: FixtureManifest.shared.errors)
    func rejectsWhatGraftCannotUse(_ fixture: FixtureManifest.ErrorFixture) throws {
        let path = fixturePath(fixture.file)
        let error = try #require(throws: NumPyError.self) { try NumPyArray(contentsOf: path) }
        #expect(error.exitStatus == .dataError)
        #expect(error.description.contains("'\(path)'"))
        switch (fixture.error, error) {
        case ("fortranOrder", .fortranOrder(let errorPath)):
            #expect(errorPath == path)
            #expect(error.description.contains("fortran_order is True"))
            #expect(error.description.contains("np.ascontiguousarray"))
        case ("bigEndian", let .bigEndian(errorPath, descriptor)):
            #expect(errorPath == path)
            #expect(descriptor == fixture.descr)
            #expect(error.description.contains("'>f4' is big-endian"))
            #expect(error.description.contains("astype('<f4')"))
        case ("unsupportedElementType", let .unsupportedElementType(errorPath, descriptor)):
            #expect(errorPath == path)
            #expect(descriptor == fixture.descr)
            #expect(error.description.contains(try #require(fixture.descr)))
        case ("truncated", let .truncated(errorPath, elementType, shape, expected, actual)):
            #expect(errorPath == path)
            #expect(elementType == .float32)
            #expect(shape == fixture.shape)
            #expect(expected == fixture.expectedByteCount)
            #expect(actual == fixture.actualByteCount)
            #expect(error.description.contains("20 float32 elements of shape (4, 5) (80 bytes)"))
            #expect(error.description.contains("73 bytes"))
        default:
            Issue.record("expected \(fixture.error), got \(error)")
        }
        #expect(throws: NumPyError.self) { try Tensor(npyFile: path) }
    }

    /// A structured dtype whose description holds a line break (found by fuzzing) is quoted on
    /// one line, escaped.
    @Test func dtypesWithLineBreaksStayOnOneLine() throws {
        let folder = try TemporaryFolder()
        var header = "{'descr': [ \n('x', '<f4'), ('y', '<i4')], 'fortran_order': False, 'shape': (2,), }"
        header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8) + [UInt8](repeating: 0, count: 16)
        let path = folder.url.appendingPathComponent("structured.npy").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: NumPyError.self) { try NumPyArray(contentsOf: path) }
        #expect(!error.description.contains("\n"), "\(error.description)")
        #expect(error.description.contains("[ \\n('x', '<f4'), ('y', '<i4')]"), "\(error.description)")
    }

    @Test func missingFileIsAFileError() throws {
        let path = fixturePath("no-such-file.npy")
        let error = try #require(throws: FileError.self) { try NumPyArray(contentsOf: path) }
        guard case .cannotOpen(let errorPath, _) = error else {
            Issue.record("expected cannotOpen, got \(error)")
            return
        }
        #expect(errorPath == path)
        #expect(error.exitStatus == .noInput)
        #expect(throws: FileError.self) { try Tensor(npyFile: path) }
    }
}

/// The float32 value graft should produce for a manifest value of a NumPy dtype.
func expectedFloat(_ text: String, dtype: String) -> Float? {
    if dtype.hasPrefix("float") { return Double(text).map(Float.init) }
    if dtype.hasPrefix("uint") || dtype == "bool" { return UInt64(text).map(Float.init) }
    return Int64(text).map(Float.init)
}
