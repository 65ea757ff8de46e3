import Foundation
import Testing
@testable import GraftImages
@Suite struct Decoding {
    /// Every fixture decodes to exactly PIL's `convert('RGB')` pixels.
    @Test(arguments: Fixtures.manifest.decoded)
    func rgbEqualsPIL(_ fixture: Fixtures.Decoded) throws {
        let image = try ImageDecoder.decode(fileAt: Fixtures.path(fixture.file), options: DecodingOptions(color: .rgb))
        let expected = try Fixtures.bytes(fixture.rgb)
        #expect([image.height, image.width, 3] == expected.shape)
        expectPILPixels(image, expected.bytes, fixture)
    }

    /// And to exactly PIL's `convert('L')` pixels.
    @Test(arguments: Fixtures.manifest.decoded.filter { $0.gray != nil })
    func grayEqualsPIL(_ fixture: Fixtures.Decoded) throws {
        let image = try ImageDecoder.decode(fileAt: Fixtures.path(fixture.file), options: DecodingOptions(color: .gray))
        let expected = try Fixtures.bytes(fixture.gray!)
        #expect([image.height, image.width] == expected.shape)
        expectPILPixels(image, expected.bytes, fixture)
    }

    /// Exact equality, except in 16-bit files with an alpha channel: libpng's simplified API
    /// premultiplies their linear samples, so translucent pixels can be one level off PIL's
    /// high byte (see `readSixteenBitWithAlpha`). Their opaque pixels must still be exact: the
    /// fixture script makes every row whose index is a multiple of 5 (and not 1 modulo 7) opaque.
    private func expectPILPixels(_ image: Image, _ expected: [UInt8], _ fixture: Fixtures.Decoded) {
        let difference = compare(image.pixels, expected)
        if fixture.file.hasSuffix("rgba16.png") || fixture.file.hasSuffix("gray_alpha16.png") {
            #expect(difference.maximum <= 1, "\(fixture.file): \(difference.count) bytes differ, by up to \(difference.maximum)")
            let rowBytes = image.width * image.channelCount
            for row in stride(from: 0, to: image.height, by: 5) where row % 7 != 1 {
                let range = (row * rowBytes)..<((row + 1) * rowBytes)
                #expect(Array(image.pixels[range]) == Array(expected[range]), "opaque row \(row) of \(fixture.file)")
            }
        } else {
            #expect(difference.count == 0, "\(fixture.file) (PIL mode \(fixture.pil_mode)): \(difference.count) bytes differ, by up to \(difference.maximum)")
        }
    }

    /// With the option, the Exif orientation is applied as PIL's `ImageOps.exif_transpose` does.
    @Test(arguments: Fixtures.manifest.decoded.filter { $0.oriented_rgb != nil })
    func exifOrientationIsAppliedOnRequest(_ fixture: Fixtures.Decoded) throws {
        let decoder = ImageDecoder()
        let plain = try decoder.decode(fileAt: Fixtures.path(fixture.file))
        #expect(plain.width == fixture.width && plain.height == fixture.height)
        let turned = try decoder.decode(fileAt: Fixtures.path(fixture.file), options: DecodingOptions(appliesExifOrientation: true))
        let expected = try Fixtures.bytes(fixture.oriented_rgb!)
        #expect([turned.height, turned.width, 3] == expected.shape)
        #expect(compare(turned.pixels, expected.bytes).count == 0)
    }

    /// Fast decoding equals libjpeg's DCT-scaled decode (OpenCV's IMREAD_REDUCED_COLOR_n).
    @Test(arguments: Fixtures.manifest.reduced)
    func fastDecodingEqualsLibjpegScaling(_ fixture: Fixtures.Reduced) throws {
        let expected = try Fixtures.bytes(fixture.reference)
        let (height, width) = (expected.shape[0], expected.shape[1])
        let options = DecodingOptions(reductionTarget: .size(width: width, height: height))
        let image = try ImageDecoder.decode(fileAt: Fixtures.path(fixture.file), options: options)
        #expect([image.height, image.width, 3] == expected.shape)
        let difference = compare(image.pixels, expected.bytes)
        #expect(difference.count == 0, "1/\(fixture.factor): \(difference.count) bytes differ, by up to \(difference.maximum)")
    }

    @Test func fastDecodingKeepsTheTargetCovered() throws {
        let path = Fixtures.path("images/baseline.jpg")  // 160 × 100
        let decoder = ImageDecoder()
        let half = try decoder.decode(fileAt: path, options: DecodingOptions(reductionTarget: .size(width: 64, height: 50)))
        #expect(half.width == 80 && half.height == 50)
        let full = try decoder.decode(fileAt: path, options: DecodingOptions(reductionTarget: .size(width: 81, height: 10)))
        #expect(full.width == 160 && full.height == 100)
        let eighth = try decoder.decode(fileAt: path, options: DecodingOptions(reductionTarget: .shorterSide(13)))
        #expect(eighth.width == 20 && eighth.height == 13)
        // PNG ignores the option.
        let png = try decoder.decode(fileAt: Fixtures.path("images/rgb.png"), options: DecodingOptions(reductionTarget: .shorterSide(1)))
        #expect(png.width == 80 && png.height == 60)
    }

    /// Each damaged file fails with its reason (and PIL fails on each too, see the manifest).
    @Test(arguments: Fixtures.manifest.broken)
    func brokenFilesFailWithTheirReason(_ fixture: Fixtures.Broken) throws {
        expectDecodingFails(Fixtures.path(fixture.file), as: fixture.error, pil: fixture.pil)
    }

    @Test func errorMessagesNameTheFileAndTheReason() throws {
        let text = Fixtures.path("broken/text.jpg")
        #expect(throws: ImageError.unrecognizedFormat(path: text, leadingBytes: Array("hello, t".utf8))) {
            try ImageDecoder.decode(fileAt: text)
        }
        #expect(ImageError.unrecognizedFormat(path: text, leadingBytes: Array("hello, t".utf8)).description
                == "'\(text)' is not a JPEG, PNG, WebP, TIFF, BMP or GIF image (it starts with the text \"hello, t\")")
        // Fuzzing finding: "\r\n" (one Character in Swift) among the quoted bytes gave a
        // two-line message (reproducer in Tests/Fuzz/Regressions/image).
        let crlf = ImageError.unrecognizedFormat(path: text, leadingBytes: Array("SpPnNW\r\n".utf8)).description
        #expect(crlf == "'\(text)' is not a JPEG, PNG, WebP, TIFF, BMP or GIF image (it starts with the text \"SpPnNW\\r\\n\")")
        let huge = Fixtures.path("broken/huge.png")
        #expect(throws: ImageError.tooLarge(path: huge, width: 100_000, height: 100_000, maximumPixelCount: 100_000_000)) {
            try ImageDecoder.decode(fileAt: huge)
        }
        #expect(ImageError.tooLarge(path: huge, width: 100_000, height: 100_000, maximumPixelCount: 100_000_000).description
                == "'\(huge)' declares 100000×100000 pixels, more than the 100000000 graft decodes")
        let missing = Fixtures.path("no/such.jpg")
        #expect(throws: ImageError.unreadable(path: missing, reason: "No such file or directory")) {
            try ImageDecoder.decode(fileAt: missing)
        }
        #expect(ImageError.unreadable(path: missing, reason: "x").exitStatus.rawValue == 66)
    }

    @Test func thePixelCapIsAnOption() throws {
        let path = Fixtures.path("images/baseline.jpg")
        #expect(throws: ImageError.tooLarge(path: path, width: 160, height: 100, maximumPixelCount: 15_999)) {
            try ImageDecoder.decode(fileAt: path, options: DecodingOptions(maximumPixelCount: 15_999))
        }
        let png = Fixtures.path("images/rgb16.png")
        #expect(throws: ImageError.tooLarge(path: png, width: 80, height: 60, maximumPixelCount: 4_799)) {
            try ImageDecoder.decode(fileAt: png, options: DecodingOptions(maximumPixelCount: 4_799))
        }
        _ = try ImageDecoder.decode(fileAt: path, options: DecodingOptions(maximumPixelCount: 16_000))
    }

    /// Decoders on several threads at once give the same pixels as one decoder alone.
    @Test func decodersRunConcurrently() async throws {
        let files = Fixtures.manifest.decoded.map(\.file)
        let expected = try files.map { try ImageDecoder.decode(fileAt: Fixtures.path($0)).pixels }
        let results = await withTaskGroup(of: (Int, [UInt8]?).self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let decoder = ImageDecoder()
                    var last: [UInt8]? = nil
                    for (index, file) in files.enumerated() where index % 4 == worker {
                        last = try? decoder.decode(fileAt: Fixtures.path(file)).pixels
                        if last != expected[index] { return (index, nil) }
                    }
                    return (worker, last)
                }
            }
            var all: [(Int, [UInt8]?)] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.allSatisfy { $0.1 != nil })
    }
}
