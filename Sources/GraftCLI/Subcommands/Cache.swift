import ArgumentParser
import GraftFeatureCache
import Foundation
import GraftSupport
/// `graft cache info|merge|export`: look into, combine and export feature caches.
struct Cache: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect, merge and export HDF5 feature caches written by graft features.",
        subcommands: [CacheInfo.self, CacheMerge.self, CacheExport.self])
}

/// `graft cache info CACHE.h5 [--json]`.
struct CacheInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a cache's rows, layers and their lengths, classes with counts, failures and provenance.")

    @Argument(help: "The feature cache (.h5).")
    var cache: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let cache = try FeatureCache(path: cache)
        let counts = try cache.classCounts()
        let failures = try cache.failures()
        let provenance = cache.provenance
        let dimensions = try cache.layers.map { try cache.dimension(of: $0) }
        if json {
            let object: [String: Any] = [
                "path": cache.path,
                "rows": cache.rowCount,
                "layers": zip(cache.layers, dimensions).map { ["name": $0, "dimension": $1] as [String: Any] },
                "classes": zip(cache.classes, counts.perClass).map { ["name": $0, "count": $1] as [String: Any] },
                "unlabelled": counts.unlabelled,
                "failed": failures.map { ["id": $0.id, "reason": $0.reason] },
                "provenance": [
                    "model_sha256": provenance.modelSHA256, "model_name": provenance.modelName,
                    "pool": provenance.pooling.rawValue,
                    "preprocessing": (try? JSONSerialization.jsonObject(with: Data(provenance.preprocessing.utf8))) ?? provenance.preprocessing,
                    "input_list_sha256": provenance.inputListSHA256, "graft_version": provenance.graftVersion,
                    "created": provenance.created,
                ] as [String: Any],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        var lines: [(String, String)] = [("rows", "\(cache.rowCount)")]
        for (layer, dimension) in zip(cache.layers, dimensions) {
            lines.append(("layer", "\(layer)  [\(dimension)]" + (try cache.isVirtual(layer: layer) ? "  (virtual)" : "")))
        }
        for (name, count) in zip(cache.classes, counts.perClass) { lines.append(("class", "\(name)  \(count)")) }
        if counts.unlabelled > 0 || cache.classes.isEmpty { lines.append(("unlabelled", "\(counts.unlabelled)")) }
        lines.append(("failed", "\(failures.count)"))
        for failure in failures.prefix(20) { lines.append(("", "\(failure.id): \(failure.reason)")) }
        if failures.count > 20 { lines.append(("", "… \(failures.count - 20) more (see --json)")) }
        lines += [
            ("model", provenance.modelName), ("model_sha256", provenance.modelSHA256),
            ("pool", provenance.pooling.rawValue), ("preprocessing", provenance.preprocessing),
            ("input_list_sha256", provenance.inputListSHA256), ("graft_version", provenance.graftVersion),
            ("created", provenance.created),
        ]
        let width = lines.map(\.0.count).max() ?? 0
        for (key, value) in lines {
            print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
    }
}

/// `graft cache merge A.h5 B.h5 … -o OUT.h5 [--virtual]`.
struct CacheMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge shard caches made with the same model, layers, pool, preprocessing and classes.",
        discussion: """
            Ids must be unique across the shards; rows come out in argument order. With --virtual the \
            output holds HDF5 virtual datasets over the shards (paths relative to the output), so the \
            shards must stay in place; otherwise the rows are copied.
            """)

    @Argument(help: "The shard caches, in order.")
    var shards: [String]

    @Option(name: .shortAndLong, help: "The merged cache to write.")
    var output: String

    @Flag(help: "Write virtual datasets over the shards instead of copying their rows.")
    var virtual = false

    func validate() throws {
        guard !shards.isEmpty else { throw ValidationError("give at least one shard cache") }
    }

    func run() throws {
        try FeatureCacheMerge.merge(shards, into: output, virtual: virtual)
        let rows = try FeatureCache(path: output).rowCount
        printDiagnostic("merged \(shards.count) shard\(shards.count == 1 ? "" : "s") into '\(output)': \(rows) rows\(virtual ? " (virtual)" : "")")
    }
}

/// `graft cache export CACHE.h5 --layer NAME --format npy|csv [-o OUT]`.
struct CacheExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write one layer's features as NumPy .npy or CSV, for tools that do not read HDF5.")

    @Argument(help: "The feature cache (.h5).")
    var cache: String

    @Option(help: "The layer to export (default: the cache's only layer).")
    var layer: String?

    @Option(help: "npy (float32 [N, D]) or csv (id,label,f0,…).")
    var format: String

    @Option(name: .shortAndLong, help: "The file to write (default: standard output).")
    var output: String?

    func validate() throws {
        guard FeatureExportFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be npy or csv, not '\(format)'")
        }
    }

    func run() throws {
        let cache = try FeatureCache(path: cache)
        let chosen: String
        if let layer {
            chosen = layer
        } else if cache.layers.count == 1 {
            chosen = cache.layers[0]
        } else {
            throw ValidationError("the cache has \(cache.layers.count) layers (\(cache.layers.joined(separator: ", "))); choose one with --layer")
        }
        let bytes = try cache.exportedBytes(of: chosen, format: FeatureExportFormat(rawValue: format)!)
        if let output {
            try writeFileAtomically(bytes, to: output)
        } else {
            FileHandle.standardOutput.write(Data(bytes))
        }
    }
}
