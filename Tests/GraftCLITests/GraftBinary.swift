import Foundation
import GraftTestSupport
/// Runs the built `graft` executable, as a shell user would.
struct GraftBinary {
    struct Result {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    static let repository = repositoryRoot

    /// The `graft` built next to this test bundle, or the one `GRAFT_BINARY` names (`make test`
    /// runs these tests a second time on the release build, whose optimiser can expose undefined
    /// behaviour a debug build hides).
    static let url: URL = {
        if let chosen = ProcessInfo.processInfo.environment["GRAFT_BINARY"], !chosen.isEmpty {
            return URL(fileURLWithPath: chosen)
        }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("graft")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return repository.appendingPathComponent(".build/debug/graft")
    }()

    static func run(_ arguments: [String], input: Data? = nil) throws -> Result {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.currentDirectoryURL = repository
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        if let input {
            let pipe = Pipe()
            process.standardInput = pipe
            try process.run()
            pipe.fileHandleForWriting.write(input)
            try pipe.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      standardOutput: String(decoding: outputData, as: UTF8.self),
                      standardError: String(decoding: errorData, as: UTF8.self))
    }
}
