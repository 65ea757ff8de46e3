@testable import GraftCaffeImport
import Foundation
import GraftModel
import GraftSupport
import GraftTestSupport
import Testing
/// The graphs and weights the converter writes, checked against the caffemodel's own blobs.
@Suite struct ConversionTests {
    private func fixture(_ name: String) throws -> ParityCase {
        try #require(ParityCase.all.first { $0.name == name })
    }

    private func blobValues(_ caffemodel: String, layer: String, blob: Int) throws -> (shape: [Int], values: [Float]) {
        let model = try CaffeModelFile(path: fixturePath(caffemodel))
        let stored = try #require(model.layers[layer])
        let decoded = try model.blob(blob, of: stored)
        return (decoded.shape, decoded.values)
    }

    private func weight(_ conversion: ImportedModel, _ name: String) throws -> WeightTensor {
        try #require(conversion.weights.first { $0.name == name })
    }

    @Test func convolutionKernelsAreSpatialFirst() throws {
        let conversion = try fixture("conv_group_dilated").convert()
        let (shape, values) = try blobValues("conv_group_dilated.caffemodel", layer: "grouped", blob: 0)
        #expect(shape == [6, 2, 3, 2])
        let kernel = try weight(conversion, "grouped/kernel")
        #expect(kernel.shape == [3, 2, 2, 6])
        for co in 0..<6 { for ci in 0..<2 { for y in 0..<3 { for x in 0..<2 {
            #expect(kernel.values[((y * 2 + x) * 2 + ci) * 6 + co] == values[((co * 2 + ci) * 3 + y) * 2 + x])
        } } } }
        let node = try #require(conversion.graph.nodes.first { $0.name == "grouped" })
        #expect(node.op == .conv2D)
        #expect(node.operation.convolution?.groups == 2)
        #expect(node.operation.convolution?.padding == .explicit(Sides(top: 1, bottom: 1, left: 0, right: 0)))
        #expect(node.operation.convolution?.strides == Pair(1, 2))
        #expect(node.outputShapes == [[nil, 6, 11, 5]])
        let dilated = try #require(conversion.graph.nodes.first { $0.name == "dilated" })
        #expect(dilated.operation.convolution?.dilations == Pair(2, 2))
        #expect(dilated.weights["bias"] == nil)
    }

    @Test func innerProductKernelsAreTransposedAfterAFlatten() throws {
        let conversion = try fixture("inner_product").convert()
        let (_, values) = try blobValues("inner_product.caffemodel", layer: "fc1", blob: 0)
        let kernel = try weight(conversion, "fc1/kernel")
        #expect(kernel.shape == [60, 7])
        for n in 0..<7 { for k in 0..<60 { #expect(kernel.values[k * 7 + n] == values[n * 60 + k]) } }
        let ops = conversion.graph.nodes.map(\.op)
        #expect(ops == [.flatten, .dense, .dense, .dense, .softmax])
        #expect(conversion.graph.nodes[0].name == "fc1/flatten")
        // transpose: true stores [K, N] already.
        let semantics = try fixture("caffe_semantics").convert()
        let (shape, transposed) = try blobValues("caffe_semantics.caffemodel", layer: "fc_t", blob: 0)
        #expect(shape == [48, 5])
        #expect(try weight(semantics, "fc_t/kernel").values == transposed)
        #expect(conversion.graph.defaultFeatureValue == "fc2")
    }

    @Test func batchNormStatisticsAreDividedByTheFactor() throws {
        let conversion = try fixture("scale_bias").convert()
        let (_, mean) = try blobValues("scale_bias.caffemodel", layer: "bn", blob: 0)
        let (_, variance) = try blobValues("scale_bias.caffemodel", layer: "bn", blob: 1)
        let (_, factor) = try blobValues("scale_bias.caffemodel", layer: "bn", blob: 2)
        #expect(factor[0] != 1 && factor[0] != 0)
        #expect(try weight(conversion, "bn/moving_mean").values == mean.map { $0 * (1 / factor[0]) })
        #expect(try weight(conversion, "bn/moving_variance").values == variance.map { $0 * (1 / factor[0]) })
        #expect(try weight(conversion, "bn_zero/moving_mean").values == [0, 0, 0])
        let node = try #require(conversion.graph.nodes.first { $0.name == "bn_zero" })
        if case let .batchNormalization(normalization) = node.operation {
            #expect(normalization.epsilon == Double(Float(0.01)))
        } else {
            Issue.record("bn_zero is \(node.op), expected BatchNormalization")
        }
        #expect(node.weights["gamma"] == nil)
    }

    @Test func inPlaceChainsNameTheLastWriterAfterTheBlob() throws {
        let graph = try fixture("depthwise_bn_chain").convert().graph
        let outputs = Dictionary(uniqueKeysWithValues: graph.nodes.map { ($0.name, $0.outputs[0]) })
        #expect(outputs["dw"] == "dw@dw")
        #expect(outputs["dw/bn"] == "dw@dw/bn")
        #expect(outputs["dw/scale"] == "dw@dw/scale")
        #expect(outputs["dw/relu"] == "dw")
        #expect(graph.nodes.first { $0.name == "pw" }?.inputs == ["dw"])
        #expect(graph.outputs == ["pw"])
        #expect(graph.nodes.first { $0.name == "dw" }?.operation.convolution?.groups == 4)
    }

    @Test func trainValNetsKeepTheTestPhase() throws {
        let conversion = try fixture("train_val").convert()
        let graph = conversion.graph
        #expect(graph.inputs == [ValueInfo(name: "data", shape: [nil, 3, 8, 8], layout: .nchw)])
        #expect(!graph.nodes.contains { $0.name == "loss" || $0.name == "accuracy" })
        #expect(graph.outputs == ["fc"])
        #expect(graph.preprocessing["preset"] == "caffe")
        #expect(graph.preprocessing["mean"] == [104.0, 117.0, 123.0])
        #expect(graph.preprocessing["crop_size"] == 8)
        #expect(graph.preprocessing["mirror"] == false)
        #expect(graph.preprocessing["scale"]?.doubleValue == Double(Float(0.017)))
        // Without --input-shape the data layer's shape is unknown.
        #expect {
            try CaffeImporter.convert(prototxt: fixturePath("train_val.prototxt"), weights: fixturePath("train_val.caffemodel"))
        } throws: { error in
            guard case let CaffeImportError.inputShape(_, reason) = error else { return false }
            return reason.contains("--input-shape")
        }
    }

    @Test func legacyAndCurrentFormatsGiveTheSameGraph() throws {
        let current = try fixture("input_dim").convert()
        for name in ["v1_prototxt", "v1_caffemodel", "v1_both"] {
            let other = try fixture(name).convert()
            #expect(other.graph.nodes.map(\.op) == current.graph.nodes.map(\.op), "\(name)")
            #expect(other.graph.nodes.map(\.outputShapes) == current.graph.nodes.map(\.outputShapes), "\(name)")
            #expect(other.weights.map(\.shape) == current.weights.map(\.shape), "\(name)")
        }
        #expect(try fixture("v1_prototxt").convert().graph.provenance.details["prototxt_format"] == "V1 layers")
    }

    @Test func blobStorageFormsDecodeToTheSameValues() throws {
        // fp16, unpacked with legacy shapes, double: each stores what it stores; check one value
        // path each against the packed reader's view of the same file.
        for name in ["fp16_blobs", "unpacked_legacy_shapes", "double_blobs", "fork_fields"] {
            let conversion = try fixture(name).convert()
            let (shape, values) = try blobValues("\(name).caffemodel", layer: "fc", blob: 0)
            #expect(shape.reduce(1, *) == 3 * 36, "\(name)")
            let kernel = try weight(conversion, "fc/kernel")
            #expect(kernel.shape == [36, 3])
            for n in 0..<3 { for k in 0..<36 { #expect(kernel.values[k * 3 + n] == values[n * 36 + k], "\(name)") } }
        }
        let (legacyShape, _) = try blobValues("unpacked_legacy_shapes.caffemodel", layer: "fc", blob: 0)
        #expect(legacyShape == [1, 1, 3, 36])
    }

    @Test func provenanceRecordsBothFiles() throws {
        let fixture = try fixture("conv_basic")
        let graph = try fixture.convert().graph
        #expect(graph.name == "conv_basic")
        #expect(graph.provenance.framework == "caffe")
        #expect(graph.provenance.sources.map(\.file) == ["conv_basic.prototxt", "conv_basic.caffemodel"])
        #expect(graph.provenance.sources[0].sha256 == (try SHA256.hexDigest(ofFileAt: fixturePath("conv_basic.prototxt"))))
        #expect(graph.provenance.sources[1].sha256 == (try SHA256.hexDigest(ofFileAt: fixturePath("conv_basic.caffemodel"))))
        #expect(graph.provenance.converter == GraftVersion.tool)
    }

    @Test func poolingRecordsCaffeRounding() throws {
        let graph = try fixture("pooling").convert().graph
        let node = { (name: String) in graph.nodes.first { $0.name == name } }
        #expect(node("max_ceil")?.operation.pooling?.rounding == .ceil)
        #expect(node("max_ceil")?.outputShapes == [[nil, 3, 6, 5]])
        // kernel 2, stride 3, pad 1. Height 10: ceil(10/3) + 1 = 5 windows, but the last would
        // start at 4·3 = 12 ≥ 10 + 1, inside the bottom padding: dropped. Width 9: ceil(9/3) + 1
        // = 4, the last starts at 9 < 9 + 1: kept.
        #expect(node("edge")?.outputShapes == [[nil, 3, 4, 4]])
        #expect(node("ave_pad")?.op == .averagePooling2D)
        #expect(node("ave_pad")?.operation.pooling?.divisor == .padded)
        #expect(node("gap")?.op == .globalAveragePooling)
        if case let .globalAveragePooling(global)? = node("gap")?.operation {
            #expect(global.keepsDimensions)
        } else {
            Issue.record("gap is not a GlobalAveragePooling node")
        }
        let floor = try fixture("pooling_floor").convert().graph
        #expect(floor.nodes[0].operation.pooling?.rounding == .floor)
        #expect(floor.nodes[0].outputShapes == [[nil, 2, 4, 4]])
    }

    @Test func filesAreRecognisedByContent() throws {
        #expect(try CaffeFileKind.detect(path: fixturePath("conv_basic.prototxt")) == .prototxt)
        #expect(try CaffeFileKind.detect(path: fixturePath("conv_basic.caffemodel")) == .caffemodel)
        #expect(try CaffeFileKind.detect(path: fixturePath("v1_both.caffemodel")) == .caffemodel)
        #expect(try CaffeFileKind.detect(path: fixturePath("conv_basic.input.npy")) == nil)
        // The files may come in either order.
        let swapped = try CaffeImporter.convert(files: [fixturePath("conv_basic.caffemodel"), fixturePath("conv_basic.prototxt")])
        #expect(swapped.graph.nodes.count == 2)
    }
}
