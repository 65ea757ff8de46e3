internal import CGraftHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Moving strings in and out of HDF5 (internal), shared by datasets and attributes.
//
// HDF5 has two string kinds: fixed-length (every element the same number of bytes, padded with
// NULs or spaces) and variable-length (each element a `char *` in memory, on a heap in the file).
// Both carry a character set, ASCII or UTF-8. Reading accepts all of them; bytes that are not
// valid UTF-8 are replaced with U+FFFD.

/// Reads `count` strings of the stored string type `storedType`.
///
/// `read(memoryType, buffer)` performs the actual `H5Dread`/`H5Aread` into `buffer`;
/// `bufferSpace` is a dataspace with `count` selected elements that describes `buffer` (used to
/// free variable-length strings). Call with the library lock held.
func readStringElements(
    count: Int, storedType: hid_t, bufferSpace: hid_t, in path: String, _ operation: String,
    read: (hid_t, UnsafeMutableRawPointer) -> herr_t
) throws(HDF5Error) -> [String] {
    guard count > 0 else { return [] }
    if H5Tis_variable_str(storedType) > 0 {
        let utf8 = H5Tget_cset(storedType) == H5T_CSET_UTF8
        let memoryType = try makeStringType(variableLength: true, utf8: utf8, in: path)
        var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        let status = pointers.withUnsafeMutableBytes { read(memoryType.id, $0.baseAddress!) }
        try check(status, in: path, operation)
        defer { _ = H5Dvlen_reclaim(memoryType.id, bufferSpace, graft_H5P_DEFAULT(), &pointers) }
        return pointers.map { pointer in
            guard let pointer else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
        }
    }
    let memoryType = try Handle(checking: H5Tcopy(storedType), .datatype, in: path, operation)
    let length = H5Tget_size(storedType)
    let padding = H5Tget_strpad(storedType)
    var bytes = [UInt8](repeating: 0, count: count * length)
    let status = bytes.withUnsafeMutableBytes { read(memoryType.id, $0.baseAddress!) }
    try check(status, in: path, operation)
    return (0..<count).map { index in
        var element = bytes[index * length..<(index + 1) * length]
        if let end = element.firstIndex(of: 0) { element = element[..<end] }
        if padding == H5T_STR_SPACEPAD {
            while element.last == UInt8(ascii: " ") { element = element.dropLast() }
        }
        return String(decoding: element, as: UTF8.self)
    }
}

/// Calls `write` with a buffer of `char *` pointers to NUL-terminated UTF-8 copies of `strings`
/// (the in-memory form of variable-length strings) and returns its status. The buffer is never
/// null, even for no strings. A string is cut at its first NUL character, if it has one.
func withVariableLengthStrings(_ strings: [String], _ write: (UnsafeRawPointer) -> herr_t) -> herr_t {
    var storage: [CChar] = []
    var offsets: [Int] = []
    for string in strings {
        offsets.append(storage.count)
        storage.append(contentsOf: string.utf8.map { CChar(bitPattern: $0) })
        storage.append(0)
    }
    return storage.withUnsafeBufferPointer { characters in
        var pointers: [UnsafePointer<CChar>?] = offsets.map { characters.baseAddress! + $0 }
        if pointers.isEmpty { pointers = [nil] }
        return pointers.withUnsafeBytes { write($0.baseAddress!) }
    }
}

/// `strings` as fixed-length elements: each padded with NULs to the longest (at least 1 byte),
/// and whether they are all ASCII.
func fixedLengthBytes(of strings: [String]) -> (bytes: [UInt8], length: Int, isASCII: Bool) {
    let length = max(1, strings.map(\.utf8.count).max() ?? 1)
    var bytes = [UInt8](repeating: 0, count: max(1, strings.count * length))
    var isASCII = true
    for (index, string) in strings.enumerated() {
        for (offset, byte) in string.utf8.enumerated() {
            bytes[index * length + offset] = byte
            if byte >= 0x80 { isASCII = false }
        }
    }
    return (bytes, length, isASCII)
}
