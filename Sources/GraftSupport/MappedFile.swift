#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory.
///
/// The mapping lives as long as this object; `bytes` must not be used after it is released.
/// An empty file maps to an empty buffer (mmap refuses length 0).
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened with, for error messages.
    public let path: String
    /// The file's bytes, valid for the lifetime of this object.
    public let bytes: UnsafeRawBufferPointer
    private let mappedLength: Int

    /// Maps the file at `path`, throwing `FileError.cannotOpen` if it is missing or unreadable.
    public init(path: String) throws(FileError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: systemErrorMessage()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .readFailed(path: path, reason: systemErrorMessage()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .cannotOpen(path: path, reason: "not a regular file")
        }
        let length = Int(info.st_size)
        mappedLength = length
        if length == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw .readFailed(path: path, reason: "mmap failed: \(systemErrorMessage())")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: length)
    }

    deinit {
        if let base = bytes.baseAddress, mappedLength > 0 {
            munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
        }
    }
}

/// The whole file at `path` as UTF-8 text (invalid sequences replaced), through `MappedFile`.
///
/// Used instead of Foundation's `FileManager.contents(atPath:)`, which leaks its read buffer
/// on an empty file (found by fuzzing the Keras JSON reader under LeakSanitizer).
public func readTextFile(_ path: String) throws(FileError) -> String {
    let file = try MappedFile(path: path)
    return String(decoding: file.bytes, as: UTF8.self)
}
