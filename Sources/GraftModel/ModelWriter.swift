import GraftSupport
import GraftTensors
import Foundation
/// A float32 weight tensor to be written into a `.graft` file.
public struct WeightTensor: Sendable {
    public var name: String
    public var shape: [Int]
    /// Row-major values; `values.count` equals the product of `shape`.
    public var values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "weight '\(name)': shape \(shape) does not match \(values.count) values")
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// Writes `.graft` files.
///
/// Layout: the header JSON is padded with spaces so the data section starts at a multiple of 64
/// bytes, and every tensor starts at a multiple of 64 bytes too. safetensors' reader requires the
/// tensors to tile the data section with no holes, so the gap after a tensor whose size is not a
/// multiple of 64 is declared as a `U8` tensor named `__graft_padding_<k>__`; readers of the
/// weights can ignore those. The file is written to a temporary name, synced and renamed.
public enum ModelWriter {
    /// The alignment of the data section and of every tensor.
    public static let alignment = 64

    /// Writes `graph` and `weights` to `path`. Throws if the graph does not validate against the
    /// weights (the same checks a reader makes) or the file cannot be written.
    public static func write(graph: Graph, weights: [WeightTensor], to path: String) throws {
        // Validate the graph as a reader would, before anything touches the disk.
        var entries: [String: ModelFile.TensorEntry] = [:]
        var layout: [(name: String, code: String, shape: [Int], range: Range<Int>, weight: Int?)] = []
        var offset = 0
        var paddingIndex = 0
        for (index, weight) in weights.enumerated() {
            guard entries[weight.name] == nil, weight.name != "__metadata__", !weight.name.hasPrefix(ModelFile.paddingPrefix) else {
                throw ModelFormatError.invalidGraph(path: path, reason: "the weight name '\(weight.name)' is duplicated or reserved")
            }
            let size = weight.values.count * 4
            let range = offset..<(offset + size)
            entries[weight.name] = .init(name: weight.name, elementType: .float32, shape: weight.shape, byteRange: range)
            layout.append((weight.name, ElementType.float32.safetensorsCode, weight.shape, range, index))
            offset += size
            let gap = (alignment - offset % alignment) % alignment
            if gap > 0 && index < weights.count - 1 {
                layout.append(("\(ModelFile.paddingPrefix)\(paddingIndex)__", ElementType.uint8.safetensorsCode, [gap], offset..<(offset + gap), nil))
                paddingIndex += 1
                offset += gap
            }
        }
        try ModelFile.validate(graph: graph, tensors: entries, path: path)
        for node in graph.nodes {
            // Attributes built in code get the checks a reader makes on decoding.
            do { try node.operation.validate(node: node.name) } catch {
                throw ModelFormatError.invalidGraph(path: path, reason: error.description)
            }
        }

        let header = try headerBytes(graph: graph, layout: layout.map { ($0.name, $0.code, $0.shape, $0.range) })
        let file = try AtomicOutputFile(path: path)
        var prefix = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { prefix[i] = UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64(i))) }
        try file.write(prefix)
        try file.write(header)
        for item in layout {
            if let index = item.weight {
                let result: Result<Void, FileError> = weights[index].values.withUnsafeBytes { buffer in
                    Result { () throws(FileError) in try file.write(buffer) }
                }
                try result.get()
            } else {
                try file.writeZeros(item.range.count)
            }
        }
        try file.commit()
    }

    /// The header JSON, padded with spaces so that 8 + its length is a multiple of `alignment`.
    static func headerBytes(graph: Graph, layout: [(String, String, [Int], Range<Int>)]) throws(ModelFormatError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let graphText: String
        let quotedGraph: String
        do {
            graphText = String(decoding: try encoder.encode(graph), as: UTF8.self)
            quotedGraph = String(decoding: try encoder.encode(graphText), as: UTF8.self)
        } catch {
            throw .badGraph(path: graph.name, reason: "cannot encode the graph: \(error)")
        }
        var text = "{\"__metadata__\":{\"graft\":\(quotedGraph)}"
        for (name, code, shape, range) in layout {
            let quotedName = (try? String(decoding: encoder.encode(name), as: UTF8.self)) ?? "\"\(name)\""
            text += ",\(quotedName):{\"dtype\":\"\(code)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(range.lowerBound),\(range.upperBound)]}"
        }
        text += "}"
        var bytes = Array(text.utf8)
        let padding = (alignment - (8 + bytes.count) % alignment) % alignment
        bytes += [UInt8](repeating: 0x20, count: padding)
        return bytes
    }
}
