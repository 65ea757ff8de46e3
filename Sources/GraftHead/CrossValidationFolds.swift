import Foundation
/// How the rows are cut into cross-validation folds: each function returns every row's test
/// fold (`0..<folds`), made exactly as scikit-learn's splitter of the same name makes them
/// without shuffling, so that `graft train --cv` and `LogisticRegressionCV(cv=…)` score the same
/// folds.
public enum CrossValidationFolds {
    /// `StratifiedKFold(folds)`: classes numbered by first appearance; the sorted labels dealt
    /// round-robin to the folds give each fold its count of each class; each class's rows, in
    /// order, fill fold 0 first, then fold 1, and so on.
    ///
    /// - Throws: `HeadError.foldsTooMany` when every class has fewer rows than `folds`.
    public static func stratified(labels: [Int32], folds: Int, cache: String) throws(HeadError) -> [Int] {
        let encoded = encodedByFirstAppearance(labels)
        let classCount = (encoded.max() ?? -1) + 1
        var counts = [Int](repeating: 0, count: classCount)
        for label in encoded { counts[label] += 1 }
        guard counts.contains(where: { $0 >= folds }) else {
            throw .foldsTooMany(cache: cache, folds: folds, reason: "no class has \(folds) rows")
        }
        // allocation[f][c]: rows of class c in fold f. Dealing the sorted labels round-robin gives
        // fold f the sorted positions f, f + folds, f + 2·folds, …
        var allocation = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: folds)
        var position = 0
        for label in 0..<classCount {
            for _ in 0..<counts[label] {
                allocation[position % folds][label] += 1
                position += 1
            }
        }
        var nextFold = [Int](repeating: 0, count: classCount)
        var filled = [Int](repeating: 0, count: classCount)
        var result = [Int](repeating: 0, count: labels.count)
        for (row, label) in encoded.enumerated() {
            while allocation[nextFold[label]][label] == filled[label] {
                nextFold[label] += 1
                filled[label] = 0
            }
            result[row] = nextFold[label]
            filled[label] += 1
        }
        return result
    }

    /// `GroupKFold(folds)`: groups sorted, then taken from the largest (ties: the later in sorted
    /// order first, as a reversed stable sort leaves them) and each put in the fold with the fewest
    /// rows so far (ties: the lowest fold).
    ///
    /// - Throws: `HeadError.foldsTooMany` when there are fewer groups than folds.
    public static func grouped(groups: [String], folds: Int, cache: String) throws(HeadError) -> [Int] {
        let (names, index) = sortedGroups(groups)
        guard names.count >= folds else {
            throw .foldsTooMany(cache: cache, folds: folds, reason: "there are only \(names.count) groups")
        }
        var sizes = [Int](repeating: 0, count: names.count)
        for group in index { sizes[group] += 1 }
        let ascending = sizes.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] < sizes[$1] : $0 < $1 }
        var foldRows = [Int](repeating: 0, count: folds)
        var foldOfGroup = [Int](repeating: 0, count: names.count)
        for group in ascending.reversed() {
            let lightest = foldRows.indices.min { foldRows[$0] != foldRows[$1] ? foldRows[$0] < foldRows[$1] : $0 < $1 }!
            foldRows[lightest] += sizes[group]
            foldOfGroup[group] = lightest
        }
        return index.map { foldOfGroup[$0] }
    }

    /// `StratifiedGroupKFold(folds)`: groups sorted, then taken in order of decreasing standard
    /// deviation of their class counts (stable); each goes to the fold that, with it, has the
    /// lowest mean over classes of the standard deviation across folds of the fold's share of the
    /// class (numpy's `isclose` ties go to the fold with fewer rows, then the lower fold).
    ///
    /// - Throws: `HeadError.foldsTooMany` when every class has fewer rows than `folds`, or there
    ///   are fewer groups than folds.
    public static func stratifiedGrouped(labels: [Int32], groups: [String], folds: Int, cache: String) throws(HeadError) -> [Int] {
        // Classes in sorted order (np.unique), not by first appearance.
        let classValues = Array(Set(labels)).sorted()
        let classIndex = Dictionary(uniqueKeysWithValues: classValues.enumerated().map { ($1, $0) })
        let classCount = classValues.count
        var classTotals = [Double](repeating: 0, count: classCount)
        for label in labels { classTotals[classIndex[label]!] += 1 }
        guard classTotals.contains(where: { $0 >= Double(folds) }) else {
            throw .foldsTooMany(cache: cache, folds: folds, reason: "no class has \(folds) rows")
        }
        let (names, index) = sortedGroups(groups)
        guard names.count >= folds else {
            throw .foldsTooMany(cache: cache, folds: folds, reason: "there are only \(names.count) groups")
        }
        var groupCounts = [[Double]](repeating: [Double](repeating: 0, count: classCount), count: names.count)
        for (row, group) in index.enumerated() { groupCounts[group][classIndex[labels[row]]!] += 1 }
        let spread = groupCounts.map(populationStandardDeviation)
        let order = spread.indices.sorted { spread[$0] != spread[$1] ? spread[$0] > spread[$1] : $0 < $1 }
        var foldCounts = [[Double]](repeating: [Double](repeating: 0, count: classCount), count: folds)
        var foldOfGroup = [Int](repeating: 0, count: names.count)
        for group in order {
            var best = 0, bestScore = Double.infinity, bestRows = Double.infinity
            for fold in 0..<folds {
                for c in 0..<classCount { foldCounts[fold][c] += groupCounts[group][c] }
                var meanSpread = 0.0
                for c in 0..<classCount {
                    meanSpread += populationStandardDeviation((0..<folds).map { foldCounts[$0][c] / classTotals[c] })
                }
                meanSpread /= Double(classCount)
                for c in 0..<classCount { foldCounts[fold][c] -= groupCounts[group][c] }
                let rows = foldCounts[fold].reduce(0, +)
                // np.isclose(a, b): |a − b| ≤ 1e-8 + 1e-5·|b|.
                let close = abs(meanSpread - bestScore) <= 1e-8 + 1e-5 * abs(bestScore)
                if meanSpread < bestScore || (close && rows < bestRows) {
                    best = fold
                    bestScore = meanSpread
                    bestRows = rows
                }
            }
            for c in 0..<classCount { foldCounts[best][c] += groupCounts[group][c] }
            foldOfGroup[group] = best
        }
        return index.map { foldOfGroup[$0] }
    }

    /// Labels renumbered 0, 1, … in order of first appearance.
    static func encodedByFirstAppearance(_ labels: [Int32]) -> [Int] {
        var numbers: [Int32: Int] = [:]
        return labels.map { label in
            if let number = numbers[label] { return number }
            numbers[label] = numbers.count
            return numbers.count - 1
        }
    }

    /// The distinct groups sorted by their UTF-8 bytes (as numpy sorts strings), and each row's
    /// index into them.
    static func sortedGroups(_ groups: [String]) -> (names: [String], index: [Int]) {
        let names = Array(Set(groups)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let position = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        return (names, groups.map { position[$0]! })
    }

    /// numpy's `std` (ddof 0): the square root of the mean squared deviation from the mean.
    static func populationStandardDeviation(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
    }
}
