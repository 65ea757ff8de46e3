/// graft's version, recorded in every file it writes.
public enum GraftVersion {
    public static let current = "0.1.0"
    /// `graft 0.1.0`: the converter string in provenance.
    public static var tool: String { "graft \(current)" }
}
