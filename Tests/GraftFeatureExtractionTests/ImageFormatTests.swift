import Foundation
import GraftFeatureCache
import GraftFeatureExtraction
import GraftImages
import GraftTestSupport
import Testing
/// WebP, TIFF, BMP and GIF files in `graft features` (issue 17): decoded files become rows, bad
/// ones are recorded in `/failed` with their reason and skipped, as JPEG and PNG ones are.
@Suite struct ImageFormats {
    /// The PIL-written fixtures of Tests/GraftImagesTests/Fixtures/formats.
    static let formats = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("GraftImagesTests/Fixtures/formats").path

    @Test func newFormatsAreDecodedOrRecorded() throws {
        try withTemporaryFolder { folder in
            let input = folder + "/input"
            try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
            // The same 80×60 photo stored losslessly four ways, two other images, and four bad files.
            let files = ["images/rgb.tif": "a.tif", "images/rgb24.bmp": "b.bmp", "images/lossless.webp": "c.webp",
                         "images/rgb_lzw.tif": "d.tiff", "images/palette.gif": "e.gif", "images/gray16.tif": "f.tif",
                         "broken/truncated.gif": "x.gif", "broken/huge.tif": "y.tif", "broken/float64.tif": "z.tif",
                         "broken/truncated.webp": "w.webp"]
            for (source, name) in files {
                try FileManager.default.copyItem(atPath: Self.formats + "/" + source, toPath: input + "/" + name)
            }
            let extractor = try FeatureExtractor(modelPath: fixturePath("tiny.graft"), options: kerasOptions(batchSize: 3))
            let cachePath = folder + "/cache.h5"
            let summary = try extractor.extract(try InputList(folder: input), into: cachePath)
            #expect(summary.added == 6 && summary.failed == 4)
            let cache = try FeatureCache(path: cachePath)
            #expect(try cache.ids() == ["a.tif", "b.bmp", "c.webp", "d.tiff", "e.gif", "f.tif"])
            let failures = try cache.failures()
            #expect(Set(failures.map(\.id)) == ["w.webp", "x.gif", "y.tif", "z.tif"])
            #expect(failures.allSatisfy { !$0.reason.isEmpty && !$0.reason.contains("\n") })
            let reasons = Dictionary(uniqueKeysWithValues: failures.map { ($0.id, $0.reason) })
            #expect(reasons["y.tif"]?.contains("declares 100000×100000 pixels") == true, "\(reasons)")
            #expect(reasons["x.gif"]?.contains("giflib says") == true, "\(reasons)")
            #expect(reasons["w.webp"]?.contains("libwebp says") == true, "\(reasons)")

            // The four lossless copies of one photo give one feature row, bit for bit; the GIF
            // (a 128-colour palette of it) does not.
            let features = try cache.features(of: "gap")
            let width = features.count / 6
            let rows = (0..<6).map { Array(features[($0 * width)..<(($0 + 1) * width)]) }
            #expect(rows[1] == rows[0] && rows[2] == rows[0] && rows[3] == rows[0])
            #expect(rows[4] != rows[0])
        }
    }
}
