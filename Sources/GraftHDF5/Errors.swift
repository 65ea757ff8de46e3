internal import CGraftHDF5
public import GraftSupport
/// An HDF5 operation that failed, described for the person running graft.
///
/// Every case names the file; `description` is one sentence that says what graft was doing and,
/// for library failures, what HDF5 itself reported (the innermost messages of its error stack).
public enum HDF5Error: GraftError, Equatable {
    /// The file does not exist, is not readable (or writable, when opened for writing), or HDF5
    /// refused to open it; `reason` says which.
    case cannotOpen(path: String, reason: String)
    /// The file cannot be created.
    case cannotCreate(path: String, reason: String)
    /// The file exists but does not start with the HDF5 signature.
    case notHDF5(path: String)
    /// The file has no such object; `object` names it, e.g. "dataset '/model_weights/dense'".
    case notFound(path: String, object: String)
    /// An object cannot be created because something already exists at its path.
    case alreadyExists(path: String, object: String)
    /// The object holds a different kind of data than asked for, e.g. strings read as numbers.
    case wrongType(path: String, object: String, expected: String, actual: String)
    /// Sizes disagree: a buffer, a row count or a shape does not fit the object.
    case sizeMismatch(path: String, object: String, detail: String)
    /// The HDF5 library failed while doing `operation` (e.g. "reading dataset '/x'"); `stack`
    /// is its own explanation. The data is malformed or the request is unsupported.
    case library(path: String, operation: String, stack: String)
    /// Like `library`, but the failure was in reading or writing the disk.
    case ioFailure(path: String, operation: String, stack: String)

    public var exitStatus: ExitStatus {
        switch self {
        case .cannotOpen: .noInput
        case .cannotCreate, .alreadyExists: .cannotCreate
        case .notHDF5, .notFound, .wrongType, .sizeMismatch, .library: .dataError
        case .ioFailure: .ioError
        }
    }

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            "cannot open HDF5 file '\(path)': \(reason)"
        case let .cannotCreate(path, reason):
            "cannot create HDF5 file '\(path)': \(reason)"
        case let .notHDF5(path):
            "'\(path)' is not an HDF5 file (it does not contain the HDF5 signature)"
        case let .notFound(path, object):
            "HDF5 file '\(path)' has no \(object)"
        case let .alreadyExists(path, object):
            "HDF5 file '\(path)' already has \(object)"
        case let .wrongType(path, object, expected, actual):
            "\(object) in HDF5 file '\(path)' holds \(actual), not \(expected)"
        case let .sizeMismatch(path, object, detail):
            "\(object) in HDF5 file '\(path)': \(detail)"
        case let .library(path, operation, stack):
            "HDF5 failed \(operation) in '\(path)': \(singleLine(stack))"
        case let .ioFailure(path, operation, stack):
            "I/O error \(operation) in '\(path)': \(singleLine(stack))"
        }
    }
}

extension HDF5Error {
    /// The same error about `path` instead of `temporary`: for files written under a temporary
    /// name and renamed into place, the user knows only the final name.
    public func naming(_ path: String, insteadOf temporary: String) -> HDF5Error {
        func swap(_ named: String) -> String { named == temporary ? path : named }
        return switch self {
        case let .cannotOpen(named, reason): .cannotOpen(path: swap(named), reason: reason)
        case let .cannotCreate(named, reason): .cannotCreate(path: swap(named), reason: reason)
        case let .notHDF5(named): .notHDF5(path: swap(named))
        case let .notFound(named, object): .notFound(path: swap(named), object: object)
        case let .alreadyExists(named, object): .alreadyExists(path: swap(named), object: object)
        case let .wrongType(named, object, expected, actual): .wrongType(path: swap(named), object: object, expected: expected, actual: actual)
        case let .sizeMismatch(named, object, detail): .sizeMismatch(path: swap(named), object: object, detail: detail)
        case let .library(named, operation, stack): .library(path: swap(named), operation: operation, stack: stack)
        case let .ioFailure(named, operation, stack): .ioFailure(path: swap(named), operation: operation, stack: stack)
        }
    }
}

/// Returns `result` if it is a valid identifier or a successful status (not negative); otherwise
/// throws the error on HDF5's error stack, for the file at `path`, while doing `operation`.
///
/// Call it with the library lock held, straight after the failing call, before anything else
/// can reset the error stack.
@discardableResult
func check<Result: BinaryInteger>(
    _ result: Result, in path: String, _ operation: @autoclosure () -> String
) throws(HDF5Error) -> Result {
    guard result < 0 else { return result }
    throw libraryError(in: path, operation())
}

/// The error on HDF5's error stack (which this clears), as an `HDF5Error`.
func libraryError(in path: String, _ operation: String) -> HDF5Error {
    let stack = ErrorStack.current()
    return stack.isInputOutputFailure
        ? .ioFailure(path: path, operation: operation, stack: stack.summary)
        : .library(path: path, operation: operation, stack: stack.summary)
}

/// The entries of HDF5's default error stack, innermost (most specific) first.
struct ErrorStack {
    struct Entry {
        var major: hid_t
        var minor: hid_t
        var description: String
        var minorMessage: String
    }

    var entries: [Entry] = []

    /// Collects the current error stack and clears it.
    static func current() -> ErrorStack {
        final class Collector { var entries: [Entry] = [] }
        let collector = Collector()
        withLibrary {
            // The callback only copies; looking up message texts is another API call, made
            // after the walk.
            _ = H5Ewalk2(graft_H5E_DEFAULT(), H5E_WALK_UPWARD, { _, error, data in
                guard let error, let data else { return 0 }
                let record = error.pointee
                Unmanaged<Collector>.fromOpaque(data).takeUnretainedValue().entries.append(Entry(
                    major: record.maj_num, minor: record.min_num,
                    description: record.desc.map { String(cString: $0) } ?? "", minorMessage: ""))
                return 0
            }, Unmanaged.passUnretained(collector).toOpaque())
            _ = H5Eclear2(graft_H5E_DEFAULT())
            for index in collector.entries.indices {
                collector.entries[index].minorMessage = message(for: collector.entries[index].minor)
            }
        }
        return ErrorStack(entries: collector.entries)
    }

    /// Whether the innermost entry blames the disk (HDF5's "Low-level I/O" class, or a read,
    /// write, seek or close error) rather than the data. Outer entries are not consulted: HDF5
    /// labels every failed read "Read failed" on the way out, even when a chunk failed to
    /// decompress.
    var isInputOutputFailure: Bool {
        guard let innermost = entries.first else { return false }
        let ioMinors = [graft_H5E_READERROR(), graft_H5E_WRITEERROR(), graft_H5E_SEEKERROR(), graft_H5E_CLOSEERROR()]
        return innermost.major == graft_H5E_IO() || ioMinors.contains(innermost.minor)
    }

    /// The API-level message followed by the innermost one and its error class, e.g.
    /// "unable to open dataset: object 'x' doesn't exist (object not found)".
    var summary: String {
        guard let innermost = entries.first, let outermost = entries.last else {
            return "HDF5 gave no details"
        }
        var text = ErrorStack.condensed(innermost.description)
        if !innermost.minorMessage.isEmpty,
           innermost.minorMessage.lowercased() != innermost.description.lowercased() {
            text += " (\(innermost.minorMessage.lowercased()))"
        }
        if entries.count > 1, !outermost.description.isEmpty, outermost.description != innermost.description {
            text = outermost.description + ": " + text
        }
        return singleLine(text)
    }
}

extension ErrorStack {
    /// HDF5's low-level I/O messages carry a dump of the call ("file write failed: time = …,
    /// filename = …, file descriptor = 4, errno = 28, error message = 'No space left on device',
    /// buf = …"); this keeps what a user needs: "file write failed: No space left on device
    /// (errno 28)". Other messages are returned unchanged.
    static func condensed(_ description: String) -> String {
        guard let start = description.firstRange(of: "error message = '"),
              let end = description[start.upperBound...].firstIndex(of: "'") else { return description }
        let head = description.firstRange(of: ": time = ").map { String(description[..<$0.lowerBound]) } ?? "system call failed"
        var text = head + ": " + description[start.upperBound..<end]
        if let number = description.firstRange(of: "errno = ") {
            let digits = description[number.upperBound...].prefix { $0.isNumber }
            if !digits.isEmpty { text += " (errno \(digits))" }
        }
        return text
    }
}

/// HDF5's text for an error message id, e.g. "Object not found".
private func message(for id: hid_t) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    let length = H5Eget_msg(id, nil, &buffer, buffer.count)
    guard length > 0 else { return "" }
    return String(decoding: buffer.prefix(min(Int(length), buffer.count - 1)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
