import Foundation
import GraftModel
import GraftONNXImport
import GraftTestSupport
import Testing

/// What the converted graph records, beyond its numbers.
@Suite struct ConversionTests {
    /// Values and nodes keep their ONNX names; the layout is NCHW; the default feature layer is
    /// the input of the last Gemm; no preprocessing is guessed; provenance names every file.
    @Test func graphRecordsTheModel() throws {
        let fixture = try #require(ONNXFixture.named("external_data"))
        let model = try fixture.convert()
        let graph = model.graph
        #expect(graph.inputs == [ValueInfo(name: "x", shape: [nil, 3, 6, 6], layout: .nchw)])
        #expect(graph.outputs == ["logits"])
        #expect(graph.nodes.map(\.name) == ["conv", "relu", "pool", "flatten", "fc"])
        #expect(graph.defaultFeatureValue == "features")
        #expect(graph.preprocessing.isEmpty)
        #expect(graph.nodes[0].operation.layout == .nchw)
        #expect(graph.provenance.framework == "onnx")
        #expect(graph.provenance.sources.map(\.file) == ["external_data.onnx", "external_data.weights"])
        #expect(graph.provenance.details["opset"] == .integer(17))
    }

    /// The GELU written out with Erf becomes one node, in each of the groupings exporters use.
    @Test func erfGeluIsOneNode() throws {
        let model = try #require(ONNXFixture.named("erf_gelu")).convert()
        #expect(model.graph.nodes.map(\.op) == [.activation, .activation, .activation])
        #expect(model.graph.nodes.allSatisfy { $0.operation == .activation(.gelu(approximate: false)) })
        #expect(model.graph.nodes.map(\.name) == ["ts/mul_1", "lib/mul_1", "alt/mul"])
    }

    /// MatMul followed by the Add of a bias is one Dense node with that bias.
    @Test func matMulAndBiasAreOneDense() throws {
        let model = try #require(ONNXFixture.named("products")).convert()
        let dense = try #require(model.graph.nodes.first { $0.name == "matmul" })
        #expect(dense.op == .dense)
        #expect(dense.weights.keys.sorted() == ["bias", "kernel"])
        #expect(dense.outputs == ["dense"])
        #expect(!model.graph.nodes.contains { $0.name == "matmul_bias" })
    }

    /// The shape subgraph is folded away: no node remains of Shape, Gather, Unsqueeze or Concat.
    @Test func shapeSubgraphIsFolded() throws {
        let model = try #require(ONNXFixture.named("shape_subgraph")).convert()
        #expect(model.graph.nodes.map(\.op) == [.conv2D, .reshape, .reshape, .scale, .dense])
        #expect(model.graph.nodes[1].operation == .reshape(shape: [60]))
        #expect(model.graph.nodes[2].operation == .reshape(shape: [3, 20]))
    }

    /// The identity `as_strided` of the dynamo exporter (flatten across the batch, gather back with
    /// indices built from the batch size) is one Identity node.
    @Test func identityGatherAcrossTheBatch() throws {
        let model = try #require(ONNXFixture.named("flattened_gather")).convert()
        #expect(model.graph.nodes.map(\.op) == [.globalAveragePooling, .identity, .flatten, .dense])
        #expect(model.graph.nodes[1].name == "as_strided")
    }
}
