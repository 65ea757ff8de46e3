import GraftSupport
/// Errors from reading a NumPy `.npy` file whose contents graft cannot use.
///
/// Every case names the file and exits with `.dataError` (65). Errors opening or reading the
/// file itself are `FileError`s.
public enum NumPyError: GraftError, Equatable {
    /// The file does not start with the `.npy` magic string `\x93NUMPY`.
    case notNumPyFile(path: String)
    /// The format version is not 1.0, 2.0 or 3.0.
    case unsupportedVersion(path: String, major: UInt8, minor: UInt8)
    /// The header is cut short or is not the dictionary literal NumPy writes.
    case malformedHeader(path: String, reason: String)
    /// The array is stored in Fortran (column-major) order.
    case fortranOrder(path: String)
    /// The array is stored big-endian (`>f4`).
    case bigEndian(path: String, descriptor: String)
    /// The dtype is not one graft reads (complex, string, structured, object, …).
    case unsupportedElementType(path: String, descriptor: String)
    /// The file ends before all the elements the header describes.
    case truncated(path: String, elementType: ElementType, shape: [Int], expectedByteCount: Int, actualByteCount: Int)
    /// Bytes follow the array data (several arrays saved to one file, or a damaged file).
    case trailingBytes(path: String, shape: [Int], extraByteCount: Int)

    public var exitStatus: ExitStatus { .dataError }

    /// One line whatever the header held: quoted parts of it are cut at 80 characters with their
    /// control characters escaped, and any line break left is escaped too.
    public var description: String { quoted(message, limit: Int.max) }

    private var message: String {
        switch self {
        case let .notNumPyFile(path):
            return "'\(path)' is not a NumPy .npy file: it does not start with \\x93NUMPY"
        case let .unsupportedVersion(path, major, minor):
            return "'\(path)': unsupported .npy format version \(major).\(minor); graft reads versions 1.0, 2.0 and 3.0"
        case let .malformedHeader(path, reason):
            return "'\(path)': malformed .npy header: \(reason)"
        case let .fortranOrder(path):
            return "'\(path)': fortran_order is True: graft reads C-order arrays only; save with np.ascontiguousarray"
        case let .bigEndian(path, descriptor):
            let little = "<" + descriptor.dropFirst()
            return "'\(path)': dtype '\(descriptor)' is big-endian: graft reads little-endian arrays only; save with array.astype('\(little)')"
        case let .unsupportedElementType(path, descriptor):
            let supported = ElementType.allCases.filter { $0.numPyDescriptor != nil }.map(\.rawValue)
            return "'\(path)': unsupported dtype \(descriptor.hasPrefix("[") ? quoted(descriptor) : "'\(quoted(descriptor))'"); graft reads "
                + supported.dropLast().joined(separator: ", ") + " and \(supported.last!) arrays"
        case let .truncated(path, elementType, shape, expected, actual):
            let count = expected / elementType.byteCount
            return "'\(path)': truncated data: the header describes \(count) \(elementType) elements of shape "
                + "\(describeShape(shape)) (\(expected) bytes), but the file has \(actual) bytes after the header"
        case let .trailingBytes(path, shape, extra):
            return "'\(path)': \(extra) unexpected bytes after the data of the array of shape \(describeShape(shape)) "
                + "(several arrays saved to one file?)"
        }
    }
}
