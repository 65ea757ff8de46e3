internal import CGraftHDF5
/// Compression of a chunked dataset.
public enum HDF5Compression: Sendable, Equatable {
    case none
    /// zlib deflate at `level` (0–9), after HDF5's byte shuffle filter when `shuffle` is true
    /// (which usually compresses numbers better).
    case gzip(level: Int, shuffle: Bool = true)
}

/// How a new dataset is stored.
public enum HDF5Layout: Sendable, Equatable {
    /// One block of fixed shape.
    case contiguous
    /// Chunks of `rowsPerChunk` rows (whole along the other axes), with the first axis
    /// unlimited so rows can be appended.
    case chunked(rowsPerChunk: Int, compression: HDF5Compression = .none)
}

/// A dataset in an open HDF5 file: an n-dimensional array of one element type.
///
/// "Rows" are positions along the first axis: a dataset of shape `[n, d]` has `n` rows of `d`
/// elements each. Data is moved in row-major (C) order, as numpy stores it.
public final class HDF5Dataset: @unchecked Sendable {
    /// The path of the file the dataset is in.
    public var filePath: String { file.path }
    /// The dataset's absolute path in the file, e.g. `/model_weights/dense/dense/kernel:0`.
    public let path: String
    let file: OpenFile
    let handle: Handle

    init(file: OpenFile, path: String, handle: consuming Handle) {
        self.file = file
        self.path = path
        self.handle = handle
    }

    /// The dataset's attributes.
    public var attributes: HDF5Attributes { HDF5Attributes(owner: self) }

    // MARK: Inspecting

    /// The current shape; `[]` for a scalar.
    public var shape: [Int] {
        get throws(HDF5Error) { try withExtent("inspecting") { $0.shape } }
    }

    /// The largest shape the dataset can grow to; nil entries are unlimited.
    public var maximumShape: [Int?] {
        get throws(HDF5Error) { try withExtent("inspecting") { $0.maximumShape } }
    }

    /// The number of elements (the product of `shape`; 1 for a scalar, 0 for h5py's `Empty`).
    public var elementCount: Int {
        get throws(HDF5Error) {
            try withLibrary { () throws(HDF5Error) -> Int in
                let space = try Handle(checking: H5Dget_space(handle.id), .dataspace, in: file.path, operation("inspecting"))
                return try countElements(of: space.id, in: file.path, operation("inspecting"))
            }
        }
    }

    /// What the dataset stores.
    public var storedType: HDF5StoredType {
        get throws(HDF5Error) {
            try withLibrary { () throws(HDF5Error) -> HDF5StoredType in
                let type = try Handle(checking: H5Dget_type(handle.id), .datatype, in: file.path, operation("inspecting"))
                return HDF5StoredType(describing: type.id)
            }
        }
    }

    /// The chunk shape, or nil if the dataset is not chunked (contiguous, compact or virtual).
    public var chunkShape: [Int]? {
        get throws(HDF5Error) {
            try withCreationProperties { list throws(HDF5Error) -> [Int]? in
                guard H5Pget_layout(list) == H5D_CHUNKED else { return nil }
                var dimensions = [hsize_t](repeating: 0, count: 32)
                let rank = try check(H5Pget_chunk(list, Int32(dimensions.count), &dimensions), in: file.path, operation("inspecting"))
                return dimensions.prefix(Int(rank)).map { Int($0) }
            }
        }
    }

    /// The gzip compression applied to the chunks, or `.none` (other filters are ignored).
    public var compression: HDF5Compression {
        get throws(HDF5Error) {
            try withCreationProperties { list throws(HDF5Error) -> HDF5Compression in
                let filterCount = try check(H5Pget_nfilters(list), in: file.path, operation("inspecting"))
                var level: Int?
                var shuffle = false
                for index in 0..<UInt32(filterCount) {
                    var flags: UInt32 = 0, configuration: UInt32 = 0
                    var values = [UInt32](repeating: 0, count: 8)
                    var valueCount = values.count
                    let filter = H5Pget_filter2(list, index, &flags, &valueCount, &values, 0, nil, &configuration)
                    if filter == H5Z_FILTER_DEFLATE { level = valueCount > 0 ? Int(values[0]) : 6 }
                    if filter == H5Z_FILTER_SHUFFLE { shuffle = true }
                }
                return level.map { .gzip(level: $0, shuffle: shuffle) } ?? .none
            }
        }
    }

    // MARK: Reading numbers and booleans

    /// All elements, converted to `T` by HDF5 (e.g. float64 data read as `Float`). Throws
    /// `wrongType` if the dataset holds strings or other non-numeric data.
    public func read<T: HDF5Element>(as type: T.Type = T.self) throws(HDF5Error) -> [T] {
        try withLibrary { () throws(HDF5Error) -> [T] in
            let count = try elementCount
            try checkStorable(count: count, "reading")
            return try makeArray(count: count) { (buffer: UnsafeMutableBufferPointer<T>) throws(HDF5Error) in
                try readValues(rows: nil, as: T.hdf5ElementType, into: UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count)
            }
        }
    }

    /// Reads all elements into `buffer`, which must hold exactly `elementCount` of them, without
    /// an intermediate copy.
    public func read<T: HDF5Element>(into buffer: UnsafeMutableBufferPointer<T>) throws(HDF5Error) {
        try readValues(rows: nil, as: T.hdf5ElementType, into: UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count)
    }

    /// Reads all elements into `buffer` as `elementType` (not `.string`); the buffer must be
    /// exactly `elementCount` elements of that type long.
    public func read(into buffer: UnsafeMutableRawBufferPointer, as elementType: HDF5ElementType) throws(HDF5Error) {
        precondition(elementType != .string, "read strings with readStrings()")
        let size = memorySize(of: elementType)
        guard buffer.count % size == 0 else {
            throw .sizeMismatch(path: file.path, object: "dataset '\(path)'",
                                detail: "a buffer of \(buffer.count) bytes does not hold whole \(elementType.rawValue) elements")
        }
        try readValues(rows: nil, as: elementType, into: buffer.baseAddress, count: buffer.count / size)
    }

    /// Rows `rows` (along the first axis), converted to `T`.
    public func read<T: HDF5Element>(rows: Range<Int>, as type: T.Type = T.self) throws(HDF5Error) -> [T] {
        try withLibrary { () throws(HDF5Error) -> [T] in
            let count = try rowElementCount(rows, "reading")
            try checkStorable(count: count, "reading")
            return try makeArray(count: count) { (buffer: UnsafeMutableBufferPointer<T>) throws(HDF5Error) in
                try readValues(rows: rows, as: T.hdf5ElementType, into: UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count)
            }
        }
    }

    /// Reads rows `rows` into `buffer`, which must hold exactly their elements.
    public func read<T: HDF5Element>(rows: Range<Int>, into buffer: UnsafeMutableBufferPointer<T>) throws(HDF5Error) {
        try readValues(rows: rows, as: T.hdf5ElementType, into: UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count)
    }

    // MARK: Reading strings

    /// All elements of a string dataset (fixed or variable-length, ASCII or UTF-8).
    public func readStrings() throws(HDF5Error) -> [String] {
        try readStrings(rows: nil)
    }

    /// Rows `rows` of a string dataset.
    public func readStrings(rows: Range<Int>) throws(HDF5Error) -> [String] {
        try readStrings(rows: Optional(rows))
    }

    // MARK: Writing

    /// Replaces all elements with `values`, which must have `elementCount` elements.
    public func write<T: HDF5Element>(_ values: [T]) throws(HDF5Error) {
        try values.withUnsafeBufferPointer { buffer throws(HDF5Error) in try write(buffer) }
    }

    /// Replaces all elements with those in `values`, without an intermediate copy.
    public func write<T: HDF5Element>(_ values: UnsafeBufferPointer<T>) throws(HDF5Error) {
        try writeValues(rows: nil, as: T.hdf5ElementType, from: UnsafeRawPointer(values.baseAddress), count: values.count)
    }

    /// Replaces all elements of a variable-length string dataset with `strings`.
    public func write(_ strings: [String]) throws(HDF5Error) {
        try writeStrings(strings, rows: nil)
    }

    /// Grows the first axis and writes `values` (whole rows, row-major) into the new rows.
    /// The dataset must have been created with an unlimited first axis (`.chunked`).
    public func appendRows<T: HDF5Element>(_ values: [T]) throws(HDF5Error) {
        try values.withUnsafeBufferPointer { buffer throws(HDF5Error) in try appendRows(buffer) }
    }

    /// Appends the rows in `values`, without an intermediate copy.
    public func appendRows<T: HDF5Element>(_ values: UnsafeBufferPointer<T>) throws(HDF5Error) {
        try withLibrary { () throws(HDF5Error) -> Void in
            guard let rows = try growForAppending(values.count) else { return }
            try writeValues(rows: rows, as: T.hdf5ElementType, from: UnsafeRawPointer(values.baseAddress), count: values.count)
        }
    }

    /// Appends rows of a variable-length string dataset (one string per element).
    public func appendRows(_ strings: [String]) throws(HDF5Error) {
        try withLibrary { () throws(HDF5Error) -> Void in
            guard let rows = try growForAppending(strings.count) else { return }
            try writeStrings(strings, rows: rows)
        }
    }

    // MARK: Internals

    private func operation(_ verb: String, rows: Range<Int>? = nil) -> String {
        "\(verb) dataset '\(path)'" + (rows.map { " rows \($0.lowerBound)..<\($0.upperBound)" } ?? "")
    }

    private func withExtent<Result>(
        _ verb: String, _ body: ((shape: [Int], maximumShape: [Int?])) throws(HDF5Error) -> Result
    ) throws(HDF5Error) -> Result {
        try withLibrary { () throws(HDF5Error) -> Result in
            let space = try Handle(checking: H5Dget_space(handle.id), .dataspace, in: file.path, operation(verb))
            return try body(try extent(of: space.id, in: file.path, operation(verb)))
        }
    }

    private func withCreationProperties<Result>(_ body: (hid_t) throws(HDF5Error) -> Result) throws(HDF5Error) -> Result {
        try withLibrary { () throws(HDF5Error) -> Result in
            let list = try Handle(checking: H5Dget_create_plist(handle.id), .propertyList, in: file.path, operation("inspecting"))
            return try body(list.id)
        }
    }

    /// Throws `sizeMismatch` unless `count` stored elements of this dataset fit in the file.
    ///
    /// A dataspace's extent is what the file claims: a damaged header can claim 10^16 elements in
    /// a 17 KB file, and reading it would allocate that much before HDF5 noticed anything. Data
    /// that graft reads (Keras weights, cache rows) is always written, so it occupies file bytes:
    /// at most the file's size unfiltered, or 1032 times that through deflate (RFC 1951's best
    /// case, a 258-byte match in about 2 bits, bounds every filter h5py and Keras use). Datasets
    /// left to their fill value, which HDF5 would expand from nothing, are refused too. A virtual
    /// dataset (`graft cache merge --virtual`) or one in external files keeps its data outside
    /// this file: its source datasets are checked when HDF5 opens them, not here.
    public func checkStorable(count: Int, _ verb: String = "reading") throws(HDF5Error) {
        try withCreationProperties { list throws(HDF5Error) -> Void in
            guard H5Pget_layout(list) != H5D_VIRTUAL, H5Pget_external_count(list) == 0 else { return }
            let type = try Handle(checking: H5Dget_type(handle.id), .datatype, in: file.path, operation(verb))
            let elementSize = max(1, H5Tget_size(type.id))
            var fileSize: hsize_t = 0
            try check(H5Fget_filesize(file.handle.id, &fileSize), in: file.path, operation(verb))
            let filtered = H5Pget_nfilters(list) > 0
            let (room, overflow) = UInt64(fileSize).multipliedReportingOverflow(by: filtered ? 1032 : 1)
            let (needed, tooMany) = UInt64(max(0, count)).multipliedReportingOverflow(by: UInt64(elementSize))
            guard overflow || (!tooMany && needed <= room) else {
                throw .sizeMismatch(path: file.path, object: "dataset '\(path)'",
                                    detail: "it claims \(count) elements of \(elementSize) bytes, more than the \(fileSize)-byte file can hold; the file is damaged")
            }
        }
    }

    /// The number of elements in `rows`, after checking they exist.
    private func rowElementCount(_ rows: Range<Int>, _ verb: String) throws(HDF5Error) -> Int {
        let shape = try shape
        try checkRows(rows, shape: shape)
        return rows.count * product(shape.dropFirst())
    }

    private func checkRows(_ rows: Range<Int>, shape: [Int]) throws(HDF5Error) {
        guard let rowCount = shape.first else {
            throw .sizeMismatch(path: file.path, object: "dataset '\(path)'", detail: "a scalar dataset has no rows")
        }
        guard rows.lowerBound >= 0, rows.upperBound <= rowCount else {
            throw .sizeMismatch(path: file.path, object: "dataset '\(path)'",
                                detail: "rows \(rows.lowerBound)..<\(rows.upperBound) are outside its \(rowCount) rows")
        }
    }

    /// The dataset's dataspace (with `rows` selected, if given), a matching 1-D memory
    /// dataspace, and the number of selected elements.
    private struct Selection: ~Copyable {
        let fileSpace: Handle
        let memorySpace: Handle
        let count: Int
    }

    private func select(rows: Range<Int>?, _ operation: String) throws(HDF5Error) -> Selection {
        let fileSpace = try Handle(checking: H5Dget_space(handle.id), .dataspace, in: file.path, operation)
        let shape = try extent(of: fileSpace.id, in: file.path, operation).shape
        var count = try countElements(of: fileSpace.id, in: file.path, operation)
        // The memory dataspace has the selection's own shape, not a flat [count]: with matching
        // shapes HDF5 copies whole rows of a chunk at a time, where a flat memory space makes it
        // walk the selection element by element (a tenth of `graft train`'s time on a 30,000 ×
        // 4,096 cache went there).
        var memoryShape = shape.isEmpty ? [count] : shape
        if let rows {
            try checkRows(rows, shape: shape)
            try selectRows(rows, of: fileSpace.id, shape: shape, in: file.path, operation)
            count = rows.count * product(shape.dropFirst())
            memoryShape[0] = rows.count
        }
        if count == 0 || memoryShape.contains(0) { memoryShape = [count] }
        let memorySpace = try makeDataspace(shape: memoryShape, in: file.path)
        return Selection(fileSpace: fileSpace, memorySpace: memorySpace, count: count)
    }

    /// Checks that the stored type can be converted to or from `elementType`.
    private func checkType(_ elementType: HDF5ElementType, _ operation: String) throws(HDF5Error) -> HDF5StoredType {
        let type = try Handle(checking: H5Dget_type(handle.id), .datatype, in: file.path, operation)
        let stored = HDF5StoredType(describing: type.id)
        guard stored.canBeRead(as: elementType) else {
            throw .wrongType(path: file.path, object: "dataset '\(path)'", expected: elementType.description, actual: stored.description)
        }
        return stored
    }

    private func readValues(
        rows: Range<Int>?, as elementType: HDF5ElementType, into buffer: UnsafeMutableRawPointer?, count: Int
    ) throws(HDF5Error) {
        try withLibrary { () throws(HDF5Error) -> Void in
            let operation = operation("reading", rows: rows)
            _ = try checkType(elementType, operation)
            let selection = try select(rows: rows, operation)
            guard count == selection.count else {
                throw .sizeMismatch(path: file.path, object: "dataset '\(path)'",
                                    detail: "a buffer of \(count) elements cannot take the \(selection.count) elements read")
            }
            guard count > 0, let buffer else { return }
            let memoryType = try makeMemoryType(for: elementType, in: file.path)
            try check(H5Dread(handle.id, memoryType.id, selection.memorySpace.id, selection.fileSpace.id, graft_H5P_DEFAULT(), buffer),
                      in: file.path, operation)
        }
    }

    private func writeValues(
        rows: Range<Int>?, as elementType: HDF5ElementType, from buffer: UnsafeRawPointer?, count: Int
    ) throws(HDF5Error) {
        try withLibrary { () throws(HDF5Error) -> Void in
            let operation = operation("writing", rows: rows)
            _ = try checkType(elementType, operation)
            let selection = try select(rows: rows, operation)
            guard count == selection.count else {
                throw .sizeMismatch(path: file.path, object: "dataset '\(path)'",
                                    detail: "\(count) values were given for its \(selection.count) elements")
            }
            guard count > 0, let buffer else { return }
            let memoryType = try makeMemoryType(for: elementType, in: file.path)
            try check(H5Dwrite(handle.id, memoryType.id, selection.memorySpace.id, selection.fileSpace.id, graft_H5P_DEFAULT(), buffer),
                      in: file.path, operation)
        }
    }

    private func readStrings(rows: Range<Int>?) throws(HDF5Error) -> [String] {
        try withLibrary { () throws(HDF5Error) -> [String] in
            let operation = operation("reading", rows: rows)
            let type = try Handle(checking: H5Dget_type(handle.id), .datatype, in: file.path, operation)
            let stored = HDF5StoredType(describing: type.id)
            guard stored.kind == .string else {
                throw .wrongType(path: file.path, object: "dataset '\(path)'", expected: "strings", actual: stored.description)
            }
            let selection = try select(rows: rows, operation)
            // One pointer or fixed-length slot per claimed element is allocated below.
            try checkStorable(count: selection.count, "reading")
            // A virtual dataset's strings live in its source files, whose heaps are their own.
            let isVirtual = try withCreationProperties { list throws(HDF5Error) in H5Pget_layout(list) == H5D_VIRTUAL }
            return try readStringElements(
                count: selection.count, storedType: type.id, bufferSpace: selection.memorySpace.id, in: file.path,
                object: "dataset '\(path)'", operation, heaps: isVirtual ? nil : file.heaps
            ) { memoryType, buffer in
                H5Dread(handle.id, memoryType, selection.memorySpace.id, selection.fileSpace.id, graft_H5P_DEFAULT(), buffer)
            }
        }
    }

    private func writeStrings(_ strings: [String], rows: Range<Int>?) throws(HDF5Error) {
        try withLibrary { () throws(HDF5Error) -> Void in
            let operation = operation("writing", rows: rows)
            let type = try Handle(checking: H5Dget_type(handle.id), .datatype, in: file.path, operation)
            let stored = HDF5StoredType(describing: type.id)
            guard stored.kind == .string, stored.isVariableLength else {
                throw .wrongType(path: file.path, object: "dataset '\(path)'", expected: "variable-length strings",
                                 actual: stored.description)
            }
            let selection = try select(rows: rows, operation)
            guard strings.count == selection.count else {
                throw .sizeMismatch(path: file.path, object: "dataset '\(path)'",
                                    detail: "\(strings.count) strings were given for its \(selection.count) elements")
            }
            guard !strings.isEmpty else { return }
            let memoryType = try makeStringType(variableLength: true, utf8: stored.isUTF8, in: file.path)
            let status = withVariableLengthStrings(strings) { buffer in
                H5Dwrite(handle.id, memoryType.id, selection.memorySpace.id, selection.fileSpace.id, graft_H5P_DEFAULT(), buffer)
            }
            try check(status, in: file.path, operation)
        }
    }

    /// Extends the first axis by the rows `valueCount` elements make and returns the new rows,
    /// or nil if there are none. Call with the library lock held.
    private func growForAppending(_ valueCount: Int) throws(HDF5Error) -> Range<Int>? {
        let operation = operation("appending to")
        let space = try Handle(checking: H5Dget_space(handle.id), .dataspace, in: file.path, operation)
        let (shape, maximumShape) = try extent(of: space.id, in: file.path, operation)
        guard let rowCount = shape.first else {
            throw .sizeMismatch(path: file.path, object: "dataset '\(path)'", detail: "a scalar dataset has no rows to append to")
        }
        let rowSize = product(shape.dropFirst())
        guard rowSize > 0, valueCount % rowSize == 0 else {
            throw .sizeMismatch(path: file.path, object: "dataset '\(path)'",
                                detail: "\(valueCount) values do not make whole rows of \(rowSize) elements")
        }
        let newRows = valueCount / rowSize
        guard newRows > 0 else { return nil }
        if let limit = maximumShape[0], rowCount + newRows > limit {
            throw .sizeMismatch(path: file.path, object: "dataset '\(path)'",
                                detail: "it cannot grow past \(limit) rows (only datasets created chunked can be appended to)")
        }
        var newShape = shape.map { hsize_t($0) }
        newShape[0] += hsize_t(newRows)
        try check(H5Dset_extent(handle.id, newShape), in: file.path, operation)
        return rowCount..<(rowCount + newRows)
    }
}

extension HDF5Dataset: AttributeOwner {
    var objectID: hid_t { handle.id }
    var objectDescription: String { "dataset '\(path)'" }
}

// MARK: - Creating datasets

extension HDF5Group {
    /// Creates an empty dataset of `elementType` and `shape` at `path` (creating missing groups
    /// on the way). With a `.chunked` layout the first axis is unlimited and `shape[0]` (often 0)
    /// is only the starting row count. Throws `alreadyExists` if something is at `path`.
    @discardableResult
    public func createDataset(
        _ path: String, of elementType: HDF5ElementType, shape: [Int], layout: HDF5Layout = .contiguous
    ) throws(HDF5Error) -> HDF5Dataset {
        let (parent, name, target) = try prepareCreation(of: path, object: "dataset")
        let invalid = { (detail: String) in HDF5Error.sizeMismatch(path: self.file.path, object: "dataset '\(target)'", detail: detail) }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw invalid("shape \(shape) has a negative size") }
        let handle = try withLibrary { () throws(HDF5Error) -> Handle in
            let operation = "creating dataset '\(target)'"
            let type = try makeFileType(for: elementType, in: file.path)
            let creation = try makePropertyList(graft_H5P_DATASET_CREATE(), in: file.path)
            var maximumShape: [Int?]?
            if case let .chunked(rowsPerChunk, compression) = layout {
                guard !shape.isEmpty else { throw invalid("a scalar dataset cannot be chunked") }
                guard rowsPerChunk > 0 else { throw invalid("a chunk needs at least one row, not \(rowsPerChunk)") }
                maximumShape = [nil] + shape.dropFirst().map { $0 }
                let chunk = ([rowsPerChunk] + shape.dropFirst().map { max($0, 1) }).map { hsize_t($0) }
                try check(H5Pset_chunk(creation.id, Int32(chunk.count), chunk), in: file.path, operation)
                if case let .gzip(level, shuffle) = compression {
                    guard (0...9).contains(level) else { throw invalid("gzip level \(level) is not in 0...9") }
                    if shuffle { try check(H5Pset_shuffle(creation.id), in: file.path, operation) }
                    try check(H5Pset_deflate(creation.id, UInt32(level)), in: file.path, operation)
                }
            }
            let space = try makeDataspace(shape: shape, maximumShape: maximumShape, in: file.path)
            let linkCreation = try makeLinkCreationList(in: file.path)
            return try Handle(
                checking: H5Dcreate2(parent.handle.id, name, type.id, space.id, linkCreation.id, creation.id, graft_H5P_DEFAULT()),
                .object, in: file.path, operation)
        }
        return HDF5Dataset(file: file, path: target, handle: handle)
    }

    /// Creates a dataset of `shape` at `path` holding `values` (row-major).
    @discardableResult
    public func createDataset<T: HDF5Element>(
        _ path: String, shape: [Int], values: [T], layout: HDF5Layout = .contiguous
    ) throws(HDF5Error) -> HDF5Dataset {
        guard product(shape) == values.count else {
            throw .sizeMismatch(path: file.path, object: "dataset '\(absolutePath(path))'",
                                detail: "\(values.count) values do not fill shape \(shape)")
        }
        let dataset = try createDataset(path, of: T.hdf5ElementType, shape: shape, layout: layout)
        try dataset.write(values)
        return dataset
    }

    /// Creates a variable-length UTF-8 string dataset of `shape` at `path` holding `strings`.
    @discardableResult
    public func createDataset(
        _ path: String, shape: [Int], strings: [String], layout: HDF5Layout = .contiguous
    ) throws(HDF5Error) -> HDF5Dataset {
        guard product(shape) == strings.count else {
            throw .sizeMismatch(path: file.path, object: "dataset '\(absolutePath(path))'",
                                detail: "\(strings.count) strings do not fill shape \(shape)")
        }
        let dataset = try createDataset(path, of: .string, shape: shape, layout: layout)
        try dataset.write(strings)
        return dataset
    }
}
