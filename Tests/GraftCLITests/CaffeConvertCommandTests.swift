import Foundation
import GraftTensors
import GraftTestSupport
import Testing
/// `graft convert` on Caffe files, then `graft run`, against OpenCV dnn's outputs for the same
/// files (Tools/fixtures/make_caffe_fixtures.py wrote both).
@Suite struct CaffeConvertCommand {
    static let fixtures = "Tests/GraftCaffeImportTests/Fixtures"

    /// Converts `files` (in the given order), runs `layer`, and returns the relative max error
    /// against OpenCV's value of that layer.
    func error(case name: String, files: [String], layer: String, reference: String) throws -> Float {
        let folder = try TemporaryFolder()
        let model = folder.path("\(name).graft")
        let output = folder.path("\(name).npy")
        let convert = try GraftBinary.run(["convert"] + files.map { "\(Self.fixtures)/\($0)" } + ["-o", model])
        #expect(convert.status == 0, "\(convert.standardError)")
        let run = try GraftBinary.run(["run", model, "--input", "\(Self.fixtures)/\(name).input.npy", "--output", output, "--layer", layer])
        #expect(run.status == 0, "\(run.standardError)")
        let expected = try Tensor(npyFile: "\(GraftBinary.repository.path)/\(Self.fixtures)/\(reference)")
        return try Tensor(npyFile: output).relativeMaxError(to: expected)
    }

    @Test func convertsAPrototxtAndCaffemodelInEitherOrder() throws {
        let forward = try error(case: "depthwise_bn_chain", files: ["depthwise_bn_chain.prototxt", "depthwise_bn_chain.caffemodel"],
                                layer: "pw", reference: "depthwise_bn_chain.pw.npy")
        let reversed = try error(case: "depthwise_bn_chain", files: ["depthwise_bn_chain.caffemodel", "depthwise_bn_chain.prototxt"],
                                 layer: "pw", reference: "depthwise_bn_chain.pw.npy")
        #expect(forward <= 1e-4)
        #expect(reversed <= 1e-4)
    }

    @Test func convertsLegacyV1Files() throws {
        #expect(try error(case: "v1_both", files: ["v1_both.prototxt", "v1_both.caffemodel"], layer: "prob", reference: "v1_both.prob.npy") <= 1e-4)
    }

    @Test func aWrongWireTypeExits65AndWritesNothing() throws {
        let folder = try TemporaryFolder()
        let model = folder.path("bad.graft")
        let result = try GraftBinary.run(["convert", "\(Self.fixtures)/conv_basic.prototxt", "\(Self.fixtures)/wrong_wire_type.caffemodel", "-o", model])
        #expect(result.status == 65)
        #expect(result.standardError.hasPrefix("graft: error: "))
        #expect(!FileManager.default.fileExists(atPath: model))
    }

    @Test func aMalformedInputShapeIsAUsageError() throws {
        let folder = try TemporaryFolder()
        let result = try GraftBinary.run(["convert", "\(Self.fixtures)/conv_basic.prototxt", "-o", folder.path("x.graft"), "--input-shape", "1,3,x"])
        #expect(result.status == 64)
    }
}
