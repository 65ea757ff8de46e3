import Foundation
import GraftImport
import GraftModel
import GraftTensors
import GraftTestSupport
import Testing

/// One committed fixture of an importer's test target, with the source framework's reference
/// values: a Keras case folder, a Caffe or an ONNX manifest entry.
struct ExportFixture: Sendable, CustomTestStringConvertible {
    var name: String
    var sources: [String]
    var options: ModelImporter.Options
    var inputs: [String: String]
    /// Value (or node) name to the reference `.npy` file; `""` stands for the graph's first output.
    var references: [String: String]

    var testDescription: String { name }

    static func folder(_ target: String) -> URL {
        repositoryRoot.appendingPathComponent("Tests/\(target)/Fixtures")
    }

    static let keras: [ExportFixture] = {
        let root = folder("GraftKerasImportTests")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
        return names.compactMap { name in
            let folder = root.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: folder.appendingPathComponent("case.json")),
                  let description = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let source = description["source"] as? String,
                  FileManager.default.fileExists(atPath: folder.appendingPathComponent("expected.npy").path) else { return nil }
            let path = { (member: String) in folder.appendingPathComponent(member).path }
            var inputs = ["": path("input.npy")]
            if let second = description["second_input"] as? String { inputs["#1"] = path(second) }
            return ExportFixture(name: "keras/\(name)", sources: [path(source)],
                                 options: .init(architecturePath: (description["config"] as? String).map(path)),
                                 inputs: inputs, references: ["": path("expected.npy")])
        }
    }()

    static func manifest(_ target: String, label: String, sources: @escaping ([String: Any]) -> [String]?) -> [ExportFixture] {
        let root = folder(target)
        guard let data = try? Data(contentsOf: root.appendingPathComponent("manifest.json")),
              let entries = try? JSONSerialization.jsonObject(with: data) as? [String: [String: Any]] else { return [] }
        return entries.sorted { $0.key < $1.key }.compactMap { name, entry in
            guard let files = sources(entry), let input = entry["input"] as? String, let outputs = entry["outputs"] as? [String: String],
                  !outputs.isEmpty, entry["external"] == nil, entry["refused"] == nil else { return nil }
            // A train_val prototxt's Data layer declares no shape: the manifest gives it.
            let options = ModelImporter.Options(inputShape: entry["input_shape"] as? [Int])
            return ExportFixture(name: "\(label)/\(name)", sources: files.map { root.appendingPathComponent($0).path }, options: options,
                                 inputs: ["": root.appendingPathComponent(input).path],
                                 references: outputs.mapValues { root.appendingPathComponent($0).path })
        }
    }

    static let caffe = manifest("GraftCaffeImportTests", label: "caffe") { entry in
        guard let prototxt = entry["prototxt"] as? String, let weights = entry["caffemodel"] as? String else { return nil }
        return [prototxt, weights]
    }

    static let onnx = manifest("GraftONNXImportTests", label: "onnx") { entry in
        (entry["model"] as? String).map { [$0] }
    }

    static let all = keras + caffe + onnx

    /// The input tensors by graph input name (`""` is the first input, `#1` the second).
    func inputTensors(for graph: Graph) throws -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (key, file) in inputs {
            let index = key.isEmpty ? 0 : Int(key.dropFirst())!
            tensors[graph.inputs[index].name] = try Tensor(npyFile: file)
        }
        return tensors
    }
}
