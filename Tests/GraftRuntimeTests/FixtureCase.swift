import Foundation
import GraftModel
import GraftTensors
import GraftTestSupport
/// One parity fixture written by `Tools/fixtures/make_op_fixtures.py`: a model, its inputs and
/// the reference framework's outputs (Keras on TensorFlow, or OpenCV's Caffe importer).
struct FixtureCase {
    static let root = fixtureFolder()

    /// Every fixture folder, sorted.
    static let names: [String] = {
        let items = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return items.filter { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).appendingPathComponent("case.json").path) }.sorted()
    }()

    let name: String
    let model: ModelFile
    /// Input tensors by graph input name.
    let inputs: [String: Tensor]
    /// Requested names (node or value) and their reference outputs, in a stable order.
    let outputs: [(name: String, expected: Tensor)]

    init(_ name: String) throws {
        self.name = name
        let folder = FixtureCase.root.appendingPathComponent(name)
        let description = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("case.json"))) as! [String: [String: String]]
        model = try ModelFile(path: folder.appendingPathComponent("model.graft").path)
        var inputs: [String: Tensor] = [:]
        for (value, file) in description["inputs"]! {
            inputs[value] = try Tensor(npyFile: folder.appendingPathComponent(file).path)
        }
        self.inputs = inputs
        outputs = try description["outputs"]!.sorted { $0.key < $1.key }.map { (name, file) in
            (name, try Tensor(npyFile: folder.appendingPathComponent(file).path))
        }
    }

    /// The only input, for single-input fixtures.
    var input: Tensor { inputs.values.first! }
}

extension Tensor {
    /// Items `range` of the batch (axis 0).
    func batchItems(_ range: Range<Int>) -> Tensor {
        let itemSize = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [range.count] + shape.dropFirst(), scalars: Array(scalars[(range.lowerBound * itemSize)..<(range.upperBound * itemSize)]))
    }

    /// This tensor's batch followed by `other`'s.
    func appendingBatch(_ other: Tensor) -> Tensor {
        Tensor(shape: [shape[0] + other.shape[0]] + shape.dropFirst(), scalars: scalars + other.scalars)
    }
}
