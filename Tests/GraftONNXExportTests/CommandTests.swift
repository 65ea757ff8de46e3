import Foundation
import GraftCLI
import GraftImport
import GraftTestSupport
import Testing

/// `graft export` through the command-line front end: exit statuses of the sysexits convention.
@Suite struct CommandTests {
    @Test func exportsAndRefuses() throws {
        let folder = try TemporaryFolder()
        let fixture = try #require(ExportFixture.all.first { $0.name == "caffe/v1_both" })
        try ModelImporter.importModel(from: fixture.sources).write(to: folder.path("m.graft"))
        #expect(GraftMain.run(arguments: ["export", folder.path("m.graft"), "-o", folder.path("m.onnx")]) == 0)
        #expect(FileManager.default.fileExists(atPath: folder.path("m.onnx")))
        #expect(GraftMain.run(arguments: ["export", folder.path("m.graft"), "-o", folder.path("x.onnx"), "--opset", "16"]) == 64)
        #expect(GraftMain.run(arguments: ["export", folder.path("m.graft"), "-o", folder.path("x.onnx"), "--layer", "nope"]) == 64)
        #expect(GraftMain.run(arguments: ["export", folder.path("missing.graft"), "-o", folder.path("x.onnx")]) == 66)
        #expect(GraftMain.run(arguments: ["export", folder.path("m.graft"), "-o", folder.path("no/such/folder/x.onnx")]) == 73)
        #expect(!FileManager.default.fileExists(atPath: folder.path("x.onnx")))
    }
}
