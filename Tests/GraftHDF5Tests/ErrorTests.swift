import Foundation
import GraftSupport
import GraftHDF5
import GraftTestSupport
import Testing
@Suite("Errors and detection")
struct ErrorTests {
    @Test func missingFileIsNoInputAndNamesThePath() {
        let path = "/nonexistent-graft-folder/model.h5"
        let error = hdf5Error { () throws(HDF5Error) in _ = try HDF5File(opening: path) }
        guard case .cannotOpen = error else { Issue.record("expected cannotOpen, got \(String(describing: error))"); return }
        #expect(error?.exitStatus == .noInput)
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("No such file or directory") == true)
    }

    @Test func fileWithoutSignatureIsNotHDF5() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/model.h5"
            try Data("not an HDF5 file at all, just text that is long enough".utf8).write(to: URL(fileURLWithPath: path))
            let error = hdf5Error { () throws(HDF5Error) in _ = try HDF5File(opening: path) }
            guard case .notHDF5 = error else { Issue.record("expected notHDF5, got \(String(describing: error))"); return }
            #expect(error?.exitStatus == .dataError)
            #expect(error?.description.contains(path) == true)
        }
    }

    @Test func missingDatasetIsNamed() throws {
        let path = fixturePath("h5py_datasets.h5")
        let file = try HDF5File(opening: path)
        let object = "/model_weights/conv1/conv1/kernel:0"
        let error = hdf5Error { () throws(HDF5Error) in _ = try file.dataset(object) }
        guard case .notFound = error else { Issue.record("expected notFound, got \(String(describing: error))"); return }
        #expect(error?.exitStatus == .dataError)
        #expect(error?.description.contains("dataset '\(object)'") == true)
        #expect(error?.description.contains(path) == true)

        let attribute = hdf5Error { () throws(HDF5Error) in _ = try file.attributes.string("keras_version") }
        #expect(attribute?.description.contains("attribute 'keras_version' of group '/'") == true)
    }

    @Test func readingStringsAsNumbersIsWrongType() throws {
        let file = try HDF5File(opening: fixturePath("h5py_datasets.h5"))
        let strings = try file.dataset("strings/variable")
        let error = hdf5Error { () throws(HDF5Error) in _ = try strings.read(as: Float.self) }
        guard case let .wrongType(_, object, expected, actual) = error else {
            Issue.record("expected wrongType, got \(String(describing: error))"); return
        }
        #expect(object == "dataset '/strings/variable'")
        #expect(expected == "float32 numbers")
        #expect(actual == "variable-length UTF-8 strings")
        #expect(error?.exitStatus == .dataError)

        let numbers = try file.dataset("numbers/float32")
        let reverse = hdf5Error { () throws(HDF5Error) in _ = try numbers.readStrings() }
        guard case .wrongType = reverse else { Issue.record("expected wrongType, got \(String(describing: reverse))"); return }
        let booleans = hdf5Error { () throws(HDF5Error) in _ = try numbers.read(as: Bool.self) }
        guard case .wrongType = booleans else { Issue.record("expected wrongType, got \(String(describing: booleans))"); return }
    }

    @Test func creationFailuresAreCannotCreate() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/exists.h5"
            _ = try HDF5File(creating: path)
            let exists = hdf5Error { () throws(HDF5Error) in _ = try HDF5File(creating: path, replacingExisting: false) }
            guard case .cannotCreate = exists else { Issue.record("expected cannotCreate, got \(String(describing: exists))"); return }
            #expect(exists?.exitStatus == .cannotCreate)
            #expect(exists?.description.contains("already exists") == true)

            let nowhere = folder + "/missing/folder/new.h5"
            let noFolder = hdf5Error { () throws(HDF5Error) in _ = try HDF5File(creating: nowhere) }
            guard case .cannotCreate = noFolder else { Issue.record("expected cannotCreate, got \(String(describing: noFolder))"); return }
            #expect(noFolder?.description.contains(nowhere) == true)
            #expect(noFolder?.description.contains("No such file or directory") == true)
        }
    }

    @Test func libraryFailuresCarryHDF5sOwnExplanation() throws {
        let file = try HDF5File(opening: fixturePath("h5py_datasets.h5"))
        let error = hdf5Error { () throws(HDF5Error) in
            _ = try file.root.createDataset("new", of: .float32, shape: [2])
        }
        guard case let .library(path, operation, stack) = error else {
            Issue.record("expected library, got \(String(describing: error))"); return
        }
        #expect(path == fixturePath("h5py_datasets.h5"))
        #expect(operation == "creating dataset '/new'")
        #expect(stack.contains("no write intent on file"))
        #expect(error?.exitStatus == .dataError)
    }

    @Test func corruptCompressedChunkIsADataError() throws {
        let dataset = try HDF5File(opening: fixturePath("corrupt_chunk.h5")).dataset("data")
        #expect(try dataset.compression == .gzip(level: 4, shuffle: false))
        let error = hdf5Error { () throws(HDF5Error) in _ = try dataset.read(as: Float.self) }
        guard case let .library(_, operation, stack) = error else {
            Issue.record("expected library, got \(String(describing: error))"); return
        }
        #expect(operation == "reading dataset '/data'")
        #expect(stack.contains("inflate() failed"))
        #expect(error?.exitStatus == .dataError)
        // The undamaged chunks still read.
        #expect(try dataset.read(rows: 16..<20, as: Float.self) == [16, 17, 18, 19])
    }

    @Test func hdf5NeverWritesToStandardError() throws {
        try withTemporaryFolder { folder in
            let capture = folder + "/stderr.txt"
            let file = try HDF5File(opening: fixturePath("h5py_datasets.h5"))
            fflush(nil)
            let saved = dup(2)
            let descriptor = open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            dup2(descriptor, 2)
            _ = try? file.root.createDataset("new", of: .float32, shape: [2])
            _ = try? file.dataset("strings/variable").read(as: Float.self)
            _ = try? file.dataset("numbers/float32").read(rows: 5..<9, as: Float.self)
            fflush(nil)
            dup2(saved, 2)
            close(saved)
            close(descriptor)
            let captured = try String(contentsOfFile: capture, encoding: .utf8)
            #expect(!captured.contains("HDF5-DIAG"), "HDF5 printed: \(captured)")
        }
    }

    @Test func signatureIsFoundAtPowerOfTwoOffsets() throws {
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        #expect(HDF5File.hasSignature(signature + [0, 0]))
        #expect(HDF5File.hasSignature([UInt8](repeating: 0, count: 512) + signature))
        #expect(HDF5File.hasSignature([UInt8](repeating: 7, count: 2048) + signature))
        #expect(!HDF5File.hasSignature([UInt8](repeating: 0, count: 100) + signature))
        #expect(!HDF5File.hasSignature(Array(signature.prefix(7))))
        #expect(!HDF5File.hasSignature([UInt8]()))

        #expect(HDF5File.hasSignature(path: fixturePath("h5py_datasets.h5")))
        #expect(!HDF5File.hasSignature(path: fixturePath("expected.json")))
        #expect(!HDF5File.hasSignature(path: "/nonexistent-graft-file.h5"))
    }
}

/// Fuzzing finding 5: HDF5's error stack text may carry newlines; graft's message is one line.
@Suite struct HDF5ErrorMessagesAreOneLine {
    @Test func stackTextWithNewlinesBecomesOneLine() {
        let stack = "file write failed: time = Sun Dec  6, filename = 'cache.h5', file descriptor = 3, errno = 28,\nerror message = 'No space left on device'\n"
        for error in [HDF5Error.ioFailure(path: "cache.h5", operation: "writing dataset '/ids'", stack: stack),
                      HDF5Error.library(path: "cache.h5", operation: "writing dataset '/ids'", stack: stack)] {
            let message = error.description
            #expect(!message.contains("\n"), "\(message)")
            #expect(message.count < 300)
            #expect(message.contains("No space left on device"))
        }
    }
}
