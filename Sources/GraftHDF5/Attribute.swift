internal import CGraftHDF5
/// An object that carries attributes: a group (including a file's root) or a dataset.
protocol AttributeOwner: AnyObject, Sendable {
    var file: OpenFile { get }
    var objectID: hid_t { get }
    /// The object for messages, e.g. "group '/model_weights'".
    var objectDescription: String { get }
}

/// The attributes of a group or dataset: small named values stored with it.
///
/// An attribute is a scalar or a 1-D array of numbers, booleans or strings. Reading converts
/// between numeric types (int32 reads as `Int64`, float64 as `Float`), and string reading
/// accepts every HDF5 string kind: fixed or variable-length, ASCII or UTF-8, scalar or array,
/// so it reads both what h5py writes for `str` (variable-length UTF-8) and for numpy `bytes_`
/// (fixed-length ASCII). Writing replaces an existing attribute of the same name.
///
/// Size: a variable-length string attribute of any size (such as Keras's `model_config` JSON)
/// fits anywhere. Other attributes over about 64 KB (e.g. a long fixed-length string list) fit
/// only in files that use the HDF5 1.8 object format, as files graft creates do; on older
/// objects writing them throws `sizeMismatch`. Keras avoids the limit by splitting long lists
/// into `name0`, `name1`, …, which `stringList(_:)` reassembles.
public struct HDF5Attributes: Sendable {
    let owner: any AttributeOwner

    private var filePath: String { owner.file.path }

    private func describe(_ name: String) -> String {
        "attribute '\(name)' of \(owner.objectDescription)"
    }

    // MARK: Inspecting

    /// Whether an attribute named `name` exists.
    public func contains(_ name: String) throws(HDF5Error) -> Bool {
        try withLibrary { () throws(HDF5Error) -> Bool in
            try check(H5Aexists(owner.objectID, name), in: filePath, "looking for \(describe(name))") > 0
        }
    }

    /// The names of all attributes, in name order.
    public func names() throws(HDF5Error) -> [String] {
        final class Names { var list: [String] = [] }
        let names = Names()
        try withLibrary { () throws(HDF5Error) -> Void in
            let status = H5Aiterate2(owner.objectID, H5_INDEX_NAME, H5_ITER_INC, nil, { _, name, _, data in
                guard let name, let data else { return -1 }
                Unmanaged<Names>.fromOpaque(data).takeUnretainedValue().list.append(String(cString: name))
                return 0
            }, Unmanaged.passUnretained(names).toOpaque())
            try check(status, in: filePath, "listing the attributes of \(owner.objectDescription)")
        }
        return names.list
    }

    /// The shape of attribute `name`: `[]` for a scalar, `[n]` for a 1-D array.
    public func shape(of name: String) throws(HDF5Error) -> [Int] {
        try withAttribute(name, "inspecting") { attribute throws(HDF5Error) in attribute.shape }
    }

    /// What attribute `name` stores.
    public func storedType(of name: String) throws(HDF5Error) -> HDF5StoredType {
        try withAttribute(name, "inspecting") { attribute throws(HDF5Error) in attribute.storedType }
    }

    /// Deletes attribute `name`; throws `notFound` if there is none.
    public func remove(_ name: String) throws(HDF5Error) {
        guard try contains(name) else { throw .notFound(path: filePath, object: describe(name)) }
        try withLibrary { () throws(HDF5Error) -> Void in
            try check(H5Adelete(owner.objectID, name), in: filePath, "deleting \(describe(name))")
        }
    }

    // MARK: Reading

    /// The single string in attribute `name` (a scalar or a one-element array).
    public func string(_ name: String) throws(HDF5Error) -> String {
        let strings = try strings(name)
        guard strings.count == 1 else {
            throw .sizeMismatch(path: filePath, object: describe(name),
                                detail: "it holds \(strings.count) strings where one was expected")
        }
        return strings[0]
    }

    /// The strings in attribute `name`: one for a scalar, all of them for an array.
    public func strings(_ name: String) throws(HDF5Error) -> [String] {
        try withAttribute(name, "reading") { attribute throws(HDF5Error) in
            guard attribute.storedType.kind == .string else {
                throw .wrongType(path: filePath, object: describe(name), expected: "strings",
                                 actual: attribute.storedType.description)
            }
            return try readStringElements(
                count: attribute.count, storedType: attribute.type.id, bufferSpace: attribute.space.id,
                in: filePath, object: describe(name), attribute.operation, heaps: owner.file.heaps
            ) { memoryType, buffer in H5Aread(attribute.handle.id, memoryType, buffer) }
        }
    }

    /// The string list in attribute `name`, or, if there is no such attribute, the
    /// concatenation of `name0`, `name1`, … up to the first missing one: Keras splits
    /// string lists too long for one attribute (e.g. `layer_names`, `weight_names`) that way.
    /// Throws `notFound` if neither form exists.
    public func stringList(_ name: String) throws(HDF5Error) -> [String] {
        if try contains(name) { return try strings(name) }
        var list: [String] = []
        var chunk = 0
        while try contains("\(name)\(chunk)") {
            list += try strings("\(name)\(chunk)")
            chunk += 1
        }
        guard chunk > 0 else {
            throw .notFound(path: filePath, object: "attribute '\(name)' (nor '\(name)0', '\(name)1', …) of \(owner.objectDescription)")
        }
        return list
    }

    /// The single value in numeric or boolean attribute `name` (a scalar or one-element array),
    /// converted to `T`.
    public func value<T: HDF5Element>(_ name: String, as type: T.Type = T.self) throws(HDF5Error) -> T {
        let values = try values(name, as: T.self)
        guard values.count == 1 else {
            throw .sizeMismatch(path: filePath, object: describe(name),
                                detail: "it holds \(values.count) values where one was expected")
        }
        return values[0]
    }

    /// The values in numeric or boolean attribute `name`, converted to `T`.
    public func values<T: HDF5Element>(_ name: String, as type: T.Type = T.self) throws(HDF5Error) -> [T] {
        try withAttribute(name, "reading") { attribute throws(HDF5Error) in
            guard attribute.storedType.canBeRead(as: T.hdf5ElementType) else {
                throw .wrongType(path: filePath, object: describe(name), expected: T.hdf5ElementType.description,
                                 actual: attribute.storedType.description)
            }
            let memoryType = try makeMemoryType(for: T.hdf5ElementType, in: filePath)
            let memoryTypeID = memoryType.id
            return try makeArray(count: attribute.count) { (buffer: UnsafeMutableBufferPointer<T>) throws(HDF5Error) in
                guard let base = buffer.baseAddress else { return }
                try check(H5Aread(attribute.handle.id, memoryTypeID, base), in: filePath, attribute.operation)
            }
        }
    }

    // MARK: Writing

    /// Stores `string` as scalar string attribute `name`.
    public func write(_ string: String, to name: String, storage: HDF5StringStorage = .variableLength) throws(HDF5Error) {
        try writeStrings([string], shape: [], to: name, storage: storage)
    }

    /// Stores `strings` as a 1-D string array attribute `name`.
    public func write(_ strings: [String], to name: String, storage: HDF5StringStorage = .variableLength) throws(HDF5Error) {
        try writeStrings(strings, shape: [strings.count], to: name, storage: storage)
    }

    /// Stores `value` as scalar attribute `name`.
    public func write<T: HDF5Element>(_ value: T, to name: String) throws(HDF5Error) {
        try writeValues([value], shape: [], to: name)
    }

    /// Stores `values` as a 1-D attribute `name`.
    public func write<T: HDF5Element>(_ values: [T], to name: String) throws(HDF5Error) {
        try writeValues(values, shape: [values.count], to: name)
    }

    private func writeValues<T: HDF5Element>(_ values: [T], shape: [Int], to name: String) throws(HDF5Error) {
        try withLibrary { () throws(HDF5Error) -> Void in
            let fileType = try makeFileType(for: T.hdf5ElementType, in: filePath)
            let memoryType = try makeMemoryType(for: T.hdf5ElementType, in: filePath)
            try create(name, type: fileType.id, shape: shape, byteCount: values.count * MemoryLayout<T>.stride) { attribute in
                values.withUnsafeBytes { withNonNullBase($0) { H5Awrite(attribute, memoryType.id, $0) } }
            }
        }
    }

    private func writeStrings(_ strings: [String], shape: [Int], to name: String, storage: HDF5StringStorage) throws(HDF5Error) {
        try withLibrary { () throws(HDF5Error) -> Void in
            switch storage {
            case .variableLength:
                let type = try makeStringType(variableLength: true, utf8: true, in: filePath)
                try create(name, type: type.id, shape: shape, byteCount: strings.count * 16) { attribute in
                    withVariableLengthStrings(strings) { H5Awrite(attribute, type.id, $0) }
                }
            case .fixedLength:
                let (bytes, length, isASCII) = fixedLengthBytes(of: strings)
                let type = try makeStringType(variableLength: false, length: length, utf8: !isASCII, in: filePath)
                try create(name, type: type.id, shape: shape, byteCount: bytes.count) { attribute in
                    bytes.withUnsafeBytes { H5Awrite(attribute, type.id, $0.baseAddress!) }
                }
            }
        }
    }

    /// Replaces attribute `name` with a new one of `type` and `shape` and fills it with
    /// `write(attributeID)`. `byteCount` (the data's size) explains a failure to create it.
    private func create(
        _ name: String, type: hid_t, shape: [Int], byteCount: Int, write: (hid_t) -> herr_t
    ) throws(HDF5Error) {
        let operation = "writing \(describe(name))"
        if try check(H5Aexists(owner.objectID, name), in: filePath, operation) > 0 {
            try check(H5Adelete(owner.objectID, name), in: filePath, operation)
        }
        let space = try makeDataspace(shape: shape, in: filePath)
        let id = H5Acreate2(owner.objectID, name, type, space.id, graft_H5P_DEFAULT(), graft_H5P_DEFAULT())
        if id < 0, byteCount >= 64 * 1024 - 1024 {
            _ = ErrorStack.current()
            throw .sizeMismatch(
                path: filePath, object: describe(name),
                detail: "its \(byteCount) bytes do not fit: objects stored in the HDF5 1.6 format (h5py's "
                    + "default) hold at most 64 KB of attributes; store it as a variable-length string or a dataset")
        }
        let attribute = try Handle(checking: id, .attribute, in: filePath, operation)
        try check(write(attribute.id), in: filePath, operation)
    }

    // MARK: Opening

    /// An open attribute with its type and dataspace.
    private struct OpenAttribute: ~Copyable {
        let handle: Handle
        let type: Handle
        let space: Handle
        let storedType: HDF5StoredType
        let shape: [Int]
        let count: Int
        let operation: String
    }

    /// Opens attribute `name` and runs `body` on it with the library lock held; throws
    /// `notFound` if there is no such attribute. `verb` starts the operation text ("reading").
    private func withAttribute<Result>(
        _ name: String, _ verb: String, _ body: (borrowing OpenAttribute) throws(HDF5Error) -> Result
    ) throws(HDF5Error) -> Result {
        guard try contains(name) else { throw .notFound(path: filePath, object: describe(name)) }
        return try withLibrary { () throws(HDF5Error) -> Result in
            let operation = "\(verb) \(describe(name))"
            let handle = try Handle(checking: H5Aopen(owner.objectID, name, graft_H5P_DEFAULT()), .attribute,
                                    in: filePath, operation)
            let type = try Handle(checking: H5Aget_type(handle.id), .datatype, in: filePath, operation)
            let space = try Handle(checking: H5Aget_space(handle.id), .dataspace, in: filePath, operation)
            let shape = try extent(of: space.id, in: filePath, operation).shape
            let count = try countElements(of: space.id, in: filePath, operation)
            // An attribute's values are stored in the file (in its object's header or heap),
            // never filtered: at least one byte each, and a variable-length string's reference
            // takes 16. So a count past the file's size is a damaged header, refused before
            // anything is allocated for it (a fuzzed Keras file claimed 2^60 strings).
            let elementSize = max(1, H5Tget_size(type.id))
            var fileSize: hsize_t = 0
            try check(H5Fget_filesize(owner.file.handle.id, &fileSize), in: filePath, operation)
            let (needed, overflow) = UInt64(max(0, count)).multipliedReportingOverflow(by: UInt64(elementSize))
            guard !overflow, needed <= UInt64(fileSize) else {
                throw .sizeMismatch(path: filePath, object: describe(name),
                                    detail: "it claims \(count) elements of \(elementSize) bytes, more than the \(fileSize)-byte file can hold; the file is damaged")
            }
            // HDF5 copies a variable-length element's reference out of the attribute's stored
            // data: a 4-byte length, a heap address and a 4-byte index. A damaged header can
            // declare a smaller element than that, and HDF5 1.10 then reads past the bytes it
            // holds (found by fuzzing a cache: 16 bytes read from 10); refuse it first.
            if count > 0, H5Tis_variable_str(type.id) > 0 || H5Tget_class(type.id) == H5T_VLEN {
                let list = try Handle(checking: H5Fget_create_plist(owner.file.handle.id), .propertyList, in: filePath, operation)
                var addressSize = 0, lengthSize = 0
                try check(H5Pget_sizes(list.id, &addressSize, &lengthSize), in: filePath, operation)
                let reference = UInt64(8 + addressSize), stored = H5Aget_storage_size(handle.id)
                guard stored >= UInt64(count) * reference else {
                    throw .sizeMismatch(path: filePath, object: describe(name),
                                        detail: "its \(count) variable-length elements need \(UInt64(count) * reference) bytes of references but it stores \(stored); the file is damaged")
                }
            }
            let storedType = HDF5StoredType(describing: type.id)
            let attribute = OpenAttribute(
                handle: handle, type: type, space: space, storedType: storedType,
                shape: shape, count: count, operation: operation)
            return try body(attribute)
        }
    }
}

/// Calls `body` with `buffer`'s base address, or with the address of a dummy byte if the buffer
/// is empty (HDF5 rejects null buffers even when there is nothing to transfer).
func withNonNullBase(_ buffer: UnsafeRawBufferPointer, _ body: (UnsafeRawPointer) -> herr_t) -> herr_t {
    if let base = buffer.baseAddress { return body(base) }
    var dummy: UInt8 = 0
    return withUnsafeBytes(of: &dummy) { body($0.baseAddress!) }
}
