import GraftSupport
/// A feature cache that cannot be read, resumed, merged or exported as asked.
///
/// Every case names the file and what to do about it; all of them are bad data (exit status 65)
/// except `missingShard` (66) and `cacheInUse` (73, the output cannot be written now).
public enum FeatureCacheError: GraftError, Equatable {
    /// The file is HDF5 but not a feature cache, or a part of one is missing or inconsistent.
    case notACache(path: String, reason: String)
    /// The cache was written by a newer graft.
    case unsupportedVersion(path: String, version: Int64)
    /// The cache holds features made differently from what the command asks for.
    case provenanceMismatch(path: String, differences: [ProvenanceDifference])
    /// The cache's class list differs from the input's.
    case classesMismatch(path: String, cached: [String], requested: [String])
    /// A layer's feature length in the cache differs from what the model produces.
    case dimensionMismatch(path: String, layer: String, cached: Int, requested: Int)
    /// The requested layer is not in the cache.
    case unknownLayer(path: String, layer: String, layers: [String])
    /// A shard's provenance differs from the first shard's.
    case shardMismatch(path: String, firstShard: String, attribute: String)
    /// The same id is in two shards (or twice in one).
    case duplicateID(id: String, firstShard: String, secondShard: String)
    /// A shard file does not exist.
    case missingShard(path: String)
    /// Another process is writing the cache (it holds the cache's writer lock): `holder` is its
    /// process id, `command` its command line where `/proc` shows it.
    case cacheInUse(path: String, holder: Int32, command: String?)

    public var exitStatus: ExitStatus {
        switch self {
        case .missingShard: .noInput
        case .cacheInUse: .cannotCreate
        default: .dataError
        }
    }

    public var description: String {
        switch self {
        case let .notACache(path, reason):
            "'\(path)' is not a graft feature cache: \(reason)"
        case let .unsupportedVersion(path, version):
            "'\(path)' is a feature cache of format version \(version); this graft reads version 1, upgrade graft"
        case let .provenanceMismatch(path, differences):
            "the cache '\(path)' was made with a different "
                + differences.map { "\($0.attribute) (cache: \(shorten($0.cached)), now: \(shorten($0.requested)))" }.joined(separator: ", ")
                + "; features are never mixed: write to a new cache or repeat the original options"
        case let .classesMismatch(path, cached, requested):
            "the cache '\(path)' has classes [\(cached.joined(separator: ","))] but the input has [\(requested.joined(separator: ","))]; "
                + "fix the class list with --classes to extend it"
        case let .dimensionMismatch(path, layer, cached, requested):
            "layer '\(layer)' has \(cached) features per image in '\(path)' but the model gives \(requested)"
        case let .unknownLayer(path, layer, layers):
            "the cache '\(path)' has no layer '\(layer)'; it has " + layers.map { "'\($0)'" }.joined(separator: ", ")
        case let .shardMismatch(path, firstShard, attribute):
            "'\(path)' differs from '\(firstShard)' in \(attribute); only shards made with the same model, layers, pool, preprocessing and classes can be merged"
        case let .duplicateID(id, firstShard, secondShard):
            firstShard == secondShard
                ? "the id '\(id)' appears twice in '\(firstShard)'"
                : "the id '\(id)' is in both '\(firstShard)' and '\(secondShard)'; shards must not overlap"
        case let .missingShard(path):
            "cannot open '\(path)': no such file"
        case let .cacheInUse(path, holder, command):
            "the cache '\(path)' is being written by another process (pid \(holder)\(command.map { ": \(quoted($0))" } ?? "")); "
                + "one writer per cache: wait for it to finish or stop it, then rerun to resume"
        }
    }
}

/// A long attribute value cut for a one-line message.
private func shorten(_ text: String) -> String {
    text.count <= 80 ? text : String(text.prefix(77)) + "..."
}
