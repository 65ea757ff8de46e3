import GraftHDF5
import GraftSupport
/// A feature cache opened for reading (`schemas/feature-cache.md`).
///
/// Only the first `rowCount` rows of each row dataset are visible: rows past it belong to an
/// interrupted batch. Features come back as one contiguous row-major `[Float]` of
/// `rowCount × dimension(of:)` values, ready for a GEMM:
///
/// ```swift
/// let cache = try FeatureCache(path: "cache.h5")
/// let x = try cache.features(of: cache.layers[0])   // [N * D]
/// let y = try cache.labels()                          // [N], -1 when unlabelled
/// ```
public final class FeatureCache: @unchecked Sendable {
    /// The cache format version this graft writes and the newest it reads.
    public static let formatVersion: Int64 = 1

    public let path: String
    public let provenance: FeatureCacheProvenance
    /// The number of committed rows (images with features).
    public let rowCount: Int
    /// The number of committed rows of `/failed/*`, from `failedStart` (see `failures()`).
    let failureLogCount: Int
    /// The first committed row of `/failed/*`.
    let failedStart: Int
    /// The class names, in label order.
    public let classes: [String]
    /// The layer names as given, in `/features` order (same as `provenance.layers`).
    public var layers: [String] { provenance.layers }

    let file: HDF5File
    private let dimensions: [String: Int]

    /// Opens the cache at `path` read-only.
    ///
    /// - Throws: `HDF5Error` when the file cannot be opened or is not HDF5,
    ///   `FeatureCacheError` when it is not a complete version-1 cache.
    public convenience init(path: String) throws {
        try self.init(file: HDF5File(opening: path, for: .reading))
    }

    /// Reads the cache structure of an open file.
    init(file: HDF5File) throws {
        self.file = file
        path = file.path
        let attributes = file.attributes
        func require(_ name: String) throws {
            guard try attributes.contains(name) else {
                throw FeatureCacheError.notACache(path: file.path, reason: "it has no root attribute '\(name)'")
            }
        }
        try require("cache_format_version")
        let version: Int64 = try attributes.value("cache_format_version")
        guard version <= FeatureCache.formatVersion, version >= 1 else {
            throw FeatureCacheError.unsupportedVersion(path: file.path, version: version)
        }
        for name in ["rows", "model_sha256", "model_name", "layers", "pool", "preprocessing", "input_list_sha256",
                     "graft_version", "created"] {
            try require(name)
        }
        let poolName = try attributes.string("pool")
        guard let pooling = FeaturePooling(rawValue: poolName) else {
            throw FeatureCacheError.notACache(path: file.path, reason: "its 'pool' attribute is '\(poolName)', not none, avg or max")
        }
        provenance = FeatureCacheProvenance(
            modelSHA256: try attributes.string("model_sha256"), modelName: try attributes.string("model_name"),
            layers: try attributes.strings("layers"), pooling: pooling,
            preprocessing: try attributes.string("preprocessing"),
            inputListSHA256: try attributes.string("input_list_sha256"),
            numerics: try attributes.contains("numerics") ? try attributes.string("numerics") : FeatureCacheProvenance.unrecordedNumerics,
            graftVersion: try attributes.string("graft_version"), created: try attributes.string("created"))
        let rows: Int64 = try attributes.value("rows")
        // Counts are checked before any range is made from them (a fuzzed cache with rows = -1
        // trapped `0..<rowCount` in the readers).
        guard rows >= 0 else {
            throw FeatureCacheError.notACache(path: file.path, reason: "its 'rows' attribute is \(rows), not a row count")
        }
        rowCount = Int(rows)
        let failed: Int64? = try attributes.contains("failed_rows") ? try attributes.value("failed_rows") : nil
        if let failed, failed < 0 {
            throw FeatureCacheError.notACache(path: file.path, reason: "its 'failed_rows' attribute is \(failed), not a row count")
        }
        let start: Int64 = try attributes.contains("failed_start") ? try attributes.value("failed_start") : 0

        func checkRows(_ datasetPath: String, atLeast count: Int, rank: Int = 1) throws -> HDF5Dataset {
            guard try file.contains(datasetPath) else {
                throw FeatureCacheError.notACache(path: file.path, reason: "it has no dataset '\(datasetPath)'")
            }
            let dataset = try file.dataset(datasetPath)
            let shape = try dataset.shape
            guard shape.count == rank else {
                let expected = rank == 1 ? "[N]" : "[N, D]"
                throw FeatureCacheError.notACache(
                    path: file.path, reason: "dataset '\(datasetPath)' has rank \(shape.count) (shape \(shape)), expected \(expected)")
            }
            guard let stored = shape.first, stored >= count else {
                throw FeatureCacheError.notACache(
                    path: file.path, reason: "dataset '\(datasetPath)' has shape \(shape) but the cache commits \(count) rows")
            }
            return dataset
        }
        _ = try checkRows("/ids", atLeast: rowCount)
        _ = try checkRows("/labels", atLeast: rowCount)
        var dimensions: [String: Int] = [:]
        for layer in provenance.layers {
            let shape = try checkRows(featureDatasetPath(forLayer: layer), atLeast: rowCount, rank: 2).shape
            dimensions[layer] = shape[1]
        }
        self.dimensions = dimensions
        classes = try file.contains("/classes") ? try checkRows("/classes", atLeast: 0).readStrings() : []
        if try file.contains("/failed/ids"), try file.contains("/failed/reasons") {
            _ = try checkRows("/failed/ids", atLeast: 0)
            _ = try checkRows("/failed/reasons", atLeast: 0)
            let stored = min(try file.dataset("/failed/ids").shape.first ?? 0, try file.dataset("/failed/reasons").shape.first ?? 0)
            failedStart = max(0, min(Int(start), stored))
            failureLogCount = min(failed.map { Int($0) } ?? (stored - failedStart), stored - failedStart)
        } else {
            failedStart = 0
            failureLogCount = 0
        }
    }

    /// The feature length of `layer` (D of `/features/<layer>`).
    public func dimension(of layer: String) throws -> Int {
        guard let dimension = dimensions[layer] else {
            throw FeatureCacheError.unknownLayer(path: path, layer: layer, layers: layers)
        }
        return dimension
    }

    /// All committed features of `layer`, row-major: `rowCount × dimension(of: layer)` values.
    public func features(of layer: String) throws -> [Float] {
        try features(of: layer, rows: 0..<rowCount)
    }

    /// The features of `layer` for `rows` (within `0..<rowCount`), row-major.
    public func features(of layer: String, rows: Range<Int>) throws -> [Float] {
        let dimension = try dimension(of: layer)
        try checkCommitted(rows)
        // Bounded by the bytes in the file before anything is allocated.
        let (count, overflow) = rows.count.multipliedReportingOverflow(by: dimension)
        try file.dataset(featureDatasetPath(forLayer: layer)).checkStorable(count: overflow ? .max : count)
        var values = [Float](repeating: 0, count: rows.count * dimension)
        try values.withUnsafeMutableBufferPointer { buffer in try readFeatures(of: layer, rows: rows, into: buffer) }
        return values
    }

    /// Reads the features of `layer` for `rows` into `buffer`, which must hold exactly
    /// `rows.count × dimension(of: layer)` floats: no intermediate copy.
    public func readFeatures(of layer: String, rows: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        _ = try dimension(of: layer)
        try checkCommitted(rows)
        guard !rows.isEmpty else { return }
        try file.dataset(featureDatasetPath(forLayer: layer)).read(rows: rows, into: buffer)
    }

    /// The ids (image paths as given) of the committed rows.
    public func ids() throws -> [String] { try ids(rows: 0..<rowCount) }

    /// The ids of `rows`.
    public func ids(rows: Range<Int>) throws -> [String] {
        try checkCommitted(rows)
        return rows.isEmpty ? [] : try file.dataset("/ids").readStrings(rows: rows)
    }

    /// The labels of the committed rows: indices into `classes`, −1 for unlabelled images.
    public func labels() throws -> [Int64] { try labels(rows: 0..<rowCount) }

    /// The labels of `rows`.
    public func labels(rows: Range<Int>) throws -> [Int64] {
        try checkCommitted(rows)
        return rows.isEmpty ? [] : try file.dataset("/labels").read(rows: rows, as: Int64.self)
    }

    /// The number of rows with each label, indexed like `classes`, and the number unlabelled.
    public func classCounts() throws -> (perClass: [Int], unlabelled: Int) {
        var counts = [Int](repeating: 0, count: classes.count)
        var unlabelled = 0
        for label in try labels() {
            if label >= 0, Int(label) < counts.count { counts[Int(label)] += 1 } else { unlabelled += 1 }
        }
        return (counts, unlabelled)
    }

    /// The inputs that could not be decoded and have no row, each once with its latest
    /// one-line reason, in the order they first failed.
    ///
    /// graft compacts `/failed` at the end of every run; a run that was killed can leave an id
    /// twice (it failed again) or an id that has a row since (it was retried successfully),
    /// which this drops.
    public func failures() throws -> [FeatureCacheFailure] {
        let log = try failureLog()
        guard !log.isEmpty else { return [] }
        return effectiveFailures(log, storedIDs: Set(try ids()))
    }

    /// The committed rows of `/failed/*` as stored.
    func failureLog() throws -> [FeatureCacheFailure] {
        guard failureLogCount > 0 else { return [] }
        let rows = failedStart..<(failedStart + failureLogCount)
        let ids = try file.dataset("/failed/ids").readStrings(rows: rows)
        let reasons = try file.dataset("/failed/reasons").readStrings(rows: rows)
        return zip(ids, reasons).map { FeatureCacheFailure(id: $0, reason: $1) }
    }

    /// Whether `/features/<layer>` is an HDF5 virtual dataset (a merge made with `--virtual`).
    public func isVirtual(layer: String) throws -> Bool {
        _ = try dimension(of: layer)
        return try file.dataset(featureDatasetPath(forLayer: layer)).isVirtual
    }

    private func checkCommitted(_ rows: Range<Int>) throws {
        guard rows.lowerBound >= 0, rows.upperBound <= rowCount else {
            throw FeatureCacheError.notACache(path: path, reason: "rows \(rows.lowerBound)..<\(rows.upperBound) are outside its \(rowCount) committed rows")
        }
    }
}

/// `log` without ids in `storedIDs`, each id once (at its first place) with its last reason.
func effectiveFailures(_ log: [FeatureCacheFailure], storedIDs: Set<String>) -> [FeatureCacheFailure] {
    var latest: [String: String] = [:]
    for failure in log { latest[failure.id] = failure.reason }
    var seen = Set<String>()
    var result: [FeatureCacheFailure] = []
    for failure in log where !storedIDs.contains(failure.id) && seen.insert(failure.id).inserted {
        result.append(FeatureCacheFailure(id: failure.id, reason: latest[failure.id]!))
    }
    return result
}

/// An input that could not be turned into features, and why.
public struct FeatureCacheFailure: Sendable, Hashable {
    public var id: String
    public var reason: String

    public init(id: String, reason: String) {
        self.id = id
        self.reason = reason
    }
}
