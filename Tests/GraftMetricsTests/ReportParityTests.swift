import Foundation
import Testing
@testable import GraftMetrics
/// `graft report`'s metrics against scikit-learn 1.9 on the same files
/// (Tools/fixtures/metrics/make-reference.py wrote references_report.json).
@Suite struct ReportParity {
    nonisolated(unsafe) static let references: [String: Any] = try! Fixture.json("references_report.json")

    static func reference(_ name: String) -> [String: Any] {
        (references["report"] as! [String: Any])[name] as! [String: Any]
    }

    /// Equal, or both NaN.
    static func close(_ actual: Double, _ expected: Double, _ tolerance: Double = 1e-12) -> Bool {
        (actual.isNaN && expected.isNaN) || abs(actual - expected) <= tolerance
    }

    static func expected(_ value: Any?) -> Double {
        let text = value as! String
        return text == "nan" ? .nan : Fixture.double(text)
    }

    static let files = ["report_seven.tsv", "multiclass.tsv", "multiclass_b.tsv", "predict_binary.tsv"]

    @Test(arguments: files)
    func summaryMetricsMatchScikitLearn(name: String) throws {
        let reference = Self.reference(name)
        let report = try ClassificationReport.evaluate(Fixture.table(name), topK: [1, 2, 5])
        #expect(report.rowCount == reference["n"] as! Int)
        #expect(Self.close(report.accuracy, Self.expected(reference["accuracy"])), "accuracy \(report.accuracy)")
        #expect(Self.close(report.balancedAccuracy, Self.expected(reference["balanced_accuracy"])), "balanced \(report.balancedAccuracy)")
        #expect(Self.close(report.logLoss, Self.expected(reference["log_loss"])), "log loss \(report.logLoss)")
        #expect(Self.close(report.brierScore, Self.expected(reference["brier"])), "brier \(report.brierScore)")
        if let topK = reference["top_k"] as? [String: Any] {
            #expect(report.topK.map(\.k) == [1, 2, 5])
            for entry in report.topK {
                #expect(Self.close(entry.accuracy, Self.expected(topK[String(entry.k)])), "top-\(entry.k) \(entry.accuracy)")
            }
        } else {
            #expect(report.topK.isEmpty)
        }
        let matrix = (reference["confusion"] as! [[Int]]).flatMap { $0 }
        #expect(report.confusion == matrix)
    }

    @Test(arguments: files, ClassificationReport.ZeroDivision.allCases)
    func classificationReportMatchesScikitLearn(name: String, zeroDivision: ClassificationReport.ZeroDivision) throws {
        // precision_recall_fscore_support per class and averaged, and classification_report.
        let reference = Self.reference(name)["zero_division_\(zeroDivision.rawValue)"] as! [String: Any]
        let report = try ClassificationReport.evaluate(Fixture.table(name), zeroDivision: zeroDivision)
        let perClass = reference["per_class"] as! [String: Any]
        let support = perClass["support"] as! [Int]
        for (index, scores) in report.perClass.enumerated() {
            for (key, value) in [("precision", scores.precision), ("recall", scores.recall), ("f1", scores.f1)] {
                let expected = Self.expected((perClass[key] as! [Any])[index])
                #expect(Self.close(value, expected), "\(name) class \(index) \(key): \(value) vs \(expected)")
            }
            #expect(scores.support == support[index])
        }
        // classification_report(output_dict=True) itself: the same rows, keyed by class name.
        let classificationReport = reference["classification_report"] as! [String: [String: Any]]
        let rows = Array(zip(report.classNames, report.perClass)) + [("macro avg", report.macroAverage), ("weighted avg", report.weightedAverage)]
        for (name, scores) in rows {
            let row = try #require(classificationReport[name])
            #expect(Self.close(scores.precision, Self.expected(row["precision"])), "\(name) precision")
            #expect(Self.close(scores.recall, Self.expected(row["recall"])), "\(name) recall")
            #expect(Self.close(scores.f1, Self.expected(row["f1-score"])), "\(name) f1")
            #expect(Double(scores.support) == Self.expected(row["support"]), "\(name) support")
        }
        for (key, scores) in [("macro", report.macroAverage), ("weighted", report.weightedAverage)] {
            let averaged = reference[key] as! [String: Any]
            #expect(Self.close(scores.precision, Self.expected(averaged["precision"])), "\(name) \(key) precision \(scores.precision)")
            #expect(Self.close(scores.recall, Self.expected(averaged["recall"])), "\(name) \(key) recall \(scores.recall)")
            #expect(Self.close(scores.f1, Self.expected(averaged["f1"])), "\(name) \(key) f1 \(scores.f1)")
        }
    }

    @Test func theSevenClassFixtureExercisesTheEdgeCases() throws {
        let report = try ClassificationReport.evaluate(Fixture.table("report_seven.tsv"), topK: [1])
        let yak = report.classNames.firstIndex(of: "yak")!, zebra = report.classNames.firstIndex(of: "zebra")!
        #expect(report.perClass[zebra].support == 0)
        let confusion = try #require(report.confusion)
        #expect((0..<7).allSatisfy { confusion[$0 * 7 + yak] == 0 })
        // Top-1 differs from accuracy because tied scores rank the later column first.
        #expect(report.topK[0].accuracy != report.accuracy)
    }

    @Test func labelScoreTablesAndNonProbabilitiesAreRefused() throws {
        #expect(throws: ReportInputError.needsPredictions(source: "<text>")) {
            try ClassificationReport.evaluate(ScoreTable(parsing: "label\tscore\n1\t0.5\n0\t0.2\n"))
        }
        #expect(throws: ReportInputError.self) {
            try ClassificationReport.evaluate(ScoreTable(parsing: "id\tlabel\ta\tb\nx\ta\t1.5\t-0.5\n"))
        }
        #expect(throws: ReportInputError.noLabelledRows(source: "<text>", rows: 1)) {
            try ClassificationReport.evaluate(ScoreTable(parsing: "id\tlabel\ta\tb\nx\t\t0.5\t0.5\n"))
        }
    }

    @Test func aHeaderOfManyClassesDoesNotAllocateTheirSquare() throws {
        // 5000 classes, one row: the matrix would be 25 million cells.
        let k = 5000
        let header = "id\tlabel\t" + (0..<k).map { "c\($0)" }.joined(separator: "\t")
        let row = "x\tc3\t" + (0..<k).map { $0 == 3 ? "1" : "0" }.joined(separator: "\t")
        let report = try ClassificationReport.evaluate(ScoreTable(parsing: header + "\n" + row + "\n"))
        #expect(report.confusion == nil)
        #expect(report.accuracy == 1)
        #expect(report.perClass[3] == .init(precision: 1, recall: 1, f1: 1, support: 1))
        #expect(throws: ReportInputError.self) { try ConfusionMatrixPlot.write(report, title: "", to: "/tmp/never.svg", option: "--plot") }
    }

    @Test func confusionTableAndHeatMapNameTheClasses() throws {
        let report = try ClassificationReport.evaluate(Fixture.table("multiclass.tsv"))
        let table = ConfusionMatrixPlot.tabSeparatedText(report)
        let lines = table.split(separator: "\n")
        #expect(lines[0] == "true\\predicted\tant\tbee\tcow\tdog")
        #expect(lines.count == 5)
        let svg = ConfusionMatrixPlot.svgDocument(report, title: "t <&>")
        #expect(svg.contains("t &lt;&amp;&gt;"))
        for name in report.classNames { #expect(svg.contains(">\(name)</text>")) }
        #expect(svg.components(separatedBy: "<rect x=").count - 1 == 16 + 1)
    }
}
