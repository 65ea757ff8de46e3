public import GraftSupport
public import GraftTensors
import Foundation
/// A `.graft` model file, mapped into memory and fully validated.
///
/// The container is safetensors: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// mapping tensor names to `dtype`, `shape` and `data_offsets` (relative to the data section that
/// starts at byte 8 + N), then the raw little-endian tensor bytes. The graph is JSON text under
/// `__metadata__.graft`. See `schemas/graft-model.md`.
///
/// Every length, offset, dtype size and shape product is checked against the file size before it
/// is used, so a damaged or hostile file is rejected with a `ModelFormatError` and never causes a
/// crash or an allocation larger than the file. Tensor data is used in place: `floats(named:)`
/// returns a view into the mapping, valid while this object lives.
public final class ModelFile: @unchecked Sendable {
    /// A tensor's place in the file.
    public struct TensorEntry: Sendable, Hashable {
        public let name: String
        public let elementType: ElementType
        public let shape: [Int]
        /// Byte range relative to the start of the data section.
        public let byteRange: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// Tensor names that start with this prefix only pad the data section to 64-byte boundaries.
    public static let paddingPrefix = "__graft_padding_"
    /// The largest header graft reads, as safetensors' own reader limits it.
    public static let maximumHeaderLength: UInt64 = 100 * 1024 * 1024

    public let path: String
    public let graph: Graph
    /// The model tensors (padding entries excluded), by name.
    public let tensors: [String: TensorEntry]
    /// Byte offset of the data section from the start of the file.
    public let dataOffset: Int
    private let file: MappedFile

    /// Maps and validates the file at `path`.
    public convenience init(path: String) throws {
        try self.init(mappedFile: try MappedFile(path: path))
    }

    /// Validates an already mapped file.
    public init(mappedFile: MappedFile) throws {
        let header = try ModelFile.parseHeader(mappedFile)
        self.file = mappedFile
        self.path = mappedFile.path
        self.graph = header.graph
        self.tensors = header.tensors
        self.dataOffset = header.dataOffset
        try ModelFile.validate(graph: graph, tensors: tensors, path: path)
    }

    /// The whole file's bytes (for hashing).
    public var bytes: UnsafeRawBufferPointer { file.bytes }

    /// The lowercase hexadecimal SHA-256 of the whole file: the model's identity in provenance.
    public func contentHash() -> String { SHA256.hexDigest(of: file.bytes) }

    /// The raw bytes of a tensor, in place.
    public func bytes(of entry: TensorEntry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[(dataOffset + entry.byteRange.lowerBound)..<(dataOffset + entry.byteRange.upperBound)])
    }

    /// A float32 tensor's values, in place (no copy), valid while this object lives.
    public func floats(named name: String) throws(ModelFormatError) -> UnsafeBufferPointer<Float> {
        guard let entry = tensors[name] else { throw .missingTensor(path: path, tensor: name) }
        guard entry.elementType == .float32 else {
            throw .wrongElementType(path: path, tensor: name, expected: ElementType.float32.safetensorsCode,
                                    actual: entry.elementType.safetensorsCode)
        }
        // The reader checked that the offset is a multiple of 4 and that 8 + N is too, so the
        // pointer is aligned for Float.
        return bytes(of: entry).assumingMemoryBound(to: Float.self)
    }

    /// The number of weight values each node uses, summed: the model's parameter count.
    public var parameterCount: Int {
        graph.nodes.reduce(0) { $0 + parameterCount(of: $1) }
    }

    /// The number of weight values one node uses.
    public func parameterCount(of node: Node) -> Int {
        node.weights.values.reduce(0) { $0 + (tensors[$1]?.elementCount ?? 0) }
    }

    /// The bytes of weight data the model's nodes use.
    public var parameterBytes: Int {
        Set(graph.nodes.flatMap { $0.weights.values }).reduce(0) { $0 + (tensors[$1]?.byteRange.count ?? 0) }
    }
}

// MARK: - Reading

extension ModelFile {
    struct ParsedHeader {
        var graph: Graph
        var tensors: [String: TensorEntry]
        var dataOffset: Int
    }

    static func parseHeader(_ file: MappedFile) throws(ModelFormatError) -> ParsedHeader {
        let path = file.path
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw .truncated(path: path, size: bytes.count, needed: 8) }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw .headerPastEnd(path: path, headerLength: headerLength, fileSize: bytes.count)
        }
        guard headerLength <= maximumHeaderLength else {
            throw .badHeader(path: path, reason: "header length \(headerLength) exceeds the \(maximumHeaderLength)-byte limit")
        }
        let dataOffset = 8 + Int(headerLength)
        let dataSize = bytes.count - dataOffset
        let headerBytes = Data(UnsafeRawBufferPointer(rebasing: bytes[8..<dataOffset]))
        let object: [String: JSONValue]
        do {
            object = try JSONDecoder().decode([String: JSONValue].self, from: headerBytes)
        } catch {
            throw .badHeader(path: path, reason: "not a JSON object (\(ModelFile.summary(of: error)))")
        }

        var entries: [String: TensorEntry] = [:]
        var ranges: [(name: String, range: Range<Int>)] = []
        var graphText: String?
        for (name, value) in object {
            if name == "__metadata__" {
                guard let metadata = value.objectValue else {
                    throw .badHeader(path: path, reason: "__metadata__ is not an object of strings")
                }
                guard let text = metadata["graft"] else { continue }
                guard let string = text.stringValue else {
                    throw .badHeader(path: path, reason: "__metadata__.graft is not a string")
                }
                graphText = string
                continue
            }
            let entry = try parseTensorEntry(name: name, value: value, dataSize: dataSize, dataOffset: dataOffset, path: path)
            ranges.append((name, entry.byteRange))
            if !name.hasPrefix(paddingPrefix) { entries[name] = entry }
        }

        ranges.sort { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        // Data that runs past the end of the file: a cut-off file if the tensors tile the data
        // section from 0 with no gaps, otherwise one tensor's offsets are wrong.
        if let last = ranges.max(by: { $0.range.upperBound < $1.range.upperBound }), last.range.upperBound > dataSize {
            var end = 0
            let tiles = ranges.allSatisfy { item in
                defer { end = item.range.upperBound }
                return item.range.lowerBound == end
            }
            if tiles { throw .truncated(path: path, size: bytes.count, needed: dataOffset + last.range.upperBound) }
            let outside = ranges.first { $0.range.upperBound > dataSize }!
            throw .offsetsOutOfRange(path: path, tensor: outside.name, begin: UInt64(outside.range.lowerBound),
                                     end: UInt64(outside.range.upperBound), dataSize: dataSize)
        }
        for i in ranges.indices.dropFirst() where ranges[i].range.lowerBound < ranges[i - 1].range.upperBound {
            throw .overlappingTensors(path: path, first: ranges[i - 1].name, second: ranges[i].name)
        }

        guard let graphText else { throw .missingGraph(path: path) }
        let graph = try decodeGraph(graphText, path: path)
        return ParsedHeader(graph: graph, tensors: entries, dataOffset: dataOffset)
    }

    static func parseTensorEntry(name: String, value: JSONValue, dataSize: Int, dataOffset: Int,
                                 path: String) throws(ModelFormatError) -> TensorEntry {
        guard let fields = value.objectValue else {
            throw .badTensor(path: path, tensor: name, reason: "is not an object with dtype, shape and data_offsets")
        }
        guard let code = fields["dtype"]?.stringValue else {
            throw .badTensor(path: path, tensor: name, reason: "has no dtype string")
        }
        guard let elementType = ElementType(safetensorsCode: code) else {
            throw .badTensor(path: path, tensor: name, reason: "has dtype '\(code)', which graft does not read")
        }
        guard let shape = fields["shape"]?.integerArray, shape.allSatisfy({ $0 >= 0 }) else {
            throw .badTensor(path: path, tensor: name, reason: "has a shape that is not a list of non-negative integers")
        }
        guard let offsets = fields["data_offsets"]?.arrayValue, offsets.count == 2,
              let begin = offsets[0].integerValue, let end = offsets[1].integerValue, begin >= 0, end >= 0 else {
            throw .badTensor(path: path, tensor: name, reason: "has data_offsets that are not two non-negative integers")
        }
        guard begin <= end else {
            throw .offsetsOutOfRange(path: path, tensor: name, begin: UInt64(begin), end: UInt64(end), dataSize: dataSize)
        }
        var expected = elementType.byteCount
        for dimension in shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw .sizeMismatch(path: path, tensor: name, dtype: code, shape: shape,
                                    expectedBytes: overflow ? Int.max : product, actualBytes: end - begin)
            }
            expected = product
        }
        guard expected == end - begin else {
            throw .sizeMismatch(path: path, tensor: name, dtype: code, shape: shape, expectedBytes: expected, actualBytes: end - begin)
        }
        guard (dataOffset + begin) % elementType.byteCount == 0 else {
            throw .badTensor(path: path, tensor: name, reason: "starts at file offset \(dataOffset + begin), not aligned to its \(elementType.byteCount)-byte elements")
        }
        return TensorEntry(name: name, elementType: elementType, shape: shape, byteRange: begin..<end)
    }

    static func decodeGraph(_ text: String, path: String) throws(ModelFormatError) -> Graph {
        let data = Data(text.utf8)
        // Read the version first, so a newer file gets "upgrade graft" rather than a decoding error.
        struct VersionProbe: Decodable { var format_version: Int }
        let version: Int
        do { version = try JSONDecoder().decode(VersionProbe.self, from: data).format_version } catch {
            throw .badGraph(path: path, reason: "no integer format_version (\(summary(of: error)))")
        }
        guard version <= Graph.currentFormatVersion, version >= 1 else {
            throw .futureFormatVersion(path: path, version: version, supported: Graph.currentFormatVersion)
        }
        do {
            return try JSONDecoder().decode(Graph.self, from: data)
        } catch let GraphDecodingError.unknownOperator(node, op) {
            throw .badGraph(path: path, reason: "node '\(node)' uses op '\(op)', which this graft does not know")
        } catch {
            throw .badGraph(path: path, reason: summary(of: error))
        }
    }

    /// Checks that names are defined before use and that every weight exists.
    static func validate(graph: Graph, tensors: [String: TensorEntry], path: String) throws(ModelFormatError) {
        var defined = Set<String>()
        for input in graph.inputs {
            guard defined.insert(input.name).inserted else {
                throw .invalidGraph(path: path, reason: "the input name '\(input.name)' is used twice")
            }
        }
        var nodeNames = Set<String>()
        for node in graph.nodes {
            guard nodeNames.insert(node.name).inserted else {
                throw .invalidGraph(path: path, reason: "two nodes are named '\(node.name)'")
            }
            for input in node.inputs where !defined.contains(input) {
                throw .invalidGraph(path: path, reason: "node '\(node.name)' reads '\(input)' before any input or node defines it")
            }
            guard node.outputShapes.count == node.outputs.count else {
                throw .invalidGraph(path: path, reason: "node '\(node.name)' has \(node.outputs.count) outputs but \(node.outputShapes.count) output shapes")
            }
            for output in node.outputs {
                guard defined.insert(output).inserted else {
                    throw .invalidGraph(path: path, reason: "the value name '\(output)' is defined twice (node '\(node.name)')")
                }
            }
            let roles = node.op.weightRoles
            for (role, tensor) in node.weights.sorted(by: { $0.key < $1.key }) {
                guard roles.contains(role) else {
                    throw .invalidGraph(path: path, reason: "node '\(node.name)' (\(node.op.rawValue)) has a weight role '\(role)'; expected one of \(roles)")
                }
                guard tensors[tensor] != nil else {
                    throw .invalidGraph(path: path, reason: "node '\(node.name)' uses weight '\(tensor)', which the file does not hold")
                }
            }
        }
        for output in graph.outputs where !defined.contains(output) {
            throw .invalidGraph(path: path, reason: "the graph output '\(output)' is not produced by any node")
        }
    }

    /// One line from a JSON decoding error.
    static func summary(of error: any Error) -> String {
        switch error {
        case let DecodingError.dataCorrupted(context):
            return context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription
        case let DecodingError.keyNotFound(key, context):
            return "missing '\(key.stringValue)' at \(codingPath(context.codingPath))"
        case let DecodingError.typeMismatch(type, context):
            return "expected \(type) at \(codingPath(context.codingPath))"
        case let DecodingError.valueNotFound(type, context):
            return "expected \(type) at \(codingPath(context.codingPath))"
        default:
            return "\(error)"
        }
    }

    private static func codingPath(_ path: [any CodingKey]) -> String {
        path.isEmpty ? "the top level" : path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}
