import GraftFeatureCache
import Foundation
import GraftTestSupport
import GraftSupport
import GraftHDF5
import Testing
@Suite struct WritingAndReading {
    @Test func batchesReadBackInOrderWithProvenance() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/cache.h5"
            let provenance = testProvenance()
            let writer = try FeatureCacheWriter.openOrCreate(at: path, provenance: provenance, dimensions: [3, 2],
                                                             classes: ["cat", "dog"], compressed: false)
            try writer.append(testBatch(first: 0, count: 5, dimensions: [3, 2]))
            try writer.append(testBatch(first: 5, count: 2, dimensions: [3, 2],
                                        failures: [FeatureCacheFailure(id: "bad.jpg", reason: "truncated")]))
            try writer.close()

            let cache = try FeatureCache(path: path)
            #expect(cache.rowCount == 7)
            #expect(cache.layers == ["fc/1", "gap"])
            #expect(try cache.dimension(of: "fc/1") == 3)
            #expect(cache.classes == ["cat", "dog"])
            #expect(cache.provenance == provenance)
            #expect(try cache.ids() == (0..<7).map { "img\($0).jpg" })
            #expect(try cache.labels() == (0..<7).map { Int64($0 % 2) })
            let expected = testBatch(first: 0, count: 7, dimensions: [3, 2])
            #expect(try cache.features(of: "fc/1") == expected.features[0])
            #expect(try cache.features(of: "gap") == expected.features[1])
            #expect(try cache.features(of: "gap", rows: 2..<4) == Array(expected.features[1][4..<8]))
            #expect(try cache.failures() == [FeatureCacheFailure(id: "bad.jpg", reason: "truncated")])
            #expect(try cache.classCounts().perClass == [4, 3])
            // The layer name with a slash is escaped in the dataset name.
            #expect(try HDF5File(opening: path).contains("/features/fc%2F1"))
            #expect(throws: FeatureCacheError.self) { try cache.features(of: "fc") }
        }
    }

    @Test func compressedCacheUsesGzipWithShuffle() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/cache.h5"
            let writer = try FeatureCacheWriter(creating: path, provenance: testProvenance(layers: ["gap"]),
                                                dimensions: [16], classes: [], compressed: true)
            try writer.append(testBatch(first: 0, count: 40, dimensions: [16]))
            try writer.close()
            let dataset = try HDF5File(opening: path).dataset("/features/gap")
            #expect(try dataset.compression == .gzip(level: 4, shuffle: true))
            #expect(try FeatureCache(path: path).features(of: "gap") == testBatch(first: 0, count: 40, dimensions: [16]).features[0])
        }
    }

    @Test func escapingLayerNames() {
        #expect(escapedLayerName("block1/conv%2") == "block1%2Fconv%252")
        #expect(featureDatasetPath(forLayer: "avg_pool") == "/features/avg_pool")
    }

    @Test func byteOrderSortsLikePython() {
        let names = ["b", "B", "a", "é", "Z", "aa"]
        #expect(names.sorted(by: precedesInByteOrder) == ["B", "Z", "a", "aa", "b", "é"])
    }
}

@Suite struct Resuming {
    @Test func interruptedBatchIsCutOffAndResumeAppends() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/cache.h5"
            let provenance = testProvenance()
            let writer = try FeatureCacheWriter.openOrCreate(at: path, provenance: provenance, dimensions: [3, 2],
                                                             classes: ["cat", "dog"], compressed: false)
            try writer.append(testBatch(first: 0, count: 4, dimensions: [3, 2]))
            try writer.close()

            // Simulate a batch killed after its rows were written but before `rows` moved.
            do {
                let file = try HDF5File(opening: path, for: .readingAndWriting)
                try file.dataset("/features/fc%2F1").appendRows([Float](repeating: -1, count: 9))
                try file.dataset("/ids").appendRows(["ghost0", "ghost1", "ghost2"])
            }
            do {
                let reader = try FeatureCache(path: path)
                #expect(reader.rowCount == 4)
                #expect(try reader.ids() == (0..<4).map { "img\($0).jpg" })
            }

            let resumed = try FeatureCacheWriter.openOrCreate(at: path, provenance: testProvenance(inputList: "other"),
                                                              dimensions: [3, 2], classes: ["cat", "dog"], compressed: false)
            #expect(resumed.rowCount == 4)
            #expect(resumed.storedIDs == Set((0..<4).map { "img\($0).jpg" }))
            try resumed.append(testBatch(first: 4, count: 3, dimensions: [3, 2]))
            try resumed.close()
            let cache = try FeatureCache(path: path)
            #expect(try cache.ids() == (0..<7).map { "img\($0).jpg" })
            #expect(try cache.features(of: "fc/1") == testBatch(first: 0, count: 7, dimensions: [3, 2]).features[0])
            #expect(try HDF5File(opening: path).dataset("/ids").shape == [7])
        }
    }

    @Test func differentModelLayersOrPreprocessingAreRefusedByName() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/cache.h5"
            let writer = try FeatureCacheWriter.openOrCreate(at: path, provenance: testProvenance(), dimensions: [3, 2],
                                                             classes: [], compressed: false)
            try writer.close()
            var other = testProvenance(model: "ffff")
            other.preprocessing = #"{"preset":"keras-tf"}"#
            do {
                _ = try FeatureCacheWriter.openOrCreate(at: path, provenance: other, dimensions: [3, 2], classes: [], compressed: false)
                Issue.record("a cache of another model was resumed")
            } catch let error as FeatureCacheError {
                guard case let .provenanceMismatch(_, differences) = error else {
                    Issue.record("unexpected error \(error)")
                    return
                }
                #expect(differences.map(\.attribute) == ["model_sha256", "preprocessing"])
                #expect(error.description.contains("model_sha256 (cache: a1b2, now: ffff)"))
                #expect(error.exitStatus == .dataError)
            }
            #expect(throws: FeatureCacheError.self) {
                _ = try FeatureCacheWriter.openOrCreate(at: path, provenance: testProvenance(layers: ["gap", "fc/1"]),
                                                        dimensions: [2, 3], classes: [], compressed: false)
            }
            #expect(throws: FeatureCacheError.classesMismatch(path: path, cached: [], requested: ["a"])) {
                _ = try FeatureCacheWriter.openOrCreate(at: path, provenance: testProvenance(), dimensions: [3, 2],
                                                        classes: ["a"], compressed: false)
            }
        }
    }

    @Test func retriedFailuresLeaveTheFailedList() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/cache.h5"
            let provenance = testProvenance(layers: ["gap"])
            var writer = try FeatureCacheWriter.openOrCreate(at: path, provenance: provenance, dimensions: [2], classes: [],
                                                             compressed: false)
            try writer.append(testBatch(first: 0, count: 2, dimensions: [2], failures: [
                FeatureCacheFailure(id: "img2.jpg", reason: "locked"), FeatureCacheFailure(id: "x.jpg", reason: "empty"),
            ]))
            try writer.close()
            writer = try FeatureCacheWriter.openOrCreate(at: path, provenance: provenance, dimensions: [2], classes: [],
                                                         compressed: false)
            #expect(writer.failures.map(\.id) == ["img2.jpg", "x.jpg"])
            try writer.append(testBatch(first: 2, count: 1, dimensions: [2], failures: [FeatureCacheFailure(id: "x.jpg", reason: "still empty")]))
            try writer.close()
            let cache = try FeatureCache(path: path)
            #expect(try cache.failures() == [FeatureCacheFailure(id: "x.jpg", reason: "still empty")])
            #expect(try cache.ids() == ["img0.jpg", "img1.jpg", "img2.jpg"])
        }
    }

    /// A run killed before it compacts `/failed` leaves repeated and resolved ids in the log;
    /// readers drop them, and the next run's close compacts the log past the committed rows.
    @Test func failureLogOfAKilledRunReadsCleanAndIsCompacted() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/cache.h5"
            let provenance = testProvenance(layers: ["gap"])
            do {
                let writer = try FeatureCacheWriter.openOrCreate(at: path, provenance: provenance, dimensions: [2], classes: [],
                                                                 compressed: false)
                try writer.append(testBatch(first: 0, count: 1, dimensions: [2], failures: [
                    FeatureCacheFailure(id: "a.jpg", reason: "r1"), FeatureCacheFailure(id: "img1.jpg", reason: "r1"),
                ]))
                try writer.append(testBatch(first: 1, count: 1, dimensions: [2], failures: [FeatureCacheFailure(id: "a.jpg", reason: "r2")]))
                // No close(): as if killed here.
            }
            do {
                let cache = try FeatureCache(path: path)
                #expect(try cache.failures() == [FeatureCacheFailure(id: "a.jpg", reason: "r2")])
                #expect(try HDF5File(opening: path).attributes.value("failed_rows", as: Int64.self) == 3)
            }
            let writer = try FeatureCacheWriter.openOrCreate(at: path, provenance: provenance, dimensions: [2], classes: [],
                                                             compressed: false)
            #expect(writer.failures == [FeatureCacheFailure(id: "a.jpg", reason: "r2")])
            try writer.close()
            let file = try HDF5File(opening: path)
            #expect(try file.attributes.value("failed_start", as: Int64.self) == 3)
            #expect(try file.attributes.value("failed_rows", as: Int64.self) == 1)
            #expect(try file.dataset("/failed/ids").readStrings(rows: 3..<4) == ["a.jpg"])
        }
    }

    @Test func labelsOfTheWrongRankAreRefusedByName() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/cache.h5"
            let writer = try FeatureCacheWriter.openOrCreate(at: path, provenance: testProvenance(), dimensions: [3, 2],
                                                             classes: ["cat", "dog"], compressed: false)
            try writer.append(testBatch(first: 0, count: 20, dimensions: [3, 2]))
            try writer.close()
            do {
                let file = try HDF5File(opening: path, for: .readingAndWriting)
                let root = try file.group("/")
                try root.removeMember("/labels")
                try root.createDataset("/labels", shape: [20, 2], values: [Int64](repeating: 0, count: 40))
            }
            do {
                _ = try FeatureCache(path: path)
                Issue.record("a cache with 2-D labels was read")
            } catch let error as FeatureCacheError {
                guard case let .notACache(errorPath, reason) = error else { Issue.record("wrong error \(error)"); return }
                #expect(errorPath == path)
                #expect(reason.contains("'/labels'") && reason.contains("rank 2") && reason.contains("[N]"))
            }
        }
    }

    /// Found by fuzzing: a negative `rows` attribute made every reader trap on `0..<rowCount`.
    @Test(arguments: ["rows", "failed_rows"])
    func negativeRowCountsAreRefusedByName(attribute: String) throws {
        try withTemporaryFolder { folder in
            let path = folder + "/cache.h5"
            let writer = try FeatureCacheWriter.openOrCreate(at: path, provenance: testProvenance(), dimensions: [3, 2],
                                                             classes: ["cat", "dog"], compressed: false)
            try writer.append(testBatch(first: 0, count: 4, dimensions: [3, 2]))
            try writer.close()
            do {
                let file = try HDF5File(opening: path, for: .readingAndWriting)
                try file.attributes.write(Int64(-1), to: attribute)
            }
            #expect(throws: FeatureCacheError.notACache(path: path, reason: "its '\(attribute)' attribute is -1, not a row count")) {
                _ = try FeatureCache(path: path)
            }
        }
    }

    @Test func notACacheIsExplained() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/plain.h5"
            _ = try HDF5File(creating: path)
            #expect(throws: FeatureCacheError.notACache(path: path, reason: "it has no root attribute 'cache_format_version'")) {
                _ = try FeatureCache(path: path)
            }
        }
    }
}

@Suite struct Merging {
    func makeShards(in folder: String) throws -> [String] {
        var paths: [String] = []
        for (index, range) in [0..<3, 3..<8, 8..<8].enumerated() {
            let path = folder + "/shards/part\(index).h5"
            try FileManager.default.createDirectory(atPath: folder + "/shards", withIntermediateDirectories: true)
            let writer = try FeatureCacheWriter(creating: path, provenance: testProvenance(inputList: "list\(index)"),
                                                dimensions: [3, 2], classes: ["cat", "dog"], compressed: false)
            if !range.isEmpty { try writer.append(testBatch(first: range.lowerBound, count: range.count, dimensions: [3, 2])) }
            if index == 1 {
                try writer.append(FeatureCacheBatch(ids: [], labels: [], features: [[], []],
                                                    failures: [FeatureCacheFailure(id: "bad.png", reason: "damaged")]))
            }
            try writer.close()
            paths.append(path)
        }
        return paths
    }

    /// A virtual merge's features live in the shards, so they can far exceed the merged file's
    /// own size: reading them is not refused as a damaged extent (found by the Spark test).
    @Test func aVirtualMergeLargerThanItsFileReads() throws {
        try withTemporaryFolder { folder in
            try FileManager.default.createDirectory(atPath: folder + "/shards", withIntermediateDirectories: true)
            var paths: [String] = []
            for index in 0..<2 {
                let path = folder + "/shards/part\(index).h5"
                let writer = try FeatureCacheWriter(creating: path, provenance: testProvenance(inputList: "list\(index)"),
                                                    dimensions: [3, 4096], classes: ["cat", "dog"], compressed: false)
                try writer.append(testBatch(first: 10 * index, count: 10, dimensions: [3, 4096]))
                try writer.close()
                paths.append(path)
            }
            let output = folder + "/merged.h5"
            try FeatureCacheMerge.merge(paths, into: output, virtual: true)
            let merged = try FeatureCache(path: output)
            #expect(try merged.isVirtual(layer: "gap"))
            let size = try #require(sizeOfFile(atPath: output))
            #expect(size < 20 * 4096 * 4, "the merged file holds \(size) bytes")
            let expected = testBatch(first: 0, count: 10, dimensions: [3, 4096]).features[1]
                + testBatch(first: 10, count: 10, dimensions: [3, 4096]).features[1]
            #expect(try merged.features(of: "gap") == expected)
        }
    }

    @Test(arguments: [false, true]) func mergeKeepsArgumentOrder(virtual: Bool) throws {
        try withTemporaryFolder { folder in
            let shards = try makeShards(in: folder)
            try FileManager.default.createDirectory(atPath: folder + "/out", withIntermediateDirectories: true)
            let output = folder + "/out/merged.h5"
            try FeatureCacheMerge.merge(shards, into: output, virtual: virtual)
            let merged = try FeatureCache(path: output)
            let expected = testBatch(first: 0, count: 8, dimensions: [3, 2])
            #expect(merged.rowCount == 8)
            #expect(try merged.ids() == expected.ids)
            #expect(try merged.labels() == expected.labels)
            #expect(try merged.features(of: "fc/1") == expected.features[0])
            #expect(try merged.features(of: "gap") == expected.features[1])
            #expect(try merged.failures() == [FeatureCacheFailure(id: "bad.png", reason: "damaged")])
            #expect(try merged.isVirtual(layer: "gap") == virtual)
            let hashes = (0..<3).map { "list\($0)\n" }.joined()
            #expect(merged.provenance.inputListSHA256 == SHA256.hexDigest(of: Array(hashes.utf8)))
            if virtual {
                // Relative source paths: the merged file still works after moving the folder tree.
                let moved = folder + "-moved"
                try FileManager.default.moveItem(atPath: folder, toPath: moved)
                defer { try? FileManager.default.moveItem(atPath: moved, toPath: folder) }
                #expect(try FeatureCache(path: moved + "/out/merged.h5").features(of: "gap") == expected.features[1])
            }
        }
    }

    /// Rows computed with other kernels differ in their last bits: shards and resumes must agree
    /// on the numerics, and a cache from before graft recorded them is told apart.
    @Test func differentNumericsAreNeverMixed() throws {
        try withTemporaryFolder { folder in
            let shards = try makeShards(in: folder)
            #expect(try FeatureCache(path: shards[0]).provenance.numerics == testProvenance().numerics)
            let other = folder + "/other.h5"
            let writer = try FeatureCacheWriter(creating: other, provenance: testProvenance(numerics: "graft runtime numerics 2; f32; other kernels"),
                                                dimensions: [3, 2], classes: ["cat", "dog"], compressed: false)
            try writer.close()
            #expect(throws: FeatureCacheError.shardMismatch(path: other, firstShard: shards[0], attribute: "numerics")) {
                try FeatureCacheMerge.merge([shards[0], other], into: folder + "/m.h5", virtual: false)
            }
            do {
                _ = try FeatureCacheWriter(resuming: shards[0], provenance: testProvenance(inputList: "list0", numerics: "other"),
                                           dimensions: [3, 2], classes: ["cat", "dog"])
                Issue.record("resumed a cache made with other numerics")
            } catch let FeatureCacheError.provenanceMismatch(_, differences) {
                #expect(differences.map(\.attribute) == ["numerics"])
            }
            // A cache written before numerics were recorded reads as unrecorded and is not resumed.
            let file = try HDF5File(opening: shards[1], for: .readingAndWriting)
            try file.attributes.remove("numerics")
            #expect(try FeatureCache(path: shards[1]).provenance.numerics == FeatureCacheProvenance.unrecordedNumerics)
            let old = FeatureCacheProvenance.unrecordedNumerics
            #expect(testProvenance(numerics: old).featureDifferences(from: testProvenance()).map(\.cached) == ["not recorded (an older graft)"])
        }
    }

    @Test func overlappingOrMismatchedShardsAreRefused() throws {
        try withTemporaryFolder { folder in
            let shards = try makeShards(in: folder)
            #expect(throws: FeatureCacheError.duplicateID(id: "img0.jpg", firstShard: shards[0], secondShard: shards[0])) {
                try FeatureCacheMerge.merge([shards[0], shards[0]], into: folder + "/m.h5", virtual: false)
            }
            let other = folder + "/other.h5"
            let writer = try FeatureCacheWriter(creating: other, provenance: testProvenance(model: "ffff"), dimensions: [3, 2],
                                                classes: ["cat", "dog"], compressed: false)
            try writer.close()
            #expect(throws: FeatureCacheError.shardMismatch(path: other, firstShard: shards[0], attribute: "model_sha256")) {
                try FeatureCacheMerge.merge([shards[0], other], into: folder + "/m.h5", virtual: true)
            }
            #expect(!FileManager.default.fileExists(atPath: folder + "/m.h5"))
        }
    }
}

@Suite struct Exporting {
    @Test func csvAndNumPy() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/cache.h5"
            let writer = try FeatureCacheWriter(creating: path, provenance: testProvenance(layers: ["gap"]), dimensions: [2],
                                                classes: ["a,b", "c"], compressed: false)
            try writer.append(FeatureCacheBatch(ids: ["x.jpg", "y \"1\".jpg"], labels: [0, -1], features: [[0.5, -1e-5, 3, 4]]))
            try writer.close()
            let cache = try FeatureCache(path: path)
            let csv = String(decoding: try cache.exportedBytes(of: "gap", format: .csv), as: UTF8.self)
            #expect(csv == "id,label,f0,f1\nx.jpg,\"a,b\",0.5,-1e-05\n\"y \"\"1\"\".jpg\",,3.0,4.0\n")
            let npy = try cache.exportedBytes(of: "gap", format: .npy)
            let header = String(decoding: npy[10..<70], as: UTF8.self)
            #expect(header.contains("'descr': '<f4'") && header.contains("'shape': (2, 2)"))
            #expect(npy.suffix(16).elementsEqual([Float(0.5), -1e-5, 3, 4].withUnsafeBytes { Array($0) }))
        }
    }
}

@Suite struct Interoperability {
    /// A cache written by h5py following `schemas/feature-cache.md` reads as the script says.
    @Test func readsTheCacheH5pyWrote() throws {
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtureFolder().appendingPathComponent("h5py-cache.json"))) as! [String: Any]
        let cache = try FeatureCache(path: fixturePath("h5py-cache.h5"))
        #expect(cache.rowCount == expected["rows"] as! Int)
        #expect(try cache.ids() == expected["ids"] as! [String])
        #expect(try cache.labels() == (expected["labels"] as! [Int]).map(Int64.init))
        #expect(cache.classes == expected["classes"] as! [String])
        #expect(cache.layers == expected["layers"] as! [String])
        let features = expected["features"] as! [String: [Double]]
        for layer in cache.layers {
            #expect(try cache.features(of: layer) == features[layer]!.map(Float.init))
        }
        #expect(try cache.failures().map(\.id) == expected["failed"] as! [String])
    }

    /// Debian's `h5dump` (HDF5 1.10) reads a cache graft wrote, attributes and data.
    @Test(.enabled(if: executablePath("h5dump") != nil, "h5dump is not installed (apt install hdf5-tools)"))
    func h5dumpReadsTheCache() throws {
        let h5dump = try #require(executablePath("h5dump"))
        try withTemporaryFolder { folder in
            let path = folder + "/cache.h5"
            let writer = try FeatureCacheWriter(creating: path, provenance: testProvenance(), dimensions: [3, 2],
                                                classes: ["cat", "dog"], compressed: true)
            try writer.append(testBatch(first: 0, count: 3, dimensions: [3, 2]))
            try writer.close()
            let result = try runProgram(h5dump, ["-A", "0", "-d", "/ids", path])
            #expect(result.status == 0)
            #expect(result.output.contains("\"img2.jpg\""))
            let attributes = try runProgram(h5dump, ["-H", "-a", "/rows", path])
            #expect(attributes.status == 0)
            let features = try runProgram(h5dump, ["-d", "/features/fc%2F1", path])
            #expect(features.status == 0)
            #expect(features.output.contains("2000, 2001, 2002"))
            // The crash-safety settings of schemas/feature-cache.md, as h5dump sees them.
            let superblock = try runProgram(h5dump, ["-B", "-H", path])
            #expect(superblock.output.contains("ISTORE_K 2048"))
            #expect(superblock.output.contains("FILE_SPACE_STRATEGY H5F_FSPACE_STRATEGY_NONE"))
        }
    }
}

@Suite struct RerunWithoutNews {
    /// Fuzzing finding 7: a rerun that only retries the same undecodable files used to append
    /// their failures again and then the compacted list, growing `/failed/*` on every rerun.
    @Test func rerunWithSameFailuresLeavesEveryDatasetUnchanged() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/cache.h5"
            let provenance = testProvenance()
            let bad = (0..<3).map { FeatureCacheFailure(id: "bad\($0).jpg", reason: "cannot decode") }
            let writer = try FeatureCacheWriter.openOrCreate(at: path, provenance: provenance, dimensions: [3, 2],
                                                             classes: ["cat", "dog"], compressed: false)
            try writer.append(testBatch(first: 0, count: 4, dimensions: [3, 2], failures: bad))
            try writer.close()

            func extents() throws -> [String: [Int]] {
                let file = try HDF5File(opening: path)
                var result: [String: [Int]] = [:]
                for name in ["/features/fc%2F1", "/features/gap", "/labels", "/ids", "/classes", "/failed/ids", "/failed/reasons"] {
                    result[name] = try file.dataset(name).shape
                }
                return result
            }
            let before = try extents()
            #expect(before["/failed/ids"] == [3])
            for _ in 0..<2 {
                let rerun = try FeatureCacheWriter.openOrCreate(at: path, provenance: provenance, dimensions: [3, 2],
                                                                classes: ["cat", "dog"], compressed: false)
                try rerun.append(testBatch(first: 0, count: 0, dimensions: [3, 2], failures: bad))
                try rerun.close()
                #expect(try extents() == before)
                #expect(try FeatureCache(path: path).failures() == bad)
            }
        }
    }
}
