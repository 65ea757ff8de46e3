import GraftProtobuf
internal import CGraftProtobufC
internal import CGraftCaffeProto
import Foundation
import GraftSupport
/// Protobuf text format (the prototxt syntax), read against protobuf-c descriptors.
///
/// The parser knows no Caffe message: it looks every field name up in the descriptor of the
/// message being read, encodes the values as protobuf wire bytes (repeated scalars unpacked, one
/// field per value) and the caller unpacks those bytes with `protobuf_c_message_unpack`. It
/// accepts what Caffe's prototxts use from the text format: `#` comments; `name: value`;
/// `name { … }`, `name: { … }` and `name < … >`; enums by name or number; single- or
/// double-quoted strings with C escapes, adjacent strings concatenated; decimal, hexadecimal and
/// octal integers; floats with exponents, an optional `f` suffix, `inf`, `-inf`, `infinity` and
/// `nan`; `true`/`false`/`t`/`f`/`1`/`0`; list values `name: [a, b]` (messages too); `,` or `;`
/// after a field. Unknown field names, a repeated non-repeated field and out-of-range numbers
/// are errors, reported with line and column (1-based, columns counted in characters).
struct TextFormatParser {
    private let text: [UInt8]
    private let file: String
    private var position = 0
    private var line = 1
    private var lineStart = 0

    init(text: String, file: String) {
        self.text = Array(text.utf8)
        self.file = file
    }

    /// Parses the whole text as a message of `descriptor` and returns its wire bytes.
    mutating func parseMessage(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>) throws(CaffeImportError) -> [UInt8] {
        let bytes = try parseFields(descriptor, closing: nil)
        return bytes
    }

    // MARK: Tokens

    private enum Token: Equatable {
        case identifier(String)
        case number(String)
        case string([UInt8])
        case symbol(UInt8)
        case end

        var display: String {
            switch self {
            case let .identifier(name): "'\(quoted(name))'"
            case let .number(text): "'\(quoted(text))'"
            case .string: "a string"
            case let .symbol(byte): "'\(Character(Unicode.Scalar(byte)))'"
            case .end: "the end of the file"
            }
        }
    }

    private struct Located {
        var token: Token
        var line: Int
        var column: Int
    }

    private var lookahead: Located?

    private mutating func skipSpaceAndComments() {
        while position < text.count {
            let byte = text[position]
            if byte == UInt8(ascii: "#") {
                while position < text.count && text[position] != UInt8(ascii: "\n") { position += 1 }
            } else if byte == UInt8(ascii: "\n") {
                position += 1
                line += 1
                lineStart = position
            } else if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
                        || byte == 0x0b || byte == 0x0c {
                position += 1
            } else {
                return
            }
        }
    }

    /// The column of byte offset `offset` on the current line, counting UTF-8 characters.
    private func column(at offset: Int) -> Int {
        var count = 1
        var index = lineStart
        while index < offset {
            if text[index] & 0xc0 != 0x80 { count += 1 }
            index += 1
        }
        // `count` started at 1 and counted every character before `offset`.
        return count
    }

    private func error(_ message: String, line: Int, column: Int) -> CaffeImportError {
        .prototxtSyntax(file: file, line: line, column: column, message: message)
    }

    private static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte == UInt8(ascii: "_")
    }

    private static func isIdentifierPart(_ byte: UInt8) -> Bool {
        isIdentifierStart(byte) || (byte >= 0x30 && byte <= 0x39)
    }

    /// The column of `offset` on the current line, counted on from the last token's column so
    /// that a long line (thousands of tokens) is not rescanned from its start for each token.
    private var columnMark = (lineStart: 0, offset: 0, column: 1)

    private mutating func tokenColumn(at offset: Int) -> Int {
        if columnMark.lineStart != lineStart || columnMark.offset > offset { columnMark = (lineStart, lineStart, 1) }
        var count = columnMark.column
        var index = columnMark.offset
        while index < offset {
            if text[index] & 0xc0 != 0x80 { count += 1 }
            index += 1
        }
        columnMark = (lineStart, offset, count)
        return count
    }

    private mutating func lex() throws(CaffeImportError) -> Located {
        skipSpaceAndComments()
        let startLine = line
        let startColumn = tokenColumn(at: position)
        guard position < text.count else { return Located(token: .end, line: startLine, column: startColumn) }
        let byte = text[position]
        if TextFormatParser.isIdentifierStart(byte) {
            let start = position
            while position < text.count && (TextFormatParser.isIdentifierPart(text[position]) || text[position] == UInt8(ascii: ".")) {
                position += 1
            }
            return Located(token: .identifier(String(decoding: text[start..<position], as: UTF8.self)), line: startLine, column: startColumn)
        }
        let isDigit = { (byte: UInt8) in byte >= 0x30 && byte <= 0x39 }
        if isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
            || (byte == UInt8(ascii: ".") && position + 1 < text.count && isDigit(text[position + 1])) {
            let start = position
            position += 1
            if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") {
                skipSpaceAndComments()
                guard position < text.count, isDigit(text[position]) || text[position] == UInt8(ascii: ".")
                        || TextFormatParser.isIdentifierStart(text[position]) else {
                    throw error("expected a number after '\(Character(Unicode.Scalar(byte)))'", line: startLine, column: startColumn)
                }
                let signLess = try lex()
                switch signLess.token {
                case let .number(digits): return Located(token: .number(String(Character(Unicode.Scalar(byte))) + digits), line: startLine, column: startColumn)
                case let .identifier(word) where ["inf", "infinity", "nan"].contains(word.lowercased()):
                    return Located(token: .number(String(Character(Unicode.Scalar(byte))) + word), line: startLine, column: startColumn)
                default:
                    throw error("expected a number after '\(Character(Unicode.Scalar(byte)))', found \(signLess.token.display)", line: startLine, column: startColumn)
                }
            }
            while position < text.count {
                let next = text[position]
                if TextFormatParser.isIdentifierPart(next) || next == UInt8(ascii: ".") {
                    position += 1
                } else if (next == UInt8(ascii: "-") || next == UInt8(ascii: "+")),
                          let previous = text[start..<position].last, previous == UInt8(ascii: "e") || previous == UInt8(ascii: "E"),
                          !(text[start..<position].count > 1 && text[start] == UInt8(ascii: "0")
                            && (text[start + 1] == UInt8(ascii: "x") || text[start + 1] == UInt8(ascii: "X"))) {
                    position += 1
                } else {
                    break
                }
            }
            return Located(token: .number(String(decoding: text[start..<position], as: UTF8.self)), line: startLine, column: startColumn)
        }
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
            return Located(token: .string(try lexString(quote: byte, line: startLine, column: startColumn)), line: startLine, column: startColumn)
        }
        if "{}<>[]:,;".utf8.contains(byte) {
            position += 1
            return Located(token: .symbol(byte), line: startLine, column: startColumn)
        }
        let scalarEnd = min(position + 4, text.count)
        let shown = String(decoding: text[position..<scalarEnd], as: UTF8.self).first.map(String.init) ?? "?"
        throw error("unexpected character '\(shown)'", line: startLine, column: startColumn)
    }

    private mutating func lexString(quote: UInt8, line startLine: Int, column startColumn: Int) throws(CaffeImportError) -> [UInt8] {
        position += 1
        var result: [UInt8] = []
        while true {
            guard position < text.count, text[position] != UInt8(ascii: "\n") else {
                throw error("a string is not closed on its line", line: startLine, column: startColumn)
            }
            let byte = text[position]
            position += 1
            if byte == quote { return result }
            guard byte == UInt8(ascii: "\\") else {
                result.append(byte)
                continue
            }
            guard position < text.count else { throw error("a string is not closed", line: startLine, column: startColumn) }
            let escape = text[position]
            position += 1
            switch escape {
            case UInt8(ascii: "n"): result.append(0x0a)
            case UInt8(ascii: "t"): result.append(0x09)
            case UInt8(ascii: "r"): result.append(0x0d)
            case UInt8(ascii: "a"): result.append(0x07)
            case UInt8(ascii: "b"): result.append(0x08)
            case UInt8(ascii: "f"): result.append(0x0c)
            case UInt8(ascii: "v"): result.append(0x0b)
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "?"): result.append(escape)
            case UInt8(ascii: "x"), UInt8(ascii: "X"):
                var value = 0
                var digits = 0
                while digits < 2, position < text.count, let digit = hexValue(text[position]) {
                    value = value * 16 + digit
                    position += 1
                    digits += 1
                }
                guard digits > 0 else { throw error("'\\x' is not followed by a hexadecimal digit", line: line, column: column(at: position)) }
                result.append(UInt8(value))
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(escape - 0x30)
                var digits = 1
                while digits < 3, position < text.count, text[position] >= 0x30, text[position] <= 0x37 {
                    value = value * 8 + Int(text[position] - 0x30)
                    position += 1
                    digits += 1
                }
                guard value < 256 else { throw error("octal escape \\\(String(value, radix: 8)) is larger than a byte", line: line, column: column(at: position)) }
                result.append(UInt8(value))
            default:
                throw error("unknown escape '\\\(quoted(String(Character(Unicode.Scalar(escape)))))' in a string", line: line, column: column(at: position - 2))
            }
        }
    }

    private func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: Int(byte - 0x30)
        case 0x61...0x66: Int(byte - 0x61 + 10)
        case 0x41...0x46: Int(byte - 0x41 + 10)
        default: nil
        }
    }

    private mutating func peek() throws(CaffeImportError) -> Located {
        if let lookahead { return lookahead }
        let next = try lex()
        lookahead = next
        return next
    }

    private mutating func take() throws(CaffeImportError) -> Located {
        let next = try peek()
        lookahead = nil
        return next
    }

    private mutating func takeSymbol(_ symbol: Character) throws(CaffeImportError) -> Bool {
        if try peek().token == .symbol(UInt8(ascii: symbol.unicodeScalars.first!)) {
            lookahead = nil
            return true
        }
        return false
    }

    // MARK: Messages

    private mutating func parseFields(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, closing: UInt8?) throws(CaffeImportError) -> [UInt8] {
        var writer = WireWriter()
        var seen = Set<UInt32>()
        let messageName = shortName(of: descriptor)
        while true {
            let next = try take()
            switch next.token {
            case .end:
                if let closing {
                    throw error("expected '\(Character(Unicode.Scalar(closing)))' to close \(messageName), found the end of the file", line: next.line, column: next.column)
                }
                return writer.bytes
            case let .symbol(symbol) where symbol == closing:
                return writer.bytes
            case let .identifier(name):
                guard let field = protobuf_c_message_descriptor_get_field_by_name(descriptor, name) else {
                    throw error("\(messageName) has no field '\(quoted(name))'", line: next.line, column: next.column)
                }
                let repeated = field.pointee.label == PROTOBUF_C_LABEL_REPEATED
                if !repeated && !seen.insert(field.pointee.id).inserted {
                    throw error("field '\(quoted(name))' of \(messageName) is not repeated but is given twice", line: next.line, column: next.column)
                }
                try parseFieldValue(field, into: &writer, messageName: messageName)
                if try !takeSymbol(",") { _ = try takeSymbol(";") }
            default:
                let expected = closing.map { "a field name of \(messageName) or '\(Character(Unicode.Scalar($0)))'" } ?? "a field name of \(messageName)"
                throw error("expected \(expected), found \(next.token.display)", line: next.line, column: next.column)
            }
        }
    }

    private mutating func parseFieldValue(_ field: UnsafePointer<ProtobufCFieldDescriptor>, into writer: inout WireWriter,
                                          messageName: String) throws(CaffeImportError) {
        let name = String(cString: field.pointee.name)
        let repeated = field.pointee.label == PROTOBUF_C_LABEL_REPEATED
        let number = Int(field.pointee.id)
        if field.pointee.type == PROTOBUF_C_TYPE_MESSAGE {
            let nested = field.pointee.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
            let hadColon = try takeSymbol(":")
            if try peek().token == .symbol(UInt8(ascii: "[")) {
                let open = try take()
                guard repeated else {
                    throw error("field '\(quoted(name))' of \(messageName) is not repeated and cannot take a list", line: open.line, column: open.column)
                }
                if try takeSymbol("]") { return }
                repeat {
                    writer.appendLengthDelimited(number, try parseNestedMessage(nested, fieldName: name))
                } while try takeSymbol(",")
                let close = try take()
                guard close.token == .symbol(UInt8(ascii: "]")) else {
                    throw error("expected ',' or ']' in the list of '\(quoted(name))', found \(close.token.display)", line: close.line, column: close.column)
                }
                return
            }
            _ = hadColon
            writer.appendLengthDelimited(number, try parseNestedMessage(nested, fieldName: name))
            return
        }
        let colon = try take()
        guard colon.token == .symbol(UInt8(ascii: ":")) else {
            throw error("expected ':' after '\(quoted(name))', found \(colon.token.display)", line: colon.line, column: colon.column)
        }
        if try peek().token == .symbol(UInt8(ascii: "[")) {
            let open = try take()
            guard repeated else {
                throw error("field '\(quoted(name))' of \(messageName) is not repeated and cannot take a list", line: open.line, column: open.column)
            }
            if try takeSymbol("]") { return }
            repeat {
                try parseScalar(field, into: &writer)
            } while try takeSymbol(",")
            let close = try take()
            guard close.token == .symbol(UInt8(ascii: "]")) else {
                throw error("expected ',' or ']' in the list of '\(quoted(name))', found \(close.token.display)", line: close.line, column: close.column)
            }
            return
        }
        try parseScalar(field, into: &writer)
    }

    private mutating func parseNestedMessage(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, fieldName: String) throws(CaffeImportError) -> [UInt8] {
        let open = try take()
        switch open.token {
        case .symbol(UInt8(ascii: "{")): return try parseFields(descriptor, closing: UInt8(ascii: "}"))
        case .symbol(UInt8(ascii: "<")): return try parseFields(descriptor, closing: UInt8(ascii: ">"))
        default:
            throw error("expected '{' or '<' to open '\(quoted(fieldName))' (\(shortName(of: descriptor))), found \(open.token.display)", line: open.line, column: open.column)
        }
    }

    // MARK: Scalars

    private mutating func parseScalar(_ field: UnsafePointer<ProtobufCFieldDescriptor>, into writer: inout WireWriter) throws(CaffeImportError) {
        let name = String(cString: field.pointee.name)
        let number = Int(field.pointee.id)
        let type = field.pointee.type
        let value = try take()
        func fail(_ expected: String) -> CaffeImportError {
            error("expected \(expected) for '\(quoted(name))', found \(value.token.display)", line: value.line, column: value.column)
        }
        switch type {
        case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_BYTES:
            guard case let .string(first) = value.token else { throw fail("a quoted string") }
            // Adjacent literals are concatenated: gather all the bytes in one growing buffer.
            var bytes: [UInt8] = []
            bytes += first
            while case let .string(more) = try peek().token {
                bytes += more
                lookahead = nil
            }
            if type == PROTOBUF_C_TYPE_STRING, String(validating: bytes, as: UTF8.self) == nil {
                throw error("the string for '\(quoted(name))' is not valid UTF-8", line: value.line, column: value.column)
            }
            writer.appendLengthDelimited(number, bytes)
        case PROTOBUF_C_TYPE_FLOAT, PROTOBUF_C_TYPE_DOUBLE:
            let parsed: Double
            switch value.token {
            case let .number(text):
                guard let number = parseFloatingPoint(text) else { throw fail("a number") }
                parsed = number
            case let .identifier(word):
                switch word.lowercased() {
                case "inf", "infinity": parsed = .infinity
                case "nan": parsed = .nan
                default: throw fail("a number")
                }
            default: throw fail("a number")
            }
            if type == PROTOBUF_C_TYPE_FLOAT {
                writer.appendTag(number, .fixed32)
                writer.appendFixed32(Float(parsed).bitPattern)
            } else {
                writer.appendTag(number, .fixed64)
                writer.appendFixed64(parsed.bitPattern)
            }
        case PROTOBUF_C_TYPE_BOOL:
            let flag: Bool
            switch value.token {
            case .identifier("true"), .identifier("True"), .identifier("t"), .number("1"): flag = true
            case .identifier("false"), .identifier("False"), .identifier("f"), .number("0"): flag = false
            default: throw fail("true or false")
            }
            writer.appendTag(number, .varint)
            writer.appendVarint(flag ? 1 : 0)
        case PROTOBUF_C_TYPE_ENUM:
            let enumDescriptor = field.pointee.descriptor.assumingMemoryBound(to: ProtobufCEnumDescriptor.self)
            let enumName = String(cString: enumDescriptor.pointee.short_name)
            let code: Int64
            switch value.token {
            case let .identifier(word):
                guard let entry = protobuf_c_enum_descriptor_get_value_by_name(enumDescriptor, word) else {
                    let names = (0..<Int(enumDescriptor.pointee.n_values)).map { String(cString: enumDescriptor.pointee.values[$0].name) }
                    throw error("'\(quoted(word))' is not a value of \(enumName) (one of \(names.joined(separator: ", ")))", line: value.line, column: value.column)
                }
                code = Int64(entry.pointee.value)
            case let .number(text):
                guard let integer = parseInteger(text), integer.magnitude <= UInt64(Int32.max),
                      protobuf_c_enum_descriptor_get_value(enumDescriptor, Int32(integer.negative ? -Int64(integer.magnitude) : Int64(integer.magnitude))) != nil else {
                    throw error("\(quoted(text)) is not a value of \(enumName)", line: value.line, column: value.column)
                }
                code = integer.negative ? -Int64(integer.magnitude) : Int64(integer.magnitude)
            default: throw fail("a value of \(enumName)")
            }
            writer.appendTag(number, .varint)
            writer.appendVarint(UInt64(bitPattern: code))
        default:
            guard case let .number(text) = value.token, let integer = parseInteger(text) else { throw fail("an integer") }
            let signed: Bool
            let bits: Int
            switch type {
            case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32: (signed, bits) = (true, 32)
            case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64: (signed, bits) = (true, 64)
            case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32: (signed, bits) = (false, 32)
            default: (signed, bits) = (false, 64)
            }
            let limit: UInt64 = signed ? (UInt64(1) << (bits - 1)) - 1 : (bits == 64 ? UInt64.max : (UInt64(1) << bits) - 1)
            if integer.negative {
                guard signed, integer.magnitude <= limit + 1 else {
                    throw error("\(quoted(text)) is out of range for '\(quoted(name))' (\(signed ? "int\(bits)" : "uint\(bits)"))", line: value.line, column: value.column)
                }
            } else {
                guard integer.magnitude <= limit else {
                    throw error("\(quoted(text)) is out of range for '\(quoted(name))' (\(signed ? "int\(bits)" : "uint\(bits)"))", line: value.line, column: value.column)
                }
            }
            let twosComplement = integer.negative ? (~integer.magnitude &+ 1) : integer.magnitude
            switch type {
            case PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SINT64:
                let signedValue = Int64(bitPattern: twosComplement)
                writer.appendTag(number, .varint)
                writer.appendVarint(UInt64(bitPattern: (signedValue << 1) ^ (signedValue >> 63)))
            case PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_FIXED32:
                writer.appendTag(number, .fixed32)
                writer.appendFixed32(UInt32(truncatingIfNeeded: twosComplement))
            case PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_FIXED64:
                writer.appendTag(number, .fixed64)
                writer.appendFixed64(twosComplement)
            default:
                // int32 negatives are sign-extended to 10 bytes on the wire, like int64.
                writer.appendTag(number, .varint)
                writer.appendVarint(twosComplement)
            }
        }
    }

    private func parseInteger(_ text: String) -> (negative: Bool, magnitude: UInt64)? {
        var body = Substring(text)
        var negative = false
        if body.first == "-" { negative = true; body = body.dropFirst() } else if body.first == "+" { body = body.dropFirst() }
        let magnitude: UInt64?
        if body.hasPrefix("0x") || body.hasPrefix("0X") {
            magnitude = UInt64(body.dropFirst(2), radix: 16)
        } else if body.count > 1 && body.hasPrefix("0") {
            magnitude = UInt64(body.dropFirst(), radix: 8)
        } else {
            magnitude = UInt64(body, radix: 10)
        }
        return magnitude.map { (negative && $0 != 0, $0) }
    }

    private func parseFloatingPoint(_ text: String) -> Double? {
        var body = Substring(text)
        var sign = 1.0
        if body.first == "-" { sign = -1; body = body.dropFirst() } else if body.first == "+" { body = body.dropFirst() }
        switch body.lowercased() {
        case "inf", "infinity", "inff": return sign * .infinity
        case "nan": return .nan
        default: break
        }
        if body.hasPrefix("0x") || body.hasPrefix("0X") {
            return parseInteger(String(body)).map { sign * Double($0.magnitude) }
        }
        if body.last == "f" || body.last == "F" { body = body.dropLast() }
        guard let first = body.first, first.isNumber || first == "." else { return nil }
        guard body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "e" || $0 == "E" || $0 == "-" || $0 == "+") }) else { return nil }
        return Double(body).map { sign * $0 }
    }
}

/// Parses prototxt `text` as a message of `descriptor` and unpacks it with protobuf-c.
func parseTextMessage<Message>(_ text: String, file: String, descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
                               as: Message.Type) throws(CaffeImportError) -> UnpackedMessage<Message> {
    var parser = TextFormatParser(text: text, file: file)
    let bytes = try parser.parseMessage(descriptor)
    let message: UnpackedMessage<Message>? = bytes.withUnsafeBytes { buffer in
        UnpackedMessage<Message>.unpack(buffer, range: 0..<buffer.count, descriptor: descriptor)
    }
    guard let message else {
        let detail = bytes.withUnsafeBytes { buffer in
            describeWireTypeMismatch(in: buffer, range: 0..<buffer.count, descriptor: descriptor, path: "")
        }
        throw .wrongWireType(file: file, detail: detail ?? "protobuf-c refused the encoded message")
    }
    return message
}
