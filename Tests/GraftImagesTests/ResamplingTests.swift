import Foundation
import GraftSupport
import Testing
@testable import GraftImages
@Suite struct Resampling {
    /// Resizes equal PIL's `Image.resize` byte for byte, up and down, with every filter.
    @Test(arguments: Fixtures.manifest.resize)
    func resizeEqualsPIL(_ fixture: Fixtures.Resize) throws {
        let color: ColorMode = fixture.color == "rgb" ? .rgb : .gray
        let interpolation = try #require(Interpolation(rawValue: fixture.interpolation))
        let source = try ImageDecoder.decode(fileAt: Fixtures.path(fixture.source), options: DecodingOptions(color: color))
        let resized = source.resized(width: fixture.width, height: fixture.height, interpolation: interpolation)
        let expected = try Fixtures.bytes(fixture.reference)
        #expect(expected.shape.prefix(2) == [fixture.height, fixture.width])
        let difference = compare(resized.pixels, expected.bytes)
        #expect(difference.count == 0, "\(difference.count) bytes differ, by up to \(difference.maximum)")
    }

    /// A sweep of 120 random sizes × 4 filters over two photographs, against the SHA-256 of
    /// PIL's output bytes.
    @Test func resizeSweepEqualsPIL() throws {
        var sources: [String: Image] = [:]
        var mismatches: [String] = []
        for fixture in Fixtures.manifest.resize_sweep {
            let source: Image
            if let cached = sources[fixture.source] {
                source = cached
            } else if fixture.source.hasSuffix(".npy") {
                let array = try Fixtures.bytes(fixture.source)
                source = Image(width: array.shape[1], height: array.shape[0], color: .rgb, pixels: array.bytes)
                sources[fixture.source] = source
            } else {
                source = try ImageDecoder.decode(fileAt: Fixtures.path(fixture.source))
                sources[fixture.source] = source
            }
            let interpolation = try #require(Interpolation(rawValue: fixture.interpolation))
            let resized = source.resized(width: fixture.width, height: fixture.height, interpolation: interpolation)
            let digest = resized.pixels.withUnsafeBytes { SHA256.hexDigest(of: $0) }
            if digest != fixture.sha256 {
                mismatches.append("\(fixture.source) \(fixture.interpolation) \(fixture.width)x\(fixture.height)")
            }
        }
        #expect(Fixtures.manifest.resize_sweep.count == 480)
        #expect(mismatches.isEmpty, "\(mismatches.count) sizes differ from PIL: \(mismatches.prefix(10))")
    }

    /// A window of a plan equals the same window cut from the full resize.
    @Test(arguments: Interpolation.allCases)
    func windowsEqualCropsOfTheFullResize(_ interpolation: Interpolation) throws {
        let source = try ImageDecoder.decode(fileAt: Fixtures.path("images/baseline.jpg"))
        let plan = ResamplingPlan(sourceWidth: source.width, sourceHeight: source.height, width: 90, height: 57,
                                  interpolation: interpolation)
        let full = source.resized(with: plan, rows: 0..<57, columns: 0..<90)
        let window = source.resized(with: plan, rows: 11..<40, columns: 23..<61)
        #expect(window == full.cropped(top: 11, left: 23, height: 29, width: 38))
    }
}
