import Foundation
import GraftTensors
import GraftTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `graft features` on the small Keras CNN and images of FeatureExtractionTests
/// (`Tools/fixtures/make_feature_fixtures.py`).
@Suite struct FeaturesCommand {
    static let fixtures = GraftBinary.repository.path + "/Tests/GraftFeatureExtractionTests/Fixtures"
    static let model = fixtures + "/tiny.graft"

    /// `graft cache info --json` of a cache, parsed.
    static func info(_ cache: String) throws -> [String: Any] {
        let result = try GraftBinary.run(["cache", "info", cache, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        return try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any]
    }

    /// The features of `layer` through `graft cache export --format npy`.
    static func features(_ cache: String, layer: String = "gap") throws -> Tensor {
        let output = cache + ".\(layer).npy"
        let result = try GraftBinary.run(["cache", "export", cache, "--layer", layer, "--format", "npy", "-o", output])
        #expect(result.status == 0, "\(result.standardError)")
        return try Tensor(npyFile: output)
    }

    /// The ids through `graft cache export --format csv`.
    static func ids(_ cache: String) throws -> [String] {
        let result = try GraftBinary.run(["cache", "export", cache, "--format", "csv"])
        #expect(result.status == 0, "\(result.standardError)")
        return result.standardOutput.split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[0]) }
    }

    @Test func folderWithOddFilesRecordsFailuresAndExitsZero() throws {
        let folder = try TemporaryFolder()
        let cache = folder.path("odd.h5")
        let result = try GraftBinary.run(["features", FeaturesCommand.model, FeaturesCommand.fixtures + "/odd", "-o", cache,
                                          "--preprocess", "keras-tf", "--batch", "2"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.contains("wrote 4 rows") && result.standardError.contains("3 failed"))
        let info = try FeaturesCommand.info(cache)
        #expect(info["rows"] as? Int == 4)
        let failed = (info["failed"] as! [[String: String]]).map { $0["id"]! }
        #expect(Set(failed) == ["empty.jpg", "text.jpg", "truncated.jpg"])
        #expect(try FeaturesCommand.ids(cache) == ["alpha.png", "cmyk.jpg", "deep16.png", "good.jpg"])

        // --strict: the same failures exit 65 (and the retried images fail again).
        let strict = try GraftBinary.run(["features", FeaturesCommand.model, FeaturesCommand.fixtures + "/odd", "-o", cache,
                                          "--preprocess", "keras-tf", "--strict", "--quiet"])
        #expect(strict.status == 65)
        #expect(strict.standardError.contains("3 images could not be decoded"))
        #expect(strict.standardError.contains("skipped 4 already cached"))
    }

    @Test func differentOptionsOnAnExistingCacheAreRefused() throws {
        let folder = try TemporaryFolder()
        let cache = folder.path("c.h5")
        let images = FeaturesCommand.fixtures + "/images"
        #expect(try GraftBinary.run(["features", FeaturesCommand.model, images, "-o", cache, "--preprocess", "keras-tf"]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: cache))
        let pooled = try GraftBinary.run(["features", FeaturesCommand.model, images, "-o", cache, "--preprocess", "keras-tf",
                                          "--layer", "conv2", "--pool", "avg"])
        #expect(pooled.status == 65)
        #expect(pooled.standardError.contains("layers (cache: gap, now: conv2), pool (cache: none, now: avg)"), "\(pooled.standardError)")
        let preprocessed = try GraftBinary.run(["features", FeaturesCommand.model, images, "-o", cache, "--preprocess", "keras-torch"])
        #expect(preprocessed.status == 65)
        #expect(preprocessed.standardError.contains("preprocessing (cache:"))
        // Other numerics (the direct algorithm) would change the features' last bits: refused too.
        let exact = try GraftBinary.run(["features", FeaturesCommand.model, images, "-o", cache, "--preprocess", "keras-tf", "--exact"])
        #expect(exact.status == 65)
        #expect(exact.standardError.contains("numerics (cache:"), "\(exact.standardError)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: cache)) == before)
    }

    /// `--depth-16 scale` changes pixels, so an existing cache made without it is refused; the
    /// default, spelt out or not, resumes it (the record leaves `depth_16` out when it is `pil`).
    @Test func depth16IsPartOfTheCachedPreprocessing() throws {
        let folder = try TemporaryFolder()
        let cache = folder.path("c.h5")
        let images = FeaturesCommand.fixtures + "/images"
        #expect(try GraftBinary.run(["features", FeaturesCommand.model, images, "-o", cache, "--preprocess", "keras-tf"]).status == 0)
        let spelt = try GraftBinary.run(["features", FeaturesCommand.model, images, "-o", cache, "--preprocess", "keras-tf",
                                         "--depth-16", "pil"])
        #expect(spelt.status == 0, "\(spelt.standardError)")
        #expect(spelt.standardError.contains("skipped 6 already cached"), "\(spelt.standardError)")
        let scaled = try GraftBinary.run(["features", FeaturesCommand.model, images, "-o", cache, "--preprocess", "keras-tf",
                                          "--depth-16", "scale"])
        #expect(scaled.status == 65)
        #expect(scaled.standardError.contains(#""depth_16":"scale""#), "\(scaled.standardError)")
        let wrong = try GraftBinary.run(["features", FeaturesCommand.model, images, "-o", cache, "--depth-16", "stretch"])
        #expect(wrong.status == 64)
        #expect(wrong.standardError.contains("--depth-16"), "\(wrong.standardError)")
        let preprocess = try GraftBinary.run(["preprocess", FeaturesCommand.model, images + "/china/china0.jpg",
                                              "-o", folder.path("x.npy"), "--preprocess", "keras-tf", "--depth-16", "scale", "--json"])
        #expect(preprocess.status == 0, "\(preprocess.standardError)")
        #expect(preprocess.standardOutput.contains(#""depth_16":"scale""#))
    }

    @Test func listOnStandardInputAndTarStreamGiveTheSameRows() throws {
        let folder = try TemporaryFolder()
        let list = "china/china0.jpg china\nflower/flower1.png flower\n"
        let fromList = folder.path("list.h5")
        let listed = try GraftBinary.run(["features", FeaturesCommand.model, "-", "--root", FeaturesCommand.fixtures + "/images",
                                          "-o", fromList, "--preprocess", "keras-tf"], input: Data(list.utf8))
        #expect(listed.status == 0, "\(listed.standardError)")
        #expect(try FeaturesCommand.ids(fromList) == ["china/china0.jpg", "flower/flower1.png"])

        let fromTar = folder.path("tar.h5")
        let tar = try Data(contentsOf: URL(fileURLWithPath: FeaturesCommand.fixtures + "/images-pax.tar"))
        let streamed = try GraftBinary.run(["features", FeaturesCommand.model, "--tar", "-", "-o", fromTar, "--preprocess", "keras-tf",
                                            "--classes", "china,flower"], input: tar)
        #expect(streamed.status == 0, "\(streamed.standardError)")
        let info = try FeaturesCommand.info(fromTar)
        #expect((info["classes"] as! [[String: Any]]).map { $0["count"] as! Int } == [1, 1])
        let a = try FeaturesCommand.features(fromList), b = try FeaturesCommand.features(fromTar)
        #expect(b.shape == [3, 8])
        #expect(Array(b.scalars[0..<16]) == a.scalars)
        // The members were extracted next to the cache and removed afterwards.
        #expect(try folder.contents().filter { $0.hasPrefix(".graft-tar-") }.isEmpty)
    }

    /// `kill -9` at random moments, each followed by a resume, ends with the same cache as an
    /// uninterrupted run: same ids in the same order, same labels and features, no duplicate id.
    @Test func killedAndResumedRunsEqualAnUninterruptedRun() throws {
        let folder = try TemporaryFolder()
        // 40 copies of the six photos in two classes, plus the broken files: 246 inputs.
        let images = folder.path("images")
        for className in ["china", "flower"] {
            try FileManager.default.createDirectory(atPath: images + "/" + className, withIntermediateDirectories: true)
            for index in 0..<3 {
                let name = "\(className)\(index).\(index == 1 ? "png" : "jpg")"
                for copy in 0..<40 {
                    try FileManager.default.linkItem(atPath: FeaturesCommand.fixtures + "/images/\(className)/\(name)",
                                                     toPath: images + "/\(className)/\(copy)-\(name)")
                }
            }
        }
        for broken in ["empty.jpg", "text.jpg", "truncated.jpg"] {
            try FileManager.default.copyItem(atPath: FeaturesCommand.fixtures + "/odd/" + broken, toPath: images + "/" + broken)
        }
        let arguments = [FeaturesCommand.model, images, "--preprocess", "keras-tf", "--batch", "3", "--threads", "2", "--quiet"]

        let reference = folder.path("reference.h5")
        let whole = try GraftBinary.run(["features"] + arguments + ["-o", reference])
        #expect(whole.status == 0, "\(whole.standardError)")
        // The kills land within the time of a warm run: the first run of a fresh checkout can be
        // several times slower (cold page cache), and with its time every trial ran to the end
        // once in a fresh-clone CI run, leaving nothing to kill.
        let start = Date()
        let again = try GraftBinary.run(["features"] + arguments + ["-o", folder.path("again.h5")])
        #expect(again.status == 0, "\(again.standardError)")
        let runSeconds = Date().timeIntervalSince(start)

        let cache = folder.path("killed.h5")
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        for _ in 0..<8 {
            let process = Process()
            process.executableURL = GraftBinary.url
            process.arguments = ["features"] + arguments + ["-o", cache]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32(Double.random(in: 0.005...max(0.01, runSeconds * 0.6), using: &generator) * 1_000_000))
            let killed = process.isRunning
            if killed {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
            // A run that finished before its kill leaves a whole cache: start the next trial
            // afresh, so that it has something to interrupt.
            if !killed { try? FileManager.default.removeItem(atPath: cache) }
            // Whatever the moment of the kill, the cache (if it was created) opens.
            if FileManager.default.fileExists(atPath: cache) {
                let info = try GraftBinary.run(["cache", "info", cache])
                #expect(info.status == 0, "after a kill: \(info.standardError)")
            }
        }
        #expect(kills > 0)
        // A temporary file of a run killed while creating the cache is removed by the next run.
        let finish = try GraftBinary.run(["features"] + arguments + ["-o", cache])
        #expect(finish.status == 0, "\(finish.standardError)")

        let ids = try FeaturesCommand.ids(cache)
        #expect(ids.count == 240)
        #expect(Set(ids).count == ids.count, "duplicate ids")
        #expect(ids == (try FeaturesCommand.ids(reference)))
        let expected = try FeaturesCommand.features(reference), actual = try FeaturesCommand.features(cache)
        #expect(actual == expected)
        let (a, b) = (try FeaturesCommand.info(cache), try FeaturesCommand.info(reference))
        #expect(a["classes"] as? [[String: AnyHashable]] == b["classes"] as? [[String: AnyHashable]])
        #expect(Set((a["failed"] as! [[String: String]]).map { $0["id"]! }) == ["empty.jpg", "text.jpg", "truncated.jpg"])
        // No temporary file is left next to the cache.
        #expect(try folder.contents().filter { $0.hasPrefix(".") }.isEmpty)
    }

    /// A folder of `copies` hard links to each of two photos, in two classes: enough work at
    /// `--batch 1` for a run to be caught in the middle.
    static func manyImages(in folder: borrowing TemporaryFolder, copies: Int) throws -> String {
        let images = folder.path("many")
        for className in ["china", "flower"] {
            try FileManager.default.createDirectory(atPath: images + "/" + className, withIntermediateDirectories: true)
            for copy in 0..<copies {
                try FileManager.default.linkItem(atPath: FeaturesCommand.fixtures + "/images/\(className)/\(className)0.jpg",
                                                 toPath: images + "/\(className)/\(copy).jpg")
            }
        }
        return images
    }

    /// Starts `graft features` with `arguments` and waits until its cache appears (the run has
    /// created it and is extracting).
    static func startAndWaitForCache(_ arguments: [String], cache: String) throws -> Process {
        let process = Process()
        process.executableURL = GraftBinary.url
        process.arguments = ["features"] + arguments + ["-o", cache]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: cache) && process.isRunning && Date() < deadline { usleep(10_000) }
        return process
    }

    /// One writer per cache: a second run on a cache being written is refused at once (exit 73)
    /// naming the first process; the first is not disturbed, and a killed writer leaves no lock.
    @Test func aSecondWriterIsRefusedNamingTheFirst() throws {
        let folder = try TemporaryFolder()
        let images = try FeaturesCommand.manyImages(in: folder, copies: 200)
        let cache = folder.path("c.h5")
        let arguments = [FeaturesCommand.model, images, "--preprocess", "keras-tf", "--batch", "1", "--threads", "1", "--quiet"]
        let first = try FeaturesCommand.startAndWaitForCache(arguments, cache: cache)
        #expect(first.isRunning, "the first run ended before the test could stop it")
        kill(first.processIdentifier, SIGSTOP)
        let started = Date()
        let second = try GraftBinary.run(["features"] + arguments + ["-o", cache])
        #expect(Date().timeIntervalSince(started) < 20)
        kill(first.processIdentifier, SIGCONT)
        #expect(second.status == 73)
        #expect(second.standardError.hasPrefix("graft: error: the cache '\(cache)' is being written by another process (pid \(first.processIdentifier): "),
                "\(second.standardError)")
        #expect(second.standardError.split(separator: "\n").count == 1)
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        #expect((try FeaturesCommand.ids(cache)).count == 400)
        #expect(try folder.contents().filter { $0.hasPrefix(".") }.isEmpty, "lock file left behind")

        // A writer killed outright releases its lock with its life.
        let killedCache = folder.path("k.h5")
        let killed = try FeaturesCommand.startAndWaitForCache(arguments, cache: killedCache)
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        let resumed = try GraftBinary.run(["features"] + arguments + ["-o", killedCache])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect((try FeaturesCommand.ids(killedCache)).count == 400)
    }

    /// SIGINT and SIGTERM finish and commit the batch in hand, exit 130 and 143 with one line,
    /// and the resumed cache equals an uninterrupted run's.
    @Test(arguments: [SIGINT, SIGTERM])
    func aSignalCommitsTheBatchInHandAndTheCacheResumes(signal: Int32) throws {
        let folder = try TemporaryFolder()
        let images = try FeaturesCommand.manyImages(in: folder, copies: 250)
        let arguments = [FeaturesCommand.model, images, "--preprocess", "keras-tf", "--batch", "1", "--threads", "1"]
        let reference = folder.path("reference.h5")
        #expect(try GraftBinary.run(["features"] + arguments + ["-o", reference, "--batch", "8"]).status == 0)

        let cache = folder.path("c.h5")
        let process = Process()
        process.executableURL = GraftBinary.url
        process.arguments = ["features"] + arguments + ["-o", cache]
        let error = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = error
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: cache) && process.isRunning && Date() < deadline { usleep(10_000) }
        #expect(process.isRunning, "the run ended before the test could signal it")
        kill(process.processIdentifier, signal)
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 128 + signal)
        let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
        #expect(message.hasPrefix("graft: error: stopped by \(name) after committing the batch in hand: '\(cache)' holds "), "\(message)")
        let committed = try FeaturesCommand.ids(cache)
        #expect(committed.count < 500)

        let resumed = try GraftBinary.run(["features"] + arguments + ["-o", cache, "--quiet"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try FeaturesCommand.ids(cache) == (try FeaturesCommand.ids(reference)))
        #expect(try FeaturesCommand.features(cache) == (try FeaturesCommand.features(reference)))
        #expect(try folder.contents().filter { $0.hasPrefix(".") }.isEmpty)
    }
}
