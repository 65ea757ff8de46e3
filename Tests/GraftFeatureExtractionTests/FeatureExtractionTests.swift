import GraftFeatureCache
import GraftFeatureExtraction
import Foundation
import GraftTestSupport
import GraftImages
import GraftTensors
import Testing
@Suite struct KerasParity {
    /// The penultimate layer of a converted Keras model against Keras's own
    /// load_img + preprocess_input + predict, for JPEG and PNG crops of real photos.
    @Test func penultimateFeaturesMatchKeras() throws {
        try withTemporaryFolder { folder in
            let extractor = try FeatureExtractor(modelPath: fixturePath("tiny.graft"), options: kerasOptions())
            #expect(extractor.layers == ["gap"])
            #expect(extractor.dimensions == [8])
            let cachePath = folder + "/cache.h5"
            let inputs = try InputList(folder: fixturePath("images"))
            let summary = try extractor.extract(inputs, into: cachePath)
            #expect(summary.added == 6 && summary.failed == 0 && summary.rows == 6)

            let cache = try FeatureCache(path: cachePath)
            let ids = try cache.ids()
            #expect(ids == ["china/china0.jpg", "china/china1.png", "china/china2.jpg",
                            "flower/flower0.jpg", "flower/flower1.png", "flower/flower2.jpg"])
            #expect(cache.classes == ["china", "flower"])
            #expect(try cache.labels() == [0, 0, 0, 1, 1, 1])
            let reference = KerasReference.shared
            let expected = reference.rows(of: reference.gap, for: ids.map { "images/" + $0 })
            let error = featureTensor(try cache.features(of: "gap"), rows: 6).relativeMaxError(to: expected)
            #expect(error <= 1e-4, "relative max error \(error)")
            #expect(cache.provenance.modelSHA256 == extractor.modelSHA256)
            #expect(cache.provenance.preprocessing == extractor.preprocessing.jsonText())
        }
    }

    /// Pooling `conv2` (NHWC) by average and maximum, and flattening it, against Keras's
    /// unpooled activation reduced here.
    @Test(arguments: [FeaturePooling.none, .avg, .max]) func pooledLayerMatchesKeras(pooling: FeaturePooling) throws {
        try withTemporaryFolder { folder in
            let extractor = try FeatureExtractor(modelPath: fixturePath("tiny.graft"),
                                                 options: kerasOptions(layers: ["gap", "conv2"], pooling: pooling))
            #expect(extractor.dimensions == [8, pooling == .none ? 13 * 13 * 8 : 8])
            let cachePath = folder + "/cache.h5"
            _ = try extractor.extract(try InputList(folder: fixturePath("images")), into: cachePath)
            let cache = try FeatureCache(path: cachePath)
            let ids = try cache.ids().map { "images/" + $0 }
            let conv2 = KerasReference.shared.rows(of: KerasReference.shared.conv2, for: ids)
            var expected = conv2.scalars
            if pooling != .none {
                expected = []
                for image in 0..<ids.count {
                    for channel in 0..<8 {
                        let values = (0..<169).map { conv2.scalars[(image * 169 + $0) * 8 + channel] }
                        expected.append(pooling == .avg ? Float(values.map(Double.init).reduce(0, +) / 169) : values.max()!)
                    }
                }
            }
            let error = featureTensor(try cache.features(of: "conv2"), rows: ids.count)
                .relativeMaxError(to: featureTensor(expected, rows: ids.count))
            #expect(error <= 1e-4, "relative max error \(error)")
            // Both layers came from one pass; the penultimate one is unaffected by --pool.
            let gap = KerasReference.shared.rows(of: KerasReference.shared.gap, for: ids)
            #expect(featureTensor(try cache.features(of: "gap"), rows: ids.count).relativeMaxError(to: gap) <= 1e-4)
        }
    }
}

@Suite struct Robustness {
    /// A truncated JPEG, an empty file and a text file named .jpg fail with reasons; a 16-bit
    /// PNG, an RGBA PNG and a CMYK JPEG are decoded, and match Keras.
    @Test func oddFilesAreDecodedOrRecorded() throws {
        try withTemporaryFolder { folder in
            let extractor = try FeatureExtractor(modelPath: fixturePath("tiny.graft"), options: kerasOptions(batchSize: 3))
            let cachePath = folder + "/cache.h5"
            let summary = try extractor.extract(try InputList(folder: fixturePath("odd")), into: cachePath)
            #expect(summary.added == 4 && summary.failed == 3)
            let cache = try FeatureCache(path: cachePath)
            let ids = try cache.ids()
            #expect(ids == ["alpha.png", "cmyk.jpg", "deep16.png", "good.jpg"])
            #expect(try cache.labels() == [-1, -1, -1, -1])
            let failures = try cache.failures()
            #expect(Set(failures.map(\.id)) == ["empty.jpg", "text.jpg", "truncated.jpg"])
            #expect(failures.allSatisfy { !$0.reason.isEmpty && !$0.reason.contains("\n") && !$0.reason.contains(folder) })
            let expected = KerasReference.shared.rows(of: KerasReference.shared.gap, for: ids.map { "odd/" + $0 })
            let error = featureTensor(try cache.features(of: "gap"), rows: 4).relativeMaxError(to: expected)
            #expect(error <= 1e-4, "relative max error \(error)")
        }
    }
}

@Suite struct BatchesAndResume {
    /// 7 images in batches of 3 give exactly 7 rows, in input order, whatever the batch size;
    /// an interrupted run (here: a limit) resumed gives the same cache as one run.
    @Test func resumedRunEqualsOneRun() throws {
        try withTemporaryFolder { folder in
            let inputs = try InputList(folder: fixturePath("odd"))
            let whole = folder + "/whole.h5"
            _ = try FeatureExtractor(modelPath: fixturePath("tiny.graft"), options: kerasOptions(batchSize: 3))
                .extract(inputs, into: whole)
            let parts = folder + "/parts.h5"
            let first = try FeatureExtractor(modelPath: fixturePath("tiny.graft"), options: kerasOptions(batchSize: 2, limit: 3))
                .extract(inputs, into: parts)
            #expect(first.added + first.failed == 3)
            let second = try FeatureExtractor(modelPath: fixturePath("tiny.graft"), options: kerasOptions(batchSize: 5))
                .extract(inputs, into: parts)
            #expect(second.skipped == first.added)
            let a = try FeatureCache(path: whole), b = try FeatureCache(path: parts)
            #expect(try a.ids() == b.ids())
            #expect(try a.labels() == b.labels())
            #expect(try a.features(of: "gap") == b.features(of: "gap"))
            #expect(Set(try a.failures()) == Set(try b.failures()))
        }
    }

    /// Whether an image's features depend on its batch: position 0 vs 5, batch of 1 vs 8.
    @Test func featuresDoNotDependOnTheBatch() throws {
        let extractor = try FeatureExtractor(modelPath: fixturePath("tiny.graft"), options: kerasOptions(layers: ["gap", "conv2"]))
        let preprocessor = try Preprocessor(extractor.preprocessing)
        let paths = try InputList(folder: fixturePath("images")).items.map(\.path)
        let images = try paths.map { try preprocessor.tensor(forImageAt: $0) }
        let size = preprocessor.elementCount
        func batch(_ order: [Int]) -> Tensor {
            Tensor(shape: [order.count] + preprocessor.shape.dropFirst(), scalars: order.flatMap { images[$0].scalars })
        }
        let alone = try extractor.features(of: batch([0]))
        let eight = try extractor.features(of: batch([0, 1, 2, 3, 4, 0, 5, 1]))
        for (layer, dimension) in extractor.dimensions.enumerated() {
            #expect(Array(eight[layer][0..<dimension]) == alone[layer], "position 0 of 8 vs alone, layer \(layer)")
            #expect(Array(eight[layer][(5 * dimension)..<(6 * dimension)]) == alone[layer], "position 5 of 8 vs alone, layer \(layer)")
        }
        _ = size
    }
}

@Suite struct InputLists {
    @Test func listLinesSplitAtTheLastSpace() throws {
        let list = try InputList(listText: "a b/my photo.jpg dog\r\n/abs/x.png cat\n\nbare.jpg\n", root: "/data")
        #expect(list.items.map(\.id) == ["a b/my photo.jpg", "/abs/x.png", "bare.jpg"])
        #expect(list.items.map(\.path) == ["/data/a b/my photo.jpg", "/abs/x.png", "/data/bare.jpg"])
        #expect(list.classes == ["cat", "dog"])
        #expect(list.items.map(\.label) == [1, 0, -1])
    }

    @Test func integerLabelsSortByValue() throws {
        let list = try InputList(listText: "a.jpg 10\nb.jpg 2\nc.jpg 0\n")
        #expect(list.classes == ["0", "2", "10"])
        #expect(list.items.map(\.label) == [2, 1, 0])
    }

    @Test func fixedClassesAndErrors() throws {
        let list = try InputList(listText: "a.jpg dog\n", fixedClasses: ["cat", "dog", "emu"])
        #expect(list.items.map(\.label) == [1])
        #expect(throws: ExtractionError.unknownClass(name: "yak", id: "a.jpg", classes: ["cat"])) {
            _ = try InputList(listText: "a.jpg yak\n", fixedClasses: ["cat"])
        }
        #expect(throws: ExtractionError.duplicateListEntry(list: nil, id: "a.jpg", firstLine: 1, line: 2)) {
            _ = try InputList(listText: "a.jpg cat\na.jpg dog\n")
        }
        #expect(throws: ExtractionError.self) { _ = try InputList(folder: "/nonexistent/folder") }
    }

    @Test func hashCoversIdsAndLabels() throws {
        let a = try InputList(listText: "a.jpg cat\nb.jpg dog\n"), b = try InputList(listText: "a.jpg dog\nb.jpg cat\n")
        #expect(a.sha256 != b.sha256)
        #expect(a.sha256 == (try InputList(listText: "a.jpg cat\r\nb.jpg dog")).sha256)
    }

    @Test(arguments: ["images-pax.tar", "images-gnu.tar"]) func tarStreams(name: String) throws {
        let descriptor = open(fixturePath(name), O_RDONLY)
        defer { close(descriptor) }
        let tar = try TarInput(readingFrom: descriptor)
        defer { try? FileManager.default.removeItem(atPath: tar.folder) }
        let longFolder = "flower/" + String(repeating: "very-long-folder-name-", count: 5)
        #expect(tar.entries.map(\.id) == ["china/china0.jpg", longFolder + "/fleur-été.png", "loose.jpg"])
        #expect(tar.entries.map(\.className) == ["china", "flower", nil])
        let copied = try Data(contentsOf: URL(fileURLWithPath: tar.entries[1].path))
        #expect(copied == (try Data(contentsOf: fixtureFolder().appendingPathComponent("images/flower/flower1.png"))))
    }
}

/// Fuzzing finding 6: list errors name the lines involved.
@Suite struct ListErrorsNameLines {
    private func errorMessage(_ text: String) -> String {
        do { _ = try InputList(listText: text); return "" } catch { return "\(error)" }
    }

    @Test func blankPathIsReportedWithItsLineNumber() {
        let message = errorMessage("a.jpg cat\n 1\nb.jpg dog\n")
        #expect(message.contains("line 2"), "\(message)")
        #expect(message.contains("blank"), "\(message)")
    }

    @Test func duplicateNamesBothLines() {
        let message = errorMessage("a.jpg cat\nb.jpg cat\na.jpg dog\n")
        #expect(message.contains("line 1"), "\(message)")
        #expect(message.contains("line 3"), "\(message)")
        #expect(message.contains("'a.jpg'"), "\(message)")
    }
}

/// Fuzzing finding 6: tar errors name the member and the byte offset.
@Suite struct TarErrorsNameMemberAndOffset {
    private func tarError(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "graft-tar-test-\(getpid())-\(bytes.count).tar"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        do {
            let tar = try TarInput(readingFrom: descriptor)
            try? FileManager.default.removeItem(atPath: tar.folder)
            return ""
        } catch { return "\(error)" }
    }

    @Test func truncatedMemberIsNamed() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath("images-gnu.tar"))))
        // The header of the first image member, then 700 bytes into its data.
        let marker = Array("./china/china0.jpg".utf8)
        let header = try #require((0..<(bytes.count / 512)).map { $0 * 512 }.first { Array(bytes[$0..<($0 + marker.count)]) == marker })
        let message = try tarError(Array(bytes[..<(header + 512 + 700)]))
        #expect(message.contains("'china/china0.jpg'"), "\(message)")
        #expect(message.contains("byte \(header)"), "\(message)")
    }

    /// A pax record whose length does not cover its own "LENGTH " prefix (found by fuzzing: the
    /// record's range came out inverted and trapped) ends the pax parsing instead.
    @Test func paxRecordsShorterThanTheirPrefixAreIgnored() throws {
        var header = [UInt8](repeating: 0, count: 512)
        let name = Array("PaxHeaders/x".utf8)
        header.replaceSubrange(0..<name.count, with: name)
        let data = Array("1 path=a.jpg\n".utf8)
        for (offset, field) in [(100, "0000644\0"), (108, "0000000\0"), (116, "0000000\0"),
                                (124, String(data.count, radix: 8).leftPadded(to: 11) + "\0"),
                                (136, "00000000000\0")] {
            header.replaceSubrange(offset..<(offset + field.utf8.count), with: Array(field.utf8))
        }
        header[156] = UInt8(ascii: "x")
        header.replaceSubrange(257..<263, with: Array("ustar\0".utf8))
        header.replaceSubrange(263..<265, with: Array("00".utf8))
        header.replaceSubrange(148..<156, with: [UInt8](repeating: UInt8(ascii: " "), count: 8))
        let checksum = header.reduce(0) { $0 + Int($1) }
        header.replaceSubrange(148..<156, with: Array((String(checksum, radix: 8).leftPadded(to: 6) + "\0 ").utf8))
        var bytes = header + data + [UInt8](repeating: 0, count: 512 - data.count)
        bytes += [UInt8](repeating: 0, count: 1024)
        // Before the fix this trapped; now the stream reads as one with no images.
        let message = try tarError(bytes)
        #expect(message.isEmpty, "\(message)")
    }

    @Test func badChecksumGivesTheOffset() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath("images-gnu.tar"))))
        let marker = Array("loose.jpg".utf8)
        let header = try #require((0..<(bytes.count / 512)).map { $0 * 512 }.first { Array(bytes[$0..<($0 + marker.count)]) == marker })
        bytes[header] = UInt8(ascii: "L")
        let message = try tarError(bytes)
        #expect(message.contains("byte \(header)"), "\(message)")
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
