/// Names handed out once each, for importers naming graft nodes and values after the source's
/// layers: a name already taken gets `_2`, `_3`, … appended.
public struct UniqueNames: Sendable {
    private var taken: Set<String> = []

    public init() {}

    /// Whether `name` has been taken.
    public func contains(_ name: String) -> Bool { taken.contains(name) }

    /// Takes `name` as it is; false if it was taken already.
    @discardableResult
    public mutating func insert(_ name: String) -> Bool { taken.insert(name).inserted }

    /// Takes and returns `base`, or the first of `base_2`, `base_3`, … not yet taken.
    public mutating func claim(_ base: String) -> String {
        var name = base
        var suffix = 2
        while taken.contains(name) {
            name = "\(base)_\(suffix)"
            suffix += 1
        }
        taken.insert(name)
        return name
    }
}
