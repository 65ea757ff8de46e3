public import GraftSupport
/// Why a `.graft` file was rejected. Each case names the file and the part that is wrong.
public enum ModelFormatError: GraftError, Equatable {
    /// The file is shorter than its own header says.
    case truncated(path: String, size: Int, needed: Int)
    /// The 8-byte header length points past the end of the file.
    case headerPastEnd(path: String, headerLength: UInt64, fileSize: Int)
    /// The header is not valid JSON, or not the expected JSON structure.
    case badHeader(path: String, reason: String)
    /// A tensor entry is malformed (dtype, shape or offsets).
    case badTensor(path: String, tensor: String, reason: String)
    /// A tensor's data range lies outside the data section.
    case offsetsOutOfRange(path: String, tensor: String, begin: UInt64, end: UInt64, dataSize: Int)
    /// Two tensors' data ranges overlap.
    case overlappingTensors(path: String, first: String, second: String)
    /// A tensor's byte length disagrees with its dtype and shape.
    case sizeMismatch(path: String, tensor: String, dtype: String, shape: [Int], expectedBytes: Int, actualBytes: Int)
    /// The header has no `__metadata__.graft` graph.
    case missingGraph(path: String)
    /// The graph JSON does not decode.
    case badGraph(path: String, reason: String)
    /// The file was written by a newer graft.
    case futureFormatVersion(path: String, version: Int, supported: Int)
    /// The graph decodes but is inconsistent (a name used before it is defined, a missing weight…).
    case invalidGraph(path: String, reason: String)
    /// A tensor the caller asked for is absent or of another dtype.
    case missingTensor(path: String, tensor: String)
    case wrongElementType(path: String, tensor: String, expected: String, actual: String)

    public var exitStatus: ExitStatus { .dataError }

    public var description: String {
        switch self {
        case let .truncated(path, size, needed):
            "'\(path)' is truncated: it has \(size) bytes but its header needs \(needed)"
        case let .headerPastEnd(path, length, size):
            "'\(path)' is not a whole .graft file: its header length \(length) runs past the end of the file (\(size) bytes)"
        case let .badHeader(path, reason):
            "'\(path)' has an unreadable header: \(reason)"
        case let .badTensor(path, tensor, reason):
            "'\(path)': tensor '\(tensor)' \(reason)"
        case let .offsetsOutOfRange(path, tensor, begin, end, dataSize):
            "'\(path)': tensor '\(tensor)' has data_offsets [\(begin), \(end)] outside the \(dataSize)-byte data section"
        case let .overlappingTensors(path, first, second):
            "'\(path)': the data of tensors '\(first)' and '\(second)' overlap"
        case let .sizeMismatch(path, tensor, dtype, shape, expected, actual):
            "'\(path)': tensor '\(tensor)' is \(dtype) with shape \(shape), which needs \(expected) bytes, but its data_offsets span \(actual)"
        case let .missingGraph(path):
            "'\(path)' has no graph: expected a JSON string under __metadata__.graft (is it a plain safetensors file?)"
        case let .badGraph(path, reason):
            "'\(path)' has a graph that does not decode: \(reason)"
        case let .futureFormatVersion(path, version, supported):
            "'\(path)' uses graph format_version \(version), but this graft reads versions up to \(supported); upgrade graft"
        case let .invalidGraph(path, reason):
            "'\(path)' has an inconsistent graph: \(reason)"
        case let .missingTensor(path, tensor):
            "'\(path)' has no tensor '\(tensor)'"
        case let .wrongElementType(path, tensor, expected, actual):
            "'\(path)': tensor '\(tensor)' is \(actual), expected \(expected)"
        }
    }
}
