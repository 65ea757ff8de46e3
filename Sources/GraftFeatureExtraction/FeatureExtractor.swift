import GraftFeatureCache
import Foundation
import GraftModel
import GraftSupport
import GraftImages
import GraftRuntime
import GraftTensors
/// What `graft features` was asked to do, apart from the input and the cache.
public struct FeatureExtractionOptions: Sendable {
    /// Layer (node) or value names; empty for the model's default feature value.
    public var layers: [String]
    public var pooling: FeaturePooling
    /// Images per forward pass.
    public var batchSize: Int
    /// Threads for decoding and for the runtime's kernels.
    public var threadCount: Int
    /// Only the first `limit` inputs.
    public var limit: Int?
    /// gzip with shuffle on `/features/*` of a new cache.
    public var compressed: Bool
    /// Preprocessing members that override the model's recorded preprocessing.
    public var preprocessing: Preprocessing
    /// How 3×3 stride-1 convolutions are computed (`--exact` for direct convolution).
    public var algorithm: ConvolutionAlgorithm
    /// The convolutions' operand type (`--precision`).
    public var precision: Precision
    /// Images declaring more pixels are recorded as failures without being decoded
    /// (`--max-pixels`).
    public var maximumPixelCount: Int = DecodingOptions.defaultMaximumPixelCount

    public init(layers: [String] = [], pooling: FeaturePooling = .none, batchSize: Int = 32,
                threadCount: Int = ProcessInfo.processInfo.activeProcessorCount, limit: Int? = nil,
                compressed: Bool = false, preprocessing: Preprocessing = Preprocessing(),
                algorithm: ConvolutionAlgorithm = .standard, precision: Precision = .float32) {
        self.algorithm = algorithm
        self.precision = precision
        self.layers = layers
        self.pooling = pooling
        self.batchSize = batchSize
        self.threadCount = threadCount
        self.limit = limit
        self.compressed = compressed
        self.preprocessing = preprocessing
    }
}

/// How far a run is, reported after every batch.
public struct ExtractionProgress: Sendable {
    /// Images handled in this run (with features or failed).
    public var done: Int
    /// Images this run has to handle (the input minus those already in the cache).
    public var total: Int
    public var failed: Int
    /// Seconds since the run started.
    public var elapsed: Double

    public var imagesPerSecond: Double { elapsed > 0 ? Double(done) / elapsed : 0 }
    /// Seconds left at the current rate, nil before the first batch.
    public var estimatedSecondsLeft: Double? { done > 0 ? Double(total - done) / imagesPerSecond : nil }
}

/// The outcome of a run.
public struct ExtractionSummary: Sendable {
    /// Rows appended by this run.
    public var added: Int
    /// Images that failed in this run.
    public var failed: Int
    /// Inputs skipped because the cache already had them.
    public var skipped: Int
    /// Rows in the cache after the run.
    public var rows: Int
    public var seconds: Double
}

/// Turns images into cached features with a model: decoding and preprocessing on worker
/// threads, batched inference, crash-safe appends to a `FeatureCacheWriter`.
///
/// Decoding runs ahead of inference by at most `pipelineDepth` batches, each worker writing an
/// image straight into its slot of a preallocated batch buffer, so memory stays bounded whatever
/// the dataset size. Rows come out in input order; images that fail to decode are recorded with
/// their reason and leave no row, and no row is ever repeated to fill a batch.
public final class FeatureExtractor {
    public let model: ModelFile
    /// The requested names as given (the default feature value's name when none was given).
    public let layers: [String]
    public let pooling: FeaturePooling
    /// The effective preprocessing (every member set), as recorded in the cache.
    public let preprocessing: Preprocessing
    /// Feature length per layer, after pooling.
    public let dimensions: [Int]
    public let modelSHA256: String
    public let options: FeatureExtractionOptions

    private let session: InferenceSession
    /// Per layer: the layout of its value (for pooling).
    private let layouts: [Layout]
    /// Per layer: the shape of its value without the batch axis.
    private let valueShapes: [[Int]]

    /// Batches decoded ahead of the one being run.
    public static let pipelineDepth = 3

    /// Loads the model, resolves its preprocessing and compiles it for the requested layers.
    public init(modelPath: String, options: FeatureExtractionOptions) throws {
        precondition(options.batchSize >= 1 && options.threadCount >= 1)
        let model = try ModelFile(path: modelPath)
        let graph = model.graph
        var layers = options.layers
        if layers.isEmpty {
            guard let value = graph.defaultFeatureValue else {
                throw ExtractionError.unsuitableModel(path: modelPath, reason: "it has no Dense or final activation to take the penultimate layer from; name one with --layer")
            }
            layers = [value]
        }
        let session = try InferenceSession(model: model, outputs: layers, threadCount: options.threadCount, algorithm: options.algorithm,
                                           precision: options.precision)
        guard session.inputs.count == 1, let input = session.inputs.first, input.shape.count == 4,
              input.layout == .nhwc || input.layout == .nchw else {
            throw ExtractionError.unsuitableModel(
                path: modelPath, reason: "graft feeds images to one 4-D NHWC or NCHW input; the requested layers need \(session.inputs.map { "'\($0.name)' \($0.shape.map { $0.map(String.init) ?? "?" }) \($0.layout.rawValue)" }.joined(separator: ", "))")
        }
        let geometry = input.layout == .nhwc
            ? ModelInputGeometry(height: input.shape[1], width: input.shape[2], channels: input.shape[3], layout: .nhwc)
            : ModelInputGeometry(height: input.shape[2], width: input.shape[3], channels: input.shape[1], layout: .nchw)
        let recorded = try Preprocessing(json: JSONEncoder().encode(graph.preprocessing))
        let effective = try recorded.overridden(by: options.preprocessing).resolved(for: geometry)

        // One image of zeros gives every requested value's shape.
        let probe = try Preprocessor(effective)
        let outputs = try session.run(Tensor(shape: probe.shape, repeating: 0))
        var layouts: [Layout] = []
        var dimensions: [Int] = []
        for (name, output) in zip(session.outputNames, outputs) {
            var layout = input.layout
            if let declared = graph.producer(of: name)?.operation.layout { layout = declared }
            let shape = Array(output.shape.dropFirst())
            if options.pooling != .none, shape.count >= 2 {
                guard shape.count == 3 || shape.count == 2 else {
                    throw ExtractionError.cannotPool(layer: name, shape: output.shape)
                }
                dimensions.append(FeatureExtractor.channelCount(of: shape, layout: layout))
            } else {
                dimensions.append(shape.reduce(1, *))
            }
            layouts.append(layout)
        }
        self.model = model
        self.layers = layers
        self.pooling = options.pooling
        self.preprocessing = effective
        self.dimensions = dimensions
        self.layouts = layouts
        self.valueShapes = outputs.map { Array($0.shape.dropFirst()) }
        self.session = session
        self.options = options
        self.modelSHA256 = model.contentHash()
    }

    /// The provenance of a cache this extractor writes for `inputs`.
    public func provenance(for inputs: InputList) -> FeatureCacheProvenance {
        FeatureCacheProvenance(modelSHA256: modelSHA256, modelName: model.graph.name, layers: layers, pooling: pooling,
                               preprocessing: preprocessing.jsonText(), inputListSHA256: inputs.sha256, numerics: session.numerics)
    }

    /// The features of a batch of preprocessed images: per layer, `batch × dimension` floats.
    public func features(of batch: Tensor) throws -> [[Float]] {
        let outputs = try session.run(batch)
        return outputs.enumerated().map { index, output in reduce(output, layer: index) }
    }

    /// Extracts features for `inputs` into the cache at `cachePath`, creating it or resuming it
    /// (ids already present are skipped; earlier failures are retried).
    ///
    /// - Parameters:
    ///   - lock: the cache's writer lock when the caller took it already (to refuse a second
    ///     writer before reading its input); otherwise `extract` takes it.
    ///   - stopSignal: asked after each committed batch; a signal number stops the run there,
    ///     with the cache closed and resumable, by throwing `ExtractionError.interrupted`.
    /// - Throws: `FeatureCacheError.cacheInUse` when another process writes the cache.
    public func extract(_ inputs: InputList, into cachePath: String, lock: CacheWriterLock? = nil,
                        stopSignal: (() -> Int32?)? = nil,
                        progress: ((ExtractionProgress) -> Void)? = nil) throws -> ExtractionSummary {
        let start = Date()
        let heldLock = try lock ?? CacheWriterLock(cachePath: cachePath)
        defer { withExtendedLifetime(heldLock) {} }
        var items = inputs.items
        if let limit = options.limit { items = Array(items.prefix(limit)) }
        let writer = try FeatureCacheWriter.openOrCreate(
            at: cachePath, provenance: provenance(for: inputs), dimensions: dimensions, classes: inputs.classes,
            compressed: options.compressed)
        let pending = items.filter { !writer.storedIDs.contains($0.id) }
        let skipped = items.count - pending.count

        let probe = try Preprocessor(preprocessing)
        let pipeline = DecodingPipeline(items: pending, batchSize: options.batchSize, depth: FeatureExtractor.pipelineDepth,
                                        imageShape: probe.shape, preprocessing: preprocessing,
                                        maximumPixelCount: options.maximumPixelCount,
                                        workerCount: max(1, options.threadCount))
        var done = 0, failed = 0, added = 0
        do {
            defer { pipeline.stop() }
            for batchIndex in 0..<pipeline.batchCount {
                let batch = pipeline.waitForBatch(batchIndex)
                var cacheBatch = FeatureCacheBatch(ids: [], labels: [], features: dimensions.map { _ in [] })
                var rows: [Int] = []
                for (position, item) in batch.items.enumerated() {
                    if let reason = batch.failures[position] {
                        cacheBatch.failures.append(FeatureCacheFailure(id: item.id, reason: reason))
                    } else {
                        rows.append(position)
                        cacheBatch.ids.append(item.id)
                        cacheBatch.labels.append(item.label)
                    }
                }
                if !rows.isEmpty {
                    let elementCount = probe.elementCount
                    var scalars = [Float](repeating: 0, count: rows.count * elementCount)
                    scalars.withUnsafeMutableBufferPointer { destination in
                        for (row, position) in rows.enumerated() {
                            (destination.baseAddress! + row * elementCount)
                                .update(from: batch.pixels + position * elementCount, count: elementCount)
                        }
                    }
                    var shape = probe.shape
                    shape[0] = rows.count
                    cacheBatch.features = try features(of: Tensor(shape: shape, scalars: scalars))
                }
                pipeline.release(batchIndex)
                try writer.append(cacheBatch)
                done += batch.items.count
                failed += cacheBatch.failures.count
                added += rows.count
                progress?(ExtractionProgress(done: done, total: pending.count, failed: failed,
                                             elapsed: Date().timeIntervalSince(start)))
                if let signal = stopSignal?(), batchIndex + 1 < pipeline.batchCount {
                    try writer.close()
                    throw ExtractionError.interrupted(signal: signal, cache: cachePath, rows: writer.rowCount)
                }
            }
        }
        try writer.close()
        return ExtractionSummary(added: added, failed: failed, skipped: skipped, rows: writer.rowCount,
                                 seconds: Date().timeIntervalSince(start))
    }

    // MARK: Pooling

    /// The number of channels of a value of `shape` (batch axis removed) in `layout`.
    static func channelCount(of shape: [Int], layout: Layout) -> Int {
        switch layout {
        case .nchw, .ncw: shape[0]
        default: shape[shape.count - 1]
        }
    }

    /// Flattens or pools one output into `batch × dimension` floats.
    private func reduce(_ output: Tensor, layer: Int) -> [Float] {
        let shape = valueShapes[layer]
        guard pooling != .none, shape.count >= 2 else { return output.scalars }
        let batch = output.shape[0]
        let channelsFirst = layouts[layer] == .nchw || layouts[layer] == .ncw
        let channels = dimensions[layer]
        let positions = shape.reduce(1, *) / max(channels, 1)
        var result = [Float](repeating: 0, count: batch * channels)
        let average = pooling == .avg
        output.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { destination in
                let input = source.baseAddress!, out = destination.baseAddress!
                for image in 0..<batch {
                    let base = input + image * positions * channels
                    for channel in 0..<channels {
                        // Channels-first: the channel's plane is contiguous; channels-last: strided.
                        let start = channelsFirst ? base + channel * positions : base + channel
                        let stride = channelsFirst ? 1 : channels
                        if average {
                            var sum = 0.0
                            for position in 0..<positions { sum += Double(start[position * stride]) }
                            out[image * channels + channel] = Float(sum / Double(positions))
                        } else {
                            var largest = -Float.infinity
                            for position in 0..<positions { largest = Swift.max(largest, start[position * stride]) }
                            out[image * channels + channel] = largest
                        }
                    }
                }
            }
        }
        return result
    }
}
