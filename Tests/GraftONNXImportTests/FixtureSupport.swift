import Foundation
import GraftModel
import GraftONNXImport
import GraftTestSupport
import Testing

/// One entry of `Fixtures/manifest.json` (written by `Tools/onnx-fixtures/make_fixtures.py`): a
/// model, an input batch and onnxruntime's value of each graph output, or a model graft must refuse.
struct ONNXFixture: Decodable, Sendable, CustomTestStringConvertible {
    var name: String = ""
    var model: String
    var input: String?
    /// Output value name to reference `.npy` file.
    var outputs: [String: String]?
    var refused: Bool?
    /// A sparse external data file the test writes itself (too large to commit).
    var external: SparseFile?

    /// A file that holds `.npy` values at byte offsets and nothing (holes) elsewhere.
    struct SparseFile: Decodable, Sendable {
        struct Part: Decodable, Sendable {
            var offset: Int
            var values: String
        }
        var file: String
        var parts: [Part]
    }

    enum CodingKeys: String, CodingKey {
        case model, input, outputs, refused, external
    }

    var testDescription: String { name }

    static let all: [ONNXFixture] = {
        guard let data = try? Data(contentsOf: fixtureFolder().appendingPathComponent("manifest.json")),
              let entries = try? JSONDecoder().decode([String: ONNXFixture].self, from: data) else { return [] }
        return entries.map { name, entry in
            var entry = entry
            entry.name = name
            return entry
        }.sorted { $0.name < $1.name }
    }()

    /// The fixtures with onnxruntime outputs to compare with.
    static let parity: [ONNXFixture] = all.filter { !($0.outputs ?? [:]).isEmpty && $0.external == nil }

    static func named(_ name: String) -> ONNXFixture? { all.first { $0.name == name } }

    var path: String { fixturePath(model) }

    func convert() throws -> ImportedModel {
        try ONNXImporter.convert(modelAt: path)
    }
}
