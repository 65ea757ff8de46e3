/// A point of a ROC curve chosen by one of its coordinates: the sensitivity at a given
/// specificity or the specificity at a given sensitivity (`graft auc --at-specificity 0.9`,
/// `--at-sensitivity 0.9`), as pROC's `coords(roc, x, input = …)` gives it, with the bootstrap
/// interval of pROC's `ci.se` / `ci.sp`.
public struct OperatingPoint: Sendable {
    /// Which coordinate is given.
    public enum Input: String, Sendable {
        case specificity, sensitivity
    }

    public var input: Input
    /// The given specificity or sensitivity.
    public var value: Double
    /// The other coordinate there.
    public var estimate: Double
    /// pROC's `ci.se(roc, specificities = value)` or `ci.sp(roc, sensitivities = value)`.
    public var interval: ConfidenceInterval?

    /// pROC's `coords` with a numeric input, on points in pROC's order (specificity ascending,
    /// sensitivity descending). Where several points have the value, the one of highest
    /// sensitivity (for a given specificity) or highest specificity (for a given sensitivity) is
    /// taken; between two points the other coordinate is interpolated linearly. Allocation-free.
    static func coordinate(_ input: Input, at value: Double, sensitivities: UnsafePointer<Double>,
                           specificities: UnsafePointer<Double>, count: Int) -> Double {
        switch input {
        case .specificity:
            // Specificities ascend: the first equal one, else interpolate before the first above.
            for index in 0..<count where specificities[index] == value { return sensitivities[index] }
            var next = 0
            while next < count && !(specificities[next] > value) { next += 1 }
            guard next > 0, next < count else { return .nan }
            let proportion = (value - specificities[next]) / (specificities[next - 1] - specificities[next])
            return sensitivities[next] + proportion * (sensitivities[next - 1] - sensitivities[next])
        case .sensitivity:
            // Sensitivities descend: the last equal one, else interpolate before the first below.
            for index in stride(from: count - 1, through: 0, by: -1) where sensitivities[index] == value {
                return specificities[index]
            }
            var next = 0
            while next < count && !(sensitivities[next] < value) { next += 1 }
            guard next > 0, next < count else { return .nan }
            let proportion = (value - sensitivities[next]) / (sensitivities[next - 1] - sensitivities[next])
            return specificities[next] + proportion * (specificities[next - 1] - specificities[next])
        }
    }
}

/// A threshold chosen by pROC's `coords(roc, "best", best.method = …)`.
public struct BestThreshold: Sendable, Equatable {
    /// pROC's `best.method`.
    public enum Method: String, Sendable, CaseIterable {
        /// Youden's J: the largest sensitivity + specificity.
        case youden
        /// The point closest to (specificity 1, sensitivity 1): the smallest
        /// (1 − sensitivity)² + (1 − specificity)².
        case closestTopLeft = "closest.topleft"
    }

    /// pROC's threshold: a sample above it is called positive. It lies midway between two
    /// adjacent distinct scores (−∞ or +∞ at the ends).
    public var threshold: Double
    public var specificity: Double
    public var sensitivity: Double
}

extension ROCAnalysis {
    /// The sensitivity at `specificity` (or the specificity at `sensitivity`), with pROC's
    /// stratified bootstrap interval unless `replicates` is nil.
    public func operatingPoint(_ input: OperatingPoint.Input, at value: Double, level: Double = 0.95,
                               replicates: Int? = Bootstrap.defaultReplicates, seed: UInt64 = 0) -> OperatingPoint {
        let points = procPoints()
        let estimate = OperatingPoint.coordinate(input, at: value, sensitivities: points.sensitivities,
                                                 specificities: points.specificities, count: points.sensitivities.count)
        var result = OperatingPoint(input: input, value: value, estimate: estimate)
        if let replicates {
            let values = bootstrapReplicates(replicates: replicates, seed: seed) { tally, workspace in
                let capacity = tally.count / 2 + 1
                let base = workspace.baseAddress!
                let count = ROCPoints.fill(tally: tally, sensitivities: base, specificities: base + capacity)
                return OperatingPoint.coordinate(input, at: value, sensitivities: base, specificities: base + capacity, count: count)
            }
            result.interval = Bootstrap.interval(replicateValues: values, level: level, replicates: replicates, seed: seed)
        }
        return result
    }

    /// pROC's `coords(roc, "best", best.method = method)` with the default `best.weights`
    /// (cost 1, prevalence 0.5, so the two coordinates weigh alike): every threshold whose
    /// criterion equals the best exactly, by ascending threshold — pROC returns all ties.
    public func bestThresholds(_ method: BestThreshold.Method) -> [BestThreshold] {
        let points = procPoints()
        let ratio = (1 - 0.5) / (1 * 0.5)
        let criteria = zip(points.sensitivities, points.specificities).map { se, sp -> Double in
            switch method {
            case .youden: se + ratio * sp
            case .closestTopLeft: -((1 - se) * (1 - se) + ratio * ((1 - sp) * (1 - sp)))
            }
        }
        let best = criteria.max()!
        return criteria.indices.filter { criteria[$0] == best }.map {
            BestThreshold(threshold: points.thresholds[$0], specificity: points.specificities[$0], sensitivity: points.sensitivities[$0])
        }
    }
}
