/// Average precision and the precision–recall curve of a binary classifier, as scikit-learn's
/// `average_precision_score` and `precision_recall_curve` compute them.
///
/// At each distinct score s, taken as a threshold (a sample is called positive when its score is
/// ≥ s), precision is TP/(TP + FP) and recall TP/P. Average precision is
/// Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the thresholds by descending score: the precision at each threshold
/// weighted by the recall it adds — a step function, not the trapezoidal area, which would be
/// optimistic. Recall differences are formed as scikit-learn forms them (TPₙ/P − TPₙ₋₁/P) and
/// summed with compensation.
extension ROCAnalysis {
    /// scikit-learn's `average_precision_score` for these scores.
    public var averagePrecision: Double {
        groupTally().withUnsafeBufferPointer { Self.averagePrecision(tally: $0) }
    }

    /// Average precision from a tally of (positives, negatives) per tie group by ascending
    /// score, interleaved; NaN without positives. Allocation-free (bootstrap replicates call it).
    static func averagePrecision(tally: UnsafeBufferPointer<Int>) -> Double {
        let groups = tally.count / 2
        var positiveTotal = 0
        for group in 0..<groups { positiveTotal += tally[2 * group] }
        guard positiveTotal > 0 else { return .nan }
        let positives = Double(positiveTotal)
        var truePositives = 0, falsePositives = 0
        var previousRecall = 0.0
        var sum = CompensatedSum()
        for group in stride(from: groups - 1, through: 0, by: -1) {
            let positivesEqual = tally[2 * group], negativesEqual = tally[2 * group + 1]
            truePositives += positivesEqual
            falsePositives += negativesEqual
            guard positivesEqual > 0 else { continue }  // recall unchanged: a zero term
            let recall = Double(truePositives) / positives
            let precision = Double(truePositives) / Double(truePositives + falsePositives)
            sum.add((recall - previousRecall) * precision)
            previousRecall = recall
        }
        return sum.total
    }

    /// The precision–recall curve as scikit-learn's `precision_recall_curve` (with
    /// `drop_intermediate=False`) gives it: one point per distinct score by ascending threshold,
    /// then the point (recall 0, precision 1) with threshold +∞ (scikit-learn gives no
    /// threshold for that last point).
    public func precisionRecallCurve() -> PrecisionRecallCurve {
        var precisions: [Double] = [], recalls: [Double] = [], thresholds: [Double] = []
        let positives = Double(positiveCount)
        var negativesBelow = 0
        Self.forEachTieGroup(self.positives, negatives) { key, _, negativesEqual, positivesBelow in
            let truePositives = positiveCount - positivesBelow
            let falsePositives = negativeCount - negativesBelow
            precisions.append(Double(truePositives) / Double(truePositives + falsePositives))
            recalls.append(Double(truePositives) / positives)
            thresholds.append(ScoreKey.value(key))
            negativesBelow += negativesEqual
        }
        precisions.append(1)
        recalls.append(0)
        thresholds.append(.infinity)
        return PrecisionRecallCurve(precisions: precisions, recalls: recalls, thresholds: thresholds)
    }
}

/// Points of a precision–recall curve by ascending threshold (descending recall).
public struct PrecisionRecallCurve: Sendable, Equatable {
    public var precisions: [Double]
    public var recalls: [Double]
    /// The last is +∞: nothing is called positive there.
    public var thresholds: [Double]
}
