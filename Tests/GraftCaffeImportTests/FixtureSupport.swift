import GraftCaffeImport
import Foundation
import GraftModel
import Testing
/// The committed fixtures written by `Tools/fixtures/make_caffe_fixtures.py`.
let fixtureFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

func fixturePath(_ name: String) -> String {
    fixtureFolder.appendingPathComponent(name).path
}

/// One entry of `manifest.json`: a net, its weights, an input and OpenCV's outputs per layer.
struct ParityCase: Decodable, Sendable, CustomTestStringConvertible {
    var name: String = ""
    var prototxt: String
    var caffemodel: String
    var input: String
    /// Layer name to reference `.npy` file.
    var outputs: [String: String]
    /// `--input-shape`, for nets whose input is a data layer.
    var inputShape: [Int]?

    enum CodingKeys: String, CodingKey {
        case prototxt, caffemodel, input, outputs
        case inputShape = "input_shape"
    }

    var testDescription: String { name }

    static let all: [ParityCase] = {
        guard let data = try? Data(contentsOf: fixtureFolder.appendingPathComponent("manifest.json")),
              let cases = try? JSONDecoder().decode([String: ParityCase].self, from: data) else { return [] }
        return cases.map { name, entry in
            var entry = entry
            entry.name = name
            return entry
        }.sorted { $0.name < $1.name }
    }()

    func convert() throws -> ImportedModel {
        try CaffeImporter.convert(prototxt: fixturePath(prototxt), weights: fixturePath(caffemodel), inputShape: inputShape)
    }
}

/// A fresh temporary folder, removed by the caller.
func temporaryFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("graft-caffe-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// Writes `text` to a temporary prototxt and returns its path.
func writeTemporary(_ text: String, name: String = "net.prototxt", in folder: URL) throws -> String {
    let url = folder.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url.path
}
