public import GraftFeatureCache
internal import GraftNumerics
/// The labelled rows of one layer of a feature cache, in memory, ready for training.
///
/// `features` is row-major, `rowCount × dimension` floats, one contiguous block so that a
/// GEMM reads it in place. Unlabelled rows of the cache are left out (`unlabelledCount` says
/// how many); every kept label is an index into `classes`.
public struct LabelledFeatures: Sendable {
    /// The cache the rows came from (for messages).
    public var source: String
    /// The cache layer the features are of.
    public var layer: String
    public var dimension: Int
    public var classes: [String]
    public var ids: [String]
    /// Per row, an index into `classes`.
    public var labels: [Int32]
    public var features: [Float]
    /// Rows of the cache without a label, not included.
    public var unlabelledCount: Int

    public var rowCount: Int { labels.count }

    public init(source: String, layer: String, dimension: Int, classes: [String], ids: [String], labels: [Int32],
                features: [Float], unlabelledCount: Int = 0) {
        precondition(ids.count == labels.count && features.count == labels.count * dimension)
        self.source = source
        self.layer = layer
        self.dimension = dimension
        self.classes = classes
        self.ids = ids
        self.labels = labels
        self.features = features
        self.unlabelledCount = unlabelledCount
    }

    /// Reads the labelled rows of `layer` from `cache`.
    ///
    /// - Throws: `FeatureCacheError.unknownLayer` for a layer the cache lacks;
    ///   `HeadError.nonFiniteFeature` naming the first row with a NaN or infinity;
    ///   `HeadError.labelOutOfRange` for a label past the class list.
    public init(cache: FeatureCache, layer: String) throws {
        let dimension = try cache.dimension(of: layer)
        let cacheLabels = try cache.labels()
        let cacheIDs = try cache.ids()
        var features = try cache.features(of: layer)
        var ids: [String] = []
        var labels: [Int32] = []
        ids.reserveCapacity(cacheLabels.count)
        labels.reserveCapacity(cacheLabels.count)
        var kept = 0
        try features.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            for row in 0..<cacheLabels.count {
                let label = cacheLabels[row]
                guard label >= 0 else { continue }
                guard label < Int64(cache.classes.count) else {
                    throw HeadError.labelOutOfRange(cache: cache.path, id: cacheIDs[row], label: label, classCount: cache.classes.count)
                }
                let source = base + row * dimension
                for column in 0..<dimension where !source[column].isFinite {
                    throw HeadError.nonFiniteFeature(cache: cache.path, id: cacheIDs[row], column: column, value: source[column])
                }
                if kept != row { (base + kept * dimension).update(from: source, count: dimension) }
                ids.append(cacheIDs[row])
                labels.append(Int32(label))
                kept += 1
            }
        }
        if kept < cacheLabels.count { features.removeLast((cacheLabels.count - kept) * dimension) }
        self.init(source: cache.path, layer: layer, dimension: dimension, classes: cache.classes, ids: ids, labels: labels,
                  features: features, unlabelledCount: cacheLabels.count - kept)
    }

    /// The rows at `indices`, in that order.
    public func rows(_ indices: [Int]) -> LabelledFeatures {
        var values = [Float](repeating: 0, count: indices.count * dimension)
        values.withUnsafeMutableBufferPointer { destination in
            features.withUnsafeBufferPointer { source in
                for (position, row) in indices.enumerated() {
                    (destination.baseAddress! + position * dimension)
                        .update(from: source.baseAddress! + row * dimension, count: dimension)
                }
            }
        }
        return LabelledFeatures(source: source, layer: layer, dimension: dimension, classes: classes,
                                ids: indices.map { ids[$0] }, labels: indices.map { labels[$0] }, features: values)
    }

    /// The number of rows of each class, indexed like `classes`.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classes.count)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }

    /// Splits the rows into training and validation rows, class by class.
    ///
    /// Each class's rows are shuffled with `seed`; `round(fraction × count)` of them go to
    /// validation, but a class keeps at least one training row (and a class of one row stays
    /// in training). Both parts keep the cache's row order.
    public func stratifiedSplit(fraction: Double, seed: UInt64) throws(HeadError) -> (training: LabelledFeatures, validation: LabelledFeatures) {
        var generator = SeededGenerator(seed: seed)
        var byClass = [[Int]](repeating: [], count: classes.count)
        for (row, label) in labels.enumerated() { byClass[Int(label)].append(row) }
        var isValidation = [Bool](repeating: false, count: rowCount)
        for var rows in byClass where !rows.isEmpty {
            generator.shuffle(&rows)
            let take = min(Int((fraction * Double(rows.count)).rounded()), rows.count - 1)
            for row in rows.prefix(take) { isValidation[row] = true }
        }
        let validationRows = (0..<rowCount).filter { isValidation[$0] }
        let trainingRows = (0..<rowCount).filter { !isValidation[$0] }
        guard !validationRows.isEmpty, !trainingRows.isEmpty else {
            throw .splitTooSmall(cache: source, fraction: fraction, rows: rowCount)
        }
        return (rows(trainingRows), rows(validationRows))
    }
}
