import GraftSupport
/// An array as stored in a NumPy `.npy` file: an element type, a shape and the raw
/// little-endian element bytes in row-major (C) order.
///
/// Reads format versions 1.0, 2.0 and 3.0 (header alignment of 16 or 64 bytes) of every
/// `ElementType` NumPy can describe, and writes version 1.0 (2.0 for a header over 64 KiB)
/// byte for byte as NumPy's `np.save` does. Fortran-order, big-endian, complex, string,
/// object and structured arrays are rejected with a `NumPyError` naming the file.
///
/// ```swift
/// let logits = try Tensor(npyFile: "logits.npy")
/// try logits.writeNumPy(to: "copy.npy")
/// ```
public struct NumPyArray: Sendable, Equatable {
    /// The type of the elements. Never `.bfloat16`, which NumPy cannot describe.
    public let elementType: ElementType
    /// The size of each dimension, outermost first; empty for a scalar.
    public let shape: [Int]
    /// The element bytes: little-endian, row-major, `elementCount * elementType.byteCount` long.
    public let bytes: [UInt8]

    /// The magic string every `.npy` file starts with.
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Creates an array from trusted element bytes.
    ///
    /// - Precondition: `elementType` has a NumPy descriptor (it is not `.bfloat16`), the
    ///   shape is valid and `bytes` holds exactly its elements.
    public init(elementType: ElementType, shape: [Int], bytes: [UInt8]) {
        precondition(elementType.numPyDescriptor != nil, "NumPyArray: NumPy has no dtype for \(elementType)")
        guard let count = Tensor.elementCount(of: shape), count * elementType.byteCount == bytes.count else {
            preconditionFailure("NumPyArray: \(bytes.count) bytes are not the \(elementType) elements of shape \(describeShape(shape))")
        }
        self.elementType = elementType
        self.shape = shape
        self.bytes = bytes
    }

    /// A float32 array with the shape and elements of `tensor`.
    public init(_ tensor: Tensor) {
        let bytes: [UInt8]
        if isLittleEndianHost {
            bytes = tensor.scalars.withUnsafeBytes { Array($0) }
        } else {
            bytes = tensor.scalars.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init) }
        }
        self.init(elementType: .float32, shape: tensor.shape, bytes: bytes)
    }

    /// Reads the `.npy` file at `path`.
    ///
    /// - Throws: `FileError` if the file cannot be opened or read, `NumPyError` if its
    ///   contents are not an array graft can use.
    public init(contentsOf path: String) throws {
        let file = try MappedFile(path: path)
        try self.init(decoding: file.bytes, path: path)
    }

    /// Decodes the bytes of a whole `.npy` file; `path` names it in error messages.
    public init(decoding fileBytes: [UInt8], path: String) throws(NumPyError) {
        let result = fileBytes.withUnsafeBytes { buffer in
            Result { () throws(NumPyError) in try NumPyArray(decoding: buffer, path: path) }
        }
        self = try result.get()
    }

    /// Decodes the bytes of a whole `.npy` file; `path` names it in error messages.
    ///
    /// The input is untrusted: sizes are checked against `fileBytes.count` before anything
    /// is allocated.
    public init(decoding fileBytes: UnsafeRawBufferPointer, path: String) throws(NumPyError) {
        let file = fileBytes
        guard file.count >= 6, file.prefix(6).elementsEqual(NumPyArray.magic) else {
            throw .notNumPyFile(path: path)
        }
        guard file.count >= 8 else {
            throw .malformedHeader(path: path, reason: "the file ends inside the format version")
        }
        let major = file[6], minor = file[7]
        let lengthSize: Int
        switch (major, minor) {
        case (1, 0): lengthSize = 2
        case (2, 0), (3, 0): lengthSize = 4
        default: throw .unsupportedVersion(path: path, major: major, minor: minor)
        }
        guard file.count >= 8 + lengthSize else {
            throw .malformedHeader(path: path, reason: "the file ends inside the header length")
        }
        var headerLength = 0
        for offset in 0..<lengthSize { headerLength |= Int(file[8 + offset]) << (8 * offset) }
        let headerStart = 8 + lengthSize
        guard headerLength <= file.count - headerStart else {
            throw .malformedHeader(path: path, reason: "the header is \(headerLength) bytes long, but the file has only \(file.count - headerStart) bytes after the header length")
        }
        let dataStart = headerStart + headerLength

        let header: NumPyHeader
        do {
            header = try NumPyHeaderParser.parse(Array(file[headerStart..<dataStart]), isUTF8: major == 3)
        } catch {
            throw .malformedHeader(path: path, reason: error.reason)
        }
        guard let elementType = ElementType(numPyDescriptor: header.descriptor) else {
            if header.descriptor.hasPrefix(">"), ElementType(numPyDescriptor: "<" + header.descriptor.dropFirst()) != nil {
                throw .bigEndian(path: path, descriptor: header.descriptor)
            }
            throw .unsupportedElementType(path: path, descriptor: header.descriptor)
        }
        // Fortran and C order lay out the same bytes when at most one dimension exceeds 1.
        if header.isFortranOrder && header.shape.filter({ $0 > 1 }).count > 1 { throw .fortranOrder(path: path) }

        guard let count = Tensor.elementCount(of: header.shape) else {
            throw .malformedHeader(path: path, reason: "the shape \(describeShape(header.shape)) has more elements than fit in 64 bits")
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: elementType.byteCount)
        let available = file.count - dataStart
        guard !overflow, byteCount <= available else {
            throw .truncated(path: path, elementType: elementType, shape: header.shape,
                             expectedByteCount: overflow ? Int.max : byteCount, actualByteCount: available)
        }
        guard byteCount == available else {
            throw .trailingBytes(path: path, shape: header.shape, extraByteCount: available - byteCount)
        }
        self.elementType = elementType
        self.shape = header.shape
        self.bytes = Array(file[dataStart...])
    }

    /// The number of elements: the product of `shape`.
    public var elementCount: Int { bytes.count / elementType.byteCount }

    /// The header NumPy's `np.save` writes for this array: magic, version, length and the
    /// padded dictionary, `encodedHeader().count` a multiple of 64.
    func encodedHeader() -> [UInt8] {
        let text = NumPyHeader(descriptor: elementType.numPyDescriptor!, isFortranOrder: false, shape: shape).text
        let body = Array(text.utf8)
        let lengthWithNewline = body.count + 1
        // Version 1.0 stores the header length in 16 bits; use 2.0 when it does not fit.
        var major: UInt8 = 1
        var lengthSize = 2
        var padding = 64 - (8 + lengthSize + lengthWithNewline) % 64
        if lengthWithNewline + padding > Int(UInt16.max) {
            major = 2
            lengthSize = 4
            padding = 64 - (8 + lengthSize + lengthWithNewline) % 64
        }
        let headerLength = lengthWithNewline + padding
        var header = NumPyArray.magic + [major, 0]
        for offset in 0..<lengthSize { header.append(UInt8(truncatingIfNeeded: headerLength >> (8 * offset))) }
        header += body
        header += [UInt8](repeating: 0x20, count: padding)
        header.append(0x0a)
        return header
    }

    /// The complete `.npy` file, identical to what NumPy's `np.save` writes for this array.
    public func encoded() -> [UInt8] {
        encodedHeader() + bytes
    }

    /// Writes the array to a `.npy` file atomically: the file appears only when complete.
    public func write(to path: String) throws(FileError) {
        let file = try AtomicOutputFile(path: path)
        try file.write(encodedHeader())
        try file.write(bytes)
        try file.commit()
    }
}

extension Tensor {
    /// Converts an array of any element type to float32: float16 and float64 round to
    /// nearest, integers above 2^24 in magnitude round to the nearest float, and bools
    /// become 0 or 1.
    public init(converting array: NumPyArray) {
        let count = array.elementCount
        let scalars = [Float](unsafeUninitializedCapacity: count) { output, initialized in
            array.bytes.withUnsafeBytes { input in
                if array.elementType == .float32 && isLittleEndianHost {
                    UnsafeMutableRawBufferPointer(output).copyMemory(from: input)
                } else {
                    for index in 0..<count {
                        output[index] = array.elementType.loadFloat(from: input, at: index)
                    }
                }
            }
            initialized = count
        }
        self.init(shape: array.shape, scalars: scalars)
    }

    /// Reads a `.npy` file and converts its elements to float32 (see `init(converting:)`).
    ///
    /// - Throws: `FileError` if the file cannot be opened or read, `NumPyError` if its
    ///   contents are not an array graft can use.
    public init(npyFile path: String) throws {
        self.init(converting: try NumPyArray(contentsOf: path))
    }

    /// Writes the tensor to a float32 `.npy` file atomically, as NumPy's `np.save` would.
    public func writeNumPy(to path: String) throws(FileError) {
        try NumPyArray(self).write(to: path)
    }
}

extension ElementType {
    /// The element at `index` of little-endian `bytes`, converted to `Float`.
    @inline(__always)
    func loadFloat(from bytes: UnsafeRawBufferPointer, at index: Int) -> Float {
        let offset = index * byteCount
        switch self {
        case .float16:
            return floatFromHalf(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        case .bfloat16:
            return Float(bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))) << 16)
        case .float32:
            return Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        case .float64:
            return Float(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))))
        case .int8:
            return Float(Int8(bitPattern: bytes[offset]))
        case .int16:
            return Float(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
        case .int32:
            return Float(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
        case .int64:
            return Float(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
        case .uint8:
            return Float(bytes[offset])
        case .uint16:
            return Float(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        case .uint32:
            return Float(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        case .uint64:
            return Float(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
        case .bool:
            return bytes[offset] == 0 ? 0 : 1
        }
    }
}

/// Whether this machine stores numbers little-endian, as `.npy` files do.
private let isLittleEndianHost = 1.littleEndian == 1

/// An IEEE 754 binary16 value widened to `Float` (exactly; `Float16` is not available on
/// every platform graft builds for).
func floatFromHalf(_ bits: UInt16) -> Float {
    let sign: UInt32 = UInt32(bits >> 15) << 31
    let exponent = UInt32(bits >> 10) & 0x1f
    let mantissa = UInt32(bits) & 0x3ff
    switch exponent {
    case 0:
        // Zero or subnormal: mantissa × 2^-24.
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    case 0x1f:
        return Float(bitPattern: sign | 0x7f80_0000 | mantissa << 13)
    default:
        return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
    }
}
