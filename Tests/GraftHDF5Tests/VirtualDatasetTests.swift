import Foundation
import GraftHDF5
import GraftTestSupport
import Testing
@Suite("Virtual datasets")
struct VirtualDatasetTests {
    /// Writes two shard files of float32 rows [n, 2] and returns the rows each holds.
    static func writeShards(in folder: String) throws -> [[Float]] {
        let shards: [[Float]] = [
            [0, 1, 10, 11, 20, 21],   // rows 0..<3 of shard-0
            [100, 101, 110, 111],     // rows 0..<2 of shard-1
        ]
        for (index, values) in shards.enumerated() {
            let file = try HDF5File(creating: folder + "/shard-\(index).h5")
            let features = try file.root.createDataset(
                "features", of: .float32, shape: [0, 2], layout: .chunked(rowsPerChunk: 2, compression: .gzip(level: 1)))
            try features.appendRows(values)
        }
        return shards
    }

    static let sources: [(file: String, dataset: String, rows: Range<Int>)] = [
        (file: "shard-0.h5", dataset: "/features", rows: 1..<3),
        (file: "shard-1.h5", dataset: "features", rows: 0..<2),
    ]
    static let expectedRows: [Float] = [10, 11, 20, 21, 100, 101, 110, 111]

    @Test func virtualDatasetConcatenatesRowsOfSourceFiles() throws {
        try withTemporaryFolder { folder in
            _ = try Self.writeShards(in: folder)
            let path = folder + "/merged.h5"
            do {
                let file = try HDF5File(creating: path)
                let merged = try file.root.createVirtualDataset("cache/features", of: .float32, shape: [4, 2], sources: Self.sources)
                #expect(try merged.read(as: Float.self) == Self.expectedRows)
            }
            let merged = try HDF5File(opening: path).dataset("cache/features")
            #expect(try merged.shape == [4, 2])
            #expect(try merged.chunkShape == nil)
            #expect(try merged.read(as: Float.self) == Self.expectedRows)
            #expect(try merged.read(rows: 1..<3, as: Double.self) == [20, 21, 100, 101])
        }
    }

    /// Writes the shards and `merged.h5`, whose dataset `features` joins them, and returns its path.
    static func writeMerged(in folder: String) throws -> String {
        _ = try Self.writeShards(in: folder)
        let path = folder + "/merged.h5"
        let file = try HDF5File(creating: path)
        try file.root.createVirtualDataset("features", of: .float32, shape: [4, 2], sources: Self.sources)
        return path
    }

    @Test(.enabled(if: venvPython != nil, "the Python virtual environment with h5py (.venv) is missing"))
    func h5pyReadsTheVirtualDataset() throws {
        try withTemporaryFolder { folder in
            let path = try Self.writeMerged(in: folder)
            let script = """
                import json, sys, h5py
                with h5py.File(sys.argv[1], "r") as f:
                    d = f["features"]
                    print(json.dumps({"virtual": d.is_virtual, "values": d[()].reshape(-1).tolist(),
                                      "sources": [s.file_name for s in d.virtual_sources()]}))
                """
            // Run from another folder: relative source names resolve against the merged file's folder.
            let result = try runProgram(venvPython!, ["-c", script, path])
            #expect(result.status == 0, "python failed: \(result.error)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
            #expect(json["virtual"] as? Bool == true)
            #expect(json["values"] as? [Double] == Self.expectedRows.map(Double.init))
            #expect(json["sources"] as? [String] == ["shard-0.h5", "shard-1.h5"])
        }
    }

    @Test(.enabled(if: executablePath("h5dump") != nil, "h5dump is not installed (apt install hdf5-tools)"))
    func h5dumpReadsTheVirtualDataset() throws {
        try withTemporaryFolder { folder in
            let path = try Self.writeMerged(in: folder)
            let dump = try runProgram(try #require(executablePath("h5dump")), ["-d", "/features", path])
            #expect(dump.status == 0, "h5dump failed: \(dump.error)")
            #expect(dump.output.contains("(0,0): 10, 11,"), "\(dump.output)")
            #expect(dump.output.contains("(3,0): 110, 111"), "\(dump.output)")
        }
    }

    @Test func sourcesInTheSameFileUseDot() throws {
        try withTemporaryFolder { folder in
            let file = try HDF5File(creating: folder + "/one.h5")
            try file.root.createDataset("a", shape: [2], values: [Int64(1), 2])
            try file.root.createDataset("b", shape: [3], values: [Int64(3), 4, 5])
            let joined = try file.root.createVirtualDataset(
                "joined", of: .int64, shape: [4],
                sources: [(file: ".", dataset: "a", rows: 0..<2), (file: ".", dataset: "/b", rows: 1..<3)])
            #expect(try joined.read(as: Int64.self) == [1, 2, 4, 5])
        }
    }

    @Test func mismatchedSourcesAreRejected() throws {
        try withTemporaryFolder { folder in
            _ = try Self.writeShards(in: folder)
            let file = try HDF5File(creating: folder + "/merged.h5")
            let rowCount = hdf5Error { () throws(HDF5Error) in
                try file.root.createVirtualDataset("f", of: .float32, shape: [5, 2], sources: Self.sources)
            }
            guard case .sizeMismatch = rowCount else { Issue.record("expected sizeMismatch, got \(String(describing: rowCount))"); return }

            let width = hdf5Error { () throws(HDF5Error) in
                try file.root.createVirtualDataset("f", of: .float32, shape: [4, 3], sources: Self.sources)
            }
            guard case .sizeMismatch = width else { Issue.record("expected sizeMismatch, got \(String(describing: width))"); return }

            let outside = hdf5Error { () throws(HDF5Error) in
                try file.root.createVirtualDataset(
                    "f", of: .float32, shape: [4, 2], sources: [(file: "shard-1.h5", dataset: "features", rows: 0..<4)])
            }
            guard case .sizeMismatch = outside else { Issue.record("expected sizeMismatch, got \(String(describing: outside))"); return }

            let type = hdf5Error { () throws(HDF5Error) in
                try file.root.createVirtualDataset("f", of: .int64, shape: [4, 2], sources: Self.sources)
            }
            guard case .wrongType = type else { Issue.record("expected wrongType, got \(String(describing: type))"); return }

            let missing = hdf5Error { () throws(HDF5Error) in
                try file.root.createVirtualDataset(
                    "f", of: .float32, shape: [1, 2], sources: [(file: "shard-9.h5", dataset: "features", rows: 0..<1)])
            }
            guard case .cannotOpen = missing else { Issue.record("expected cannotOpen, got \(String(describing: missing))"); return }
            #expect(missing?.description.contains("shard-9.h5") == true)
            #expect(try !file.contains("f"))
        }
    }
}
