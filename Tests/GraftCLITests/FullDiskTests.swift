import Foundation
import GraftTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs the test mounts (as root) to run graft out of space.
final class SmallFileSystem {
    let mountPoint: String

    /// Why mounting is impossible here, or nil when a tmpfs can be mounted.
    static let unavailability: String? = {
        guard getuid() == 0 else { return "mounting a tmpfs needs root" }
        do {
            _ = try SmallFileSystem(megabytes: 1)
            return nil
        } catch {
            return "mount -t tmpfs failed: \(error.localizedDescription)"
        }
    }()

    init(megabytes: Int) throws {
        mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("graft-tmpfs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let result = try runProgram(executablePath("mount") ?? "/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", mountPoint])
        guard result.status == 0 else {
            try? FileManager.default.removeItem(atPath: mountPoint)
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSLocalizedDescriptionKey: result.error])
        }
    }

    func path(_ name: String) -> String { mountPoint + "/" + name }

    /// Grows (or shrinks) the file system in place, keeping its files.
    func resize(megabytes: Int) throws {
        let result = try runProgram(executablePath("mount") ?? "/bin/mount", ["-o", "remount,size=\(megabytes)m", mountPoint])
        #expect(result.status == 0, "\(result.error)")
    }

    /// Fills every free byte with a file named `filler`.
    func fill() throws {
        let descriptor = open(path("filler"), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(descriptor) }
        let block = [UInt8](repeating: 0, count: 65536)
        while block.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Files other than the filler.
    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: mountPoint).filter { $0 != "filler" }.sorted()
    }

    deinit {
        _ = try? runProgram(executablePath("umount") ?? "/bin/umount", [mountPoint])
        try? FileManager.default.removeItem(atPath: mountPoint)
    }
}

/// Writing onto a full disk: exit 74 with one line naming the file and the cause, no file that
/// looks whole under the final name, and a feature cache whose committed part stays valid and
/// resumes, once space is freed, to what an uninterrupted run writes.
@Suite(.serialized, .enabled(if: SmallFileSystem.unavailability == nil, "\(SmallFileSystem.unavailability ?? "")"))
struct FullDisk {
    @Test func featuresStopWithTheCommittedRowsIntactAndResumeToTheUninterruptedCache() throws {
        let folder = try TemporaryFolder()
        let images = try FeaturesCommand.manyImages(in: folder, copies: 150)
        // pool1 is 15×15×8 floats a row: 300 rows need about 2.2 MB, more than the 1.5 MB given.
        let arguments = [FeaturesCommand.model, images, "--preprocess", "keras-tf", "--layer", "pool1", "--batch", "4", "--quiet"]
        let reference = folder.path("reference.h5")
        #expect(try GraftBinary.run(["features"] + arguments + ["-o", reference]).status == 0)

        let disk = try SmallFileSystem(megabytes: 2)
        let cache = disk.path("c.h5")
        let full = try GraftBinary.run(["features"] + arguments + ["-o", cache])
        #expect(full.status == 74, "\(full.standardError)")
        #expect(full.standardError.hasPrefix("graft: error: I/O error"), "\(full.standardError)")
        #expect(full.standardError.contains("'\(cache)'") && full.standardError.contains("No space left on device"))
        #expect(full.standardError.split(separator: "\n").count == 1)
        let left = try disk.contents()
        #expect(left == ["c.h5"], "left behind: \(left)")
        // The committed part opens and is smaller than the whole.
        let committed = try FeaturesCommand.ids(cache)
        #expect(committed.count < 300)

        try disk.resize(megabytes: 16)
        let resumed = try GraftBinary.run(["features"] + arguments + ["-o", cache])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try FeaturesCommand.ids(cache) == (try FeaturesCommand.ids(reference)))
        #expect(try FeaturesCommand.features(cache, layer: "pool1") == (try FeaturesCommand.features(reference, layer: "pool1")))
    }

    /// `convert`, `train`, `cache merge` and a new cache on a disk with no space left.
    @Test func otherWritersLeaveNothingUnderTheFinalName() throws {
        let folder = try TemporaryFolder()
        let cache = folder.path("c.h5")
        let images = FeaturesCommand.fixtures + "/images"
        #expect(try GraftBinary.run(["features", FeaturesCommand.model, images, "-o", cache, "--preprocess", "keras-tf", "--quiet"]).status == 0)
        let disk = try SmallFileSystem(megabytes: 1)
        try disk.fill()
        let commands: [(String, [String])] = [
            ("model.graft", ["convert", GraftBinary.repository.path + "/Samples/digits-cnn.h5", "-o"]),
            ("head.graft", ["train", cache, "--quiet", "-o"]),
            ("merged.h5", ["cache", "merge", cache, "-o"]),
            ("new.h5", ["features", FeaturesCommand.model, images, "--preprocess", "keras-tf", "--quiet", "-o"]),
        ]
        for (name, arguments) in commands {
            let output = disk.path(name)
            let result = try GraftBinary.run(arguments + [output])
            #expect(result.status == 74, "\(arguments[0]): \(result.standardError)")
            #expect(result.standardError.hasPrefix("graft: error: ") && result.standardError.contains("'\(output)'"),
                    "\(arguments[0]): \(result.standardError)")
            #expect(result.standardError.contains("No space left on device"), "\(arguments[0]): \(result.standardError)")
            #expect(result.standardError.split(separator: "\n").count == 1)
            let left = try disk.contents()
            #expect(left.isEmpty, "\(arguments[0]) left \(left)")
        }
    }
}
