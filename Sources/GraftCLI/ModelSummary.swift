import GraftModel
import Foundation
/// What `graft inspect` reports about a model, as a table or as JSON.
struct ModelSummary: Encodable {
    struct Value: Encodable {
        var name: String
        var shape: [Int?]
        var layout: String?
    }

    struct NodeRow: Encodable {
        var name: String
        var op: String
        var outputShape: [Int?]
        var parameters: Int

        enum CodingKeys: String, CodingKey {
            case name, op, parameters
            case outputShape = "output_shape"
        }
    }

    var name: String
    var formatVersion: Int
    var inputs: [Value]
    var outputs: [Value]
    var defaultFeatureLayer: String?
    var nodes: [NodeRow]
    var totalParameters: Int
    var totalBytes: Int
    var fileBytes: Int
    var provenance: Provenance
    var preprocessing: [String: JSONValue]

    enum CodingKeys: String, CodingKey {
        case name, inputs, outputs, nodes, provenance, preprocessing
        case formatVersion = "format_version"
        case defaultFeatureLayer = "default_feature_layer"
        case totalParameters = "total_parameters"
        case totalBytes = "total_parameter_bytes"
        case fileBytes = "file_bytes"
    }

    init(file: ModelFile) {
        let graph = file.graph
        name = graph.name
        formatVersion = graph.formatVersion
        inputs = graph.inputs.map { Value(name: $0.name, shape: $0.shape, layout: $0.layout.rawValue) }
        outputs = graph.outputs.map { output in
            let node = graph.producer(of: output)
            let index = node?.outputs.firstIndex(of: output)
            let shape = index.flatMap { node?.outputShapes[$0] } ?? graph.inputs.first { $0.name == output }?.shape ?? []
            return Value(name: output, shape: shape, layout: nil)
        }
        defaultFeatureLayer = graph.defaultFeatureValue
        nodes = graph.nodes.map {
            NodeRow(name: $0.name, op: $0.op.rawValue, outputShape: $0.outputShapes.first ?? [], parameters: file.parameterCount(of: $0))
        }
        totalParameters = file.parameterCount
        totalBytes = file.parameterBytes
        fileBytes = file.bytes.count
        provenance = graph.provenance
        preprocessing = graph.preprocessing
    }

    func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The human-readable report: aligned columns, `?` for open dimensions.
    func table() -> String {
        var lines: [String] = []
        lines.append("model\t\(name)")
        lines.append("format_version\t\(formatVersion)")
        for input in inputs { lines.append("input\t\(input.name)\t\(shapeText(input.shape))\t\(input.layout ?? "")") }
        for output in outputs { lines.append("output\t\(output.name)\t\(shapeText(output.shape))") }
        lines.append("features\t\(defaultFeatureLayer ?? "(none)")\t(default layer for graft features)")
        var text = align(lines)
        text += "\n"
        var rows = [["node", "op", "output shape", "parameters"]]
        rows += nodes.map { [$0.name, $0.op, shapeText($0.outputShape), String($0.parameters)] }
        text += align(rows.map { $0.joined(separator: "\t") }, rightAlignedColumns: [3])
        text += "\n"
        text += "total parameters: \(totalParameters) (\(totalBytes) bytes of weights, \(fileBytes) bytes on disk)\n"
        text += "\n"
        var provenanceLines = ["provenance"]
        provenanceLines.append("  framework\t\(provenance.framework)\(provenance.frameworkVersion.map { " " + $0 } ?? "")")
        for source in provenance.sources { provenanceLines.append("  source\t\(source.file)\tsha256 \(source.sha256)") }
        provenanceLines.append("  converter\t\(provenance.converter)")
        for (key, value) in provenance.details.sorted(by: { $0.key < $1.key }) {
            provenanceLines.append("  \(key)\t\(value)")
        }
        provenanceLines.append("preprocessing")
        if preprocessing.isEmpty { provenanceLines.append("  (none recorded)") }
        for (key, value) in preprocessing.sorted(by: { $0.key < $1.key }) {
            provenanceLines.append("  \(key)\t\(value)")
        }
        text += align(provenanceLines)
        return text
    }
}

/// `[?, 224, 224, 3]`.
func shapeText(_ shape: [Int?]) -> String {
    "[" + shape.map { $0.map(String.init) ?? "?" }.joined(separator: ", ") + "]"
}

/// Pads tab-separated columns to equal widths (two spaces between columns).
func align(_ lines: [String], rightAlignedColumns: Set<Int> = []) -> String {
    let rows = lines.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    var widths: [Int] = []
    for row in rows {
        for (index, cell) in row.enumerated() {
            if index >= widths.count { widths.append(0) }
            widths[index] = max(widths[index], cell.count)
        }
    }
    var text = ""
    for row in rows {
        var cells: [String] = []
        for (index, cell) in row.enumerated() {
            let padding = String(repeating: " ", count: widths[index] - cell.count)
            if index == row.count - 1 && !rightAlignedColumns.contains(index) { cells.append(cell) }
            else { cells.append(rightAlignedColumns.contains(index) ? padding + cell : cell + padding) }
        }
        text += cells.joined(separator: "  ") + "\n"
    }
    return text
}
