package import CGraftProtobufC
// Owning and reading messages unpacked by protobuf-c (shared by the protobuf importers).

/// Owns one message unpacked by protobuf-c and frees it with the allocator that made it.
package final class UnpackedMessage<Message>: @unchecked Sendable {
    package let pointer: UnsafeMutablePointer<Message>

    private init(pointer: UnsafeMutablePointer<Message>) {
        self.pointer = pointer
    }

    /// Unpacks `range` of `bytes` as a message of `descriptor` (whose C type is `Message`), or
    /// returns nil when protobuf-c refuses the bytes.
    package static func unpack(_ bytes: UnsafeRawBufferPointer, range: Range<Int>,
                       descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> UnpackedMessage? {
        var empty: UInt8 = 0
        let message: UnsafeMutablePointer<ProtobufCMessage>? = withUnsafePointer(to: &empty) { emptyPointer in
            let base = bytes.baseAddress.map { $0.advanced(by: range.lowerBound).assumingMemoryBound(to: UInt8.self) }
            return protobuf_c_message_unpack(descriptor, nil, range.count, base ?? emptyPointer)
        }
        guard let message else { return nil }
        return UnpackedMessage(pointer: UnsafeMutableRawPointer(message).assumingMemoryBound(to: Message.self))
    }

    /// Unpacks a whole byte array.
    package static func unpack(_ bytes: [UInt8], descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> UnpackedMessage? {
        bytes.withUnsafeBytes { unpack($0, range: 0..<$0.count, descriptor: descriptor) }
    }

    package var value: Message { pointer.pointee }

    deinit {
        protobuf_c_message_free_unpacked(UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: ProtobufCMessage.self), nil)
    }
}

// MARK: - Reading C message fields

/// A Swift string from a protobuf-c string field (`nil` gives "").
package func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
    pointer.map { String(cString: $0) } ?? ""
}

/// A Swift string from a protobuf-c `bytes` field (invalid UTF-8 repaired).
package func string(_ data: ProtobufCBinaryData) -> String {
    guard let base = data.data, data.len > 0 else { return "" }
    return String(decoding: UnsafeBufferPointer(start: base, count: data.len), as: UTF8.self)
}

/// The elements of a protobuf-c repeated field.
package func elements<Element>(_ pointer: UnsafeMutablePointer<Element>?, count: Int) -> [Element] {
    guard let pointer, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: pointer, count: count))
}

/// The strings of a protobuf-c repeated string field.
package func strings(_ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, count: Int) -> [String] {
    elements(pointer, count: count).map { string($0) }
}

/// The messages of a protobuf-c repeated message field.
package func messages<Message>(_ pointer: UnsafeMutablePointer<UnsafeMutablePointer<Message>?>?, count: Int) -> [UnsafeMutablePointer<Message>] {
    elements(pointer, count: count).compactMap { $0 }
}

/// Appends whole protobuf fields (tag included) to a byte array, to hand protobuf-c a message
/// with some fields left out.
package struct FieldCollector {
    package var bytes: [UInt8] = []

    package init() {}

    package mutating func append(_ field: WireField, from source: UnsafeRawBufferPointer) {
        bytes += UnsafeRawBufferPointer(rebasing: source[field.fieldRange])
    }
}
