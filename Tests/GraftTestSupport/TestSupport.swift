import Foundation
import GraftHDF5

/// Runs once, before the first temporary folder or fixture path of the test process: the tests
/// start child processes while other tests write HDF5 files, so HDF5's own file locks are off here
/// (see `HDF5FileLocking`). It must run before any test opens a shared fixture: HDF5 refuses to
/// open a file that is already open with the other locking choice ("file locking flag values
/// don't match"), which a fresh-clone CI run saw when one test opened a Keras fixture before any
/// temporary folder existed and another opened it again after.
let testProcessSetUp: Void = HDF5FileLocking.disable()
/// A uniquely named folder under the temporary directory, removed with its contents on release.
public struct TemporaryFolder: ~Copyable {
    public let url: URL

    public init() throws {
        _ = testProcessSetUp
        url = FileManager.default.temporaryDirectory.appendingPathComponent("graft-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The folder's own path.
    public var path: String { url.path }

    /// The path of `name` in the folder.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// The names in the folder, including hidden temporary files, sorted.
    public func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Runs `body` with the path of a new empty temporary folder, removed afterwards.
public func withTemporaryFolder<Result>(_ body: (String) throws -> Result) throws -> Result {
    let folder = try TemporaryFolder()
    return try body(folder.url.path)
}

/// The bytes of the file at `path`.
public func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes `bytes` to the file at `path`, replacing it.
public func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// The repository's root folder (this file is `Tests/GraftTestSupport/TestSupport.swift`).
public let repositoryRoot: URL = {
    _ = testProcessSetUp
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
}()

/// The committed fixtures of the calling test target: every target keeps them in
/// `Tests/<Target>/Fixtures`, next to its source files, and `file` defaults to the caller's file.
public func fixtureFolder(file: String = #filePath) -> URL {
    _ = testProcessSetUp
    return URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Fixtures")
}

/// The path of `name` in the calling test target's `Fixtures` folder.
public func fixturePath(_ name: String, file: String = #filePath) -> String {
    fixtureFolder(file: file).appendingPathComponent(name).path
}

/// The full path of `program` on `PATH`, or nil: for `.enabled(if: executablePath(…) != nil, …)`
/// on tests that need an installed tool.
public func executablePath(_ program: String) -> String? {
    let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    return folders.map { "\($0)/\(program)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs a program to completion and returns its exit status, standard output and standard error.
public func runProgram(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    // Standard output is read to the end before waiting, so a full pipe cannot block the child;
    // the programs run here write little to standard error.
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorText = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorText, as: UTF8.self))
}
