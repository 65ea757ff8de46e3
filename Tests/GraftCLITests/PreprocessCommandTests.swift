import Foundation
import GraftModel
import Testing
import GraftTensors
/// `graft preprocess` against the Keras and PIL references committed for ImageIO
/// (Tools/fixtures/make_image_fixtures.py).
@Suite struct PreprocessCommand {
    static let images = "Tests/GraftImagesTests/Fixtures"

    /// A model with one image input and no nodes, carrying a preprocessing record.
    func model(layout: Layout, shape: [Int?], preprocessing: [String: JSONValue]) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("graft-preprocess-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("input.graft").path
        let graph = Graph(name: "input_only", inputs: [ValueInfo(name: "image", shape: shape, layout: layout)],
                          outputs: ["image"], nodes: [], preprocessing: preprocessing,
                          provenance: Provenance(framework: "graft", converter: "graft tests"))
        try ModelWriter.write(graph: graph, weights: [], to: path)
        return path
    }

    func output() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("graft-preprocess-\(UUID().uuidString).npy").path
    }

    @Test func theRecordedKerasPresetGivesKerasTensor() throws {
        let model = try model(layout: .nhwc, shape: [nil, 40, 40, 3], preprocessing: ["preset": "keras-caffe"])
        let output = output()
        let result = try GraftBinary.run(["preprocess", model, "\(Self.images)/images/baseline.jpg", "-o", output, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains(#""preset":"keras-caffe""#))
        let tensor = try Tensor(npyFile: output)
        let reference = try Tensor(npyFile: "\(GraftBinary.repository.path)/\(Self.images)/keras/baseline_jpg_rgb_40x40_nearest_keras-caffe_NHWC.npy")
        #expect(tensor.shape == [1, 40, 40, 3])
        #expect(tensor.relativeMaxError(to: reference) == 0)
    }

    @Test func optionsOverrideTheRecordForACaffeModel() throws {
        let model = try model(layout: .nchw, shape: [nil, 3, 40, 40],
                              preprocessing: ["preset": "caffe", "mean": [104, 117, 123], "scale": 1])
        let output = output()
        let result = try GraftBinary.run(["preprocess", model, "\(Self.images)/images/baseline.jpg", "-o", output,
                                          "--resize", "crop", "--resize-short", "48", "--interpolation", "bilinear",
                                          "--scale", "0.017"])
        #expect(result.status == 0, "\(result.standardError)")
        let tensor = try Tensor(npyFile: output)
        let reference = try Tensor(npyFile: "\(GraftBinary.repository.path)/\(Self.images)/keras/baseline_jpg_crop_48_40x40_bilinear.npy")
        #expect(tensor.shape == [1, 3, 40, 40])
        #expect(tensor.relativeMaxError(to: reference) == 0)
    }

    @Test func noRecordAndNoPresetIsAUsageError() throws {
        let model = try model(layout: .nhwc, shape: [nil, 40, 40, 3], preprocessing: [:])
        let output = output()
        let result = try GraftBinary.run(["preprocess", model, "\(Self.images)/images/rgb.png", "-o", output])
        #expect(result.status == 64)
        #expect(result.standardError == "graft: error: the model records no preprocessing; choose --preprocess keras-caffe, keras-tf, keras-torch, caffe or none\n")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func aBrokenImageExits65AndWritesNothing() throws {
        let model = try model(layout: .nhwc, shape: [nil, 40, 40, 3], preprocessing: ["preset": "keras-tf"])
        for (file, message) in [("broken/truncated.jpg", "is a truncated JPEG file"), ("broken/empty.jpg", "is an empty file"),
                                ("broken/huge.png", "declares 100000×100000 pixels")] {
            let output = output()
            let result = try GraftBinary.run(["preprocess", model, "\(Self.images)/\(file)", "-o", output])
            #expect(result.status == 65, "\(file): \(result.standardError)")
            #expect(result.standardError.hasPrefix("graft: error: '\(Self.images)/\(file)' \(message)"), "\(result.standardError)")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
    }

    @Test func badOptionValuesAreUsageErrors() throws {
        let model = try model(layout: .nhwc, shape: [nil, 40, 40, 3], preprocessing: ["preset": "keras-tf"])
        let size = try GraftBinary.run(["preprocess", model, "\(Self.images)/images/rgb.png", "-o", output(), "--size", "40"])
        #expect(size.status == 64)
        #expect(size.standardError == "graft: error: invalid --size '40': write it as HEIGHTxWIDTH, for example 224x224\n")
        let filter = try GraftBinary.run(["preprocess", model, "\(Self.images)/images/rgb.png", "-o", output(), "--interpolation", "lanczos"])
        #expect(filter.status == 64)
        #expect(filter.standardError == "graft: error: invalid --interpolation 'lanczos': choose nearest, bilinear, bicubic, area\n")
        let record = try self.model(layout: .nhwc, shape: [nil, 40, 40, 3], preprocessing: ["preset": "keras-tf", "interpolaton": "box"])
        let bad = try GraftBinary.run(["preprocess", record, "\(Self.images)/images/rgb.png", "-o", output()])
        #expect(bad.status == 65)
        #expect(bad.standardError.hasPrefix("graft: error: the recorded preprocessing is invalid: unknown member 'interpolaton'"))
    }
}
