import Foundation
import GraftTestSupport
import Testing
/// `graft report` and the options `graft auc` gained in issue 16, as a shell user runs them; the
/// numbers are checked against scikit-learn's and pROC's references in the Metrics fixtures.
@Suite struct ReportAndAUCOptionsCommand {
    static let fixtures = AUCCommand.fixtures

    static func json(_ text: String) throws -> [String: Any] { try AUCCommand.json(text) }

    static func reference(_ file: String) throws -> [String: Any] { try AUCCommand.reference(file) }

    @Test func reportPrintsScikitLearnsMetrics() throws {
        let result = try GraftBinary.run(["report", "\(Self.fixtures)/report_seven.tsv", "--json", "--top-k", "1,2", "5"])
        #expect(result.status == 0)
        #expect(result.standardError.contains("skipped 3 unlabelled rows"))
        let object = try Self.json(result.standardOutput)
        let expected = try #require((try Self.reference("references_report.json")["report"] as? [String: Any])?["report_seven.tsv"] as? [String: Any])
        for key in ["accuracy", "balanced_accuracy", "log_loss", "brier"] {
            #expect(abs((object[key] as! Double) - Double(expected[key] as! String)!) <= 1e-12, "\(key)")
        }
        let topK = try #require(object["top_k_accuracy"] as? [String: Double])
        for (k, value) in expected["top_k"] as! [String: String] { #expect(abs(topK[k]! - Double(value)!) <= 1e-12) }
        #expect((object["confusion"] as? [[Int]]) == (expected["confusion"] as? [[Int]]))
        #expect((object["classes"] as? [String])?.last == "zebra")
    }

    @Test func reportWritesTheMatrixAndHeatMapAndPrintsTSV() throws {
        let folder = try TemporaryFolder()
        let tsv = folder.url.appendingPathComponent("cm.tsv"), svg = folder.url.appendingPathComponent("cm.svg")
        let result = try GraftBinary.run(["report", "\(Self.fixtures)/multiclass.tsv", "--confusion", tsv.path, "--plot", svg.path])
        #expect(result.status == 0)
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.first == "n\t294")
        #expect(lines.contains { $0.hasPrefix("top_k_accuracy\t5\t1.0000") })
        #expect(lines.contains { $0.hasPrefix("per_class\tant\t") })
        #expect(lines.filter { $0.hasPrefix("confusion\t") }.count == 4)
        let table = try String(contentsOf: tsv, encoding: .utf8)
        #expect(table.hasPrefix("true\\predicted\tant\tbee\tcow\tdog\nant\t"))
        let picture = try String(contentsOf: svg, encoding: .utf8)
        #expect(picture.hasPrefix("<?xml") && picture.contains(">dog</text>") && picture.contains("Predicted class"))
    }

    @Test func reportRefusesWhatItCannotMeasure() throws {
        let labelScore = try GraftBinary.run(["report", "\(Self.fixtures)/classic20.tsv"])
        #expect(labelScore.status == 65)
        #expect(labelScore.standardError.hasPrefix("graft: error: '\(Self.fixtures)/classic20.tsv' is a label/score table"))
        #expect(labelScore.standardError.split(separator: "\n").count == 1)
        for arguments in [["--top-k", "0"], ["--zero-division", "2"], ["--plot", "x.png"]] {
            let usage = try GraftBinary.run(["report", "\(Self.fixtures)/multiclass.tsv"] + arguments)
            #expect(usage.status == 64, "\(arguments)")
        }
        #expect(try GraftBinary.run(["report", "/nonexistent/scores.tsv"]).status == 66)
    }

    @Test func precisionRecallAndItsCurve() throws {
        let folder = try TemporaryFolder()
        let csv = folder.url.appendingPathComponent("pr.csv")
        let result = try GraftBinary.run(["auc", "\(Self.fixtures)/classic20.tsv", "--pr", "--pr-curve", csv.path, "--json"])
        #expect(result.status == 0)
        let ap = try #require(try Self.json(result.standardOutput)["average_precision"] as? [String: Any])
        let expected = try #require((try Self.reference("references_pr.json")["binary"] as? [String: Any])?["classic20.tsv"] as? [String: Any])
        #expect(abs((ap["value"] as! Double) - Double(expected["ap"] as! String)!) <= 1e-12)
        #expect((ap["ci"] as? [String: Any])?["method"] as? String == "bootstrap")
        let points = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        #expect(points.first == "precision,recall,threshold")
        #expect(points.last == "1.0,0.0,inf")
        #expect(points.count == 1 + 20)
    }

    @Test func partialOperatingPointsAndThresholdInTSV() throws {
        let result = try GraftBinary.run(["auc", "\(Self.fixtures)/classic20.tsv", "--partial", "fpr:0,0.2", "--at-specificity", "0.9",
                                          "--threshold", "closest.topleft", "--ci", "none"])
        #expect(result.status == 0)
        #expect(result.standardOutput == """
            auc\t0.8250
            ci_method\tnone
            n\t20
            positives\t10
            negatives\t10
            positive_class\t1
            partial_auc_focus\tspecificity
            partial_auc_range\t0.8\t1
            partial_auc\t0.1000
            partial_auc_corrected\t0.7222
            partial_auc_standardized\t0.7222
            sensitivity_at_specificity\t0.9\t0.6000
            best_threshold\tclosest.topleft\t9.5\t0.7000\t0.8000

            """)
    }

    @Test func compareWithSeveralFilesTestsEveryPair() throws {
        let files = ["predict_binary.tsv", "predict_binary_b.tsv", "predict_binary_c.tsv"].map { "\(Self.fixtures)/\($0)" }
        let result = try GraftBinary.run(["auc", files[0], "--compare", files[1], files[2], "--json"])
        #expect(result.status == 0)
        let comparisons = try #require(try Self.json(result.standardOutput)["comparisons"] as? [String: Any])
        let pairs = try #require(comparisons["pairs"] as? [[String: Any]])
        let expected = try #require(((try Self.reference("references_proc_metrics.json")["compare"] as? [String: Any])?["predict"] as? [String: Any])?["pairs"] as? [[String: Any]])
        #expect(pairs.count == 3)
        for (pair, reference) in zip(pairs, expected) {
            for key in ["z", "p", "p_holm", "ci_low", "ci_high"] {
                #expect(abs((pair[key] as! Double) - Double(reference[key] as! String)!) <= 1e-6, "\(key)")
            }
        }
        let text = try GraftBinary.run(["auc", files[0], "--compare", files[1], files[2]])
        #expect(text.standardOutput.split(separator: "\n").filter { $0.hasPrefix("pair\t") }.count == 3)
    }

    @Test func newOptionsRefuseBadValuesAndMulticlass() throws {
        for arguments in [["--partial", "fpr:0.3,0.2"], ["--at-specificity", "1.5"], ["--threshold", "best"], ["--pr-curve", "x.png"]] {
            let result = try GraftBinary.run(["auc", "\(Self.fixtures)/classic20.tsv"] + arguments)
            #expect(result.status == 64, "\(arguments)")
        }
        let multiclass = try GraftBinary.run(["auc", "\(Self.fixtures)/multiclass.tsv", "--partial", "fpr:0,0.2"])
        #expect(multiclass.status == 65)
        #expect(multiclass.standardError.hasSuffix("--partial applies to a binary ROC curve; give --positive CLASS to take one class against the rest\n"))
    }
}
