#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The C library's message for an `errno` value, e.g. "No such file or directory".
package func systemErrorMessage(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
