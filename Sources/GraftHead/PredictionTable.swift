/// The TSV `graft predict` writes and `graft auc` reads.
///
/// A header `id⇥label⇥<class 1>⇥…⇥<class k>`, then one line per image: its id, its class name
/// (empty when unlabelled) and its k probabilities. Probabilities are written in Swift's
/// shortest form that reads back as the same float32 (at most 9 significant digits, like
/// `%.9g`), so the TSV loses nothing. Tabs, line breaks and backslashes inside ids and class
/// names are written as `\t`, `\n`, `\r` and `\\`.
public enum PredictionTable {
    /// The header line, with its line break.
    public static func header(classes: [String]) -> String {
        "id\tlabel" + classes.map { "\t" + escaped($0) }.joined() + "\n"
    }

    /// Appends one line per row: `ids[i]`, `labels[i]` (nil when unlabelled), and the `k`
    /// probabilities `probabilities[i·k ..< (i+1)·k]`.
    public static func appendRows(to text: inout String, ids: [String], labels: [String?], probabilities: [Float], classCount k: Int) {
        precondition(ids.count == labels.count && probabilities.count == ids.count * k)
        for row in ids.indices {
            text += escaped(ids[row])
            text += "\t"
            if let label = labels[row] { text += escaped(label) }
            for j in 0..<k {
                text += "\t"
                text += probabilities[row * k + j].description
            }
            text += "\n"
        }
    }

    /// A field with tabs, line breaks and backslashes escaped.
    public static func escaped(_ field: String) -> String {
        guard field.contains(where: { $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\\" || $0 == "\r\n" }) else { return field }
        var result = ""
        for character in field {
            switch character {
            case "\t": result += "\\t"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\r\n": result += "\\r\\n"
            case "\\": result += "\\\\"
            default: result.append(character)
            }
        }
        return result
    }
}
