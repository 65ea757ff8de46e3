import GraftFeatureCache
import Foundation
import GraftTestSupport
import Testing
@testable import GraftHead
@Suite("MLP head")
struct PerceptronTests {
    func options(seed: UInt64 = 0) -> HeadTrainingOptions {
        HeadTrainingOptions(kind: .mlp, hiddenUnits: 32, dropout: 0.3, epochs: 60, batchSize: 32, learningRate: 3e-3,
                            patience: 5, seed: seed, threadCount: 2)
    }

    @Test("learns the multiclass fixture as well as logistic regression, keeping the best epoch")
    func learns() throws {
        let rows = try LabelledFeatures(cache: FeatureCache(path: fixturePath("multiclass.h5")), layer: "block/pool")
        let split = try rows.stratifiedSplit(fraction: 0.2, seed: 1)
        var lines: [TrainingProgress] = []
        let head = try HeadTrainer.train(split.training, validation: split.validation, options: options()) { lines.append($0) }
        #expect(head.layers.count == 2 && head.layers[0].rectifies && !head.layers[1].rectifies)
        #expect(head.layers[0].outputCount == 32 && head.layers[1].outputCount == 4)
        let report = head.report
        #expect(lines.count == report.steps)
        // Early stopping: the kept epoch has the lowest validation loss of the run.
        let losses = lines.map { $0.validationLoss! }
        let bestEpoch = losses.indices.min { losses[$0] < losses[$1] }! + 1
        #expect(report.bestEpoch == bestEpoch)
        #expect(abs(report.validationLoss! - losses[bestEpoch - 1]) < 1e-9)
        if report.steps < 60 { #expect(report.steps == bestEpoch + 5) }
        // scikit-learn's logistic regression reaches 0.92 training accuracy on this fixture.
        #expect(report.validationAccuracy! >= 0.85, "validation accuracy \(report.validationAccuracy!)")

        // The head's own forward pass agrees with the validation metrics.
        let probabilities = head.probabilities(for: try LabelledFeatures(cache: FeatureCache(path: fixturePath("multiclass.h5")), layer: "block/pool")
            .rows(split.validation.ids.map { rows.ids.firstIndex(of: $0)! }).features, rowCount: split.validation.rowCount)
        let predicted = argmaxRows(probabilities, columns: 4)
        let accuracy = Double(zip(predicted, split.validation.labels).filter { $0 == Int($1) }.count) / Double(split.validation.rowCount)
        #expect(abs(accuracy - report.validationAccuracy!) < 1e-9)
    }

    @Test("the same seed gives the same weights, another seed others")
    func deterministic() throws {
        let rows = try LabelledFeatures(cache: FeatureCache(path: fixturePath("binary.h5")), layer: "fc7")
        var short = options()
        short.epochs = 3
        let first = try HeadTrainer.train(rows, validation: nil, options: short)
        let second = try HeadTrainer.train(rows, validation: nil, options: short)
        #expect(first.layers == second.layers)
        short.seed = 1
        let third = try HeadTrainer.train(rows, validation: nil, options: short)
        #expect(first.layers != third.layers)
    }
}
