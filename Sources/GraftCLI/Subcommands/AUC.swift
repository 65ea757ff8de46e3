import ArgumentParser
import Foundation
import GraftMetrics
/// `graft auc [SCORES.tsv|-] …`: ROC AUC with a confidence interval, a paired comparison and
/// ROC curves, from `graft predict`'s TSV or a `label⇥score` TSV.
struct AUC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auc",
        abstract: "ROC AUC (scikit-learn's roc_auc_score) with DeLong or bootstrap confidence intervals (pROC), paired DeLong test and ROC curves.",
        discussion: """
        Input: graft predict's TSV (header id<TAB>label<TAB><class 1>…<class k>) or a two-column \
        TSV with header label<TAB>score (a binary label and a score). Rows with an empty label are \
        skipped (counted on stderr). Binary: the positive class is --positive, else the second \
        class in sorted order (numeric when all names are numbers). With k ≥ 3 classes and \
        --positive, that class is scored against the rest.

        --compare runs pROC's paired DeLong test: graft predict tables are matched by id (any row \
        order, same ids); label/score tables, which have no ids, are matched row by row and must \
        have the same labels in the same order. With several files, every pair is tested, with \
        Holm-adjusted p-values and the interval of each AUC difference.

        Binary only (or with --positive): --partial (pROC's partial AUC, raw and McClish-corrected, \
        and scikit-learn's max_fpr value for fpr:0,m), --at-specificity / --at-sensitivity (pROC's \
        coords with ci.se / ci.sp), --threshold (pROC's coords "best"). Their intervals, and --pr's, \
        are stratified bootstraps (--boot-n, --seed) unless --ci none.

        --roc OUT.csv writes scikit-learn's roc_curve(drop_intermediate=False) points (the first \
        threshold is inf); --roc OUT.svg draws the curves.
        """)

    @Argument(help: "The scores TSV; '-' or nothing reads stdin.")
    var scores: String?

    @Option(help: "The positive class (default: the second class in sorted order).")
    var positive: String?

    @Option(name: .customLong("multi-class"), help: "Multiclass strategy: ovr or ovo (default ovr).")
    var multiClass: String?

    @Option(help: "Multiclass average: macro, weighted, micro (ovr) or none (ovr) (default macro).")
    var average: String?

    @Option(help: "Confidence interval: delong, bootstrap or none (default delong for binary, bootstrap for multiclass).")
    var ci: String?

    @Option(help: "Confidence level.")
    var level: Double = 0.95

    @Option(name: .customLong("boot-n"), help: "Bootstrap replicates.")
    var bootN: Int = Bootstrap.defaultReplicates

    @Option(help: "Bootstrap seed.")
    var seed: UInt64 = 0

    @Option(parsing: .upToNextOption,
            help: "Other models' scores on the same samples: paired DeLong test (several files: every pair, Holm-adjusted).")
    var compare: [String] = []

    @Option(help: "Partial AUC over a range: fpr:0,0.2, sp:0.8,1 or se:0.9,1 (pROC's partial.auc).")
    var partial: String?

    @Option(name: .customLong("at-specificity"), parsing: .upToNextOption, help: "Sensitivity at these specificities, with bootstrap CI (pROC's ci.se).")
    var atSpecificity: [Double] = []

    @Option(name: .customLong("at-sensitivity"), parsing: .upToNextOption, help: "Specificity at these sensitivities, with bootstrap CI (pROC's ci.sp).")
    var atSensitivity: [Double] = []

    @Option(help: "pROC's best threshold: youden or closest.topleft.")
    var threshold: String?

    @Option(help: "Write the ROC curves to OUT.svg (picture) or OUT.csv (points).")
    var roc: String?

    @Flag(help: "Average precision (scikit-learn's average_precision_score) with a stratified bootstrap interval.")
    var pr = false

    @Option(name: .customLong("pr-curve"), help: "Write the precision-recall curves to OUT.svg (picture) or OUT.csv (points).")
    var prCurve: String?

    @Flag(help: "Print JSON instead of TSV.")
    var json = false

    func validate() throws {
        if let multiClass, MulticlassStrategy(rawValue: multiClass) == nil {
            throw ValidationError("--multi-class must be ovr or ovo, not '\(multiClass)'")
        }
        if let average, MulticlassAverage(rawValue: average) == nil {
            throw ValidationError("--average must be macro, weighted, micro or none, not '\(average)'")
        }
        if let ci, AUCOptions.IntervalMethod(rawValue: ci) == nil {
            throw ValidationError("--ci must be delong, bootstrap or none, not '\(ci)'")
        }
        guard level > 0, level < 1 else { throw ValidationError("--level must be between 0 and 1, e.g. 0.95") }
        guard bootN >= 1 else { throw ValidationError("--boot-n must be at least 1") }
        if let roc, ROCPlot.Format(path: roc) == nil {
            throw ValidationError("--roc must name a .svg or .csv file, not '\(roc)'")
        }
        if let partial, PartialAUCRange(parsing: partial) == nil {
            throw ValidationError("--partial must be fpr:A,B, sp:A,B or se:A,B with 0 <= A < B <= 1, not '\(partial)'")
        }
        for value in atSpecificity + atSensitivity where !(value >= 0 && value <= 1) {
            throw ValidationError("--at-specificity and --at-sensitivity take values between 0 and 1, not \(value)")
        }
        if let threshold, BestThreshold.Method(rawValue: threshold) == nil {
            throw ValidationError("--threshold must be youden or closest.topleft, not '\(threshold)'")
        }
        if let prCurve, ROCPlot.Format(path: prCurve) == nil {
            throw ValidationError("--pr-curve must name a .svg or .csv file, not '\(prCurve)'")
        }
        if positive != nil && (multiClass != nil || average != nil) {
            throw ValidationError("--positive makes the AUC binary; it cannot be combined with --multi-class or --average")
        }
    }

    func run() throws {
        try MissingScoresError.check(scores, hint: " (--compare takes every file up to the next option, so SCORES.tsv goes before it)")
        let table = try ScoreTable.read(path: scores)
        let others = try compare.map { try ScoreTable.read(path: $0) }
        for skipped in [table] + others where skipped.unlabelledCount > 0 {
            printDiagnostic("note: skipped \(skipped.unlabelledCount) unlabelled row\(skipped.unlabelledCount == 1 ? "" : "s") of '\(skipped.source)'")
        }
        var options = AUCOptions(
            positiveClass: positive, mode: multiClass.flatMap(MulticlassStrategy.init(rawValue:)),
            average: average.flatMap(MulticlassAverage.init(rawValue:)),
            interval: ci.flatMap(AUCOptions.IntervalMethod.init(rawValue:)),
            level: level, replicates: bootN, seed: seed, wantsCurves: roc != nil)
        options.precisionRecall = pr
        options.wantsPrecisionRecallCurves = prCurve != nil
        options.partial = partial.flatMap(PartialAUCRange.init(parsing:))
        options.operatingPoints = atSpecificity.map { (OperatingPoint.Input.specificity, $0) } + atSensitivity.map { (.sensitivity, $0) }
        options.bestThreshold = threshold.flatMap(BestThreshold.Method.init(rawValue:))
        let report = try AUCReport.evaluate(table, comparedWith: others, options: options)
        if let roc {
            let subtitle = report.comparisons.map { "\($0.sources.count) models; paired DeLong tests of every pair, Holm-adjusted (see the table)" } ?? report.comparison.map {
                "paired DeLong test: difference \(String(format: "%.3f", $0.difference)), z = \(String(format: "%.2f", $0.z)), p = \(String(format: "%.3g", $0.p))"
            }
            try ROCPlot.write(report.curves, title: "ROC curve: \((table.source as NSString).lastPathComponent)", subtitle: subtitle, to: roc)
        }
        if let prCurve, let summary = report.precisionRecall {
            let intervals: [ConfidenceInterval?] = summary.perClassIntervals ?? (summary.curves.count == 1 ? [summary.interval] : [])
            try PrecisionRecallPlot.write(summary.curves, intervals: intervals,
                                          title: "Precision–recall curve: \((table.source as NSString).lastPathComponent)", to: prCurve)
        }
        let text = json ? report.jsonText() : report.tabSeparatedText()
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
