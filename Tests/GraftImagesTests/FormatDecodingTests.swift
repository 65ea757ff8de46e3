import Foundation
import Testing
import GraftTensors
@testable import GraftImages
/// The WebP, TIFF, BMP and GIF fixtures written by Tools/fixtures/make_image_format_fixtures.py.
enum FormatFixtures {
    static func path(_ relative: String) -> String { Fixtures.path("formats/" + relative) }

    struct Decoded: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var pil_mode: String
        var pil_format: String?
        var width: Int
        var height: Int
        var rgb: String?
        var gray: String?
        var scale_rgb: String?
        var scale_gray: String?
        var testDescription: String { file }
    }

    /// A damaged file, the error graft reports and what PIL said: as for JPEG and PNG.
    typealias Broken = Fixtures.Broken

    struct KerasCase: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var color: String
        var size: [Int]
        var interpolation: String
        var preset: String
        var reference: String
        var testDescription: String { "\(file) \(color) \(size[0])x\(size[1]) \(interpolation) \(preset)" }
    }

    struct Manifest: Decodable, Sendable {
        var decoded: [Decoded]
        var broken: [Broken]
        var keras: [KerasCase]
    }

    static let manifest: Manifest = {
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path("manifest.json")))
            return try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            fatalError("cannot read the image format fixture manifest: \(error)")
        }
    }()

    static func bytes(_ relative: String) throws -> (shape: [Int], bytes: [UInt8]) {
        try Fixtures.bytes("formats/" + relative)
    }

    /// The largest difference from PIL each file may show, measured (see the README): lossy
    /// WebP goes through Debian's libwebp 1.2.4 here and Pillow's bundled libwebp there, and
    /// JPEG-compressed TIFF through Debian's libjpeg-turbo against Pillow's. Every other file
    /// must be equal byte for byte.
    static func tolerance(_ file: String) -> Int {
        tolerances[(file as NSString).lastPathComponent] ?? 0
    }

    static let tolerances: [String: Int] = [:]
}

@Suite struct FormatDecoding {
    /// Every fixture decodes to PIL's `convert('RGB')` pixels.
    @Test(arguments: FormatFixtures.manifest.decoded.filter { $0.rgb != nil })
    func rgbEqualsPIL(_ fixture: FormatFixtures.Decoded) throws {
        let image = try ImageDecoder.decode(fileAt: FormatFixtures.path(fixture.file), options: DecodingOptions(color: .rgb))
        let expected = try FormatFixtures.bytes(fixture.rgb!)
        #expect([image.height, image.width, 3] == expected.shape)
        let difference = compare(image.pixels, expected.bytes)
        print("PIL parity rgb \(fixture.file): max abs difference \(difference.maximum), \(difference.count) bytes differ")
        #expect(difference.maximum <= FormatFixtures.tolerance(fixture.file),
                "\(fixture.file) (PIL mode \(fixture.pil_mode)): \(difference.count) bytes differ, by up to \(difference.maximum)")
    }

    /// And to PIL's `convert('L')` pixels.
    @Test(arguments: FormatFixtures.manifest.decoded.filter { $0.gray != nil })
    func grayEqualsPIL(_ fixture: FormatFixtures.Decoded) throws {
        let image = try ImageDecoder.decode(fileAt: FormatFixtures.path(fixture.file), options: DecodingOptions(color: .gray))
        let expected = try FormatFixtures.bytes(fixture.gray!)
        #expect([image.height, image.width] == expected.shape)
        let difference = compare(image.pixels, expected.bytes)
        print("PIL parity gray \(fixture.file): max abs difference \(difference.maximum), \(difference.count) bytes differ")
        #expect(difference.maximum <= FormatFixtures.tolerance(fixture.file),
                "\(fixture.file) (PIL mode \(fixture.pil_mode)): \(difference.count) bytes differ, by up to \(difference.maximum)")
    }

    /// `--depth-16 scale`: every 16-bit sample is `(v + 128) / 257`, against the samples the
    /// fixture script wrote (TIFF and the 16-bit PNG fixtures).
    @Test(arguments: FormatFixtures.manifest.decoded.filter { $0.scale_rgb != nil })
    func scaledSixteenBitSamples(_ fixture: FormatFixtures.Decoded) throws {
        for color in ColorMode.allCases {
            let options = DecodingOptions(color: color, sixteenBitReduction: .scale)
            let image = try ImageDecoder.decode(fileAt: FormatFixtures.path(fixture.file), options: options)
            let expected = try FormatFixtures.bytes(color == .rgb ? fixture.scale_rgb! : fixture.scale_gray!)
            let difference = compare(image.pixels, expected.bytes)
            #expect(difference.count == 0, "\(fixture.file) \(color): \(difference.count) bytes differ, by up to \(difference.maximum)")
        }
    }

    /// The default keeps PIL's clip for 16-bit gray: a scan using the 16-bit range comes out
    /// nearly white, the scaled one does not.
    @Test func sixteenBitGrayIsClippedByDefault() throws {
        let path = FormatFixtures.path("images/gray16.tif")
        let clipped = try ImageDecoder.decode(fileAt: path, options: DecodingOptions(color: .gray))
        let scaled = try ImageDecoder.decode(fileAt: path, options: DecodingOptions(color: .gray, sixteenBitReduction: .scale))
        let white = clipped.pixels.filter { $0 == 255 }.count
        #expect(white > clipped.pixels.count / 2)
        #expect(scaled.pixels.filter { $0 == 255 }.count < white / 10)
    }

    /// Each damaged file fails with its reason, naming the file, on one line.
    @Test(arguments: FormatFixtures.manifest.broken)
    func brokenFilesFailWithTheirReason(_ fixture: FormatFixtures.Broken) throws {
        expectDecodingFails(FormatFixtures.path(fixture.file), as: fixture.error, pil: fixture.pil)
    }

    /// The cap is checked from the header of every format, before pixels are allocated.
    @Test(arguments: ["images/lossy.webp", "images/animated.webp", "images/rgb.tif", "images/tiled.tif",
                      "images/rgb24.bmp", "images/rle8.bmp", "images/palette.gif"])
    func thePixelCapIsChecked(_ file: String) throws {
        let path = FormatFixtures.path(file)
        #expect(throws: ImageError.self) {
            try ImageDecoder.decode(fileAt: path, options: DecodingOptions(maximumPixelCount: 4_799))
        }
        _ = try ImageDecoder.decode(fileAt: path, options: DecodingOptions(maximumPixelCount: 4_800))
    }

    /// The whole path, decoding to normalised tensor, against Keras's `load_img` +
    /// `img_to_array` + `preprocess_input` on WebP, TIFF, BMP and GIF files: bit for bit.
    @Test(arguments: FormatFixtures.manifest.keras)
    func preprocessingEqualsKeras(_ fixture: FormatFixtures.KerasCase) throws {
        let color = try #require(ColorMode(rawValue: fixture.color))
        let geometry = ModelInputGeometry(height: fixture.size[0], width: fixture.size[1],
                                          channels: color.channelCount, layout: .nhwc)
        let requested = Preprocessing(preset: PreprocessingPreset(rawValue: fixture.preset),
                                      interpolation: Interpolation(rawValue: fixture.interpolation))
        let tensor = try Preprocessor(try requested.resolved(for: geometry)).tensor(forImageAt: FormatFixtures.path(fixture.file))
        let reference = try Fixtures.tensor("formats/" + fixture.reference)
        #expect(tensor.shape == reference.shape)
        let identical = tensor == reference
        #expect(identical, "relative max error \(tensor.relativeMaxError(to: reference))")
    }

    @Test func formatsAreRecognisedByContent() throws {
        let cases: [(String, ImageFormat)] = [("images/lossy.webp", .webp), ("images/rgb.tif", .tiff),
                                              ("images/rgb16_be.tif", .tiff), ("images/rgb24.bmp", .bmp),
                                              ("images/bgra_v4.bmp", .bmp), ("images/palette.gif", .gif),
                                              ("images/webp_named.png", .webp), ("images/tiff_named.jpg", .tiff)]
        for (file, format) in cases {
            let data = try Data(contentsOf: URL(fileURLWithPath: FormatFixtures.path(file)))
            #expect(data.withUnsafeBytes { ImageFormat(signatureOf: $0) } == format, "\(file)")
        }
        let text = Data("BMW, not a bitmap; GIF87 not a GIF".utf8)
        #expect(text.withUnsafeBytes { ImageFormat(signatureOf: $0) } == nil)
    }
}
