import GraftHDF5
import GraftSupport
import Foundation
/// Merges shard caches (e.g. one per Spark task) into one cache.
///
/// The shards must agree on model, model name, layers, pool, preprocessing, classes and feature
/// lengths; their input lists differ. Every id must be unique across all shards. Rows come out
/// in argument order, each shard's rows in its own order; failures likewise, minus ids that
/// some shard holds features for.
///
/// The merged cache's `input_list_sha256` is the SHA-256 of the shards' `input_list_sha256`
/// values, each followed by a newline, in argument order; `created` is the merge time.
public enum FeatureCacheMerge {
    /// Merges `shards` into a new cache at `output` (written under a temporary name and renamed
    /// into place).
    ///
    /// With `virtual`, `/features/*`, `/labels` and `/ids` are HDF5 virtual datasets over the
    /// shards' committed rows (HDF5 1.10), with source paths relative to the output's folder: the
    /// shards must stay where they are (relative to the output). Otherwise the rows are copied,
    /// a block at a time, and the result can be resumed like any cache.
    public static func merge(_ shards: [String], into output: String, virtual: Bool) throws {
        precondition(!shards.isEmpty, "FeatureCacheMerge.merge needs at least one shard")
        var caches: [FeatureCache] = []
        for shard in shards {
            guard FileManager.default.fileExists(atPath: shard) else { throw FeatureCacheError.missingShard(path: shard) }
            caches.append(try FeatureCache(path: shard))
        }
        let first = caches[0]
        let dimensions = try first.layers.map { try first.dimension(of: $0) }
        for cache in caches.dropFirst() {
            let checks: [(String, Bool)] = [
                ("model_sha256", cache.provenance.modelSHA256 == first.provenance.modelSHA256),
                ("model_name", cache.provenance.modelName == first.provenance.modelName),
                ("layers", cache.layers == first.layers),
                ("pool", cache.provenance.pooling == first.provenance.pooling),
                ("preprocessing", cache.provenance.preprocessing == first.provenance.preprocessing),
                ("numerics", cache.provenance.numerics == first.provenance.numerics),
                ("classes", cache.classes == first.classes),
                ("feature lengths", try cache.layers.map { try cache.dimension(of: $0) } == dimensions),
            ]
            if let failed = checks.first(where: { !$0.1 }) {
                throw FeatureCacheError.shardMismatch(path: cache.path, firstShard: first.path, attribute: failed.0)
            }
        }

        var owner: [String: String] = [:]
        var allFailures: [FeatureCacheFailure] = []
        for cache in caches {
            for id in try cache.ids() {
                if let previous = owner.updateValue(cache.path, forKey: id) {
                    throw FeatureCacheError.duplicateID(id: id, firstShard: previous, secondShard: cache.path)
                }
            }
        }
        var seenFailures = Set<String>()
        for cache in caches {
            for failure in try cache.failures() where owner[failure.id] == nil && seenFailures.insert(failure.id).inserted {
                allFailures.append(failure)
            }
        }

        var provenance = first.provenance
        provenance.created = FeatureCacheProvenance.now()
        provenance.graftVersion = GraftVersion.current
        provenance.inputListSHA256 = SHA256.hexDigest(of: Array(caches.map { $0.provenance.inputListSHA256 + "\n" }.joined().utf8))

        try publishFile(at: output, purpose: "merging") { temporary in
            if virtual {
                try writeVirtual(caches, dimensions: dimensions, failures: allFailures, provenance: provenance,
                                 temporary: temporary, output: output)
            } else {
                try writeCopy(caches, dimensions: dimensions, failures: allFailures, provenance: provenance, temporary: temporary)
            }
        }
    }

    /// Copies the shards' rows into a new appendable cache at `temporary`.
    private static func writeCopy(_ caches: [FeatureCache], dimensions: [Int], failures: [FeatureCacheFailure],
                                  provenance: FeatureCacheProvenance, temporary: String) throws {
        let first = caches[0]
        let compressed = try first.file.dataset(featureDatasetPath(forLayer: first.layers[0])).compression != .none
        let writer = try FeatureCacheWriter(creating: temporary, provenance: provenance, dimensions: dimensions,
                                            classes: first.classes, compressed: compressed)
        let rowBytes = max(1, dimensions.reduce(0, +) * 4)
        let block = max(1, min(65536, (64 << 20) / rowBytes))
        for cache in caches {
            var start = 0
            while start < cache.rowCount {
                let rows = start..<min(cache.rowCount, start + block)
                let features = try cache.layers.map { try cache.features(of: $0, rows: rows) }
                try writer.append(FeatureCacheBatch(ids: try cache.ids(rows: rows), labels: try cache.labels(rows: rows),
                                                    features: features))
                start = rows.upperBound
            }
        }
        if !failures.isEmpty {
            try writer.append(FeatureCacheBatch(ids: [], labels: [], features: dimensions.map { _ in [] }, failures: failures))
        }
        try writer.close()
    }

    /// Writes a cache of virtual datasets over the shards at `temporary`.
    private static func writeVirtual(_ caches: [FeatureCache], dimensions: [Int], failures: [FeatureCacheFailure],
                                     provenance: FeatureCacheProvenance, temporary: String, output: String) throws {
        let first = caches[0]
        let file = try HDF5File(creating: temporary)
        let outputFolder = absoluteFolder(of: output)
        let sourcePaths = caches.map { relativePath(of: absolutePath($0.path), from: outputFolder) }
        let total = caches.reduce(0) { $0 + $1.rowCount }
        func sources(_ dataset: String) -> [(file: String, dataset: String, rows: Range<Int>)] {
            zip(caches, sourcePaths).map { cache, source in (file: source, dataset: dataset, rows: 0..<cache.rowCount) }
        }
        for (layer, dimension) in zip(first.layers, dimensions) {
            let path = featureDatasetPath(forLayer: layer)
            try file.root.createVirtualDataset(path, of: .float32, shape: [total, dimension], sources: sources(path))
        }
        try file.root.createVirtualDataset("/labels", of: .int64, shape: [total], sources: sources("/labels"))
        try file.root.createVirtualDataset("/ids", of: .string, shape: [total], sources: sources("/ids"))
        try file.root.createDataset("/classes", shape: [first.classes.count], strings: first.classes)
        let listLayout = HDF5Layout.chunked(rowsPerChunk: FeatureCacheWriter.listRowsPerChunk)
        try file.root.createDataset("/failed/ids", shape: [failures.count], strings: failures.map(\.id), layout: listLayout)
        try file.root.createDataset("/failed/reasons", shape: [failures.count], strings: failures.map(\.reason), layout: listLayout)
        try FeatureCacheWriter.writeAttributes(of: provenance, rows: total, failedRows: failures.count, to: file)
        try file.flushToDisk()
    }
}

/// `path` made absolute against the working directory, with `.` and `..` components resolved.
func absolutePath(_ path: String) -> String {
    let joined = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    var components: [Substring] = []
    for component in joined.split(separator: "/") {
        if component == "." { continue }
        if component == ".." { if !components.isEmpty { components.removeLast() }; continue }
        components.append(component)
    }
    return "/" + components.joined(separator: "/")
}

/// The absolute folder that holds `path`.
func absoluteFolder(of path: String) -> String {
    let absolute = absolutePath(path)
    let slash = absolute.lastIndex(of: "/")!
    return slash == absolute.startIndex ? "/" : String(absolute[..<slash])
}

/// The relative path from the folder `folder` to `path` (both absolute), e.g. `../shards/a.h5`.
func relativePath(of path: String, from folder: String) -> String {
    let target = path.split(separator: "/")
    let base = folder.split(separator: "/")
    var common = 0
    while common < min(target.count - 1, base.count), target[common] == base[common] { common += 1 }
    let ups = [Substring](repeating: "..", count: base.count - common)
    return (ups + target[common...]).joined(separator: "/")
}
