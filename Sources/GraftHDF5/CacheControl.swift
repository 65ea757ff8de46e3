internal import CGraftHDF5
import GraftSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Crash-safe appending (used by graft's feature cache).
//
// An HDF5 file is a tree of metadata (object headers, chunk B-trees, heaps) that the library
// caches in memory and writes back in no particular order, some of it in place. A process killed
// while that write-back is under way can leave a file whose structures disagree. Three settings
// keep the file that survives a `kill -9` usable:
//
// - The file-space strategy `H5F_FSPACE_STRATEGY_NONE`: freed space is never reused and every
//   allocation comes from the end of the file, so a relocated chunk or heap never overwrites
//   something the on-disk metadata still points to.
// - A large chunk B-tree rank (`H5Pset_istore_k`): a node holds `2 × rank` chunks, so appending
//   rows only adds entries to the end of a node rewritten in place, and no split (which moves
//   existing entries to a new node) happens before a dataset has that many chunks.
// - Metadata evictions switched off (`H5Fset_mdc_config`): dirty metadata stays in memory until
//   the next explicit flush instead of reaching the disk whenever the cache is full, so the
//   file on disk changes only at the flush points the writer chooses.
//
// All three are HDF5 1.10 features that Debian's 1.10 tools and h5py read.

extension HDF5File {
    /// The chunk B-tree rank of files made by `createForAppending(at:)`: a node holds twice
    /// this many chunks before it splits.
    public static let appendingChunkIndexRank = 2048

    /// Creates an HDF5 file at `path` (replacing any file there) laid out for crash-safe
    /// appending, and opens it for reading and writing with metadata held until `flush()`.
    ///
    /// The file uses the HDF5 1.8 object format as its lowest version, never reuses freed space
    /// and has chunk B-tree nodes of `2 × appendingChunkIndexRank` entries (see the notes at the
    /// top of this file). Readers need nothing special.
    public static func createForAppending(at path: String) throws(HDF5Error) -> HDF5File {
        try withLibrary { () throws(HDF5Error) -> Void in
            let operation = "setting up file creation"
            let creation = try makePropertyList(graft_H5P_FILE_CREATE(), in: path)
            let order = UInt32(H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED)
            try check(H5Pset_link_creation_order(creation.id, order), in: path, operation)
            try check(H5Pset_file_space_strategy(creation.id, H5F_FSPACE_STRATEGY_NONE, false, 1), in: path, operation)
            try check(H5Pset_istore_k(creation.id, UInt32(appendingChunkIndexRank)), in: path, operation)
            let access = try HDF5FileLocking.accessList(for: path)
            try check(H5Pset_libver_bounds(access.id, H5F_LIBVER_V18, H5F_LIBVER_V110), in: path, operation)
            let id = H5Fcreate(path, graft_H5F_ACC_TRUNC(), creation.id, access.id)
            guard id >= 0 else {
                let stack = ErrorStack.current()
                // A full disk or a failed write is an I/O error (exit 74), not an uncreatable file.
                if stack.isInputOutputFailure { throw .ioFailure(path: path, operation: "creating the file", stack: stack.summary) }
                throw .cannotCreate(path: path, reason: stack.summary)
            }
            let file = Handle(id, .file)
            try check(H5Fflush(file.id, H5F_SCOPE_GLOBAL), in: path, "flushing the file")
        }
        let file = try HDF5File(opening: path, for: .readingAndWriting)
        try file.prepareForAppending()
        return file
    }

    /// Prepares a file opened for writing for crash-safe appending: new objects use the HDF5
    /// 1.8 object format at least, and dirty metadata stays in memory until `flush()` (the
    /// metadata cache grows instead of evicting). Call it right after opening.
    public func prepareForAppending() throws(HDF5Error) {
        try withLibrary { () throws(HDF5Error) -> Void in
            let operation = "configuring the metadata cache"
            let id = file.handle.id
            try check(H5Fset_libver_bounds(id, H5F_LIBVER_V18, H5F_LIBVER_V110), in: path, operation)
            var configuration = H5AC_cache_config_t()
            configuration.version = Int32(H5AC__CURR_CACHE_CONFIG_VERSION)
            try check(H5Fget_mdc_config(id, &configuration), in: path, operation)
            configuration.evictions_enabled = false
            configuration.incr_mode = H5C_incr__off
            configuration.flash_incr_mode = H5C_flash_incr__off
            configuration.decr_mode = H5C_decr__off
            configuration.rpt_fcn_enabled = false
            configuration.set_initial_size = true
            configuration.initial_size = max(configuration.initial_size, 16 * 1024 * 1024)
            configuration.max_size = max(configuration.max_size, configuration.initial_size)
            try check(H5Fset_mdc_config(id, &configuration), in: path, operation)
        }
    }

    /// Flushes the file and asks the operating system to write it to the disk (`fsync`), so
    /// that what was flushed also survives a power cut. A process that is killed loses nothing
    /// after a plain `flush()`; this adds the disk.
    public func flushToDisk() throws(HDF5Error) {
        try flush()
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw .ioFailure(path: path, operation: "syncing the file to disk", stack: systemErrorMessage())
        }
    }
}

extension HDF5Attributes {
    /// Overwrites the existing scalar numeric attribute `name` in place, keeping its type and
    /// its place in the object header (unlike `write(_:to:)`, which deletes and recreates it).
    /// Throws `notFound` if there is no such attribute.
    public func overwrite<T: HDF5Element>(_ value: T, in name: String) throws(HDF5Error) {
        let filePath = owner.file.path
        let object = "attribute '\(name)' of \(owner.objectDescription)"
        guard try contains(name) else { throw .notFound(path: filePath, object: object) }
        try withLibrary { () throws(HDF5Error) -> Void in
            let operation = "writing \(object)"
            let attribute = try Handle(checking: H5Aopen(owner.objectID, name, graft_H5P_DEFAULT()), .attribute,
                                       in: filePath, operation)
            let space = try Handle(checking: H5Aget_space(attribute.id), .dataspace, in: filePath, operation)
            guard try countElements(of: space.id, in: filePath, operation) == 1 else {
                throw .sizeMismatch(path: filePath, object: object, detail: "it does not hold exactly one value")
            }
            let memoryType = try makeMemoryType(for: T.hdf5ElementType, in: filePath)
            var copy = value
            try check(H5Awrite(attribute.id, memoryType.id, &copy), in: filePath, operation)
        }
    }
}

extension HDF5Dataset {
    /// Sets the number of rows (the first axis) of a chunked dataset, cutting off rows past it
    /// or adding rows of zeros (empty strings for strings).
    public func setRowCount(_ rowCount: Int) throws(HDF5Error) {
        try withLibrary { () throws(HDF5Error) -> Void in
            let operation = "resizing dataset '\(path)'"
            let space = try Handle(checking: H5Dget_space(handle.id), .dataspace, in: file.path, operation)
            let (shape, maximumShape) = try extent(of: space.id, in: file.path, operation)
            guard !shape.isEmpty else {
                throw .sizeMismatch(path: file.path, object: "dataset '\(path)'", detail: "a scalar dataset has no rows")
            }
            if let limit = maximumShape[0], rowCount > limit {
                throw .sizeMismatch(path: file.path, object: "dataset '\(path)'", detail: "it cannot grow past \(limit) rows")
            }
            var newShape = shape.map { hsize_t($0) }
            newShape[0] = hsize_t(rowCount)
            try check(H5Dset_extent(handle.id, newShape), in: file.path, operation)
        }
    }

    /// Replaces rows `firstRow ..< firstRow + strings.count` of a variable-length string
    /// dataset with `strings`; the rows must exist.
    public func overwriteRows(startingAt firstRow: Int, with strings: [String]) throws(HDF5Error) {
        guard !strings.isEmpty else { return }
        try withLibrary { () throws(HDF5Error) -> Void in
            let rows = firstRow..<(firstRow + strings.count)
            let operation = "writing dataset '\(path)' rows \(rows.lowerBound)..<\(rows.upperBound)"
            let type = try Handle(checking: H5Dget_type(handle.id), .datatype, in: file.path, operation)
            let stored = HDF5StoredType(describing: type.id)
            guard stored.kind == .string, stored.isVariableLength else {
                throw .wrongType(path: file.path, object: "dataset '\(path)'", expected: "variable-length strings",
                                 actual: stored.description)
            }
            let fileSpace = try Handle(checking: H5Dget_space(handle.id), .dataspace, in: file.path, operation)
            let shape = try extent(of: fileSpace.id, in: file.path, operation).shape
            guard shape.count == 1, rows.lowerBound >= 0, rows.upperBound <= shape[0] else {
                throw .sizeMismatch(path: file.path, object: "dataset '\(path)'",
                                    detail: "rows \(rows.lowerBound)..<\(rows.upperBound) are outside its shape \(shape)")
            }
            try selectRows(rows, of: fileSpace.id, shape: shape, in: file.path, operation)
            let memorySpace = try makeDataspace(shape: [strings.count], in: file.path)
            let memoryType = try makeStringType(variableLength: true, utf8: stored.isUTF8, in: file.path)
            let status = withVariableLengthStrings(strings) { buffer in
                H5Dwrite(handle.id, memoryType.id, memorySpace.id, fileSpace.id, graft_H5P_DEFAULT(), buffer)
            }
            try check(status, in: file.path, operation)
        }
    }
}

extension HDF5Dataset {
    /// Whether the dataset is a virtual dataset (its rows live in other datasets).
    public var isVirtual: Bool {
        get throws(HDF5Error) {
            try withLibrary { () throws(HDF5Error) -> Bool in
                let list = try Handle(checking: H5Dget_create_plist(handle.id), .propertyList, in: file.path,
                                      "inspecting dataset '\(path)'")
                return H5Pget_layout(list.id) == H5D_VIRTUAL
            }
        }
    }
}
