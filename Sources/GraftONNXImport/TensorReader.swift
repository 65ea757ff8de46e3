import Foundation
import GraftSupport

/// Reads the values of tensors: from the mapped model file, from typed fields already decoded,
/// or from external data files, which are mapped once each and read in place.
///
/// Before any value is read or any array allocated, the bytes present are checked against what
/// the dims claim (element count times element size, with overflow checks), so a damaged file
/// cannot make graft allocate by a size it merely claims.
final class TensorReader {
    let file: String
    let modelBytes: UnsafeRawBufferPointer
    /// The folder external data locations are relative to.
    let folder: URL
    private var externalFiles: [String: MappedFile] = [:]
    /// The byte ranges read from each external file.
    private var externalRanges: [String: [Range<Int>]] = [:]

    init(file: String, modelBytes: UnsafeRawBufferPointer) {
        self.file = file
        self.modelBytes = modelBytes
        folder = URL(fileURLWithPath: file).deletingLastPathComponent()
    }

    /// The external data files read so far, by location.
    var externalLocations: [String] { externalFiles.keys.sorted() }

    private func bad(_ tensor: TensorRecord, _ reason: String) -> ONNXImportError {
        .badTensor(file: file, tensor: tensor.name, reason: reason)
    }

    /// The tensor's element count, checked.
    func count(of tensor: TensorRecord) throws(ONNXImportError) -> Int {
        guard let count = tensor.elementCount else {
            throw bad(tensor, "has dims \(describe(tensor.dims)), which are negative or too large")
        }
        return count
    }

    /// Calls `body` with the tensor's raw little-endian bytes (exactly `count · size` of them),
    /// for tensors stored as bytes (raw_data, packed float_data, external data).
    private func withBytes<Result>(_ tensor: TensorRecord, size: Int, _ body: (UnsafeRawBufferPointer) -> Result) throws(ONNXImportError) -> Result? {
        let count = try count(of: tensor)
        let (expected, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow else { throw bad(tensor, "has dims \(describe(tensor.dims)), too many values") }
        switch tensor.storage {
        case let .mapped(range):
            guard range.count == expected else {
                throw bad(tensor, "has dims \(describe(tensor.dims)) (\(count) values, \(expected) bytes) but holds \(range.count) bytes of data")
            }
            return body(UnsafeRawBufferPointer(rebasing: modelBytes[range]))
        case let .owned(bytes):
            guard bytes.count == expected else {
                throw bad(tensor, "has dims \(describe(tensor.dims)) (\(count) values, \(expected) bytes) but holds \(bytes.count) bytes of data")
            }
            return bytes.withUnsafeBytes(body)
        case let .external(location, offset, length):
            let mapped = try externalFile(location, tensor: tensor)
            if let length, length != expected {
                throw bad(tensor, "has dims \(describe(tensor.dims)) (\(expected) bytes) but its external data length is \(length)")
            }
            guard offset <= mapped.bytes.count, expected <= mapped.bytes.count - offset else {
                throw bad(tensor, "needs bytes \(offset)..<\(offset &+ expected) of '\(quoted(location))', which has \(mapped.bytes.count) bytes")
            }
            externalRanges[location, default: []].append(offset..<(offset + expected))
            return body(UnsafeRawBufferPointer(rebasing: mapped.bytes[offset..<(offset + expected)]))
        case .floats, .doubles, .integers:
            return nil
        }
    }

    private func externalFile(_ location: String, tensor: TensorRecord) throws(ONNXImportError) -> MappedFile {
        if let mapped = externalFiles[location] { return mapped }
        // The specification's rule: a relative path inside the model's folder.
        let parts = location.split(separator: "/", omittingEmptySubsequences: false)
        guard !location.hasPrefix("/"), !location.contains("\\"), !parts.contains("..") else {
            throw bad(tensor, "has external data location '\(quoted(location))', which is not a relative path inside the model's folder")
        }
        let path = folder.appendingPathComponent(location).path
        let mapped: MappedFile
        do {
            mapped = try MappedFile(path: path)
        } catch {
            // The reason repeats the path, which comes from the file: quoted, so it stays on one line.
            throw bad(tensor, "is stored in '\(quoted(path))', which cannot be read: \(quoted(error.description, limit: 160))")
        }
        externalFiles[location] = mapped
        return mapped
    }

    /// The tensor's values as float32 (FLOAT, DOUBLE, FLOAT16, BFLOAT16; integer types converted).
    func floats(_ tensor: TensorRecord) throws(ONNXImportError) -> [Float] {
        let count = try count(of: tensor)
        guard let type = ElementType(rawValue: tensor.dataType), type != .string else {
            throw bad(tensor, "has element type \(ElementType.name(tensor.dataType)), which graft does not read as numbers")
        }
        switch tensor.storage {
        case let .floats(values):
            guard values.count == count else { throw bad(tensor, "has dims \(describe(tensor.dims)) (\(count) values) but holds \(values.count) values") }
            return values
        case let .doubles(values):
            guard values.count == count else { throw bad(tensor, "has dims \(describe(tensor.dims)) (\(count) values) but holds \(values.count) values") }
            return values.map { Float($0) }
        case let .integers(values):
            guard values.count == count else { throw bad(tensor, "has dims \(describe(tensor.dims)) (\(count) values) but holds \(values.count) values") }
            return values.map { Float($0) }
        default:
            break
        }
        guard let size = type.size else { throw bad(tensor, "has no numeric values") }
        let values = try withBytes(tensor, size: size) { bytes -> [Float] in
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for i in 0..<count {
                    let offset = i * size
                    switch type {
                    case .float: buffer[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                    case .double: buffer[i] = Float(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))))
                    case .float16: buffer[i] = Float(halfBits: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                    case .bfloat16: buffer[i] = Float(bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))) << 16)
                    default: buffer[i] = Float(TensorReader.integer(bytes, at: offset, type: type))
                    }
                }
                initialized = count
            }
        }
        return values ?? []
    }

    /// The tensor's values as integers (INT64, INT32, INT8, UINT8, BOOL, …; floats truncated are
    /// refused: shape tensors are integers).
    func integers(_ tensor: TensorRecord) throws(ONNXImportError) -> [Int64] {
        let count = try count(of: tensor)
        guard let type = ElementType(rawValue: tensor.dataType), !type.isFloatingPoint, type != .string else {
            throw bad(tensor, "has element type \(ElementType.name(tensor.dataType)), expected integers")
        }
        if case let .integers(values) = tensor.storage {
            guard values.count == count else { throw bad(tensor, "has dims \(describe(tensor.dims)) (\(count) values) but holds \(values.count) values") }
            return values
        }
        let values = try withBytes(tensor, size: type.size ?? 1) { bytes -> [Int64] in
            (0..<count).map { TensorReader.integer(bytes, at: $0 * (type.size ?? 1), type: type) }
        }
        guard let values else { throw bad(tensor, "has element type \(ElementType.name(tensor.dataType)) but no integer values") }
        return values
    }

    private static func integer(_ bytes: UnsafeRawBufferPointer, at offset: Int, type: ElementType) -> Int64 {
        switch type {
        case .int64: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
        case .uint64: Int64(truncatingIfNeeded: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
        case .int32: Int64(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
        case .uint32: Int64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        case .int16: Int64(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
        case .uint16: Int64(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        case .int8: Int64(bytes.load(fromByteOffset: offset, as: Int8.self))
        default: Int64(bytes[offset])
        }
    }

    /// The SHA-256 of the bytes the model's tensors occupy in an external data file: the ranges
    /// read, in file order, each once. A multi-gigabyte file is not hashed whole when the model
    /// uses part of it (or it has holes); what is hashed is exactly what the weights are made of.
    func externalHash(_ location: String) -> String? {
        guard let mapped = externalFiles[location], let ranges = externalRanges[location] else { return nil }
        var hasher = SHA256()
        for range in Set(ranges).sorted(by: { ($0.lowerBound, $0.upperBound) < ($1.lowerBound, $1.upperBound) }) {
            hasher.update(UnsafeRawBufferPointer(rebasing: mapped.bytes[range]))
        }
        return hexString(hasher.finalize())
    }
}
