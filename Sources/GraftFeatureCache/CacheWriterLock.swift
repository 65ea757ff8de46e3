import Foundation
import GraftSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one-writer-per-cache rule: an advisory POSIX record lock (`fcntl(F_SETLK)`) on a small
/// file next to the cache, `.<cache name>.lock`, held for as long as this value lives.
///
/// The kernel drops the lock when its holder exits, however it exits, so a killed run never
/// leaves a stale lock; only the empty lock file may stay behind, and the next writer reuses it
/// and removes it when done. A second writer is refused at once, and `fcntl(F_GETLK)` names the
/// holder's process id, which the error reports with the holder's command line where
/// `/proc` shows it.
///
/// POSIX record locks belong to the process, not to the descriptor: closing *any* descriptor of
/// the lock file releases them. So a process takes the lock once per cache and keeps this one
/// value; the lock file is opened nowhere else.
public final class CacheWriterLock {
    /// The cache the lock guards.
    public let cachePath: String
    /// The lock file's path.
    public let lockPath: String
    private var descriptor: Int32

    /// Takes the writer lock of the cache at `cachePath` (which need not exist yet).
    ///
    /// - Throws: `FeatureCacheError.cacheInUse` naming the process that holds it;
    ///   `FileError.cannotCreate` when the lock file cannot be made (e.g. a read-only folder).
    public init(cachePath: String) throws {
        self.cachePath = cachePath
        lockPath = CacheWriterLock.lockPath(for: cachePath)
        descriptor = -1
        // The holder removes the lock file when it finishes: a writer that opened the old file
        // just before that holds a lock on a file no longer in the folder, so after locking,
        // check that the path still names the locked file, and start again if it does not.
        for _ in 0..<100 {
            let opened = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard opened >= 0 else {
                throw FileError.cannotCreate(path: lockPath, reason: "cannot make the cache's lock file: \(String(cString: strerror(errno)))")
            }
            var request = CacheWriterLock.wholeFileWriteLock()
            if fcntl(opened, F_SETLK, &request) != 0 {
                let lockError = errno
                var probe = CacheWriterLock.wholeFileWriteLock()
                let holder = fcntl(opened, F_GETLK, &probe) == 0 && probe.l_type != Int16(F_UNLCK) ? probe.l_pid : 0
                close(opened)
                if holder == 0 && lockError != EACCES && lockError != EAGAIN {
                    throw FileError.cannotCreate(path: lockPath, reason: "cannot lock the cache's lock file: \(String(cString: strerror(lockError)))")
                }
                if holder == 0 { continue }  // released between the two calls: try again
                throw FeatureCacheError.cacheInUse(path: cachePath, holder: holder, command: CacheWriterLock.commandLine(of: holder))
            }
            var locked = stat(), named = stat()
            if fstat(opened, &locked) == 0, stat(lockPath, &named) == 0, locked.st_ino == named.st_ino, locked.st_dev == named.st_dev {
                descriptor = opened
                return
            }
            close(opened)
        }
        throw FileError.cannotCreate(path: lockPath, reason: "the cache's lock file keeps changing under it")
    }

    /// Removes the lock file and releases the lock (in that order, so no writer can lock the
    /// old file after it is gone and believe it holds the cache's lock: see `init`).
    public func release() {
        guard descriptor >= 0 else { return }
        unlink(lockPath)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }

    /// `.<name>.lock` in the cache's folder.
    static func lockPath(for cachePath: String) -> String {
        let url = URL(fileURLWithPath: cachePath)
        let folder = cachePath.contains("/") ? url.deletingLastPathComponent().path + "/" : ""
        return folder + "." + url.lastPathComponent + ".lock"
    }

    private static func wholeFileWriteLock() -> flock {
        var request = flock()
        request.l_type = Int16(F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        request.l_start = 0
        request.l_len = 0
        return request
    }

    /// The process's command line from `/proc`, arguments joined by spaces, or nil.
    private static func commandLine(of process: pid_t) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(process)/cmdline"), !data.isEmpty else { return nil }
        let arguments = data.split(separator: 0, omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
        return arguments.joined(separator: " ")
    }
}
