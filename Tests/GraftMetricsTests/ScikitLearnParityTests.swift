import Foundation
import Testing
@testable import GraftMetrics
/// AUCs and curves against scikit-learn 1.9's `roc_auc_score` and `roc_curve` on the same files.
@Suite struct ScikitLearnParity {
    @Test func theClassicTwentyPointExampleIs0825() throws {
        let labels = [1, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0].map { $0 == 1 }
        var scores = (0..<20).map { Double(20 - $0) }
        scores[8] = 11.5
        scores[9] = 11.5
        #expect(try ROCAnalysis.areaUnderCurve(scores: scores, labels: labels) == 0.825)
        #expect(Fixture.double(Fixture.sklearnBinary("classic20.tsv")["auc"]) == 0.825)
    }

    @Test(arguments: binaryFixtures)
    func binaryAUCMatchesRocAucScore(name: String) throws {
        let reference = Fixture.sklearnBinary(name)
        let report = try AUCReport.evaluate(Fixture.table(name), options: AUCOptions(interval: AUCOptions.IntervalMethod.none))
        let expected = Fixture.double(reference["auc"])
        #expect(abs(report.areaUnderCurve! - expected) <= 1e-12, "\(name): \(report.areaUnderCurve!) vs \(expected)")
        #expect(report.positiveClass == reference["positive"] as? String)
        #expect(report.rowCount == reference["n"] as? Int)
        #expect(report.positives == reference["positives"] as? Int)
        #expect(report.negatives == reference["negatives"] as? Int)
    }

    @Test(arguments: binaryFixtures.filter { $0 != "binary_large.tsv" })
    func curvePointsMatchRocCurveWithoutDroppingIntermediates(name: String) throws {
        let reference = try #require(Fixture.sklearnBinary(name)["curve"] as? [String: Any])
        let report = try AUCReport.evaluate(Fixture.table(name), options: AUCOptions(interval: AUCOptions.IntervalMethod.none, wantsCurves: true))
        let curve = try #require(report.curves.first).curve
        // Both divide exact integer counts once, and thresholds are the parsed scores: equal bits.
        #expect(curve.falsePositiveRates == Fixture.doubles(reference["fpr"]))
        #expect(curve.truePositiveRates == Fixture.doubles(reference["tpr"]))
        #expect(curve.thresholds == Fixture.doubles(reference["threshold"]))
    }

    @Test(arguments: ["multiclass.tsv", "multiclass_b.tsv"])
    func everyMulticlassModeAndAverageMatches(name: String) throws {
        let reference = (Fixture.sklearn["multiclass"] as! [String: Any])[name] as! [String: Any]
        let table = try Fixture.table(name)
        for (mode, average) in [(MulticlassStrategy.oneVsRest, MulticlassAverage.macro), (.oneVsRest, .weighted),
                                (.oneVsRest, .micro), (.oneVsOne, .macro), (.oneVsOne, .weighted)] {
            let report = try AUCReport.evaluate(table, options: AUCOptions(mode: mode, average: average, interval: AUCOptions.IntervalMethod.none))
            let expected = Fixture.double(reference["\(mode.rawValue)_\(average.rawValue)"])
            let actual = try #require(report.areaUnderCurve)
            #expect(abs(actual - expected) <= 1e-12, "\(name) \(mode) \(average): \(actual) vs \(expected)")
        }
        let none = try AUCReport.evaluate(table, options: AUCOptions(average: MulticlassAverage.none))
        #expect(none.areaUnderCurve == nil)
        #expect(none.interval == nil)
        let perClass = try #require(none.multiclass?.perClass)
        for (actual, expected) in zip(perClass, Fixture.doubles(reference["ovr_none"])) {
            #expect(abs(actual - expected) <= 1e-12)
        }
        // --positive CLASS on a multiclass table: that column against all other classes.
        let oneVsRest = reference["one_vs_rest"] as! [String: Any]
        for name in table.classNames {
            let report = try AUCReport.evaluate(table, options: AUCOptions(positiveClass: name, interval: AUCOptions.IntervalMethod.none, wantsCurves: true))
            #expect(abs(report.areaUnderCurve! - Fixture.double(oneVsRest[name])) <= 1e-12)
            let curve = ((reference["curves"] as! [String: Any])[name] as! [String: Any])
            #expect(report.curves[0].curve.falsePositiveRates == Fixture.doubles(curve["fpr"]))
            #expect(report.curves[0].curve.thresholds == Fixture.doubles(curve["threshold"]))
        }
    }

    @Test func multiclassLibraryEntryPointTakesInMemoryArrays() throws {
        let table = try Fixture.table("multiclass.tsv")
        let reference = (Fixture.sklearn["multiclass"] as! [String: Any])["multiclass.tsv"] as! [String: Any]
        var labels: [Int] = [], probabilities: [Double] = []
        for row in 0..<table.rowCount where table.labels[row] >= 0 {
            labels.append(Int(table.labels[row]))
            probabilities += table.scores[(row * 4)..<(row * 4 + 4)]
        }
        let result = try ROCAnalysis.multiclassAUC(probabilities: probabilities, labels: labels, classCount: 4,
                                                   mode: .oneVsOne, average: .weighted)
        #expect(abs(result.areaUnderCurve! - Fixture.double(reference["ovo_weighted"])) <= 1e-12)
    }

    @Test func multiclassBootstrapIntervalAgreesWithAnIndependentResampling() throws {
        // The reference resamples with NumPy and scores each replicate with scikit-learn, so the
        // bounds agree to Monte Carlo error only.
        let reference = ((Fixture.sklearn["multiclass_bootstrap"] as! [String: Any])["multiclass.tsv"] as! [String: Any])
        let table = try Fixture.table("multiclass.tsv")
        for (mode, average) in [(MulticlassStrategy.oneVsRest, MulticlassAverage.macro), (.oneVsOne, .weighted)] {
            let expected = reference["\(mode.rawValue)_\(average.rawValue)"] as! [String: Any]
            let report = try AUCReport.evaluate(table, options: AUCOptions(mode: mode, average: average, seed: 11))
            let interval = try #require(report.interval)
            #expect(interval.method == .bootstrap)
            #expect(abs(interval.lowerBound - Fixture.double(expected["low"])) <= 0.01, "\(interval)")
            #expect(abs(interval.upperBound - Fixture.double(expected["high"])) <= 0.01, "\(interval)")
            #expect(interval.lowerBound < report.areaUnderCurve! && report.areaUnderCurve! < interval.upperBound)
        }
    }

    @Test func micropredictionsAtTheEdgesOfFloatParse() throws {
        // Ties that only show after parsing: "0.5" and "5e-1" are the same number; -0 equals 0.
        let table = try ScoreTable(parsing: "label\tscore\n1\t0.5\n0\t5e-1\n1\t0\n0\t-0\n0\t-0.25\n")
        let report = try AUCReport.evaluate(table, options: AUCOptions(interval: AUCOptions.IntervalMethod.none))
        // Positives 0.5 and 0; negatives 0.5, −0 and −0.25: (0.5 + 1 + 1) + (0 + 0.5 + 1) = 4 of 6.
        #expect(report.areaUnderCurve == 4.0 / 6.0)
    }
}
