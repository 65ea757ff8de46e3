import GraftProtobuf
internal import CGraftCaffeProto
internal import CGraftProtobufC
import GraftSupport
#if canImport(Glibc)
import Glibc
#endif

/// A `.caffemodel` (a binary `NetParameter`), mapped into memory and indexed by layer name.
///
/// Nothing is decoded up front but the layer list: each layer's fields other than its blobs are
/// unpacked by protobuf-c (which checks their wire types), and its blobs are remembered as byte
/// ranges of the mapping. A blob is decoded when the converter asks for it; packed float data,
/// the form Caffe writes, is then read straight from the mapping, and the pages it occupied are
/// returned to the kernel once read, so converting a model needs about one copy of its weights
/// in memory, not two or three. Other forms (unpacked floats, `double_data`, NVIDIA's half-
/// precision `raw_data`) go through `protobuf_c_message_unpack` of the one blob.
final class CaffeModelFile {
    /// A layer's blobs, in order, as byte ranges of the file.
    struct StoredLayer {
        var name: String
        var type: String
        var blobRanges: [Range<Int>]
    }

    let path: String
    let file: MappedFile
    /// The net name the caffemodel records.
    let netName: String
    /// Layers by name (when two share a name, the later one, as Caffe copies weights in order).
    let layers: [String: StoredLayer]
    /// Layer names in file order.
    let layerNames: [String]

    init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        let bytes = file.bytes
        var layers: [String: StoredLayer] = [:]
        var names: [String] = []
        var netName = ""
        var metadata = WireWriter()
        for field in try CaffeModelFile.fields(of: bytes, range: 0..<bytes.count, path: path) {
            switch (field.number, field.wireType) {
            case (100, .lengthDelimited), (2, .lengthDelimited):
                let layer = try CaffeModelFile.indexLayer(bytes, range: field.valueRange, legacy: field.number == 2, path: path, index: names.count)
                if layers.updateValue(layer, forKey: layer.name) == nil { names.append(layer.name) }
            default:
                metadata.bytes += UnsafeRawBufferPointer(rebasing: bytes[field.fieldRange])
            }
        }
        // The net's own fields (name, inputs) go through protobuf-c, which checks their types.
        let header: UnpackedMessage<Caffe__NetParameter>? = metadata.bytes.withUnsafeBytes { buffer in
            UnpackedMessage.unpack(buffer, range: 0..<buffer.count, descriptor: graft_net_parameter_descriptor())
        }
        guard let header else {
            let detail = metadata.bytes.withUnsafeBytes { buffer in
                describeWireTypeMismatch(in: buffer, range: 0..<buffer.count,
                                         descriptor: graft_net_parameter_descriptor(), path: "")
            }
            throw CaffeImportError.wrongWireType(file: path, detail: detail ?? "protobuf-c refused the net's fields")
        }
        netName = string(header.pointer.pointee.name)
        self.netName = netName
        self.layers = layers
        layerNames = names
    }

    /// The fields of the message in `range`, or an error naming the byte where they stop making sense.
    private static func fields(of bytes: UnsafeRawBufferPointer, range: Range<Int>, path: String) throws(CaffeImportError) -> [WireField] {
        var reader = WireReader(bytes, range: range)
        var fields: [WireField] = []
        do {
            while let field = try reader.next() { fields.append(field) }
        } catch {
            throw .malformedCaffemodel(file: path, offset: error.offset, reason: error.reason)
        }
        return fields
    }

    /// Reads one layer's name and type, and the byte ranges of its blobs.
    private static func indexLayer(_ bytes: UnsafeRawBufferPointer, range: Range<Int>, legacy: Bool,
                                   path: String, index: Int) throws -> StoredLayer {
        let blobField = legacy ? 6 : 7
        var rest = WireWriter()
        var blobs: [Range<Int>] = []
        for field in try fields(of: bytes, range: range, path: path) {
            if field.number == blobField && field.wireType == .lengthDelimited {
                blobs.append(field.valueRange)
            } else {
                rest.bytes += UnsafeRawBufferPointer(rebasing: bytes[field.fieldRange])
            }
        }
        let descriptor = legacy ? graft_v1_layer_parameter_descriptor()
                                : graft_layer_parameter_descriptor()
        let location = legacy ? "layers[\(index)]" : "layer[\(index)]"
        return try rest.bytes.withUnsafeBytes { buffer throws -> StoredLayer in
            if legacy {
                guard let layer = UnpackedMessage<Caffe__V1LayerParameter>.unpack(buffer, range: 0..<buffer.count, descriptor: descriptor) else {
                    throw CaffeImportError.wrongWireType(file: path, detail: describeWireTypeMismatch(in: buffer, range: 0..<buffer.count, descriptor: descriptor, path: location) ?? "protobuf-c refused \(location)")
                }
                return StoredLayer(name: string(layer.pointer.pointee.name),
                                   type: NetDefinition.legacyTypeName(Int32(bitPattern: layer.pointer.pointee.type.rawValue)), blobRanges: blobs)
            }
            guard let layer = UnpackedMessage<Caffe__LayerParameter>.unpack(buffer, range: 0..<buffer.count, descriptor: descriptor) else {
                throw CaffeImportError.wrongWireType(file: path, detail: describeWireTypeMismatch(in: buffer, range: 0..<buffer.count, descriptor: descriptor, path: location) ?? "protobuf-c refused \(location)")
            }
            return StoredLayer(name: string(layer.pointer.pointee.name), type: string(layer.pointer.pointee.type), blobRanges: blobs)
        }
    }

    // MARK: Blobs

    /// A decoded blob: its shape and its float32 values.
    struct Blob {
        /// The shape as stored: `shape.dim`, or the legacy `num, channels, height, width`.
        var shape: [Int]
        var isLegacyShape: Bool
        /// The values, as little-endian float32 bytes: either a slice of the mapping (which
        /// may be unaligned) or an owned array.
        var mapped: UnsafeRawBufferPointer?
        var owned: [Float]?

        var count: Int { mapped.map { $0.count / 4 } ?? owned?.count ?? 0 }

        /// Calls `body` with the values' bytes (little-endian float32, possibly unaligned).
        func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
            if let mapped { return try body(mapped) }
            return try (owned ?? []).withUnsafeBytes(body)
        }

        /// The values as an array (for the small blobs: biases, statistics).
        var values: [Float] {
            if let owned { return owned }
            guard let mapped else { return [] }
            return (0..<(mapped.count / 4)).map { mapped.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        }

        /// Whether the stored shape equals `expected`, comparing legacy 4-D shapes right-aligned
        /// as Caffe does (leading 1s are ignored on both sides).
        func matches(_ expected: [Int]) -> Bool {
            if shape == expected { return true }
            let trimmedStored = Array(shape.drop { $0 == 1 })
            let trimmedExpected = Array(expected.drop { $0 == 1 })
            return isLegacyShape && trimmedStored == trimmedExpected
        }
    }

    /// Decodes blob `index` of `layer`.
    func blob(_ index: Int, of layer: StoredLayer) throws -> Blob {
        let bytes = file.bytes
        let range = layer.blobRanges[index]
        var metadata = WireWriter()
        var packedRuns: [Range<Int>] = []
        var needsFullDecode = false
        for field in try CaffeModelFile.fields(of: bytes, range: range, path: path) {
            switch field.number {
            case 5 where field.wireType == .lengthDelimited: packedRuns.append(field.valueRange)
            case 5, 8, 12: needsFullDecode = true
            case 6, 9: continue
            default: metadata.bytes += UnsafeRawBufferPointer(rebasing: bytes[field.fieldRange])
            }
        }
        let descriptor = graft_blob_proto_descriptor()
        let location = "layer '\(layer.name)' blobs[\(index)]"
        if needsFullDecode {
            guard let message = UnpackedMessage<Caffe__BlobProto>.unpack(bytes, range: range, descriptor: descriptor) else {
                throw CaffeImportError.wrongWireType(file: path, detail: describeWireTypeMismatch(in: bytes, range: range, descriptor: descriptor, path: location) ?? "protobuf-c refused \(location)")
            }
            return try decodedBlob(message.pointer.pointee, layer: layer.name, index: index)
        }
        let header: UnpackedMessage<Caffe__BlobProto>? = metadata.bytes.withUnsafeBytes { buffer in
            UnpackedMessage.unpack(buffer, range: 0..<buffer.count, descriptor: descriptor)
        }
        guard let header else {
            let detail = metadata.bytes.withUnsafeBytes { buffer in
                describeWireTypeMismatch(in: buffer, range: 0..<buffer.count, descriptor: descriptor, path: location)
            }
            throw CaffeImportError.wrongWireType(file: path, detail: detail ?? "protobuf-c refused \(location)")
        }
        var blob = shape(of: header.pointer.pointee)
        for run in packedRuns where run.count % 4 != 0 {
            throw CaffeImportError.badBlob(file: path, layer: layer.name, blob: index, reason: "has packed float data of \(run.count) bytes, not a multiple of 4")
        }
        if packedRuns.count == 1 {
            blob.mapped = UnsafeRawBufferPointer(rebasing: bytes[packedRuns[0]])
        } else {
            var values: [Float] = []
            values.reserveCapacity(packedRuns.reduce(0) { $0 + $1.count / 4 })
            for run in packedRuns {
                for offset in stride(from: run.lowerBound, to: run.upperBound, by: 4) {
                    values.append(bytes.loadUnaligned(fromByteOffset: offset, as: Float.self))
                }
            }
            blob.owned = values
        }
        return blob
    }

    private func shape(of message: Caffe__BlobProto) -> Blob {
        if let shape = message.shape {
            return Blob(shape: elements(shape.pointee.dim, count: shape.pointee.n_dim).map(Int.init), isLegacyShape: false)
        }
        let legacy = [message.num, message.channels, message.height, message.width].map(Int.init)
        let any = message.has_num != 0 || message.has_channels != 0 || message.has_height != 0 || message.has_width != 0
        return Blob(shape: any ? legacy : [], isLegacyShape: true)
    }

    private func decodedBlob(_ message: Caffe__BlobProto, layer: String, index: Int) throws -> Blob {
        var blob = shape(of: message)
        if message.n_data > 0 {
            blob.owned = elements(message.data, count: message.n_data)
        } else if message.n_double_data > 0 {
            blob.owned = elements(message.double_data, count: message.n_double_data).map { Float($0) }
        } else if message.has_raw_data != 0 {
            let raw = UnsafeRawBufferPointer(start: message.raw_data.data, count: message.raw_data.len)
            guard message.has_raw_data_type != 0 else {
                throw CaffeImportError.badBlob(file: path, layer: layer, blob: index, reason: "has raw_data but no raw_data_type")
            }
            switch message.raw_data_type {
            case CAFFE__TYPE__FLOAT16:
                guard raw.count % 2 == 0 else {
                    throw CaffeImportError.badBlob(file: path, layer: layer, blob: index, reason: "has FLOAT16 raw_data of an odd byte count (\(raw.count))")
                }
                blob.owned = (0..<(raw.count / 2)).map { i in
                    Float(halfBits: UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8)
                }
            case CAFFE__TYPE__FLOAT:
                guard raw.count % 4 == 0 else {
                    throw CaffeImportError.badBlob(file: path, layer: layer, blob: index, reason: "has FLOAT raw_data of \(raw.count) bytes, not a multiple of 4")
                }
                blob.owned = (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
            case CAFFE__TYPE__DOUBLE:
                guard raw.count % 8 == 0 else {
                    throw CaffeImportError.badBlob(file: path, layer: layer, blob: index, reason: "has DOUBLE raw_data of \(raw.count) bytes, not a multiple of 8")
                }
                blob.owned = (0..<(raw.count / 8)).map { Float(raw.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self)) }
            default:
                throw CaffeImportError.badBlob(file: path, layer: layer, blob: index, reason: "stores raw_data of type \(message.raw_data_type.rawValue), which graft does not read (FLOAT16, FLOAT and DOUBLE are read)")
            }
        } else {
            blob.owned = []
        }
        return blob
    }

    /// Returns the memory pages wholly inside `range` of the mapping to the kernel: they were
    /// read and will not be read again, and keeping them would count against the process's
    /// resident size. The mapping stays valid (pages are re-read from the file if touched).
    func release(_ range: UnsafeRawBufferPointer) {
        guard let base = range.baseAddress, range.count >= 1 << 20 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + page - 1) / page * page
        let end = (Int(bitPattern: base) + range.count) / page * page
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        madvise(pointer, end - start, Int32(MADV_DONTNEED))
    }

    /// The SHA-256 of the whole file, read in slices whose pages are released after hashing.
    func contentHash() -> String {
        var hasher = SHA256()
        let bytes = file.bytes
        let slice = 32 << 20
        var offset = 0
        while offset < bytes.count {
            let part = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(offset + slice, bytes.count)])
            hasher.update(part)
            release(part)
            offset += slice
        }
        return hexString(hasher.finalize())
    }
}
