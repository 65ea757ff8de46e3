/// The process exit statuses graft uses, from BSD's `sysexits.h`, and the shell's 128 + signal
/// for a run stopped cleanly by SIGINT or SIGTERM.
///
/// Every error graft throws maps to one of these, so a shell script can tell a usage mistake
/// from bad data, a missing file, an unwritable output, an I/O failure or an interruption.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Success.
    case success = 0
    /// A command-line usage error (`EX_USAGE`).
    case usage = 64
    /// The input data was incorrect or unsupported (`EX_DATAERR`).
    case dataError = 65
    /// An input file did not exist or was not readable (`EX_NOINPUT`).
    case noInput = 66
    /// An output file could not be created (`EX_CANTCREAT`).
    case cannotCreate = 73
    /// An error occurred while doing I/O on a file (`EX_IOERR`).
    case ioError = 74
    /// Stopped by SIGINT (Ctrl-C) after committing its work: 128 + 2, what a shell reports.
    case interrupted = 130
    /// Stopped by SIGTERM after committing its work: 128 + 15.
    case terminated = 143
}

/// An error that graft reports to a shell user.
///
/// `description` is one sentence that names the file, the part of it and what was expected; the
/// command-line front end prints it as `graft: error: <description>` and exits with `exitStatus`.
public protocol GraftError: Error, CustomStringConvertible {
    /// The exit status the `graft` command uses for this error.
    var exitStatus: ExitStatus { get }
}

/// Errors from opening, reading and writing files.
public enum FileError: GraftError, Equatable {
    /// The file does not exist or cannot be opened for reading.
    case cannotOpen(path: String, reason: String)
    /// Reading or mapping an open file failed.
    case readFailed(path: String, reason: String)
    /// The output file (or its temporary sibling) cannot be created.
    case cannotCreate(path: String, reason: String)
    /// Writing, syncing or renaming an output file failed.
    case writeFailed(path: String, reason: String)

    public var exitStatus: ExitStatus {
        switch self {
        case .cannotOpen: .noInput
        case .readFailed: .ioError
        case .cannotCreate: .cannotCreate
        case .writeFailed: .ioError
        }
    }

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open '\(path)': \(reason)"
        case let .readFailed(path, reason): "cannot read '\(path)': \(reason)"
        case let .cannotCreate(path, reason): "cannot create '\(path)': \(reason)"
        case let .writeFailed(path, reason): "cannot write '\(path)': \(reason)"
        }
    }
}
