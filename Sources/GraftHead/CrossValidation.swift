import Foundation
internal import GraftNumerics
/// What a fold's held-out rows are scored with; the candidate with the highest mean score wins.
public enum CrossValidationScoring: String, Sendable, CaseIterable {
    /// The fraction of rows whose most probable class is their class (scikit-learn's default
    /// scorer for LogisticRegressionCV).
    case accuracy
    /// Minus the mean log loss of the rows' classes (`neg_log_loss`).
    case negativeLogLoss = "neg_log_loss"
    /// The ROC AUC of the second class's score (binary, `roc_auc`); with more classes, the macro
    /// average of the one-vs-rest AUCs (scikit-learn's `roc_auc_ovr`, as its `roc_auc` scorer
    /// refuses multiclass targets).
    case rocAUC = "roc_auc"
}

/// How `graft train --cv` chooses a head's regularisation (logistic) or size (MLP).
public struct CrossValidationOptions: Sendable {
    /// K, the number of folds.
    public var folds: Int
    /// The values of C to try for logistic regression, in the order given (warm-started along
    /// it, as scikit-learn does).
    public var inverseRegularizations: [Double]
    /// The MLP grid: every hidden size with every dropout rate.
    public var hiddenUnits: [Int]
    public var dropouts: [Double]
    public var scoring: CrossValidationScoring
    /// One group per labelled row (in row order), or nil for `StratifiedKFold` folds.
    public var groups: [String]?
    /// With groups: `StratifiedGroupKFold` (true) or `GroupKFold` (false).
    public var stratifiesGroups: Bool

    public init(folds: Int, inverseRegularizations: [Double] = CrossValidationOptions.logarithmicGrid(count: 10),
                hiddenUnits: [Int] = [256], dropouts: [Double] = [0.5], scoring: CrossValidationScoring = .accuracy,
                groups: [String]? = nil, stratifiesGroups: Bool = true) {
        self.folds = folds
        self.inverseRegularizations = inverseRegularizations
        self.hiddenUnits = hiddenUnits
        self.dropouts = dropouts
        self.scoring = scoring
        self.groups = groups
        self.stratifiesGroups = stratifiesGroups
    }

    /// `np.logspace(-4, 4, count)`: 10^(−4 + 8·i/(count − 1)), the last exactly 10^4.
    public static func logarithmicGrid(count: Int) -> [Double] {
        guard count > 1 else { return [pow(10, -4)] }
        let step = 8.0 / Double(count - 1)
        return (0..<count).map { $0 == count - 1 ? pow(10, 4) : pow(10, Double($0) * step - 4) }
    }
}

/// The scores cross-validation gave each candidate, and the one it chose.
public struct CrossValidationResult: Sendable {
    /// Each candidate's settings, e.g. `["C": 0.01]` or `["hidden": 128, "dropout": 0.5]`.
    public var candidates: [[String: Double]]
    /// `scores[fold][candidate]`.
    public var scores: [[Double]]
    /// The mean over folds of each candidate's score.
    public var meanScores: [Double]
    /// The first candidate with the highest mean score.
    public var bestIndex: Int
    /// `StratifiedKFold`, `GroupKFold` or `StratifiedGroupKFold`.
    public var splitter: String
    public var scoring: CrossValidationScoring
    /// The number of held-out rows of each fold.
    public var foldSizes: [Int]
}

extension HeadTrainer {
    /// Every row's test fold, as the options ask.
    static func assignFolds(_ rows: LabelledFeatures, _ cv: CrossValidationOptions) throws(HeadError) -> (folds: [Int], splitter: String) {
        guard let groups = cv.groups else {
            return (try CrossValidationFolds.stratified(labels: rows.labels, folds: cv.folds, cache: rows.source), "StratifiedKFold")
        }
        if cv.stratifiesGroups {
            return (try CrossValidationFolds.stratifiedGrouped(labels: rows.labels, groups: groups, folds: cv.folds, cache: rows.source),
                    "StratifiedGroupKFold")
        }
        return (try CrossValidationFolds.grouped(groups: groups, folds: cv.folds, cache: rows.source), "GroupKFold")
    }

    /// Cross-validates on standardised `rows` and refits the best candidate on all of them.
    ///
    /// Logistic regression follows scikit-learn's `LogisticRegressionCV`: on each fold, the Cs are
    /// fitted in order, each starting from the previous solution; the refit starts from the mean
    /// of the folds' solutions at the chosen C. The MLP trains each grid point on each fold with
    /// early stopping on a stratified tenth of the fold's training rows (seeded), and is refitted
    /// with the caller's validation rows.
    static func crossValidate(_ rows: LabelledFeatures, validation: LabelledFeatures?, rowWeights: [Double],
                              options: HeadTrainingOptions, cv: CrossValidationOptions,
                              progress: (TrainingProgress) -> Void) throws -> (layers: [DenseLayer], report: TrainingReport, result: CrossValidationResult) {
        let (folds, splitter) = try assignFolds(rows, cv)
        var candidates: [[String: Double]] = []
        switch options.kind {
        case .logistic: candidates = cv.inverseRegularizations.map { ["C": $0] }
        case .mlp:
            for hidden in cv.hiddenUnits { for dropout in cv.dropouts { candidates.append(["hidden": Double(hidden), "dropout": dropout]) } }
        }
        var scores = [[Double]](repeating: [Double](repeating: 0, count: candidates.count), count: cv.folds)
        var foldSizes = [Int](repeating: 0, count: cv.folds)
        let parameterCount = (rows.classes.count == 2 ? 1 : rows.classes.count) * (rows.dimension + 1)
        var solutionSums = [[Double]](repeating: [Double](repeating: 0, count: parameterCount), count: candidates.count)
        for fold in 0..<cv.folds {
            let trainingIndices = folds.indices.filter { folds[$0] != fold }
            let testIndices = folds.indices.filter { folds[$0] == fold }
            foldSizes[fold] = testIndices.count
            let training = rows.rows(trainingIndices), test = rows.rows(testIndices)
            let foldWeights = trainingIndices.map { rowWeights[$0] }
            switch options.kind {
            case .logistic:
                var start = [Double](repeating: 0, count: parameterCount)
                for (index, candidate) in candidates.enumerated() {
                    var settings = options
                    settings.inverseRegularization = candidate["C"]!
                    let fitted = trainLogistic(training, validation: nil, rowWeights: foldWeights, options: settings,
                                               initialParameters: start) { _ in }
                    start = fitted.parameters
                    for i in 0..<parameterCount { solutionSums[index][i] += fitted.parameters[i] }
                    scores[fold][index] = score(fitted.layers, on: test, cv.scoring, threads: options.threadCount)
                }
            case .mlp:
                let split = try training.stratifiedSplit(fraction: 0.1, seed: options.seed)
                let splitWeights = HeadTrainer.weights(of: split.training, weighting: options.classWeighting)
                for (index, candidate) in candidates.enumerated() {
                    var settings = options
                    settings.hiddenUnits = Int(candidate["hidden"]!)
                    settings.dropout = candidate["dropout"]!
                    let fitted = trainPerceptron(split.training, validation: split.validation, rowWeights: splitWeights,
                                                 options: settings) { _ in }
                    scores[fold][index] = score(fitted.layers, on: test, cv.scoring, threads: options.threadCount)
                }
            }
        }
        let means = (0..<candidates.count).map { index in (0..<cv.folds).reduce(0.0) { $0 + scores[$1][index] } / Double(cv.folds) }
        var best = 0
        for index in means.indices where means[index] > means[best] { best = index }
        let result = CrossValidationResult(candidates: candidates, scores: scores, meanScores: means, bestIndex: best,
                                           splitter: splitter, scoring: cv.scoring, foldSizes: foldSizes)
        var settings = options
        switch options.kind {
        case .logistic:
            settings.inverseRegularization = candidates[best]["C"]!
            let start = solutionSums[best].map { $0 / Double(cv.folds) }
            let fitted = trainLogistic(rows, validation: validation, rowWeights: rowWeights, options: settings,
                                       initialParameters: start, progress: progress)
            return (fitted.layers, fitted.report, result)
        case .mlp:
            settings.hiddenUnits = Int(candidates[best]["hidden"]!)
            settings.dropout = candidates[best]["dropout"]!
            let fitted = trainPerceptron(rows, validation: validation, rowWeights: rowWeights, options: settings, progress: progress)
            return (fitted.layers, fitted.report, result)
        }
    }

    /// The score of the head `layers` (+ softmax) on standardised `rows`.
    static func score(_ layers: [DenseLayer], on rows: LabelledFeatures, _ scoring: CrossValidationScoring, threads: Int) -> Double {
        var logits = rows.features
        for layer in layers { logits = denseForward(layer, logits, rowCount: rows.rowCount, threads: threads) }
        let k = rows.classes.count, n = rows.rowCount
        guard n > 0 else { return 0 }
        switch scoring {
        case .accuracy:
            var correct = 0
            for row in 0..<n {
                var best = 0
                for j in 1..<k where logits[row * k + j] > logits[row * k + best] { best = j }
                if best == Int(rows.labels[row]) { correct += 1 }
            }
            return Double(correct) / Double(n)
        case .negativeLogLoss:
            var loss = 0.0
            for row in 0..<n {
                let start = row * k
                var largest = -Double.infinity
                for j in 0..<k { largest = max(largest, Double(logits[start + j])) }
                var sum = 0.0
                for j in 0..<k { sum += exp(Double(logits[start + j]) - largest) }
                loss += largest + log(sum) - Double(logits[start + Int(rows.labels[row])])
            }
            return -loss / Double(n)
        case .rocAUC:
            if k == 2 {
                let margin = (0..<n).map { Double(logits[$0 * 2 + 1]) - Double(logits[$0 * 2]) }
                return areaUnderCurve(margin, positive: rows.labels.map { $0 == 1 })
            }
            // Softmax probabilities, one class against the rest, averaged over classes present.
            var probabilities = logits
            probabilities.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rowCount: n, columns: k) }
            var sum = 0.0, counted = 0
            for j in 0..<k {
                let positive = rows.labels.map { Int($0) == j }
                guard positive.contains(true), positive.contains(false) else { continue }
                sum += areaUnderCurve((0..<n).map { Double(probabilities[$0 * k + j]) }, positive: positive)
                counted += 1
            }
            return counted > 0 ? sum / Double(counted) : 0
        }
    }

    /// The Mann–Whitney ROC AUC of `scores` for the rows where `positive` is true, ties counting
    /// one half.
    static func areaUnderCurve(_ scores: [Double], positive: [Bool]) -> Double {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0, start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count, scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let midrank = Double(start + end) / 2 + 1
            for position in start...end where positive[order[position]] { rankSum += midrank }
            start = end + 1
        }
        let positives = Double(positive.filter { $0 }.count), negatives = Double(positive.count) - positives
        guard positives > 0, negatives > 0 else { return 0.5 }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
    }
}
