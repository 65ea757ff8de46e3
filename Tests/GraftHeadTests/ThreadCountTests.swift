import Foundation
import GraftNumerics
import Testing
@testable import GraftHead
/// Head training gives the same floats whatever the thread count: its products are cut by shape
/// only (`parallelProduct`) and its per-row sums are added in a fixed block order.
@Suite("Training is bit-identical whatever the thread count")
struct ThreadCountTests {
    /// 1500 rows of 300 features in 4 overlapping classes, which take more than a few iterations
    /// to separate. With 1200 training rows, 24 hidden units and minibatches of 256, a cut of the
    /// products into as many pieces as threads (Head's cut before `parallelProduct`) gives other
    /// bits for 2 and 3 threads, logistic and MLP, with OpenBLAS 0.3.21 on AVX-512.
    static func rows() -> LabelledFeatures {
        var generator = SeededGenerator(seed: 2024)
        let (count, dimension, classes) = (1500, 300, 4)
        let centres = (0..<(classes * dimension)).map { _ in generator.nextUnitFloat() - 0.5 }
        let labels = (0..<count).map { _ in Int32(generator.nextIndex(below: classes)) }
        var features = [Float](repeating: 0, count: count * dimension)
        for row in 0..<count {
            for column in 0..<dimension {
                features[row * dimension + column] = centres[Int(labels[row]) * dimension + column]
                    + 3 * (generator.nextUnitFloat() - 0.5) + Float(column % 7)
            }
        }
        return LabelledFeatures(source: "synthetic.h5", layer: "pool", dimension: dimension, classes: ["a", "b", "c", "d"],
                                ids: (0..<count).map { "img\($0).png" }, labels: labels, features: features)
    }

    /// The trained head's floats, as bit patterns: weights, biases, standardisation, reported
    /// losses and accuracies, and the probabilities of every row.
    static func train(_ kind: HeadKind, threads: Int) throws -> [UInt64] {
        let rows = Self.rows()
        let split = try rows.stratifiedSplit(fraction: 0.2, seed: 3)
        var options = HeadTrainingOptions(kind: kind, tolerance: 1e-9, maxIterations: 40, hiddenUnits: 24, dropout: 0.3,
                                          epochs: 4, batchSize: 256, learningRate: 3e-3, seed: 5, threadCount: threads)
        options.classWeighting = .balanced
        var progress: [Double] = []
        let head = try HeadTrainer.train(split.training, validation: split.validation, options: options) { line in
            progress += [line.trainingLoss, line.trainingAccuracy, line.validationLoss ?? -1, line.gradientNorm ?? -1]
        }
        var bits: [UInt64] = []
        for layer in head.layers {
            bits += layer.kernel.map { UInt64($0.bitPattern) } + layer.bias.map { UInt64($0.bitPattern) }
        }
        if let standardization = head.standardization {
            bits += (standardization.mean + standardization.standardDeviation).map(\.bitPattern)
        }
        let report = head.report
        bits += [report.trainingLoss, report.trainingAccuracy, report.validationLoss ?? -1, Double(report.steps)].map(\.bitPattern)
        bits += progress.map(\.bitPattern)
        bits += head.probabilities(for: rows.features, rowCount: rows.rowCount, threadCount: threads).map { UInt64($0.bitPattern) }
        return bits
    }

    @Test("logistic regression and the MLP head, 1, 2 and 3 threads", arguments: [HeadKind.logistic, .mlp])
    func bitIdentical(_ kind: HeadKind) throws {
        let single = try Self.train(kind, threads: 1)
        for threads in [2, 3] {
            let several = try Self.train(kind, threads: threads)
            #expect(several.count == single.count)
            let differing = zip(single, several).filter { $0 != $1 }.count
            #expect(differing == 0, "\(differing) of \(single.count) values differ at \(threads) threads")
        }
    }
}
