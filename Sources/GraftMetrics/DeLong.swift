/// DeLong's asymptotic variance of the AUC, as pROC computes it, by the O(n log n) algorithm of
/// Sun & Xu (2014): placement values come from one pass over the sorted scores, never from an
/// n₊ × n₋ comparison matrix.
///
/// With placements X (one per positive) and Y (one per negative) and θ the AUC:
/// S = var(X)/n₊ + var(Y)/n₋ (sample variances, divisor n − 1), and the interval is
/// θ ± z·√S with z the normal quantile, clipped to [0, 1] — pROC 1.18's `ci.auc(method =
/// "delong")`. The paired test is pROC's `roc.test(method = "delong", paired = TRUE)`.
public enum DeLong {
    /// DeLong's interval for the AUC of `scores` (labels `true` for positives).
    public static func confidenceInterval(scores: [Double], labels: [Bool], level: Double = 0.95) throws(MetricsError) -> ConfidenceInterval {
        try ROCAnalysis(scores: scores, labels: labels).deLongInterval(level: level)
    }

    /// DeLong's variance of the AUC estimate.
    static func variance(of analysis: ROCAnalysis) throws(MetricsError) -> Double {
        let m = analysis.positiveCount, n = analysis.negativeCount
        guard m >= 2, n >= 2 else { throw .tooFewForDeLong(positives: m, negatives: n) }
        let theta = analysis.areaUnderCurve
        let groups = analysis.placementGroups()
        var positiveSum = 0.0, negativeSum = 0.0
        for group in groups.positive {
            let deviation = group.value - theta
            positiveSum += Double(group.count) * deviation * deviation
        }
        for group in groups.negative {
            let deviation = group.value - theta
            negativeSum += Double(group.count) * deviation * deviation
        }
        let positiveVariance = positiveSum / Double(m - 1)
        let negativeVariance = negativeSum / Double(n - 1)
        return positiveVariance / Double(m) + negativeVariance / Double(n)
    }

    /// Compares two classifiers scored on the same samples (`labels` `true` for positives):
    /// pROC's paired DeLong test, two-sided.
    public static func pairedTest(scores first: [Double], _ second: [Double], labels: [Bool]) throws(MetricsError) -> PairedComparison {
        guard first.count == labels.count else { throw .countMismatch(scores: first.count, labels: labels.count) }
        guard second.count == labels.count else { throw .countMismatch(scores: second.count, labels: labels.count) }
        let firstPlacements = try Placements(scores: first, labels: labels)
        let secondPlacements = try Placements(scores: second, labels: labels)
        let m = firstPlacements.positive.count, n = firstPlacements.negative.count
        guard m >= 2, n >= 2 else { throw .tooFewForDeLong(positives: m, negatives: n) }
        func covariance(_ a: [Double], _ aMean: Double, _ b: [Double], _ bMean: Double) -> Double {
            var sum = 0.0
            for index in a.indices { sum += (a[index] - aMean) * (b[index] - bMean) }
            return sum / Double(a.count - 1)
        }
        let theta1 = firstPlacements.theta, theta2 = secondPlacements.theta
        let x1 = firstPlacements.positive, x2 = secondPlacements.positive
        let y1 = firstPlacements.negative, y2 = secondPlacements.negative
        let s11 = covariance(x1, theta1, x1, theta1) / Double(m) + covariance(y1, theta1, y1, theta1) / Double(n)
        let s22 = covariance(x2, theta2, x2, theta2) / Double(m) + covariance(y2, theta2, y2, theta2) / Double(n)
        let s12 = covariance(x1, theta1, x2, theta2) / Double(m) + covariance(y1, theta1, y2, theta2) / Double(n)
        let s21 = covariance(x2, theta2, x1, theta1) / Double(m) + covariance(y2, theta2, y1, theta1) / Double(n)
        // L·S·Lᵀ with L = (1, −1), summed in pROC's order.
        let spread = ((s11 - s21) - (s12 - s22)).squareRoot()
        let difference = theta1 - theta2
        var z = difference / spread
        if z.isNaN && difference == 0 && spread == 0 { z = 0 }
        let p = 2 * NormalDistribution.cumulative(-abs(z))
        return PairedComparison(firstAUC: firstPlacements.areaUnderCurve, secondAUC: secondPlacements.areaUnderCurve,
                                difference: firstPlacements.areaUnderCurve - secondPlacements.areaUnderCurve,
                                z: z, p: p, standardError: spread)
    }

    /// Per-sample placements in input order, for the paired test.
    struct Placements {
        var positive: [Double]
        var negative: [Double]
        var theta: Double
        var areaUnderCurve: Double

        init(scores: [Double], labels: [Bool]) throws(MetricsError) {
            var positiveScores: [Double] = [], negativeScores: [Double] = []
            for (index, score) in scores.enumerated() {
                guard score.isFinite else { throw .nonFiniteScore(row: index, value: score) }
                if labels[index] { positiveScores.append(score) } else { negativeScores.append(score) }
            }
            guard !positiveScores.isEmpty, !negativeScores.isEmpty else {
                throw .singleClass(present: positiveScores.isEmpty ? "negative" : "positive", rows: scores.count)
            }
            let (positiveKeys, positiveOrigins) = positiveScores.withUnsafeBufferPointer { ScoreKey.sortedKeysWithOrigins($0) }
            let (negativeKeys, negativeOrigins) = negativeScores.withUnsafeBufferPointer { ScoreKey.sortedKeysWithOrigins($0) }
            let m = positiveKeys.count, n = negativeKeys.count
            var positive = [Double](repeating: 0, count: m), negative = [Double](repeating: 0, count: n)
            var negativesBelow = 0, positiveCursor = 0, negativeCursor = 0, numerator = 0
            ROCAnalysis.forEachTieGroup(positiveKeys, negativeKeys) { _, positivesEqual, negativesEqual, positivesBelow in
                let positivePlacement = (Double(negativesBelow) + 0.5 * Double(negativesEqual)) / Double(n)
                for _ in 0..<positivesEqual {
                    positive[Int(positiveOrigins[positiveCursor])] = positivePlacement
                    positiveCursor += 1
                }
                let above = Double(m - positivesBelow - positivesEqual)
                let negativePlacement = (above + 0.5 * Double(positivesEqual)) / Double(m)
                for _ in 0..<negativesEqual {
                    negative[Int(negativeOrigins[negativeCursor])] = negativePlacement
                    negativeCursor += 1
                }
                numerator += positivesEqual * (2 * negativesBelow + negativesEqual)
                negativesBelow += negativesEqual
            }
            self.positive = positive
            self.negative = negative
            areaUnderCurve = Double(numerator) / (2 * Double(m) * Double(n))
            theta = areaUnderCurve
        }
    }
}

/// The result of a paired DeLong test of two classifiers on the same samples.
public struct PairedComparison: Sendable, Equatable {
    public var firstAUC: Double
    public var secondAUC: Double
    /// firstAUC − secondAUC.
    public var difference: Double
    /// The difference divided by its DeLong standard error.
    public var z: Double
    /// The two-sided p-value, 2·Φ(−|z|).
    public var p: Double
    /// DeLong's standard error of the difference.
    public var standardError: Double = .nan

    /// The interval of the AUC difference at `level`, as pROC's paired `roc.test(method =
    /// "delong")` gives it in `conf.int`: d ± z₁₋α/₂·SE, not clipped.
    public func differenceInterval(level: Double = 0.95) -> (lower: Double, upper: Double) {
        let critical = NormalDistribution.quantile(1 - (1 - level) / 2)
        return (difference - critical * standardError, difference + critical * standardError)
    }
}

extension ROCAnalysis {
    /// DeLong's confidence interval at `level` (0 < level < 1), pROC's `ci.auc(method = "delong")`.
    public func deLongInterval(level: Double = 0.95) throws(MetricsError) -> ConfidenceInterval {
        let variance = try DeLong.variance(of: self)
        let spread = variance.squareRoot()
        var lower = areaUnderCurve + spread * NormalDistribution.quantile((1 - level) / 2)
        var upper = areaUnderCurve + spread * NormalDistribution.quantile(1 - (1 - level) / 2)
        lower = min(max(lower, 0), 1)
        upper = min(max(upper, 0), 1)
        return ConfidenceInterval(method: .deLong, level: level, lowerBound: lower, upperBound: upper)
    }
}
