/// The parts of an ONNX model graft converts, decoded into Swift values.
struct ModelRecord {
    var irVersion: Int
    var producerName: String
    var producerVersion: String
    /// Operator set versions by domain ("" for the standard operators; "ai.onnx" is read as "").
    var opsets: [String: Int]
    var graphName: String
    var nodes: [NodeRecord]
    var initializers: [TensorRecord]
    var inputs: [ValueRecord]
    var outputs: [String]
}

/// One node: its op, names, attributes.
struct NodeRecord {
    var name: String
    var opType: String
    var domain: String
    /// Input value names; "" marks an omitted optional input.
    var inputs: [String]
    var outputs: [String]
    var attributes: [String: AttributeValue]
}

/// The value of a node attribute.
enum AttributeValue {
    case float(Float)
    case int(Int)
    case string(String)
    case tensor(TensorRecord)
    case floats([Float])
    case ints([Int])
    case strings([String])
    /// A graph, a sparse tensor, a type, or a list of them: kinds graft never reads.
    case other(String)

    /// The kind's name, for error messages.
    var kind: String {
        switch self {
        case .float: "float"
        case .int: "int"
        case .string: "string"
        case .tensor: "tensor"
        case .floats: "floats"
        case .ints: "ints"
        case .strings: "strings"
        case let .other(kind): kind
        }
    }
}

/// A graph input: its name, element type and dims (`nil` for an open or symbolic size).
struct ValueRecord {
    var name: String
    /// The `TensorProto.DataType` of a tensor-typed value; nil when the value is not a tensor.
    var elementType: Int32?
    /// nil when the value has no shape at all.
    var dims: [Int?]?
}

/// A tensor's header and where its values are: in the mapped model file, inline in typed
/// fields already decoded, or in an external file.
struct TensorRecord {
    enum Storage {
        /// Little-endian bytes at this range of the model file (raw_data or packed float_data).
        case mapped(Range<Int>)
        /// Bytes owned here (a Constant attribute's raw_data, or several packed runs joined).
        case owned([UInt8])
        /// Typed fields decoded by protobuf-c.
        case floats([Float])
        case doubles([Double])
        case integers([Int64])
        /// `location` relative to the model's folder, `offset` and `length` (nil: to the end of
        /// the values) in bytes.
        case external(location: String, offset: Int, length: Int?)
    }

    var name: String
    var dims: [Int]
    var dataType: Int32
    var storage: Storage

    /// The number of elements, or nil when a dim is negative or the product overflows.
    var elementCount: Int? {
        var count = 1
        for dim in dims {
            guard dim >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }
}

/// ONNX element types graft reads (`TensorProto.DataType`).
enum ElementType: Int32 {
    case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, string = 8, bool = 9
    case float16 = 10, double = 11, uint32 = 12, uint64 = 13, bfloat16 = 16

    /// Bytes per element in raw_data (nil for strings).
    var size: Int? {
        switch self {
        case .float, .int32, .uint32: 4
        case .uint8, .int8, .bool: 1
        case .uint16, .int16, .float16, .bfloat16: 2
        case .int64, .double, .uint64: 8
        case .string: nil
        }
    }

    var isFloatingPoint: Bool { self == .float || self == .double || self == .float16 || self == .bfloat16 }

    /// The specification's name of a data type code.
    static func name(_ code: Int32) -> String {
        let names: [Int32: String] = [
            0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING",
            9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16",
        ]
        return names[code] ?? "type \(code)"
    }
}
