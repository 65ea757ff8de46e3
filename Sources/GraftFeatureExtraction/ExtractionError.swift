import GraftSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
/// Why `graft features` cannot start or finish.
public enum ExtractionError: GraftError, Equatable {
    /// The input folder or list file does not exist or cannot be read.
    case unreadableInput(path: String, reason: String)
    /// The input names no images.
    case emptyInput(path: String)
    /// A list line names a class outside the fixed class list (`--classes`).
    case unknownClass(name: String, id: String, classes: [String])
    /// The same id appears twice in the input, which would give two rows for one image.
    case duplicateInput(id: String)
    /// A list line has a blank path (e.g. only a label). `list` is the list file, nil for
    /// list text given directly; `line` is 1-based.
    case blankListPath(list: String?, line: Int)
    /// Two list lines name the same path.
    case duplicateListEntry(list: String?, id: String, firstLine: Int, line: Int)
    /// The tar stream is damaged or uses a feature graft does not read.
    case malformedTar(reason: String)
    /// The model has no image input graft can feed, or no default feature layer.
    case unsuitableModel(path: String, reason: String)
    /// A requested layer's value cannot be pooled.
    case cannotPool(layer: String, shape: [Int])
    /// With `--strict`, some images failed.
    case failedImages(count: Int, cache: String)
    /// SIGINT or SIGTERM stopped the run after it committed the batch in hand; `rows` is the
    /// number of rows the cache now holds.
    case interrupted(signal: Int32, cache: String, rows: Int)

    public var exitStatus: ExitStatus {
        switch self {
        case .unreadableInput: .noInput
        case let .interrupted(signal, _, _): signal == SIGINT ? .interrupted : .terminated
        default: .dataError
        }
    }

    public var description: String {
        switch self {
        case let .unreadableInput(path, reason):
            "cannot read the input '\(path)': \(reason)"
        case let .emptyInput(path):
            "the input '\(path)' names no images (.jpg, .jpeg, .png, .bmp, .gif, .webp, .tif or .tiff files, or list lines)"
        case let .unknownClass(name, id, classes):
            "'\(id)' has the label '\(name)', which is not in the class list [\(classes.joined(separator: ","))]"
        case let .duplicateInput(id):
            "the input names '\(quoted(id))' twice; each image may appear once"
        case let .blankListPath(list, line):
            "\(list.map { "input list '\($0)'" } ?? "the input list") line \(line) has a blank path; expected 'path' or 'path label'"
        case let .duplicateListEntry(list, id, firstLine, line):
            "\(list.map { "input list '\($0)'" } ?? "the input list") names '\(quoted(id))' on line \(firstLine) and again on line \(line); each image may appear once"
        case let .malformedTar(reason):
            "the tar stream is unreadable: \(reason)"
        case let .unsuitableModel(path, reason):
            "cannot extract features with '\(path)': \(reason)"
        case let .cannotPool(layer, shape):
            "layer '\(layer)' has shape \(shape); --pool needs a 3-D or 4-D activation"
        case let .failedImages(count, cache):
            "\(count) image\(count == 1 ? "" : "s") could not be decoded (listed under /failed in '\(cache)')"
        case let .interrupted(signal, cache, rows):
            "stopped by \(signal == SIGINT ? "SIGINT" : "SIGTERM") after committing the batch in hand: '\(cache)' holds \(rows) row\(rows == 1 ? "" : "s"); rerun the same command to resume"
        }
    }
}
