internal import GraftNumerics
/// How a multiclass problem is split into binary ones (scikit-learn's `multi_class`).
public enum MulticlassStrategy: String, Sendable, CaseIterable {
    /// One class against all the others, per class.
    case oneVsRest = "ovr"
    /// Hand & Till (2001): every pair of classes on the rows of those two classes.
    case oneVsOne = "ovo"
}

/// How per-class (or per-pair) AUCs are combined (scikit-learn's `average`).
public enum MulticlassAverage: String, Sendable, CaseIterable {
    /// The unweighted mean.
    case macro
    /// Weighted by prevalence: class sizes for one-vs-rest; for one-vs-one, the fraction of all
    /// rows that belong to either class of the pair.
    case weighted
    /// One binary AUC over every (row, class) cell (one-vs-rest only).
    case micro
    /// No average: the per-class AUCs (one-vs-rest only).
    case none
}

/// A multiclass ROC AUC, exactly as scikit-learn's `roc_auc_score(y, P, multi_class=…, average=…)`.
public struct MulticlassAUC: Sendable, Equatable {
    public var strategy: MulticlassStrategy
    public var average: MulticlassAverage
    /// The averaged AUC; nil for `average == .none`.
    public var areaUnderCurve: Double?
    /// One-vs-rest AUC of each class, in class order (also given for one-vs-one, for reference).
    public var perClass: [Double]
    /// Hand & Till's score of each pair (a < b): the mean of the a-vs-b and b-vs-a AUCs (one-vs-one only).
    public var perPair: [PairScore]

    /// One pair's one-vs-one score.
    public struct PairScore: Sendable, Equatable {
        public var first: Int
        public var second: Int
        public var areaUnderCurve: Double
    }
}

extension ROCAnalysis {
    /// scikit-learn's multiclass `roc_auc_score`.
    ///
    /// - Parameters:
    ///   - probabilities: row-major, `labels.count × classCount`; each row must sum to 1 within
    ///     NumPy's `allclose` tolerance (|1 − sum| ≤ 1e-8 + 1e-5·|sum|), as scikit-learn requires.
    ///   - labels: the class index of each row, `0..<classCount`; every class must occur.
    public static func multiclassAUC(probabilities: [Double], labels: [Int], classCount: Int,
                                     mode: MulticlassStrategy, average: MulticlassAverage) throws(MetricsError) -> MulticlassAUC {
        try MulticlassAnalysis(probabilities: probabilities, labels: labels, classCount: classCount,
                               mode: mode, average: average).result
    }
}

/// A multiclass problem prepared once: its AUC, and bootstrap replicates of it.
///
/// Every binary sub-problem (one per class for one-vs-rest, two per pair for one-vs-one, one for
/// micro) has its tie groups fixed by sorting once. Each row knows the tally slot (sub-problem,
/// group, positive or negative) of each of its cells, so evaluating the AUCs for any multiset of
/// rows — all rows once, or a bootstrap draw — is one tally pass plus one walk over the groups,
/// with exact integer numerators.
public struct MulticlassAnalysis: Sendable {
    public let classCount: Int
    public let mode: MulticlassStrategy
    public let average: MulticlassAverage
    /// Rows per class.
    public let classSizes: [Int]
    /// The AUCs of the whole data set.
    public let result: MulticlassAUC

    let rowCount: Int
    let labels: [Int32]
    let slotsPerRow: Int
    let rowSlots: [Int32]
    let problemGroupStarts: [Int]
    let pairs: [(Int, Int)]
    let checksProbabilities: Bool
    let probabilities: [Double]

    /// - Parameters:
    ///   - classNames: for error messages; defaults to the class indices.
    ///   - rowName: names a row in error messages; defaults to "row N" (1-based).
    public init(probabilities: [Double], labels: [Int], classCount: Int,
                mode: MulticlassStrategy, average: MulticlassAverage,
                classNames: [String]? = nil, rowName: ((Int) -> String)? = nil,
                checksProbabilities: Bool = true) throws(MetricsError) {
        let n = labels.count, k = classCount
        guard probabilities.count == n * k else {
            throw .probabilityShape(count: probabilities.count, rows: n, classCount: k)
        }
        if mode == .oneVsOne && (average == .micro || average == .none) {
            throw .unsupportedOptions("one-vs-one AUC averages only as macro or weighted, not \(average.rawValue)")
        }
        var sizes = [Int](repeating: 0, count: k)
        for (row, label) in labels.enumerated() {
            guard label >= 0 && label < k else { throw .labelOutOfRange(row: row, label: label, classCount: k) }
            sizes[label] += 1
        }
        for row in 0..<n {
            var sum = 0.0
            for column in 0..<k {
                let value = probabilities[row * k + column]
                guard value.isFinite else { throw .nonFiniteScore(row: row, value: value) }
                sum += value
            }
            if checksProbabilities && !(abs(1 - sum) <= 1e-8 + 1e-5 * abs(sum)) {
                throw .probabilitiesDoNotSumToOne(row: rowName?(row) ?? "row \(row + 1)", sum: sum)
            }
        }
        if let missing = sizes.firstIndex(of: 0) {
            throw .classWithoutSamples(className: classNames?[missing] ?? String(missing))
        }
        self.classCount = k
        self.mode = mode
        self.average = average
        classSizes = sizes
        rowCount = n
        self.labels = labels.map { Int32($0) }

        // Sort each column once (or all cells, for micro) and number the tie groups.
        var slots: [Int32]
        var starts: [Int] = [0]
        var pairList: [(Int, Int)] = []
        if average == .micro {
            slotsPerRow = k
            slots = [Int32](repeating: 0, count: n * k)
            let (keys, origins) = probabilities.withUnsafeBufferPointer { ScoreKey.sortedKeysWithOrigins($0) }
            var group = -1
            for position in 0..<keys.count {
                if position == 0 || keys[position] != keys[position - 1] { group += 1 }
                let cell = Int(origins[position])
                let positive = labels[cell / k] == cell % k
                slots[cell] = Int32(2 * group + (positive ? 0 : 1))
            }
            starts.append(group + 1)
        } else {
            let columns = (0..<k).map { column in
                let values = (0..<n).map { probabilities[$0 * k + column] }
                return values.withUnsafeBufferPointer { ScoreKey.sortedKeysWithOrigins($0) }
            }
            switch mode {
            case .oneVsRest:
                slotsPerRow = k
                slots = [Int32](repeating: 0, count: n * k)
                for column in 0..<k {
                    let (keys, origins) = columns[column]
                    let base = starts[starts.count - 1]
                    var group = -1
                    for position in 0..<n {
                        if position == 0 || keys[position] != keys[position - 1] { group += 1 }
                        let row = Int(origins[position])
                        slots[row * k + column] = Int32(2 * (base + group) + (labels[row] == column ? 0 : 1))
                    }
                    starts.append(base + group + 1)
                }
            case .oneVsOne:
                // Each row takes part in k − 1 pairs, twice each (its own column as a positive,
                // the other class's column as a negative).
                slotsPerRow = 2 * (k - 1)
                slots = [Int32](repeating: 0, count: n * slotsPerRow)
                for a in 0..<k { for b in (a + 1)..<max(a + 1, k) { pairList.append((a, b)) } }
                // Slot position of pair (a, b) side `column` within a row of class `label`.
                func slotIndex(row: Int, label: Int, other: Int, ownColumn: Bool) -> Int {
                    let pairOrdinal = other < label ? other : other - 1
                    return row * (2 * (k - 1)) + 2 * pairOrdinal + (ownColumn ? 0 : 1)
                }
                for (a, b) in pairList {
                    for (column, positiveClass) in [(a, a), (b, b)] {
                        let (keys, origins) = columns[column]
                        let base = starts[starts.count - 1]
                        var group = -1
                        var previous: UInt64? = nil
                        for position in 0..<n {
                            let row = Int(origins[position])
                            let label = labels[row]
                            guard label == a || label == b else { continue }
                            if previous != keys[position] { group += 1; previous = keys[position] }
                            let positive = label == positiveClass
                            let other = label == a ? b : a
                            slots[slotIndex(row: row, label: label, other: other, ownColumn: positive)] =
                                Int32(2 * (base + group) + (positive ? 0 : 1))
                        }
                        starts.append(base + group + 1)
                    }
                }
            }
        }
        rowSlots = slots
        problemGroupStarts = starts
        pairs = pairList
        self.checksProbabilities = checksProbabilities
        self.probabilities = probabilities

        var tally = [Int](repeating: 0, count: 2 * starts[starts.count - 1])
        let stride = slotsPerRow
        tally.withUnsafeMutableBufferPointer { counts in
            slots.withUnsafeBufferPointer { slot in
                for index in 0..<(n * stride) { counts[Int(slot[index])] += 1 }
            }
        }
        let areas = tally.withUnsafeBufferPointer { Self.areas(tally: $0, starts: starts) }
        var perClass: [Double] = []
        if average == .micro || mode == .oneVsOne {
            // The per-class one-vs-rest AUCs, reported alongside.
            let perClassAnalysis = try MulticlassAnalysis(probabilities: probabilities, labels: labels, classCount: k,
                                                          mode: .oneVsRest, average: .macro, classNames: classNames, rowName: rowName,
                                                          checksProbabilities: checksProbabilities)
            perClass = perClassAnalysis.result.perClass
        } else {
            perClass = areas
        }
        let combined = Self.combine(areas: areas, mode: mode, average: average, pairs: pairList, classSizes: sizes, rowCount: n)
        result = MulticlassAUC(
            strategy: mode, average: average, areaUnderCurve: combined,
            perClass: perClass,
            perPair: mode == .oneVsOne
                ? pairList.enumerated().map { index, pair in
                    .init(first: pair.0, second: pair.1, areaUnderCurve: (areas[2 * index] + areas[2 * index + 1]) / 2) }
                : [])
    }

    /// What a bootstrap replicates.
    public enum Statistic: Sendable {
        /// ROC AUC.
        case rocArea
        /// Average precision (one-vs-rest only).
        case averagePrecision
    }

    /// scikit-learn's `average_precision_score(y, P, average=…)` (one-vs-rest; micro over every
    /// cell): the averaged value (nil for `.none`) and each class's own (for micro, the per-class
    /// values of a one-vs-rest analysis).
    public func averagePrecision() throws(MetricsError) -> (average: Double?, perClass: [Double]) {
        guard mode == .oneVsRest else { throw .unsupportedOptions("average precision is one-vs-rest only") }
        var tally = [Int](repeating: 0, count: 2 * problemGroupStarts[problemGroupStarts.count - 1])
        tally.withUnsafeMutableBufferPointer { counts in
            rowSlots.withUnsafeBufferPointer { slot in
                for index in 0..<slot.count { counts[Int(slot[index])] += 1 }
            }
        }
        let values = tally.withUnsafeBufferPointer { Self.averagePrecisions(tally: $0, starts: problemGroupStarts) }
        let combined = Self.combine(areas: values, mode: mode, average: average, pairs: pairs, classSizes: classSizes, rowCount: rowCount)
        if average == .micro {
            let perClass = try MulticlassAnalysis(probabilities: probabilities, labels: labels.map(Int.init), classCount: classCount,
                                                  mode: .oneVsRest, average: .macro, checksProbabilities: checksProbabilities)
            return (combined, try perClass.averagePrecision().perClass)
        }
        return (combined, values)
    }

    /// The average precision of each sub-problem from a tally of (positive, negative) counts per group.
    static func averagePrecisions(tally: UnsafeBufferPointer<Int>, starts: [Int]) -> [Double] {
        [Double](unsafeUninitializedCapacity: starts.count - 1) { buffer, count in
            writeAveragePrecisions(tally: tally, starts: starts, into: buffer.baseAddress!)
            count = starts.count - 1
        }
    }

    /// The AUC of each sub-problem from a tally of (positive, negative) counts per group.
    static func areas(tally: UnsafeBufferPointer<Int>, starts: [Int]) -> [Double] {
        [Double](unsafeUninitializedCapacity: starts.count - 1) { buffer, count in
            writeAreas(tally: tally, starts: starts, into: buffer.baseAddress!)
            count = starts.count - 1
        }
    }

    /// `averagePrecisions` written to `output` (one value per sub-problem); allocation-free.
    static func writeAveragePrecisions(tally: UnsafeBufferPointer<Int>, starts: [Int], into output: UnsafeMutablePointer<Double>) {
        for problem in 0..<(starts.count - 1) {
            let range = starts[problem]..<starts[problem + 1]
            output[problem] = ROCAnalysis.averagePrecision(tally: UnsafeBufferPointer(rebasing: tally[(2 * range.lowerBound)..<(2 * range.upperBound)]))
        }
    }

    /// `areas` written to `output` (one value per sub-problem); allocation-free.
    static func writeAreas(tally: UnsafeBufferPointer<Int>, starts: [Int], into output: UnsafeMutablePointer<Double>) {
        for problem in 0..<(starts.count - 1) {
            var numerator = 0, negativesBelow = 0, positives = 0
            for group in starts[problem]..<starts[problem + 1] {
                let positivesEqual = tally[2 * group], negativesEqual = tally[2 * group + 1]
                numerator += positivesEqual * (2 * negativesBelow + negativesEqual)
                negativesBelow += negativesEqual
                positives += positivesEqual
            }
            output[problem] = Double(numerator) / (2 * Double(positives) * Double(negativesBelow))
        }
    }

    /// scikit-learn's averages of the sub-problem AUCs.
    static func combine(areas: [Double], mode: MulticlassStrategy, average: MulticlassAverage,
                        pairs: [(Int, Int)], classSizes: [Int], rowCount: Int) -> Double? {
        switch (mode, average) {
        case (_, .micro):
            return areas[0]
        case (_, .none):
            return nil
        case (.oneVsRest, .macro):
            return areas.reduce(0, +) / Double(areas.count)
        case (.oneVsRest, .weighted):
            var sum = 0.0, weights = 0.0
            for (index, area) in areas.enumerated() {
                sum += area * Double(classSizes[index])
                weights += Double(classSizes[index])
            }
            return sum / weights
        case (.oneVsOne, .macro):
            var sum = 0.0
            for index in pairs.indices { sum += (areas[2 * index] + areas[2 * index + 1]) / 2 }
            return sum / Double(pairs.count)
        case (.oneVsOne, .weighted):
            var sum = 0.0, weights = 0.0
            for (index, pair) in pairs.enumerated() {
                let prevalence = Double(classSizes[pair.0] + classSizes[pair.1]) / Double(rowCount)
                sum += (areas[2 * index] + areas[2 * index + 1]) / 2 * prevalence
                weights += prevalence
            }
            return sum / weights
        }
    }

    /// Stratified bootstrap intervals (each class resampled within itself) of the averaged AUC
    /// (nil for `average == .none`) and of each class's one-vs-rest AUC (one-vs-rest other than
    /// micro only; nil otherwise), from the same replicates.
    public func bootstrapIntervals(level: Double = 0.95, replicates: Int = Bootstrap.defaultReplicates,
                                   seed: UInt64 = 0, statistic: Statistic = .rocArea) -> (average: ConfidenceInterval?, perClass: [ConfidenceInterval]?) {
        let replicated = replicateAreas(replicates: replicates, seed: seed, statistic: statistic)
        var averaged: ConfidenceInterval?
        if average != .none {
            let values = replicated.map { areas in
                Self.combine(areas: areas, mode: mode, average: average, pairs: pairs, classSizes: classSizes, rowCount: rowCount)!
            }
            averaged = Bootstrap.interval(replicateValues: values, level: level, replicates: replicates, seed: seed)
        }
        var perClass: [ConfidenceInterval]?
        if mode == .oneVsRest && average != .micro {
            perClass = (0..<classCount).map { column in
                Bootstrap.interval(replicateValues: replicated.map { $0[column] }, level: level,
                                   replicates: replicates, seed: seed)
            }
        }
        return (averaged, perClass)
    }

    /// The sub-problem AUCs of each replicate.
    private func replicateAreas(replicates: Int, seed: UInt64, statistic: Statistic) -> [[Double]] {
        var rowsOfClass = [[Int32]](repeating: [], count: classCount)
        for (row, label) in labels.enumerated() { rowsOfClass[Int(label)].append(Int32(row)) }
        let strata = rowsOfClass
        let slots = rowSlots, stride = slotsPerRow, starts = problemGroupStarts
        let tallySize = 2 * starts[starts.count - 1]
        let problems = starts.count - 1
        // Each replicate's sub-problem AUCs, flattened, stored through the scalar channel below.
        let flat = FlatResults(replicates: replicates, width: problems)
        _ = Bootstrap.runReplicates(
            replicates, seed: seed,
            makeWorker: { [Int](repeating: 0, count: tallySize) },
            job: { tally, replicate, generator in
                tally.withUnsafeMutableBufferPointer { counts in
                    for index in 0..<tallySize { counts[index] = 0 }
                    slots.withUnsafeBufferPointer { slot in
                        for stratum in strata {
                            stratum.withUnsafeBufferPointer { rows in
                                let size = rows.count
                                for _ in 0..<size {
                                    let row = Int(rows[generator.nextIndex(below: size)])
                                    for cell in (row * stride)..<(row * stride + stride) { counts[Int(slot[cell])] += 1 }
                                }
                            }
                        }
                    }
                    switch statistic {
                    case .rocArea: Self.writeAreas(tally: UnsafeBufferPointer(counts), starts: starts, into: flat.row(replicate))
                    case .averagePrecision: Self.writeAveragePrecisions(tally: UnsafeBufferPointer(counts), starts: starts, into: flat.row(replicate))
                    }
                }
                return 0
            })
        return flat.rows()
    }
}

/// Per-replicate vectors written from worker threads, one row per replicate.
private final class FlatResults: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<Double>
    private let replicates: Int, width: Int
    init(replicates: Int, width: Int) {
        self.replicates = replicates
        self.width = width
        storage = .allocate(capacity: max(1, replicates * width))
        storage.initialize(repeating: 0, count: max(1, replicates * width))
    }
    /// Where replicate `replicate` writes its `width` values.
    func row(_ replicate: Int) -> UnsafeMutablePointer<Double> { storage + replicate * width }
    func rows() -> [[Double]] {
        (0..<replicates).map { replicate in Array(UnsafeBufferPointer(start: storage + replicate * width, count: width)) }
    }
    deinit { storage.deallocate() }
}
