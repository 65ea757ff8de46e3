import Dispatch
internal import GraftNumerics
import Synchronization
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

    /// The interval from replicate AUCs.
    static func interval(replicateValues: [Double], level: Double, replicates: Int, seed: UInt64) -> ConfidenceInterval {
        let sorted = replicateValues.sorted()
        return ConfidenceInterval(method: .bootstrap, level: level,
                                  lowerBound: quantile(sorted: sorted, (1 - level) / 2),
                                  upperBound: quantile(sorted: sorted, 1 - (1 - level) / 2),
                                  replicates: replicates, seed: seed)
    }

    /// Runs `replicates` jobs on the available cores; `job(r, generator)` returns replicate r's value.
    static func runReplicates<Worker>(
        _ replicates: Int, seed: UInt64, makeWorker: @Sendable () -> Worker,
        job: @Sendable (inout Worker, Int, inout SeededGenerator) -> Double
    ) -> [Double] {
        let results = ResultBuffer(count: replicates)
        let workers = max(1, min(availableCores(), replicates))
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var worker = makeWorker()
            while true {
                let replicate = next.add(1, ordering: .relaxed).oldValue
                if replicate >= replicates { break }
                var generator = SeededGenerator(seed: seed, stream: UInt64(replicate))
                results.store(job(&worker, replicate, &generator), at: replicate)
            }
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
    ///
    /// Tied scores form groups that never change, so a replicate only counts how many draws land
    /// in each group and walks the groups once: O(n₊ + n₋) per replicate, no sorting.
    public func bootstrapInterval(level: Double = 0.95, replicates: Int = Bootstrap.defaultReplicates,
                                  seed: UInt64 = 0) -> ConfidenceInterval {
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
        let denominator = 2 * Double(m) * Double(n)
        let values = Bootstrap.runReplicates(
            replicates, seed: seed,
            makeWorker: { [Int](repeating: 0, count: 2 * groups) },
            job: { counts, _, generator in
                counts.withUnsafeMutableBufferPointer { tally in
                    for index in 0..<(2 * groups) { tally[index] = 0 }
                    positiveGroups.withUnsafeBufferPointer { slots in
                        for _ in 0..<m { tally[2 * Int(slots[generator.nextIndex(below: m)])] += 1 }
                    }
                    negativeGroups.withUnsafeBufferPointer { slots in
                        for _ in 0..<n { tally[2 * Int(slots[generator.nextIndex(below: n)]) + 1] += 1 }
                    }
                    var numerator = 0, negativesBelow = 0
                    for group in 0..<groups {
                        let positivesEqual = tally[2 * group], negativesEqual = tally[2 * group + 1]
                        numerator += positivesEqual * (2 * negativesBelow + negativesEqual)
                        negativesBelow += negativesEqual
                    }
                    return Double(numerator) / denominator
                }
            })
        return Bootstrap.interval(replicateValues: values, level: level, replicates: replicates, seed: seed)
    }
}
