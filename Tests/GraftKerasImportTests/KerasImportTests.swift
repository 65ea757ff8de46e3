import Foundation
import GraftModel
import GraftKerasImport
import GraftRuntime
import GraftTensors
import GraftSupport
import GraftTestSupport
import Testing
/// The committed fixtures (Tools/fixtures/make_keras_fixtures.py): real Keras files with the
/// framework's own outputs.
enum Fixtures {
    static let folder = fixtureFolder()

    /// Cases that carry reference outputs.
    static let parityCases = [
        "keras3-archive", "keras3-h5", "keras3-weights-json", "keras3-nested-archive", "keras3-nested-h5", "keras3-shared",
        "tfkeras-h5", "tfkeras-weights-json", "tfkeras-nested-h5", "tfkeras-hard-sigmoid",
        "keras1-theano-sequential", "keras1-tensorflow-functional",
        "conv-family", "sequence-1d", "activations", "pooling", "normalization", "merges", "channels-first",
        "mish", "tfkeras-mish",
        "tfops-arithmetic", "tfops-arithmetic-json", "tfops-activations", "tfops-activations-json",
        "tfops-shapes", "tfops-shapes-json", "tfops-reductions", "tfops-reductions-json",
        "tfkeras-nested-functional", "tfkeras-nested-functional-json", "tfops-weightless",
    ]

    struct Case {
        let name: String
        let folder: URL
        let description: [String: Any]

        init(_ name: String) throws {
            self.name = name
            folder = Fixtures.folder.appendingPathComponent(name)
            let data = try Data(contentsOf: folder.appendingPathComponent("case.json"))
            description = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }

        func path(_ member: String) -> String { folder.appendingPathComponent(member).path }
        var source: String { path(description["source"] as! String) }
        var config: String? { (description["config"] as? String).map(path) }
        var penultimate: String { description["penultimate"] as! String }

        func convert() throws -> ImportedModel {
            try KerasConverter.convert(modelAt: source, architectureAt: config)
        }
    }
}

@Suite struct KerasImportStructure {
    @Test(arguments: Fixtures.parityCases)
    func convertsAndValidates(name: String) throws {
        let fixture = try Fixtures.Case(name)
        let model = try fixture.convert()
        #expect(model.graph.provenance.framework == "keras")
        #expect(model.graph.provenance.sources.first?.sha256.count == 64)
        if let count = fixture.description["node_count"] as? Int {
            #expect(model.graph.nodes.count == count, "nodes: \(model.graph.nodes.map(\.name))")
        }
        if let names = fixture.description["names"] as? [String] {
            #expect(model.graph.nodes.map(\.name) == names)
        }
        if let inputs = fixture.description["inputs"] as? [String: [Any]] {
            for (input, shape) in inputs {
                let declared = try #require(model.graph.inputs.first { $0.name == input })
                #expect(declared.shape == shape.map { $0 as? Int })
            }
        }
        // Every weight a node names exists with the shape its op's layout implies.
        let tensors = Dictionary(uniqueKeysWithValues: model.weights.map { ($0.name, $0.shape) })
        for node in model.graph.nodes {
            for (_, tensor) in node.weights { #expect(tensors[tensor] != nil) }
            if case let .conv2D(convolution) = node.operation, let kernel = node.weights["kernel"].flatMap({ tensors[$0] }) {
                #expect(Array(kernel.prefix(2)) == [convolution.kernelSize.height, convolution.kernelSize.width])
                #expect(kernel.last == node.outputShapes[0][convolution.layout == .nchw ? 1 : 3])
            }
        }
        // The file round-trips through the writer and the validating reader.
        let scratch = try TemporaryFolder()
        let output = scratch.path("model.graft")
        try model.write(to: output)
        let file = try ModelFile(path: output)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(file.graph) == encoder.encode(model.graph))
        #expect(file.tensors.count == model.weights.count)
    }

    @Test func flavoursOfOneModelGiveTheSameGraph() throws {
        let reference = try Fixtures.Case("keras3-archive").convert().graph
        for name in ["keras3-h5", "keras3-weights-json", "tfkeras-h5", "tfkeras-weights-json"] {
            let graph = try Fixtures.Case(name).convert().graph
            #expect(graph.nodes.map(\.name) == reference.nodes.map(\.name), "\(name)")
            #expect(graph.nodes.map(\.op) == reference.nodes.map(\.op), "\(name)")
            #expect(graph.nodes.map(\.outputShapes) == reference.nodes.map(\.outputShapes), "\(name)")
        }
    }

    @Test func recordsProvenance() throws {
        let keras3 = try Fixtures.Case("keras3-h5").convert().graph.provenance
        #expect(keras3.frameworkVersion?.hasPrefix("3.") == true)
        #expect(keras3.details["backend"] == "tensorflow")
        let keras2 = try Fixtures.Case("tfkeras-weights-json").convert().graph.provenance
        #expect(keras2.frameworkVersion?.hasPrefix("2.") == true)
        #expect(keras2.sources.map(\.file) == ["weights.h5", "model.json"])
        let theano = try Fixtures.Case("keras1-theano-sequential").convert().graph.provenance
        #expect(theano.frameworkVersion == "1.2.2")
        #expect(theano.details["backend"] == "theano")
        #expect(theano.details["backend_inferred_from"] == "weight names")
        let tensorflow = try Fixtures.Case("keras1-tensorflow-functional").convert().graph.provenance
        #expect(tensorflow.details["backend"] == "tensorflow")
    }

    @Test func keepsSamePaddingExplicitAndLayoutsDeclared() throws {
        let graph = try Fixtures.Case("conv-family").convert().graph
        let strided = try #require(graph.nodes.first { $0.name == "conv_same_strided" })
        // Kernel 3×2, stride 2×1 on 12×12: rows total 1 (0 before, 1 after), columns total 1.
        #expect(strided.operation.convolution?.padding == .explicit(Sides(top: 0, bottom: 1, left: 0, right: 1)))
        #expect(strided.outputShapes == [[nil, 6, 12, 6]])
        let separable = try #require(graph.nodes.first { $0.name == "separable/depthwise" })
        #expect(separable.op == .depthwiseConv2D)
        let channelsFirst = try Fixtures.Case("channels-first").convert().graph
        #expect(channelsFirst.inputs[0].layout == .nchw)
        #expect(channelsFirst.nodes.first { $0.name == "conv" }?.operation.layout == .nchw)
    }

    @Test func recordsPreprocessingPresets() throws {
        #expect(try PreprocessingProbe.preset("resnet50") == "keras-caffe")
        #expect(try PreprocessingProbe.preset("resnet50v2") == "keras-tf")
        #expect(try PreprocessingProbe.preset("mobilenetv2_1.00_224") == "keras-tf")
        #expect(try PreprocessingProbe.preset("densenet121") == "keras-torch")
        #expect(try PreprocessingProbe.preset("efficientnetb0") == "none")
        #expect(try PreprocessingProbe.preset("MobileNetV3Small") == "none")
        #expect(try PreprocessingProbe.preset("small_cnn") == nil)
    }
}

/// Converts a one-layer Keras 3 configuration named like a keras.applications model and reads
/// the preset the converter records.
enum PreprocessingProbe {
    static func preset(_ modelName: String) throws -> String? {
        let configuration = """
            {"class_name": "Functional", "config": {"name": "\(modelName)", "layers": [
              {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_shape": [null, 4]}, "inbound_nodes": []}],
             "input_layers": [["x", 0, 0]], "output_layers": [["x", 0, 0]]}}
            """
        let folder = Fixtures.folder.appendingPathComponent("keras3-weights-json")
        let scratch = try TemporaryFolder()
        let file = scratch.path("arch.json")
        try configuration.write(toFile: file, atomically: true, encoding: .utf8)
        let model = try KerasConverter.convert(modelAt: folder.appendingPathComponent("model.weights.h5").path, architectureAt: file)
        return model.graph.preprocessing["preset"]?.stringValue
    }
}

@Suite struct KerasImportFailures {
    /// Fuzzing finding: a dimension of −2^63 in batch_input_shape trapped with an arithmetic
    /// overflow in the window arithmetic; it must be refused where it is read, naming the layer.
    @Test(arguments: ["-9223372036854775808", "0", "4294967296"])
    func absurdInputDimensionsAreRefusedNamingTheLayer(dimension: String) throws {
        let configuration = """
            {"class_name": "Functional", "config": {"name": "probe", "layers": [
              {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [null, 16, \(dimension), 3]}, "inbound_nodes": []},
              {"class_name": "MaxPooling2D", "name": "pool", "config": {"name": "pool", "pool_size": [2, 2], "strides": [2, 2], "padding": "valid"},
               "inbound_nodes": [[["x", 0, 0, {}]]]}],
             "input_layers": [["x", 0, 0]], "output_layers": [["pool", 0, 0]]}}
            """
        let folder = Fixtures.folder.appendingPathComponent("keras3-weights-json")
        let scratch = try TemporaryFolder()
        let file = scratch.path("arch.json")
        try configuration.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try KerasConverter.convert(modelAt: folder.appendingPathComponent("model.weights.h5").path, architectureAt: file)
            Issue.record("a batch_input_shape with \(dimension) was converted")
        } catch let error as KerasImportError {
            guard case let .badLayerConfiguration(path, layer, _, reason) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path == file)
            #expect(layer == "x")
            #expect(reason.contains("batch_input_shape") && reason.contains("1 to"), "\(reason)")
        }
    }

    @Test func listsEveryUnsupportedLayer() throws {
        let path = Fixtures.folder.appendingPathComponent("unsupported-layers/model.h5").path
        #expect {
            try KerasConverter.convert(modelAt: path)
        } throws: { error in
            guard case let KerasImportError.unsupportedLayers(_, layers) = error else { return false }
            return layers == [UnsupportedLayer(name: "triple", kind: "Lambda"), UnsupportedLayer(name: "doubler", kind: "fixtures>Doubler")]
                && "\(error)".contains("README.md") && (error as? KerasImportError)?.exitStatus.rawValue == 65
        }
    }

    @Test func namesTheMissingWeight() throws {
        let path = Fixtures.folder.appendingPathComponent("missing-weight/model.h5").path
        #expect(throws: KerasImportError.missingWeight(path: path, layer: "conv2", weight: "kernel", expectedShape: [3, 3, 8, 4])) {
            try KerasConverter.convert(modelAt: path)
        }
    }

    @Test func namesTheMisshapedWeight() throws {
        let path = Fixtures.folder.appendingPathComponent("misshaped-weight/model.h5").path
        #expect(throws: KerasImportError.weightShapeMismatch(path: path, layer: "conv2", weight: "kernel",
                                                             expectedShape: [3, 3, 8, 4], actualShape: [3, 3, 6, 4])) {
            try KerasConverter.convert(modelAt: path)
        }
    }

    @Test func asksForTheArchitectureOfAWeightsOnlyFile() throws {
        let path = Fixtures.folder.appendingPathComponent("tfkeras-weights-json/weights.h5").path
        #expect(throws: KerasImportError.missingArchitecture(path: path)) {
            try KerasConverter.convert(modelAt: path)
        }
    }

    /// Fuzzing finding: a global heap collection whose free-space object claims 0 bytes made
    /// HDF5 1.10 loop forever reading `model_config`; graft checks the collections first.
    @Test(.timeLimit(.minutes(1)))
    func aDamagedGlobalHeapIsRefusedNotLoopedOn() throws {
        let path = repositoryRoot.appendingPathComponent("Tests/Fuzz/Regressions/keras-h5/keras-h5-timeout-c821a7649da176b6def3e351b89806421611aeaf").path
        #expect {
            try KerasConverter.convert(modelAt: path)
        } throws: { error in
            "\(error)".contains("the global heap collection at byte 2048") && (error as? any GraftError)?.exitStatus.rawValue == 65
        }
    }

    @Test func refusesAFileThatIsNotKeras() throws {
        let path = Fixtures.folder.appendingPathComponent("keras3-archive/input.npy").path
        #expect(throws: KerasImportError.self) { try KerasConverter.convert(modelAt: path) }
    }
}

/// Runs converted fixtures with graft's runtime and compares them with Keras's outputs.
@Suite struct KerasImportParity {
    static let tolerance: Float = 1e-4

    @Test(arguments: Fixtures.parityCases)
    func matchesKeras(name: String) throws {
        let fixture = try Fixtures.Case(name)
        let model = try fixture.convert()
        let scratch = try TemporaryFolder()
        let output = scratch.path("model.graft")
        try model.write(to: output)
        let file = try ModelFile(path: output)
        let session = try InferenceSession(model: file, outputs: model.graph.outputs + [fixture.penultimate])
        var inputs: [String: Tensor] = [model.graph.inputs[0].name: try Tensor(npyFile: fixture.path("input.npy"))]
        if let second = fixture.description["second_input"] as? String {
            inputs[model.graph.inputs[1].name] = try Tensor(npyFile: fixture.path(second))
        }
        let results = try session.run(inputs)
        let expected = try Tensor(npyFile: fixture.path("expected.npy"))
        let penultimate = try Tensor(npyFile: fixture.path("penultimate.npy"))
        let outputError = results[0].relativeMaxError(to: expected)
        let penultimateError = results[1].relativeMaxError(to: penultimate)
        #expect(outputError <= Self.tolerance, "\(name): output relative error \(outputError)")
        #expect(penultimateError <= Self.tolerance, "\(name): penultimate '\(fixture.penultimate)' relative error \(penultimateError)")
    }

    @Test(arguments: ["keras3-nested-archive", "keras3-nested-h5"])
    func innerLayersOfNestedModelsAreAddressable(name: String) throws {
        let fixture = try Fixtures.Case(name)
        let inner = try #require(fixture.description["inner"] as? String)
        let model = try fixture.convert()
        let scratch = try TemporaryFolder()
        let output = scratch.path("model.graft")
        try model.write(to: output)
        let session = try InferenceSession(model: try ModelFile(path: output), outputs: [inner])
        let result = try session.run(try Tensor(npyFile: fixture.path("input.npy")))[0]
        let error = result.relativeMaxError(to: try Tensor(npyFile: fixture.path("inner.npy")))
        #expect(error <= Self.tolerance, "\(inner): relative error \(error)")
    }
}
