import Foundation
import GraftTestSupport
import Testing
// The committed fixtures written by `Tools/fixtures/make_npy_fixtures.py` are in `Fixtures/`, read through
// GraftTestSupport's `fixturePath` and `fixtureFolder()`.

/// `manifest.json`: what NumPy wrote into each fixture.
struct FixtureManifest: Decodable, Sendable {
    /// A fixture graft must read.
    struct ArrayFixture: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var dtype: String
        var descr: String
        var shape: [Int]
        var version: [Int]
        /// `np.save` or `write_array` (an explicit format version).
        var writer: String
        /// Elements in C order: `float.hex` text for floats, decimal for integers and bools.
        var values: [String]

        var testDescription: String { file }
    }

    /// A fixture graft must reject.
    struct ErrorFixture: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var error: String
        var descr: String?
        var shape: [Int]?
        var expectedByteCount: Int?
        var actualByteCount: Int?

        var testDescription: String { file }
    }

    var numpy: String
    var arrays: [ArrayFixture]
    var errors: [ErrorFixture]

    static func load() throws -> FixtureManifest {
        let data = try Data(contentsOf: fixtureFolder().appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(FixtureManifest.self, from: data)
    }

    /// The manifest, or an empty one if it cannot be read (`manifestIsComplete` then fails).
    static let shared: FixtureManifest = (try? load()) ?? FixtureManifest(numpy: "", arrays: [], errors: [])
}

