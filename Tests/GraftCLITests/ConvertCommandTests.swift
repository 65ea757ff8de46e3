import Foundation
import GraftTestSupport
import Testing
/// `graft convert` run as a shell user would, on the Keras importer's committed fixtures.
@Suite struct ConvertCommand {
    static let fixtures = "Tests/GraftKerasImportTests/Fixtures"

    @Test(arguments: ["keras3-archive/model.keras", "keras3-h5/model.h5", "tfkeras-h5/model.h5",
                      "keras1-theano-sequential/model.h5", "keras3-nested-archive/model.keras"])
    func writesAModelThatInspectReads(source: String) throws {
        let folder = try TemporaryFolder()
        let output = folder.path("model.graft")
        let result = try GraftBinary.run(["convert", "\(Self.fixtures)/\(source)", "-o", output])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        let inspect = try GraftBinary.run(["inspect", output, "--json"])
        #expect(inspect.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(inspect.standardOutput.utf8)) as? [String: Any])
        let provenance = try #require(object["provenance"] as? [String: Any])
        #expect(provenance["framework"] as? String == "keras")
    }

    @Test func convertsAWeightsOnlyFileWithItsArchitecture() throws {
        let folder = try TemporaryFolder()
        let output = folder.path("model.graft")
        let result = try GraftBinary.run(["convert", "\(Self.fixtures)/tfkeras-weights-json/weights.h5",
                                          "--config", "\(Self.fixtures)/tfkeras-weights-json/model.json", "-o", output, "--name", "renamed"])
        #expect(result.status == 0, "\(result.standardError)")
        let inspect = try GraftBinary.run(["inspect", output])
        #expect(inspect.standardOutput.contains("renamed"))
    }

    @Test func detectsTheFormatByContentNotByName() throws {
        let folder = try TemporaryFolder()
        let renamedHDF5 = folder.path("model.bin")
        let renamedArchive = folder.path("weights.h5")
        try FileManager.default.copyItem(atPath: "\(GraftBinary.repository.path)/\(Self.fixtures)/keras3-h5/model.h5", toPath: renamedHDF5)
        try FileManager.default.copyItem(atPath: "\(GraftBinary.repository.path)/\(Self.fixtures)/keras3-archive/model.keras", toPath: renamedArchive)
        for source in [renamedHDF5, renamedArchive] {
            let result = try GraftBinary.run(["convert", source, "-o", folder.path("out.graft")])
            #expect(result.status == 0, "\(source): \(result.standardError)")
        }
    }

    @Test(arguments: ["unsupported-layers/model.h5", "missing-weight/model.h5", "misshaped-weight/model.h5",
                      "keras3-archive/input.npy", "tfkeras-weights-json/weights.h5"])
    func badInputExits65AndWritesNothing(source: String) throws {
        let folder = try TemporaryFolder()
        let output = folder.path("model.graft")
        let result = try GraftBinary.run(["convert", "\(Self.fixtures)/\(source)", "-o", output])
        #expect(result.status == 65)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.hasPrefix("graft: error: "))
        #expect(result.standardError.split(separator: "\n").count == 1)
        #expect(try folder.contents().isEmpty)
    }

    @Test func unsupportedLayersAreAllListed() throws {
        let folder = try TemporaryFolder()
        let result = try GraftBinary.run(["convert", "\(Self.fixtures)/unsupported-layers/model.h5", "-o", folder.path("m.graft")])
        #expect(result.standardError.contains("'triple' (Lambda)"))
        #expect(result.standardError.contains("'doubler' (fixtures>Doubler)"))
        #expect(result.standardError.contains("Supported Keras layers"))
    }

    @Test func aMissingSourceExits66() throws {
        let result = try GraftBinary.run(["convert", "no/such/model.h5", "-o", "/tmp/never.graft"])
        #expect(result.status == 66)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never.graft"))
    }
}
