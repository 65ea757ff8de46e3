import Foundation
@testable import GraftKerasImport
import GraftSupport
import Testing

/// graft's zip reader against Python's `zipfile` (the module Keras saves and loads `.keras` files
/// with), on variants of a Keras-written archive (`Tools/fixtures/make_zip_fixtures.py`): what
/// zipfile reads, graft reads to the same bytes (SHA-256 of every member, recorded by zipfile);
/// what zipfile refuses as damaged, graft refuses with a one-line reason.
@Suite struct ZipArchiveReading {
    static let folder = Fixtures.folder.appendingPathComponent("zip")
    /// What zipfile made of each file (cases.json).
    struct Case: Decodable {
        var readable: Bool
        var members: [String: String]?
    }
    static let cases: [String: Case] = {
        let data = try! Data(contentsOf: folder.appendingPathComponent("cases.json"))
        return try! JSONDecoder().decode([String: Case].self, from: data)
    }()
    /// Read by zipfile and by graft (bzip2 is read by zipfile only: graft refuses it, below).
    static let readable = ["deflated.keras", "zip64.keras", "prefixed.keras", "commented.keras", "duplicate.keras"]

    @Test(arguments: readable)
    func readsWhatZipfileReads(name: String) throws {
        let reference = try #require(Self.cases[name]?.members)
        let archive = try ZipArchive(path: Self.folder.appendingPathComponent(name).path)
        for (member, digest) in reference {
            let entry = try #require(archive[member], "\(name): \(member)")
            let data = try archive.contents(of: entry)
            #expect(data.withUnsafeBytes { SHA256.hexDigest(of: $0) } == digest, "\(name): \(member)")
        }
    }

    /// The variants zipfile reads convert to the model the Keras-written archive gives (the
    /// prefixed one is not recognised as a zip by its first bytes, as the import façade looks).
    @Test(arguments: ["deflated.keras", "zip64.keras", "commented.keras", "duplicate.keras"])
    func convertsAsTheOriginal(name: String) throws {
        let original = try KerasConverter.convert(modelAt: Fixtures.folder.appendingPathComponent("keras3-archive/model.keras").path)
        let variant = try KerasConverter.convert(modelAt: Self.folder.appendingPathComponent(name).path)
        #expect(variant.graph.nodes.map(\.name) == original.graph.nodes.map(\.name))
        #expect(variant.weights.map(\.name) == original.weights.map(\.name))
        for (a, b) in zip(variant.weights, original.weights) {
            #expect(a.shape == b.shape && a.values == b.values, "\(name): \(a.name)")
        }
    }

    @Test(arguments: [
        ("bad-crc.keras", "member 'model.weights.h5' fails its CRC-32 check"),
        ("bad-deflate.keras", "member 'model.weights.h5' has damaged deflate data (zlib: invalid literal/lengths set)"),
        ("truncated.keras", "it has no end-of-central-directory record"),
        ("bzip2.keras", "member 'config.json' uses compression method 12, where graft reads stored (0) and deflate (8)"),
    ])
    func refusesDamagedArchivesInOneLine(name: String, reason: String) throws {
        if name != "bzip2.keras" { #expect(Self.cases[name]?.readable == false, "zipfile refuses \(name) too") }
        let path = Self.folder.appendingPathComponent(name).path
        do {
            _ = try KerasConverter.convert(modelAt: path)
            Issue.record("\(name) converted")
        } catch let error as KerasImportError {
            let message = error.description
            #expect(message.contains(reason), "\(message)")
            #expect(!message.contains("\n"))
        }
    }
}
