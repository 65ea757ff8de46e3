internal import CGraftHDF5
/// The element types graft writes, and the in-memory types it reads stored data as.
///
/// Numbers are stored little-endian. `bool` is stored the way h5py stores numpy's `bool`: an
/// HDF5 enumeration over int8 with the members `FALSE` = 0 and `TRUE` = 1. `string` is a
/// variable-length UTF-8 string, what h5py writes for Python `str`.
public enum HDF5ElementType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32, float64, int8, int16, int32, int64, uint8, bool, string

    /// A plural noun for error messages, e.g. "float32 numbers".
    public var description: String {
        switch self {
        case .bool: "booleans"
        case .string: "variable-length UTF-8 strings"
        default: "\(rawValue) numbers"
        }
    }
}

/// A Swift type that HDF5 reads and writes directly: `Float`, `Double`, `Int8`, `Int16`,
/// `Int32`, `Int64`, `Int` (as int64), `UInt8` and `Bool`.
///
/// Reading converts whatever numeric type is stored into this one (HDF5 does the conversion,
/// so float64 data can be read as `Float` and int32 data as `Int64`); `Bool` reads only
/// booleans.
public protocol HDF5Element: BitwiseCopyable, Sendable {
    /// The element type this Swift type is read and written as.
    static var hdf5ElementType: HDF5ElementType { get }
}

extension Float: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .float32 } }
extension Double: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .float64 } }
extension Int8: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .int8 } }
extension Int16: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .int16 } }
extension Int32: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .int32 } }
extension Int64: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .int64 } }
extension Int: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .int64 } }
extension UInt8: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .uint8 } }
extension Bool: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .bool } }

/// How a string attribute is stored.
public enum HDF5StringStorage: Sendable {
    /// Variable-length UTF-8, what h5py writes for Python `str`.
    case variableLength
    /// Fixed-length and null-padded to the longest string, what h5py writes for numpy `bytes_`
    /// (`S`) arrays. The character set is ASCII when every byte is ASCII, UTF-8 otherwise.
    case fixedLength
}

/// What a dataset or attribute actually stores, as read from the file.
public struct HDF5StoredType: Sendable, Equatable, CustomStringConvertible {
    /// HDF5's datatype class, with h5py's booleans told apart from other enumerations.
    public enum Kind: Sendable, Equatable {
        case integer, floatingPoint, string, boolean, enumeration, compound, array, other
    }

    /// The datatype class.
    public let kind: Kind
    /// Bytes per element in the file (for variable-length strings, the size of a pointer).
    public let size: Int
    /// For integers, whether they are signed.
    public let isSigned: Bool
    /// For strings, whether they are variable-length.
    public let isVariableLength: Bool
    /// For strings, whether the character set is UTF-8 (otherwise ASCII).
    public let isUTF8: Bool

    /// The element type that reads this type without loss, or nil if there is none (e.g.
    /// float16, uint32 or a compound). Every string type, fixed or variable-length, maps to
    /// `.string` because both read as `[String]`.
    public var elementType: HDF5ElementType? {
        switch kind {
        case .floatingPoint: size == 4 ? .float32 : size == 8 ? .float64 : nil
        case .integer where isSigned:
            switch size {
            case 1: .int8
            case 2: .int16
            case 4: .int32
            case 8: .int64
            default: nil
            }
        case .integer: size == 1 ? .uint8 : nil
        case .boolean: .bool
        case .string: .string
        default: nil
        }
    }

    /// A plural noun for error messages, e.g. "float32 numbers" or "fixed-length ASCII strings
    /// of 10 bytes".
    public var description: String {
        switch kind {
        case .floatingPoint: "float\(size * 8) numbers"
        case .integer: "\(isSigned ? "int" : "uint")\(size * 8) numbers"
        case .boolean: "booleans"
        case .string where isVariableLength: "variable-length \(isUTF8 ? "UTF-8" : "ASCII") strings"
        case .string: "fixed-length \(isUTF8 ? "UTF-8" : "ASCII") strings of \(size) bytes"
        case .enumeration: "enumeration values of \(size) bytes"
        case .compound: "compound values of \(size) bytes"
        case .array: "array values of \(size) bytes"
        case .other: "values of an unsupported HDF5 type"
        }
    }

    /// Whether values of this type can be read as `requested` (HDF5 converts between all
    /// integer and floating-point types; booleans and strings read only as themselves).
    func canBeRead(as requested: HDF5ElementType) -> Bool {
        switch requested {
        case .bool: kind == .boolean
        case .string: kind == .string
        default: kind == .integer || kind == .floatingPoint
        }
    }
}

// MARK: - Building and describing HDF5 datatypes (internal)

extension HDF5StoredType {
    /// Describes the datatype `type`; call with the library lock held.
    init(describing type: hid_t) {
        let typeClass = H5Tget_class(type)
        let size = H5Tget_size(type)
        var kind = Kind.other
        var isSigned = false, isVariableLength = false, isUTF8 = false
        switch typeClass {
        case H5T_INTEGER:
            kind = .integer
            isSigned = H5Tget_sign(type) == H5T_SGN_2
        case H5T_FLOAT:
            kind = .floatingPoint
        case H5T_STRING:
            kind = .string
            isVariableLength = H5Tis_variable_str(type) > 0
            isUTF8 = H5Tget_cset(type) == H5T_CSET_UTF8
        case H5T_ENUM:
            kind = isBooleanEnumeration(type) ? .boolean : .enumeration
        case H5T_COMPOUND:
            kind = .compound
        case H5T_ARRAY:
            kind = .array
        default:
            break
        }
        self.init(kind: kind, size: size, isSigned: isSigned, isVariableLength: isVariableLength, isUTF8: isUTF8)
    }
}

/// Whether `type` is h5py's boolean: an enumeration over a 1-byte integer whose members are
/// exactly FALSE and TRUE.
private func isBooleanEnumeration(_ type: hid_t) -> Bool {
    guard H5Tget_size(type) == 1, H5Tget_nmembers(type) == 2 else { return false }
    var names: Set<String> = []
    for index in 0..<2 as Range<UInt32> {
        guard let name = H5Tget_member_name(type, index) else { return false }
        names.insert(String(cString: name))
        H5free_memory(name)
    }
    return names == ["FALSE", "TRUE"]
}

/// An enumeration over `base` with h5py's boolean members FALSE = 0 and TRUE = 1.
private func makeBooleanType(base: hid_t, in path: String) throws(HDF5Error) -> Handle {
    let type = try Handle(checking: H5Tenum_create(base), .datatype, in: path, "creating the boolean type")
    var value: Int8 = 0
    try check(H5Tenum_insert(type.id, "FALSE", &value), in: path, "creating the boolean type")
    value = 1
    try check(H5Tenum_insert(type.id, "TRUE", &value), in: path, "creating the boolean type")
    return type
}

/// A string type: variable-length or `length` bytes, null-padded when fixed.
func makeStringType(variableLength: Bool, length: Int = 0, utf8: Bool, in path: String) throws(HDF5Error) -> Handle {
    let type = try Handle(checking: H5Tcopy(graft_H5T_C_S1()), .datatype, in: path, "creating a string type")
    let size = variableLength ? graft_H5T_VARIABLE() : max(length, 1)
    try check(H5Tset_size(type.id, size), in: path, "creating a string type")
    try check(H5Tset_cset(type.id, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII), in: path, "creating a string type")
    if !variableLength {
        try check(H5Tset_strpad(type.id, H5T_STR_NULLPAD), in: path, "creating a string type")
    }
    return type
}

/// The type `elementType` is stored as in files graft writes.
func makeFileType(for elementType: HDF5ElementType, in path: String) throws(HDF5Error) -> Handle {
    switch elementType {
    case .float32: Handle(graft_H5T_IEEE_F32LE(), .predefined)
    case .float64: Handle(graft_H5T_IEEE_F64LE(), .predefined)
    case .int8: Handle(graft_H5T_STD_I8LE(), .predefined)
    case .int16: Handle(graft_H5T_STD_I16LE(), .predefined)
    case .int32: Handle(graft_H5T_STD_I32LE(), .predefined)
    case .int64: Handle(graft_H5T_STD_I64LE(), .predefined)
    case .uint8: Handle(graft_H5T_STD_U8LE(), .predefined)
    case .bool: try makeBooleanType(base: graft_H5T_STD_I8LE(), in: path)
    case .string: try makeStringType(variableLength: true, utf8: true, in: path)
    }
}

/// The in-memory type of Swift values of `elementType` (for `.string`, `char *` UTF-8).
func makeMemoryType(for elementType: HDF5ElementType, in path: String) throws(HDF5Error) -> Handle {
    switch elementType {
    case .float32: Handle(graft_H5T_NATIVE_FLOAT(), .predefined)
    case .float64: Handle(graft_H5T_NATIVE_DOUBLE(), .predefined)
    case .int8: Handle(graft_H5T_NATIVE_INT8(), .predefined)
    case .int16: Handle(graft_H5T_NATIVE_INT16(), .predefined)
    case .int32: Handle(graft_H5T_NATIVE_INT32(), .predefined)
    case .int64: Handle(graft_H5T_NATIVE_INT64(), .predefined)
    case .uint8: Handle(graft_H5T_NATIVE_UINT8(), .predefined)
    case .bool: try makeBooleanType(base: graft_H5T_NATIVE_INT8(), in: path)
    case .string: try makeStringType(variableLength: true, utf8: true, in: path)
    }
}

/// The size in bytes of one in-memory element of a numeric or boolean type.
func memorySize(of elementType: HDF5ElementType) -> Int {
    switch elementType {
    case .float32, .int32: 4
    case .float64, .int64: 8
    case .int16: 2
    case .int8, .uint8, .bool: 1
    case .string: MemoryLayout<UnsafePointer<CChar>?>.size
    }
}
