import Foundation
import GraftTensors
import GraftTestSupport
import Testing
/// `graft cache info|merge|export` on caches made by `graft features`.
@Suite struct CacheCommand {
    /// Two shard caches of the fixture images (china, flower), in `folder`.
    static func makeShards(in folder: borrowing TemporaryFolder) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder.path("shards"), withIntermediateDirectories: true)
        var shards: [String] = []
        for (index, list) in ["china/china0.jpg china\nchina/china1.png china\n", "flower/flower2.jpg flower\n"].enumerated() {
            let shard = folder.path("shards/part\(index).h5")
            let result = try GraftBinary.run(["features", FeaturesCommand.model, "-", "--root", FeaturesCommand.fixtures + "/images",
                                              "-o", shard, "--preprocess", "keras-tf", "--classes", "china,flower"],
                                             input: Data(list.utf8))
            #expect(result.status == 0, "\(result.standardError)")
            shards.append(shard)
        }
        return shards
    }

    @Test func infoPrintsRowsLayersClassesAndProvenance() throws {
        let folder = try TemporaryFolder()
        let shards = try CacheCommand.makeShards(in: folder)
        let table = try GraftBinary.run(["cache", "info", shards[0]])
        #expect(table.status == 0)
        #expect(table.standardOutput.contains("rows               2"))
        #expect(table.standardOutput.contains("layer              gap  [8]"))
        #expect(table.standardOutput.contains("class              china  2"))
        #expect(table.standardOutput.contains("model              tiny_features"))
        let json = try FeaturesCommand.info(shards[0])
        #expect(json["rows"] as? Int == 2)
        #expect((json["provenance"] as! [String: Any])["model_sha256"] as? String != nil)
        let missing = try GraftBinary.run(["cache", "info", "/nonexistent.h5"])
        #expect(missing.status == 66)
        #expect(missing.standardError.hasPrefix("graft: error: "))
    }

    @Test(arguments: [false, true]) func mergeConcatenatesInArgumentOrder(virtual: Bool) throws {
        let folder = try TemporaryFolder()
        let shards = try CacheCommand.makeShards(in: folder)
        let merged = folder.path("merged.h5")
        let result = try GraftBinary.run(["cache", "merge", shards[1], shards[0], "-o", merged] + (virtual ? ["--virtual"] : []))
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try FeaturesCommand.ids(merged) == ["flower/flower2.jpg", "china/china0.jpg", "china/china1.png"])
        let parts = try shards.map { try FeaturesCommand.features($0) }
        #expect(try FeaturesCommand.features(merged).scalars == parts[1].scalars + parts[0].scalars)
        let info = try GraftBinary.run(["cache", "info", merged])
        #expect(info.standardOutput.contains("(virtual)") == virtual)
        // Overlapping shards are refused and nothing is written.
        let overlap = try GraftBinary.run(["cache", "merge", shards[0], merged, "-o", folder.path("bad.h5")])
        #expect(overlap.status == 65)
        #expect(overlap.standardError.contains("is in both"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("bad.h5")))
    }

    @Test func exportWritesCSVAndNumPy() throws {
        let folder = try TemporaryFolder()
        let shards = try CacheCommand.makeShards(in: folder)
        let csv = try GraftBinary.run(["cache", "export", shards[0], "--layer", "gap", "--format", "csv"])
        #expect(csv.status == 0)
        let lines = csv.standardOutput.split(separator: "\n")
        #expect(lines.first == "id,label,f0,f1,f2,f3,f4,f5,f6,f7")
        #expect(lines.count == 3 && lines[1].hasPrefix("china/china0.jpg,china,"))
        let npy = folder.path("x.npy")
        #expect(try GraftBinary.run(["cache", "export", shards[0], "--format", "npy", "-o", npy]).status == 0)
        let tensor = try Tensor(npyFile: npy)
        #expect(tensor.shape == [2, 8])
        let values = lines[1].split(separator: ",").dropFirst(2).map { Float(String($0))! }
        #expect(Array(tensor.scalars[0..<8]) == values)
        let unknown = try GraftBinary.run(["cache", "export", shards[0], "--layer", "fc9", "--format", "npy"])
        #expect(unknown.status == 65)
        #expect(unknown.standardError.contains("has no layer 'fc9'"))
    }
}
