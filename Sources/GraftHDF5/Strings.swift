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
/// free variable-length strings). With `heaps` (files opened for reading), each stored
/// reference of a variable-length string is read as it is and checked against the file's
/// global heap collections before HDF5 follows it (see `GlobalHeapIndex`); `object` names the
/// attribute or dataset in that error. Call with the library lock held.
func readStringElements(
    count: Int, storedType: hid_t, bufferSpace: hid_t, in path: String, object: String, _ operation: String,
    heaps: GlobalHeapIndex?, read: (hid_t, UnsafeMutableRawPointer) -> herr_t
) throws(HDF5Error) -> [String] {
    guard count > 0 else { return [] }
    if H5Tis_variable_str(storedType) > 0 {
        if let heaps {
            let size = heaps.referenceSize
            let referenceType = try storedReferenceType(size: size, in: path, operation)
            var references = [UInt8](repeating: 0, count: count * size)
            let status = references.withUnsafeMutableBytes { read(referenceType.id, $0.baseAddress!) }
            try check(status, in: path, operation)
            let problem: String? = references.withUnsafeBytes { raw in
                for element in 0..<count {
                    if let problem = heaps.problem(withReference: UnsafeRawBufferPointer(rebasing: raw[element * size..<(element + 1) * size])) {
                        return "string \(element): \(problem); the file is damaged"
                    }
                }
                return nil
            }
            if let problem { throw .sizeMismatch(path: path, object: object, detail: problem) }
        }
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

/// The tag of the opaque type `storedReferenceType(size:in:_:)` makes.
private let storedReferenceTag = "graft: stored variable-length reference"

/// An opaque memory type of `size` bytes that a variable-length string reads into as it is
/// stored (length, heap address, index), through the conversion registered by
/// `referenceReadingRegistered`.
private func storedReferenceType(size: Int, in path: String, _ operation: String) throws(HDF5Error) -> Handle {
    try check(referenceReadingRegistered, in: path, "registering graft's reference conversion")
    let type = try Handle(checking: H5Tcreate(H5T_OPAQUE, size), .datatype, in: path, operation)
    try check(H5Tset_tag(type.id, storedReferenceTag), in: path, operation)
    return type
}

/// HDF5's status for registering, once per process, a conversion from variable-length strings
/// as stored in a file to graft's tagged opaque type: it leaves the bytes as they are, so a read
/// into that type gives the stored references without following them. HDF5 offers soft
/// conversions by type class; this one accepts only graft's tag and an equal size, so no other
/// conversion changes. Evaluated with the library lock held (Swift runs it once).
private let referenceReadingRegistered: herr_t = {
    guard let source = try? makeStringType(variableLength: true, utf8: false, in: "") else { return -1 }
    let destination = H5Tcreate(H5T_OPAQUE, 16)
    guard destination >= 0 else { return -1 }
    defer { _ = H5Tclose(destination) }
    guard H5Tset_tag(destination, storedReferenceTag) >= 0 else { return -1 }
    return H5Tregister(H5T_PERS_SOFT, "graft stored references", source.id, destination, { source, destination, data, _, stride, _, _, _, _ in
        guard let data else { return -1 }
        switch data.pointee.command {
        case H5T_CONV_INIT:
            guard let tag = H5Tget_tag(destination) else { return -1 }
            defer { H5free_memory(tag) }
            guard String(cString: tag) == storedReferenceTag, H5Tget_size(source) == H5Tget_size(destination) else { return -1 }
            data.pointee.need_bkg = H5T_BKG_NO
            return 0
        case H5T_CONV_CONV:
            // In place and the same size: the stored bytes are the result. A stride other than
            // the element's own would interleave them, which graft never asks for.
            return stride == 0 || stride == H5Tget_size(destination) ? 0 : -1
        default:
            return 0
        }
    })
}()
