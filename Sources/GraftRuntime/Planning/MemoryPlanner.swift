/// Places the plan's buffers in one arena: buffers whose lifetimes do not overlap share memory.
///
/// A buffer lives from the step that first writes it (graph inputs: before step 0) to the step
/// that last reads it; requested outputs live to the end. Buffers are placed in order of first
/// write: each takes the smallest free slot that fits, or grows the largest free one, or opens a
/// new slot. A slot is free once its last occupant's last reader has run. Sizes are rounded up
/// to 16 floats (64 bytes), so every buffer starts on a cache line.
struct MemoryPlanner {
    /// Each buffer's offset in the arena, in floats; nil for a buffer no step touches.
    let offsets: [Int?]
    /// Floats in the arena.
    let arenaFloats: Int
    /// Floats all used buffers would take without sharing.
    let unsharedFloats: Int

    init(bufferSizes: [Int], steps: [(reads: [Int], writes: [Int])], inputs: [Int], outputs: [Int]) {
        let bufferCount = bufferSizes.count
        var first = [Int](repeating: Int.max, count: bufferCount)
        var last = [Int](repeating: -1, count: bufferCount)
        for input in inputs { first[input] = -1 }
        for (index, step) in steps.enumerated() {
            for buffer in step.writes { first[buffer] = min(first[buffer], index) }
            for buffer in step.reads { last[buffer] = max(last[buffer], index) }
        }
        for output in outputs { last[output] = Int.max }
        for buffer in 0..<bufferCount where first[buffer] != Int.max { last[buffer] = max(last[buffer], first[buffer]) }

        var slotSizes: [Int] = []
        var slotBusyUntil: [Int] = []
        var slotOf = [Int](repeating: -1, count: bufferCount)
        let order = (0..<bufferCount).filter { first[$0] != Int.max }.sorted { (first[$0], $0) < (first[$1], $1) }
        for buffer in order {
            let size = (bufferSizes[buffer] + 15) / 16 * 16
            let free = slotSizes.indices.filter { slotBusyUntil[$0] < first[buffer] }
            let slot: Int
            if let fit = free.filter({ slotSizes[$0] >= size }).min(by: { slotSizes[$0] < slotSizes[$1] }) {
                slot = fit
            } else if let largest = free.max(by: { slotSizes[$0] < slotSizes[$1] }) {
                slot = largest
                slotSizes[slot] = size
            } else {
                slot = slotSizes.count
                slotSizes.append(size)
                slotBusyUntil.append(0)
            }
            slotBusyUntil[slot] = last[buffer]
            slotOf[buffer] = slot
        }
        var slotOffsets: [Int] = []
        var total = 0
        for size in slotSizes {
            slotOffsets.append(total)
            total += max(size, 16)
        }
        arenaFloats = total
        unsharedFloats = order.reduce(0) { $0 + bufferSizes[$1] }
        offsets = slotOf.map { $0 >= 0 ? slotOffsets[$0] : nil }
    }
}
