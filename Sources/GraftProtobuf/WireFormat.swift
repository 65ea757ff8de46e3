package import CGraftProtobufC
// The protobuf wire format, shared by the importers that decode protobuf files (Caffe's
// caffemodel and prototxt, ONNX): reading fields in place without decoding their values,
// writing them, and naming the field protobuf-c refused.

/// The protobuf wire types graft meets (groups, 3 and 4, are refused as protobuf-c refuses them).
package enum WireType: Int, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case fixed32 = 5

    package var name: String {
        switch self {
        case .varint: "varint"
        case .fixed64: "64-bit"
        case .lengthDelimited: "length-delimited"
        case .fixed32: "32-bit"
        }
    }
}

/// One field occurrence in a protobuf message's bytes.
package struct WireField {
    package var number: Int
    package var wireType: WireType
    /// Offset of the field's tag from the start of the buffer being read.
    package var tagOffset: Int
    /// The value's bytes (after the tag and, for length-delimited fields, after the length).
    package var valueRange: Range<Int>
    /// The decoded value of a varint field; 0 for other wire types.
    package var varint: UInt64
    /// The whole field, tag included.
    package var fieldRange: Range<Int> { tagOffset..<valueRange.upperBound }
}

/// Why a run of bytes is not a protobuf message.
package struct WireFormatProblem: Error {
    package var offset: Int
    package var reason: String
}

/// Reads the fields of one protobuf message, in order, without decoding their values.
///
/// Used to split a caffemodel into layers and blobs without copying the weight data, and to
/// name the field a decoder refused. Offsets are relative to `bytes`.
package struct WireReader {
    package let bytes: UnsafeRawBufferPointer
    package private(set) var position: Int
    package let end: Int

    package init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.bytes = bytes
        position = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    package mutating func readVarint() throws(WireFormatProblem) -> UInt64 {
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
    package mutating func next() throws(WireFormatProblem) -> WireField? {
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
package struct WireWriter {
    package var bytes: [UInt8] = []

    package init() {}

    package mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    package mutating func appendTag(_ number: Int, _ wireType: WireType) {
        appendVarint(UInt64(number) << 3 | UInt64(wireType.rawValue))
    }

    package mutating func appendFixed32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    package mutating func appendFixed64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    package mutating func appendLengthDelimited(_ number: Int, _ payload: [UInt8]) {
        appendTag(number, .lengthDelimited)
        appendVarint(UInt64(payload.count))
        bytes += payload
    }
}

// MARK: - Descriptors

/// The wire type a field of this protobuf type uses when it is not packed.
package func wireType(of type: ProtobufCType) -> WireType {
    switch type {
    case PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_FLOAT: .fixed32
    case PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_DOUBLE: .fixed64
    case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_BYTES, PROTOBUF_C_TYPE_MESSAGE: .lengthDelimited
    default: .varint
    }
}

/// The message's fully qualified name without the package, e.g. `LayerParameter`.
package func shortName(of descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> String {
    String(cString: descriptor.pointee.short_name)
}

/// Finds the first field whose wire type does not match its declaration, searching nested
/// messages too: the reason protobuf-c refused to decode a message. Returns a phrase such as
/// `field 'kernel_size' (number 4) of ConvolutionParameter in layers[3].convolution_param has
/// wire type length-delimited, expected varint`, or `nil` when every field fits.
package func describeWireTypeMismatch(in bytes: UnsafeRawBufferPointer, range: Range<Int>,
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

extension WireReader {
    /// Every field of the message in `range` of `bytes`.
    package static func fields(of bytes: UnsafeRawBufferPointer, range: Range<Int>) throws(WireFormatProblem) -> [WireField] {
        var reader = WireReader(bytes, range: range)
        var fields: [WireField] = []
        while let field = try reader.next() { fields.append(field) }
        return fields
    }
}
