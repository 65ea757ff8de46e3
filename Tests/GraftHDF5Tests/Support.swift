import Foundation
import GraftTestSupport
import GraftHDF5
import Testing
// The fixtures written by h5py (`Tools/fixtures/make_hdf5_fixtures.py`) are in `Fixtures/`, read through
// GraftTestSupport's `fixturePath` and `fixtureFolder()`.

/// `expected.json`: what h5py read back from the fixtures it wrote.
struct ExpectedFixtures: Decodable, Sendable {
    struct Dataset: Decodable, Sendable {
        var dtype: String
        var shape: [Int]
        var maxshape: [Int?]
        var chunks: [Int]?
        var compression: String?
        var compressionOpts: Int?
        var shuffle: Bool
        var stringLength: String?
        /// Elements in C order: `float.hex` for floats, decimal for integers, "true"/"false".
        var values: [String]
    }

    struct Attribute: Decodable, Sendable {
        /// "fixed-length string", "variable-length string" or a numpy dtype name.
        var kind: String
        var shape: [Int]
        var values: [String]
    }

    struct Group: Decodable, Sendable {
        /// In h5py's iteration order: creation order if tracked, else name order.
        var members: [String]
        var creationOrderTracked: Bool
    }

    struct File: Decodable, Sendable {
        var datasets: [String: Dataset]
        /// Object path → attribute name → attribute.
        var attributes: [String: [String: Attribute]]
        var groups: [String: Group]
        /// Object path → list name → Keras's reassembled list.
        var stringLists: [String: [String: [String]]]
    }

    var files: [String: File]

    static func load() throws -> ExpectedFixtures {
        let data = try Data(contentsOf: fixtureFolder().appendingPathComponent("expected.json"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(ExpectedFixtures.self, from: data)
    }
}

/// Whether a float read back equals the text h5py recorded (bit for bit; NaN equals NaN).
func sameFloat(_ value: Double, _ text: String) -> Bool {
    guard let expected = Double(text) else { return false }
    return value.isNaN ? expected.isNaN : value.bitPattern == expected.bitPattern
}

func sameFloat(_ value: Float, _ text: String) -> Bool {
    guard let expected = Double(text) else { return false }
    return value.isNaN ? expected.isNaN : value.bitPattern == Float(expected).bitPattern
}

/// The Python of the repository's virtual environment (which has h5py), or nil.
let venvPython: String? = {
    let path = repositoryRoot.appendingPathComponent(".venv/bin/python").path
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}()

/// Returns the error `body` throws, recording an issue if it throws none or another type.
func hdf5Error(_ body: () throws(HDF5Error) -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> HDF5Error? {
    do {
        try body()
        Issue.record("expected an HDF5Error, but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}
