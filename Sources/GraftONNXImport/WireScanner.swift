/// The protobuf wire types (groups, 3 and 4, are refused as protobuf-c refuses them).
enum WireType: Int, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case fixed32 = 5
}

/// One field occurrence in a protobuf message's bytes, located but not decoded.
struct WireField {
    var number: Int
    var wireType: WireType
    /// Offset of the field's tag in the buffer being read.
    var tagOffset: Int
    /// The value's bytes (after the tag and, for length-delimited fields, after the length).
    var valueRange: Range<Int>
    /// The value of a varint field; 0 for other wire types.
    var varint: UInt64
    /// The whole field, tag included.
    var fieldRange: Range<Int> { tagOffset..<valueRange.upperBound }
}

/// Why a run of bytes is not a protobuf message: the offset where reading stopped and why.
struct WireProblem: Error {
    var offset: Int
    var reason: String
}

/// Walks the fields of one protobuf message in order without decoding their values, so that the
/// importer can hand protobuf-c one small message at a time and leave tensor data in place.
///
/// Every length is checked against the bytes that remain before it is used; nothing is
/// allocated from a length the file claims.
struct WireScanner {
    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.bytes = bytes
        position = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    private mutating func readVarint() throws(WireProblem) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = position
        while true {
            guard position < end else { throw WireProblem(offset: start, reason: "the message ends inside a varint") }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw WireProblem(offset: start, reason: "a varint is longer than 64 bits") }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw WireProblem(offset: start, reason: "a varint is longer than 10 bytes") }
        }
    }

    /// The next field, or `nil` at the end of the message.
    mutating func next() throws(WireProblem) -> WireField? {
        guard position < end else { return nil }
        let tagOffset = position
        let tag = try readVarint()
        let number = Int(truncatingIfNeeded: tag >> 3)
        guard number > 0, number < (1 << 29) else {
            throw WireProblem(offset: tagOffset, reason: "field number \(number) is not valid")
        }
        guard let wireType = WireType(rawValue: Int(tag & 7)) else {
            throw WireProblem(offset: tagOffset, reason: "field \(number) has wire type \(tag & 7), which graft does not read")
        }
        switch wireType {
        case .varint:
            let start = position
            let value = try readVarint()
            return WireField(number: number, wireType: wireType, tagOffset: tagOffset, valueRange: start..<position, varint: value)
        case .fixed64, .fixed32:
            let size = wireType == .fixed64 ? 8 : 4
            guard end - position >= size else { throw WireProblem(offset: tagOffset, reason: "field \(number) is cut off") }
            position += size
            return WireField(number: number, wireType: wireType, tagOffset: tagOffset, valueRange: (position - size)..<position, varint: 0)
        case .lengthDelimited:
            let length = try readVarint()
            guard length <= UInt64(end - position) else {
                throw WireProblem(offset: tagOffset, reason: "field \(number) claims \(length) bytes but only \(end - position) remain")
            }
            let start = position
            position += Int(length)
            return WireField(number: number, wireType: wireType, tagOffset: tagOffset, valueRange: start..<position, varint: 0)
        }
    }

    /// Every field of the message in `range` of `bytes`.
    static func fields(of bytes: UnsafeRawBufferPointer, range: Range<Int>) throws(WireProblem) -> [WireField] {
        var scanner = WireScanner(bytes, range: range)
        var fields: [WireField] = []
        while let field = try scanner.next() { fields.append(field) }
        return fields
    }
}
