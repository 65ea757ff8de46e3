#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GraftSupport

/// Scores asked for on stdin while stdin is a terminal: nobody is going to type a TSV, so say so
/// (exit 64) rather than wait.
struct MissingScoresError: GraftError {
    var hint: String
    var exitStatus: ExitStatus { .usage }
    var description: String { "no scores file given and stdin is a terminal: give SCORES.tsv or pipe the scores in\(hint)" }

    /// Throws when `path` means stdin (nil or `-`) and stdin is a terminal.
    static func check(_ path: String?, hint: String = "") throws {
        if path == nil || path == "-", isatty(0) != 0 { throw MissingScoresError(hint: hint) }
    }
}
