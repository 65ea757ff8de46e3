import GraftCaffeImport
import Foundation
import GraftModel
import GraftTestSupport
import Testing
// The committed fixtures written by `Tools/fixtures/make_caffe_fixtures.py` are in `Fixtures/`, read through
// GraftTestSupport's `fixturePath` and `fixtureFolder()`.

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
        guard let data = try? Data(contentsOf: fixtureFolder().appendingPathComponent("manifest.json")),
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

/// Writes `text` to a prototxt in a temporary folder and returns its path.
func writeTemporary(_ text: String, name: String = "net.prototxt", in folder: borrowing TemporaryFolder) throws -> String {
    let path = folder.path(name)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
}
