internal import CGraftHDF5
import GraftSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open HDF5 file.
///
/// The file stays open while this object, or any group, dataset or attribute view taken from it,
/// is alive; it closes when the last of them is released.
///
/// Files graft creates use the HDF5 1.8 object format as their lowest version (so attributes
/// larger than 64 KB can be stored) and track the creation order of links; Debian's HDF5 1.10
/// tools (`h5dump`, `h5ls`) and h5py read them. Nothing needs a newer format except virtual
/// datasets, which need HDF5 1.10.
///
/// Thread safety: every call into HDF5 is serialized by one process-wide lock (HDF5 is not
/// generally thread-safe), so HDF5 objects may be shared between tasks, but calls on them never
/// run in parallel.
public final class HDF5File: @unchecked Sendable {
    /// How to open an existing file.
    public enum Access: Sendable {
        case reading
        case readingAndWriting
    }

    /// The path the file was opened or created with.
    public let path: String
    /// The root group, `/`.
    public let root: HDF5Group
    let file: OpenFile

    /// Opens the existing HDF5 file at `path`.
    ///
    /// Throws `cannotOpen` if the file is missing or not readable (or not writable, for
    /// `.readingAndWriting`) and `notHDF5` if it is not an HDF5 file.
    public init(opening path: String, for access: Access = .reading) throws(HDF5Error) {
        let writable = access == .readingAndWriting
        if let problem = accessProblem(path, writable: writable) {
            throw .cannotOpen(path: path, reason: problem)
        }
        guard HDF5File.hasSignature(path: path) else { throw .notHDF5(path: path) }
        // Files graft only reads come from elsewhere (model zoos, other machines): check what
        // HDF5 cannot be trusted to survive (HeapCheck) before it sees them, and keep what the
        // check learnt to check each string reference before HDF5 follows it. (A file opened
        // for writing is graft's own cache, which HDF5 may change under the check.)
        let heaps = writable ? nil : try HeapCheck.validate(fileAt: path)
        let handle = try withLibrary { () throws(HDF5Error) -> Handle in
            let access = try HDF5FileLocking.accessList(for: path)
            let id = H5Fopen(path, writable ? graft_H5F_ACC_RDWR() : graft_H5F_ACC_RDONLY(), access.id)
            guard id >= 0 else { throw .cannotOpen(path: path, reason: ErrorStack.current().summary) }
            return Handle(id, .file)
        }
        self.path = path
        file = OpenFile(path: path, handle: handle, heaps: heaps)
        root = try HDF5Group(openingRootOf: file)
    }

    /// Creates an HDF5 file at `path`, replacing any file there, or with `replacingExisting`
    /// false, throwing `cannotCreate` if one exists.
    public init(creating path: String, replacingExisting: Bool = true) throws(HDF5Error) {
        let handle = try withLibrary { () throws(HDF5Error) -> Handle in
            let creation = try makePropertyList(graft_H5P_FILE_CREATE(), in: path)
            let order = UInt32(H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED)
            try check(H5Pset_link_creation_order(creation.id, order), in: path, "setting up file creation")
            let access = try HDF5FileLocking.accessList(for: path)
            try check(H5Pset_libver_bounds(access.id, H5F_LIBVER_V18, H5F_LIBVER_V110), in: path, "setting up file creation")
            let flags = replacingExisting ? graft_H5F_ACC_TRUNC() : graft_H5F_ACC_EXCL()
            let id = H5Fcreate(path, flags, creation.id, access.id)
            guard id >= 0 else {
                let stack = ErrorStack.current()
                if !replacingExisting, accessProblem(path, writable: false) == nil {
                    throw .cannotCreate(path: path, reason: "the file already exists")
                }
                if let problem = folderProblem(path) { throw .cannotCreate(path: path, reason: problem) }
                // A full disk or a failed write is an I/O error (exit 74), not an uncreatable file.
                if stack.isInputOutputFailure { throw .ioFailure(path: path, operation: "creating the file", stack: stack.summary) }
                throw .cannotCreate(path: path, reason: stack.summary)
            }
            return Handle(id, .file)
        }
        self.path = path
        file = OpenFile(path: path, handle: handle)
        root = try HDF5Group(openingRootOf: file)
    }

    /// Opens, read-only, an HDF5 file image held in memory (for instance a member of a zip
    /// archive) without copying it. `name` stands in for the path in error messages. The image
    /// is kept alive for as long as the file or anything taken from it is.
    public init(image: HDF5MemoryImage, name: String) throws(HDF5Error) {
        guard HDF5File.hasSignature(UnsafeRawBufferPointer(image.bytes)) else { throw .notHDF5(path: name) }
        let heaps = try HeapCheck.validate(image: UnsafeRawBufferPointer(image.bytes), name: name)
        let handle = try withLibrary { () throws(HDF5Error) -> Handle in
            let id = H5LTopen_file_image(image.bytes.baseAddress, image.bytes.count, graft_H5LT_FILE_IMAGE_IN_PLACE())
            guard id >= 0 else { throw .cannotOpen(path: name, reason: ErrorStack.current().summary) }
            return Handle(id, .file)
        }
        self.path = name
        file = OpenFile(path: name, handle: handle, image: image, heaps: heaps)
        root = try HDF5Group(openingRootOf: file)
    }

    /// The attributes of the file (that is, of its root group).
    public var attributes: HDF5Attributes { root.attributes }

    /// Opens the group at `path` (see `HDF5Group.group(_:creatingIfNeeded:)`).
    public func group(_ path: String, creatingIfNeeded: Bool = false) throws(HDF5Error) -> HDF5Group {
        try root.group(path, creatingIfNeeded: creatingIfNeeded)
    }

    /// Opens the dataset at `path` (see `HDF5Group.dataset(_:)`).
    public func dataset(_ path: String) throws(HDF5Error) -> HDF5Dataset {
        try root.dataset(path)
    }

    /// Whether an object exists at `path` (see `HDF5Group.contains(_:)`).
    public func contains(_ path: String) throws(HDF5Error) -> Bool {
        try root.contains(path)
    }

    /// Writes everything buffered for this file to disk.
    public func flush() throws(HDF5Error) {
        try withLibrary { () throws(HDF5Error) -> Void in
            try check(H5Fflush(file.handle.id, H5F_SCOPE_GLOBAL), in: path, "flushing the file")
        }
    }

    /// The 8 bytes every HDF5 file has at the start of its superblock.
    public static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Whether `bytes` (the start of a file) contain the HDF5 signature at offset 0, 512, 1024,
    /// 2048, … — the places the HDF5 format allows the superblock to start (a user block may
    /// precede it).
    public static func hasSignature(_ bytes: some RandomAccessCollection<UInt8>) -> Bool {
        var offset = 0
        while offset + signature.count <= bytes.count {
            let start = bytes.index(bytes.startIndex, offsetBy: offset)
            if bytes[start...].prefix(signature.count).elementsEqual(signature) { return true }
            offset = offset == 0 ? 512 : offset * 2
        }
        return false
    }

    /// Whether the file at `path` is an HDF5 file, judged by its content (see
    /// `hasSignature(_:)`). False if it cannot be read.
    public static func hasSignature(path: String) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        var offset = 0
        var bytes = [UInt8](repeating: 0, count: signature.count)
        while offset + signature.count <= Int(info.st_size) {
            let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
            if count == signature.count, bytes == signature { return true }
            offset = offset == 0 ? 512 : offset * 2
        }
        return false
    }
}

/// The file identifier, shared by the file and every object opened in it, so the file closes
/// only after all of them.
final class OpenFile: @unchecked Sendable {
    let path: String
    // Declared before `image`: stored properties are destroyed in declaration order, so the
    // file closes before the memory it reads from is freed.
    let handle: Handle
    let image: HDF5MemoryImage?
    /// The global heap collections `HeapCheck` walked (nil for files opened for writing, whose
    /// heaps HDF5 changes as it goes).
    let heaps: GlobalHeapIndex?

    init(path: String, handle: consuming Handle, image: HDF5MemoryImage? = nil, heaps: GlobalHeapIndex? = nil) {
        self.path = path
        self.handle = handle
        self.image = image
        self.heaps = heaps
    }
}

/// Memory that holds a whole HDF5 file, to be opened with `HDF5File(image:name:)`.
public final class HDF5MemoryImage: @unchecked Sendable {
    /// The image's bytes; fill them before opening the file, and leave them alone afterwards.
    public let bytes: UnsafeMutableRawBufferPointer

    /// Allocates `byteCount` bytes (zeroed).
    public init(byteCount: Int) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { bytes.deallocate() }
}

/// Why `path` cannot be opened (for writing too, if `writable`), or nil if it can.
private func accessProblem(_ path: String, writable: Bool) -> String? {
    guard access(path, writable ? R_OK | W_OK : R_OK) == 0 else { return systemErrorMessage() }
    var info = stat()
    if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return "it is a directory" }
    return nil
}

/// Why no file can be created at `path` because of its folder, or nil if the folder is fine.
private func folderProblem(_ path: String) -> String? {
    let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    guard access(folder.isEmpty ? "/" : folder, W_OK | X_OK) == 0 else {
        return "folder '\(folder)': \(systemErrorMessage())"
    }
    return nil
}
