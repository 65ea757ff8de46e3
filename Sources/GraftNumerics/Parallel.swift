import Foundation
/// Runs `body` over `0..<count` split into at most `threads` contiguous ranges, in parallel on
/// the OpenMP team (see `Parallelism`).
///
/// Work is split by index only, so every element is computed by the same code whatever the
/// thread count: results do not depend on it, provided `body` computes each index on its own
/// (no sums across the indices of a range). Small loops (`count < minimumPerThread · 2`) run
/// on the calling thread.
@inlinable
public func parallelFor(_ count: Int, threads: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
    let chunks = min(threads, count / max(minimumPerThread, 1))
    if chunks <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    parallelItems(chunks, threads: chunks) { _, chunk in
        let start = count * chunk / chunks
        let end = count * (chunk + 1) / chunks
        if start < end { body(start..<end) }
    }
}

/// Runs `body` for each of `count` work items on `threads` workers that take the next item as
/// they finish one, so a worker that is slowed (by other processes, say) takes fewer items
/// instead of holding everyone up. `body` also gets its worker number (below `threads`), for
/// per-worker scratch memory. The workers are the OpenMP team's threads (see `Parallelism`).
///
/// Which worker computes an item never changes the item's result, so as long as the items
/// themselves are chosen without looking at `threads` (and partial results are combined in item
/// order afterwards), results are the same for every thread count. With one worker (or one
/// item) everything runs on the calling thread.
public func parallelItems(_ count: Int, threads: Int, _ body: (_ worker: Int, _ item: Int) -> Void) {
    let workers = min(threads, count)
    if workers <= 1 {
        for item in 0..<count { body(0, item) }
        return
    }
    let queue = WorkQueue()
    onTeam(threads: workers) { worker in
        while let item = queue.next(below: count) { body(worker, item) }
    }
}

/// A shared counter handing out work items.
private final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var nextItem = 0

    func next(below count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard nextItem < count else { return nil }
        nextItem += 1
        return nextItem - 1
    }
}
