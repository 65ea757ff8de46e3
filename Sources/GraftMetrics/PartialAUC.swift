/// A range of the ROC curve for a partial AUC, as pROC's `partial.auc` and `partial.auc.focus`.
///
/// `--partial fpr:0,0.2` is specificity 0.8 to 1 (the area over false-positive rates 0 to 0.2);
/// `sp:0.8,1` says the same in specificity; `se:0.9,1` (or `tpr:0.9,1`) takes the area over
/// sensitivities 0.9 to 1 (pROC's focus "sensitivity").
public struct PartialAUCRange: Sendable, Equatable {
    public enum Focus: String, Sendable {
        case specificity, sensitivity
    }

    public var focus: Focus
    /// The range in the focus's own terms (specificity or sensitivity), `lower < upper`.
    public var lower: Double
    public var upper: Double
    /// For `fpr:0,m`: m, the `max_fpr` of scikit-learn's standardised partial AUC.
    public var maxFalsePositiveRate: Double?

    public init(focus: Focus, lower: Double, upper: Double) {
        self.focus = focus
        self.lower = lower
        self.upper = upper
        maxFalsePositiveRate = focus == .specificity && upper == 1 ? 1 - lower : nil
    }

    /// Parses `fpr:A,B`, `sp:A,B`, `se:A,B` or `tpr:A,B` (0 ≤ A < B ≤ 1); nil when malformed.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        let bounds = parts[1].split(separator: ",", omittingEmptySubsequences: false).map { Double(String($0)) }
        guard bounds.count == 2, let a = bounds[0], let b = bounds[1], a >= 0, b <= 1, a < b else { return nil }
        switch parts[0].lowercased() {
        case "fpr":
            self.init(focus: .specificity, lower: 1 - b, upper: 1 - a)
            if a == 0 { maxFalsePositiveRate = b }
        case "sp", "specificity":
            self.init(focus: .specificity, lower: a, upper: b)
        case "se", "sensitivity", "tpr":
            self.init(focus: .sensitivity, lower: a, upper: b)
        default:
            return nil
        }
    }

    /// pROC's McClish correction: (1 + (A − min)/(max − min))/2 with min the area under the
    /// diagonal over the range and max its width; NaN below the diagonal (pROC's NA) unless
    /// `allowingInvalid` (as pROC's bootstrap replicates allow it).
    func corrected(_ area: Double, allowingInvalid: Bool = false) -> Double {
        let minimum = ((1 - upper) + (1 - lower)) * abs(lower - upper) / 2
        let maximum = abs(lower - upper)
        if !allowingInvalid && area < minimum { return .nan }
        return (1 + (area - minimum) / (maximum - minimum)) / 2
    }

    /// pROC's `auc.roc` over this range, from points in pROC's order (specificities ascending).
    /// `x` and `y` are scratch space of `count` doubles each. Allocation-free.
    func area(sensitivities: UnsafePointer<Double>, specificities: UnsafePointer<Double>, count: Int,
              x: UnsafeMutablePointer<Double>, y: UnsafeMutablePointer<Double>) -> Double {
        // Focus on sensitivity: swap the axes and reverse, so that x ascends again.
        for index in 0..<count {
            if focus == .specificity {
                x[index] = specificities[index]
                y[index] = sensitivities[index]
            } else {
                x[index] = sensitivities[count - 1 - index]
                y[index] = specificities[count - 1 - index]
            }
        }
        let high = upper, low = lower
        var sum = CompensatedSum()
        var previous = -1, included = 0
        var highIncluded = false, lowIncluded = false
        for index in 0..<count where x[index] <= high && x[index] >= low {
            if previous >= 0 {
                sum.add((y[index] + y[previous]) / 2 * (x[index] - x[previous]))
            }
            if x[index] == high { highIncluded = true }
            if x[index] == low { lowIncluded = true }
            previous = index
            included += 1
        }
        var area = sum.total
        // The first point at or past `high`, and the last point at or before `low`.
        var firstAtOrAbove = 0
        while firstAtOrAbove < count && x[firstAtOrAbove] < high { firstAtOrAbove += 1 }
        if included == 0 {
            // The whole range lies between two points: interpolate at both ends.
            let hi = firstAtOrAbove, lo = hi - 1
            let proportionHigh = (x[hi] - high) / (x[hi] - x[lo])
            let proportionLow = (low - x[lo]) / (x[hi] - x[lo])
            let yHigh = y[hi] + proportionHigh * (y[lo] - y[hi])
            let yLow = y[lo] - proportionLow * (y[lo] - y[hi])
            return (yHigh + yLow) / 2 * (high - low)
        }
        if !highIncluded {
            let outside = firstAtOrAbove, inside = outside - 1
            let proportion = (high - x[outside]) / (x[inside] - x[outside])
            let interpolated = y[outside] + proportion * (y[inside] - y[outside])
            area += (high - x[inside]) * (y[inside] + interpolated) / 2
        }
        if !lowIncluded {
            var firstAbove = 0
            while firstAbove < count && !(x[firstAbove] > low) { firstAbove += 1 }
            let outside = firstAbove - 1, inside = outside + 1
            let proportion = (x[inside] - low) / (x[inside] - x[outside])
            let interpolated = y[inside] + proportion * (y[outside] - y[inside])
            area += (x[inside] - low) * (y[inside] + interpolated) / 2
        }
        return area
    }
}

/// A partial AUC (`graft auc --partial`) and what follows from it.
public struct PartialAUC: Sendable {
    public var range: PartialAUCRange
    /// pROC's `auc(roc, partial.auc = …, partial.auc.focus = …)`.
    public var area: Double
    /// pROC's `partial.auc.correct = TRUE`; NaN (pROC's NA) below the diagonal.
    public var corrected: Double
    /// scikit-learn's `roc_auc_score(max_fpr = m)` for ranges `fpr:0,m`; nil otherwise.
    public var standardized: Double?
    /// pROC's `ci.auc(…, method = "bootstrap")` of the area and of the corrected area, from the
    /// same replicates.
    public var interval: ConfidenceInterval?
    public var correctedInterval: ConfidenceInterval?
}

extension ROCAnalysis {
    /// The partial AUC over `range`, with bootstrap intervals unless `replicates` is nil.
    public func partialAUC(_ range: PartialAUCRange, level: Double = 0.95, replicates: Int? = Bootstrap.defaultReplicates,
                           seed: UInt64 = 0) -> PartialAUC {
        let points = procPoints()
        let count = points.sensitivities.count
        var x = [Double](repeating: 0, count: count), y = [Double](repeating: 0, count: count)
        let area = x.withUnsafeMutableBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                range.area(sensitivities: points.sensitivities, specificities: points.specificities, count: count,
                           x: xs.baseAddress!, y: ys.baseAddress!)
            }
        }
        var result = PartialAUC(range: range, area: area, corrected: range.corrected(area),
                                standardized: range.maxFalsePositiveRate.map { standardizedPartialAUC(maxFalsePositiveRate: $0) })
        if let replicates {
            // Both intervals from the same replicates: the seed fixes every draw.
            let raw = bootstrapReplicates(replicates: replicates, seed: seed) { tally, workspace in
                Self.replicatePartialArea(range, tally: tally, workspace: workspace)
            }
            result.interval = Bootstrap.interval(replicateValues: raw, level: level, replicates: replicates, seed: seed)
            result.correctedInterval = Bootstrap.interval(replicateValues: raw.map { range.corrected($0, allowingInvalid: true) },
                                                          level: level, replicates: replicates, seed: seed)
        }
        return result
    }

    /// One replicate's partial area; the workspace holds the points, then the swapped axes.
    static func replicatePartialArea(_ range: PartialAUCRange, tally: UnsafeBufferPointer<Int>,
                                     workspace: UnsafeMutableBufferPointer<Double>) -> Double {
        let capacity = tally.count / 2 + 1
        precondition(workspace.count >= 4 * capacity)
        let base = workspace.baseAddress!
        let count = ROCPoints.fill(tally: tally, sensitivities: base, specificities: base + capacity)
        return range.area(sensitivities: base, specificities: base + capacity, count: count,
                          x: base + 2 * capacity, y: base + 3 * capacity)
    }

    /// scikit-learn's `roc_auc_score(max_fpr = m)`: the area under the ROC curve for false-positive
    /// rates up to m (the curve cut by linear interpolation at m), McClish-standardised as
    /// ½·(1 + (A − m²/2)/(m − m²/2)); the plain AUC for m = 1.
    public func standardizedPartialAUC(maxFalsePositiveRate m: Double) -> Double {
        let curve = curve()
        var falsePositive = curve.falsePositiveRates, truePositive = curve.truePositiveRates
        if m < 1 {
            // np.searchsorted(fpr, m, "right"): the first rate above m.
            var stop = 0
            while stop < falsePositive.count && falsePositive[stop] <= m { stop += 1 }
            let x0 = falsePositive[stop - 1], x1 = falsePositive[stop]
            let y0 = truePositive[stop - 1], y1 = truePositive[stop]
            // np.interp on two points.
            let slope = (y1 - y0) / (x1 - x0)
            let interpolated = slope * (m - x0) + y0
            falsePositive = Array(falsePositive[..<stop]) + [m]
            truePositive = Array(truePositive[..<stop]) + [interpolated]
        }
        var sum = CompensatedSum()
        for index in 1..<falsePositive.count {
            sum.add((falsePositive[index] - falsePositive[index - 1]) * (truePositive[index] + truePositive[index - 1]) / 2)
        }
        guard m < 1 else { return sum.total }
        let minimum = 0.5 * m * m, maximum = m
        return 0.5 * (1 + (sum.total - minimum) / (maximum - minimum))
    }
}
