import GraftCaffeImport
import Foundation
import GraftModel
import GraftRuntime
import GraftTensors
import GraftTestSupport
import Testing
/// Every fixture net, converted and run by graft's runtime, against OpenCV dnn's output of each
/// listed layer on the same input and weights (relative max error ≤ 1e-4).
@Suite struct ParityTests {
    @Test(arguments: ParityCase.all)
    func matchesOpenCV(_ fixture: ParityCase) throws {
        let conversion = try fixture.convert()
        let folder = try TemporaryFolder()
        let path = folder.path("\(fixture.name).graft")
        try ModelWriter.write(graph: conversion.graph, weights: conversion.weights, to: path)
        let model = try ModelFile(path: path)
        let layers = fixture.outputs.keys.sorted()
        let session = try InferenceSession(model: model, outputs: layers)
        let input = try Tensor(npyFile: fixturePath(fixture.input))
        let results = try session.run(input)
        for (layer, result) in zip(layers, results) {
            let reference = try Tensor(npyFile: fixturePath(fixture.outputs[layer]!))
            let error = result.relativeMaxError(to: reference)
            #expect(error <= 1e-4, "\(fixture.name): layer '\(layer)' differs from OpenCV by \(error) (shape \(result.shape) vs \(reference.shape))")
        }
    }

    @Test func everyFixtureIsListed() {
        #expect(ParityCase.all.count >= 20)
    }
}
