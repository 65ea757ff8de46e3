import Foundation
import Testing
@testable import GraftMetrics
/// Confidence intervals and the paired test against pROC 1.18 on the same files.
@Suite struct PROCParity {
    @Test(arguments: binaryFixtures)
    func deLongIntervalMatchesCiAuc(name: String) throws {
        let reference = Fixture.procBinary(name)
        for (level, key) in [(0.95, "delong95"), (0.90, "delong90")] {
            let report = try AUCReport.evaluate(Fixture.table(name), options: AUCOptions(interval: .delong, level: level))
            let interval = try #require(report.interval)
            let expected = Fixture.doubles(reference[key])
            #expect(abs(interval.lowerBound - expected[0]) <= 1e-6, "\(name) \(level): \(interval.lowerBound) vs \(expected[0])")
            #expect(abs(interval.upperBound - expected[1]) <= 1e-6, "\(name) \(level): \(interval.upperBound) vs \(expected[1])")
            // In fact they agree to rounding error.
            #expect(abs(interval.lowerBound - expected[0]) <= 1e-12)
            #expect(abs(interval.upperBound - expected[1]) <= 1e-12)
        }
        #expect(abs(try AUCReport.evaluate(Fixture.table(name), options: AUCOptions()).areaUnderCurve! - Fixture.double(reference["auc"])) <= 1e-12)
    }

    @Test(arguments: binaryFixtures)
    func bootstrapIntervalIsWithinMonteCarloErrorOfPROC(name: String) throws {
        // The 20 samples of the classic example give AUCs in steps of 0.005, and 2000 replicates
        // leave its bounds about ±0.01 apart from seed to seed (pROC's own, too); there both sides
        // use 20000 replicates.
        let replicates = name == "classic20.tsv" ? 20000 : 2000
        let expected = Fixture.doubles(Fixture.procBinary(name)[name == "classic20.tsv" ? "bootstrap95_20000" : "bootstrap95"])
        let report = try AUCReport.evaluate(Fixture.table(name), options: AUCOptions(interval: .bootstrap, replicates: replicates, seed: 1))
        let interval = try #require(report.interval)
        #expect(abs(interval.lowerBound - expected[0]) <= 0.01, "\(name): \(interval.lowerBound) vs \(expected[0])")
        #expect(abs(interval.upperBound - expected[1]) <= 0.01, "\(name): \(interval.upperBound) vs \(expected[1])")
        #expect(interval.replicates == replicates)
    }

    @Test func bootstrapDependsOnTheSeedOnly() throws {
        let analysis = try ROCAnalysis(scores: [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.5, 0.45], labels: [false, false, true, true, false, true, false, true])
        let first = analysis.bootstrapInterval(replicates: 500, seed: 9)
        #expect(analysis.bootstrapInterval(replicates: 500, seed: 9) == first)
        #expect(analysis.bootstrapInterval(replicates: 500, seed: 10) != first)
    }

    @Test(arguments: [("binary_ties.tsv", "binary_ties_b.tsv", nil), ("predict_binary.tsv", "predict_binary_b.tsv", nil),
                      ("multiclass.tsv", "multiclass_b.tsv", "bee")] as [(String, String, String?)])
    func pairedTestMatchesRocTest(first: String, second: String, positive: String?) throws {
        let key = [first, second, positive].compactMap { $0 }.joined(separator: "|")
        let expected = (Fixture.proc["compare"] as! [String: Any])[key] as! [String: Any]
        let report = try AUCReport.evaluate(Fixture.table(first), comparedWith: Fixture.table(second),
                                            options: AUCOptions(positiveClass: positive))
        let comparison = try #require(report.comparison)
        #expect(abs(comparison.firstAUC - Fixture.double(expected["auc1"])) <= 1e-12)
        #expect(abs(comparison.secondAUC - Fixture.double(expected["auc2"])) <= 1e-12)
        #expect(abs(comparison.z - Fixture.double(expected["z"])) <= 1e-6, "\(comparison.z)")
        #expect(abs(comparison.p - Fixture.double(expected["p"])) <= 1e-6, "\(comparison.p)")
        #expect(abs(comparison.difference - (comparison.firstAUC - comparison.secondAUC)) == 0)
    }

    @Test func identicalModelsGiveZeroNotNaN() throws {
        let scores = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]
        let labels = [false, false, true, true, false, true]
        let comparison = try DeLong.pairedTest(scores: scores, scores, labels: labels)
        #expect(comparison.z == 0)
        #expect(comparison.p == 1)
    }

    @Test func normalQuantileMatchesRsQnorm() throws {
        let table = Fixture.proc["qnorm"] as! [String: Any]
        for (p, q) in zip(Fixture.doubles(table["p"]), Fixture.doubles(table["q"])) {
            let actual = NormalDistribution.quantile(p)
            #expect(abs(actual - q) <= 1e-14 * max(1, abs(q)), "qnorm(\(p)) = \(q), got \(actual)")
            if p > 1e-300 {
                #expect(abs(NormalDistribution.cumulative(q) - p) <= 1e-12 * p)
            }
        }
    }

    @Test func quantileIsRsTypeSeven() throws {
        let table = Fixture.proc["quantile"] as! [String: Any]
        let sorted = Fixture.doubles(table["values"]).sorted()
        for (p, q) in zip(Fixture.doubles(table["probs"]), Fixture.doubles(table["q"])) {
            #expect(Bootstrap.quantile(sorted: sorted, p) == q, "p = \(p)")
        }
    }

    @Test func deLongNeedsTwoOfEachClass() throws {
        let analysis = try ROCAnalysis(scores: [0.1, 0.7, 0.3], labels: [false, true, false])
        #expect(throws: MetricsError.tooFewForDeLong(positives: 1, negatives: 2)) { try analysis.deLongInterval() }
    }
}
