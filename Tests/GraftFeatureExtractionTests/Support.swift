import GraftFeatureCache
import GraftFeatureExtraction
import Foundation
import GraftTestSupport
import GraftImages
import GraftTensors
import Testing
// The committed fixtures (`Tools/fixtures/make_feature_fixtures.py`) are in `Fixtures/`, read through
// GraftTestSupport's `fixturePath` and `fixtureFolder()`.

/// Keras's outputs for the fixture images (`reference.json`).
struct KerasReference {
    /// Fixture-relative paths, e.g. `images/china/china0.jpg`.
    let ids: [String]
    /// `gap` (the penultimate layer): [N, 8].
    let gap: Tensor
    /// `conv2`, unpooled, NHWC: [N, 13, 13, 8].
    let conv2: Tensor

    static let shared: KerasReference = {
        let json = try! JSONSerialization.jsonObject(with: Data(contentsOf: fixtureFolder().appendingPathComponent("reference.json"))) as! [String: Any]
        return KerasReference(ids: json["ids"] as! [String], gap: try! Tensor(npyFile: fixturePath("reference-gap.npy")),
                              conv2: try! Tensor(npyFile: fixturePath("reference-conv2.npy")))
    }()

    /// Rows of `tensor` for `ids`, as one tensor.
    func rows(of tensor: Tensor, for ids: [String]) -> Tensor {
        let width = tensor.elementCount / tensor.shape[0]
        var scalars: [Float] = []
        for id in ids {
            let index = self.ids.firstIndex(of: id)!
            scalars += tensor.scalars[(index * width)..<((index + 1) * width)]
        }
        return Tensor(shape: [ids.count] + tensor.shape.dropFirst(), scalars: scalars)
    }
}

/// Options for the fixture model: Keras's `preprocess_input(mode="tf")`.
func kerasOptions(layers: [String] = [], pooling: FeaturePooling = .none, batchSize: Int = 4,
                  threads: Int = 2, limit: Int? = nil) -> FeatureExtractionOptions {
    FeatureExtractionOptions(layers: layers, pooling: pooling, batchSize: batchSize, threadCount: threads, limit: limit,
                             preprocessing: Preprocessing(preset: .kerasTF))
}

/// A tensor of `rows × dimension` features.
func featureTensor(_ values: [Float], rows: Int) -> Tensor {
    Tensor(shape: [rows, values.count / max(rows, 1)], scalars: values)
}
