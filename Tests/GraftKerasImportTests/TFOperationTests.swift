import Foundation
import GraftKerasImport
import GraftModel
import GraftTestSupport
import Testing

/// tf.keras `TFOpLambda` / `SlicingOpLambda` layers: what is refused and how calls are read.
/// Their numbers are checked against tf_keras by the `tfops-*` parity fixtures.
@Suite struct TFOperationLayers {
    /// A one-layer Keras 2 model on an [N, 8, 8, 4] input whose layer calls `function` with the
    /// inbound node `node` (Keras 2 JSON), converted with a weights file that holds none.
    static func convert(function: String, node: String, className: String = "TFOpLambda") throws -> ImportedModel {
        let configuration = """
            {"class_name": "Functional", "config": {"name": "probe", "layers": [
              {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [null, 8, 8, 4]}, "inbound_nodes": []},
              {"class_name": "InputLayer", "name": "z", "config": {"name": "z", "batch_input_shape": [null, 8, 8, 4]}, "inbound_nodes": []},
              {"class_name": "\(className)", "name": "op", "config": {"name": "op", "trainable": true, "dtype": "float32", "function": "\(function)"},
               "inbound_nodes": [\(node)]}],
             "input_layers": [["x", 0, 0], ["z", 0, 0]], "output_layers": [["op", 0, 0]]}}
            """
        let scratch = try TemporaryFolder()
        let file = scratch.path("arch.json")
        try configuration.write(toFile: file, atomically: true, encoding: .utf8)
        // A weights file of its own (tf_keras's, holding no weights): HDF5 refuses to open a file
        // that another test holds open with other locking flags.
        let weights = scratch.path("weights.h5")
        try FileManager.default.copyItem(atPath: Fixtures.folder.appendingPathComponent("tfops-weightless/weights.h5").path, toPath: weights)
        return try KerasConverter.convert(modelAt: weights, architectureAt: file)
    }

    @Test func listsEveryUnsupportedFunctionAndUse() throws {
        let path = Fixtures.folder.appendingPathComponent("tfops-unsupported/model.h5").path
        do {
            _ = try KerasConverter.convert(modelAt: path)
            Issue.record("a model with tf.linalg.matmul was converted")
        } catch let error as KerasImportError {
            guard case let .unsupportedLayers(_, layers) = error else { Issue.record("wrong error \(error)"); return }
            #expect(layers.map(\.kind) == ["TFOpLambda tf.linalg.matmul", "TFOpLambda tf.math.truediv",
                                           "SlicingOpLambda tf.__operators__.getitem", "TFOpLambda tf.image.resize"])
            #expect(layers[0].reason == nil)
            #expect(layers[1].reason?.contains("divides a constant by a tensor") == true)
            #expect(layers[2].reason?.contains("step 2") == true)
            #expect(layers[3].reason?.contains("bicubic") == true)
            #expect(layers.allSatisfy { $0.name.hasPrefix("tf.") })
            #expect(error.exitStatus.rawValue == 65)
        }
    }

    @Test(arguments: [
        ("reshape", #"["x", 0, 0, {"shape": [2, 16, 16]}]"#, "fixes the batch axis"),
        ("compat.v1.transpose", #"["x", 0, 0, {"perm": [1, 0, 2, 3]}]"#, "moves the batch axis"),
        ("compat.v1.transpose", #"["x", 0, 0, {"perm": null}]"#, "reverses the batch axis"),
        ("math.reduce_mean", #"["x", 0, 0, {"axis": null, "keepdims": false}]"#, "reduces every axis"),
        ("math.reduce_sum", #"["x", 0, 0, {"axis": [0, 1]}]"#, "reduces the batch axis"),
        ("concat", #"[["x", 0, 0, {"axis": 0}], ["z", 0, 0, {"axis": 0}]]"#, "batch axis"),
        ("expand_dims", #"["x", 0, 0, {"axis": 0}]"#, "before the batch axis"),
        ("math.truediv", #"["_CONSTANT_VALUE", -1, 1.0, {"y": ["z", 0, 0]}]"#, "divides a constant by a tensor"),
        ("math.maximum", #"["x", 0, 0, {"y": [1.0, 2.0, 3.0, 4.0]}]"#, "constant array"),
        ("math.add", #"["x", 0, 0, {"y": "three"}]"#, "neither a tensor nor numbers"),
        ("nn.bias_add", #"["x", 0, 0, {"bias": ["z", 0, 0]}]"#, "a tensor"),
        ("image.resize", #"["x", 0, 0, {"size": [16, 16], "preserve_aspect_ratio": true}]"#, "aspect ratio"),
        ("nn.silu", #"["x", 0, 0, {"beta": 2.0}]"#, "beta"),
    ])
    func refusesWhatTheConfigurationShowsCannotBeConverted(function: String, node: String, reason: String) throws {
        do {
            _ = try Self.convert(function: function, node: node)
            Issue.record("tf.\(function) with \(node) was converted")
        } catch let error as KerasImportError {
            guard case let .unsupportedLayers(_, layers) = error else { Issue.record("wrong error \(error)"); return }
            #expect(layers.count == 1)
            #expect(layers.first?.kind == "TFOpLambda tf.\(function)")
            #expect(layers.first?.reason?.contains(reason) == true, "\(layers)")
        }
    }

    @Test func refusesSlicesOfTheBatchAxisAndStrides() throws {
        for (spec, reason) in [(#"[{"start": 1, "stop": null, "step": null}]"#, "slices the batch axis"),
                               (#"[{"start": null, "stop": null, "step": null}, null]"#, "new axis"),
                               (#"[{"start": null, "stop": null, "step": null}, {"start": 0, "stop": 4, "step": 2}]"#, "step 2")] {
            do {
                _ = try Self.convert(function: "__operators__.getitem", node: #"["x", 0, 0, {"slice_spec": \#(spec)}]"#,
                                     className: "SlicingOpLambda")
                Issue.record("slice \(spec) was converted")
            } catch let KerasImportError.unsupportedLayers(_, layers) {
                #expect(layers.first?.reason?.contains(reason) == true, "\(layers)")
            }
        }
    }

    /// Axes known only with the input's rank are refused at conversion, naming the layer.
    @Test(arguments: [
        ("expand_dims", #"["x", 0, 0, {"axis": -5}]"#),
        ("nn.softmax", #"["x", 0, 0, {"axis": -4}]"#),
        ("math.reduce_max", #"["x", 0, 0, {"axis": [-4]}]"#),
        ("image.resize", #"["x", 0, 0, {"size": [12, 12]}]"#),
        ("math.multiply", #"["x", 0, 0, {"y": [1.0, 2.0, 3.0]}]"#),
    ])
    func refusesBatchAxesAndMisfitsAtConversion(function: String, node: String) throws {
        #expect {
            try Self.convert(function: function, node: node)
        } throws: { error in
            guard case let KerasImportError.unsupportedOption(_, layer, className, _) = error else { return false }
            return layer == "op" && className == "TFOpLambda"
        }
    }

    @Test func readsScalarsOnEitherSideAndTensorsAmongKeywordArguments() throws {
        func operation(_ function: String, _ node: String) throws -> [GraftModel.Operation] {
            try Self.convert(function: function, node: node).graph.nodes.map(\.operation)
        }
        #expect(try operation("__operators__.add", #"["x", 0, 0, {"y": 3.0, "name": null}]"#) == [.rescaling(.init(scale: 1, offset: 3))])
        #expect(try operation("math.subtract", #"["_CONSTANT_VALUE", -1, 2.0, {"y": ["x", 0, 0], "name": null}]"#)
            == [.rescaling(.init(scale: -1, offset: 2))])
        let merged = try Self.convert(function: "math.multiply", node: #"["x", 0, 0, {"y": ["z", 0, 0]}]"#).graph.nodes
        #expect(merged.map(\.operation) == [.multiply])
        #expect(merged.first?.inputs == ["x", "z"])
        #expect(try operation("math.reduce_mean", #"["x", 0, 0, {"axis": [1, 2], "keepdims": true}]"#)
            == [.globalAveragePooling(.init(layout: .nhwc, keepsDimensions: true))])
        #expect(try operation("image.resize", #"["x", 0, 0, {"size": [16, 24]}]"#)
            == [.upSampling2D(.init(layout: .nhwc, size: Pair(2, 3), interpolation: .bilinear))])
        #expect(try operation("concat", #"[["x", 0, 0, {"axis": -1}], ["z", 0, 0, {"axis": -1}]]"#) == [.concatenate(axis: 3)])
    }
}
