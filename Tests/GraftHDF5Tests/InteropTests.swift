import Foundation
import GraftHDF5
import GraftTestSupport
import Testing
/// Files written by h5py, read by graft, compared with what h5py itself read back.
@Suite("Reading h5py files")
struct H5pyFixtureTests {
    let expected: ExpectedFixtures

    init() throws {
        expected = try ExpectedFixtures.load()
    }

    @Test func everyDatasetMatchesWhatH5pyStored() throws {
        let description = try #require(expected.files["h5py_datasets.h5"])
        #expect(description.datasets.count == 13)
        let file = try HDF5File(opening: fixturePath("h5py_datasets.h5"))
        for (path, want) in description.datasets.sorted(by: { $0.key < $1.key }) {
            let dataset = try file.dataset(path)
            #expect(try dataset.shape == want.shape, "\(path)")
            #expect(try dataset.maximumShape == want.maxshape, "\(path)")
            #expect(try dataset.chunkShape == want.chunks, "\(path)")
            let compression: HDF5Compression = want.compression == "gzip"
                ? .gzip(level: want.compressionOpts ?? -1, shuffle: want.shuffle) : .none
            #expect(try dataset.compression == compression, "\(path)")
            let stored = try dataset.storedType
            #expect(stored.elementType?.rawValue == want.dtype, "\(path)")

            switch want.dtype {
            case "float32":
                let values = try dataset.read(as: Float.self)
                #expect(values.count == want.values.count && zip(values, want.values).allSatisfy(sameFloat), "\(path): \(values)")
            case "float64":
                let values = try dataset.read(as: Double.self)
                #expect(values.count == want.values.count && zip(values, want.values).allSatisfy(sameFloat), "\(path): \(values)")
            case "int8": #expect(try dataset.read(as: Int8.self).map(String.init) == want.values, "\(path)")
            case "int16": #expect(try dataset.read(as: Int16.self).map(String.init) == want.values, "\(path)")
            case "int32": #expect(try dataset.read(as: Int32.self).map(String.init) == want.values, "\(path)")
            case "int64": #expect(try dataset.read(as: Int64.self).map(String.init) == want.values, "\(path)")
            case "uint8": #expect(try dataset.read(as: UInt8.self).map(String.init) == want.values, "\(path)")
            case "bool": #expect(try dataset.read(as: Bool.self).map(String.init) == want.values, "\(path)")
            case "string":
                #expect(try dataset.readStrings() == want.values, "\(path)")
                #expect(stored.isVariableLength == (want.stringLength == "variable"), "\(path)")
            default:
                Issue.record("\(path): no check for dtype \(want.dtype)")
            }
        }
    }

    @Test func rowsOfAChunkedGzipDatasetMatch() throws {
        let want = try #require(expected.files["h5py_datasets.h5"]?.datasets["/chunked/gzip"])
        let dataset = try HDF5File(opening: fixturePath("h5py_datasets.h5")).dataset("/chunked/gzip")
        let rows = try dataset.read(rows: 7..<19, as: Float.self)
        #expect(rows.count == 48 && zip(rows, want.values[28..<76]).allSatisfy(sameFloat))
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: 200)
        defer { buffer.deallocate() }
        try dataset.read(into: buffer)
        #expect(zip(buffer, want.values).allSatisfy(sameFloat))
    }

    @Test func groupsListTheirMembersInH5pysOrder() throws {
        let description = try #require(expected.files["h5py_datasets.h5"])
        let file = try HDF5File(opening: fixturePath("h5py_datasets.h5"))
        #expect(description.groups["/ordered"]?.members == ["zeta", "alpha", "mid"])
        for (path, want) in description.groups {
            let group = try file.group(path)
            #expect(try group.memberNames(order: want.creationOrderTracked ? .creation : .name) == want.members, "\(path)")
            for member in want.members {
                let kind = try group.kind(ofMember: member)
                let isDataset = description.datasets[(path == "/" ? "" : path) + "/" + member] != nil
                #expect(kind == (isDataset ? .dataset : .group), "\(path)/\(member)")
            }
        }
    }

    @Test func everyAttributeMatchesWhatH5pyStored() throws {
        let description = try #require(expected.files["h5py_attributes.h5"])
        #expect(description.attributes["/"]?.count == 11)
        let file = try HDF5File(opening: fixturePath("h5py_attributes.h5"))
        for (objectPath, attributes) in description.attributes {
            let owner = try file.root.kind(ofMember: objectPath) == .dataset
                ? try file.dataset(objectPath).attributes : try file.group(objectPath).attributes
            #expect(Set(try owner.names()) == Set(attributes.keys), "\(objectPath)")
            for (name, want) in attributes {
                let label = "\(objectPath) \(name)"
                #expect(try owner.shape(of: name) == want.shape, "\(label)")
                let stored = try owner.storedType(of: name)
                switch want.kind {
                case "fixed-length string", "variable-length string":
                    #expect(stored.kind == .string, "\(label)")
                    #expect(stored.isVariableLength == (want.kind == "variable-length string"), "\(label)")
                    #expect(try owner.strings(name) == want.values, "\(label)")
                    if want.shape.isEmpty { #expect(try owner.string(name) == want.values[0], "\(label)") }
                case "float32":
                    #expect(zip(try owner.values(name, as: Float.self), want.values).allSatisfy(sameFloat), "\(label)")
                case "float64":
                    #expect(zip(try owner.values(name, as: Double.self), want.values).allSatisfy(sameFloat), "\(label)")
                    #expect(try owner.values(name, as: Double.self).count == want.values.count, "\(label)")
                case "int32", "int64", "uint8":
                    #expect(try owner.values(name, as: Int64.self).map(String.init) == want.values, "\(label)")
                case "bool":
                    #expect(try owner.values(name, as: Bool.self).map(String.init) == want.values, "\(label)")
                default:
                    Issue.record("\(label): no check for kind \(want.kind)")
                }
            }
        }
    }

    @Test func splitStringListsMatchKerasLoader() throws {
        let description = try #require(expected.files["h5py_attributes.h5"])
        #expect(description.stringLists["/model_weights"]?["layer_names"]?.count == 5)
        let file = try HDF5File(opening: fixturePath("h5py_attributes.h5"))
        for (path, lists) in description.stringLists {
            for (name, want) in lists {
                #expect(try file.group(path).attributes.stringList(name) == want, "\(path) \(name)")
            }
        }
    }
}

/// Files written by graft, read by Debian's HDF5 1.10 tools and by h5py.
@Suite("Files graft writes")
struct WrittenFileTests {
    /// Writes a file with one of everything and returns its path.
    static func writeSample(in folder: String) throws -> String {
        let path = folder + "/written by graft.h5"
        let file = try HDF5File(creating: path)
        try file.attributes.write("tensorflow", to: "backend", storage: .fixedLength)
        try file.attributes.write("2.15.0", to: "keras_version")
        try file.attributes.write(["dense", "dense_1"], to: "layer_names", storage: .fixedLength)
        try file.attributes.write(["α", "beta"], to: "variable_names")
        try file.attributes.write([Int64(3), -4], to: "dims")
        let weights = try file.group("model_weights/dense", creatingIfNeeded: true)
        try weights.createDataset("kernel:0", shape: [2, 3], values: [Float(1.5), -2.25, 3, 4, 5, 6.125])
        try weights.createDataset("bias:0", shape: [2], values: [0.1, -0.2])
        try file.root.createDataset("int8", shape: [3], values: [Int8.min, 0, .max])
        try file.root.createDataset("int16", shape: [3], values: [Int16.min, 0, .max])
        try file.root.createDataset("int32", shape: [3], values: [Int32.min, 0, .max])
        try file.root.createDataset("int64", shape: [3], values: [Int64.min, 0, .max])
        try file.root.createDataset("uint8", shape: [2], values: [UInt8(0), 255])
        try file.root.createDataset("flags", shape: [3], values: [true, false, true])
        try file.root.createDataset("ids", shape: [3], strings: ["héllo", "", "world"])
        let features = try file.root.createDataset(
            "features", of: .float32, shape: [0, 2], layout: .chunked(rowsPerChunk: 2, compression: .gzip(level: 6)))
        try features.appendRows([Float(1), 2, 3, 4])
        try features.appendRows([Float(5), 6])
        return path
    }

    @Test(.enabled(if: executablePath("h5dump") != nil && executablePath("h5ls") != nil,
                   "h5dump and h5ls are not installed (apt install hdf5-tools)"))
    func h5dumpReadsWhatGraftWrote() throws {
        try withTemporaryFolder { folder in
            let path = try Self.writeSample(in: folder)
            let result = try runProgram(try #require(executablePath("h5dump")), ["-p", path])
            #expect(result.status == 0, "h5dump failed: \(result.error)")
            let dump = result.output
            for expected in [
                "DATASET \"kernel:0\"", "H5T_IEEE_F32LE", "1.5, -2.25, 3,", "4, 5, 6.125",
                "-9223372036854775808, 0, 9223372036854775807",
                "-2147483648, 0, 2147483647", "-32768, 0, 32767", "-128, 0, 127", "0, 255",
                "TRUE, FALSE, TRUE", "\"FALSE\"", "H5T_STD_I8LE",
                "\"\", \"world\"", "STRSIZE H5T_VARIABLE", "CSET H5T_CSET_UTF8",
                "\"tensorflow\"", "STRSIZE 10", "\"dense\\000\\000\", \"dense_1\"", "\"2.15.0\"", "3, -4",
                "DATASET \"features\"", "( 3, 2 ) / ( H5S_UNLIMITED, 2 )", "CHUNKED ( 2, 2 )", "SHUFFLE", "COMPRESSION DEFLATE { LEVEL 6 }",
            ] {
                #expect(dump.contains(expected), "h5dump output lacks \(expected)")
            }
            let listing = try runProgram(try #require(executablePath("h5ls")), ["-r", path])
            #expect(listing.output.contains("/model_weights/dense/bias:0 Dataset {2}"), "\(listing.output)")
        }
    }

    @Test(.enabled(if: venvPython != nil, "the Python virtual environment with h5py (.venv) is missing"))
    func h5pyReadsWhatGraftWrote() throws {
        try withTemporaryFolder { folder in
            let path = try Self.writeSample(in: folder)
            let script = """
                import json, sys, h5py
                f = h5py.File(sys.argv[1], "r")
                text = lambda v: v.decode() if isinstance(v, bytes) else v
                print(json.dumps({
                    "kernel": f["model_weights/dense/kernel:0"][()].tolist(),
                    "kernel_dtype": str(f["model_weights/dense/kernel:0"].dtype),
                    "bias": f["model_weights/dense/bias:0"][()].tolist(),
                    "int64": f["int64"][()].tolist(),
                    "int16": f["int16"][()].tolist(),
                    "flags": f["flags"][()].tolist(),
                    "flags_dtype": str(f["flags"].dtype),
                    "ids": [text(s) for s in f["ids"][()]],
                    "features": f["features"][()].tolist(),
                    "features_maxshape": list(f["features"].maxshape),
                    "backend": text(f.attrs["backend"]),
                    "keras_version": text(f.attrs["keras_version"]),
                    "layer_names": [text(s) for s in f.attrs["layer_names"]],
                    "variable_names": [text(s) for s in f.attrs["variable_names"]],
                    "dims": f.attrs["dims"].tolist(),
                    "members": list(f.keys()),
                }, ensure_ascii=False))
                """
            let result = try runProgram(venvPython!, ["-c", script, path])
            #expect(result.status == 0, "python failed: \(result.error)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
            #expect(json["kernel"] as? [[Double]] == [[1.5, -2.25, 3], [4, 5, 6.125]])
            #expect(json["kernel_dtype"] as? String == "float32")
            #expect(json["bias"] as? [Double] == [0.1, -0.2])
            #expect((json["int64"] as? [NSNumber])?.map(\.int64Value) == [.min, 0, .max])
            #expect(json["int16"] as? [Int] == [-32768, 0, 32767])
            #expect(json["flags"] as? [Bool] == [true, false, true])
            #expect(json["flags_dtype"] as? String == "bool")
            #expect(json["ids"] as? [String] == ["héllo", "", "world"])
            #expect(json["features"] as? [[Double]] == [[1, 2], [3, 4], [5, 6]])
            #expect((json["features_maxshape"] as? [Any])?.first is NSNull)
            #expect(json["backend"] as? String == "tensorflow")
            #expect(json["keras_version"] as? String == "2.15.0")
            #expect(json["layer_names"] as? [String] == ["dense", "dense_1"])
            #expect(json["variable_names"] as? [String] == ["α", "beta"])
            #expect(json["dims"] as? [Int] == [3, -4])
            // The root group tracks creation order, and h5py lists such groups in that order.
            #expect(json["members"] as? [String] == ["model_weights", "int8", "int16", "int32", "int64", "uint8", "flags", "ids", "features"])
        }
    }
}

@Suite struct MemoryImages {
    /// An h5py-written file read from memory gives what reading it from disk gives.
    @Test func aFileImageInMemoryReadsLikeTheFile() throws {
        let bytes = try readBytes(fixturePath("h5py_datasets.h5"))
        let image = HDF5MemoryImage(byteCount: bytes.count)
        image.bytes.copyBytes(from: bytes)
        let inMemory = try HDF5File(image: image, name: "h5py_datasets.h5 (memory)")
        let onDisk = try HDF5File(opening: fixturePath("h5py_datasets.h5"))
        let path = "/chunked/gzip"
        #expect(try inMemory.dataset(path).read(as: Float.self) == onDisk.dataset(path).read(as: Float.self))
        #expect(try inMemory.root.memberNames() == onDisk.root.memberNames())
    }

    @Test func bytesThatAreNotHDF5AreRefused() {
        let image = HDF5MemoryImage(byteCount: 64)
        #expect(throws: HDF5Error.notHDF5(path: "junk")) { try HDF5File(image: image, name: "junk") }
    }
}
