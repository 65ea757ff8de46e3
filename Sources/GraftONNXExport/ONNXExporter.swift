public import GraftModel
import GraftProtobuf
import GraftSupport
import Foundation

/// Writes `.graft` models as ONNX files that onnxruntime (and any other ONNX runtime) runs.
///
/// ```swift
/// let model = try ModelFile(path: "resnet50.graft")
/// let summary = try ONNXExporter.export(model, to: "resnet50.onnx")
/// ```
///
/// Every op of graft's vocabulary is written with standard-domain operators (`OpExports`), the
/// weights included. Inputs and outputs keep the layout graft gives them, so the ONNX model takes
/// the array `graft run` (and the source framework) took: an NHWC model starts with a Transpose
/// to NCHW and runs its convolutions there (`GraphBuilder`). Weights past `externalDataLimit`
/// bytes in all go to `<output>.data` beside the model, as ONNX's external data.
public enum ONNXExporter {
    /// The operator set versions the exporter writes.
    public static let supportedOpsets = 17...21
    /// The default operator set.
    public static let defaultOpset = 17

    /// Metadata keys the exporter writes into `metadata_props` (values are JSON text).
    public enum MetadataKey {
        /// The preprocessing record of the graph (`schemas/preprocessing.md`), when it has one.
        public static let preprocessing = "graft.preprocessing"
        /// The class names of a model graft attached to a head, as a JSON array, in output order.
        public static let classNames = "graft.class_names"
        /// Each input's name and layout, e.g. `{"image": "NHWC"}`.
        public static let inputLayouts = "graft.input_layouts"
        /// The graph's provenance (source framework, files and their SHA-256, converter).
        public static let provenance = "graft.provenance"
        /// The SHA-256 of the `.graft` file exported.
        public static let modelSHA256 = "graft.model_sha256"
    }

    /// How to write the file.
    public struct Options: Sendable {
        public var opset: Int
        /// The values (or nodes, for their first output) the ONNX graph outputs; the graph's own
        /// outputs when empty. Nodes no output needs are still written.
        public var outputs: [String]
        /// Above this many bytes of weights in all, tensors of 1 KiB or more are written to the
        /// external data file: protobuf cannot hold a message past 2 GiB.
        package var externalDataLimit: Int
        /// Tensors smaller than this stay in the model file even when data goes outside.
        package var externalTensorMinimum: Int

        public init(opset: Int = ONNXExporter.defaultOpset, outputs: [String] = []) {
            self.opset = opset
            self.outputs = outputs
            externalDataLimit = 2_000_000_000
            externalTensorMinimum = 1024
        }
    }

    /// What was written.
    public struct Summary: Sendable {
        public var nodeCount: Int
        public var initializerCount: Int
        /// The external data file, when weights were written outside the model.
        public var externalDataPath: String?
        public var externalBytes: Int
    }

    /// Writes `model` as ONNX to `path` (and `path.data` for external weights), atomically.
    @discardableResult
    public static func export(_ model: ModelFile, to path: String, options: Options = Options()) throws -> Summary {
        guard supportedOpsets.contains(options.opset) else {
            throw ONNXExportError.unsupportedOpset(requested: options.opset, supported: supportedOpsets)
        }
        var outputs: [String] = []
        for name in options.outputs {
            if let node = model.graph.nodes.first(where: { $0.name == name }) {
                outputs.append(node.outputs[0])
            } else if model.graph.inputs.contains(where: { $0.name == name }) || model.graph.producer(of: name) != nil {
                outputs.append(name)
            } else {
                throw ONNXExportError.unknownValue(file: model.path, name: name)
            }
        }
        let builder = try build(model, opset: options.opset)
        return try write(builder, model: model, outputs: outputs.isEmpty ? model.graph.outputs : outputs, to: path, options: options)
    }

    /// Exports every node, collecting the ones that cannot be written.
    static func build(_ model: ModelFile, opset: Int) throws -> GraphBuilder {
        let builder = GraphBuilder(model: model, opset: opset)
        for input in model.graph.inputs { builder.declareInput(input) }
        var problems: [String] = []
        var unavailable: Set<String> = []
        for node in model.graph.nodes {
            if node.inputs.contains(where: unavailable.contains) {
                unavailable.formUnion(node.outputs)
                continue
            }
            do {
                try OpExports.export(NodeExport(builder: builder, node: node))
            } catch let problem as ExportProblem {
                problems.append("'\(quoted(node.name, limit: 60))' (\(node.op.rawValue): \(problem.reason))")
                unavailable.formUnion(node.outputs)
            }
        }
        if !problems.isEmpty { throw ONNXExportError.unsupportedNodes(file: model.path, nodes: problems) }
        return builder
    }

    static func irVersion(opset: Int) -> Int {
        switch opset {
        case ...18: 8
        case 19, 20: 9
        default: 10
        }
    }

    static func metadata(of model: ModelFile) -> [(String, String)] {
        let graph = model.graph
        var entries: [(String, String)] = []
        if !graph.preprocessing.isEmpty { entries.append((MetadataKey.preprocessing, json(JSONValue.object(graph.preprocessing)))) }
        if let classes = graph.provenance.details["classes"]?.stringArray {
            entries.append((MetadataKey.classNames, json(JSONValue.array(classes.map { .string($0) }))))
        }
        entries.append((MetadataKey.inputLayouts, json(JSONValue.object(Dictionary(graph.inputs.map { ($0.name, JSONValue.string($0.layout.rawValue)) },
                                                                                   uniquingKeysWith: { a, _ in a })))))
        if let provenance = try? encoder.encode(graph.provenance) { entries.append((MetadataKey.provenance, String(decoding: provenance, as: UTF8.self))) }
        entries.append((MetadataKey.modelSHA256, model.contentHash()))
        return entries
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static func json(_ value: JSONValue) -> String {
        (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    // MARK: Writing

    static func write(_ builder: GraphBuilder, model: ModelFile, outputs: [String], to path: String, options: Options) throws -> Summary {
        let graph = model.graph
        let total = builder.initializers.reduce(0) { $0 + $1.byteCount }
        let external = total > options.externalDataLimit
        let dataPath = path + ".data"
        let location = URL(fileURLWithPath: dataPath).lastPathComponent

        // External data first: the model file names it, so it must exist when the model appears.
        var placements: [TensorPlacement] = []
        var externalBytes = 0
        if external {
            let file = try AtomicOutputFile(path: dataPath)
            var offset = 0
            for initializer in builder.initializers {
                guard initializer.byteCount >= options.externalTensorMinimum else {
                    placements.append(.inline)
                    continue
                }
                let gap = (64 - offset % 64) % 64
                try file.writeZeros(gap)
                offset += gap
                let result: Result<Void, FileError> = initializer.withBytes { bytes in Result { () throws(FileError) in try file.write(bytes) } }
                try result.get()
                placements.append(.external(location: location, offset: offset))
                offset += initializer.byteCount
            }
            try file.commit()
            externalBytes = offset
        } else {
            placements = Array(repeating: .inline, count: builder.initializers.count)
        }

        // Outputs in their semantic order (Transposes appended where a value is held otherwise).
        let inputNames = graph.inputs.map { builder.semantic($0.name) }
        let outputNames = outputs.map { builder.outputName($0) }
        var g = WireWriter()
        for node in builder.nodes { g.appendLengthDelimited(1, node.encoded()) }
        g.appendString(2, graph.name)
        for (initializer, placement) in zip(builder.initializers, placements) {
            initializer.withBytes { bytes in
                appendTensor(&g, name: initializer.name, dims: initializer.dims, dataType: initializer.dataType, bytes: bytes, placement: placement)
            }
        }
        for (input, name) in zip(graph.inputs, inputNames) { g.appendLengthDelimited(11, ONNXValueInfo(name: name, shape: input.shape).encoded()) }
        for (output, name) in zip(outputs, outputNames) {
            let shape = builder.shape(of: output)
            let written = builder.inferenceDisagrees ? shape.enumerated().map { $0.offset == 0 ? $0.element : nil } : shape
            g.appendLengthDelimited(12, ONNXValueInfo(name: name, shape: written).encoded())
        }

        var m = WireWriter()
        m.appendVarintField(1, UInt64(irVersion(opset: options.opset)))
        m.appendString(2, "graft")
        m.appendString(3, GraftVersion.current)
        var opset = WireWriter()
        opset.appendString(1, "")
        opset.appendVarintField(2, UInt64(options.opset))
        m.appendLengthDelimited(8, opset.bytes)
        for (key, value) in metadata(of: model) {
            var entry = WireWriter()
            entry.appendString(1, key)
            entry.appendString(2, value)
            m.appendLengthDelimited(14, entry.bytes)
        }
        m.appendTag(7, .lengthDelimited)
        m.appendVarint(UInt64(g.bytes.count))

        let file = try AtomicOutputFile(path: path)
        try file.write(m.bytes)
        try file.write(g.bytes)
        try file.commit()
        return Summary(nodeCount: builder.nodes.count, initializerCount: builder.initializers.count,
                       externalDataPath: external ? dataPath : nil, externalBytes: externalBytes)
    }

    /// Appends an initializer (`GraphProto.initializer`, field 5) with its bytes copied once.
    static func appendTensor(_ w: inout WireWriter, name: String, dims: [Int], dataType: Int, bytes: UnsafeRawBufferPointer,
                             placement: TensorPlacement) {
        var header = WireWriter()
        for dim in dims { header.appendVarintField(1, UInt64(bitPattern: Int64(dim))) }
        header.appendVarintField(2, UInt64(dataType))
        header.appendString(8, name)
        switch placement {
        case .inline:
            var lengthPrefix = WireWriter()
            lengthPrefix.appendTag(9, .lengthDelimited)
            lengthPrefix.appendVarint(UInt64(bytes.count))
            w.appendTag(5, .lengthDelimited)
            w.appendVarint(UInt64(header.bytes.count + lengthPrefix.bytes.count + bytes.count))
            w.bytes += header.bytes
            w.bytes += lengthPrefix.bytes
            w.bytes.append(contentsOf: bytes)
        case let .external(location, offset):
            for (key, value) in [("location", location), ("offset", String(offset)), ("length", String(bytes.count))] {
                var entry = WireWriter()
                entry.appendString(1, key)
                entry.appendString(2, value)
                header.appendLengthDelimited(13, entry.bytes)
            }
            header.appendVarintField(14, 1)
            w.appendLengthDelimited(5, header.bytes)
        }
    }
}
