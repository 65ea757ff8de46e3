internal import GraftNumerics
/// Stratified bootstrap confidence intervals, as pROC's `ci.auc(method = "bootstrap")`.
///
/// Each replicate resamples, with replacement, as many positives as there are positives and as
/// many negatives as there are negatives (for multiclass, each class within itself), computes
/// the AUC, and the bounds are R's default (type 7) quantiles of the replicate AUCs at
/// (1 − level)/2 and 1 − (1 − level)/2. The random stream differs from R's, so bounds agree with
/// pROC's to Monte Carlo error (about 0.005 for 2000 replicates), not digit for digit.
///
/// Replicate r draws from its own generator seeded with (seed, r), so results depend on the seed
/// only, not on how many threads run the replicates.
public enum Bootstrap {
    /// The default number of replicates, pROC's `boot.n`.
    public static let defaultReplicates = 2000

    /// R's default quantile (type 7) of `values` at probability `p`.
    ///
    /// With x sorted and the 1-based position h = 1 + (n − 1)·p, it is x[⌊h⌋] moved toward x[⌈h⌉]
    /// by the fraction h − ⌊h⌋, computed in R's order of operations, (1 − f)·a + f·b, so that the
    /// result is bit for bit R's.
    public static func quantile(sorted values: [Double], _ p: Double) -> Double {
        precondition(!values.isEmpty)
        let index = 1 + Double(values.count - 1) * p
        let low = index.rounded(.down), high = index.rounded(.up)
        let lowValue = values[Int(low) - 1], highValue = values[Int(high) - 1]
        guard index > low, highValue != lowValue else { return lowValue }
        let fraction = index - low
        return (1 - fraction) * lowValue + fraction * highValue
    }

    /// The interval from replicate values; NaN values are left out, as pROC leaves out its NA
    /// replicates (with a warning). Nil bounds come out as NaN when every replicate is NaN.
    static func interval(replicateValues: [Double], level: Double, replicates: Int, seed: UInt64) -> ConfidenceInterval {
        let sorted = replicateValues.filter { !$0.isNaN }.sorted()
        guard !sorted.isEmpty else {
            return ConfidenceInterval(method: .bootstrap, level: level, lowerBound: .nan, upperBound: .nan,
                                      replicates: replicates, seed: seed)
        }
        return ConfidenceInterval(method: .bootstrap, level: level,
                                  lowerBound: quantile(sorted: sorted, (1 - level) / 2),
                                  upperBound: quantile(sorted: sorted, 1 - (1 - level) / 2),
                                  replicates: replicates, seed: seed)
    }

    /// Runs `replicates` jobs on the available cores (graft's one pool, `parallelItems`), one
    /// `Worker` of scratch state per thread; `job(r, generator)` returns replicate r's value.
    static func runReplicates<Worker>(
        _ replicates: Int, seed: UInt64, makeWorker: @Sendable () -> Worker,
        job: @Sendable (inout Worker, Int, inout SeededGenerator) -> Double
    ) -> [Double] {
        let results = ResultBuffer(count: replicates)
        let workers = max(1, min(availableCores(), replicates))
        let states = UnsafeMutablePointer<Worker?>.allocate(capacity: workers)
        states.initialize(repeating: nil, count: workers)
        defer {
            states.deinitialize(count: workers)
            states.deallocate()
        }
        parallelItems(replicates, threads: workers) { worker, replicate in
            if states[worker] == nil { states[worker] = makeWorker() }
            var generator = SeededGenerator(seed: seed, stream: UInt64(replicate))
            results.store(job(&states[worker]!, replicate, &generator), at: replicate)
        }
        return results.values()
    }
}

/// Shared storage each replicate writes its own slot of.
private final class ResultBuffer: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<Double>
    private let count: Int
    init(count: Int) {
        self.count = count
        storage = .allocate(capacity: count)
        storage.initialize(repeating: 0, count: count)
    }
    func store(_ value: Double, at index: Int) { storage[index] = value }
    func values() -> [Double] { Array(UnsafeBufferPointer(start: storage, count: count)) }
    deinit { storage.deallocate() }
}

private func availableCores() -> Int {
    #if canImport(Glibc)
    Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    #else
    2
    #endif
}

#if canImport(Glibc)
import Glibc
#endif

extension ROCAnalysis {
    /// pROC's stratified bootstrap interval for the AUC.
    public func bootstrapInterval(level: Double = 0.95, replicates: Int = Bootstrap.defaultReplicates,
                                  seed: UInt64 = 0) -> ConfidenceInterval {
        let m = positiveCount, n = negativeCount
        let denominator = 2 * Double(m) * Double(n)
        let values = bootstrapReplicates(replicates: replicates, seed: seed) { tally, _ in
            var numerator = 0, negativesBelow = 0
            for group in 0..<(tally.count / 2) {
                let positivesEqual = tally[2 * group], negativesEqual = tally[2 * group + 1]
                numerator += positivesEqual * (2 * negativesBelow + negativesEqual)
                negativesBelow += negativesEqual
            }
            return Double(numerator) / denominator
        }
        return Bootstrap.interval(replicateValues: values, level: level, replicates: replicates, seed: seed)
    }

    /// A statistic of each replicate of pROC's stratified bootstrap: as many positives and as many
    /// negatives as there are, drawn with replacement from each.
    ///
    /// Tied scores form groups that never change, so a replicate only counts how many draws land
    /// in each group: `statistic` gets the tally, (positives, negatives) per group by ascending
    /// score, interleaved, and a workspace of 4·(groups + 1) doubles it may use; O(n₊ + n₋) per
    /// replicate, no sorting, and nothing allocated after each thread's first replicate.
    /// Replicate r draws from a generator seeded with (seed, r). NaN values are kept (pROC drops
    /// them with a warning; `Bootstrap.interval(replicateValues:…)` does the same).
    func bootstrapReplicates(replicates: Int, seed: UInt64,
                             statistic: @escaping @Sendable (UnsafeBufferPointer<Int>, UnsafeMutableBufferPointer<Double>) -> Double) -> [Double] {
        var positiveGroupOfSlot = [Int32](), negativeGroupOfSlot = [Int32]()
        positiveGroupOfSlot.reserveCapacity(positiveCount)
        negativeGroupOfSlot.reserveCapacity(negativeCount)
        var groupCount = 0
        Self.forEachTieGroup(positives, negatives) { _, positivesEqual, negativesEqual, _ in
            for _ in 0..<positivesEqual { positiveGroupOfSlot.append(Int32(groupCount)) }
            for _ in 0..<negativesEqual { negativeGroupOfSlot.append(Int32(groupCount)) }
            groupCount += 1
        }
        let positiveGroups = positiveGroupOfSlot, negativeGroups = negativeGroupOfSlot
        let groups = groupCount, m = positiveCount, n = negativeCount
        return Bootstrap.runReplicates(
            replicates, seed: seed,
            makeWorker: { ([Int](repeating: 0, count: 2 * groups), [Double](repeating: 0, count: 4 * groups + 4)) },
            job: { worker, _, generator in
                worker.0.withUnsafeMutableBufferPointer { tally in
                    for index in 0..<(2 * groups) { tally[index] = 0 }
                    positiveGroups.withUnsafeBufferPointer { slots in
                        for _ in 0..<m { tally[2 * Int(slots[generator.nextIndex(below: m)])] += 1 }
                    }
                    negativeGroups.withUnsafeBufferPointer { slots in
                        for _ in 0..<n { tally[2 * Int(slots[generator.nextIndex(below: n)]) + 1] += 1 }
                    }
                    return worker.1.withUnsafeMutableBufferPointer { workspace in
                        statistic(UnsafeBufferPointer(tally), workspace)
                    }
                }
            })
    }

    /// The tally of the data itself: (positives, negatives) per tie group by ascending score.
    func groupTally() -> [Int] {
        var tally: [Int] = []
        Self.forEachTieGroup(positives, negatives) { _, positivesEqual, negativesEqual, _ in
            tally.append(positivesEqual)
            tally.append(negativesEqual)
        }
        return tally
    }
}
