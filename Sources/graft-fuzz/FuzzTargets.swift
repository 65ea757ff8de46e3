import Foundation
import GraftCaffeImport
import GraftFeatureCache
import GraftFeatureExtraction
import GraftHDF5
import GraftImages
import GraftKerasImport
import GraftMetrics
import GraftModel
import GraftONNXImport
import GraftSupport
import GraftTensors
#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer targets for every parser of untrusted input, in one binary built only with
/// `GRAFT_FUZZ=1` and `-sanitize=fuzzer,address` (`Tools/fuzz/run.sh`); `GRAFT_FUZZ_TARGET`
/// chooses the parser.
///
/// Each input is written to a file on `/dev/shm` and handed to the same entry point the `graft`
/// command uses, because graft's parsers read files (memory-mapped, with `pread`, or through
/// HDF5). Errors are the expected outcome; the oracle is the sanitizers (no crash,
/// no memory error, no leak), libFuzzer's `-malloc_limit_mb` (no allocation sized by what a
/// file merely claims) and `-timeout` (no hang), plus graft's own promise about messages:
/// every error is one line of bounded length.
enum FuzzTarget: String, CaseIterable {
    /// A `.graft` file: header, graph JSON, weight table.
    case graft
    /// A NumPy `.npy` file.
    case npy
    /// A Caffe prototxt (protobuf text format), converted without weights.
    case prototxt
    /// A caffemodel (protobuf wire format), converted with a fixed prototxt.
    case caffemodel
    /// A Keras `model.to_json()` architecture, converted with a fixed weights file.
    case kerasJSON = "keras-json"
    /// A Keras HDF5 file (`model_config` attribute and the weight walk).
    case kerasHDF5 = "keras-h5"
    /// A `.keras` zip archive (`config.json`, `model.weights.h5`).
    case kerasArchive = "keras-zip"
    /// An image (JPEG, PNG, WebP, TIFF, BMP or GIF), decoded as `graft features` decodes it.
    case image
    /// A tar stream as `graft features --tar` reads it.
    case tar
    /// A feature cache as `graft train` and `graft cache` read it.
    case cache
    /// An ONNX model (protobuf wire format), converted as `graft convert model.onnx` does.
    case onnx
    /// A list file (`path label` lines) as `graft features --list` reads it.
    case list
    /// A scores TSV as `graft auc` reads it, evaluated with DeLong intervals.
    case scores

    /// The pixel cap the image target decodes with (see `run`).
    static let imagePixelCap = 4_000_000

    /// The file name extension the input is written with (some readers check it).
    var fileExtension: String {
        switch self {
        case .graft: "graft"
        case .npy: "npy"
        case .prototxt: "prototxt"
        case .caffemodel: "caffemodel"
        case .kerasJSON: "json"
        case .kerasHDF5, .cache: "h5"
        case .kerasArchive: "keras"
        case .image: "img"
        case .tar: "tar"
        case .onnx: "onnx"
        case .list: "txt"
        case .scores: "tsv"
        }
    }

    /// Parses the file at `path` as graft would.
    func run(path: String, scratch: String, companions: String) throws {
        switch self {
        case .graft:
            let model = try ModelFile(path: path)
            _ = model.graph.nodes.count
        case .npy:
            _ = try NumPyArray(contentsOf: path)
        case .prototxt:
            _ = try CaffeImporter.convert(prototxt: path, weights: nil)
        case .caffemodel:
            _ = try CaffeImporter.convert(prototxt: companions + "/Tests/GraftCaffeImportTests/Fixtures/caffe_semantics.prototxt", weights: path)
        case .kerasJSON:
            _ = try KerasConverter.convert(
                modelAt: companions + "/Tests/GraftKerasImportTests/Fixtures/keras3-weights-json/model.weights.h5", architectureAt: path)
        case .kerasHDF5, .kerasArchive:
            _ = try KerasConverter.convert(modelAt: path)
        case .image:
            // A 4-megapixel cap instead of the default 100: the same code paths (the cap check
            // included), but a 100-byte RLE BMP or GIF may claim tens of megapixels under the
            // default cap, and expanding those took most of a 10^6 pass's time (about 80 inputs
            // a second, mostly in the palette lookup's coverage callbacks).
            let image = try ImageDecoder.decode(fileAt: path, options: DecodingOptions(maximumPixelCount: Self.imagePixelCap))
            _ = image.pixels.count
        case .tar:
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return }
            defer { close(descriptor) }
            let stream = try TarInput(readingFrom: descriptor, temporaryRoot: scratch + "/")
            try? FileManager.default.removeItem(atPath: stream.folder)
        case .cache:
            let cache = try FeatureCache(path: path)
            let rows = min(cache.rowCount, 64)
            _ = try cache.ids(rows: 0..<rows)
            _ = try cache.labels(rows: 0..<rows)
            for layer in cache.provenance.layers { _ = try cache.features(of: layer, rows: 0..<rows) }
            _ = try cache.classCounts()
        case .onnx:
            _ = try ONNXImporter.convert(modelAt: path)
        case .list:
            _ = try InputList(listFile: path, root: scratch)
        case .scores:
            let table = try ScoreTable.read(path: path)
            _ = try AUCReport.evaluate(table, comparedWith: nil, options: AUCOptions(interval: .delong, level: 0.95, replicates: 1, seed: 1))
        }
    }
}

/// The state one fuzzing process keeps: the chosen target and its scratch folder.
final class FuzzSession: @unchecked Sendable {
    let target: FuzzTarget
    let scratch: String
    let input: String
    let companions: String

    init() {
        let name = ProcessInfo.processInfo.environment["GRAFT_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("graft-fuzz: set GRAFT_FUZZ_TARGET to one of: \(names)\n".utf8))
            exit(64)
        }
        self.target = target
        let shm = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        scratch = shm + "/graft-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        input = scratch + "/input." + target.fileExtension
        companions = ProcessInfo.processInfo.environment["GRAFT_FUZZ_ROOT"] ?? FileManager.default.currentDirectoryPath
    }

    func runOne(_ bytes: UnsafeRawBufferPointer) {
        guard FileManager.default.createFile(atPath: input, contents: Data(bytes)) else { return }
        do {
            try target.run(path: input, scratch: scratch, companions: companions)
        } catch {
            // graft's promise: one line, of bounded size, whatever the input.
            let message = String(describing: error)
            if message.contains("\n") || message.utf8.count > 4096 {
                FileHandle.standardError.write(Data("graft-fuzz: unbounded or multi-line error message (\(message.utf8.count) bytes): \(message.prefix(300))\n".utf8))
                abort()
            }
        }
        // Every HDF5 handle graft opened for this input is closed again.
        let open = openHDF5ObjectCount()
        if open != 0 {
            FileHandle.standardError.write(Data("graft-fuzz: \(open) HDF5 objects left open after the input\n".utf8))
            abort()
        }
    }
}

nonisolated(unsafe) private var session: FuzzSession?

/// libFuzzer's entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if session == nil { session = FuzzSession() }
    session!.runOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// libFuzzer's driver, for programs that supply their own `main`.
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The entry point SwiftPM links as `main` for a debug executable (`<module>_main`): it hands
/// the arguments to libFuzzer's driver, as libFuzzer's own `main` would.
@_cdecl("graft_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
