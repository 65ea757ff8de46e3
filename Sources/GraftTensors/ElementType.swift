/// The type of a tensor's elements as stored in a file (a NumPy dtype, a safetensors dtype).
///
/// Multi-byte types are stored little-endian. The raw value is the NumPy name (`"float32"`).
public enum ElementType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float16
    /// Brain floating point: the upper half of a float32. NumPy has no descriptor for it.
    case bfloat16
    case float32
    case float64
    case int8
    case int16
    case int32
    case int64
    case uint8
    case uint16
    case uint32
    case uint64
    /// One byte per element: 0 is false, anything else is true.
    case bool

    /// The size of one element in bytes.
    public var byteCount: Int {
        switch self {
        case .int8, .uint8, .bool: 1
        case .float16, .bfloat16, .int16, .uint16: 2
        case .float32, .int32, .uint32: 4
        case .float64, .int64, .uint64: 8
        }
    }

    /// The little-endian NumPy array-interface descriptor (`descr`) NumPy writes for this type,
    /// such as `<f4` or `|u1`; `nil` for `bfloat16`.
    public var numPyDescriptor: String? {
        switch self {
        case .float16: "<f2"
        case .bfloat16: nil
        case .float32: "<f4"
        case .float64: "<f8"
        case .int8: "|i1"
        case .int16: "<i2"
        case .int32: "<i4"
        case .int64: "<i8"
        case .uint8: "|u1"
        case .uint16: "<u2"
        case .uint32: "<u4"
        case .uint64: "<u8"
        case .bool: "|b1"
        }
    }

    /// The type of a little-endian NumPy descriptor, or `nil` if graft does not support it.
    ///
    /// Multi-byte types need the `<` byte order; one-byte types accept `|`, `<` or `>`
    /// (`|u1`, `<u1`). Big-endian multi-byte descriptors such as `>f4` return `nil`.
    public init?(numPyDescriptor descriptor: String) {
        let characters = Array(descriptor)
        guard characters.count >= 3 else { return nil }
        let match: ElementType? = switch (characters[1], String(characters[2...])) {
        case ("f", "2"): .float16
        case ("f", "4"): .float32
        case ("f", "8"): .float64
        case ("i", "1"): .int8
        case ("i", "2"): .int16
        case ("i", "4"): .int32
        case ("i", "8"): .int64
        case ("u", "1"): .uint8
        case ("u", "2"): .uint16
        case ("u", "4"): .uint32
        case ("u", "8"): .uint64
        case ("b", "1"): .bool
        default: nil
        }
        guard let match else { return nil }
        switch characters[0] {
        case "<": break
        case "|", ">": guard match.byteCount == 1 else { return nil }
        default: return nil
        }
        self = match
    }

    /// The dtype code of the safetensors format (`F32`, `I64`, `BOOL`, …), which graft's
    /// model files use.
    public var safetensorsCode: String {
        switch self {
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .float32: "F32"
        case .float64: "F64"
        case .int8: "I8"
        case .int16: "I16"
        case .int32: "I32"
        case .int64: "I64"
        case .uint8: "U8"
        case .uint16: "U16"
        case .uint32: "U32"
        case .uint64: "U64"
        case .bool: "BOOL"
        }
    }

    /// The type with a safetensors dtype code, or `nil` if graft does not support it.
    public init?(safetensorsCode code: String) {
        guard let match = ElementType.allCases.first(where: { $0.safetensorsCode == code }) else { return nil }
        self = match
    }

    /// The NumPy name, such as `float32`.
    public var description: String { rawValue }
}
