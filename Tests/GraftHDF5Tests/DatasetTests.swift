import Foundation
import GraftHDF5
import GraftTestSupport
import Testing
/// Writes `values` as dataset "values" of `shape` in a new file, closes it, and reads the
/// dataset back from a freshly opened file.
private func roundTrip<T: HDF5Element>(
    _ values: [T], shape: [Int], layout: HDF5Layout = .contiguous
) throws -> (values: [T], shape: [Int], stored: HDF5StoredType) {
    try withTemporaryFolder { folder in
        let path = folder + "/round-trip.h5"
        do {
            let file = try HDF5File(creating: path)
            try file.root.createDataset("values", shape: shape, values: values, layout: layout)
        }
        let dataset = try HDF5File(opening: path).dataset("values")
        return (try dataset.read(as: T.self), try dataset.shape, try dataset.storedType)
    }
}

@Suite("Datasets")
struct DatasetTests {
    @Test func float32RoundTripsBitForBit() throws {
        let values: [Float] = [0.1, -2.5, .infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .nan, 1]
        let result = try roundTrip(values, shape: [2, 4])
        #expect(result.values.map(\.bitPattern) == values.map(\.bitPattern))
        #expect(result.shape == [2, 4])
        #expect(result.stored.elementType == .float32)
    }

    @Test func float64RoundTripsBitForBit() throws {
        let values: [Double] = [0.1, -1e300, .leastNonzeroMagnitude, -.infinity, 42]
        let result = try roundTrip(values, shape: [5])
        #expect(result.values.map(\.bitPattern) == values.map(\.bitPattern))
        #expect(result.stored.elementType == .float64)
    }

    @Test func integersRoundTrip() throws {
        let int8: [Int8] = [.min, -1, 0, 1, .max, 7]
        let int8Result = try roundTrip(int8, shape: [3, 2])
        #expect(int8Result.values == int8)
        #expect(int8Result.stored.elementType == .int8)

        let int16: [Int16] = [.min, 0, .max, 300]
        #expect(try roundTrip(int16, shape: [4]).values == int16)
        #expect(try roundTrip(int16, shape: [4]).stored.elementType == .int16)

        let int32: [Int32] = [.min, 0, .max]
        #expect(try roundTrip(int32, shape: [3]).values == int32)
        #expect(try roundTrip(int32, shape: [3]).stored.elementType == .int32)

        let int64: [Int64] = [.min, -1, 0, .max]
        #expect(try roundTrip(int64, shape: [2, 2]).values == int64)
        #expect(try roundTrip(int64, shape: [2, 2]).stored.elementType == .int64)

        let uint8: [UInt8] = [0, 1, 128, 255]
        #expect(try roundTrip(uint8, shape: [4]).values == uint8)
        #expect(try roundTrip(uint8, shape: [4]).stored.elementType == .uint8)

        let int: [Int] = [.min, 5, .max]
        #expect(try roundTrip(int, shape: [3]).values == int)
        #expect(try roundTrip(int, shape: [3]).stored.elementType == .int64)
    }

    @Test func booleansRoundTripAsH5pyEnumeration() throws {
        let values = [true, false, false, true, true, false]
        let result = try roundTrip(values, shape: [2, 3])
        #expect(result.values == values)
        #expect(result.stored.kind == .boolean)
        #expect(result.stored.size == 1)
    }

    @Test func scalarDatasetRoundTrips() throws {
        let result = try roundTrip([6.02214076e23], shape: [])
        #expect(result.values == [6.02214076e23])
        #expect(result.shape == [])
    }

    @Test func variableLengthStringsRoundTrip() throws {
        let strings = ["", "ascii", "ünïcödé ✓ 🎉", String(repeating: "long ", count: 3000)]
        try withTemporaryFolder { folder in
            let path = folder + "/strings.h5"
            do {
                let file = try HDF5File(creating: path)
                try file.root.createDataset("ids", shape: [2, 2], strings: strings)
            }
            let dataset = try HDF5File(opening: path).dataset("ids")
            #expect(try dataset.readStrings() == strings)
            #expect(try dataset.readStrings(rows: 1..<2) == Array(strings[2...]))
            let stored = try dataset.storedType
            #expect(stored.kind == .string && stored.isVariableLength && stored.isUTF8)
        }
    }

    @Test func hdf5ConvertsBetweenNumericTypes() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/convert.h5"
            let file = try HDF5File(creating: path)
            let doubles = try file.root.createDataset("doubles", shape: [3], values: [0.5, -1.25, 1e10])
            #expect(try doubles.read(as: Float.self) == [0.5, -1.25, 1e10])
            let ints = try file.root.createDataset("ints", shape: [3], values: [Int32(-3), 0, 70000])
            #expect(try ints.read(as: Int64.self) == [-3, 0, 70000])
            #expect(try ints.read(as: Double.self) == [-3, 0, 70000])
            // Writing converts too: Float values into a float64 dataset.
            try doubles.write([Float(0.25), 2, 3])
            #expect(try doubles.read(as: Double.self) == [0.25, 2, 3])
        }
    }

    @Test func readsIntoCallerBuffersWithoutCopying() throws {
        try withTemporaryFolder { folder in
            let file = try HDF5File(creating: folder + "/buffers.h5")
            let values = (0..<12).map { Float($0) * 0.5 }
            let dataset = try file.root.createDataset("kernel:0", shape: [3, 4], values: values)

            let typed = UnsafeMutableBufferPointer<Float>.allocate(capacity: 12)
            defer { typed.deallocate() }
            try dataset.read(into: typed)
            #expect(Array(typed) == values)

            let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: 12 * 8, alignment: 8)
            defer { raw.deallocate() }
            try dataset.read(into: raw, as: .float64)
            #expect(Array(raw.bindMemory(to: Double.self)) == values.map(Double.init))

            let rows = UnsafeMutableBufferPointer<Float>.allocate(capacity: 4)
            defer { rows.deallocate() }
            try dataset.read(rows: 2..<3, into: rows)
            #expect(Array(rows) == Array(values[8..<12]))

            let tooSmall = UnsafeMutableBufferPointer<Float>.allocate(capacity: 11)
            defer { tooSmall.deallocate() }
            let error = hdf5Error { () throws(HDF5Error) in try dataset.read(into: tooSmall) }
            guard case .sizeMismatch = error else { Issue.record("expected sizeMismatch, got \(String(describing: error))"); return }
        }
    }

    @Test func readsHyperslabsOfRows() throws {
        try withTemporaryFolder { folder in
            let file = try HDF5File(creating: folder + "/rows.h5")
            let values = (0..<30).map { Int64($0) }
            let dataset = try file.root.createDataset("table", shape: [5, 2, 3], values: values)
            #expect(try dataset.read(rows: 1..<3, as: Int64.self) == Array(values[6..<18]))
            #expect(try dataset.read(rows: 4..<5, as: Int64.self) == Array(values[24..<30]))
            #expect(try dataset.read(rows: 2..<2, as: Int64.self) == [])
            let error = hdf5Error { () throws(HDF5Error) in _ = try dataset.read(rows: 3..<6, as: Int64.self) }
            guard case .sizeMismatch = error else { Issue.record("expected sizeMismatch, got \(String(describing: error))"); return }
            #expect(error?.description.contains("3..<6") == true)
        }
    }

    @Test func chunkedGzipDatasetsGrowByAppendedBatches() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/cache.h5"
            let batches: [[Float]] = [
                (0..<8).map { Float($0) },           // 2 rows
                (8..<28).map { Float($0) / 3 },      // 5 rows
                [-1, -2, -3, -4],                    // 1 row
            ]
            let labels: [[Int64]] = [[1, 2], [3, 4, 5, 6, 7], [8]]
            let ids: [[String]] = [["a", "b"], ["c", "d", "é", "f", "g"], ["h"]]
            do {
                let file = try HDF5File(creating: path)
                let layout = HDF5Layout.chunked(rowsPerChunk: 3, compression: .gzip(level: 5))
                let features = try file.root.createDataset("cache/features", of: .float32, shape: [0, 4], layout: layout)
                let labelSet = try file.root.createDataset("cache/labels", of: .int64, shape: [0], layout: layout)
                let idSet = try file.root.createDataset("cache/ids", of: .string, shape: [0], layout: .chunked(rowsPerChunk: 4))
                for index in batches.indices {
                    try features.appendRows(batches[index])
                    try labelSet.appendRows(labels[index])
                    try idSet.appendRows(ids[index])
                    try file.flush()
                }
            }
            let file = try HDF5File(opening: path)
            let features = try file.dataset("/cache/features")
            #expect(try features.shape == [8, 4])
            #expect(try features.maximumShape == [nil, 4])
            #expect(try features.chunkShape == [3, 4])
            #expect(try features.compression == .gzip(level: 5, shuffle: true))
            #expect(try features.read(as: Float.self) == batches.flatMap { $0 })
            #expect(try features.read(rows: 1..<4, as: Float.self) == Array(batches.flatMap { $0 }[4..<16]))
            #expect(try file.dataset("cache/labels").read(as: Int64.self) == labels.flatMap { $0 })
            #expect(try file.dataset("cache/ids").readStrings() == ids.flatMap { $0 })
            #expect(try file.dataset("cache/ids").compression == .none)
            #expect(try file.dataset("cache/ids").readStrings(rows: 2..<5) == ["c", "d", "é"])
        }
    }

    @Test func appendingChecksWholeRowsAndExtendibility() throws {
        try withTemporaryFolder { folder in
            let file = try HDF5File(creating: folder + "/append.h5")
            let chunked = try file.root.createDataset("chunked", of: .float32, shape: [0, 3], layout: .chunked(rowsPerChunk: 2))
            let partial = hdf5Error { () throws(HDF5Error) in try chunked.appendRows([Float(1), 2, 3, 4]) }
            guard case .sizeMismatch = partial else { Issue.record("expected sizeMismatch, got \(String(describing: partial))"); return }
            #expect(try chunked.shape == [0, 3])

            let fixed = try file.root.createDataset("fixed", shape: [1, 3], values: [Float(1), 2, 3])
            let error = hdf5Error { () throws(HDF5Error) in try fixed.appendRows([Float(4), 5, 6]) }
            guard case .sizeMismatch = error else { Issue.record("expected sizeMismatch, got \(String(describing: error))"); return }
            #expect(try fixed.chunkShape == nil)
            #expect(try fixed.maximumShape == [1, 3])
        }
    }

    @Test func groupsNestListAndDelete() throws {
        try withTemporaryFolder { folder in
            let file = try HDF5File(creating: folder + "/groups.h5")
            let leaf = try file.group("a/b/c", creatingIfNeeded: true)
            #expect(leaf.path == "/a/b/c")
            #expect(try file.contains("a/b"))
            #expect(try file.contains("/a/b/c"))
            #expect(try !file.contains("a/x/y"))
            #expect(try file.root.kind(ofMember: "a/b") == .group)

            let parent = try file.group("/a/b")
            for name in ["zeta", "alpha", "mid"] {
                _ = try parent.group(name, creatingIfNeeded: true)
            }
            try parent.createDataset("data", shape: [1], values: [Int8(1)])
            #expect(try parent.kind(ofMember: "data") == .dataset)
            #expect(try parent.memberNames(order: .creation) == ["c", "zeta", "alpha", "mid", "data"])
            #expect(try parent.memberNames() == ["alpha", "c", "data", "mid", "zeta"])

            try parent.removeMember("zeta")
            #expect(try !parent.contains("zeta"))
            #expect(try parent.memberNames() == ["alpha", "c", "data", "mid"])
            #expect(try !parent.contains("data/x"))

            let notGroup = hdf5Error { () throws(HDF5Error) in _ = try parent.group("data") }
            guard case .wrongType = notGroup else { Issue.record("expected wrongType, got \(String(describing: notGroup))"); return }
            let notDataset = hdf5Error { () throws(HDF5Error) in _ = try file.dataset("a/b") }
            guard case .wrongType = notDataset else { Issue.record("expected wrongType, got \(String(describing: notDataset))"); return }
            let existing = hdf5Error { () throws(HDF5Error) in try parent.createDataset("data", shape: [1], values: [Int8(2)]) }
            guard case .alreadyExists = existing else { Issue.record("expected alreadyExists, got \(String(describing: existing))"); return }
            #expect(existing?.exitStatus == .cannotCreate)
        }
    }

    @Test func flushedFileIsCompleteOnDiskWhileStillOpen() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/open.h5"
            let copy = folder + "/copy.h5"
            let file = try HDF5File(creating: path)
            let dataset = try file.root.createDataset("rows", of: .int32, shape: [0], layout: .chunked(rowsPerChunk: 16))
            try dataset.appendRows([Int32(5), 6, 7])
            try file.flush()
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            #expect(try HDF5File(opening: copy).dataset("rows").read(as: Int32.self) == [5, 6, 7])
            withExtendedLifetime(file) {}
        }
    }
}
