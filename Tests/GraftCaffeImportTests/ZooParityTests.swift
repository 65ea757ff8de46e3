import GraftCaffeImport
import Foundation
import GraftModel
import GraftRuntime
import GraftTensors
import Testing
/// The zoo nets prepared by `Tools/caffe-zoo` (real deploy prototxts, seeded weights, OpenCV's
/// outputs at batch 2), converted and run in-process. Runs only when `GRAFT_CAFFE_ZOO_DIR` names
/// the tool's work folder: the files are hundreds of megabytes and are not committed.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["GRAFT_CAFFE_ZOO_DIR"] != nil,
                 "GRAFT_CAFFE_ZOO_DIR does not name the work folder of Tools/caffe-zoo"))
struct ZooParityTests {
    struct Entry: Decodable {
        var prototxt: String
        var caffemodel: String
        var input: String
        var outputs: [String: String]
    }

    @Test func zooNetsMatchOpenCV() throws {
        let folder = ProcessInfo.processInfo.environment["GRAFT_CAFFE_ZOO_DIR"]!
        let data = try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent("manifest.json"))
        let entries = try JSONDecoder().decode([String: Entry].self, from: data)
        for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
            let start = Date()
            let conversion = try CaffeImporter.convert(prototxt: entry.prototxt, weights: entry.caffemodel)
            let path = "\(folder)/\(name).graft"
            try ModelWriter.write(graph: conversion.graph, weights: conversion.weights, to: path)
            let converted = Date().timeIntervalSince(start)
            let layers = entry.outputs.keys.sorted()
            let session = try InferenceSession(model: try ModelFile(path: path), outputs: layers, threadCount: 2)
            let results = try session.run(try Tensor(npyFile: entry.input))
            var line = "\(name): converted in \(String(format: "%.2f", converted)) s"
            for (layer, result) in zip(layers, results) {
                let error = result.relativeMaxError(to: try Tensor(npyFile: "\(folder)/\(entry.outputs[layer]!)"))
                line += ", \(layer) rel.err \(error)"
                #expect(error <= 1e-4, "\(name): layer '\(layer)' differs from OpenCV by \(error)")
            }
            print(line)
        }
    }
}
