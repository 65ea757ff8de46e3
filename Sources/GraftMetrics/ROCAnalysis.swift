/// The scores of one binary classifier, sorted once, with its ROC AUC and what follows from it.
///
/// The AUC is scikit-learn's `roc_auc_score` for binary labels: the probability that a random
/// positive scores above a random negative, ties counting ½ (the Mann–Whitney statistic, equal
/// to the trapezoidal area under the ROC curve). It is computed in O(n log n) from the two sorted
/// score lists, with the numerator accumulated as an exact integer, so the only rounding is the
/// final division: results agree with scikit-learn to about 1e-16.
///
/// ```swift
/// let analysis = try ROCAnalysis(scores: probabilities, labels: isPositive)
/// analysis.areaUnderCurve                       // 0.825
/// try analysis.deLongInterval(level: 0.95)      // pROC's ci.auc(method = "delong")
/// ```
public struct ROCAnalysis: Sendable {
    /// The number of positive samples (cases, in pROC's words).
    public let positiveCount: Int
    /// The number of negative samples (controls).
    public let negativeCount: Int
    /// The area under the ROC curve.
    public let areaUnderCurve: Double
    /// Sorted score keys of the positives and negatives (see `ScoreKey`).
    let positives: [UInt64]
    let negatives: [UInt64]

    /// Sorts scores whose labels are `true` for positives.
    public init(scores: [Double], labels: [Bool]) throws(MetricsError) {
        guard scores.count == labels.count else {
            throw .countMismatch(scores: scores.count, labels: labels.count)
        }
        var positiveScores: [Double] = [], negativeScores: [Double] = []
        let positiveTotal = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        positiveScores.reserveCapacity(positiveTotal)
        negativeScores.reserveCapacity(labels.count - positiveTotal)
        for (index, score) in scores.enumerated() {
            guard score.isFinite else { throw .nonFiniteScore(row: index, value: score) }
            if labels[index] { positiveScores.append(score) } else { negativeScores.append(score) }
        }
        try self.init(positiveScores: positiveScores, negativeScores: negativeScores)
    }

    /// Sorts the scores of the positives and of the negatives, given apart.
    public init(positiveScores: [Double], negativeScores: [Double]) throws(MetricsError) {
        for (index, score) in positiveScores.enumerated() where !score.isFinite {
            throw .nonFiniteScore(row: index, value: score)
        }
        for (index, score) in negativeScores.enumerated() where !score.isFinite {
            throw .nonFiniteScore(row: index, value: score)
        }
        guard !positiveScores.isEmpty, !negativeScores.isEmpty else {
            throw .singleClass(present: positiveScores.isEmpty ? "negative" : "positive",
                               rows: positiveScores.count + negativeScores.count)
        }
        positives = positiveScores.withUnsafeBufferPointer { ScoreKey.sortedKeys($0) }
        negatives = negativeScores.withUnsafeBufferPointer { ScoreKey.sortedKeys($0) }
        positiveCount = positives.count
        negativeCount = negatives.count
        var numerator = 0
        var negativesBelow = 0
        Self.forEachTieGroup(positives, negatives) { _, positivesEqual, negativesEqual, _ in
            numerator += positivesEqual * (2 * negativesBelow + negativesEqual)
            negativesBelow += negativesEqual
        }
        areaUnderCurve = Double(numerator) / (2 * Double(positiveCount) * Double(negativeCount))
    }

    /// The ROC AUC of `scores` (scikit-learn's `roc_auc_score` with binary labels).
    public static func areaUnderCurve(scores: [Double], labels: [Bool]) throws(MetricsError) -> Double {
        try ROCAnalysis(scores: scores, labels: labels).areaUnderCurve
    }

    /// Calls `body` once per distinct score, ascending, with the score's key, how many positives
    /// and negatives have it, and how many positives scored below it.
    @inline(__always)
    static func forEachTieGroup(
        _ positives: [UInt64], _ negatives: [UInt64],
        _ body: (_ key: UInt64, _ positivesEqual: Int, _ negativesEqual: Int, _ positivesBelow: Int) -> Void
    ) {
        positives.withUnsafeBufferPointer { positive in
            negatives.withUnsafeBufferPointer { negative in
                let m = positive.count, n = negative.count
                var i = 0, j = 0
                while i < m || j < n {
                    let key: UInt64
                    if i < m && j < n { key = min(positive[i], negative[j]) }
                    else if i < m { key = positive[i] }
                    else { key = negative[j] }
                    let positivesBelow = i
                    while i < m && positive[i] == key { i += 1 }
                    let firstNegative = j
                    while j < n && negative[j] == key { j += 1 }
                    body(key, i - positivesBelow, j - firstNegative, positivesBelow)
                }
            }
        }
    }

    /// The ROC curve at every distinct score, as scikit-learn's
    /// `roc_curve(y, s, drop_intermediate=False)` gives it.
    ///
    /// Thresholds descend; a sample is called positive when its score is ≥ the threshold. The
    /// first point is (0, 0) with threshold +∞ (scikit-learn ≥ 1.3; older versions used
    /// max + 1). Rates are exact integer counts divided once, as scikit-learn divides them.
    public func curve() -> ROCCurve {
        var keys: [UInt64] = []
        var positivesBelow: [Int] = [], negativesBelow: [Int] = []
        var negativeRunning = 0
        Self.forEachTieGroup(positives, negatives) { key, _, negativesEqual, below in
            keys.append(key)
            positivesBelow.append(below)
            negativesBelow.append(negativeRunning)
            negativeRunning += negativesEqual
        }
        let groups = keys.count
        var falsePositiveRates = [0.0], truePositiveRates = [0.0], thresholds = [Double.infinity]
        falsePositiveRates.reserveCapacity(groups + 1)
        truePositiveRates.reserveCapacity(groups + 1)
        thresholds.reserveCapacity(groups + 1)
        let m = Double(positiveCount), n = Double(negativeCount)
        for group in stride(from: groups - 1, through: 0, by: -1) {
            thresholds.append(ScoreKey.value(keys[group]))
            truePositiveRates.append(Double(positiveCount - positivesBelow[group]) / m)
            falsePositiveRates.append(Double(negativeCount - negativesBelow[group]) / n)
        }
        return ROCCurve(falsePositiveRates: falsePositiveRates, truePositiveRates: truePositiveRates,
                        thresholds: thresholds)
    }

    /// DeLong's placement values: for each positive, the fraction of negatives it outscores
    /// (ties ½), and for each negative, the fraction of positives that outscore it — one value
    /// per tie group with the group's size, since tied samples share their placement.
    func placementGroups() -> (positive: [(value: Double, count: Int)], negative: [(value: Double, count: Int)]) {
        var positive: [(value: Double, count: Int)] = [], negative: [(value: Double, count: Int)] = []
        let m = Double(positiveCount), n = Double(negativeCount)
        var negativesBelow = 0
        Self.forEachTieGroup(positives, negatives) { _, positivesEqual, negativesEqual, positivesBelow in
            if positivesEqual > 0 {
                positive.append(((Double(negativesBelow) + 0.5 * Double(negativesEqual)) / n, positivesEqual))
            }
            if negativesEqual > 0 {
                let above = Double(positiveCount - positivesBelow - positivesEqual)
                negative.append(((above + 0.5 * Double(positivesEqual)) / m, negativesEqual))
            }
            negativesBelow += negativesEqual
        }
        return (positive, negative)
    }
}

/// Points of a ROC curve in order of descending threshold.
public struct ROCCurve: Sendable, Equatable {
    /// False-positive rate at each threshold (x axis).
    public var falsePositiveRates: [Double]
    /// True-positive rate (sensitivity) at each threshold (y axis).
    public var truePositiveRates: [Double]
    /// The thresholds; the first is +∞, as in scikit-learn.
    public var thresholds: [Double]

    public init(falsePositiveRates: [Double], truePositiveRates: [Double], thresholds: [Double]) {
        self.falsePositiveRates = falsePositiveRates
        self.truePositiveRates = truePositiveRates
        self.thresholds = thresholds
    }
}

/// A two-sided confidence interval for an AUC.
public struct ConfidenceInterval: Sendable, Equatable {
    /// How the interval was computed.
    public enum Method: String, Sendable {
        case deLong = "delong"
        case bootstrap
    }

    public var method: Method
    /// The confidence level, e.g. 0.95.
    public var level: Double
    public var lowerBound: Double
    public var upperBound: Double
    /// Bootstrap replicates (nil for DeLong).
    public var replicates: Int?
    /// The bootstrap seed (nil for DeLong).
    public var seed: UInt64?

    public init(method: Method, level: Double, lowerBound: Double, upperBound: Double,
                replicates: Int? = nil, seed: UInt64? = nil) {
        self.method = method
        self.level = level
        self.lowerBound = lowerBound
        self.upperBound = upperBound
        self.replicates = replicates
        self.seed = seed
    }
}
