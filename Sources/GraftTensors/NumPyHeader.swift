import GraftSupport
/// The dictionary of a `.npy` header, such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
struct NumPyHeader: Equatable {
    var descriptor: String
    var isFortranOrder: Bool
    var shape: [Int]

    /// The padded header text NumPy's `np.save` writes, without the magic and length prefix.
    ///
    /// The keys are sorted and, as NumPy ≥ 1.24 does, spaces after the dictionary leave room
    /// for the first dimension to grow to 21 digits in place.
    var text: String {
        var text = "{'descr': '\(descriptor)', 'fortran_order': \(isFortranOrder ? "True" : "False"), 'shape': \(describeShape(shape)), }"
        if let growing = isFortranOrder ? shape.last : shape.first {
            text += String(repeating: " ", count: max(0, 21 - String(growing).count))
        }
        return text
    }
}

/// Parses the Python dictionary literal of a `.npy` header.
///
/// The grammar is the subset of Python literals NumPy headers use: keys are quoted strings;
/// values are strings, `True`/`False`, tuples of non-negative integers (an `L` suffix from
/// Python 2 is allowed) or, for structured dtypes, bracketed lists that are kept as text.
/// Whitespace is free and trailing commas are allowed.
struct NumPyHeaderParser {
    /// A parse failure; the reason becomes part of `NumPyError.malformedHeader`.
    struct Failure: Error {
        var reason: String
    }

    private enum Value {
        case string(String)
        case bool(Bool)
        case tuple([Int])
        /// A list or dictionary, kept as its source text (a structured dtype's `descr`).
        case other(String)
    }

    private let bytes: [UInt8]
    private let isUTF8: Bool
    private var index = 0

    /// - Parameter isUTF8: whether the text is UTF-8 (version 3.0) rather than Latin-1.
    init(bytes: [UInt8], isUTF8: Bool) {
        self.bytes = bytes
        self.isUTF8 = isUTF8
    }

    static func parse(_ bytes: [UInt8], isUTF8: Bool) throws(Failure) -> NumPyHeader {
        var parser = NumPyHeaderParser(bytes: bytes, isUTF8: isUTF8)
        return try parser.parseHeader()
    }

    private mutating func parseHeader() throws(Failure) -> NumPyHeader {
        if isUTF8, String(validating: bytes, as: UTF8.self) == nil {
            throw Failure(reason: "the header of a version 3.0 file is not valid UTF-8")
        }
        var entries: [String: Value] = [:]
        skipWhitespace()
        try expect(UInt8(ascii: "{"), "the header does not start with '{'")
        while true {
            skipWhitespace()
            if peek == UInt8(ascii: "}") { index += 1; break }
            guard peek == UInt8(ascii: "'") || peek == UInt8(ascii: "\"") else {
                throw failure("expected a quoted key or '}'")
            }
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "expected ':' after key '\(quoted(key))'")
            skipWhitespace()
            let value = try parseValue()
            guard entries.updateValue(value, forKey: key) == nil else {
                throw Failure(reason: "key '\(quoted(key))' appears twice")
            }
            skipWhitespace()
            if peek == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"), "expected ',' or '}' after the value of '\(quoted(key))'")
            break
        }
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected text after the closing '}'") }

        for key in entries.keys.sorted() where !["descr", "fortran_order", "shape"].contains(key) {
            throw Failure(reason: "unexpected key '\(quoted(key))'; expected 'descr', 'fortran_order' and 'shape'")
        }
        let descriptor: String
        switch entries["descr"] {
        case let .string(text)?: descriptor = text
        case let .other(text)?: descriptor = text
        case nil: throw Failure(reason: "missing key 'descr'")
        default: throw Failure(reason: "'descr' is not a string")
        }
        guard let fortranValue = entries["fortran_order"] else { throw Failure(reason: "missing key 'fortran_order'") }
        guard case let .bool(isFortranOrder) = fortranValue else {
            throw Failure(reason: "'fortran_order' is not True or False")
        }
        guard let shapeValue = entries["shape"] else { throw Failure(reason: "missing key 'shape'") }
        guard case let .tuple(shape) = shapeValue else {
            throw Failure(reason: "'shape' is not a tuple of integers")
        }
        return NumPyHeader(descriptor: descriptor, isFortranOrder: isFortranOrder, shape: shape)
    }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func failure(_ reason: String) -> Failure {
        if index >= bytes.count { return Failure(reason: "\(reason), but the header ends") }
        let character = bytes[index] < 0x80 && bytes[index] >= 0x20
            ? "'\(Character(Unicode.Scalar(bytes[index])))'" : "byte 0x" + hexString([bytes[index]])
        return Failure(reason: "\(reason) at offset \(index) of the header, found \(character)")
    }

    private mutating func expect(_ byte: UInt8, _ reason: String) throws(Failure) {
        guard peek == byte else { throw failure(reason) }
        index += 1
    }

    private mutating func skipWhitespace() {
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d {
            index += 1
        }
    }

    private mutating func parseValue() throws(Failure) -> Value {
        switch peek {
        case UInt8(ascii: "'")?, UInt8(ascii: "\"")?:
            return .string(try parseString())
        case UInt8(ascii: "("):
            return .tuple(try parseTuple())
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            let start = index
            try skipBracketed()
            return .other(decode(bytes[start..<index]))
        default:
            if consumeWord("True") { return .bool(true) }
            if consumeWord("False") { return .bool(false) }
            throw failure("expected a value")
        }
    }

    private mutating func consumeWord(_ word: String) -> Bool {
        let letters = Array(word.utf8)
        guard bytes.count - index >= letters.count, Array(bytes[index..<(index + letters.count)]) == letters else {
            return false
        }
        let end = index + letters.count
        if end < bytes.count, isIdentifierByte(bytes[end]) { return false }
        index = end
        return true
    }

    private func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    /// A quoted Python string; a backslash takes the next byte literally.
    private mutating func parseString() throws(Failure) -> String {
        let quote = bytes[index]
        index += 1
        var content: [UInt8] = []
        while true {
            guard let byte = peek else { throw failure("unterminated string") }
            index += 1
            if byte == quote { break }
            if byte == 0x0a { index -= 1; throw failure("unterminated string") }
            if byte == UInt8(ascii: "\\") {
                guard let escaped = peek else { throw failure("unterminated string") }
                content.append(escaped)
                index += 1
            } else {
                content.append(byte)
            }
        }
        return decode(content[...])
    }

    private func decode(_ slice: ArraySlice<UInt8>) -> String {
        if isUTF8 { return String(decoding: slice, as: UTF8.self) }
        var text = ""
        text.unicodeScalars.append(contentsOf: slice.map { Unicode.Scalar($0) })
        return text
    }

    /// `(2, 3)`, `(5,)`, `()`, `(2L, 3L)`.
    private mutating func parseTuple() throws(Failure) -> [Int] {
        index += 1
        var values: [Int] = []
        while true {
            skipWhitespace()
            if peek == UInt8(ascii: ")") { index += 1; return values }
            values.append(try parseDimension())
            skipWhitespace()
            if peek == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: ")"), "expected ',' or ')' in 'shape'")
            return values
        }
    }

    private mutating func parseDimension() throws(Failure) -> Int {
        if peek == UInt8(ascii: "-") { throw failure("a dimension of 'shape' is negative") }
        guard let first = peek, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else {
            throw failure("expected a non-negative integer in 'shape'")
        }
        var value = 0
        while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (scaled, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = scaled.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw failure("a dimension of 'shape' does not fit in 64 bits") }
            value = sum
            index += 1
        }
        if peek == UInt8(ascii: "L") || peek == UInt8(ascii: "l") { index += 1 }
        if let byte = peek, isIdentifierByte(byte) { throw failure("expected a non-negative integer in 'shape'") }
        return value
    }

    /// Skips a bracketed list or dictionary, including nested brackets and quoted strings.
    private mutating func skipBracketed() throws(Failure) {
        var closers: [UInt8] = []
        repeat {
            guard let byte = peek else { throw failure("unbalanced brackets in a value") }
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                _ = try parseString()
                continue
            case UInt8(ascii: "["): closers.append(UInt8(ascii: "]"))
            case UInt8(ascii: "("): closers.append(UInt8(ascii: ")"))
            case UInt8(ascii: "{"): closers.append(UInt8(ascii: "}"))
            case UInt8(ascii: "]"), UInt8(ascii: ")"), UInt8(ascii: "}"):
                guard byte == closers.last else { throw failure("unbalanced brackets in a value") }
                closers.removeLast()
            default: break
            }
            index += 1
        } while !closers.isEmpty
    }
}
