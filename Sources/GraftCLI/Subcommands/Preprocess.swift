import ArgumentParser
import Foundation
import GraftModel
import GraftImages
import GraftTensors
/// The preprocessing options shared by `graft preprocess`, `graft features` and `graft predict`.
/// Each one overrides the same member of the model's recorded `graph.preprocessing`.
struct PreprocessingOptions: ParsableArguments {
    @Option(name: .customLong("preprocess"),
            help: "Normalisation preset: keras-caffe, keras-tf, keras-torch, caffe or none (default: the model's).")
    var preset: String?

    @Option(help: "Output size HEIGHTxWIDTH (default: the model's input size).")
    var size: String?

    @Option(help: "rgb or gray (default: from the model's input channels).")
    var color: String?

    @Option(help: "stretch (to the size, ignoring the aspect ratio) or crop (shorter side, then the centre).")
    var resize: String?

    @Option(name: .customLong("resize-short"), help: "For --resize crop: resize the shorter side to this before cropping (default 256·size/224).")
    var shorterSide: Int?

    @Option(help: "nearest, bilinear, bicubic or area, as PIL's Image.resize (default nearest, as Keras load_img).")
    var interpolation: String?

    @Option(help: "Per-channel mean to subtract, in the output channel order (B,G,R for the caffe presets).")
    var mean: String?

    @Option(help: "Per-channel standard deviation to divide by, in the output channel order.")
    var std: String?

    @Option(help: "Factor applied last (Caffe's transform_param scale).")
    var scale: Double?

    @Flag(name: .customLong("exif-rotate"), help: "Turn JPEGs as their Exif orientation says (Keras and PIL do not).")
    var exifOrientation = false

    @Flag(name: .customLong("fast-decode"), help: "Decode large JPEGs at a reduced DCT scale (changes pixels).")
    var fastDecode = false

    @Option(name: .customLong("depth-16"),
            help: "16-bit PNG/TIFF samples: pil (default, as Keras load_img: gray clipped at 255, colour keeps the high byte) or scale (0-65535 onto 0-255, rounded).")
    var depth16: String?

    @Option(name: .customLong("max-pixels"),
            help: "Refuse images declaring more pixels than this, before decoding them (default 100000000; raise it for giant scans).")
    var maximumPixelCount: Int = DecodingOptions.defaultMaximumPixelCount

    func validate() throws {
        guard maximumPixelCount >= 1 else { throw ValidationError("--max-pixels must be 1 or more") }
    }

    /// The members the options set.
    func overrides() throws(PreprocessingError) -> Preprocessing {
        var result = Preprocessing()
        if let preset {
            guard let value = PreprocessingPreset(rawValue: preset) else {
                throw .invalidValue(name: "--preprocess", value: preset,
                                    reason: "choose keras-caffe, keras-tf, keras-torch, caffe or none")
            }
            result.preset = value
        }
        if let size {
            let parts = size.lowercased().split(separator: "x", omittingEmptySubsequences: false)
            guard parts.count == 2, let height = Int(parts[0]), let width = Int(parts[1]), height > 0, width > 0 else {
                throw .invalidValue(name: "--size", value: size, reason: "write it as HEIGHTxWIDTH, for example 224x224")
            }
            result.height = height
            result.width = width
        }
        result.color = try parse(color, as: ColorMode.self, name: "--color")
        result.resize = try parse(resize, as: ResizeMode.self, name: "--resize")
        result.interpolation = try parse(interpolation, as: Interpolation.self, name: "--interpolation")
        result.shorterSide = shorterSide
        result.mean = try numbers(mean, name: "--mean")
        result.std = try numbers(std, name: "--std")
        result.scale = scale
        if exifOrientation { result.exifOrientation = true }
        if fastDecode { result.fastDecode = true }
        result.depth16 = try parse(depth16, as: SixteenBitReduction.self, name: "--depth-16")
        return result
    }

    /// The effective preprocessing for `file`'s first input: its record overridden by the options.
    func effective(for file: ModelFile) throws -> Preprocessing {
        let recorded: Preprocessing
        if file.graph.preprocessing.isEmpty {
            recorded = Preprocessing()
        } else {
            let json = try JSONEncoder().encode(file.graph.preprocessing)
            recorded = try Preprocessing(json: json)
        }
        guard let input = file.graph.inputs.first else {
            throw PreprocessingError.invalidRecord(reason: "the model has no input")
        }
        let layout: TensorLayout
        let dimensions: (height: Int?, width: Int?, channels: Int?)
        switch input.layout {
        case .nhwc where input.shape.count == 4:
            layout = .nhwc
            dimensions = (input.shape[1], input.shape[2], input.shape[3])
        case .nchw where input.shape.count == 4:
            layout = .nchw
            dimensions = (input.shape[2], input.shape[3], input.shape[1])
        default:
            throw PreprocessingError.invalidRecord(
                reason: "input '\(input.name)' is \(input.layout.rawValue) with \(input.shape.count) axes, not an NHWC or NCHW image")
        }
        let geometry = ModelInputGeometry(height: dimensions.height, width: dimensions.width,
                                          channels: dimensions.channels, layout: layout)
        return try recorded.overridden(by: overrides()).resolved(for: geometry)
    }

    private func parse<Value: RawRepresentable<String> & CaseIterable>(
        _ text: String?, as type: Value.Type, name: String
    ) throws(PreprocessingError) -> Value? {
        guard let text else { return nil }
        guard let value = Value(rawValue: text) else {
            throw .invalidValue(name: name, value: text,
                                reason: "choose " + Value.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }

    private func numbers(_ text: String?, name: String) throws(PreprocessingError) -> [Double]? {
        guard let text else { return nil }
        let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
            throw .invalidValue(name: name, value: text, reason: "give comma-separated numbers, for example 104,117,123")
        }
        return values.map { $0! }
    }
}

/// `graft preprocess MODEL.graft IMAGE -o X.npy`: the exact input tensor graft feeds the model.
struct Preprocess: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the input tensor (batch of 1, in the model's layout) that graft makes from an image.")

    @Argument(help: "The .graft model whose input the tensor is for.")
    var model: String

    @Argument(help: "A JPEG, PNG, WebP, TIFF, BMP or GIF image (recognised by content, not extension).")
    var image: String

    @Option(name: .shortAndLong, help: "The .npy file to write (float32).")
    var output: String

    @OptionGroup var preprocessing: PreprocessingOptions

    @Flag(help: "Print the effective preprocessing as JSON on stdout.")
    var json = false

    func run() throws {
        let file = try ModelFile(path: model)
        let effective = try preprocessing.effective(for: file)
        let tensor = try Preprocessor(effective, maximumPixelCount: preprocessing.maximumPixelCount).tensor(forImageAt: image)
        try tensor.writeNumPy(to: output)
        if json { print(effective.jsonText()) }
    }
}
