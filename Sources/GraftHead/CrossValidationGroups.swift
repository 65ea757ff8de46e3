import Foundation
import GraftSupport
/// The group of each training row for `graft train --cv --groups`: images of one patient, site
/// or video, which must not sit on both sides of a fold.
public enum GroupAssignment {
    /// The group of each id in `ids`, from `source`: the path of a TSV file of `id<TAB>group`
    /// lines (a first line `id<TAB>group` is a header), or, when no such file exists, a regular
    /// expression searched in each id whose first capture group (or, without one, whole match)
    /// is the group.
    ///
    /// - Throws: `HeadError.missingGroup` for an id the file does not list or the expression
    ///   does not match; `FileError` when the file cannot be read.
    public static func groups(of ids: [String], from source: String, cache: String) throws -> [String] {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: source, isDirectory: &isFolder), !isFolder.boolValue {
            var table: [String: String] = [:]
            for (number, line) in try readTextFile(source).split(whereSeparator: \.isNewline).enumerated() {
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard fields.count == 2 else {
                    throw HeadError.badGroupFile(path: source, line: number + 1, reason: "expected 'id<TAB>group', found \(fields.count) field\(fields.count == 1 ? "" : "s")")
                }
                if number == 0 && fields[0] == "id" && fields[1] == "group" { continue }
                table[String(fields[0])] = String(fields[1])
            }
            return try ids.map { id in
                guard let group = table[id] else { throw HeadError.missingGroup(cache: cache, id: id, source: "'\(source)'") }
                return group
            }
        }
        let expression: NSRegularExpression
        do {
            expression = try NSRegularExpression(pattern: source)
        } catch {
            throw HeadError.badGroupFile(path: source, line: 0, reason: "it is neither a file nor a valid regular expression")
        }
        return try ids.map { id in
            let range = NSRange(id.startIndex..., in: id)
            guard let match = expression.firstMatch(in: id, range: range) else {
                throw HeadError.missingGroup(cache: cache, id: id, source: "regular expression '\(quoted(source))'")
            }
            let captured = match.numberOfRanges > 1 && match.range(at: 1).location != NSNotFound ? match.range(at: 1) : match.range
            return String(id[Range(captured, in: id)!])
        }
    }
}

extension CrossValidationResult {
    /// The fold scores as a table for stderr (`full`), or only the line naming the choice.
    public func table(full: Bool) -> String {
        let names = candidates.map { candidate in
            candidate.keys.sorted().map { key in
                let value = candidate[key]!
                return key == "hidden" ? "hidden=\(Int(value))" : "\(key)=\(String(format: "%.4g", value))"
            }.joined(separator: " ")
        }
        var lines: [String] = []
        if full {
            lines.append("cross-validation: \(scores.count) \(splitter) folds of \(foldSizes.map(String.init).joined(separator: ", ")) rows, scoring \(scoring.rawValue)")
            let width = max(12, (names.map(\.count).max() ?? 0) + 2)
            var header = "candidate".padding(toLength: width, withPad: " ", startingAt: 0)
            func right(_ text: String) -> String { String(repeating: " ", count: max(0, 10 - text.count)) + text }
            for fold in scores.indices { header += right("fold \(fold + 1)") }
            lines.append(header + right("mean"))
            for index in candidates.indices {
                var line = names[index].padding(toLength: width, withPad: " ", startingAt: 0)
                for fold in scores.indices { line += String(format: "%10.4f", scores[fold][index]) }
                line += String(format: "%10.4f", meanScores[index]) + (index == bestIndex ? "  *" : "")
                lines.append(line)
            }
        }
        lines.append("cross-validation chose \(names[bestIndex]) (mean \(scoring.rawValue) \(String(format: "%.4f", meanScores[bestIndex])) over \(scores.count) folds)")
        return lines.joined(separator: "\n")
    }
}
