import Foundation
import GraftModel
import GraftTestSupport
import Testing
import GraftTensors
/// `graft preprocess` against the Keras and PIL references committed for ImageIO
/// (Tools/fixtures/make_image_fixtures.py).
@Suite struct PreprocessCommand {
    static let images = "Tests/GraftImagesTests/Fixtures"

    /// A model with one image input and no nodes, carrying a preprocessing record, written to
    /// `name` in `folder`.
    func model(layout: Layout, shape: [Int?], preprocessing: [String: JSONValue], name: String = "input.graft",
               in folder: borrowing TemporaryFolder) throws -> String {
        let path = folder.path(name)
        let graph = Graph(name: "input_only", inputs: [ValueInfo(name: "image", shape: shape, layout: layout)],
                          outputs: ["image"], nodes: [], preprocessing: preprocessing,
                          provenance: Provenance(framework: "graft", converter: "graft tests"))
        try ModelWriter.write(graph: graph, weights: [], to: path)
        return path
    }

    /// A new output path in `folder`.
    func output(in folder: borrowing TemporaryFolder) -> String {
        folder.path("output-\(UUID().uuidString).npy")
    }

    @Test func theRecordedKerasPresetGivesKerasTensor() throws {
        let folder = try TemporaryFolder()
        let model = try model(layout: .nhwc, shape: [nil, 40, 40, 3], preprocessing: ["preset": "keras-caffe"], in: folder)
        let output = output(in: folder)
        let result = try GraftBinary.run(["preprocess", model, "\(Self.images)/images/baseline.jpg", "-o", output, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains(#""preset":"keras-caffe""#))
        let tensor = try Tensor(npyFile: output)
        let reference = try Tensor(npyFile: "\(GraftBinary.repository.path)/\(Self.images)/keras/baseline_jpg_rgb_40x40_nearest_keras-caffe_NHWC.npy")
        #expect(tensor.shape == [1, 40, 40, 3])
        #expect(tensor.relativeMaxError(to: reference) == 0)
    }

    @Test func optionsOverrideTheRecordForACaffeModel() throws {
        let folder = try TemporaryFolder()
        let model = try model(layout: .nchw, shape: [nil, 3, 40, 40],
                              preprocessing: ["preset": "caffe", "mean": [104, 117, 123], "scale": 1], in: folder)
        let output = output(in: folder)
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
        let folder = try TemporaryFolder()
        let model = try model(layout: .nhwc, shape: [nil, 40, 40, 3], preprocessing: [:], in: folder)
        let output = output(in: folder)
        let result = try GraftBinary.run(["preprocess", model, "\(Self.images)/images/rgb.png", "-o", output])
        #expect(result.status == 64)
        #expect(result.standardError == "graft: error: the model records no preprocessing; choose --preprocess keras-caffe, keras-tf, keras-torch, caffe or none\n")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func aBrokenImageExits65AndWritesNothing() throws {
        let folder = try TemporaryFolder()
        let model = try model(layout: .nhwc, shape: [nil, 40, 40, 3], preprocessing: ["preset": "keras-tf"], in: folder)
        for (file, message) in [("broken/truncated.jpg", "is a truncated JPEG file"), ("broken/empty.jpg", "is an empty file"),
                                ("broken/huge.png", "declares 100000×100000 pixels")] {
            let output = output(in: folder)
            let result = try GraftBinary.run(["preprocess", model, "\(Self.images)/\(file)", "-o", output])
            #expect(result.status == 65, "\(file): \(result.standardError)")
            #expect(result.standardError.hasPrefix("graft: error: '\(Self.images)/\(file)' \(message)"), "\(result.standardError)")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
    }

    @Test func badOptionValuesAreUsageErrors() throws {
        let folder = try TemporaryFolder()
        let model = try model(layout: .nhwc, shape: [nil, 40, 40, 3], preprocessing: ["preset": "keras-tf"], in: folder)
        let size = try GraftBinary.run(["preprocess", model, "\(Self.images)/images/rgb.png", "-o", output(in: folder), "--size", "40"])
        #expect(size.status == 64)
        #expect(size.standardError == "graft: error: invalid --size '40': write it as HEIGHTxWIDTH, for example 224x224\n")
        let filter = try GraftBinary.run(["preprocess", model, "\(Self.images)/images/rgb.png", "-o", output(in: folder), "--interpolation", "lanczos"])
        #expect(filter.status == 64)
        #expect(filter.standardError == "graft: error: invalid --interpolation 'lanczos': choose nearest, bilinear, bicubic, area\n")
        let record = try self.model(layout: .nhwc, shape: [nil, 40, 40, 3], preprocessing: ["preset": "keras-tf", "interpolaton": "box"],
                                    name: "record.graft", in: folder)
        let bad = try GraftBinary.run(["preprocess", record, "\(Self.images)/images/rgb.png", "-o", output(in: folder)])
        #expect(bad.status == 65)
        #expect(bad.standardError.hasPrefix("graft: error: the recorded preprocessing is invalid: unknown member 'interpolaton'"))
    }
}
