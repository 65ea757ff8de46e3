internal import CGraftProtobufC
internal import CGraftCaffeProto
/// The protobuf wire types graft meets (groups, 3 and 4, are refused as protobuf-c refuses them).
enum WireType: Int, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case fixed32 = 5

    var name: String {
        switch self {
        case .varint: "varint"
        case .fixed64: "64-bit"
        case .lengthDelimited: "length-delimited"
        case .fixed32: "32-bit"
        }
    }
}

/// One field occurrence in a protobuf message's bytes.
struct WireField {
    var number: Int
    var wireType: WireType
    /// Offset of the field's tag from the start of the buffer being read.
    var tagOffset: Int
    /// The value's bytes (after the tag and, for length-delimited fields, after the length).
    var valueRange: Range<Int>
    /// The decoded value of a varint field; 0 for other wire types.
    var varint: UInt64
    /// The whole field, tag included.
    var fieldRange: Range<Int> { tagOffset..<valueRange.upperBound }
}

/// Why a run of bytes is not a protobuf message.
struct WireFormatProblem: Error {
    var offset: Int
    var reason: String
}

/// Reads the fields of one protobuf message, in order, without decoding their values.
///
/// Used to split a caffemodel into layers and blobs without copying the weight data, and to
/// name the field a decoder refused. Offsets are relative to `bytes`.
struct WireReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.bytes = bytes
        position = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    mutating func readVarint() throws(WireFormatProblem) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = position
        while true {
            guard position < end else { throw WireFormatProblem(offset: start, reason: "the message ends inside a varint") }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw WireFormatProblem(offset: start, reason: "a varint is longer than 64 bits") }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw WireFormatProblem(offset: start, reason: "a varint is longer than 10 bytes") }
        }
    }

    /// The next field, or `nil` at the end of the message.
    mutating func next() throws(WireFormatProblem) -> WireField? {
        guard position < end else { return nil }
        let tagOffset = position
        let tag = try readVarint()
        let number = Int(truncatingIfNeeded: tag >> 3)
        guard number > 0, number < (1 << 29) else {
            throw WireFormatProblem(offset: tagOffset, reason: "field number \(number) is not valid")
        }
        guard let wireType = WireType(rawValue: Int(tag & 7)) else {
            throw WireFormatProblem(offset: tagOffset, reason: "field \(number) has wire type \(tag & 7), which protobuf no longer allows")
        }
        switch wireType {
        case .varint:
            let valueStart = position
            let value = try readVarint()
            return WireField(number: number, wireType: wireType, tagOffset: tagOffset, valueRange: valueStart..<position, varint: value)
        case .fixed64, .fixed32:
            let size = wireType == .fixed64 ? 8 : 4
            guard end - position >= size else {
                throw WireFormatProblem(offset: tagOffset, reason: "field \(number) is cut off")
            }
            position += size
            return WireField(number: number, wireType: wireType, tagOffset: tagOffset, valueRange: (position - size)..<position, varint: 0)
        case .lengthDelimited:
            let length = try readVarint()
            guard length <= UInt64(end - position) else {
                throw WireFormatProblem(offset: tagOffset, reason: "field \(number) claims \(length) bytes but only \(end - position) remain")
            }
            let start = position
            position += Int(length)
            return WireField(number: number, wireType: wireType, tagOffset: tagOffset, valueRange: start..<position, varint: 0)
        }
    }
}

/// Appends protobuf wire encodings to a byte array.
struct WireWriter {
    var bytes: [UInt8] = []

    mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func appendTag(_ number: Int, _ wireType: WireType) {
        appendVarint(UInt64(number) << 3 | UInt64(wireType.rawValue))
    }

    mutating func appendFixed32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func appendFixed64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func appendLengthDelimited(_ number: Int, _ payload: [UInt8]) {
        appendTag(number, .lengthDelimited)
        appendVarint(UInt64(payload.count))
        bytes += payload
    }
}

// MARK: - Descriptors

/// The wire type a field of this protobuf type uses when it is not packed.
func wireType(of type: ProtobufCType) -> WireType {
    switch type {
    case PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_FLOAT: .fixed32
    case PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_DOUBLE: .fixed64
    case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_BYTES, PROTOBUF_C_TYPE_MESSAGE: .lengthDelimited
    default: .varint
    }
}

/// The message's fully qualified name without the package, e.g. `LayerParameter`.
func shortName(of descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> String {
    String(cString: descriptor.pointee.short_name)
}

/// Finds the first field whose wire type does not match its declaration, searching nested
/// messages too: the reason protobuf-c refused to decode a message. Returns a phrase such as
/// `field 'kernel_size' (number 4) of ConvolutionParameter in layers[3].convolution_param has
/// wire type length-delimited, expected varint`, or `nil` when every field fits.
func describeWireTypeMismatch(in bytes: UnsafeRawBufferPointer, range: Range<Int>,
                              descriptor: UnsafePointer<ProtobufCMessageDescriptor>, path: String) -> String? {
    var reader = WireReader(bytes, range: range)
    var counts: [Int: Int] = [:]
    while true {
        let field: WireField
        do {
            guard let next = try reader.next() else { return nil }
            field = next
        } catch {
            return "the bytes of \(shortName(of: descriptor))\(path.isEmpty ? "" : " at \(path)") are not a protobuf message: \(error.reason) (offset \(error.offset))"
        }
        guard let fieldDescriptor = protobuf_c_message_descriptor_get_field(descriptor, UInt32(field.number)) else { continue }
        let name = String(cString: fieldDescriptor.pointee.name)
        let type = fieldDescriptor.pointee.type
        let expected = wireType(of: type)
        let repeated = fieldDescriptor.pointee.label == PROTOBUF_C_LABEL_REPEATED
        let packable = repeated && expected != .lengthDelimited
        let index = counts[field.number, default: 0]
        counts[field.number] = index + 1
        let location = path + (path.isEmpty ? "" : ".") + name + (repeated ? "[\(index)]" : "")
        if field.wireType != expected && !(packable && field.wireType == .lengthDelimited) {
            let accepted = packable ? "\(expected.name) or packed length-delimited" : expected.name
            return "field '\(name)' (number \(field.number)) of \(shortName(of: descriptor))\(path.isEmpty ? "" : " in \(path)") has wire type \(field.wireType.name), expected \(accepted)"
        }
        if type == PROTOBUF_C_TYPE_MESSAGE, field.wireType == .lengthDelimited,
           let nested = fieldDescriptor.pointee.descriptor?.assumingMemoryBound(to: ProtobufCMessageDescriptor.self),
           let problem = describeWireTypeMismatch(in: bytes, range: field.valueRange, descriptor: nested, path: location) {
            return problem
        }
    }
}

/// Owns a message unpacked by protobuf-c and frees it with the allocator that made it.
final class UnpackedMessage<Message>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Message>

    private init(pointer: UnsafeMutablePointer<Message>) {
        self.pointer = pointer
    }

    /// Unpacks `range` of `bytes` as a message of `descriptor` (whose C type is `Message`).
    /// Returns nil when protobuf-c refuses the bytes; call `describeWireTypeMismatch` for why.
    static func unpack(_ bytes: UnsafeRawBufferPointer, range: Range<Int>,
                       descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> UnpackedMessage? {
        let base = bytes.baseAddress.map { $0.advanced(by: range.lowerBound).assumingMemoryBound(to: UInt8.self) }
        var empty: UInt8 = 0
        let message: UnsafeMutablePointer<ProtobufCMessage>? = withUnsafePointer(to: &empty) { emptyPointer in
            protobuf_c_message_unpack(descriptor, nil, range.count, base ?? emptyPointer)
        }
        guard let message else { return nil }
        return UnpackedMessage(pointer: UnsafeMutableRawPointer(message).assumingMemoryBound(to: Message.self))
    }

    var value: Message { pointer.pointee }

    deinit {
        protobuf_c_message_free_unpacked(UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: ProtobufCMessage.self), nil)
    }
}

// MARK: - Reading C message fields

/// A Swift string from a protobuf-c string field (`nil` and the empty default give "").
func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
    pointer.map { String(cString: $0) } ?? ""
}

/// The elements of a protobuf-c repeated field.
func elements<Element>(_ pointer: UnsafeMutablePointer<Element>?, count: Int) -> [Element] {
    guard let pointer, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: pointer, count: count))
}

/// The strings of a protobuf-c repeated string field.
func strings(_ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, count: Int) -> [String] {
    elements(pointer, count: count).map { string($0) }
}

/// The messages of a protobuf-c repeated message field.
func messages<Message>(_ pointer: UnsafeMutablePointer<UnsafeMutablePointer<Message>?>?, count: Int) -> [UnsafeMutablePointer<Message>] {
    elements(pointer, count: count).compactMap { $0 }
}
