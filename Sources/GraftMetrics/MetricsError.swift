import GraftSupport
/// Why a set of scores cannot be measured.
///
/// Every case is bad input data (exit status 65), except a missing or unreadable file, which
/// reaches the caller as `FileError`.
public enum MetricsError: GraftError, Equatable {
    /// Scores and labels differ in length.
    case countMismatch(scores: Int, labels: Int)
    /// ROC AUC needs both classes; `present` names what was found.
    case singleClass(present: String, rows: Int)
    /// A score is NaN or infinite (scikit-learn refuses both).
    case nonFiniteScore(row: Int, value: Double)
    /// A multiclass label is outside `0..<classCount`.
    case labelOutOfRange(row: Int, label: Int, classCount: Int)
    /// The probability matrix does not have `rows × classCount` entries.
    case probabilityShape(count: Int, rows: Int, classCount: Int)
    /// A class has no samples, so its one-vs-rest or one-vs-one AUC is undefined.
    case classWithoutSamples(className: String)
    /// A row's class probabilities do not sum to 1 (scikit-learn's multiclass precondition).
    case probabilitiesDoNotSumToOne(row: String, sum: Double)
    /// DeLong's variance needs at least two positives and two negatives.
    case tooFewForDeLong(positives: Int, negatives: Int)
    /// The option combination has no defined meaning (e.g. one-vs-one with `none`).
    case unsupportedOptions(String)

    public var exitStatus: ExitStatus { .dataError }

    public var description: String {
        switch self {
        case let .countMismatch(scores, labels):
            "there are \(scores) scores but \(labels) labels; give one label per score"
        case let .singleClass(present, rows):
            "all \(rows) labelled rows are of class \(present); ROC AUC needs both positives and negatives"
        case let .nonFiniteScore(row, value):
            "score \(row + 1) is \(value); scores must be finite numbers"
        case let .labelOutOfRange(row, label, classCount):
            "label \(label) of row \(row + 1) is not a class index below \(classCount)"
        case let .probabilityShape(count, rows, classCount):
            "\(count) probabilities do not fill \(rows) rows of \(classCount) classes"
        case let .classWithoutSamples(className):
            "class '\(className)' has no labelled rows, so its AUC is undefined; drop its column or add rows of it"
        case let .probabilitiesDoNotSumToOne(row, sum):
            "the class probabilities of \(row) sum to \(sum), not 1; multiclass AUC needs probabilities (use --positive CLASS for one class against the rest)"
        case let .tooFewForDeLong(positives, negatives):
            "DeLong's interval needs at least 2 positives and 2 negatives, found \(positives) and \(negatives); use --ci bootstrap or --ci none"
        case let .unsupportedOptions(reason):
            reason
        }
    }
}
