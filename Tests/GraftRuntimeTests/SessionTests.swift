import Foundation
import Testing
import GraftModel
import GraftRuntime
import GraftTensors
import GraftTestSupport
@Suite("Inference sessions: requests, pruning, folding, errors")
struct SessionTests {
    @Test func requestingAnEarlyLayerPrunesLaterNodes() throws {
        let fixture = try FixtureCase("residual_net")
        let session = try InferenceSession(model: fixture.model, outputs: ["stem_relu"])
        #expect(session.computedNodeNames == ["stem_conv", "stem_bn", "stem_relu"])
        #expect(session.executedNodeNames == ["stem_conv"])
        let all = try InferenceSession(model: fixture.model)
        #expect(all.computedNodeNames.count == fixture.model.graph.nodes.count)
        #expect(all.computedNodeNames.contains("predictions"))
    }

    @Test func requestedConvolutionIsNotFolded() throws {
        let fixture = try FixtureCase("conv_bn_relu")
        let folded = try InferenceSession(model: fixture.model)
        #expect(folded.executedNodeNames == ["conv"])
        #expect(folded.computedNodeNames == ["conv", "bn", "relu"])
        let unfolded = try InferenceSession(model: fixture.model, outputs: ["conv", "relu"])
        #expect(unfolded.executedNodeNames == ["conv", "bn", "relu"])
        let results = try unfolded.run(fixture.input)
        let conv = fixture.outputs.first { $0.name == "conv" }!.expected
        let relu = fixture.outputs.first { $0.name == "relu" }!.expected
        #expect(results[0].relativeMaxError(to: conv) <= parityTolerance)
        #expect(results[1].relativeMaxError(to: relu) <= parityTolerance)
    }

    @Test func zeroPaddingFoldsIntoTheConvolutionAfterIt() throws {
        let fixture = try FixtureCase("conv_asymmetric_padding")
        let session = try InferenceSession(model: fixture.model)
        #expect(session.executedNodeNames == ["conv"])
        #expect(session.computedNodeNames == ["pad", "conv"])
        let padded = try InferenceSession(model: fixture.model, outputs: ["pad", "conv"])
        #expect(padded.executedNodeNames == ["pad", "conv"])
        #expect(try padded.run(fixture.input)[1].relativeMaxError(to: fixture.outputs[0].expected) <= parityTolerance)
    }

    /// A zero padding before a max pooling folds into the pooling when what it pads cannot be
    /// negative (after a ReLU or ReLU6), and stays where it can (after a linear convolution);
    /// the pooled values match Keras's either way.
    @Test(arguments: ["padded_max_pooling", "padded_max_pooling_nchw"])
    func zeroPaddingFoldsIntoAMaxPoolingOfNonNegativeValues(name: String) throws {
        let fixture = try FixtureCase(name)
        let requests = fixture.outputs.map(\.name)
        let session = try InferenceSession(model: fixture.model, outputs: requests)
        #expect(!session.executedNodeNames.contains("pad_folded") && !session.executedNodeNames.contains("pad_asym"), "\(session.executedNodeNames)")
        #expect(session.executedNodeNames.contains("pad_kept"), "\(session.executedNodeNames)")
        let results = try session.run(fixture.input)
        for (result, output) in zip(results, fixture.outputs) {
            #expect(result.relativeMaxError(to: output.expected) <= parityTolerance, "\(name) \(output.name)")
        }
        // With the padded values requested, they are computed and pooled as Keras does.
        let padded = try InferenceSession(model: fixture.model, outputs: requests + ["pad_folded", "pad_asym"])
        #expect(padded.executedNodeNames.contains("pad_folded") && padded.executedNodeNames.contains("pad_asym"))
        let again = try padded.run(fixture.input)
        for (index, output) in fixture.outputs.enumerated() {
            #expect(again[index].relativeMaxError(to: output.expected) <= parityTolerance, "\(name) \(output.name)")
        }
    }

    @Test func residualAddTakesItsActivation() throws {
        let fixture = try FixtureCase("residual_net")
        let session = try InferenceSession(model: fixture.model)
        // The ReLU after the Add is folded into it, and the Add into the convolution before it.
        #expect(session.computedNodeNames.contains("block_add") && session.computedNodeNames.contains("block_out"))
        #expect(!session.executedNodeNames.contains("block_out"))
        let steps = try session.memoryPlan(inputShapes: [fixture.input.shape]).steps
        #expect(steps.contains { $0.hasPrefix("block_conv3 Conv2D + residual Add") })
        #expect(!steps.contains { $0.hasPrefix("block_out ") })
        let expected = try #require(fixture.outputs.first { $0.name == "predictions" }).expected
        #expect(try session.run(fixture.input)[0].relativeMaxError(to: expected) <= parityTolerance)
    }

    @Test func residualAddFoldsIntoTheConvolutionBeforeIt() throws {
        let fixture = try FixtureCase("residual_net")
        let session = try InferenceSession(model: fixture.model, outputs: ["block_add"])
        let steps = try session.memoryPlan(inputShapes: [fixture.input.shape]).steps
        #expect(steps.contains { $0.hasPrefix("block_conv3 Conv2D + residual Add") })
        #expect(!steps.contains { $0.hasPrefix("block_add ") })
        let expected = fixture.outputs.first { $0.name == "block_add" }!.expected
        #expect(try session.run(fixture.input)[0].relativeMaxError(to: expected) <= parityTolerance)
        // Requesting the convolution's own value keeps the Add separate, and both stay exact.
        let separate = try InferenceSession(model: fixture.model, outputs: ["block_bn3", "block_add"])
        #expect(try separate.memoryPlan(inputShapes: [fixture.input.shape]).steps.contains { $0.hasPrefix("block_add ") })
        #expect(try separate.run(fixture.input)[1].relativeMaxError(to: expected) <= parityTolerance)
    }

    @Test func caffeBatchNormAndScaleFoldIntoTheConvolution() throws {
        let fixture = try FixtureCase("caffe_conv_bn_scale")
        let session = try InferenceSession(model: fixture.model)
        #expect(session.executedNodeNames.prefix(2) == ["conv", "gconv"])
        #expect(session.computedNodeNames.prefix(4) == ["conv", "bn", "scale", "relu"])
    }

    @Test func valueNamesAndNodeNamesBothResolve() throws {
        let fixture = try FixtureCase("caffe_slice_crop_eltwise")
        // "slice" is a node whose first output is "slice_a"; "slice_b" is a value.
        let session = try InferenceSession(model: fixture.model, outputs: ["slice", "slice_b"])
        #expect(session.outputNames == ["slice_a", "slice_b"])
    }

    @Test func unknownLayerNamesSuggestRealOnes() throws {
        let fixture = try FixtureCase("residual_net")
        #expect {
            try InferenceSession(model: fixture.model, outputs: ["block_conv9"])
        } throws: { error in
            guard case let RuntimeError.unknownLayer(name, suggestions) = error else { return false }
            return name == "block_conv9" && suggestions.contains("block_conv1") && "\(error)".contains("block_conv1")
        }
    }

    @Test func wrongInputShapeIsReported() throws {
        let fixture = try FixtureCase("conv_valid")
        let session = try InferenceSession(model: fixture.model)
        #expect(throws: RuntimeError.inputShapeMismatch(input: "input", expected: [nil, 9, 9, 4], actual: [2, 9, 9, 3])) {
            try session.run(Tensor(shape: [2, 9, 9, 3], repeating: 1))
        }
        #expect(throws: RuntimeError.self) { try session.run(["image": fixture.input]) }
    }

    @Test func multipleInputsNeedNames() throws {
        let fixture = try FixtureCase("merges")
        let session = try InferenceSession(model: fixture.model, outputs: ["add"])
        #expect(throws: RuntimeError.ambiguousInput(inputs: ["input_0", "input_1"])) { try session.run(fixture.inputs["input_0"]!) }
        #expect(throws: RuntimeError.missingInput(name: "input_1")) { try session.run(["input_0": fixture.inputs["input_0"]!]) }
        // A request that needs one input only takes that input alone.
        let first = try InferenceSession(model: fixture.model, outputs: ["input_0"])
        #expect(first.inputs.map(\.name) == ["input_0"])
        #expect(try first.run(fixture.inputs["input_0"]!)[0] == fixture.inputs["input_0"]!)
    }

    @Test func openSpatialSizesUseSamePaddingOnTheActualSize() throws {
        let fixture = try FixtureCase("conv_same_string_open_size")
        let session = try InferenceSession(model: fixture.model)
        // A different spatial size than the fixture's: 'same' gives ceil(in / stride).
        let result = try session.run(Tensor(shape: [1, 11, 5, 4], repeating: 0.5))
        #expect(result[0].shape == [1, 6, 5, 6])
    }

    @Test func buffersAreReused() throws {
        let fixture = try FixtureCase("residual_net")
        let session = try InferenceSession(model: fixture.model)
        let memory = try session.memoryPlan(inputShapes: [[8, 16, 16, 3]])
        #expect(memory.activationBytes < memory.unsharedActivationBytes * 3 / 4)
        // graft's im2col convolutions share one workspace; oneDNN's keep their own scratchpad.
        #expect(memory.workspaceBytes > 0 || memory.steps.allSatisfy { !$0.contains("Conv2D") || $0.contains("oneDNN") })
        // The input and the output alone take this much.
        #expect(memory.activationBytes >= (8 * 16 * 16 * 3 + 8 * 3) * 4)
    }
}

@Suite("Models that do not fit their inputs are refused with the node and the shapes")
struct ModelErrorTests {
    /// Writes a one-node model reading an NHWC image of 3 channels.
    static func model(_ node: Node, weights: [WeightTensor], in folder: borrowing TemporaryFolder) throws -> ModelFile {
        let graph = Graph(name: "broken", inputs: [ValueInfo(name: "image", shape: [nil, 5, 5, 3], layout: .nhwc)],
                          outputs: [node.outputs[0]], nodes: [node], provenance: Provenance(framework: "graft", converter: "test"))
        let path = folder.path("broken.graft")
        try ModelWriter.write(graph: graph, weights: weights, to: path)
        return try ModelFile(path: path)
    }

    static let convolution = Operation.conv2D(.init(layout: .nhwc, kernelSize: Pair(3, 3)))

    /// Writes a one-node model whose graph JSON then has `original` replaced by `damaged` (of the
    /// same length), as a file written by hand or by another tool could be, and returns its path.
    static func damagedModel(_ node: Node, replacing original: String, with damaged: String,
                             in folder: borrowing TemporaryFolder) throws -> String {
        precondition(original.utf8.count == damaged.utf8.count)
        let graph = Graph(name: "broken", inputs: [ValueInfo(name: "image", shape: [nil, 5, 5, 3], layout: .nhwc)],
                          outputs: [node.outputs[0]], nodes: [node], provenance: Provenance(framework: "graft", converter: "test"))
        let path = folder.path("broken.graft")
        try ModelWriter.write(graph: graph, weights: [], to: path)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let range = try #require(bytes.range(of: Data(original.utf8)))
        bytes.replaceSubrange(range, with: Data(damaged.utf8))
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func kernelForTheWrongChannelCount() throws {
        let node = Node(name: "conv", operation: ModelErrorTests.convolution, inputs: ["image"], outputs: ["conv"], outputShapes: [[nil, 3, 3, 4]],
                        weights: ["kernel": "k"])
        let folder = try TemporaryFolder()
        let session = try InferenceSession(model: try ModelErrorTests.model(node, weights: [WeightTensor(name: "k", shape: [3, 3, 2, 4], values: .init(repeating: 0, count: 72))], in: folder))
        #expect(throws: RuntimeError.weightShapeMismatch(node: "conv", role: "kernel", tensor: "k", expected: [3, 3, 3, 4], actual: [3, 3, 2, 4])) {
            try session.run(Tensor(shape: [1, 5, 5, 3], repeating: 1))
        }
    }

    @Test func declaredShapeDisagreesWithTheComputedOne() throws {
        let node = Node(name: "conv", operation: ModelErrorTests.convolution, inputs: ["image"], outputs: ["conv"], outputShapes: [[nil, 5, 5, 4]],
                        weights: ["kernel": "k"])
        let folder = try TemporaryFolder()
        let session = try InferenceSession(model: try ModelErrorTests.model(node, weights: [WeightTensor(name: "k", shape: [3, 3, 3, 4], values: .init(repeating: 0, count: 108))], in: folder))
        #expect(throws: RuntimeError.declaredShapeMismatch(node: "conv", value: "conv", declared: [nil, 5, 5, 4], computed: [1, 3, 3, 4])) {
            try session.run(Tensor(shape: [1, 5, 5, 3], repeating: 1))
        }
    }

    /// Attribute values outside the op schema are refused when the file is read, naming the file,
    /// the node and the attribute (they used to be found only when the model ran).
    @Test func unsupportedAttributeValueNamesNodeAndAttribute() throws {
        let node = Node(name: "up", operation: .upSampling2D(.init(layout: .nhwc, size: Pair(2, 2))), inputs: ["image"], outputs: ["up"],
                        outputShapes: [[nil, 10, 10, 3]])
        let folder = try TemporaryFolder()
        let path = try ModelErrorTests.damagedModel(node, replacing: "nearest", with: "bicubic", in: folder)
        #expect {
            try ModelFile(path: path)
        } throws: { error in
            "\(error)".hasPrefix("'\(path)' has a graph that does not decode: node 'up': attribute 'interpolation' is \"bicubic\", expected one of nearest, bilinear")
        }
    }

    @Test func hardSigmoidWithoutItsSlopeIsRefused() throws {
        let node = Node(name: "act", operation: .activation(.hardSigmoid(slope: 0.2)), inputs: ["image"], outputs: ["act"],
                        outputShapes: [[nil, 5, 5, 3]])
        let folder = try TemporaryFolder()
        let path = try ModelErrorTests.damagedModel(node, replacing: "slope", with: "sloqe", in: folder)
        #expect {
            try ModelFile(path: path)
        } throws: { error in
            "\(error)" == "'\(path)' has a graph that does not decode: node 'act' lacks its required attribute 'slope'"
        }
    }
}
