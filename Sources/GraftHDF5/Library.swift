internal import CGraftHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Thread safety
// -------------
// The HDF5 C library must not be entered by two threads at once unless it was built
// thread-safe, and even then a sequence of calls (open, query, read, close) is not atomic. So
// every call into the C library in this module runs inside `withLibrary`, which holds one
// process-wide recursive lock; the public classes are therefore `@unchecked Sendable` and may be
// shared between tasks, but their calls run one at a time. The lock is recursive because a
// handle's `deinit` (which closes it) can run while the lock is already held.
//
// Error reporting: in a thread-safe build (Debian's is one) each thread has its own error
// stack and its own automatic-printing setting. `withLibrary` therefore switches automatic
// printing off once on every thread that calls into HDF5, before its first call, so the
// library never writes to stderr; failures are read from the (same thread's) error stack.

/// A recursive mutex; the HDF5 library lock.
final class LibraryLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Non-nil on threads where HDF5's automatic error printing has been switched off.
    private let quietThread: pthread_key_t

    init() {
        // No clean-up at exit: graft closes (and flushes) every file it writes itself, and
        // HDF5 1.10's exit handler crashes (H5D_close on a null pointer) when a dataset was left
        // behind by a write that failed, e.g. on a full disk. This must precede the library's
        // initialisation, which the first call through this lock triggers.
        _ = H5dont_atexit()
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        quietThread = key
    }

    func withLock<Result: ~Copyable, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if pthread_getspecific(quietThread) == nil {
            H5Eset_auto2(graft_H5E_DEFAULT(), nil, nil)
            pthread_setspecific(quietThread, UnsafeRawPointer(bitPattern: 1))
        }
        return try body()
    }
}

/// The lock, created on first use.
private let libraryLock = LibraryLock()

/// Runs `body` holding the HDF5 library lock. Every C call in this module goes through here.
func withLibrary<Result: ~Copyable, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
    try libraryLock.withLock(body)
}

/// The single owner of one HDF5 identifier, which it closes when it goes away.
struct Handle: ~Copyable {
    /// Which close function an identifier needs.
    enum Kind {
        case file, object, attribute, dataspace, datatype, propertyList
        /// A library-owned constant such as `H5T_NATIVE_FLOAT`, which must not be closed.
        case predefined
    }

    let id: hid_t
    let kind: Kind

    /// Takes ownership of `id`, which must be valid.
    init(_ id: hid_t, _ kind: Kind) {
        self.id = id
        self.kind = kind
    }

    /// Takes ownership of the result of an HDF5 call, or throws the library's error if it failed.
    init(checking id: hid_t, _ kind: Kind, in path: String, _ operation: @autoclosure () -> String) throws(HDF5Error) {
        self.init(try check(id, in: path, operation()), kind)
    }

    deinit {
        let (id, kind) = (self.id, self.kind)
        withLibrary {
            switch kind {
            case .file: _ = H5Fclose(id)
            case .object: _ = H5Oclose(id)
            case .attribute: _ = H5Aclose(id)
            case .dataspace: _ = H5Sclose(id)
            case .datatype: _ = H5Tclose(id)
            case .propertyList: _ = H5Pclose(id)
            case .predefined: break
            }
        }
    }
}

/// Creates a property list of `propertyClass` (e.g. `graft_H5P_DATASET_CREATE()`).
func makePropertyList(_ propertyClass: hid_t, in path: String) throws(HDF5Error) -> Handle {
    try Handle(checking: H5Pcreate(propertyClass), .propertyList, in: path, "creating a property list")
}

/// HDF5's own advisory file locks (`flock` on every file it opens).
///
/// On in graft. A test process turns them off: it starts child processes (`graft`, `h5dump`)
/// while other tests open HDF5 files on other threads, and a child holds copies of the parent's
/// descriptors, locks included, from its fork until it closes them before `exec`; a file opened
/// and closed in that window stays locked for a moment, and reopening it fails with EAGAIN.
/// graft itself never starts processes.
package enum HDF5FileLocking {
    /// Read and written with the library lock held.
    nonisolated(unsafe) private static var enabled = true

    /// Turns HDF5's file locks off for every file this process opens from now on, including the
    /// source files HDF5 opens by itself to read a virtual dataset: those are opened with a file
    /// access list of its own, which HDF5 1.10's `HDF5_USE_FILE_LOCKING` overrides (it reads the
    /// variable at every open). A locked source cannot be opened and reads as fill values, which
    /// a test saw once in a full run while another test's child process held a descriptor.
    package static func disable() {
        withLibrary {
            enabled = false
            setenv("HDF5_USE_FILE_LOCKING", "FALSE", 1)
        }
    }

    /// A file access property list for `path` with the process's locking choice. Call with the
    /// library lock held.
    static func accessList(for path: String) throws(HDF5Error) -> Handle {
        let access = try makePropertyList(graft_H5P_FILE_ACCESS(), in: path)
        try check(H5Pset_file_locking(access.id, enabled, true), in: path, "setting up file locking")
        return access
    }
}

/// HDF5 objects (files, groups, datasets, attributes, types) open in this process: 0 whenever
/// graft holds no HDF5 value. The fuzzing driver checks it after every input.
package func openHDF5ObjectCount() -> Int {
    // H5F_OBJ_ALL (files, datasets, groups, named types, attributes: 0x1F), a macro Swift cannot
    // import; as the file argument it means every file.
    let everything: UInt32 = 0x1F
    return withLibrary { Int(H5Fget_obj_count(hid_t(everything), everything)) }
}
