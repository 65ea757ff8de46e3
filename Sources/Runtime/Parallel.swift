import Dispatch

/// A value handed to worker threads that the caller knows is used safely (disjoint writes).
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}

/// Runs `body` over `0..<count` split into at most `threads` contiguous ranges, in parallel.
///
/// Work is split by index only, so every element is computed by the same code whatever the
/// thread count: results do not depend on it. Small loops (`count < minimumPerThread · 2`) run
/// on the calling thread.
@inline(__always)
func parallelFor(_ count: Int, threads: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
    let chunks = min(threads, count / max(minimumPerThread, 1))
    if chunks <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(value: escapable)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = count * chunk / chunks
            let end = count * (chunk + 1) / chunks
            if start < end { box.value(start..<end) }
        }
    }
}

/// Like `parallelFor`, also passing each range's chunk number (below `threads`), for kernels
/// that give every thread its own slice of scratch memory.
@inline(__always)
func parallelChunks(_ count: Int, threads: Int, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
    let chunks = min(threads, count)
    if chunks <= 1 {
        if count > 0 { body(0, 0..<count) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(value: escapable)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = count * chunk / chunks
            let end = count * (chunk + 1) / chunks
            if start < end { box.value(chunk, start..<end) }
        }
    }
}
