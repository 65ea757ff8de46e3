import ArgumentParser
import Foundation
import GraftMetrics
/// `graft report SCORES.tsv`: accuracy, balanced and top-k accuracy, log loss, Brier score, the
/// classification report and the confusion matrix, from `graft predict`'s TSV.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Classification metrics as scikit-learn computes them: accuracy, balanced and top-k accuracy, log loss, Brier score, per-class precision/recall/F1, confusion matrix.",
        discussion: """
        Input: graft predict's TSV (header id<TAB>label<TAB><class 1>…<class k>). Rows with an \
        empty label are skipped (counted on stderr). The predicted class is a row's first \
        column of highest probability. Top-k accuracy is reported for three or more classes.

        --confusion OUT.tsv writes the confusion matrix (rows: true class, columns: predicted \
        class); --plot OUT.svg draws it as a heat map with the class names.
        """)

    @Argument(help: "graft predict's scores TSV; '-' or nothing reads stdin.")
    var scores: String?

    @Option(name: .customLong("top-k"), parsing: .upToNextOption,
            help: "Top-k accuracies to report (default 1 5); also comma-separated.")
    var topK: [String] = []

    @Option(name: .customLong("zero-division"), help: "Value of a 0/0 precision, recall or F1: 0, 1 or nan (default 0, scikit-learn's).")
    var zeroDivision: String = "0"

    @Option(help: "Write the confusion matrix as a TSV table.")
    var confusion: String?

    @Option(help: "Draw the confusion matrix as an SVG heat map.")
    var plot: String?

    @Flag(help: "Print JSON instead of TSV.")
    var json = false

    func parsedTopK() throws -> [Int] {
        guard !topK.isEmpty else { return ClassificationReport.defaultTopK }
        var values: [Int] = []
        for text in topK.flatMap({ $0.split(separator: ",") }) {
            guard let value = Int(text), value >= 1 else {
                throw ValidationError("--top-k takes whole numbers of at least 1, not '\(text)'")
            }
            if !values.contains(value) { values.append(value) }
        }
        return values
    }

    func validate() throws {
        _ = try parsedTopK()
        guard ClassificationReport.ZeroDivision(rawValue: zeroDivision) != nil else {
            throw ValidationError("--zero-division must be 0, 1 or nan, not '\(zeroDivision)'")
        }
        if let plot, !plot.lowercased().hasSuffix(".svg") {
            throw ValidationError("--plot must name an .svg file, not '\(plot)'")
        }
    }

    func run() throws {
        try MissingScoresError.check(scores)
        let table = try ScoreTable.read(path: scores)
        if table.unlabelledCount > 0 {
            printDiagnostic("note: skipped \(table.unlabelledCount) unlabelled row\(table.unlabelledCount == 1 ? "" : "s") of '\(table.source)'")
        }
        let report = try ClassificationReport.evaluate(table, topK: try parsedTopK(),
                                                       zeroDivision: ClassificationReport.ZeroDivision(rawValue: zeroDivision)!)
        if report.rowsNotSummingToOne > 0 {
            printDiagnostic("warning: the probabilities of \(report.rowsNotSummingToOne) row\(report.rowsNotSummingToOne == 1 ? "" : "s") of '\(table.source)' do not sum to 1 (scikit-learn warns too; log loss and Brier use them as they are)")
        }
        if report.confusion == nil {
            printDiagnostic("note: \(report.classNames.count) classes: the confusion matrix is left out above \(ClassificationReport.maximumMatrixClasses)")
        }
        for entry in report.topK where entry.k >= report.classNames.count {
            printDiagnostic("note: top-\(entry.k) accuracy is 1 by definition with \(report.classNames.count) classes (scikit-learn warns that it is meaningless)")
        }
        if let confusion {
            try ConfusionMatrixPlot.write(report, title: "", to: confusion, option: "--confusion")
        }
        if let plot {
            try ConfusionMatrixPlot.write(report, title: "Confusion matrix: \((table.source as NSString).lastPathComponent)", to: plot, option: "--plot")
        }
        let text = json ? report.jsonText() : report.tabSeparatedText()
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
