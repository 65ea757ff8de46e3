import Foundation
import GraftTestSupport
import GraftSupport
import Testing
@Suite struct AtomicOutputFileTests {
    @Test func commitCreatesTheFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("out.bin")
        let file = try AtomicOutputFile(path: path)
        #expect(file.path == path)
        #expect(file.temporaryPath.hasPrefix(folder.path(".out.bin.tmp-")))
        try file.write([1, 2, 3])
        try [UInt8]([4, 5]).withUnsafeBytes { try file.write($0) }
        try file.writeZeros(3)
        try file.writeZeros(0)
        // Nothing under the final name before the commit.
        #expect(try folder.contents().count == 1)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(FileManager.default.fileExists(atPath: file.temporaryPath))
        try file.commit()
        try file.commit()
        #expect(try readBytes(path) == [1, 2, 3, 4, 5, 0, 0, 0])
        #expect(try folder.contents() == ["out.bin"])
    }

    @Test func uncommittedFileLeavesNothing() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("out.bin")
        var temporaryPath = ""
        do {
            let file = try AtomicOutputFile(path: path)
            temporaryPath = file.temporaryPath
            try file.write([UInt8](repeating: 7, count: 10_000))
            #expect(FileManager.default.fileExists(atPath: temporaryPath))
        }
        #expect(!temporaryPath.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: temporaryPath))
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try folder.contents() == [])
    }

    @Test func uncommittedFileKeepsTheOldFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("out.bin")
        try writeBytes([9, 9], to: path)
        do {
            let file = try AtomicOutputFile(path: path)
            try file.write([1, 2, 3])
        }
        #expect(try readBytes(path) == [9, 9])
        #expect(try folder.contents() == ["out.bin"])
    }

    @Test func commitReplacesAnExistingFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("out.bin")
        try writeBytes([UInt8](repeating: 1, count: 4_096), to: path)
        let file = try AtomicOutputFile(path: path)
        try file.write([42])
        #expect(try readBytes(path).count == 4_096)
        try file.commit()
        #expect(try readBytes(path) == [42])
        #expect(try folder.contents() == ["out.bin"])
    }

    @Test func writeFileAtomicallyWritesAndReplaces() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("data")
        try writeFileAtomically(Array("first".utf8), to: path)
        try writeFileAtomically(Array("second".utf8), to: path)
        try writeFileAtomically([], to: folder.path("empty"))
        #expect(try readBytes(path) == Array("second".utf8))
        #expect(try readBytes(folder.path("empty")) == [])
        #expect(try folder.contents() == ["data", "empty"])
    }

    @Test func cannotCreateInAMissingFolder() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("no-such-folder/out.bin")
        let error = try #require(throws: FileError.self) { try AtomicOutputFile(path: path) }
        guard case let .cannotCreate(errorPath, reason) = error else {
            Issue.record("expected cannotCreate, got \(error)")
            return
        }
        #expect(errorPath == path)
        #expect(reason == "No such file or directory")
        #expect(error.exitStatus == .cannotCreate)
        #expect(error.description == "cannot create '\(path)': No such file or directory")
        #expect(throws: FileError.self) { try writeFileAtomically([1], to: path) }
        #expect(try folder.contents() == [])
    }
}

@Suite struct MappedFileTests {
    @Test func mapsTheBytes() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("data.bin")
        let bytes = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try writeBytes(bytes, to: path)
        let file = try MappedFile(path: path)
        #expect(file.path == path)
        #expect(Array(file.bytes) == bytes)
    }

    @Test func emptyFileMapsToAnEmptyBuffer() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("empty.bin")
        try writeBytes([], to: path)
        let file = try MappedFile(path: path)
        #expect(file.bytes.count == 0)
        #expect(file.bytes.isEmpty)
        #expect(Array(file.bytes) == [])
    }

    @Test func missingFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("missing.bin")
        let error = try #require(throws: FileError.self) { try MappedFile(path: path) }
        #expect(error == .cannotOpen(path: path, reason: "No such file or directory"))
        #expect(error.exitStatus == .noInput)
        #expect(error.description == "cannot open '\(path)': No such file or directory")
    }

    @Test func folderIsNotARegularFile() throws {
        let folder = try TemporaryFolder()
        let error = try #require(throws: FileError.self) { try MappedFile(path: folder.url.path) }
        #expect(error == .cannotOpen(path: folder.url.path, reason: "not a regular file"))
    }
}

@Suite struct GraftErrorTests {
    @Test func exitStatusesAreSysexits() {
        #expect(GraftSupport.ExitStatus.allCases.map(\.rawValue) == [0, 64, 65, 66, 73, 74, 130, 143])
    }

    @Test func fileErrors() {
        let cases: [(FileError, GraftSupport.ExitStatus, String)] = [
            (.cannotOpen(path: "a", reason: "r"), .noInput, "cannot open 'a': r"),
            (.readFailed(path: "b", reason: "r"), .ioError, "cannot read 'b': r"),
            (.cannotCreate(path: "c", reason: "r"), .cannotCreate, "cannot create 'c': r"),
            (.writeFailed(path: "d", reason: "r"), .ioError, "cannot write 'd': r"),
        ]
        for (error, status, description) in cases {
            #expect(error.exitStatus == status)
            #expect(error.description == description)
            let asGraftError: any GraftError = error
            #expect(asGraftError.exitStatus == status)
        }
    }
}
