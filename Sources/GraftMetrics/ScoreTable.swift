#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GraftSupport
/// Scores read from a TSV file or stdin, in one of the two layouts `graft auc` accepts.
///
/// - `predictions`: `graft predict`'s output. A header `id⇥label⇥<class 1>⇥…⇥<class k>` (k ≥ 2),
///   then one row per sample: its id, its class name (empty when unlabelled) and k scores.
/// - `labelAndScore`: a header `label⇥score`, then a label (two distinct values, e.g. 0/1 or two
///   names; empty when unlabelled) and one score per row.
///
/// The whole input is read into memory once and parsed in place; numbers are converted with
/// correct rounding (see `DecimalParsing`). Lines may end in LF or CRLF; empty lines are
/// ignored. Every score must be finite (scikit-learn refuses NaN and infinity): the error names
/// the line and the row's id.
public struct ScoreTable: Sendable {
    /// The two accepted layouts.
    public enum Layout: Sendable, Equatable {
        case predictions
        case labelAndScore
    }

    /// The path, or `<stdin>`.
    public let source: String
    public let layout: Layout
    /// The class columns of a `predictions` table; the label values of a `labelAndScore` table in
    /// order of first appearance.
    public let classNames: [String]
    /// Row-major scores: `rowCount × columnCount`.
    public let scores: [Double]
    /// Each row's index into `classNames`, or −1 for an unlabelled row.
    public let labels: [Int32]
    /// Rows whose label is empty.
    public let unlabelledCount: Int
    /// Data rows: the file line each starts on, 1-based (the header is line 1).
    let lineNumbers: [Int32]
    /// `predictions` only: where each row's id starts in `text`, and its length.
    let idStarts: [Int]
    let idLengths: [Int32]
    let text: TextBuffer

    public var rowCount: Int { labels.count }
    /// Scores per row: k for `predictions`, 1 for `labelAndScore`.
    public var columnCount: Int { layout == .predictions ? classNames.count : 1 }

    /// The id of a row (`predictions`), or nil (`labelAndScore`, which has none).
    public func id(ofRow row: Int) -> String? {
        guard layout == .predictions else { return nil }
        let start = idStarts[row], length = Int(idLengths[row])
        return String(decoding: UnsafeRawBufferPointer(rebasing: text.bytes[start..<(start + length)]), as: UTF8.self)
    }

    /// The 1-based file line a row is on.
    public func lineNumber(ofRow row: Int) -> Int { Int(lineNumbers[row]) }

    /// "line 12 (id img_0007)" or "line 12": how errors name a row.
    public func rowDescription(_ row: Int) -> String {
        if let id = id(ofRow: row) { return "'\(source)' line \(lineNumber(ofRow: row)) (id \(quoted(id)))" }
        return "'\(source)' line \(lineNumber(ofRow: row))"
    }

    /// Reads `path`, or stdin when `path` is nil or `-`.
    public static func read(path: String?) throws -> ScoreTable {
        if let path, path != "-" {
            let buffer = try TextBuffer(contentsOf: path)
            return try ScoreTable(text: buffer, source: path)
        }
        let buffer = try TextBuffer(readingStandardInput: ())
        return try ScoreTable(text: buffer, source: "<stdin>")
    }

    /// Parses TSV text (for tests and in-memory use).
    public init(parsing text: String, source: String = "<text>") throws(ScoreTableError) {
        try self.init(text: TextBuffer(copying: Array(text.utf8)), source: source)
    }

    init(text: TextBuffer, source: String) throws(ScoreTableError) {
        self.text = text
        self.source = source
        let base = UnsafePointer(text.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        let end = base + text.count
        var cursor = base
        var line = 1

        // The header: the first non-empty line.
        func lineEnd(from start: UnsafePointer<UInt8>) -> UnsafePointer<UInt8> {
            let remaining = end - start
            guard remaining > 0, let newline = memchr(start, 0x0A, remaining) else { return end }
            return UnsafePointer(newline.assumingMemoryBound(to: UInt8.self))
        }
        func contentEnd(_ start: UnsafePointer<UInt8>, _ stop: UnsafePointer<UInt8>) -> UnsafePointer<UInt8> {
            stop > start && stop[-1] == 0x0D ? stop - 1 : stop
        }
        var headerFields: [String] = []
        while cursor < end {
            let stop = lineEnd(from: cursor)
            let content = contentEnd(cursor, stop)
            if content > cursor {
                let bytes = UnsafeBufferPointer(start: cursor, count: content - cursor)
                headerFields = bytes.split(separator: 0x09, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                cursor = stop < end ? stop + 1 : end
                break
            }
            cursor = stop < end ? stop + 1 : end
            line += 1
        }
        guard !headerFields.isEmpty else { throw .empty(source: source) }
        let headerLine = line

        if headerFields == ["label", "score"] {
            layout = .labelAndScore
        } else if headerFields.count >= 4, headerFields[0] == "id", headerFields[1] == "label" {
            layout = .predictions
        } else {
            throw .unrecognizedHeader(source: source, header: headerFields.joined(separator: "\t"))
        }

        var scores: [Double] = []
        var labels: [Int32] = []
        var lineNumbers: [Int32] = []
        var idStarts: [Int] = []
        var idLengths: [Int32] = []
        var unlabelled = 0
        let estimatedRows = max(16, (end - cursor) / 16)
        labels.reserveCapacity(estimatedRows)
        lineNumbers.reserveCapacity(estimatedRows)

        if layout == .labelAndScore {
            scores.reserveCapacity(estimatedRows)
            var names: [[UInt8]] = []
            line = headerLine
            while cursor < end {
                line += 1
                let lineStart = cursor
                // Label: up to the tab.
                var p = cursor
                while p < end && p[0] != 0x09 && p[0] != 0x0A { p += 1 }
                if p >= end || p[0] == 0x0A {
                    let content = contentEnd(lineStart, p)
                    if content == lineStart { cursor = p < end ? p + 1 : end; continue }
                    throw .fieldCount(source: source, line: line, id: nil, expected: 2, found: 1)
                }
                let labelLength = p - lineStart
                let label: Int32
                if labelLength == 0 {
                    label = -1
                } else if names.count > 0 && names[0].count == labelLength && memcmp(names[0], lineStart, labelLength) == 0 {
                    label = 0
                } else if names.count > 1 && names[1].count == labelLength && memcmp(names[1], lineStart, labelLength) == 0 {
                    label = 1
                } else {
                    let name = Array(UnsafeBufferPointer(start: lineStart, count: labelLength))
                    guard names.count < 2 else {
                        throw .tooManyLabelValues(source: source, line: line,
                                                  values: (names + [name]).map { String(decoding: $0, as: UTF8.self) })
                    }
                    names.append(name)
                    label = Int32(names.count - 1)
                }
                p += 1
                guard let (value, after) = DecimalParsing.parse(p) else {
                    let stop = lineEnd(from: p)
                    throw .notANumber(source: source, line: line, id: nil, column: "score",
                                      text: String(decoding: UnsafeBufferPointer(start: p, count: contentEnd(p, stop) - p), as: UTF8.self))
                }
                var q = after
                if q < end && q[0] == 0x0D { q += 1 }
                if q < end && q[0] != 0x0A {
                    let stop = lineEnd(from: p)
                    let content = contentEnd(p, stop)
                    // The number may end past the line's trimmed content (it can take trailing
                    // spaces): only look for a tab in what is left.
                    if content > after, memchr(after, 0x09, content - after) != nil {
                        let fields = UnsafeBufferPointer(start: lineStart, count: content - lineStart).split(separator: 0x09, omittingEmptySubsequences: false).count
                        throw .fieldCount(source: source, line: line, id: nil, expected: 2, found: fields)
                    }
                    throw .notANumber(source: source, line: line, id: nil, column: "score",
                                      text: String(decoding: UnsafeBufferPointer(start: p, count: content - p), as: UTF8.self))
                }
                guard value.isFinite else {
                    throw .nonFinite(source: source, line: line, id: nil, column: "score", value: value)
                }
                if label < 0 { unlabelled += 1 }
                scores.append(value)
                labels.append(label)
                lineNumbers.append(Int32(truncatingIfNeeded: line))
                cursor = q < end ? q + 1 : end
            }
            classNames = names.map { String(decoding: $0, as: UTF8.self) }
        } else {
            let names = Array(headerFields[2...])
            var seen = Set<String>()
            for name in names {
                guard !name.isEmpty else { throw .emptyClassName(source: source) }
                guard seen.insert(name).inserted else { throw .duplicateClass(source: source, name: name) }
            }
            classNames = names
            let k = names.count
            let nameBytes = names.map { Array($0.utf8) }
            scores.reserveCapacity(estimatedRows * k)
            idStarts.reserveCapacity(estimatedRows)
            idLengths.reserveCapacity(estimatedRows)
            line = headerLine
            while cursor < end {
                line += 1
                let lineStart = cursor
                let stop = lineEnd(from: cursor)
                let content = contentEnd(cursor, stop)
                cursor = stop < end ? stop + 1 : end
                if content == lineStart { continue }
                // id
                var p = lineStart
                while p < content && p[0] != 0x09 { p += 1 }
                let idLength = p - lineStart
                let idText = { String(decoding: UnsafeBufferPointer(start: lineStart, count: idLength), as: UTF8.self) }
                func fieldCount() -> Int {
                    UnsafeBufferPointer(start: lineStart, count: content - lineStart).split(separator: 0x09, omittingEmptySubsequences: false).count
                }
                guard p < content else { throw .fieldCount(source: source, line: line, id: idText(), expected: k + 2, found: 1) }
                p += 1
                let labelStart = p
                while p < content && p[0] != 0x09 { p += 1 }
                let labelLength = p - labelStart
                guard p < content else { throw .fieldCount(source: source, line: line, id: idText(), expected: k + 2, found: fieldCount()) }
                var label: Int32 = -1
                if labelLength > 0 {
                    for (index, name) in nameBytes.enumerated() where name.count == labelLength && memcmp(name, labelStart, labelLength) == 0 {
                        label = Int32(index)
                        break
                    }
                    guard label >= 0 else {
                        throw .unknownLabel(source: source, line: line, id: idText(),
                                            label: String(decoding: UnsafeBufferPointer(start: labelStart, count: labelLength), as: UTF8.self),
                                            classes: names)
                    }
                } else {
                    unlabelled += 1
                }
                for column in 0..<k {
                    p += 1  // the tab
                    guard p <= content, let (value, after) = DecimalParsing.parse(p), after <= content,
                          after == content || after[0] == 0x09 else {
                        let found = fieldCount()
                        if found != k + 2 {
                            throw .fieldCount(source: source, line: line, id: idText(), expected: k + 2, found: found)
                        }
                        var fieldEnd = p
                        while fieldEnd < content && fieldEnd[0] != 0x09 { fieldEnd += 1 }
                        throw .notANumber(source: source, line: line, id: idText(), column: names[column],
                                          text: String(decoding: UnsafeBufferPointer(start: p, count: max(0, fieldEnd - p)), as: UTF8.self))
                    }
                    guard value.isFinite else {
                        throw .nonFinite(source: source, line: line, id: idText(), column: names[column], value: value)
                    }
                    scores.append(value)
                    p = after
                    if column < k - 1 && p == content {
                        throw .fieldCount(source: source, line: line, id: idText(), expected: k + 2, found: fieldCount())
                    }
                }
                guard p == content else {
                    throw .fieldCount(source: source, line: line, id: idText(), expected: k + 2, found: fieldCount())
                }
                labels.append(label)
                lineNumbers.append(Int32(truncatingIfNeeded: line))
                idStarts.append(lineStart - base)
                idLengths.append(Int32(truncatingIfNeeded: idLength))
            }
        }
        self.scores = scores
        self.labels = labels
        self.lineNumbers = lineNumbers
        self.idStarts = idStarts
        self.idLengths = idLengths
        unlabelledCount = unlabelled
    }
}

/// What is wrong with a scores TSV. Every case is bad data (exit status 65) and names the
/// source and, where there is one, the line and the row's id.
public enum ScoreTableError: GraftError, Equatable {
    case empty(source: String)
    case unrecognizedHeader(source: String, header: String)
    case emptyClassName(source: String)
    case duplicateClass(source: String, name: String)
    case fieldCount(source: String, line: Int, id: String?, expected: Int, found: Int)
    case notANumber(source: String, line: Int, id: String?, column: String, text: String)
    case nonFinite(source: String, line: Int, id: String?, column: String, value: Double)
    case unknownLabel(source: String, line: Int, id: String?, label: String, classes: [String])
    case tooManyLabelValues(source: String, line: Int, values: [String])

    public var exitStatus: ExitStatus { .dataError }

    private static func place(_ source: String, _ line: Int, _ id: String?) -> String {
        if let id { return "'\(source)' line \(line) (id \(quoted(id)))" }
        return "'\(source)' line \(line)"
    }

    public var description: String {
        switch self {
        case let .empty(source):
            "'\(source)' is empty; expected a header 'id<TAB>label<TAB><classes…>' or 'label<TAB>score' and rows of scores"
        case let .unrecognizedHeader(source, header):
            "'\(source)' starts with '\(quoted(header))'; expected graft predict's header 'id<TAB>label<TAB><class 1><TAB><class 2>…' or 'label<TAB>score'"
        case let .emptyClassName(source):
            "'\(source)' has an empty class name in its header"
        case let .duplicateClass(source, name):
            "'\(source)' names class '\(quoted(name))' twice in its header"
        case let .fieldCount(source, line, id, expected, found):
            "\(Self.place(source, line, id)) has \(found) tab-separated fields, expected \(expected)"
        case let .notANumber(source, line, id, column, text):
            "\(Self.place(source, line, id)): score '\(quoted(text))' for \(quoted(column)) is not a number"
        case let .nonFinite(source, line, id, column, value):
            "\(Self.place(source, line, id)): score for \(quoted(column)) is \(value); scores must be finite"
        case let .unknownLabel(source, line, id, label, classes):
            "\(Self.place(source, line, id)): label '\(quoted(label))' is not one of the classes \(quoted(classes.joined(separator: ", "), limit: 160))"
        case let .tooManyLabelValues(source, line, values):
            "'\(source)' line \(line): a third label value '\(quoted(values.last ?? ""))' after \(values.dropLast().map { "'\(quoted($0))'" }.joined(separator: " and ")); the label/score layout is binary (use graft predict's layout for multiclass)"
        }
    }
}

/// A whole input held in memory with a NUL after its last byte, so that `strtod` can never
/// read past the end.
final class TextBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    /// The input's length, not counting the NUL.
    let count: Int

    init(copying data: [UInt8]) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: data.count + 1, alignment: 16)
        data.withUnsafeBytes { storage.copyMemory(from: $0) }
        storage[data.count] = 0
        bytes = storage
        count = data.count
    }

    init(contentsOf path: String) throws(FileError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var information = stat()
        guard fstat(descriptor, &information) == 0 else { throw .readFailed(path: path, reason: String(cString: strerror(errno))) }
        // A regular file is read into one buffer of its size (plus room to see the end); a pipe
        // grows its buffer as it goes.
        let size = (information.st_mode & S_IFMT) == S_IFREG ? Int(information.st_size) : 0
        (bytes, count) = try Self.readToEnd(descriptor, path: path, capacity: max(1 << 20, size + (1 << 16) + 2))
    }

    init(readingStandardInput: ()) throws(FileError) {
        (bytes, count) = try Self.readToEnd(0, path: "<stdin>", capacity: 1 << 20)
    }

    /// Reads until end of file into a buffer of `capacity` bytes, doubled when less than 64 KiB
    /// is left, with a 0 byte after the data.
    private static func readToEnd(_ descriptor: Int32, path: String, capacity initial: Int) throws(FileError) -> (UnsafeMutableRawBufferPointer, Int) {
        var capacity = initial
        var storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        var filled = 0
        while true {
            if capacity - filled < (1 << 16) + 1 {
                let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity * 2, alignment: 16)
                larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[0..<filled]))
                storage.deallocate()
                storage = larger
                capacity *= 2
            }
            let got = read(descriptor, storage.baseAddress! + filled, capacity - filled - 1)
            if got < 0 && errno == EINTR { continue }
            if got < 0 {
                storage.deallocate()
                throw .readFailed(path: path, reason: String(cString: strerror(errno)))
            }
            if got == 0 { break }
            filled += got
        }
        storage[filled] = 0
        return (storage, filled)
    }

    deinit { bytes.deallocate() }
}
