public import ArgumentParser
import GraftSupport
import Foundation
/// The `graft` command: one subcommand per pipeline step.
public struct Graft: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "graft",
        abstract: "Transfer learning on the command line: import pretrained networks, cache features, train heads, measure AUC and classification metrics.",
        version: GraftVersion.current,
        subcommands: [Inspect.self, Convert.self, Run.self, Diff.self, AUC.self, Report.self, Cache.self, Preprocess.self, Features.self, Train.self, Predict.self, Attach.self, Export.self]
    )

    public init() {}
}

/// Runs `graft` with the process arguments (or `arguments`) and exits.
///
/// Errors print as `graft: error: …` on stderr. graft's own errors exit with their sysexits
/// status; command-line mistakes exit 64; `--help` and `--version` print to stdout and exit 0.
public enum GraftMain {
    public static func main(arguments: [String]? = nil) -> Never {
        let status = run(arguments: arguments)
        exit(status)
    }

    /// Runs `graft` and returns the exit status instead of exiting.
    public static func run(arguments: [String]?) -> Int32 {
        do {
            var command = try Graft.parseAsRoot(arguments)
            try command.run()
            return ExitStatus.success.rawValue
        } catch let code as ExitCode {
            // A command that has already reported its outcome (`graft diff` over tolerance).
            return code.rawValue
        } catch let error as any GraftError {
            printError("\(error)")
            return error.exitStatus.rawValue
        } catch {
            let code = Graft.exitCode(for: error)
            if code == .success {
                print(Graft.fullMessage(for: error))
                return 0
            }
            let message = Graft.fullMessage(for: error)
            printError(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message)
            return code == .validationFailure ? ExitStatus.usage.rawValue : code.rawValue
        }
    }
}

/// Writes `graft: error: <message>` to stderr.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("graft: error: \(message)\n".utf8))
}

/// Writes a diagnostic line (progress, notes) to stderr.
func printDiagnostic(_ message: String) {
    FileHandle.standardError.write(Data("graft: \(message)\n".utf8))
}
