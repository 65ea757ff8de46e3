#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The size in bytes of the file at `path` (following links), or nil if it cannot be examined.
///
/// Parsers use it to bound sizes that a file merely claims (a zip member's length, a dataset's
/// extent) by the bytes actually there, before allocating anything.
public func sizeOfFile(atPath path: String) -> Int? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return Int(info.st_size)
}
