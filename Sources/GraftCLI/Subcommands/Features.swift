import ArgumentParser
import GraftFeatureCache
import GraftFeatureExtraction
import GraftRuntime
import Foundation
import GraftSupport
import GraftImages
/// `graft features MODEL.graft INPUT -o CACHE.h5 …`: images to cached features.
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model over images and cache one or more layers' activations in HDF5.",
        discussion: """
            INPUT is a folder (each subfolder a class, as Keras's image_dataset_from_directory reads \
            it), a list file of 'path label' or 'path' lines ('-' for standard input), or, with \
            --tar -, a tar stream on standard input. Images are JPEG, PNG, WebP, TIFF, BMP or GIF, \
            recognised by content (folders and tar streams pick .jpg .jpeg .png .bmp .gif .webp .tif \
            .tiff files). Running the same command on an existing cache \
            resumes it: images already there are skipped, failed ones are retried. A cache made with \
            another model, layers, pool or preprocessing is refused.
            """)

    @Argument(help: "The .graft model file.")
    var model: String

    @Argument(help: "A folder of class subfolders, a list file, or '-' for a list on standard input.")
    var input: String?

    @Option(name: .shortAndLong, help: "The HDF5 feature cache to write or resume.")
    var output: String

    @Option(name: .customLong("layer"), help: "A layer (node) or value to cache; repeat for several (default: the penultimate layer).")
    var layers: [String] = []

    @Option(help: "Reduce 4-D activations to one value per channel: none, avg or max.")
    var pool: String = "none"

    @Option(help: "Images per forward pass.")
    var batch: Int = 32

    @OptionGroup(title: "Numerics")
    var numerics: NumericsOptions

    @Option(help: "Threads for decoding and for the model (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Use only the first N inputs.")
    var limit: Int?

    @Option(help: "The folder relative paths in a list are read from.")
    var root: String?

    @Option(help: "Read a tar stream ('-' for standard input, or a .tar file); classes from the first path component.")
    var tar: String?

    @Option(help: "The class list, comma-separated, fixing label numbers (so shards agree).")
    var classes: String?

    @Option(help: "A file with one class name per line, fixing label numbers.")
    var classesFile: String?

    @Flag(help: "Exit with status 65 if any image fails to decode.")
    var strict = false

    @Flag(help: "No progress line.")
    var quiet = false

    @Flag(help: "Compress the features with gzip (and the shuffle filter).")
    var compress = false

    @OptionGroup(title: "Preprocessing (overrides what the model records)")
    var preprocessing: PreprocessingOptions

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be 1 or more") }
        guard threads >= 1 else { throw ValidationError("--threads must be 1 or more") }
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
        guard FeaturePooling(rawValue: pool) != nil else { throw ValidationError("--pool must be none, avg or max, not '\(pool)'") }
        guard (input == nil) != (tar == nil) else {
            throw ValidationError(tar == nil ? "give an INPUT folder or list, or --tar -" : "give either an INPUT or --tar, not both")
        }
        guard classes == nil || classesFile == nil else { throw ValidationError("give --classes or --classes-file, not both") }
    }

    func run() throws {
        // One writer per cache: refuse a second one before loading the model or reading input.
        let lock = try CacheWriterLock(cachePath: output)
        StopSignals.install()
        var fixedClasses: [String]?
        if let classes { fixedClasses = classes.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        if let classesFile {
            guard let data = FileManager.default.contents(atPath: classesFile) else {
                throw FileError.cannotOpen(path: classesFile, reason: "no such file or not readable")
            }
            fixedClasses = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        }

        var options = FeatureExtractionOptions(
            layers: layers, pooling: FeaturePooling(rawValue: pool)!, batchSize: batch, threadCount: threads,
            limit: limit, compressed: compress, preprocessing: try preprocessing.overrides(), algorithm: numerics.algorithm, precision: numerics.precision)
        options.maximumPixelCount = preprocessing.maximumPixelCount
        let extractor = try FeatureExtractor(modelPath: model, options: options)

        let inputs: InputList
        var temporaryFolder: String?
        defer { if let temporaryFolder { try? FileManager.default.removeItem(atPath: temporaryFolder) } }
        if let tar {
            let descriptor = tar == "-" ? STDIN_FILENO : open(tar, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw FileError.cannotOpen(path: tar, reason: String(cString: strerror(errno))) }
            defer { if descriptor != STDIN_FILENO { close(descriptor) } }
            let stream = try TarInput(readingFrom: descriptor, temporaryRoot: temporaryRoot())
            temporaryFolder = stream.folder
            inputs = try InputList(entries: stream.entries, fixedClasses: fixedClasses)
        } else if input == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            inputs = try InputList(listText: String(decoding: data, as: UTF8.self), root: root, fixedClasses: fixedClasses)
        } else {
            let path = input!
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw ExtractionError.unreadableInput(path: path, reason: "no such file or folder")
            }
            inputs = isFolder.boolValue
                ? try InputList(folder: path, fixedClasses: fixedClasses)
                : try InputList(listFile: path, root: root, fixedClasses: fixedClasses)
        }
        guard !inputs.items.isEmpty else { throw ExtractionError.emptyInput(path: input ?? "tar stream") }

        let showsProgress = !quiet && isatty(STDERR_FILENO) == 1
        var lastReport = Date.distantPast
        // A progress line in place ends before any message that follows it, error or summary.
        func endProgressLine() {
            if showsProgress && lastReport != Date.distantPast { FileHandle.standardError.write(Data("\n".utf8)) }
        }
        let summary: ExtractionSummary
        do {
            summary = try extractor.extract(inputs, into: output, lock: lock, stopSignal: { StopSignals.requested }) { progress in
                guard showsProgress, Date().timeIntervalSince(lastReport) >= 0.25 || progress.done == progress.total else { return }
                lastReport = Date()
                let eta = progress.estimatedSecondsLeft.map { formatDuration($0) } ?? "?"
                let line = "\rgraft: \(progress.done)/\(progress.total) images, "
                    + String(format: "%.1f", progress.imagesPerSecond) + " images/s, ETA \(eta), \(progress.failed) failed\u{1B}[K"
                FileHandle.standardError.write(Data(line.utf8))
            }
        } catch {
            endProgressLine()
            throw error
        }
        endProgressLine()
        printDiagnostic("wrote \(summary.added) row\(summary.added == 1 ? "" : "s") to '\(output)' (\(summary.rows) in all), "
            + "skipped \(summary.skipped) already cached, \(summary.failed) failed, "
            + String(format: "%.1f s, %.1f images/s", summary.seconds, summary.seconds > 0 ? Double(summary.added + summary.failed) / summary.seconds : 0))
        if strict, summary.failed > 0 {
            throw ExtractionError.failedImages(count: summary.failed, cache: output)
        }
    }

    /// The folder for a tar stream's members: next to the cache, so they need no extra space
    /// on another file system.
    private func temporaryRoot() -> String {
        let slash = output.lastIndex(of: "/")
        return slash.map { String(output[...$0]) } ?? "./"
    }
}

/// `1:05` or `1:02:03`.
private func formatDuration(_ seconds: Double) -> String {
    let total = Int(seconds.rounded())
    let (hours, minutes, rest) = (total / 3600, total / 60 % 60, total % 60)
    return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
}
