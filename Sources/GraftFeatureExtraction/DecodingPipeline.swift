import Foundation
import GraftImages
/// Decodes and preprocesses images on worker threads into a ring of batch buffers.
///
/// The ring has `depth` slots of `batchSize` images. Workers take images in input order; the
/// worker that takes image `i` (of batch `i / batchSize`) waits until that batch's slot has been
/// released by the consumer, then writes the image's floats straight into its place in the slot.
/// The consumer waits for a batch to be complete, uses it, and releases it. Memory is
/// `depth × batchSize` images whatever the number of inputs.
final class DecodingPipeline: @unchecked Sendable {
    /// One complete batch, valid until `release` is called for it.
    struct Batch {
        var items: ArraySlice<InputItem>
        /// Per image: nil when decoded, the one-line reason when it failed.
        var failures: [String?]
        /// `items.count × elementCount` floats.
        var pixels: UnsafeMutablePointer<Float>
    }

    let batchCount: Int
    private let items: [InputItem]
    private let batchSize: Int
    private let depth: Int
    private let elementCount: Int
    private let buffers: [UnsafeMutablePointer<Float>]
    private var failures: [[String?]]
    private var filled: [Int]

    private let condition = NSCondition()
    /// The next image a worker takes.
    private var nextImage = 0
    /// Batches released by the consumer.
    private var releasedBatches = 0
    private var stopped = false
    private var runningWorkers = 0

    init(items: [InputItem], batchSize: Int, depth: Int, imageShape: [Int], preprocessing: Preprocessing,
         maximumPixelCount: Int = DecodingOptions.defaultMaximumPixelCount, workerCount: Int) {
        self.items = items
        self.batchSize = batchSize
        self.depth = depth
        elementCount = imageShape.dropFirst().reduce(1, *)
        batchCount = (items.count + batchSize - 1) / batchSize
        buffers = (0..<depth).map { _ in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: batchSize * imageShape.dropFirst().reduce(1, *))
            buffer.initialize(repeating: 0, count: batchSize * imageShape.dropFirst().reduce(1, *))
            return buffer
        }
        failures = Array(repeating: Array(repeating: nil, count: batchSize), count: depth)
        filled = Array(repeating: 0, count: depth)
        guard !items.isEmpty else { return }
        runningWorkers = min(workerCount, items.count)
        for _ in 0..<runningWorkers {
            let thread = Thread { [self] in work(preprocessing, maximumPixelCount: maximumPixelCount) }
            thread.stackSize = 4 << 20
            thread.start()
        }
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
    }

    private func imageCount(ofBatch batch: Int) -> Int {
        min(batchSize, items.count - batch * batchSize)
    }

    /// Decoding workers run 10 nice levels below the thread that starts them, so that they take a
    /// core when inference leaves one idle (between batches, while it waits for them) rather than
    /// from the `--threads` kernel threads: with the workers at the same priority, they and
    /// OpenMP's spinning workers took turns on the cores. `Tools/bench/features_vs_run.py`, 4
    /// rounds each on the 2-core machine: `graft features` on 240 JPEGs took 23.7 CPU seconds
    /// (mean; wall 12.3 s) at the same priority and 22.0 (wall 11.3 s) at the lower one.
    /// (`OMP_WAIT_POLICY=PASSIVE` did as well, 21.8 and 11.8 s, but libgomp reads it only when the
    /// process starts.) Linux applies `PRIO_PROCESS` with id 0 to the calling thread only.
    private static func lowerPriority() {
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        errno = 0
        let current = getpriority(which, 0)
        guard errno == 0 else { return }
        _ = setpriority(which, 0, min(19, current + 10))
    }

    private func work(_ preprocessing: Preprocessing, maximumPixelCount: Int) {
        DecodingPipeline.lowerPriority()
        let preprocessor = try? Preprocessor(preprocessing, maximumPixelCount: maximumPixelCount)
        condition.lock()
        while true {
            let image = nextImage
            guard !stopped, image < items.count else { break }
            let batch = image / batchSize
            if batch >= releasedBatches + depth {
                condition.wait()
                continue
            }
            nextImage += 1
            condition.unlock()

            let slot = batch % depth
            let position = image % batchSize
            let destination = UnsafeMutableBufferPointer(start: buffers[slot] + position * elementCount, count: elementCount)
            var failure: String?
            if let preprocessor {
                do {
                    try preprocessor.preprocess(imageAt: items[image].path, into: destination)
                } catch {
                    failure = error.description.replacingOccurrences(of: items[image].path, with: items[image].id)
                }
            } else {
                failure = "the preprocessing could not be set up"
            }

            condition.lock()
            failures[slot][position] = failure
            filled[slot] += 1
            if filled[slot] == imageCount(ofBatch: batch) { condition.broadcast() }
        }
        runningWorkers -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until batch `index` is decoded and returns it.
    func waitForBatch(_ index: Int) -> Batch {
        let slot = index % depth
        let count = imageCount(ofBatch: index)
        condition.lock()
        while filled[slot] < count { condition.wait() }
        let batch = Batch(items: items[(index * batchSize)..<(index * batchSize + count)],
                          failures: Array(failures[slot].prefix(count)), pixels: buffers[slot])
        condition.unlock()
        return batch
    }

    /// Hands batch `index`'s slot back to the workers.
    func release(_ index: Int) {
        let slot = index % depth
        condition.lock()
        filled[slot] = 0
        for position in failures[slot].indices { failures[slot][position] = nil }
        releasedBatches = index + 1
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the workers and waits for them to finish the image each is on.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while runningWorkers > 0 { condition.wait() }
        condition.unlock()
    }
}
