import ArgumentParser
import GraftFeatureCache
import GraftFeatureExtraction
import Foundation
import GraftModel
import GraftSupport
import GraftHead
import GraftRuntime
import GraftTensors
/// `graft predict MODEL.graft INPUT [-o SCORES.tsv]`: class probabilities as TSV.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score cached features with a head, or images with an attached model, as TSV for graft auc.",
        discussion: """
            With a feature cache (HDF5) as INPUT, MODEL is a head from graft train and the cache \
            must hold its layer, made with the model and pooling it was trained on. Otherwise INPUT \
            is as in graft features (a folder of class subfolders, a list file, or '-' for a list on \
            standard input) and MODEL a model from graft attach, run end to end on the images. \
            Output: a header id<TAB>label<TAB><class 1>…<class k>, then one row per image with its \
            class name (empty when unlabelled) and its probabilities, to stdout or -o.
            """)

    @Argument(help: "A head (with a cache) or an attached model (with images).")
    var model: String

    @Argument(help: "A feature cache, a folder of class subfolders, a list file, or '-' for a list on standard input.")
    var input: String

    @Option(name: .shortAndLong, help: "Write the TSV here instead of stdout.")
    var output: String?

    @Option(help: "Rows or images per forward pass.")
    var batch: Int = 256

    @OptionGroup(title: "Numerics")
    var numerics: NumericsOptions

    @Option(help: "Threads for decoding and for the model (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "The folder relative paths in a list are read from.")
    var root: String?

    @OptionGroup(title: "Preprocessing of images (overrides what the model records)")
    var preprocessing: PreprocessingOptions

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be 1 or more") }
        guard threads >= 1 else { throw ValidationError("--threads must be 1 or more") }
    }

    func run() throws {
        let sink = try TableSink(path: output)
        if input != "-", isHDF5File(input) {
            try predictCache(into: sink)
        } else {
            try predictImages(into: sink)
        }
        try sink.finish()
    }

    /// A head on cached features.
    private func predictCache(into sink: TableSink) throws {
        let file = try ModelFile(path: model)
        let head = try HeadDescription(model: file)
        let cache = try FeatureCache(path: input)
        guard cache.layers.contains(head.layer) else {
            throw HeadError.cacheMismatch(cache: input, head: model, reason: "it has no layer '\(head.layer)' (it has \(cache.layers.map { "'\($0)'" }.joined(separator: ", ")))")
        }
        guard cache.provenance.modelSHA256 == head.modelSHA256 else {
            throw HeadError.cacheMismatch(cache: input, head: model, reason: "its features come from the model with SHA-256 \(cache.provenance.modelSHA256), the head's from \(head.modelSHA256)")
        }
        guard cache.provenance.pooling == head.pooling else {
            throw HeadError.cacheMismatch(cache: input, head: model, reason: "it was pooled with '\(cache.provenance.pooling.rawValue)', the head's cache with '\(head.pooling.rawValue)'")
        }
        let dimension = try cache.dimension(of: head.layer)
        guard dimension == head.dimension else {
            throw HeadError.cacheMismatch(cache: input, head: model, reason: "layer '\(head.layer)' has \(dimension) features, the head reads \(head.dimension)")
        }
        let session = try InferenceSession(model: file, threadCount: threads, algorithm: numerics.algorithm, precision: numerics.precision)
        let ids = try cache.ids()
        let labels = try cache.labels()
        try sink.write(PredictionTable.header(classes: head.classes))
        var start = 0
        while start < cache.rowCount {
            let rows = start..<min(cache.rowCount, start + batch)
            let features = try cache.features(of: head.layer, rows: rows)
            let probabilities = try session.run(Tensor(shape: [rows.count, dimension], scalars: features))[0]
            var text = ""
            PredictionTable.appendRows(
                to: &text, ids: Array(ids[rows]),
                labels: rows.map { labels[$0] >= 0 && Int(labels[$0]) < cache.classes.count ? cache.classes[Int(labels[$0])] : nil },
                probabilities: probabilities.scalars, classCount: head.classes.count)
            try sink.write(text)
            start = rows.upperBound
        }
    }

    /// An attached model on image files: the images go through the feature extractor's pipeline
    /// into a temporary cache of the model's output, which is then printed.
    private func predictImages(into sink: TableSink) throws {
        let file = try ModelFile(path: model)
        guard file.graph.outputs.count == 1, let outputName = file.graph.outputs.first else {
            throw HeadError.unsuitableModel(path: model, reason: "it has \(file.graph.outputs.count) outputs; predict needs one output of class probabilities")
        }
        if (try? HeadDescription(model: file)) != nil {
            throw HeadError.unsuitableModel(path: model, reason: "it is a head, which reads cached features; give a feature cache, or attach the head to its trunk with graft attach")
        }
        let inputs: InputList
        if input == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            inputs = try InputList(listText: String(decoding: data, as: UTF8.self), root: root)
        } else {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isFolder) else {
                throw ExtractionError.unreadableInput(path: input, reason: "no such file or folder")
            }
            inputs = isFolder.boolValue ? try InputList(folder: input) : try InputList(listFile: input, root: root)
        }
        guard !inputs.items.isEmpty else { throw ExtractionError.emptyInput(path: input) }

        let options = FeatureExtractionOptions(layers: [outputName], batchSize: batch, threadCount: threads,
                                               preprocessing: try preprocessing.overrides(), algorithm: numerics.algorithm, precision: numerics.precision)
        let extractor = try FeatureExtractor(modelPath: model, options: options)
        let columns = extractor.dimensions[0]
        var classes = file.graph.recordedClassNames ?? []
        if classes.count != columns {
            classes = (0..<columns).map(String.init)
            printDiagnostic("note: '\(model)' records no class names for its \(columns) outputs; the columns are named by index")
        }

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("graft-predict-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cachePath = folder + "/scores.h5"
        let summary = try extractor.extract(inputs, into: cachePath)
        let cache = try FeatureCache(path: cachePath)
        for failure in try cache.failures() {
            printDiagnostic("note: skipped '\(failure.id)': \(failure.reason)")
        }
        let ids = try cache.ids()
        let labels = try cache.labels()
        let probabilities = try cache.features(of: outputName)
        var text = PredictionTable.header(classes: classes)
        PredictionTable.appendRows(
            to: &text, ids: ids,
            labels: labels.map { $0 >= 0 && Int($0) < cache.classes.count ? cache.classes[Int($0)] : nil },
            probabilities: probabilities, classCount: columns)
        try sink.write(text)
        printDiagnostic("scored \(summary.added) image\(summary.added == 1 ? "" : "s")" + (summary.failed > 0 ? ", \(summary.failed) failed" : "")
            + String(format: " in %.2f s", summary.seconds))
    }
}

/// Whether `path` is a regular file starting with the HDF5 signature.
private func isHDF5File(_ path: String) -> Bool {
    guard let handle = FileHandle(forReadingAtPath: path) else { return false }
    defer { try? handle.close() }
    let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
    return (try? handle.read(upToCount: 8)).map { Array($0) == signature } ?? false
}

/// stdout, or a file that appears only when complete.
private final class TableSink {
    private let file: AtomicOutputFile?

    init(path: String?) throws {
        file = try path.map { try AtomicOutputFile(path: $0) }
    }

    func write(_ text: String) throws {
        if let file {
            try file.write(Array(text.utf8))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    func finish() throws {
        try file?.commit()
    }
}
