import GraftFeatureCache
import Foundation
import GraftTestSupport
import Testing
// The committed fixtures (`Tools/fixtures/make_feature_fixtures.py`) are in `Fixtures/`, read through
// GraftTestSupport's `fixturePath` and `fixtureFolder()`.

/// A provenance for test caches.
func testProvenance(layers: [String] = ["fc/1", "gap"], model: String = "a1b2", inputList: String = "list",
                    numerics: String = "graft runtime numerics 2; f32; test") -> FeatureCacheProvenance {
    FeatureCacheProvenance(modelSHA256: model, modelName: "tiny", layers: layers, pooling: .none,
                           preprocessing: #"{"preset":"none","size":[4,4]}"#, inputListSHA256: inputList, numerics: numerics)
}

/// A batch whose features encode the row: layer `l`, row `r` (global `first + r`), column `c`
/// holds `1000·(first + r) + 10·l + c`.
func testBatch(first: Int, count: Int, dimensions: [Int], prefix: String = "img", labels: Int64 = 2,
               failures: [FeatureCacheFailure] = []) -> FeatureCacheBatch {
    let ids = (first..<(first + count)).map { "\(prefix)\($0).jpg" }
    let features = dimensions.enumerated().map { layer, dimension in
        (first..<(first + count)).flatMap { row in (0..<dimension).map { Float(1000 * row + 10 * layer + $0) } }
    }
    return FeatureCacheBatch(ids: ids, labels: (first..<(first + count)).map { Int64($0) % labels },
                             features: features, failures: failures)
}
