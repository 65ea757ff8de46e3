/// `text` made fit for quoting inside a one-line error message: at most `limit` characters of
/// it, with an ellipsis ("…") marking a cut, and with newlines, tabs and other control
/// characters shown escaped (`\n`, `\t`, `\r`, `\u{1B}`), so the message stays one short line
/// whatever the input held.
///
/// Only the quoted text is returned; the caller adds the quotation marks.
public func quoted(_ text: some StringProtocol, limit: Int = 80) -> String {
    var result = ""
    var shown = 0
    var iterator = text.unicodeScalars.makeIterator()
    while let scalar = iterator.next() {
        let piece: String
        switch scalar {
        case "\n": piece = "\\n"
        case "\r": piece = "\\r"
        case "\t": piece = "\\t"
        default:
            if scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" {
                piece = "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                piece = String(scalar)
            }
        }
        if shown >= limit {
            result += "…"
            return result
        }
        result += piece
        shown += 1
    }
    return result
}

/// `text` as one line: every line break (and other control character) replaced by a space,
/// runs of spaces collapsed and the ends trimmed. For messages from libraries (such as HDF5's
/// error stack) that may span lines.
public func singleLine(_ text: some StringProtocol) -> String {
    var result = ""
    var pendingSpace = false
    for scalar in text.unicodeScalars {
        if scalar.properties.generalCategory == .control || scalar == " " || scalar == "\u{2028}" || scalar == "\u{2029}" {
            pendingSpace = !result.isEmpty
            continue
        }
        if pendingSpace { result += " "; pendingSpace = false }
        result.unicodeScalars.append(scalar)
    }
    return result
}
