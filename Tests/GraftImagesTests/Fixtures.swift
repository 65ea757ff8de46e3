@testable import GraftImages
import Foundation
import GraftTensors
import GraftTestSupport
import Testing
/// The fixtures written by Tools/fixtures/make_image_fixtures.py and their manifest.
enum Fixtures {
    static let folder = fixtureFolder()

    static func path(_ relative: String) -> String { folder.appendingPathComponent(relative).path }

    struct Decoded: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var pil_mode: String
        var width: Int
        var height: Int
        var rgb: String
        var gray: String?
        var oriented_rgb: String?
        var testDescription: String { file }
    }

    struct Reduced: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var factor: Int
        var reference: String
        var testDescription: String { "\(file) 1/\(factor)" }
    }

    struct Broken: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var error: String
        var pil: String
        var testDescription: String { file }
    }

    struct Resize: Decodable, Sendable, CustomTestStringConvertible {
        var source: String
        var color: String
        var interpolation: String
        var width: Int
        var height: Int
        var reference: String
        var testDescription: String { "\(source) \(color) \(interpolation) \(width)x\(height)" }
    }

    struct SweepCase: Decodable, Sendable {
        var source: String
        var width: Int
        var height: Int
        var interpolation: String
        var sha256: String
    }

    struct KerasCase: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var color: String
        var size: [Int]
        var interpolation: String
        var preset: String
        var layout: String
        var pixels: String
        var reference: String
        var testDescription: String { "\(file) \(color) \(size[0])x\(size[1]) \(interpolation) \(preset) \(layout)" }
    }

    struct CropCase: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var size: [Int]
        var shorter_side: Int
        var interpolation: String
        var preset: String
        var mean: [Double]
        var scale: Double
        var layout: String
        var reference: String
        var testDescription: String { "\(file) crop \(shorter_side) → \(size[0])x\(size[1]) \(interpolation)" }
    }

    struct Manifest: Decodable, Sendable {
        var decoded: [Decoded]
        var reduced: [Reduced]
        var broken: [Broken]
        var resize: [Resize]
        var resize_sweep: [SweepCase]
        var keras: [KerasCase]
        var crop: [CropCase]
    }

    static let manifest: Manifest = {
        do {
            let data = try Data(contentsOf: folder.appendingPathComponent("manifest.json"))
            return try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            fatalError("cannot read the ImageIO fixture manifest: \(error)")
        }
    }()

    /// The bytes of a uint8 .npy file, with its shape.
    static func bytes(_ relative: String) throws -> (shape: [Int], bytes: [UInt8]) {
        let array = try NumPyArray(contentsOf: path(relative))
        precondition(array.elementType == .uint8, "\(relative) is not uint8")
        return (array.shape, array.bytes)
    }

    static func tensor(_ relative: String) throws -> Tensor {
        try Tensor(npyFile: path(relative))
    }
}

/// How two byte arrays differ: the largest absolute difference and the number of differing bytes.
func compare(_ actual: [UInt8], _ expected: [UInt8]) -> (maximum: Int, count: Int) {
    guard actual.count == expected.count else { return (Int.max, Int.max) }
    var maximum = 0, count = 0
    for (a, b) in zip(actual, expected) where a != b {
        maximum = max(maximum, abs(Int(a) - Int(b)))
        count += 1
    }
    return (maximum, count)
}

/// Decodes `path`, expecting the failure `expected` (an `ImageError` case name) with exit status
/// 65 and a one-line message naming the file; `pil` is what PIL said of the file.
func expectDecodingFails(_ path: String, as expected: String, pil: String) {
    do {
        let image = try ImageDecoder.decode(fileAt: path)
        Issue.record("\(path) decoded to \(image.width)×\(image.height); PIL says \(pil)")
    } catch {
        let kind: String = switch error {
        case .unreadable: "unreadable"
        case .empty: "empty"
        case .unrecognizedFormat: "unrecognizedFormat"
        case .tooLarge: "tooLarge"
        case .truncated: "truncated"
        case .corrupt: "corrupt"
        case .unsupported: "unsupported"
        }
        #expect(kind == expected, "\(error)")
        #expect(error.exitStatus.rawValue == 65)
        #expect(error.description.contains(path))
        #expect(!error.description.contains("\n"))
    }
}
