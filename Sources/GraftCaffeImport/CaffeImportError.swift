public import GraftModel
public import GraftSupport
/// Why a Caffe model could not be converted. Each case names the file and the layer, weight or
/// field at fault; every case means bad or unsupported data (exit status 65).
public enum CaffeImportError: GraftError, Equatable {
    /// A prototxt is not valid protobuf text for a Caffe `NetParameter`.
    case prototxtSyntax(file: String, line: Int, column: Int, message: String)
    /// A caffemodel's bytes are not a protobuf message (cut off, or not protobuf at all).
    case malformedCaffemodel(file: String, offset: Int, reason: String)
    /// A message's field has a wire type its declaration does not allow (a fork reusing a
    /// field number for something else).
    case wrongWireType(file: String, detail: String)
    /// A file is neither a prototxt nor a caffemodel.
    case unrecognizedFile(file: String)
    /// The conversion was given two prototxts, two caffemodels, or files in the wrong order.
    case wrongFileKinds(prototxt: String, weights: String)
    /// The layers graft cannot convert, every one of them, with their types (`kind` is the
    /// Caffe type).
    case unsupportedLayers(file: String, layers: [UnsupportedLayer])
    /// A layer's parameters are outside what graft converts (the layer type itself is supported).
    case unsupportedParameter(file: String, layer: String, reason: String)
    /// A layer's parameters are invalid for Caffe itself.
    case invalidLayer(file: String, layer: String, reason: String)
    /// A layer reads a blob no earlier layer or input produces.
    case undefinedBlob(file: String, layer: String, blob: String)
    /// The net declares no input and no `--input-shape` was given, or the shape cannot be used.
    case inputShape(file: String, reason: String)
    /// A layer that needs weights has none in the caffemodel (or no caffemodel was given).
    case missingWeights(layer: String, type: String, expectedShapes: [[Int]], weightsFile: String?)
    /// A weight blob's shape differs from the one the prototxt implies.
    case weightShapeMismatch(file: String, layer: String, blob: Int, expected: [Int], actual: [Int])
    /// A weight blob's values are missing, of the wrong count, or of an unsupported type.
    case badBlob(file: String, layer: String, blob: Int, reason: String)

    public var exitStatus: ExitStatus { .dataError }

    /// One line whatever the names in the file hold: layer and blob names are quoted (at most 80
    /// characters, control characters escaped), and any line break left in a reason is escaped.
    public var description: String { quoted(message, limit: Int.max) }

    private var message: String {
        switch self {
        case let .prototxtSyntax(file, line, column, message):
            "\(file):\(line):\(column): \(message)"
        case let .malformedCaffemodel(file, offset, reason):
            "'\(file)' is not a readable caffemodel: \(reason) at byte \(offset)"
        case let .wrongWireType(file, detail):
            "'\(file)' cannot be decoded as a Caffe net: \(detail); the file was probably written by a Caffe fork that reuses this field number"
        case let .unrecognizedFile(file):
            "'\(file)' is neither a Caffe prototxt (text) nor a caffemodel (binary protobuf)"
        case let .wrongFileKinds(prototxt, weights):
            "expected a prototxt and a caffemodel, got '\(prototxt)' and '\(weights)'"
        case let .unsupportedLayers(file, layers):
            "'\(file)' has \(layers.count) layer\(layers.count == 1 ? "" : "s") graft cannot convert: " + layers.listedForMessage
        case let .unsupportedParameter(file, layer, reason):
            "'\(file)': layer '\(quoted(layer))' \(reason), which graft does not convert"
        case let .invalidLayer(file, layer, reason):
            "'\(file)': layer '\(quoted(layer))' is invalid: \(reason)"
        case let .undefinedBlob(file, layer, blob):
            "'\(file)': layer '\(quoted(layer))' reads blob '\(quoted(blob))', which no earlier layer or input produces"
        case let .inputShape(file, reason):
            "'\(file)': \(reason)"
        case let .missingWeights(layer, type, shapes, weightsFile):
            "layer '\(quoted(layer))' (\(quoted(type))) needs weights of shape\(shapes.count == 1 ? "" : "s") \(shapes.map(describe).joined(separator: " and ")), " +
                (weightsFile.map { "but '\($0)' has no layer of that name" } ?? "but no caffemodel was given")
        case let .weightShapeMismatch(file, layer, blob, expected, actual):
            "'\(file)': blob \(blob) of layer '\(quoted(layer))' has shape \(describe(actual)), expected \(describe(expected))"
        case let .badBlob(file, layer, blob, reason):
            "'\(file)': blob \(blob) of layer '\(quoted(layer))' \(reason)"
        }
    }
}

/// A shape as `[a, b, c]`.
func describe(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
