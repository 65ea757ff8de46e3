import Foundation
import Testing
@testable import GraftMetrics
/// Average precision, the precision–recall curve and its bootstrap interval against scikit-learn
/// 1.9 (Tools/fixtures/metrics/make-reference.py wrote references_pr.json).
@Suite struct PrecisionRecallParity {
    nonisolated(unsafe) static let references: [String: Any] = try! Fixture.json("references_pr.json")

    static func section(_ key: String) -> [String: Any] { references[key] as! [String: Any] }

    @Test(arguments: binaryFixtures)
    func binaryAveragePrecisionMatchesScikitLearn(name: String) throws {
        let reference = Self.section("binary")[name] as! [String: Any]
        let report = try AUCReport.evaluate(Fixture.table(name), options: AUCOptions(interval: AUCOptions.IntervalMethod.none, precisionRecall: true))
        let value = try #require(report.precisionRecall?.averagePrecision)
        #expect(abs(value - Fixture.double(reference["ap"])) <= 1e-12, "\(name): \(value) vs \(reference["ap"]!)")
        #expect(report.precisionRecall?.interval == nil)
    }

    @Test(arguments: binaryFixtures.filter { $0 != "binary_large.tsv" })
    func curveMatchesPrecisionRecallCurve(name: String) throws {
        let reference = (Self.section("binary")[name] as! [String: Any])["curve"] as! [String: Any]
        let report = try AUCReport.evaluate(Fixture.table(name), options: AUCOptions(interval: AUCOptions.IntervalMethod.none, wantsPrecisionRecallCurves: true))
        let curve = try #require(report.precisionRecall?.curves.first?.curve)
        let precision = Fixture.doubles(reference["precision"]), recall = Fixture.doubles(reference["recall"])
        let thresholds = Fixture.doubles(reference["threshold"])
        #expect(curve.precisions.count == precision.count)
        #expect(zip(curve.precisions, precision).allSatisfy { abs($0 - $1) <= 1e-15 })
        #expect(zip(curve.recalls, recall).allSatisfy { abs($0 - $1) <= 1e-15 })
        #expect(Array(curve.thresholds.dropLast()) == thresholds)
        #expect(curve.thresholds.last == .infinity)
    }

    @Test(arguments: ["multiclass.tsv", "multiclass_b.tsv"], [MulticlassAverage.macro, .weighted, .micro, .none])
    func multiclassAveragePrecisionMatchesScikitLearn(name: String, average: MulticlassAverage) throws {
        let reference = Self.section("multiclass")[name] as! [String: Any]
        let report = try AUCReport.evaluate(Fixture.table(name), options: AUCOptions(average: average, interval: AUCOptions.IntervalMethod.none, precisionRecall: true))
        let summary = try #require(report.precisionRecall)
        if average == .none {
            #expect(summary.averagePrecision == nil)
            let expected = Fixture.doubles(reference["none"])
            let perClass = try #require(summary.perClass)
            #expect(zip(perClass, expected).allSatisfy { abs($0 - $1) <= 1e-12 }, "\(perClass) vs \(expected)")
        } else {
            let value = try #require(summary.averagePrecision)
            let expected = Fixture.double(reference[average.rawValue])
            #expect(abs(value - expected) <= 1e-12, "\(name) \(average): \(value) vs \(expected)")
        }
    }

    /// The reference is the mean of 10 runs of 2000 replicates (NumPy's generator, scikit-learn's
    /// function on each replicate), with their standard deviation σ. graft's one run has the
    /// same σ, so graft − mean has σ·√(1 + 1/10); 4 of those fail a correct implementation about
    /// once in 16,000 runs.
    @Test(arguments: [("binary_ties.tsv", nil), ("predict_binary.tsv", nil), ("multiclass.tsv", MulticlassAverage.macro),
                      ("multiclass.tsv", .micro)] as [(String, MulticlassAverage?)])
    func bootstrapIntervalIsWithinMonteCarloError(name: String, average: MulticlassAverage?) throws {
        let key = average.map { "\(name)|\($0.rawValue)" } ?? name
        let reference = Self.section("bootstrap")[key] as! [String: Any]
        let replicates = reference["replicates"] as! Int, runs = Double(reference["runs"] as! Int)
        let report = try AUCReport.evaluate(Fixture.table(name), options: AUCOptions(
            average: average, interval: .bootstrap, replicates: replicates, seed: 3, precisionRecall: true))
        let interval = try #require(report.precisionRecall?.interval)
        for (actual, mean, sd) in [(interval.lowerBound, reference["low"], reference["sd_low"]), (interval.upperBound, reference["high"], reference["sd_high"])] {
            let tolerance = 4 * Fixture.double(sd) * (1 + 1 / runs).squareRoot()
            #expect(abs(actual - Fixture.double(mean)) <= tolerance, "\(key): \(actual) vs \(Fixture.double(mean)) ± \(tolerance)")
        }
    }

    @Test func oneVsOneHasNoAveragePrecision() throws {
        #expect(throws: AUCInputError.precisionRecallNeedsOneVsRest) {
            try AUCReport.evaluate(Fixture.table("multiclass.tsv"), options: AUCOptions(mode: .oneVsOne, precisionRecall: true))
        }
    }

    @Test func curveFilesAreWritten() throws {
        let report = try AUCReport.evaluate(Fixture.table("multiclass.tsv"), options: AUCOptions(interval: AUCOptions.IntervalMethod.none, wantsPrecisionRecallCurves: true))
        let curves = try #require(report.precisionRecall?.curves)
        let csv = String(decoding: PrecisionRecallPlot.csvText(curves), as: UTF8.self)
        #expect(csv.hasPrefix("curve,precision,recall,threshold\nant,"))
        let svg = PrecisionRecallPlot.svgDocument(curves, intervals: [], title: "PR")
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 4)
        #expect(svg.contains("ant: AP "))
    }
}
