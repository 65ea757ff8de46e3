/// Every paired DeLong test among several models scored on the same samples (`graft auc A.tsv
/// --compare B.tsv C.tsv …`), with Holm's step-down adjustment of the p-values over all pairs
/// and the interval of each AUC difference. pROC tests two curves at a time (`roc.test`); this
/// runs it for each pair i < j in the order the files are given.
public struct ModelComparisons: Sendable {
    /// One pair's test.
    public struct Pair: Sendable {
        public var first: Int
        public var second: Int
        public var comparison: PairedComparison
        /// The p-value after Holm's adjustment over all pairs (R's `p.adjust(p, "holm")`).
        public var adjustedP: Double
        /// pROC's `conf.int` of the AUC difference (first − second).
        public var lowerBound: Double
        public var upperBound: Double
    }

    /// The score files, the first being the main table.
    public var sources: [String]
    public var areasUnderCurve: [Double]
    public var level: Double
    public var pairs: [Pair]

    /// Tests every pair of `scores` (one array per model, in the same sample order as `labels`).
    public static func compare(sources: [String], scores: [[Double]], labels: [Bool], level: Double = 0.95) throws(MetricsError) -> ModelComparisons {
        var tests: [(Int, Int, PairedComparison)] = []
        for first in scores.indices {
            for second in scores.indices where second > first {
                tests.append((first, second, try DeLong.pairedTest(scores: scores[first], scores[second], labels: labels)))
            }
        }
        let adjusted = holm(tests.map { $0.2.p })
        var areas: [Double] = []
        for model in scores.indices { areas.append(try ROCAnalysis.areaUnderCurve(scores: scores[model], labels: labels)) }
        let pairs = tests.enumerated().map { index, test in
            let interval = test.2.differenceInterval(level: level)
            return Pair(first: test.0, second: test.1, comparison: test.2, adjustedP: adjusted[index],
                        lowerBound: interval.lower, upperBound: interval.upper)
        }
        return ModelComparisons(sources: sources, areasUnderCurve: areas, level: level, pairs: pairs)
    }

    /// Holm's adjustment, as R's `p.adjust(p, "holm")`: with the p-values sorted ascending
    /// (ties in input order), the i-th of n becomes max over j ≤ i of (n − j + 1)·p₍ⱼ₎, capped at 1.
    public static func holm(_ p: [Double]) -> [Double] {
        let n = p.count
        let order = p.indices.sorted { p[$0] < p[$1] || (p[$0] == p[$1] && $0 < $1) }
        var adjusted = [Double](repeating: 0, count: n)
        var running = 0.0
        for (rank, index) in order.enumerated() {
            running = max(running, Double(n - rank) * p[index])
            adjusted[index] = min(1, running)
        }
        return adjusted
    }
}
