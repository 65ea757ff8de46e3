import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT and SIGTERM as a request to stop at the next safe point, for commands that commit
/// work in steps (`graft features` commits a batch at a time).
///
/// The handler only records the signal in an atomic, which is async-signal-safe; the command
/// polls `requested` between steps, finishes the step in hand, and exits with 128 + signal.
/// A second signal while the first is pending restores the default action and re-raises it,
/// so pressing Ctrl-C twice stops the process at once (the cache stays resumable: its
/// committed rows never depend on finishing a batch).
enum StopSignals {
    /// The pending signal number, 0 if none.
    private static let pending = Atomic<Int32>(0)

    /// Installs the handlers for SIGINT and SIGTERM, and unblocks both in the calling thread
    /// (a parent may have started graft with them blocked; the mask is inherited across `exec`).
    static func install() {
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        sigaddset(&unblocked, SIGINT)
        sigaddset(&unblocked, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        for number in [SIGINT, SIGTERM] {
            signal(number) { received in
                let (exchanged, _) = StopSignals.pending.compareExchange(expected: 0, desired: received, ordering: .relaxed)
                if !exchanged {
                    signal(received, SIG_DFL)
                    raise(received)
                }
            }
        }
    }

    /// The signal that asked the process to stop, if one did.
    static var requested: Int32? {
        let number = pending.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }
}
