import GraftFeatureCache
import Foundation
import GraftTensors
import GraftTestSupport
import Testing
@testable import GraftHead
// The fixtures written by `Tools/fixtures/make_head_fixtures.py` are in `Fixtures/`, read through
// GraftTestSupport's `fixturePath`.

/// scikit-learn's probabilities, row-major.
func reference(_ name: String) throws -> Tensor { try Tensor(npyFile: fixturePath(name + ".npy")) }

/// The index of the largest value of each row.
func argmaxRows(_ values: [Float], columns: Int) -> [Int] {
    stride(from: 0, to: values.count, by: columns).map { start in
        (0..<columns).max { values[start + $0] < values[start + $1] }!
    }
}

@Suite("Logistic regression against scikit-learn")
struct LogisticRegressionTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var cache: String
        var layer: String
        var c: Double
        var balanced: Bool
        var standardizes: Bool
        var description: String { name }
    }

    static let cases = [
        Case(name: "binary_C1", cache: "binary.h5", layer: "fc7", c: 1, balanced: false, standardizes: true),
        Case(name: "binary_C0.05_balanced", cache: "binary.h5", layer: "fc7", c: 0.05, balanced: true, standardizes: true),
        Case(name: "binary_raw_C1", cache: "binary.h5", layer: "fc7", c: 1, balanced: false, standardizes: false),
        Case(name: "multiclass_C1", cache: "multiclass.h5", layer: "block/pool", c: 1, balanced: false, standardizes: true),
        Case(name: "multiclass_C0.1_balanced", cache: "multiclass.h5", layer: "block/pool", c: 0.1, balanced: true, standardizes: true),
    ]

    @Test("at tol 1e-6, probabilities within 1e-3 of scikit-learn's optimum, same accuracy", arguments: cases)
    func matchesScikitLearn(_ testCase: Case) throws {
        let rows = try LabelledFeatures(cache: FeatureCache(path: fixturePath(testCase.cache)), layer: testCase.layer)
        let raw = rows.features
        let options = HeadTrainingOptions(kind: .logistic, inverseRegularization: testCase.c, tolerance: 1e-6,
                                          classWeighting: testCase.balanced ? .balanced : .none,
                                          standardizes: testCase.standardizes, threadCount: 2)
        var lines: [TrainingProgress] = []
        let head = try HeadTrainer.train(rows, validation: nil, options: options) { lines.append($0) }
        // Without standardisation the fixture's features span scales from 0.05 to 50: the float32
        // gradient cannot get below about 1e-5 there, and the run ends when the objective stops
        // decreasing, 2e-3 from scikit-learn's float64 optimum. Standardised runs converge to tol.
        let bound: Float = testCase.standardizes ? 1e-3 : 5e-3
        if testCase.standardizes { #expect(head.report.converged, "\(head.report.stopReason)") }
        #expect(!lines.isEmpty && lines.count == head.report.steps)

        let probabilities = head.probabilities(for: raw, rowCount: rows.rowCount)
        let expected = try reference(testCase.name)
        #expect(expected.shape == [rows.rowCount, rows.classes.count])
        let error = Tensor(shape: expected.shape, scalars: probabilities).relativeMaxError(to: expected)
        let largest = zip(probabilities, expected.scalars).map { abs($0 - $1) }.max()!
        #expect(largest <= bound, "max |graft − sklearn| = \(largest), relative \(error)")
        #expect(argmaxRows(probabilities, columns: rows.classes.count) == argmaxRows(expected.scalars, columns: rows.classes.count))
    }

    @Test("the standardisation is StandardScaler's (population std, a constant feature divided by 1)")
    func standardizationMatchesScaler() throws {
        let rows = try LabelledFeatures(cache: FeatureCache(path: fixturePath("binary.h5")), layer: "fc7")
        let fitted = rows.features.withUnsafeBufferPointer {
            Standardization(fitting: $0, rowCount: rows.rowCount, dimension: rows.dimension)
        }
        let expected = try reference("binary_scaler")
        for column in 0..<rows.dimension {
            let mean = Double(expected.scalars[column]), scale = Double(expected.scalars[rows.dimension + column])
            #expect(abs(fitted.mean[column] - mean) <= 1e-6 * max(1, abs(mean)))
            #expect(abs(fitted.standardDeviation[column] - scale) <= 1e-6 * scale)
        }
        #expect(fitted.standardDeviation[rows.dimension - 1] == 1)
    }

    @Test("unlabelled rows are left out and counted")
    func unlabelledRowsAreLeftOut() throws {
        let cache = try FeatureCache(path: fixturePath("binary.h5"))
        let rows = try LabelledFeatures(cache: cache, layer: "fc7")
        #expect(cache.rowCount == 164)
        #expect(rows.rowCount == 160 && rows.unlabelledCount == 4)
        #expect(!rows.ids.contains("img_0005.png") && rows.ids.contains("img_0006.png"))
        let all = try cache.features(of: "fc7")
        // Row 6 of the cache is the sixth labelled row (row 5 is unlabelled).
        #expect(Array(rows.features[(5 * 12)..<(6 * 12)]) == Array(all[(6 * 12)..<(7 * 12)]))
        #expect(rows.classCounts == [110, 50])
    }

    @Test("a run is deterministic")
    func deterministic() throws {
        let rows = try LabelledFeatures(cache: FeatureCache(path: fixturePath("multiclass.h5")), layer: "block/pool")
        let first = try HeadTrainer.train(rows, validation: nil, options: HeadTrainingOptions(threadCount: 2))
        let second = try HeadTrainer.train(rows, validation: nil, options: HeadTrainingOptions(threadCount: 2))
        #expect(first.layers == second.layers)
    }

    @Test("stopping at --max-iter is reported as not converged")
    func maxIterationsReported() throws {
        let rows = try LabelledFeatures(cache: FeatureCache(path: fixturePath("multiclass.h5")), layer: "block/pool")
        let head = try HeadTrainer.train(rows, validation: nil, options: HeadTrainingOptions(maxIterations: 3, threadCount: 1))
        #expect(!head.report.converged)
        #expect(head.report.steps == 3)
        #expect(head.report.stopReason.contains("--max-iter 3"))
    }
}

@Suite("L-BFGS")
struct LBFGSTests {
    @Test("finds the minimum of the Rosenbrock function at (1, 1)")
    func rosenbrock() {
        var x = [-1.2, 1.0]
        var minimizer = LBFGSMinimizer()
        minimizer.options.gradientTolerance = 1e-9
        var objective = PointwiseObjective { point, gradient in
            let (a, b) = (point[0], point[1])
            gradient[0] = -2 * (1 - a) - 400 * a * (b - a * a)
            gradient[1] = 200 * (b - a * a)
            return (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a)
        }
        let result = minimizer.minimize(&x, objective: &objective, progress: { _, _, _, _, _ in })
        #expect(result.stop == .gradientTolerance)
        #expect(abs(x[0] - 1) < 1e-7 && abs(x[1] - 1) < 1e-7)
        #expect(result.iterations < 100)
    }

    @Test("solves a strictly convex quadratic in at most a few more iterations than its dimension")
    func quadratic() {
        // f(x) = Σ (i+1)/2 · (x_i − i)²: minimum at x_i = i.
        var x = [Double](repeating: 0, count: 8)
        var objective = PointwiseObjective { point, gradient in
            var value = 0.0
            for i in 0..<point.count {
                let difference = point[i] - Double(i)
                value += Double(i + 1) / 2 * difference * difference
                gradient[i] = Double(i + 1) * difference
            }
            return value
        }
        let result = LBFGSMinimizer().minimize(&x, objective: &objective, progress: { _, _, _, _, _ in })
        #expect(result.stop == .gradientTolerance)
        for i in 0..<8 { #expect(abs(x[i] - Double(i)) < 1e-4) }
    }
}
