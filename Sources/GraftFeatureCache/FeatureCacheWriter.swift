import GraftHDF5
import GraftSupport
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rows to append to a cache: the images of one batch that produced features, and the ones
/// that failed.
public struct FeatureCacheBatch: Sendable {
    public var ids: [String]
    /// Indices into the cache's classes, −1 for unlabelled images.
    public var labels: [Int64]
    /// Per layer, in the cache's layer order: `ids.count × dimension` floats, row-major.
    public var features: [[Float]]
    public var failures: [FeatureCacheFailure]

    public init(ids: [String], labels: [Int64], features: [[Float]], failures: [FeatureCacheFailure] = []) {
        self.ids = ids
        self.labels = labels
        self.features = features
        self.failures = failures
    }
}

/// Appends batches to a feature cache so that a process killed at any moment leaves a cache
/// that opens and resumes (`schemas/feature-cache.md`, "Writing, crashes and resume").
///
/// A new cache is built under a temporary name and renamed into place once its structure and
/// provenance are on disk. Each `append` extends the row datasets and writes the rows, flushes,
/// then overwrites the `rows` and `failed_rows` attributes in place and flushes again: the
/// committed count moves only after the rows it covers are in the file. The file is made by
/// `HDF5File.createForAppending(at:)`, which keeps HDF5's metadata off the disk between those
/// flushes and never reuses file space, so an interrupted batch cannot damage committed rows.
///
/// Not thread-safe: one writer per cache, driven from one thread.
public final class FeatureCacheWriter {
    public let path: String
    public let provenance: FeatureCacheProvenance
    public let classes: [String]
    /// Feature length per layer, in layer order.
    public let dimensions: [Int]
    /// The number of committed rows.
    public private(set) var rowCount: Int
    /// The ids of the committed rows.
    public private(set) var storedIDs: Set<String>
    /// The committed failures, in order: the ids that failed and have no row, each with its
    /// latest reason.
    public var failures: [FeatureCacheFailure] { effectiveFailures(failureLog, storedIDs: storedIDs) }
    /// The committed rows of `/failed/*`: rows `failedStart ..< failedStart + failureLog.count`.
    /// Within a run they only grow, so they may name an id again (it failed again) or an id
    /// that has a row since; `close()` compacts them.
    private var failureLog: [FeatureCacheFailure]
    private var failedStart: Int

    /// The open file and its row datasets; nil once closed (releasing them closes the file).
    private var open: OpenCache?

    /// Rows per chunk of `/labels`, `/ids` and `/failed/*`.
    static let listRowsPerChunk = 4096
    /// The chunk size `/features/*` aims for.
    static let featureChunkBytes = 1 << 20

    /// Creates a new cache at `path` (replacing any file there) or, when a cache exists there,
    /// opens it to resume.
    ///
    /// - Throws: `FeatureCacheError.provenanceMismatch` (naming what differs) when an existing
    ///   cache's model, layers, pool or preprocessing differ from `provenance`;
    ///   `classesMismatch` or `dimensionMismatch` likewise; `HDF5Error` for file problems.
    public static func openOrCreate(at path: String, provenance: FeatureCacheProvenance, dimensions: [Int],
                                    classes: [String], compressed: Bool) throws -> FeatureCacheWriter {
        if access(path, F_OK) == 0 {
            return try FeatureCacheWriter(resuming: path, provenance: provenance, dimensions: dimensions, classes: classes)
        }
        return try FeatureCacheWriter(creating: path, provenance: provenance, dimensions: dimensions,
                                      classes: classes, compressed: compressed)
    }

    /// Creates a new, empty cache at `path`, replacing any file there.
    public convenience init(creating path: String, provenance: FeatureCacheProvenance, dimensions: [Int],
                            classes: [String], compressed: Bool) throws {
        precondition(dimensions.count == provenance.layers.count, "one dimension per layer")
        try publishFile(at: path, purpose: "creating") { temporary in
            let file = try HDF5File.createForAppending(at: temporary)
            try FeatureCacheWriter.writeStructure(in: file, provenance: provenance, dimensions: dimensions,
                                                  classes: classes, compressed: compressed)
            try file.flushToDisk()
        }
        try self.init(resuming: path, provenance: provenance, dimensions: dimensions, classes: classes)
    }

    /// Opens the existing cache at `path` to append to it, after checking that it holds
    /// features made the same way, and cuts off rows of an interrupted batch.
    public init(resuming path: String, provenance: FeatureCacheProvenance, dimensions: [Int], classes: [String]) throws {
        let file = try HDF5File(opening: path, for: .readingAndWriting)
        try file.prepareForAppending()
        let existing = try FeatureCache(file: file)
        let differences = existing.provenance.featureDifferences(from: provenance)
        guard differences.isEmpty else { throw FeatureCacheError.provenanceMismatch(path: path, differences: differences) }
        guard existing.classes == classes else {
            throw FeatureCacheError.classesMismatch(path: path, cached: existing.classes, requested: classes)
        }
        for (layer, dimension) in zip(provenance.layers, dimensions) {
            let cached = try existing.dimension(of: layer)
            guard cached == dimension else {
                throw FeatureCacheError.dimensionMismatch(path: path, layer: layer, cached: cached, requested: dimension)
            }
        }
        guard try file.attributes.contains("failed_rows"), try file.attributes.contains("failed_start"), try file.contains("/failed/ids"), try file.contains("/failed/reasons") else {
            throw FeatureCacheError.notACache(path: path, reason: "it has no '/failed' record; it was not written by graft features")
        }
        self.path = path
        self.provenance = existing.provenance
        self.classes = classes
        self.dimensions = dimensions
        rowCount = existing.rowCount
        storedIDs = Set(try existing.ids())
        failedStart = existing.failedStart
        failureLog = try existing.failureLog()
        let open = OpenCache(
            file: file, featureDatasets: try provenance.layers.map { try file.dataset(featureDatasetPath(forLayer: $0)) },
            labelDataset: try file.dataset("/labels"), idDataset: try file.dataset("/ids"),
            failedIDDataset: try file.dataset("/failed/ids"), failedReasonDataset: try file.dataset("/failed/reasons"))
        self.open = open

        // Cut off an interrupted batch, so appended rows follow the committed ones.
        var changed = false
        for dataset in open.featureDatasets + [open.labelDataset, open.idDataset] where try dataset.shape[0] != rowCount {
            try dataset.setRowCount(rowCount)
            changed = true
        }
        for dataset in [open.failedIDDataset, open.failedReasonDataset] where try dataset.shape[0] != failedStart + failureLog.count {
            try dataset.setRowCount(failedStart + failureLog.count)
            changed = true
        }
        if changed { try file.flush() }
    }

    /// Appends a batch and commits it (see the type's description for the order of writes).
    public func append(_ batch: FeatureCacheBatch) throws {
        guard let open else { preconditionFailure("FeatureCacheWriter.append after close()") }
        let file = open.file
        let count = batch.ids.count
        precondition(batch.labels.count == count && batch.features.count == dimensions.count,
                     "FeatureCacheWriter.append: a batch needs one label per id and one feature block per layer")
        for (values, dimension) in zip(batch.features, dimensions) {
            precondition(values.count == count * dimension, "FeatureCacheWriter.append: feature block of the wrong size")
        }
        // A failure already committed for the same id with the same reason (a rerun retrying
        // a file that still does not decode) is not news: recording it again would only grow
        // `/failed/*` on every rerun.
        var latestReason: [String: String] = [:]
        for failure in failures { latestReason[failure.id] = failure.reason }
        var newFailures: [FeatureCacheFailure] = []
        for failure in batch.failures where latestReason[failure.id] != failure.reason {
            latestReason[failure.id] = failure.reason
            newFailures.append(failure)
        }
        guard count > 0 || !newFailures.isEmpty else { return }

        if count > 0 {
            for (dataset, values) in zip(open.featureDatasets, batch.features) { try dataset.appendRows(values) }
            try open.labelDataset.appendRows(batch.labels)
            try open.idDataset.appendRows(batch.ids)
        }

        // Failures are only ever appended past the committed rows, so no committed row is
        // rewritten (a rewritten variable-length string row could point to heap space that a
        // kill kept from reaching the file).
        if !newFailures.isEmpty {
            try open.failedIDDataset.appendRows(newFailures.map(\.id))
            try open.failedReasonDataset.appendRows(newFailures.map(\.reason))
        }
        try file.flush()

        // Commit.
        try file.attributes.overwrite(Int64(rowCount + count), in: "rows")
        try file.attributes.overwrite(Int64(failureLog.count + newFailures.count), in: "failed_rows")
        try file.flush()
        rowCount += count
        storedIDs.formUnion(batch.ids)
        failureLog += newFailures
    }

    /// Compacts `/failed` (see `failures`), syncs the cache to disk and closes it.
    ///
    /// Compaction writes the effective list after the committed rows, then moves
    /// `failed_start` and `failed_rows` together (two attributes of one object header, written
    /// in one piece), so a kill at any point leaves either the old list or the new one.
    public func close() throws {
        guard let open else { return }
        let compacted = failures
        if compacted != failureLog {
            let newStart = failedStart + failureLog.count
            try open.failedIDDataset.appendRows(compacted.map(\.id))
            try open.failedReasonDataset.appendRows(compacted.map(\.reason))
            try open.file.flush()
            try open.file.attributes.overwrite(Int64(newStart), in: "failed_start")
            try open.file.attributes.overwrite(Int64(compacted.count), in: "failed_rows")
            try open.file.flush()
            failedStart = newStart
            failureLog = compacted
        }
        try open.file.flushToDisk()
        self.open = nil
    }

    private struct OpenCache {
        let file: HDF5File
        let featureDatasets: [HDF5Dataset]
        let labelDataset: HDF5Dataset
        let idDataset: HDF5Dataset
        let failedIDDataset: HDF5Dataset
        let failedReasonDataset: HDF5Dataset
    }

    /// Writes the datasets and attributes of an empty cache.
    static func writeStructure(in file: HDF5File, provenance: FeatureCacheProvenance, dimensions: [Int],
                               classes: [String], compressed: Bool) throws {
        for (layer, dimension) in zip(provenance.layers, dimensions) {
            let rowsPerChunk = Swift.max(1, Swift.min(4096, featureChunkBytes / Swift.max(1, dimension * 4)))
            try file.root.createDataset(
                featureDatasetPath(forLayer: layer), of: .float32, shape: [0, dimension],
                layout: .chunked(rowsPerChunk: rowsPerChunk, compression: compressed ? .gzip(level: 4, shuffle: true) : .none))
        }
        let listLayout = HDF5Layout.chunked(rowsPerChunk: listRowsPerChunk)
        try file.root.createDataset("/labels", of: .int64, shape: [0], layout: listLayout)
        try file.root.createDataset("/ids", of: .string, shape: [0], layout: listLayout)
        try file.root.createDataset("/classes", shape: [classes.count], strings: classes)
        try file.root.createDataset("/failed/ids", of: .string, shape: [0], layout: listLayout)
        try file.root.createDataset("/failed/reasons", of: .string, shape: [0], layout: listLayout)
        try writeAttributes(of: provenance, rows: 0, failedRows: 0, to: file)
    }

    /// Writes the root attributes.
    static func writeAttributes(of provenance: FeatureCacheProvenance, rows: Int, failedRows: Int, to file: HDF5File) throws {
        let attributes = file.attributes
        try attributes.write(FeatureCache.formatVersion, to: "cache_format_version")
        try attributes.write(Int64(rows), to: "rows")
        try attributes.write(Int64(0), to: "failed_start")
        try attributes.write(Int64(failedRows), to: "failed_rows")
        try attributes.write(provenance.modelSHA256, to: "model_sha256")
        try attributes.write(provenance.modelName, to: "model_name")
        try attributes.write(provenance.layers, to: "layers")
        try attributes.write(provenance.pooling.rawValue, to: "pool")
        try attributes.write(provenance.preprocessing, to: "preprocessing")
        try attributes.write(provenance.inputListSHA256, to: "input_list_sha256")
        try attributes.write(provenance.graftVersion, to: "graft_version")
        try attributes.write(provenance.created, to: "created")
        try attributes.write(provenance.numerics, to: "numerics")
    }
}

/// Removes files and folders in the folder of `path` named `prefix` + a process id (+ anything)
/// whose process no longer runs: what a killed graft left behind while creating `path`.
/// Writes a file at `path` the crash-safe way: `write` fills a temporary file beside it
/// (`.<name>.<purpose>-<pid>`, after removing those that dead processes left), which is then
/// renamed into place and the folder synced. On any error the temporary file is removed and
/// `path` is left as it was.
package func publishFile(at path: String, purpose: String, _ write: (_ temporary: String) throws -> Void) throws {
    let slash = path.lastIndex(of: "/")
    let folder = slash.map { String(path[...$0]) } ?? ""
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    let prefix = ".\(name).\(purpose)-"
    let temporary = folder + prefix + "\(getpid())"
    removeStaleTemporaries(besides: path, prefix: prefix)
    do {
        try write(temporary)
    } catch let error as HDF5Error {
        unlink(temporary)
        throw error.naming(path, insteadOf: temporary)
    } catch {
        unlink(temporary)
        throw error
    }
    guard rename(temporary, path) == 0 else {
        let reason = systemErrorMessage()
        unlink(temporary)
        throw FileError.cannotCreate(path: path, reason: reason)
    }
    syncFolder(of: path)
}

package func removeStaleTemporaries(besides path: String, prefix: String) {
    let slash = path.lastIndex(of: "/")
    let folder = slash.map { String(path[..<$0]) } ?? "."
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "/" : folder) else { return }
    for name in names where name.hasPrefix(prefix) {
        let digits = name.dropFirst(prefix.count).prefix { $0.isNumber }
        guard let pid = Int32(digits), pid > 0, pid != getpid() else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH {
            try? FileManager.default.removeItem(atPath: (folder.isEmpty ? "" : folder + "/") + name)
        }
    }
}
