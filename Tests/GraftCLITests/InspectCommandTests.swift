import Foundation
import Testing
@Suite struct InspectCommand {
    @Test func printsTheTableForTheShippedSample() throws {
        let result = try GraftBinary.run(["inspect", "Samples/tiny-cnn.graft"])
        #expect(result.status == 0)
        #expect(result.standardError.isEmpty)
        let lines = result.standardOutput.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        // Parameter counts are the products of the kernel and bias shapes numpy wrote:
        // 3·3·1·8 + 8 = 80, 3·3·8·16 + 16 = 1168, 16·5 + 5 = 85.
        #expect(lines.contains("conv1 Conv2D [?, 26, 26, 8] 80"))
        #expect(lines.contains("pool1 MaxPooling2D [?, 13, 13, 8] 0"))
        #expect(lines.contains("conv2 Conv2D [?, 11, 11, 16] 1168"))
        #expect(lines.contains("dense Dense [?, 5] 85"))
        #expect(lines.contains("input image [?, 28, 28, 1] NHWC"))
        #expect(lines.contains("output probabilities [?, 5]"))
        #expect(lines.contains { $0.hasPrefix("features gap") })
        #expect(lines.contains { $0.hasPrefix("total parameters: 1333 (5332 bytes of weights") })
        #expect(lines.contains("framework graft"))
    }

    @Test func printsJSON() throws {
        let result = try GraftBinary.run(["inspect", "Samples/tiny-cnn.graft", "--json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(object["total_parameters"] as? Int == 1333)
        #expect(object["default_feature_layer"] as? String == "gap")
        let nodes = try #require(object["nodes"] as? [[String: Any]])
        #expect(nodes.map { $0["name"] as? String } == ["conv1", "pool1", "conv2", "gap", "dense", "probabilities"])
        #expect(nodes.map { $0["parameters"] as? Int } == [80, 0, 1168, 0, 85, 0])
        let provenance = try #require(object["provenance"] as? [String: Any])
        #expect(provenance["framework"] as? String == "graft")
    }

    @Test func aMissingFileExits66() throws {
        let result = try GraftBinary.run(["inspect", "no/such/model.graft"])
        #expect(result.status == 66)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError == "graft: error: cannot open 'no/such/model.graft': No such file or directory\n")
    }

    @Test(arguments: ["truncated", "header-past-end", "offsets-out-of-range", "overlapping-tensors",
                      "dtype-size-mismatch", "bad-json", "missing-graph", "future-format-version",
                      "undefined-value", "missing-weight", "unknown-op", "graph-not-json", "empty", "unknown-dtype"])
    func aCorruptFileExits65WithOneLine(name: String) throws {
        let path = "Tests/GraftModelTests/Fixtures/corrupt/\(name).graft"
        let result = try GraftBinary.run(["inspect", path])
        #expect(result.status == 65)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.hasPrefix("graft: error: '\(path)'"))
        #expect(result.standardError.filter { $0 == "\n" }.count == 1, "\(result.standardError)")
    }

    @Test func aUsageErrorExits64() throws {
        let result = try GraftBinary.run(["inspect"])
        #expect(result.status == 64)
        #expect(result.standardError.hasPrefix("graft: error: Missing expected argument '<model>'"))
        let unknown = try GraftBinary.run(["inspect", "Samples/tiny-cnn.graft", "--no-such-flag"])
        #expect(unknown.status == 64)
    }

    @Test func versionAndHelpGoToStandardOutput() throws {
        let version = try GraftBinary.run(["--version"])
        #expect(version.status == 0)
        #expect(version.standardOutput == "0.1.0\n")
        let help = try GraftBinary.run(["help", "inspect"])
        #expect(help.status == 0)
        #expect(help.standardOutput.contains("USAGE: graft inspect <model> [--json]"))
        let top = try GraftBinary.run(["--help"])
        #expect(top.status == 0)
        #expect(top.standardOutput.contains("inspect"))
    }
}
