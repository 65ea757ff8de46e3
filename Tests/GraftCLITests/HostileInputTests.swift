import Foundation
import GraftTestSupport
import Testing

/// Files of a few KB that claim huge sizes (Tools/fixtures/make_hostile_fixtures.py, and
/// reproducers of fuzzing findings): graft refuses each at once, within 1 GB of address space
/// (`ulimit -v 1000000`), with one line and exit 65; `graft features` records a hostile image
/// as a failure and carries on.
@Suite struct HostileInputs {
    static let hostile = "Tests/GraftCLITests/Fixtures/hostile"

    /// Runs graft under `ulimit -v 1000000` and returns its result and the seconds it took.
    static func runLimited(_ arguments: [String]) throws -> (GraftBinary.Result, Double) {
        let quotedArguments = ([GraftBinary.url.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let start = Date()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -v 1000000; exec \(quotedArguments)"]
        process.currentDirectoryURL = GraftBinary.repository
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (GraftBinary.Result(status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
                                   standardError: String(decoding: errorData, as: UTF8.self)), Date().timeIntervalSince(start))
    }

    @Test(arguments: [
        ["run", "Samples/tiny-cnn.graft", "--input", "\(hostile)/huge-shape.npy", "--output", "OUT"],
        ["convert", "\(hostile)/conv1.prototxt", "\(hostile)/huge-blob.caffemodel", "-o", "OUT"],
        ["convert", "Tests/Fuzz/Regressions/keras-h5/keras-h5-timeout-c821a7649da176b6def3e351b89806421611aeaf", "-o", "OUT"],
        ["convert", "Tests/Fuzz/Regressions/keras-h5/dataset-extent-past-file-size", "-o", "OUT"],
        ["convert", "Tests/Fuzz/Regressions/keras-h5/attribute-count-past-file-size", "-o", "OUT"],
        ["convert", "Tests/Fuzz/Regressions/keras-h5/global-heap-reserved-bytes", "-o", "OUT"],
        ["convert", "Tests/Fuzz/Regressions/keras-h5/local-heap-free-list-cycle", "-o", "OUT"],
        ["convert", "\(hostile)/huge-member.keras", "-o", "OUT"],
        ["cache", "info", "Tests/Fuzz/Regressions/cache/cache-crash-293f27ee1d7b851c0ec0192c08a62c0ab05ff83a"],
        ["cache", "info", "Tests/Fuzz/Regressions/cache/vlen-attribute-shorter-than-references"],
        ["train", "Tests/Fuzz/Regressions/cache/cache-crash-6e97c98c0f1d135707c5028a0be41dbba07a7a9b", "-o", "OUT"],
        ["train", "Tests/Fuzz/Regressions/cache/string-reference-to-missing-object", "-o", "OUT"],
        ["cache", "info", "Tests/Fuzz/Regressions/cache/string-reference-to-missing-collection"],
        ["train", "Tests/Fuzz/Regressions/cache/local-heap-segment-past-file", "-o", "OUT"],
        ["preprocess", "Samples/tiny-cnn.graft", "Tests/GraftImagesTests/Fixtures/broken/huge.png", "-o", "OUT", "--preprocess", "none"],
        ["preprocess", "Samples/tiny-cnn.graft", "Tests/GraftImagesTests/Fixtures/formats/broken/huge.tif", "-o", "OUT", "--preprocess", "none"],
        ["preprocess", "Samples/tiny-cnn.graft", "Tests/GraftImagesTests/Fixtures/formats/broken/huge.webp", "-o", "OUT", "--preprocess", "none"],
        ["preprocess", "Samples/tiny-cnn.graft", "Tests/GraftImagesTests/Fixtures/formats/broken/huge.gif", "-o", "OUT", "--preprocess", "none"],
        ["preprocess", "Samples/tiny-cnn.graft", "Tests/GraftImagesTests/Fixtures/formats/broken/huge.bmp", "-o", "OUT", "--preprocess", "none"],
    ])
    func aHostileFileFailsFastWithinAGigabyte(arguments: [String]) throws {
        let folder = try TemporaryFolder()
        let (result, seconds) = try HostileInputs.runLimited(arguments.map { $0 == "OUT" ? folder.path("out") : $0 })
        #expect(result.status == 65, "\(arguments): \(result.standardError)")
        #expect(result.standardError.hasPrefix("graft: error: ") && result.standardError.split(separator: "\n").count == 1,
                "\(result.standardError)")
        #expect(seconds < 20, "\(arguments) took \(seconds) s")
        #expect(try folder.contents().isEmpty)
    }

    /// In `graft features`, an image declaring 10^10 pixels is a recorded failure, and
    /// `--max-pixels` lowers the cap so that ordinary photos are refused the same way.
    @Test func hostileImagesAreRecordedFailuresAndTheCapIsAnOption() throws {
        let folder = try TemporaryFolder()
        let images = folder.path("images")
        try FileManager.default.createDirectory(atPath: images + "/a", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: GraftBinary.repository.path + "/Tests/GraftImagesTests/Fixtures/broken/huge.png",
                                         toPath: images + "/a/huge.png")
        try FileManager.default.copyItem(atPath: FeaturesCommand.fixtures + "/images/china/china0.jpg", toPath: images + "/a/photo.jpg")
        let cache = folder.path("c.h5")
        let (result, seconds) = try HostileInputs.runLimited(["features", FeaturesCommand.model, images, "-o", cache, "--preprocess", "keras-tf"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(seconds < 20)
        let failed = try FeaturesCommand.info(cache)["failed"] as! [[String: String]]
        #expect(failed.map { $0["id"] } == ["a/huge.png"])
        #expect(failed.first?["reason"]?.contains("declares 100000×100000 pixels") == true, "\(failed)")

        let capped = folder.path("capped.h5")
        let small = try GraftBinary.run(["features", FeaturesCommand.model, images, "-o", capped, "--preprocess", "keras-tf", "--max-pixels", "100"])
        #expect(small.status == 0, "\(small.standardError)")
        #expect((try FeaturesCommand.info(capped)["failed"] as! [[String: String]]).count == 2)
        #expect(try GraftBinary.run(["features", FeaturesCommand.model, images, "-o", capped, "--max-pixels", "0"]).status == 64)
    }
}
