#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
/// An output file that appears under its final name only when it is complete.
///
/// Bytes go to a temporary file in the destination's folder (`.NAME.tmp-PID-N`). `commit()`
/// flushes it to disk with `fsync`, renames it over the destination and syncs the folder, so a
/// crash at any moment leaves either the old file or the whole new one, never a partial file
/// under the final name. An uncommitted file is removed when this object is released.
public final class AtomicOutputFile {
    /// The final path.
    public let path: String
    /// The temporary path being written.
    public let temporaryPath: String
    private var descriptor: Int32
    private var committed = false

    /// Distinguishes temporary files created by one process for the same destination.
    private static let counter = Atomic<Int>(0)

    /// Creates the temporary file next to `path`.
    public init(path: String) throws(FileError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let serial = AtomicOutputFile.counter.add(1, ordering: .relaxed).newValue
        temporaryPath = (folder.isEmpty ? "" : folder + "/") + ".\(name).tmp-\(getpid())-\(serial)"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .cannotCreate(path: path, reason: systemErrorMessage())
        }
    }

    /// Appends `bytes` to the temporary file.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        guard var next = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = systemWrite(descriptor, next, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: path, reason: systemErrorMessage())
            }
            remaining -= written
            next += written
        }
    }

    /// Appends the bytes of an array.
    public func write(_ bytes: [UInt8]) throws(FileError) {
        let result: Result<Void, FileError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(FileError) in try write(buffer) }
        }
        try result.get()
    }

    /// Appends `count` zero bytes.
    public func writeZeros(_ count: Int) throws(FileError) {
        guard count > 0 else { return }
        try write([UInt8](repeating: 0, count: count))
    }

    /// Syncs the temporary file and renames it to the final path.
    public func commit() throws(FileError) {
        guard !committed else { return }
        guard fsync(descriptor) == 0 else { throw .writeFailed(path: path, reason: systemErrorMessage()) }
        guard close(descriptor) == 0 else {
            descriptor = -1
            throw .writeFailed(path: path, reason: systemErrorMessage())
        }
        descriptor = -1
        guard rename(temporaryPath, path) == 0 else {
            throw .cannotCreate(path: path, reason: systemErrorMessage())
        }
        committed = true
        syncFolder(of: path)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if !committed { unlink(temporaryPath) }
    }
}

/// Flushes a folder's entry table so that a rename in it survives a power cut.
package func syncFolder(of path: String) {
    let slash = path.lastIndex(of: "/")
    let folder = slash.map { String(path[..<$0]) } ?? "."
    let fd = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 {
        fsync(fd)
        close(fd)
    }
}

/// Writes `bytes` to `path` atomically (see `AtomicOutputFile`).
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws(FileError) {
    let file = try AtomicOutputFile(path: path)
    try file.write(bytes)
    try file.commit()
}

/// `write(2)`, named apart from `AtomicOutputFile.write`.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
