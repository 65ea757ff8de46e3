public import GraftSupport
/// Why a head cannot be trained, read, attached or used for prediction.
///
/// Every case names the file and what to do about it. All are bad or unsupported data (exit
/// status 65).
public enum HeadError: GraftError, Equatable {
    /// The cache has no labelled rows to train on.
    case noLabels(cache: String)
    /// The labelled rows cover fewer than two classes.
    case singleClass(cache: String, className: String?)
    /// A class of the cache has no labelled row in the training set.
    case emptyClasses(cache: String, classes: [String])
    /// A label points outside the cache's class list.
    case labelOutOfRange(cache: String, id: String, label: Int64, classCount: Int)
    /// A feature is NaN or infinite.
    case nonFiniteFeature(cache: String, id: String, column: Int, value: Float)
    /// The validation cache holds features of another layer, model, pooling or class list.
    case validationMismatch(cache: String, training: String, what: String, validation: String, expected: String)
    /// `--val-split` leaves no rows for training or for validation.
    case splitTooSmall(cache: String, fraction: Double, rows: Int)
    /// A `.graft` file is not a head graft wrote (no provenance details it needs).
    case notAHead(path: String, reason: String)
    /// A model cannot be used as the attached or predicting model it is given as.
    case unsuitableModel(path: String, reason: String)
    /// The head was trained on features of another trunk than the one given.
    case trunkMismatch(head: String, trunk: String, expectedSHA256: String, actualSHA256: String)
    /// The trunk has no value the head was trained on.
    case unknownLayer(trunk: String, layer: String)
    /// The trunk's value, reduced as the cache was, does not have the head's input length.
    case dimensionMismatch(trunk: String, layer: String, trunkDimension: Int?, headDimension: Int)
    /// A cache does not hold the features the head reads.
    case cacheMismatch(cache: String, head: String, reason: String)
    /// The rows cannot be cut into `folds` cross-validation folds.
    case foldsTooMany(cache: String, folds: Int, reason: String)
    /// `--groups` does not give a group for a row.
    case missingGroup(cache: String, id: String, source: String)
    /// The `--groups` file has a malformed line, or is neither a file nor a regular expression.
    case badGroupFile(path: String, line: Int, reason: String)

    public var exitStatus: ExitStatus { .dataError }

    public var description: String {
        switch self {
        case let .noLabels(cache):
            "the cache '\(cache)' has no labelled rows; make it from class folders or a 'path label' list to train a head"
        case let .singleClass(cache, className):
            "the cache '\(cache)' has labelled rows of one class only\(className.map { " ('\($0)')" } ?? ""); a head needs at least two classes"
        case let .emptyClasses(cache, classes):
            "the training rows of '\(cache)' have no image of class " + classes.map { "'\($0)'" }.joined(separator: ", ")
                + "; add images of it or drop it from the class list"
        case let .labelOutOfRange(cache, id, label, count):
            "the cache '\(cache)' labels '\(id)' with \(label), but it has only \(count) classes"
        case let .nonFiniteFeature(cache, id, column, value):
            "the cache '\(cache)' has the value \(value) in feature \(column) of '\(id)'; features must be finite numbers"
        case let .validationMismatch(cache, training, what, validation, expected):
            "the validation cache '\(cache)' has \(what) \(validation), but the training cache '\(training)' has \(expected); make both with the same model, layer, pooling and classes"
        case let .splitTooSmall(cache, fraction, rows):
            "--val-split \(fraction) of the \(rows) labelled rows of '\(cache)' leaves no rows for training or validation; choose a fraction between 0 and 1 or pass --val"
        case let .notAHead(path, reason):
            "'\(path)' is not a head made by graft train: \(reason)"
        case let .unsuitableModel(path, reason):
            "'\(path)' cannot be used here: \(reason)"
        case let .trunkMismatch(head, trunk, expected, actual):
            "the head '\(head)' was trained on features of the model with SHA-256 \(expected), but '\(trunk)' has SHA-256 \(actual); attach it to the model its cache was made with"
        case let .unknownLayer(trunk, layer):
            "the model '\(trunk)' has no layer or value '\(layer)', which the head was trained on"
        case let .dimensionMismatch(trunk, layer, trunkDimension, headDimension):
            "layer '\(layer)' of '\(trunk)' gives "
                + (trunkDimension.map { "\($0) features" } ?? "a length that is not fixed")
                + ", but the head reads \(headDimension)"
        case let .cacheMismatch(cache, head, reason):
            "the cache '\(cache)' does not fit the head '\(head)': \(reason)"
        case let .foldsTooMany(cache, folds, reason):
            "the labelled rows of '\(cache)' cannot be cut into \(folds) cross-validation folds: \(reason); lower --cv"
        case let .missingGroup(cache, id, source):
            "--groups \(source) gives no group for '\(quoted(id))' of '\(cache)'"
        case let .badGroupFile(path, line, reason):
            "--groups '\(quoted(path))'\(line > 0 ? " line \(line)" : ""): \(reason)"
        }
    }
}
