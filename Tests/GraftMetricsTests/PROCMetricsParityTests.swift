import Foundation
import Testing
@testable import GraftMetrics
/// Partial AUC, operating points, best thresholds and many-model comparison against pROC 1.18
/// (Tools/fixtures/metrics/make-reference.R wrote references_proc_metrics.json) and
/// scikit-learn's `max_fpr` (references_pr.json).
@Suite struct PROCMetricsParity {
    nonisolated(unsafe) static let references: [String: Any] = try! Fixture.json("references_proc_metrics.json")
    nonisolated(unsafe) static let sklearn: [String: Any] = try! Fixture.json("references_pr.json")

    static func section(_ key: String) -> [String: Any] { references[key] as! [String: Any] }

    /// pROC's NA is NaN here.
    static func value(_ any: Any?) -> Double {
        let text = any as! String
        return text == "NA" ? .nan : Fixture.double(text)
    }

    static func close(_ actual: Double, _ expected: Double, _ tolerance: Double) -> Bool {
        (actual.isNaN && expected.isNaN) || abs(actual - expected) <= tolerance
    }

    static func analysis(_ name: String) throws -> ROCAnalysis {
        let table = try Fixture.table(name)
        let report = try AUCReport.evaluate(table, options: AUCOptions(interval: AUCOptions.IntervalMethod.none))
        let positive = table.classNames.firstIndex(of: report.positiveClass!)!
        var positives: [Double] = [], negatives: [Double] = []
        for row in 0..<table.rowCount where table.labels[row] >= 0 {
            let score = table.scores[row * table.columnCount + (table.layout == .predictions ? positive : 0)]
            if Int(table.labels[row]) == positive { positives.append(score) } else { negatives.append(score) }
        }
        return try ROCAnalysis(positiveScores: positives, negativeScores: negatives)
    }

    /// The AUC fixtures, and scores one ulp apart, where pROC's midway threshold rounds onto a
    /// score and is moved to the upper one.
    static let procFixtures = binaryFixtures + ["adjacent_scores.tsv"]

    @Test(arguments: procFixtures)
    func partialAUCMatchesPROC(name: String) throws {
        let analysis = try Self.analysis(name)
        for entry in Self.section("partial")[name] as! [[String: Any]] {
            let focus = PartialAUCRange.Focus(rawValue: entry["focus"] as! String)!
            let range = PartialAUCRange(focus: focus, lower: Self.value(entry["lo"]), upper: Self.value(entry["hi"]))
            let result = analysis.partialAUC(range, replicates: nil)
            let raw = Self.value(entry["raw"]), corrected = Self.value(entry["corrected"])
            #expect(Self.close(result.area, raw, 1e-6), "\(name) \(range): \(result.area) vs \(raw)")
            #expect(Self.close(result.corrected, corrected, 1e-6), "\(name) \(range): \(result.corrected) vs \(corrected)")
            // In fact they agree to rounding error.
            #expect(Self.close(result.area, raw, 1e-14) && Self.close(result.corrected, corrected, 1e-13))
        }
    }

    @Test(arguments: binaryFixtures)
    func standardizedPartialAUCMatchesMaxFPR(name: String) throws {
        let analysis = try Self.analysis(name)
        let expected = ((Self.sklearn["binary"] as! [String: Any])[name] as! [String: Any])["max_fpr"] as! [String: Any]
        for (key, value) in expected {
            let m = Double(key)!
            let actual = analysis.standardizedPartialAUC(maxFalsePositiveRate: m)
            #expect(abs(actual - Fixture.double(value)) <= 1e-12, "\(name) max_fpr \(m): \(actual) vs \(value)")
            // pROC's correction over specificity 1 − m to 1 is the same McClish formula.
            if m < 1 {
                let corrected = analysis.partialAUC(PartialAUCRange(parsing: "fpr:0,\(key)")!, replicates: nil)
                #expect(corrected.standardized == actual)
                #expect(abs(corrected.corrected - actual) <= 1e-12 || corrected.corrected.isNaN)
            }
        }
    }

    @Test(arguments: procFixtures)
    func operatingPointsAndBestThresholdsMatchCoords(name: String) throws {
        let analysis = try Self.analysis(name)
        let reference = Self.section("coords")[name] as! [String: Any]
        let at = Fixture.doubles(reference["at"])
        for (index, value) in at.enumerated() {
            let se = analysis.operatingPoint(.specificity, at: value, replicates: nil).estimate
            let sp = analysis.operatingPoint(.sensitivity, at: value, replicates: nil).estimate
            let expectedSe = Fixture.doubles(reference["sensitivity_at_specificity"])[index]
            let expectedSp = Fixture.doubles(reference["specificity_at_sensitivity"])[index]
            #expect(abs(se - expectedSe) <= 1e-12, "\(name) se at sp \(value): \(se) vs \(expectedSe)")
            #expect(abs(sp - expectedSp) <= 1e-12, "\(name) sp at se \(value): \(sp) vs \(expectedSp)")
        }
        for method in BestThreshold.Method.allCases {
            let expected = (reference[method.rawValue] as! [[Any]]).map { Fixture.doubles($0) }
            let actual = analysis.bestThresholds(method)
            #expect(actual.count == expected.count, "\(name) \(method): \(actual) vs \(expected)")
            for (point, row) in zip(actual, expected) {
                #expect(point.threshold == row[0], "\(name) \(method) threshold \(point.threshold) vs \(row[0])")
                #expect(point.specificity == row[1] && point.sensitivity == row[2])
            }
        }
    }

    /// Each reference bound is the mean of 10 pROC runs of 2000 replicates with seeds 1…10, with
    /// their standard deviation σ (R's random stream, not graft's). graft's single run has the
    /// same σ, so graft − mean has σ·√(1 + 1/10); a tolerance of 4 of those fails a correct
    /// implementation about once in 16,000 runs.
    @Test(arguments: ["binary_ties.tsv", "predict_binary.tsv"])
    func bootstrapIntervalsAreWithinMonteCarloErrorOfPROC(name: String) throws {
        let analysis = try Self.analysis(name)
        let bootstrap = Self.section("bootstrap")
        func check(_ interval: ConfidenceInterval?, _ key: String) throws {
            let reference = try #require(bootstrap[key] as? [String: Any], "\(key) missing")
            let interval = try #require(interval)
            #expect(interval.replicates == reference["replicates"] as? Int)
            let runs = Double(reference["runs"] as! Int)
            for (actual, mean, sd) in [(interval.lowerBound, reference["low"], reference["sd_low"]),
                                       (interval.upperBound, reference["high"], reference["sd_high"])] {
                let tolerance = max(4 * Self.value(sd) * (1 + 1 / runs).squareRoot(), 1e-9)
                #expect(abs(actual - Self.value(mean)) <= tolerance, "\(key): \(actual) vs \(Self.value(mean)) ± \(tolerance)")
            }
        }
        for (range, key) in [(PartialAUCRange(focus: .specificity, lower: 0.8, upper: 1), "specificity|1|0.8"),
                             (PartialAUCRange(focus: .sensitivity, lower: 0.9, upper: 1), "sensitivity|1|0.9")] {
            let partial = analysis.partialAUC(range, replicates: 2000, seed: 11)
            try check(partial.interval, "\(name)|\(key)|raw")
            try check(partial.correctedInterval, "\(name)|\(key)|corrected")
        }
        try check(analysis.operatingPoint(.specificity, at: 0.9, replicates: 2000, seed: 12).interval, "\(name)|se_at_sp|0.9")
        try check(analysis.operatingPoint(.sensitivity, at: 0.9, replicates: 2000, seed: 13).interval, "\(name)|sp_at_se|0.9")
    }

    @Test(arguments: ["ties", "predict"])
    func everyPairMatchesRocTestWithHolm(group: String) throws {
        let reference = Self.section("compare")[group] as! [String: Any]
        let files = reference["files"] as! [String]
        let report = try AUCReport.evaluate(Fixture.table(files[0]), comparedWith: Array(files.dropFirst()).map { try Fixture.table($0) },
                                            options: AUCOptions())
        let comparisons = try #require(report.comparisons)
        let pairs = reference["pairs"] as! [[String: Any]]
        #expect(comparisons.pairs.count == pairs.count)
        for (pair, expected) in zip(comparisons.pairs, pairs) {
            #expect(pair.first == expected["first"] as! Int && pair.second == expected["second"] as! Int)
            #expect(abs(pair.comparison.firstAUC - Self.value(expected["auc1"])) <= 1e-12)
            #expect(abs(pair.comparison.secondAUC - Self.value(expected["auc2"])) <= 1e-12)
            for (actual, key) in [(pair.comparison.z, "z"), (pair.comparison.p, "p"), (pair.adjustedP, "p_holm"),
                                  (pair.lowerBound, "ci_low"), (pair.upperBound, "ci_high")] {
                #expect(abs(actual - Self.value(expected[key])) <= 1e-6, "\(group) \(key): \(actual) vs \(expected[key]!)")
                #expect(abs(actual - Self.value(expected[key])) <= 1e-12, "\(group) \(key) beyond rounding: \(actual) vs \(expected[key]!)")
            }
        }
        #expect(report.comparison == nil)
    }

    /// With one `--compare` file, the difference's interval is pROC's paired `roc.test` one too:
    /// each reference pair run on its own.
    @Test(arguments: ["ties", "predict"])
    func aSinglePairGivesRocTestsDifferenceInterval(group: String) throws {
        let reference = Self.section("compare")[group] as! [String: Any]
        let files = reference["files"] as! [String]
        for expected in reference["pairs"] as! [[String: Any]] {
            let first = files[expected["first"] as! Int], second = files[expected["second"] as! Int]
            let report = try AUCReport.evaluate(Fixture.table(first), comparedWith: [try Fixture.table(second)], options: AUCOptions())
            let interval = try #require(report.comparisonInterval)
            #expect(abs(interval.lower - Self.value(expected["ci_low"])) <= 1e-12, "\(group) \(first) vs \(second)")
            #expect(abs(interval.upper - Self.value(expected["ci_high"])) <= 1e-12, "\(group) \(first) vs \(second)")
        }
    }

    @Test func holmMatchesRsPAdjust() {
        // p.adjust(c(0.01, 0.04, 0.03, 0.04, 0.5), "holm") in R 4.2: 0.05 0.12 0.12 0.12 0.50
        let adjusted = ModelComparisons.holm([0.01, 0.04, 0.03, 0.04, 0.5])
        for (actual, expected) in zip(adjusted, [0.05, 0.12, 0.12, 0.12, 0.5]) { #expect(abs(actual - expected) <= 1e-15) }
    }

    @Test func rangesParseAsDocumented() {
        let fpr = PartialAUCRange(parsing: "fpr:0,0.2")
        #expect(fpr?.focus == .specificity && fpr?.lower == 0.8 && fpr?.upper == 1)
        #expect(PartialAUCRange(parsing: "fpr:0,0.2")?.maxFalsePositiveRate == 0.2)
        #expect(PartialAUCRange(parsing: "fpr:0.1,0.2")?.maxFalsePositiveRate == nil)
        #expect(PartialAUCRange(parsing: "sp:0.8,1")?.maxFalsePositiveRate == 0.19999999999999996)
        #expect(PartialAUCRange(parsing: "se:0.9,1") == PartialAUCRange(focus: .sensitivity, lower: 0.9, upper: 1))
        for bad in ["fpr:0.2,0", "fpr:0,1.5", "auc:0,1", "fpr:0", "fpr0,0.2", "se:a,b", "sp:0.5,0.5"] {
            #expect(PartialAUCRange(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func binaryOnlyOptionsRefuseMulticlass() throws {
        #expect(throws: AUCInputError.needsBinary(option: "--partial")) {
            try AUCReport.evaluate(Fixture.table("multiclass.tsv"), options: AUCOptions(partial: PartialAUCRange(parsing: "fpr:0,0.2")))
        }
        #expect(throws: AUCInputError.needsBinary(option: "--threshold")) {
            try AUCReport.evaluate(Fixture.table("multiclass.tsv"), options: AUCOptions(bestThreshold: .youden))
        }
    }
}
