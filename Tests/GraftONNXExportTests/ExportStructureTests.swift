import Foundation
import GraftFeatureCache
import GraftHead
import GraftImport
import GraftModel
import GraftNumerics
import GraftONNXExport
import GraftONNXImport
import GraftProtobuf
import GraftRuntime
import GraftSupport
import GraftTensors
import GraftTestSupport
import Testing

/// The parts of an exported file the tests look at, read with the protobuf wire reader.
struct ONNXFileView {
    var metadata: [String: String] = [:]
    var opTypes: [String] = []
    var firstNodeAttributes: [UInt8] = []
    var inputShapes: [String: [String]] = [:]
    /// Initializer name to whether its data is external.
    var external: [String: Bool] = [:]

    init(path: String) throws {
        let bytes = try readBytes(path)
        try bytes.withUnsafeBytes { buffer in
            func string(_ field: WireField) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: buffer[field.valueRange]), as: UTF8.self) }
            for field in try WireReader.fields(of: buffer, range: 0..<buffer.count) {
                if field.number == 14 {
                    let entry = try WireReader.fields(of: buffer, range: field.valueRange)
                    metadata[string(entry.first { $0.number == 1 }!)] = string(entry.first { $0.number == 2 }!)
                }
                guard field.number == 7 else { continue }
                for member in try WireReader.fields(of: buffer, range: field.valueRange) where [1, 5, 11].contains(member.number) {
                    let inner = try WireReader.fields(of: buffer, range: member.valueRange)
                    switch member.number {
                    case 1: opTypes.append(string(inner.first { $0.number == 4 }!))
                    case 5: external[string(inner.first { $0.number == 8 }!)] = inner.contains { $0.number == 14 && $0.varint == 1 }
                    case 11:
                        // ValueInfoProto.type.tensor_type.shape.dim
                        let name = string(inner.first { $0.number == 1 }!)
                        let type = try WireReader.fields(of: buffer, range: inner.first { $0.number == 2 }!.valueRange)
                        let tensor = try WireReader.fields(of: buffer, range: type[0].valueRange)
                        let shape = try WireReader.fields(of: buffer, range: tensor.first { $0.number == 2 }!.valueRange)
                        inputShapes[name] = try shape.map { dim in
                            let value = try WireReader.fields(of: buffer, range: dim.valueRange)[0]
                            return value.number == 1 ? String(value.varint) : string(value)
                        }
                    default: break
                    }
                }
            }
        }
    }
}

@Suite struct ExportStructureTests {
    static func fixture(_ name: String) throws -> ExportFixture {
        try #require(ExportFixture.all.first { $0.name == name })
    }

    /// An NHWC Keras model takes the array model.predict took: its ONNX input is NHWC and a
    /// Transpose to NCHW comes first.
    @Test func nhwcInputKeepsItsLayout() throws {
        let folder = try TemporaryFolder()
        let trip = try RoundTripTests.roundTrip(try Self.fixture("keras/keras3-archive"), in: folder)
        let view = try ONNXFileView(path: trip.onnx)
        #expect(view.inputShapes["image"] == ["batch", "16", "16", "3"])
        #expect(view.opTypes.first == "Transpose")
        #expect(view.opTypes.filter { $0 == "Transpose" }.count == 1, "\(view.opTypes)")
        #expect(view.metadata[ONNXExporter.MetadataKey.inputLayouts] == #"{"image":"NHWC"}"#)
        #expect(view.metadata[ONNXExporter.MetadataKey.modelSHA256] == trip.original.contentHash())
        #expect(view.metadata[ONNXExporter.MetadataKey.provenance]?.contains(#""framework":"keras""#) == true)
    }

    /// Weights past the limit go to `<model>.data` with external_data fields; the importer reads
    /// them in place and the model computes what the inline export computes.
    @Test func externalDataPastTheLimit() throws {
        let folder = try TemporaryFolder()
        let fixture = try Self.fixture("caffe/v1_both")
        let inline = try RoundTripTests.roundTrip(fixture, in: folder)
        #expect(!FileManager.default.fileExists(atPath: inline.onnx + ".data"))
        var options = ONNXExporter.Options()
        options.externalDataLimit = 100
        options.externalTensorMinimum = 64
        let subfolder = try TemporaryFolder()
        let external = try RoundTripTests.roundTrip(fixture, in: subfolder, options: options)
        let data = external.onnx + ".data"
        let dataSize = try #require(try FileManager.default.attributesOfItem(atPath: data)[.size] as? Int)
        let modelSize = try #require(try FileManager.default.attributesOfItem(atPath: external.onnx)[.size] as? Int)
        #expect(dataSize > 100)
        let view = try ONNXFileView(path: external.onnx)
        #expect(view.external.values.contains(true) && view.external.values.contains(false), "\(view.external)")
        #expect(external.exported.graph.provenance.sources.contains { $0.file == "caffe_v1_both.onnx.data" })
        let inputs = try fixture.inputTensors(for: inline.original.graph)
        let a = try InferenceSession(model: inline.exported).run(inputs)
        let b = try InferenceSession(model: external.exported).run(inputs)
        #expect(a == b)
    }

    /// The preprocessing record goes into metadata_props as JSON.
    @Test func preprocessingInMetadata() throws {
        let folder = try TemporaryFolder()
        var fixture = try Self.fixture("onnx/convolutions")
        fixture.options.preprocessingPreset = "keras-torch"
        let trip = try RoundTripTests.roundTrip(fixture, in: folder)
        #expect(!trip.original.graph.preprocessing.isEmpty)
        let view = try ONNXFileView(path: trip.onnx)
        let text = try #require(view.metadata[ONNXExporter.MetadataKey.preprocessing])
        let decoded = try JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8))
        #expect(decoded == trip.original.graph.preprocessing)
    }

    /// A trunk and a head joined by `graft attach` leave as one ONNX model with the class names
    /// in metadata_props, and compute what the attached model computes.
    @Test func attachedModel() throws {
        let folder = try TemporaryFolder()
        let trunkFixture = try Self.fixture("keras/keras3-archive")
        try ModelImporter.importModel(from: trunkFixture.sources).write(to: folder.path("trunk.graft"))
        let trunk = try ModelFile(path: folder.path("trunk.graft"))
        // A head on the trunk's 'conv' layer (globally averaged), trained on synthetic features.
        let layer = try #require(trunk.graph.nodes.first { $0.op == .conv2D })
        let dimension = try #require(layer.outputShapes[0].last ?? nil)
        var generator = SeededGenerator(seed: 3)
        let rows = 30
        let labels = (0..<rows).map { Int32($0 % 3) }
        let features = (0..<(rows * dimension)).map { index in generator.nextUnitFloat() + Float(labels[index / dimension]) * Float(index % 2) }
        let data = LabelledFeatures(source: "synthetic.h5", layer: layer.name, dimension: dimension, classes: ["cat", "dog", "eel"],
                                    ids: (0..<rows).map { "img\($0).png" }, labels: labels, features: features)
        var options = HeadTrainingOptions(kind: .mlp, threadCount: 1)
        options.hiddenUnits = 4
        options.epochs = 2
        let head = try HeadTrainer.train(data, validation: nil, options: options)
        let provenance = FeatureCacheProvenance(modelSHA256: trunk.contentHash(), modelName: trunk.graph.name, layers: [layer.name],
                                                pooling: .avg, preprocessing: #"{"preset":"keras-tf","size":[16,16]}"#,
                                                inputListSHA256: String(repeating: "0", count: 64), numerics: "test")
        try head.write(to: folder.path("head.graft"), source: HeadSource(cachePath: "synthetic.h5", cache: provenance, cacheRows: rows), options: options)
        let attached = try HeadAttachment.attach(trunk: trunk, head: try ModelFile(path: folder.path("head.graft")))
        try ModelWriter.write(graph: attached.graph, weights: attached.weights, to: folder.path("full.graft"))
        let full = try ModelFile(path: folder.path("full.graft"))
        try ONNXExporter.export(full, to: folder.path("full.onnx"))

        let view = try ONNXFileView(path: folder.path("full.onnx"))
        #expect(view.metadata[ONNXExporter.MetadataKey.classNames] == #"["cat","dog","eel"]"#)
        #expect(view.metadata[ONNXExporter.MetadataKey.preprocessing]?.contains(#""preset":"keras-tf""#) == true)
        try ONNXImporter.convert(modelAt: folder.path("full.onnx")).write(to: folder.path("back.graft"))
        let input = try Tensor(npyFile: trunkFixture.inputs[""]!)
        let expected = try InferenceSession(model: full).run(input)[0]
        let actual = try InferenceSession(model: try ModelFile(path: folder.path("back.graft"))).run(input)[0]
        #expect(actual.shape == [input.shape[0], 3])
        #expect(actual.relativeMaxError(to: expected) <= 1e-5)
    }

    @Test func refusesOpsetsOutsideTheRange() throws {
        let folder = try TemporaryFolder()
        let fixture = try Self.fixture("onnx/convolutions")
        try ModelImporter.importModel(from: fixture.sources).write(to: folder.path("m.graft"))
        let model = try ModelFile(path: folder.path("m.graft"))
        #expect(throws: ONNXExportError.unsupportedOpset(requested: 16, supported: 17...21)) {
            try ONNXExporter.export(model, to: folder.path("m.onnx"), options: .init(opset: 16))
        }
        #expect(throws: ONNXExportError.unknownValue(file: model.path, name: "no_such_layer")) {
            try ONNXExporter.export(model, to: folder.path("m.onnx"), options: .init(outputs: ["no_such_layer"]))
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path("m.onnx")))
    }

    /// Nodes ONNX cannot express are all listed in one error, and nothing is written.
    @Test func listsEveryUnsupportedNode() throws {
        let folder = try TemporaryFolder()
        let nodes = [
            Node(name: "norm_middle", operation: .layerNormalization(.init(axes: [1])), inputs: ["x"], outputs: ["a"], outputShapes: [[nil, 4, 6]]),
            Node(name: "after", operation: .activation(.tanh), inputs: ["a"], outputs: ["b"], outputShapes: [[nil, 4, 6]]),
            Node(name: "norm_first", operation: .layerNormalization(.init(axes: [1, 2], epsilon: 1e-3)), inputs: ["x"], outputs: ["c"],
                 outputShapes: [[nil, 4, 6]]),
            Node(name: "pool_plain", operation: .globalAveragePooling(.init(layout: .plain)), inputs: ["x"], outputs: ["d"], outputShapes: [[nil]]),
        ]
        let graph = Graph(name: "bad", inputs: [ValueInfo(name: "x", shape: [nil, 4, 6], layout: .plain)], outputs: ["b", "c", "d"],
                          nodes: nodes, provenance: Provenance(framework: "graft", converter: "test"))
        try ModelWriter.write(graph: graph, weights: [], to: folder.path("bad.graft"))
        let model = try ModelFile(path: folder.path("bad.graft"))
        do {
            try ONNXExporter.export(model, to: folder.path("bad.onnx"))
            Issue.record("export succeeded")
        } catch let error as ONNXExportError {
            guard case let .unsupportedNodes(_, listed) = error else { Issue.record("\(error)"); return }
            #expect(listed.count == 2, "\(listed)")
            #expect(listed[0].hasPrefix("'norm_middle' (LayerNormalization: normalises axes [1]"))
            #expect(listed[1].hasPrefix("'pool_plain' (GlobalAveragePooling"))
            #expect(error.exitStatus == .dataError)
            #expect(!error.description.contains("\n"))
        }
        #expect(try folder.contents() == ["bad.graft"])
    }
}
