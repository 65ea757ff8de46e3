import Dispatch

/// A value handed to worker threads that write disjoint memory.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}

/// Runs `body(block)` for every block in `0..<count` on the cores, in no set order. Each block's
/// result must not depend on which thread runs it (write to per-block slots, reduce in order).
func forEachBlock(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 {
        if count == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(value: escapable)
        DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
    }
}
