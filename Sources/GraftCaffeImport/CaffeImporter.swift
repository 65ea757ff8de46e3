public import GraftModel
import GraftProtobuf
import GraftSupport
import Foundation
/// The two kinds of file a Caffe model comes in, told apart by content, not by name.
public enum CaffeFileKind: String, Sendable, Equatable {
    /// A net definition in protobuf text format (`deploy.prototxt`, `train_val.prototxt`).
    case prototxt
    /// Trained weights: a binary `NetParameter` (`.caffemodel`).
    case caffemodel

    /// The kind of the file at `path`, or `nil` when it is neither (a Keras file, for example).
    ///
    /// A prototxt is UTF-8 text without control characters other than tab, line feed, carriage
    /// return, vertical tab and form feed. A caffemodel is anything else whose bytes parse as a
    /// sequence of protobuf fields from start to end (only tags and lengths are read).
    public static func detect(path: String) throws -> CaffeFileKind? {
        let file = try MappedFile(path: path)
        return detect(file.bytes)
    }

    /// The kind of a file's bytes (see `detect(path:)`).
    public static func detect(_ bytes: UnsafeRawBufferPointer) -> CaffeFileKind? {
        guard !bytes.isEmpty else { return nil }
        let sample = UnsafeRawBufferPointer(rebasing: bytes[..<min(bytes.count, 1 << 16)])
        let printable = sample.allSatisfy { byte in (byte >= 0x20 && byte != 0x7f) || (0x09...0x0d).contains(byte) }
        var isText = false
        if printable {
            // A sample cut from a longer file may end inside a character.
            let array = Array(sample)
            for drop in 0...(sample.count < bytes.count ? 3 : 0) where !isText {
                isText = String(validating: array.dropLast(drop), as: UTF8.self) != nil
            }
        }
        if isText { return .prototxt }
        var reader = WireReader(bytes)
        var fields = 0
        do {
            while try reader.next() != nil { fields += 1 }
        } catch {
            return nil
        }
        return fields > 0 ? .caffemodel : nil
    }
}

/// Converts Caffe models (a prototxt and a caffemodel) to graft graphs.
///
/// ```swift
/// let model = try CaffeImporter.convert(prototxt: "deploy.prototxt", weights: "net.caffemodel")
/// try model.write(to: "net.graft")
/// ```
///
/// Both the current `layer` format and the legacy V1 `layers` format are read, in either file,
/// in any combination. Layers are kept as Caffe keeps them in a TEST-phase net; data layers
/// become the graph input (with `inputShape`), loss, accuracy and silence layers are dropped.
/// Weights bind to layers by name. Activations are NCHW, as in Caffe; see README "Caffe models"
/// for how blob and layer names become graph value and node names.
public enum CaffeImporter {
    /// Converts `prototxt` with the weights in `weights`.
    ///
    /// - Parameters:
    ///   - prototxt: the net definition (protobuf text).
    ///   - weights: the caffemodel; `nil` converts a net without weighted layers only.
    ///   - inputShape: `[N, C, H, W]` (or any rank ≥ 2) replacing the shape of the net's single
    ///     input; required when the input comes from a data layer. N is recorded as open.
    /// - Returns: the graph, its weights, and notes for the user (caffemodel layers the prototxt
    ///   does not use, for example) that the command line prints on stderr.
    /// - Throws: `CaffeImportError` for bad or unsupported content (listing every unsupported
    ///   layer at once), `FileError` when a file cannot be read.
    public static func convert(prototxt: String, weights: String?, inputShape: [Int]? = nil) throws -> ImportedModel {
        let textFile = try MappedFile(path: prototxt)
        guard detect(textFile.bytes) == .prototxt else {
            if let weights { throw CaffeImportError.wrongFileKinds(prototxt: prototxt, weights: weights) }
            throw CaffeImportError.unrecognizedFile(file: prototxt)
        }
        let text = String(decoding: textFile.bytes, as: UTF8.self)
        let net = try NetDefinition(text: text, file: prototxt)
        var model: CaffeModelFile? = nil
        if let weights {
            let mapped = try MappedFile(path: weights)
            guard CaffeFileKind.detect(mapped.bytes) == .caffemodel else {
                throw CaffeFileKind.detect(mapped.bytes) == .prototxt
                    ? CaffeImportError.wrongFileKinds(prototxt: prototxt, weights: weights)
                    : CaffeImportError.unrecognizedFile(file: weights)
            }
            model = try CaffeModelFile(path: weights)
        }
        let converter = Converter(net: net, model: model, inputShape: inputShape)
        try converter.convert()

        var sources = [Provenance.SourceFile(file: baseName(prototxt), sha256: SHA256.hexDigest(of: textFile.bytes))]
        var details: [String: JSONValue] = [
            "net_name": .string(net.name),
            "prototxt_format": .string(net.layers.contains { $0.isLegacy } ? "V1 layers" : "layer"),
        ]
        if let model {
            sources.append(.init(file: baseName(model.path), sha256: model.contentHash()))
            details["caffemodel_net_name"] = .string(model.netName)
        }
        let graph = Graph(
            name: net.name.isEmpty ? (model?.netName.isEmpty == false ? model!.netName : baseName(prototxt)) : net.name,
            inputs: converter.inputs, outputs: converter.outputs, nodes: converter.nodes,
            preprocessing: converter.preprocessing,
            provenance: Provenance(framework: "caffe", sources: sources, converter: GraftVersion.tool, details: details))
        return ImportedModel(graph: graph, weights: converter.weights, notes: converter.notes)
    }

    /// Converts two files given in either order, telling the prototxt from the caffemodel by
    /// content (`graft convert a b`), or one prototxt alone.
    public static func convert(files: [String], inputShape: [Int]? = nil) throws -> ImportedModel {
        var prototxt: String? = nil
        var weights: String? = nil
        for path in files {
            switch try CaffeFileKind.detect(path: path) {
            case .prototxt where prototxt == nil: prototxt = path
            case .caffemodel where weights == nil: weights = path
            case .none: throw CaffeImportError.unrecognizedFile(file: path)
            default: throw CaffeImportError.wrongFileKinds(prototxt: files[0], weights: files.count > 1 ? files[1] : files[0])
            }
        }
        guard let prototxt else {
            throw CaffeImportError.wrongFileKinds(prototxt: files.first ?? "", weights: files.count > 1 ? files[1] : "")
        }
        return try convert(prototxt: prototxt, weights: weights, inputShape: inputShape)
    }

    private static func detect(_ bytes: UnsafeRawBufferPointer) -> CaffeFileKind? {
        CaffeFileKind.detect(bytes)
    }

    private static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
