#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GraftSupport
/// What `graft auc` computes for one scores table (and optionally a second model's table).
public struct AUCOptions: Sendable {
    /// How the confidence interval is computed.
    public enum IntervalMethod: String, Sendable, CaseIterable {
        case delong, bootstrap, none
    }

    /// The positive class for a binary AUC. For a table of k ≥ 3 classes it selects that class's
    /// column against all other classes. Default: the second class in sorted order, as
    /// scikit-learn's `classes_[1]`.
    public var positiveClass: String?
    /// Multiclass strategy; default one-vs-rest.
    public var mode: MulticlassStrategy?
    /// Multiclass average; default macro.
    public var average: MulticlassAverage?
    /// Default: DeLong for binary, bootstrap for multiclass (DeLong is binary only).
    public var interval: IntervalMethod?
    public var level: Double
    public var replicates: Int
    public var seed: UInt64
    /// Whether to compute the ROC curves (for `--roc`).
    public var wantsCurves: Bool
    /// Average precision (`--pr`), with a bootstrap interval unless `interval` is `.none`.
    public var precisionRecall = false
    /// Whether to compute the precision–recall curves (for `--pr-curve`).
    public var wantsPrecisionRecallCurves = false
    /// A partial AUC (`--partial`), binary only.
    public var partial: PartialAUCRange?
    /// Operating points (`--at-specificity`, `--at-sensitivity`), binary only.
    public var operatingPoints: [(input: OperatingPoint.Input, value: Double)] = []
    /// pROC's best threshold (`--threshold`), binary only.
    public var bestThreshold: BestThreshold.Method?

    public init(positiveClass: String? = nil, mode: MulticlassStrategy? = nil, average: MulticlassAverage? = nil,
                interval: IntervalMethod? = nil, level: Double = 0.95, replicates: Int = Bootstrap.defaultReplicates,
                seed: UInt64 = 0, wantsCurves: Bool = false, precisionRecall: Bool = false,
                wantsPrecisionRecallCurves: Bool = false, partial: PartialAUCRange? = nil,
                operatingPoints: [(input: OperatingPoint.Input, value: Double)] = [], bestThreshold: BestThreshold.Method? = nil) {
        self.partial = partial
        self.operatingPoints = operatingPoints
        self.bestThreshold = bestThreshold
        self.precisionRecall = precisionRecall
        self.wantsPrecisionRecallCurves = wantsPrecisionRecallCurves
        self.positiveClass = positiveClass
        self.mode = mode
        self.average = average
        self.interval = interval
        self.level = level
        self.replicates = replicates
        self.seed = seed
        self.wantsCurves = wantsCurves
    }
}

/// Problems with the combination of a table and the options, or with a pair of tables.
public enum AUCInputError: GraftError, Equatable {
    case noLabelledRows(source: String, rows: Int)
    case unknownPositiveClass(source: String, name: String, classes: [String])
    case singleClass(source: String, name: String, rows: Int)
    case multiclassOptionsOnBinary(source: String, option: String)
    case deLongNeedsBinary
    case compareNeedsBinary
    case compareLayouts(first: String, second: String)
    case compareClasses(first: String, second: String)
    case compareRowCount(first: String, firstRows: Int, second: String, secondRows: Int)
    case compareLabel(first: String, second: String, row: String)
    case duplicateID(source: String, id: String)
    case missingID(id: String, presentIn: String, absentFrom: String)
    case precisionRecallNeedsOneVsRest
    case needsBinary(option: String)

    public var exitStatus: ExitStatus { .dataError }

    public var description: String {
        switch self {
        case let .noLabelledRows(source, rows):
            "'\(source)' has no labelled rows (\(rows) unlabelled); AUC needs each row's true class in the label column"
        case let .unknownPositiveClass(source, name, classes):
            "--positive '\(quoted(name))' is not a class of '\(source)' (classes: \(classes.joined(separator: ", ")))"
        case let .singleClass(source, name, rows):
            "all \(rows) labelled rows of '\(source)' are of class '\(quoted(name))'; ROC AUC needs rows of two classes"
        case let .multiclassOptionsOnBinary(source, option):
            "\(option) applies to multiclass scores, but '\(source)' is binary"
        case .deLongNeedsBinary:
            "DeLong's interval is defined for binary AUC only; use --ci bootstrap for multiclass, or --positive CLASS for one class against the rest"
        case .compareNeedsBinary:
            "--compare runs a paired DeLong test of two binary AUCs; give --positive CLASS to compare one class against the rest"
        case let .compareLayouts(first, second):
            "'\(first)' and '\(second)' have different layouts; --compare needs two graft predict tables (matched by id) or two label/score tables (matched by row)"
        case let .compareClasses(first, second):
            "'\(first)' and '\(second)' have different classes"
        case let .compareRowCount(first, firstRows, second, secondRows):
            "'\(first)' has \(firstRows) rows but '\(second)' has \(secondRows); label/score tables are compared row by row and must have the same rows"
        case let .compareLabel(first, second, row):
            "\(row) has a different label in '\(first)' and '\(second)'"
        case let .duplicateID(source, id):
            "'\(source)' has id '\(quoted(id))' twice; --compare matches rows by id"
        case .precisionRecallNeedsOneVsRest:
            "average precision is one-vs-rest (scikit-learn's average_precision_score); drop --multi-class ovo"
        case let .needsBinary(option):
            "\(option) applies to a binary ROC curve; give --positive CLASS to take one class against the rest"
        case let .missingID(id, presentIn, absentFrom):
            "id '\(id)' of '\(presentIn)' is not in '\(absentFrom)'; --compare needs the same ids in both files"
        }
    }
}

/// One ROC curve to draw or write, with its legend entry.
public struct NamedCurve: Sendable {
    public var name: String
    public var curve: ROCCurve
    public var areaUnderCurve: Double
    public var interval: ConfidenceInterval?
}

/// Average precision (`graft auc --pr`): the value (nil for a multiclass `average == .none`),
/// its stratified bootstrap interval, per-class values for multiclass, and curves for `--pr-curve`.
public struct PrecisionRecallSummary: Sendable {
    public var averagePrecision: Double?
    public var interval: ConfidenceInterval?
    public var perClass: [Double]?
    public var perClassIntervals: [ConfidenceInterval]?
    public var curves: [NamedPRCurve] = []
}

/// One precision–recall curve to draw or write, with its legend entry.
public struct NamedPRCurve: Sendable {
    public var name: String
    public var curve: PrecisionRecallCurve
    public var averagePrecision: Double
    /// The fraction of positives: the precision of a classifier without skill.
    public var prevalence: Double
}

/// The result of `graft auc`: everything it prints, plus the curves for `--roc`.
public struct AUCReport: Sendable {
    public var source: String
    /// Labelled rows used.
    public var rowCount: Int
    /// Unlabelled rows skipped.
    public var skippedRows: Int
    public var classNames: [String]
    /// Rows of each class (in `classNames` order).
    public var classSizes: [Int]
    /// Binary only.
    public var positiveClass: String?
    public var positives: Int?
    public var negatives: Int?
    /// The AUC; nil for a multiclass `average == .none`.
    public var areaUnderCurve: Double?
    public var interval: ConfidenceInterval?
    public var multiclass: MulticlassAUC?
    /// Per-class bootstrap intervals (multiclass one-vs-rest with a bootstrap interval).
    public var perClassIntervals: [ConfidenceInterval]?
    public var comparison: PairedComparison?
    /// The interval of the paired difference (`comparison`), at the report's level.
    public var comparisonInterval: (lower: Double, upper: Double)? = nil
    public var comparedSource: String?
    public var comparedInterval: ConfidenceInterval?
    public var curves: [NamedCurve]
    /// Average precision (`--pr`).
    public var precisionRecall: PrecisionRecallSummary? = nil
    public var partialAUC: PartialAUC? = nil
    public var operatingPoints: [OperatingPoint] = []
    public var bestThresholdMethod: BestThreshold.Method? = nil
    public var bestThresholds: [BestThreshold] = []
    /// Every pair of three or more models (`--compare B.tsv C.tsv …`).
    public var comparisons: ModelComparisons? = nil

    /// Computes the report.
    public static func evaluate(_ table: ScoreTable, comparedWith other: ScoreTable? = nil,
                                options: AUCOptions) throws -> AUCReport {
        try evaluate(table, comparedWith: other.map { [$0] } ?? [], options: options)
    }

    /// Computes the report; with one other table, the paired test of the two (`comparison`),
    /// with several, every pair of all the tables (`comparisons`).
    public static func evaluate(_ table: ScoreTable, comparedWith others: [ScoreTable],
                                options: AUCOptions) throws -> AUCReport {
        let other = others.count == 1 ? others[0] : nil
        let labelled = table.labels.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        guard labelled > 0 else { throw AUCInputError.noLabelledRows(source: table.source, rows: table.rowCount) }
        let binary = table.layout == .labelAndScore || table.classNames.count == 2 || options.positiveClass != nil
        if binary {
            return try evaluateBinary(table, other, others.count > 1 ? others : [], options)
        }
        if !others.isEmpty { throw AUCInputError.compareNeedsBinary }
        if options.partial != nil { throw AUCInputError.needsBinary(option: "--partial") }
        if let first = options.operatingPoints.first {
            throw AUCInputError.needsBinary(option: first.input == .specificity ? "--at-specificity" : "--at-sensitivity")
        }
        if options.bestThreshold != nil { throw AUCInputError.needsBinary(option: "--threshold") }
        return try evaluateMulticlass(table, options)
    }

    private static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// Class names sorted as scikit-learn sorts labels: numerically when every name is a
    /// number (pandas reads such a column as numbers), otherwise by Unicode code point.
    static func sortedClassIndices(_ names: [String]) -> [Int] {
        let numbers = names.map { name -> Double? in
            let bytes = Array(name.utf8) + [0]
            return bytes.withUnsafeBufferPointer { buffer in
                guard let (value, end) = DecimalParsing.parse(buffer.baseAddress!), end == buffer.baseAddress! + name.utf8.count,
                      !value.isNaN else { return nil }
                return value
            }
        }
        if numbers.allSatisfy({ $0 != nil }) {
            return names.indices.sorted { numbers[$0]! < numbers[$1]! }
        }
        return names.indices.sorted { Array(names[$0].utf8).lexicographicallyPrecedes(Array(names[$1].utf8)) }
    }

    private static func positiveIndex(_ table: ScoreTable, _ options: AUCOptions) throws -> Int {
        if let name = options.positiveClass {
            guard let index = table.classNames.firstIndex(of: name) else {
                throw AUCInputError.unknownPositiveClass(source: table.source, name: name, classes: table.classNames)
            }
            return index
        }
        if table.layout == .labelAndScore && table.classNames.count < 2 {
            let labelled = table.rowCount - table.unlabelledCount
            throw AUCInputError.singleClass(source: table.source, name: table.classNames.first ?? "", rows: labelled)
        }
        return sortedClassIndices(table.classNames)[1]
    }

    /// The labelled rows' binary labels and scores (the positive class's column).
    private static func binaryData(_ table: ScoreTable, positive: Int) -> (rows: [Int], labels: [Bool], scores: [Double]) {
        var rows: [Int] = [], labels: [Bool] = [], scores: [Double] = []
        let labelled = table.rowCount - table.unlabelledCount
        rows.reserveCapacity(labelled); labels.reserveCapacity(labelled); scores.reserveCapacity(labelled)
        let k = table.columnCount
        let column = table.layout == .predictions ? positive : 0
        table.labels.withUnsafeBufferPointer { tableLabels in
            table.scores.withUnsafeBufferPointer { tableScores in
                for row in 0..<tableLabels.count where tableLabels[row] >= 0 {
                    rows.append(row)
                    labels.append(Int(tableLabels[row]) == positive)
                    scores.append(tableScores[row * k + column])
                }
            }
        }
        return (rows, labels, scores)
    }

    private static func evaluateBinary(_ table: ScoreTable, _ other: ScoreTable?, _ many: [ScoreTable], _ options: AUCOptions) throws -> AUCReport {
        if options.mode != nil { throw AUCInputError.multiclassOptionsOnBinary(source: table.source, option: "--multi-class") }
        if options.average != nil { throw AUCInputError.multiclassOptionsOnBinary(source: table.source, option: "--average") }
        let positive = try positiveIndex(table, options)
        let data = binaryData(table, positive: positive)
        let positives = data.labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        let negatives = data.labels.count - positives
        if positives == 0 || negatives == 0 {
            let present: String
            if positives > 0 { present = table.classNames[positive] }
            else if table.classNames.count == 2 { present = table.classNames[1 - positive] }
            else { present = "not '\(table.classNames[positive])'" }
            throw AUCInputError.singleClass(source: table.source, name: present, rows: data.labels.count)
        }
        var positiveScores: [Double] = [], negativeScores: [Double] = []
        positiveScores.reserveCapacity(positives); negativeScores.reserveCapacity(negatives)
        for (index, isPositive) in data.labels.enumerated() {
            if isPositive { positiveScores.append(data.scores[index]) } else { negativeScores.append(data.scores[index]) }
        }
        let analysis = try ROCAnalysis(positiveScores: positiveScores, negativeScores: negativeScores)
        let method = options.interval ?? .delong
        func interval(_ analysis: ROCAnalysis) throws -> ConfidenceInterval? {
            switch method {
            case .delong: try analysis.deLongInterval(level: options.level)
            case .bootstrap: analysis.bootstrapInterval(level: options.level, replicates: options.replicates, seed: options.seed)
            case .none: nil
            }
        }
        var sizes = [Int](repeating: 0, count: table.classNames.count)
        for label in table.labels where label >= 0 { sizes[Int(label)] += 1 }
        var report = AUCReport(
            source: table.source, rowCount: data.labels.count, skippedRows: table.unlabelledCount,
            classNames: table.classNames, classSizes: sizes,
            positiveClass: table.classNames[positive], positives: positives, negatives: negatives,
            areaUnderCurve: analysis.areaUnderCurve, interval: try interval(analysis),
            multiclass: nil, perClassIntervals: nil, comparison: nil, comparedSource: nil, comparedInterval: nil,
            curves: [])
        if options.precisionRecall || options.wantsPrecisionRecallCurves {
            let value = analysis.averagePrecision
            var summary = PrecisionRecallSummary(averagePrecision: value)
            if method != .none {
                let values = analysis.bootstrapReplicates(replicates: options.replicates, seed: options.seed) { tally, _ in
                    ROCAnalysis.averagePrecision(tally: tally)
                }
                summary.interval = Bootstrap.interval(replicateValues: values, level: options.level, replicates: options.replicates, seed: options.seed)
            }
            if options.wantsPrecisionRecallCurves {
                summary.curves = [NamedPRCurve(name: table.classNames[positive], curve: analysis.precisionRecallCurve(), averagePrecision: value,
                                               prevalence: Double(positives) / Double(positives + negatives))]
            }
            report.precisionRecall = summary
        }
        // pROC's partial AUC, operating points and their intervals are bootstrap only.
        let replicates: Int? = method == .none ? nil : options.replicates
        if let range = options.partial {
            report.partialAUC = analysis.partialAUC(range, level: options.level, replicates: replicates, seed: options.seed)
        }
        report.operatingPoints = options.operatingPoints.map {
            analysis.operatingPoint($0.input, at: $0.value, level: options.level, replicates: replicates, seed: options.seed)
        }
        if let best = options.bestThreshold {
            report.bestThresholdMethod = best
            report.bestThresholds = analysis.bestThresholds(best)
        }
        var manyCurves: [NamedCurve] = []
        if !many.isEmpty {
            var scores = [data.scores]
            for model in many {
                scores.append(try matchedScores(table, data.rows, model, positiveName: table.classNames[positive]))
            }
            report.comparisons = try ModelComparisons.compare(sources: [table.source] + many.map(\.source), scores: scores,
                                                              labels: data.labels, level: options.level)
            if options.wantsCurves {
                for (index, model) in many.enumerated() {
                    let modelAnalysis = try ROCAnalysis(scores: scores[index + 1], labels: data.labels)
                    manyCurves.append(NamedCurve(name: fileName(model.source), curve: modelAnalysis.curve(),
                                                 areaUnderCurve: modelAnalysis.areaUnderCurve, interval: try interval(modelAnalysis)))
                }
            }
        }
        var otherAnalysis: ROCAnalysis?
        if let other {
            let otherScores = try matchedScores(table, data.rows, other, positiveName: table.classNames[positive])
            report.comparison = try DeLong.pairedTest(scores: data.scores, otherScores, labels: data.labels)
            report.comparisonInterval = report.comparison?.differenceInterval(level: options.level)
            report.comparedSource = other.source
            let second = try ROCAnalysis(scores: otherScores, labels: data.labels)
            report.comparedInterval = try interval(second)
            otherAnalysis = second
        }
        if options.wantsCurves {
            report.curves.append(NamedCurve(name: other == nil && many.isEmpty ? table.classNames[positive] : fileName(table.source),
                                            curve: analysis.curve(), areaUnderCurve: analysis.areaUnderCurve,
                                            interval: report.interval))
            if let otherAnalysis, let other {
                report.curves.append(NamedCurve(name: fileName(other.source), curve: otherAnalysis.curve(),
                                                areaUnderCurve: otherAnalysis.areaUnderCurve, interval: report.comparedInterval))
            }
            report.curves += manyCurves
        }
        return report
    }

    /// The second table's positive-class scores for the first table's labelled rows, matched by
    /// id (graft predict tables) or by position (label/score tables).
    private static func matchedScores(_ table: ScoreTable, _ rows: [Int], _ other: ScoreTable, positiveName: String) throws -> [Double] {
        guard table.layout == other.layout else {
            throw AUCInputError.compareLayouts(first: table.source, second: other.source)
        }
        if table.layout == .labelAndScore {
            guard table.rowCount == other.rowCount else {
                throw AUCInputError.compareRowCount(first: table.source, firstRows: table.rowCount, second: other.source, secondRows: other.rowCount)
            }
            var scores: [Double] = []
            scores.reserveCapacity(rows.count)
            for row in 0..<table.rowCount {
                let first = table.labels[row] >= 0 ? table.classNames[Int(table.labels[row])] : ""
                let second = other.labels[row] >= 0 ? other.classNames[Int(other.labels[row])] : ""
                guard first == second else {
                    throw AUCInputError.compareLabel(first: table.source, second: other.source, row: "row \(row + 1) ('\(table.source)' line \(table.lineNumber(ofRow: row)))")
                }
            }
            for row in rows { scores.append(other.scores[row]) }
            return scores
        }
        guard Set(table.classNames) == Set(other.classNames) else {
            throw AUCInputError.compareClasses(first: table.source, second: other.source)
        }
        let otherColumn = other.classNames.firstIndex(of: positiveName)!
        var otherRowOfID: [String: Int] = [:]
        otherRowOfID.reserveCapacity(other.rowCount)
        for row in 0..<other.rowCount {
            let id = other.id(ofRow: row)!
            guard otherRowOfID.updateValue(row, forKey: id) == nil else { throw AUCInputError.duplicateID(source: other.source, id: id) }
        }
        var seen = Set<String>()
        seen.reserveCapacity(table.rowCount)
        var otherRowOfRow = [Int](repeating: -1, count: table.rowCount)
        for row in 0..<table.rowCount {
            let id = table.id(ofRow: row)!
            guard seen.insert(id).inserted else { throw AUCInputError.duplicateID(source: table.source, id: id) }
            guard let match = otherRowOfID[id] else {
                throw AUCInputError.missingID(id: id, presentIn: table.source, absentFrom: other.source)
            }
            let first = table.labels[row] >= 0 ? table.classNames[Int(table.labels[row])] : ""
            let second = other.labels[match] >= 0 ? other.classNames[Int(other.labels[match])] : ""
            guard first == second else {
                throw AUCInputError.compareLabel(first: table.source, second: other.source, row: "id '\(id)'")
            }
            otherRowOfRow[row] = match
        }
        if other.rowCount != table.rowCount {
            for row in 0..<other.rowCount where !seen.contains(other.id(ofRow: row)!) {
                throw AUCInputError.missingID(id: other.id(ofRow: row)!, presentIn: other.source, absentFrom: table.source)
            }
        }
        let k = other.columnCount
        return rows.map { other.scores[otherRowOfRow[$0] * k + otherColumn] }
    }

    private static func evaluateMulticlass(_ table: ScoreTable, _ options: AUCOptions) throws -> AUCReport {
        let mode = options.mode ?? .oneVsRest
        let average = options.average ?? .macro
        let method = options.interval ?? (average == .none ? AUCOptions.IntervalMethod.none : .bootstrap)
        if method == .delong { throw AUCInputError.deLongNeedsBinary }
        let k = table.classNames.count
        var labels: [Int] = [], probabilities: [Double] = [], rows: [Int] = []
        let labelled = table.rowCount - table.unlabelledCount
        labels.reserveCapacity(labelled); probabilities.reserveCapacity(labelled * k); rows.reserveCapacity(labelled)
        for row in 0..<table.rowCount where table.labels[row] >= 0 {
            labels.append(Int(table.labels[row]))
            rows.append(row)
            probabilities.append(contentsOf: table.scores[(row * k)..<(row * k + k)])
        }
        let analysis = try MulticlassAnalysis(probabilities: probabilities, labels: labels, classCount: k,
                                              mode: mode, average: average, classNames: table.classNames,
                                              rowName: { table.rowDescription(rows[$0]) })
        var interval: ConfidenceInterval?
        var perClass: [ConfidenceInterval]?
        if method == .bootstrap {
            (interval, perClass) = analysis.bootstrapIntervals(level: options.level, replicates: options.replicates, seed: options.seed)
        }
        var report = AUCReport(
            source: table.source, rowCount: labels.count, skippedRows: table.unlabelledCount,
            classNames: table.classNames, classSizes: analysis.classSizes,
            positiveClass: nil, positives: nil, negatives: nil,
            areaUnderCurve: analysis.result.areaUnderCurve, interval: interval,
            multiclass: analysis.result, perClassIntervals: perClass,
            comparison: nil, comparedSource: nil, comparedInterval: nil, curves: [])
        /// Class `column` against the rest, on its probability column.
        func oneVersusRest(_ column: Int) throws -> ROCAnalysis {
            var positiveScores: [Double] = [], negativeScores: [Double] = []
            for (index, label) in labels.enumerated() {
                let score = probabilities[index * k + column]
                if label == column { positiveScores.append(score) } else { negativeScores.append(score) }
            }
            return try ROCAnalysis(positiveScores: positiveScores, negativeScores: negativeScores)
        }
        if options.precisionRecall || options.wantsPrecisionRecallCurves {
            guard mode == .oneVsRest else { throw AUCInputError.precisionRecallNeedsOneVsRest }
            let (value, perClassValues) = try analysis.averagePrecision()
            var summary = PrecisionRecallSummary(averagePrecision: value, perClass: perClassValues)
            if method == .bootstrap {
                (summary.interval, summary.perClassIntervals) = analysis.bootstrapIntervals(
                    level: options.level, replicates: options.replicates, seed: options.seed, statistic: .averagePrecision)
            }
            if options.wantsPrecisionRecallCurves {
                for column in 0..<k {
                    let binary = try oneVersusRest(column)
                    summary.curves.append(NamedPRCurve(name: table.classNames[column], curve: binary.precisionRecallCurve(),
                                                       averagePrecision: perClassValues[column],
                                                       prevalence: Double(binary.positiveCount) / Double(labels.count)))
                }
            }
            report.precisionRecall = summary
        }
        if options.wantsCurves {
            for column in 0..<k {
                let binary = try oneVersusRest(column)
                report.curves.append(NamedCurve(name: table.classNames[column], curve: binary.curve(),
                                                areaUnderCurve: binary.areaUnderCurve, interval: perClass?[column]))
            }
        }
        return report
    }
}
