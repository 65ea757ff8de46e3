#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GraftSupport
/// What `graft report` computes from `graft predict`'s table: scikit-learn's classification
/// metrics, each as the named scikit-learn 1.9 function computes it with `labels` = the table's
/// class columns in order.
///
/// - The predicted class of a row is its first column of highest probability (NumPy's `argmax`,
///   which is what scikit-learn's `predict` returns for a probabilistic classifier).
/// - `accuracy_score`, `balanced_accuracy_score` (the mean recall of the classes that have rows),
///   `confusion_matrix` (rows: true class, columns: predicted class).
/// - `top_k_accuracy_score` for tables of three or more classes. Its ranking sorts each row with
///   a stable ascending sort and reverses it, so of two tied scores the later column ranks
///   first; a k at or above the class count gives 1 (scikit-learn warns that it is meaningless).
///   For two classes scikit-learn's function takes one score column and is plain accuracy, so it
///   is not repeated.
/// - `log_loss`: −log of the true class's probability, clipped to [ε, 1 − ε] (ε = 2⁻⁵²), averaged.
///   Since scikit-learn 1.5 rows are not rescaled to sum to 1 (a warning only); neither does graft.
/// - `brier_score_loss`: the mean over rows of Σ_c (p_c − y_c)², halved for two classes
///   (`scale_by_half="auto"`), so it lies in [0, 1] for binary and [0, 2] for multiclass tables.
/// - `precision_recall_fscore_support` / `classification_report`: per class, with macro and
///   support-weighted averages; F1 = 2·tp / (2·tp + fp + fn). A 0/0 (a class never predicted,
///   or without rows) takes the `zeroDivision` value, as scikit-learn's `zero_division`; with
///   `.notANumber` the averages skip those classes, as scikit-learn's `_nanaverage` does.
///
/// Sums of per-row terms are compensated (Neumaier), so they are within an ulp or two of the
/// exact sum; NumPy's pairwise sums are within ~1e-16·log₂ n of it, well inside 1e-12.
public struct ClassificationReport: Sendable {
    /// The value a 0/0 precision, recall or F1 takes (scikit-learn's `zero_division`).
    public enum ZeroDivision: String, Sendable, CaseIterable {
        /// 0, scikit-learn's default ("warn" acts as 0).
        case zero = "0"
        case one = "1"
        /// NaN, left out of the averages.
        case notANumber = "nan"

        var value: Double {
            switch self {
            case .zero: 0
            case .one: 1
            case .notANumber: .nan
            }
        }
    }

    /// Precision, recall, F1 and support of one class, or an average of them.
    public struct Scores: Sendable, Equatable {
        public var precision: Double
        public var recall: Double
        public var f1: Double
        /// Rows whose true class this is (for an average, all labelled rows).
        public var support: Int
    }

    public var source: String
    public var classNames: [String]
    /// Labelled rows used.
    public var rowCount: Int
    /// Unlabelled rows skipped.
    public var skippedRows: Int
    public var accuracy: Double
    public var balancedAccuracy: Double
    /// (k, top-k accuracy) for each requested k; empty for two classes.
    public var topK: [(k: Int, accuracy: Double)]
    public var logLoss: Double
    public var brierScore: Double
    public var zeroDivision: ZeroDivision
    public var perClass: [Scores]
    public var macroAverage: Scores
    public var weightedAverage: Scores
    /// Row-major k × k counts: `confusion[t·k + p]` rows of true class t predicted as p; nil
    /// above `maximumMatrixClasses` classes (the per-class figures need only O(k) counts, and a
    /// header must not make graft allocate k² of anything).
    public var confusion: [Int]?
    /// Rows whose probabilities are off from summing to 1 by more than 1e-4. (scikit-learn warns
    /// at 1e-8 + √ε·|sum|, which float32 probabilities such as `graft predict`'s miss by rounding
    /// alone; 1e-4 flags only rows that are not probabilities.)
    public var rowsNotSummingToOne: Int

    /// The most classes whose confusion matrix is kept (4 million cells).
    public static let maximumMatrixClasses = 2048

    /// The default top-k values: 1 and 5.
    public static let defaultTopK = [1, 5]

    /// Computes the report for the labelled rows of a `graft predict` table.
    public static func evaluate(_ table: ScoreTable, topK: [Int] = defaultTopK,
                                zeroDivision: ZeroDivision = .zero) throws -> ClassificationReport {
        guard table.layout == .predictions else { throw ReportInputError.needsPredictions(source: table.source) }
        let k = table.classNames.count
        let labelled = table.rowCount - table.unlabelledCount
        guard labelled > 0 else { throw ReportInputError.noLabelledRows(source: table.source, rows: table.rowCount) }
        if let bad = topK.first(where: { $0 < 1 }) { throw ReportInputError.badTopK(bad) }

        let keepsMatrix = k <= maximumMatrixClasses
        var confusion = [Int](repeating: 0, count: keepsMatrix ? k * k : 0)
        var truePositiveCounts = [Int](repeating: 0, count: k), predictedCounts = [Int](repeating: 0, count: k),
            supports = [Int](repeating: 0, count: k)
        var topKHits = [Int](repeating: 0, count: topK.count)
        var logLossSum = CompensatedSum(), brierSum = CompensatedSum()
        var notSummingToOne = 0
        let epsilon = Double.ulpOfOne
        try table.scores.withUnsafeBufferPointer { scores in
            try table.labels.withUnsafeBufferPointer { labels in
                try confusion.withUnsafeMutableBufferPointer { counts in
                    for row in 0..<labels.count where labels[row] >= 0 {
                        let truth = Int(labels[row])
                        let base = row * k
                        var predicted = 0, best = scores[base]
                        var sum = 0.0, squares = 0.0
                        var ahead = 0  // classes ranked before the true one by top_k_accuracy_score
                        let trueScore = scores[base + truth]
                        for column in 0..<k {
                            let p = scores[base + column]
                            guard p >= 0, p <= 1 else {
                                throw ReportInputError.notAProbability(row: table.rowDescription(row), column: table.classNames[column], value: p)
                            }
                            if p > best { best = p; predicted = column }
                            sum += p
                            let difference = p - (column == truth ? 1 : 0)
                            squares += difference * difference
                            if p > trueScore || (p == trueScore && column > truth) { ahead += 1 }
                        }
                        if !(abs(sum - 1) <= 1e-4) { notSummingToOne += 1 }
                        if keepsMatrix { counts[truth * k + predicted] += 1 }
                        supports[truth] += 1
                        predictedCounts[predicted] += 1
                        if predicted == truth { truePositiveCounts[truth] += 1 }
                        logLossSum.add(-log(min(max(trueScore, epsilon), 1 - epsilon)))
                        brierSum.add(squares)
                        for (index, cutoff) in topK.enumerated() where ahead < cutoff { topKHits[index] += 1 }
                    }
                }
            }
        }
        let n = Double(labelled)
        let correct = truePositiveCounts.reduce(0, +)

        let fallback = zeroDivision.value
        func divide(_ numerator: Int, _ denominator: Int) -> Double {
            denominator == 0 ? fallback : Double(numerator) / Double(denominator)
        }
        var perClass: [Scores] = []
        var recallSum = 0.0, classesWithRows = 0
        for column in 0..<k {
            let support = supports[column], predictedCount = predictedCounts[column]
            let truePositives = truePositiveCounts[column]
            perClass.append(Scores(precision: divide(truePositives, predictedCount), recall: divide(truePositives, support),
                                   f1: divide(2 * truePositives, support + predictedCount), support: support))
            if support > 0 {
                recallSum += Double(truePositives) / Double(support)
                classesWithRows += 1
            }
        }
        let top = topK.enumerated().map { index, cutoff in
            (k: cutoff, accuracy: cutoff >= k ? 1.0 : Double(topKHits[index]) / n)
        }
        return ClassificationReport(
            source: table.source, classNames: table.classNames, rowCount: labelled, skippedRows: table.unlabelledCount,
            accuracy: Double(correct) / n, balancedAccuracy: recallSum / Double(classesWithRows),
            topK: k >= 3 ? top : [],
            logLoss: logLossSum.total / n, brierScore: brierSum.total / n * (k < 3 ? 0.5 : 1),
            zeroDivision: zeroDivision, perClass: perClass,
            macroAverage: average(perClass, weighted: false, total: labelled),
            weightedAverage: average(perClass, weighted: true, total: labelled),
            confusion: keepsMatrix ? confusion : nil, rowsNotSummingToOne: notSummingToOne)
    }

    /// scikit-learn's `_nanaverage`: the (weighted) mean of the values that are not NaN; NaN when
    /// all are.
    private static func average(_ scores: [Scores], weighted: Bool, total: Int) -> Scores {
        func mean(_ value: KeyPath<Scores, Double>) -> Double {
            var sum = 0.0, weights = 0.0
            for entry in scores where !entry[keyPath: value].isNaN {
                let weight = weighted ? Double(entry.support) : 1
                sum += weight * entry[keyPath: value]
                weights += weight
            }
            return weights > 0 ? sum / weights : .nan
        }
        return Scores(precision: mean(\.precision), recall: mean(\.recall), f1: mean(\.f1), support: total)
    }
}

/// Neumaier's compensated sum: the rounding error of each addition is carried separately.
struct CompensatedSum {
    private var sum = 0.0, compensation = 0.0

    mutating func add(_ value: Double) {
        let next = sum + value
        if abs(sum) >= abs(value) { compensation += (sum - next) + value } else { compensation += (value - next) + sum }
        sum = next
    }

    var total: Double { sum + compensation }
}

/// Why `graft report` cannot use a table.
public enum ReportInputError: GraftError, Equatable {
    case needsPredictions(source: String)
    case noLabelledRows(source: String, rows: Int)
    case notAProbability(row: String, column: String, value: Double)
    case badTopK(Int)
    case tooManyClassesForMatrix(source: String, classes: Int, limit: Int, option: String)

    public var exitStatus: ExitStatus {
        switch self {
        case .badTopK: .usage
        case .tooManyClassesForMatrix: .usage
        default: .dataError
        }
    }

    public var description: String {
        switch self {
        case let .needsPredictions(source):
            "'\(source)' is a label/score table; graft report needs graft predict's table (header id<TAB>label<TAB><class 1>…) with one probability per class"
        case let .noLabelledRows(source, rows):
            "'\(source)' has no labelled rows (\(rows) unlabelled); the report needs each row's true class in the label column"
        case let .notAProbability(row, column, value):
            "\(row): score \(value) for \(quoted(column)) is not a probability in [0, 1]; log loss and the Brier score need probabilities"
        case let .tooManyClassesForMatrix(source, classes, limit, option):
            "'\(source)' has \(classes) classes; \(option) draws or writes the confusion matrix for at most \(limit)"
        case let .badTopK(value):
            "--top-k \(value) must be at least 1"
        }
    }
}
