/// A ROC curve as pROC holds it: one (sensitivity, specificity) point per threshold, thresholds
/// ascending — from −∞ (sensitivity 1, specificity 0) through one threshold between each pair
/// of adjacent distinct scores to +∞ (sensitivity 0, specificity 1) — with direction "<" (a
/// sample is called positive when its score is above the threshold).
///
/// Sensitivity is TP/P and specificity (N − FP)/N, formed from integer counts as pROC forms
/// them, so equal points compare equal bit for bit (pROC's ties in `coords(…, "best")` depend
/// on it).
struct ROCPoints {
    /// Fills `sensitivities` and `specificities` (each at least groups + 1 long) from a tally of
    /// (positives, negatives) per tie group by ascending score, interleaved, and returns the
    /// number of points. Groups without samples (in a bootstrap replicate) add no point, as
    /// pROC's thresholds come from the resampled scores. Allocation-free.
    static func fill(tally: UnsafeBufferPointer<Int>, sensitivities: UnsafeMutablePointer<Double>,
                     specificities: UnsafeMutablePointer<Double>) -> Int {
        let groups = tally.count / 2
        var positives = 0, negatives = 0
        for group in 0..<groups {
            positives += tally[2 * group]
            negatives += tally[2 * group + 1]
        }
        let p = Double(positives), n = Double(negatives)
        var positivesBelow = 0, negativesBelow = 0, count = 0
        sensitivities[0] = Double(positives) / p
        specificities[0] = 0 / n
        count = 1
        for group in 0..<groups {
            let positivesEqual = tally[2 * group], negativesEqual = tally[2 * group + 1]
            guard positivesEqual + negativesEqual > 0 else { continue }
            positivesBelow += positivesEqual
            negativesBelow += negativesEqual
            sensitivities[count] = Double(positives - positivesBelow) / p
            specificities[count] = Double(negativesBelow) / n
            count += 1
        }
        return count
    }

    /// pROC's thresholds (`roc.utils.thresholds`, direction "<") for the distinct scores
    /// `values` (ascending): −∞, the midpoints (a + b)/2 (a/2 + b/2 where the sum would
    /// overflow), +∞; a midpoint that rounds onto a score is moved to the upper score, so that it
    /// still separates the two.
    static func thresholds(distinctScores values: [Double]) -> [Double] {
        var thresholds: [Double] = [-.infinity]
        thresholds.reserveCapacity(values.count + 1)
        for index in 1..<max(1, values.count) {
            let a = values[index - 1], b = values[index]
            var middle = (a + b) / 2
            if abs(middle) > 1e100 { middle = a / 2 + b / 2 }
            if middle == a { middle = b }
            thresholds.append(middle)
        }
        thresholds.append(.infinity)
        return thresholds
    }
}

extension ROCAnalysis {
    /// The curve's points in pROC's order, with pROC's thresholds.
    func procPoints() -> (sensitivities: [Double], specificities: [Double], thresholds: [Double]) {
        let tally = groupTally()
        let groups = tally.count / 2
        var sensitivities = [Double](repeating: 0, count: groups + 1), specificities = [Double](repeating: 0, count: groups + 1)
        let count = tally.withUnsafeBufferPointer { counts in
            sensitivities.withUnsafeMutableBufferPointer { se in
                specificities.withUnsafeMutableBufferPointer { sp in
                    ROCPoints.fill(tally: counts, sensitivities: se.baseAddress!, specificities: sp.baseAddress!)
                }
            }
        }
        precondition(count == groups + 1)
        var distinct: [Double] = []
        distinct.reserveCapacity(groups)
        Self.forEachTieGroup(positives, negatives) { key, _, _, _ in distinct.append(ScoreKey.value(key)) }
        return (sensitivities, specificities, ROCPoints.thresholds(distinctScores: distinct))
    }
}
