import Foundation
import GraftHDF5
import GraftTestSupport
import Testing
@Suite("Attributes")
struct AttributeTests {
    @Test func numericAttributesRoundTripAndConvert() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/numbers.h5"
            do {
                let file = try HDF5File(creating: path)
                try file.attributes.write(Int64(-7), to: "epoch")
                try file.attributes.write([0.5, -2.25, 1e300], to: "history")
                try file.attributes.write(Float(0.1), to: "rate")
                try file.attributes.write([Int32(1), -2, .max], to: "shape")
                try file.attributes.write([UInt8(0), 200, 255], to: "bytes")
                try file.attributes.write(true, to: "trainable")
                let dataset = try file.root.createDataset("w", shape: [1], values: [Float(1)])
                try dataset.attributes.write([Int64(3), 4], to: "dims")
            }
            let file = try HDF5File(opening: path)
            let attributes = file.attributes
            #expect(try attributes.value("epoch", as: Int64.self) == -7)
            #expect(try attributes.value("epoch", as: Int32.self) == -7)
            #expect(try attributes.values("history", as: Double.self) == [0.5, -2.25, 1e300])
            #expect(try attributes.value("rate", as: Float.self) == 0.1)
            #expect(try attributes.value("rate", as: Double.self) == Double(Float(0.1)))
            #expect(try attributes.values("shape", as: Int32.self) == [1, -2, .max])
            #expect(try attributes.values("shape", as: Int64.self) == [1, -2, Int64(Int32.max)])
            #expect(try attributes.values("bytes", as: UInt8.self) == [0, 200, 255])
            #expect(try attributes.value("trainable", as: Bool.self) == true)
            #expect(try attributes.storedType(of: "trainable").kind == .boolean)
            #expect(try attributes.shape(of: "epoch") == [])
            #expect(try attributes.shape(of: "history") == [3])
            #expect(try attributes.names() == ["bytes", "epoch", "history", "rate", "shape", "trainable"])
            #expect(try file.dataset("w").attributes.values("dims", as: Int.self) == [3, 4])

            let many = hdf5Error { () throws(HDF5Error) in _ = try attributes.value("history", as: Double.self) }
            guard case .sizeMismatch = many else { Issue.record("expected sizeMismatch, got \(String(describing: many))"); return }
            let notText = hdf5Error { () throws(HDF5Error) in _ = try attributes.string("epoch") }
            guard case .wrongType = notText else { Issue.record("expected wrongType, got \(String(describing: notText))"); return }
        }
    }

    @Test(arguments: [HDF5StringStorage.variableLength, .fixedLength])
    func stringAttributesRoundTrip(storage: HDF5StringStorage) throws {
        try withTemporaryFolder { folder in
            let path = folder + "/strings.h5"
            let names = ["dense", "conv2d_1", "", "βατч_норм"]
            do {
                let file = try HDF5File(creating: path)
                let group = try file.group("model_weights", creatingIfNeeded: true)
                try group.attributes.write("tensorflow", to: "backend", storage: storage)
                try group.attributes.write("ünïcödé", to: "note", storage: storage)
                try group.attributes.write(names, to: "layer_names", storage: storage)
                try group.attributes.write([String](), to: "empty", storage: storage)
            }
            let attributes = try HDF5File(opening: path).group("model_weights").attributes
            #expect(try attributes.string("backend") == "tensorflow")
            #expect(try attributes.strings("backend") == ["tensorflow"])
            #expect(try attributes.string("note") == "ünïcödé")
            #expect(try attributes.strings("layer_names") == names)
            #expect(try attributes.stringList("layer_names") == names)
            #expect(try attributes.strings("empty") == [])
            #expect(try attributes.shape(of: "backend") == [])
            #expect(try attributes.shape(of: "layer_names") == [4])

            let backend = try attributes.storedType(of: "backend")
            #expect(backend.kind == .string)
            #expect(backend.isVariableLength == (storage == .variableLength))
            #expect(backend.isUTF8 == (storage == .variableLength))
            #expect(try attributes.storedType(of: "note").isUTF8)
            if storage == .fixedLength {
                #expect(try attributes.storedType(of: "layer_names").size == "βατч_норм".utf8.count)
            }
        }
    }

    @Test func splitStringListsAreReassembledLikeKeras() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/split.h5"
            do {
                let file = try HDF5File(creating: path)
                try file.attributes.write(["conv2d", "batch_normalization"], to: "layer_names0", storage: .fixedLength)
                try file.attributes.write(["re_lu"], to: "layer_names1", storage: .variableLength)
                try file.attributes.write(["dense"], to: "layer_names3", storage: .fixedLength)
                try file.attributes.write(["whole"], to: "weight_names")
                try file.attributes.write(["ignored"], to: "weight_names0")
            }
            let attributes = try HDF5File(opening: path).attributes
            // Stops at the first missing chunk, as Keras does.
            #expect(try attributes.stringList("layer_names") == ["conv2d", "batch_normalization", "re_lu"])
            // An unsplit attribute wins over chunks.
            #expect(try attributes.stringList("weight_names") == ["whole"])
            let missing = hdf5Error { () throws(HDF5Error) in _ = try attributes.stringList("optimizer_weights") }
            guard case .notFound = missing else { Issue.record("expected notFound, got \(String(describing: missing))"); return }
            #expect(missing?.description.contains("optimizer_weights0") == true)
        }
    }

    @Test func largeAttributesAreStoredDenselyInGraftFiles() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/large.h5"
            let config = "{\"layers\": [" + (0..<8000).map { "{\"name\": \"layer_\($0)\"}" }.joined(separator: ", ") + "]}"
            let names = (0..<3000).map { "block_\($0)/" + String(repeating: "w", count: 40) }
            #expect(config.utf8.count > 100_000)
            do {
                let file = try HDF5File(creating: path)
                try file.attributes.write(config, to: "model_config")
                try file.attributes.write(names, to: "weight_names", storage: .fixedLength)
                let group = try file.group("g", creatingIfNeeded: true)
                try group.attributes.write(names, to: "weight_names", storage: .fixedLength)
            }
            let file = try HDF5File(opening: path)
            #expect(try file.attributes.string("model_config") == config)
            #expect(try file.attributes.strings("weight_names") == names)
            #expect(try file.group("g").attributes.strings("weight_names") == names)
        }
    }

    @Test func largeFixedLengthAttributeOnOldFormatObjectFailsClearly() throws {
        try withTemporaryFolder { folder in
            // h5py writes the HDF5 1.6 object format, whose object headers hold at most 64 KB.
            let path = folder + "/old.h5"
            try FileManager.default.copyItem(atPath: fixturePath("h5py_attributes.h5"), toPath: path)
            let file = try HDF5File(opening: path, for: .readingAndWriting)
            let names = (0..<3000).map { "block_\($0)/" + String(repeating: "w", count: 40) }
            let error = hdf5Error { () throws(HDF5Error) in
                try file.attributes.write(names, to: "weight_names", storage: .fixedLength)
            }
            guard case .sizeMismatch = error else { Issue.record("expected sizeMismatch, got \(String(describing: error))"); return }
            #expect(error?.description.contains("weight_names") == true)
            #expect(error?.description.contains("64 KB") == true)
            // A variable-length string of the same size fits.
            try file.attributes.write(names.joined(separator: ","), to: "weight_names_text")
            #expect(try file.attributes.string("weight_names_text") == names.joined(separator: ","))
        }
    }

    @Test func writingReplacesAndRemoveDeletes() throws {
        try withTemporaryFolder { folder in
            let file = try HDF5File(creating: folder + "/replace.h5")
            try file.attributes.write(Int64(1), to: "version")
            try file.attributes.write("two", to: "version")
            #expect(try file.attributes.string("version") == "two")
            #expect(try file.attributes.contains("version"))
            try file.attributes.remove("version")
            #expect(try !file.attributes.contains("version"))
            let error = hdf5Error { () throws(HDF5Error) in try file.attributes.remove("version") }
            guard case .notFound = error else { Issue.record("expected notFound, got \(String(describing: error))"); return }
        }
    }
}
