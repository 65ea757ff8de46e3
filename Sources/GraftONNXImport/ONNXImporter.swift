public import GraftModel
import GraftSupport
import Foundation

/// Converts ONNX models (`ModelProto` files, with or without external data) to graft graphs.
///
/// ```swift
/// let model = try ONNXImporter.convert(modelAt: "resnet50.onnx")
/// try model.write(to: "resnet50.graft")
/// ```
///
/// Operator sets 11 to 21 of the standard domain are read, with the ops of image CNNs
/// (`NodeConversions.table`). Activations stay NCHW as the graph records them, so `graft run`
/// takes the array onnxruntime takes. The input's sizes must be fixed except the batch, or
/// given with `inputShape`; shape subgraphs are folded against them. Preprocessing is not
/// recorded: ONNX files do not say what their input expects.
public enum ONNXImporter {
    /// The standard domain's operator set versions graft converts.
    public static let supportedOpsets = 11...21

    /// Whether the file at `path` is an ONNX model, judged by its first bytes.
    public static func isONNX(path: String) -> Bool {
        guard let file = try? MappedFile(path: path) else { return false }
        return ModelDecoder.looksLikeONNX(file.bytes)
    }

    /// Converts the ONNX model at `path`.
    ///
    /// - Parameter inputShape: the input's shape `[N, C, H, W]` (any rank ≥ 2), replacing the
    ///   sizes the file leaves open; the batch stays open.
    /// - Throws: `ONNXImportError` for bad or unsupported content (listing every unsupported
    ///   node at once), `FileError` when the file cannot be read.
    public static func convert(modelAt path: String, inputShape: [Int]? = nil) throws -> ImportedModel {
        let file = try MappedFile(path: path)
        guard ModelDecoder.looksLikeONNX(file.bytes) else { throw ONNXImportError.notONNX(file: path) }
        let record = try ModelDecoder.decode(file.bytes, file: path)
        for (domain, version) in record.opsets.sorted(by: { $0.key < $1.key }) where domain.isEmpty && !supportedOpsets.contains(version) {
            throw ONNXImportError.unsupportedOpset(file: path, domain: domain, version: version)
        }
        guard let opset = record.opsets[""] else { throw ONNXImportError.unsupportedOpset(file: path, domain: "", version: 0) }
        let reader = TensorReader(file: path, modelBytes: file.bytes)
        let converter = Converter(file: path, model: record, reader: reader, opset: opset)
        try converter.convert(inputShape: inputShape)

        var sources = [Provenance.SourceFile(file: baseName(path), sha256: SHA256.hexDigest(of: file.bytes))]
        for location in reader.externalLocations {
            if let hash = reader.externalHash(location) { sources.append(.init(file: location, sha256: hash)) }
        }
        var details: [String: JSONValue] = [
            "ir_version": .integer(record.irVersion),
            "opset": .integer(opset),
            "producer_name": .string(record.producerName),
            "graph_name": .string(record.graphName),
        ]
        if !record.producerVersion.isEmpty { details["producer_version"] = .string(record.producerVersion) }
        if sources.count > 1 {
            details["external_data_sha256"] = .string("of the byte ranges the tensors occupy, in file order")
        }
        let name = record.graphName.isEmpty ? baseName(path) : record.graphName
        let graph = Graph(name: name, inputs: converter.inputs, outputs: converter.outputs, nodes: converter.nodes,
                          preprocessing: [:],
                          provenance: Provenance(framework: "onnx", frameworkVersion: "opset \(opset)", sources: sources,
                                                 converter: GraftVersion.tool, details: details))
        return ImportedModel(graph: graph, weights: converter.weights, notes: converter.notes)
    }

    private static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
