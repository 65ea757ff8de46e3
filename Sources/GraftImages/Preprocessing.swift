public import GraftSupport
/// The normalisation recipes graft knows, named after the code they reproduce.
public enum PreprocessingPreset: String, Sendable, Hashable, Codable, CaseIterable {
    /// `keras.applications.imagenet_utils.preprocess_input(mode="caffe")`: RGB→BGR, minus the
    /// ImageNet mean [103.939, 116.779, 123.68] (B, G, R), no scaling.
    case kerasCaffe = "keras-caffe"
    /// `preprocess_input(mode="tf")`: `x / 127.5 − 1`.
    case kerasTF = "keras-tf"
    /// `preprocess_input(mode="torch")`: `(x / 255 − mean) / std` with ImageNet's RGB
    /// mean [0.485, 0.456, 0.406] and std [0.229, 0.224, 0.225].
    case kerasTorch = "keras-torch"
    /// Caffe's `DataTransformer`: BGR, `(x − mean_value) · scale`, mean and scale from the
    /// model's `transform_param` (default no mean, scale 1).
    case caffe
    /// `"none"`: RGB values 0–255 as floats, unless `mean`, `std`, `divisor` or `scale` say otherwise.
    case rawPixels = "none"
}

/// How the image is brought to the model's input size.
public enum ResizeMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Straight to height × width, ignoring the aspect ratio (Keras `load_img`, Caffe ImageData).
    case stretch
    /// The shorter side to `shorter_side`, then the centre height × width.
    case crop
}

/// The order of the colour channels in the produced tensor.
public enum ChannelOrder: String, Sendable, Hashable, Codable, CaseIterable {
    case rgb
    case bgr
}

/// The axis order of the produced tensor (the model input's layout).
public enum TensorLayout: String, Sendable, Hashable, Codable, CaseIterable {
    /// Batch, height, width, channels (Keras `channels_last`).
    case nhwc = "NHWC"
    /// Batch, channels, height, width (Caffe, Keras `channels_first`).
    case nchw = "NCHW"
}

/// What the model says about its image input: the fixed parts of its shape and its layout.
public struct ModelInputGeometry: Sendable, Hashable {
    public var height: Int?
    public var width: Int?
    public var channels: Int?
    public var layout: TensorLayout

    public init(height: Int?, width: Int?, channels: Int?, layout: TensorLayout) {
        self.height = height
        self.width = width
        self.channels = channels
        self.layout = layout
    }
}

/// The preprocessing of images into a model's input tensor, as recorded in JSON (specified in
/// `schemas/preprocessing.md`).
///
/// Every member is optional: a model records a partial value such as `{"preset": "keras-caffe"}`
/// in its `graph.preprocessing`, the user overrides members on the command line, and
/// `resolved(for:)` fills in every default to give the *effective* preprocessing, complete
/// and explicit, which graft records in a feature cache's provenance. The resulting pixel
/// values are, per channel `c` of the output order,
///
///     y = ((Float(x) / divisor − mean[c]) / std[c]) · scale
///
/// with each operation in single precision, in this order, as Keras's `preprocess_input` and
/// Caffe's `DataTransformer` compute them (dividing by 1, subtracting 0 and multiplying by 1
/// are exact, so the neutral values of a preset change nothing).
public struct Preprocessing: Sendable, Hashable {
    public var preset: PreprocessingPreset?
    /// Output height and width in pixels (JSON `"size": [height, width]`).
    public var height: Int?
    public var width: Int?
    public var color: ColorMode?
    public var resize: ResizeMode?
    /// For `crop`: the length the shorter image side is resized to before cropping.
    public var shorterSide: Int?
    public var interpolation: Interpolation?
    public var channelOrder: ChannelOrder?
    public var divisor: Double?
    public var mean: [Double]?
    public var std: [Double]?
    public var scale: Double?
    public var layout: TensorLayout?
    /// Whether a JPEG's Exif orientation is applied (default false, as in Keras and PIL).
    public var exifOrientation: Bool?
    /// Whether JPEGs may be decoded at a reduced DCT scale (default false: it changes pixels).
    public var fastDecode: Bool?
    /// How 16-bit PNG and TIFF samples become 8-bit ones (default `pil`, PIL's reduction).
    ///
    /// The effective record carries this member only when it is `scale`: with the default it is
    /// left out, so records, and the feature caches that store them, stay byte-identical to those
    /// written before the member existed, and such caches can still be resumed and merged.
    public var depth16: SixteenBitReduction?

    public init(preset: PreprocessingPreset? = nil, height: Int? = nil, width: Int? = nil, color: ColorMode? = nil,
                resize: ResizeMode? = nil, shorterSide: Int? = nil, interpolation: Interpolation? = nil,
                channelOrder: ChannelOrder? = nil, divisor: Double? = nil, mean: [Double]? = nil,
                std: [Double]? = nil, scale: Double? = nil, layout: TensorLayout? = nil,
                exifOrientation: Bool? = nil, fastDecode: Bool? = nil, depth16: SixteenBitReduction? = nil) {
        self.preset = preset
        self.height = height
        self.width = width
        self.color = color
        self.resize = resize
        self.shorterSide = shorterSide
        self.interpolation = interpolation
        self.channelOrder = channelOrder
        self.divisor = divisor
        self.mean = mean
        self.std = std
        self.scale = scale
        self.layout = layout
        self.exifOrientation = exifOrientation
        self.fastDecode = fastDecode
        self.depth16 = depth16
    }

    /// Whether nothing is set (a model that records `{}`).
    public var isEmpty: Bool { self == Preprocessing() }

    /// This value with every member `overrides` sets replacing this one's.
    ///
    /// When `overrides` names a different preset, this value's normalisation numbers
    /// (`channel_order`, `divisor`, `mean`, `std`, `scale`) belong to the old preset and are
    /// dropped; its geometry and decoding members are kept.
    public func overridden(by overrides: Preprocessing) -> Preprocessing {
        var result = self
        if let preset = overrides.preset, preset != self.preset {
            result.channelOrder = nil
            result.divisor = nil
            result.mean = nil
            result.std = nil
            result.scale = nil
        }
        result.preset = overrides.preset ?? result.preset
        result.height = overrides.height ?? result.height
        result.width = overrides.width ?? result.width
        result.color = overrides.color ?? result.color
        result.resize = overrides.resize ?? result.resize
        result.shorterSide = overrides.shorterSide ?? result.shorterSide
        result.interpolation = overrides.interpolation ?? result.interpolation
        result.channelOrder = overrides.channelOrder ?? result.channelOrder
        result.divisor = overrides.divisor ?? result.divisor
        result.mean = overrides.mean ?? result.mean
        result.std = overrides.std ?? result.std
        result.scale = overrides.scale ?? result.scale
        result.layout = overrides.layout ?? result.layout
        result.exifOrientation = overrides.exifOrientation ?? result.exifOrientation
        result.fastDecode = overrides.fastDecode ?? result.fastDecode
        result.depth16 = overrides.depth16 ?? result.depth16
        return result
    }

    /// The effective preprocessing for a model input: every member set and checked.
    ///
    /// - Throws: `PreprocessingError` when no preset is chosen, the size is unknown, or a member
    ///   contradicts the model or another member.
    public func resolved(for input: ModelInputGeometry) throws(PreprocessingError) -> Preprocessing {
        guard let preset else { throw .noPreset }
        var result = self

        if let layout, layout != input.layout { throw .layoutMismatch(recorded: layout, model: input.layout) }
        result.layout = input.layout

        guard let height = height ?? input.height, let width = width ?? input.width else { throw .unknownSize }
        guard (1...Preprocessing.maximumSide).contains(height), (1...Preprocessing.maximumSide).contains(width) else {
            throw .invalidValue(name: "size", value: "\(height)x\(width)",
                                reason: "height and width must be between 1 and \(Preprocessing.maximumSide)")
        }
        if let modelHeight = input.height, modelHeight != height {
            throw .sizeMismatch(height: height, width: width, modelHeight: input.height, modelWidth: input.width)
        }
        if let modelWidth = input.width, modelWidth != width {
            throw .sizeMismatch(height: height, width: width, modelHeight: input.height, modelWidth: input.width)
        }
        result.height = height
        result.width = width

        let color: ColorMode
        if let chosen = self.color {
            color = chosen
        } else {
            switch input.channels {
            case 1: color = .gray
            case 3, nil: color = .rgb
            case let .some(other): throw .unsupportedChannelCount(other)
            }
        }
        if let channels = input.channels, channels != color.channelCount {
            throw .channelMismatch(color: color, modelChannels: channels)
        }
        result.color = color
        let channels = color.channelCount

        let resize = self.resize ?? .stretch
        result.resize = resize
        switch resize {
        case .stretch:
            if shorterSide != nil {
                throw .invalidValue(name: "shorter_side", value: "\(shorterSide!)", reason: "it applies only to resize crop")
            }
            result.shorterSide = nil
        case .crop:
            let side = shorterSide ?? Int((256.0 * Double(max(height, width)) / 224.0).rounded())
            guard side >= max(height, width), side <= Preprocessing.maximumSide else {
                throw .invalidValue(name: "shorter_side", value: "\(side)",
                                    reason: "the shorter side must be at least the larger output side (\(max(height, width))) and at most \(Preprocessing.maximumSide)")
            }
            result.shorterSide = side
        }
        result.interpolation = interpolation ?? .nearest
        result.exifOrientation = exifOrientation ?? false
        result.fastDecode = fastDecode ?? false
        result.depth16 = depth16 == .scale ? .scale : nil

        let defaults = preset.defaults
        let order = channelOrder ?? defaults.channelOrder
        result.channelOrder = order
        let divisor = self.divisor ?? defaults.divisor
        let scale = self.scale ?? defaults.scale
        for (name, value) in [("divisor", divisor), ("scale", scale)] where !(value.isFinite && value != 0) {
            throw .invalidValue(name: name, value: "\(value)", reason: "it must be a finite number other than 0")
        }
        result.divisor = divisor
        result.scale = scale
        result.mean = try Preprocessing.perChannel(mean ?? defaults.mean, name: "mean", channels: channels, preset: preset)
        result.std = try Preprocessing.perChannel(std ?? defaults.std, name: "std", channels: channels, preset: preset)
        if result.std!.contains(0) {
            throw .invalidValue(name: "std", value: Preprocessing.list(result.std!), reason: "a standard deviation cannot be 0")
        }
        return result
    }

    /// The largest output side graft accepts.
    public static let maximumSide = 16384

    /// Whether every member that `resolved(for:)` fills in is set.
    public var isComplete: Bool {
        preset != nil && height != nil && width != nil && color != nil && resize != nil
            && (resize != .crop || shorterSide != nil) && interpolation != nil && channelOrder != nil
            && divisor != nil && mean != nil && std != nil && scale != nil && layout != nil
            && exifOrientation != nil && fastDecode != nil
    }

    private static func perChannel(_ values: [Double], name: String, channels: Int,
                                   preset: PreprocessingPreset) throws(PreprocessingError) -> [Double] {
        guard values.allSatisfy(\.isFinite) else {
            throw .invalidValue(name: name, value: list(values), reason: "every value must be a finite number")
        }
        if values.count == channels { return values }
        if values.count == 1 { return [Double](repeating: values[0], count: channels) }
        throw .channelCountMismatch(name: name, values: values, channels: channels, preset: preset)
    }

    static func list(_ values: [Double]) -> String {
        values.map { $0.formatted() }.joined(separator: ",")
    }
}

extension PreprocessingPreset {
    /// The channel order and numbers a preset uses when the record does not override them.
    var defaults: (channelOrder: ChannelOrder, divisor: Double, mean: [Double], std: [Double], scale: Double) {
        switch self {
        case .kerasCaffe: (.bgr, 1, [103.939, 116.779, 123.68], [1], 1)
        case .kerasTF: (.rgb, 127.5, [1], [1], 1)
        case .kerasTorch: (.rgb, 255, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], 1)
        case .caffe: (.bgr, 1, [0], [1], 1)
        case .rawPixels: (.rgb, 1, [0], [1], 1)
        }
    }
}

extension Double {
    /// The shortest decimal text that reads back as this value (`103.939`, `1`, `0.5`).
    func formatted() -> String {
        if self == rounded(), abs(self) < 1e15 { return String(Int(self)) }
        return "\(self)"
    }
}

/// A preprocessing that cannot be used.
public enum PreprocessingError: GraftError, Equatable {
    /// Neither the model nor the options choose a preset.
    case noPreset
    /// Neither the model's input shape nor the options give the output size.
    case unknownSize
    /// The chosen size differs from the model's fixed input size.
    case sizeMismatch(height: Int, width: Int, modelHeight: Int?, modelWidth: Int?)
    /// The model's input has a channel count that is neither 1 nor 3.
    case unsupportedChannelCount(Int)
    /// The chosen colour has a channel count other than the model input's.
    case channelMismatch(color: ColorMode, modelChannels: Int)
    /// The recorded layout differs from the model input's.
    case layoutMismatch(recorded: TensorLayout, model: TensorLayout)
    /// A per-channel list has neither 1 nor one-per-channel values.
    case channelCountMismatch(name: String, values: [Double], channels: Int, preset: PreprocessingPreset)
    /// A member has a value graft cannot use.
    case invalidValue(name: String, value: String, reason: String)
    /// The recorded JSON is not a preprocessing object.
    case invalidRecord(reason: String)

    public var exitStatus: ExitStatus {
        switch self {
        case .invalidRecord: .dataError
        default: .usage
        }
    }

    public var description: String {
        switch self {
        case .noPreset:
            "the model records no preprocessing; choose --preprocess keras-caffe, keras-tf, keras-torch, caffe or none"
        case .unknownSize:
            "the model's input has no fixed height and width; give the size with --size HEIGHTxWIDTH"
        case let .sizeMismatch(height, width, modelHeight, modelWidth):
            "the size \(height)x\(width) differs from the model's input size \(modelHeight.map(String.init) ?? "?")x\(modelWidth.map(String.init) ?? "?")"
        case let .unsupportedChannelCount(channels):
            "the model's input has \(channels) channels; graft makes images with 1 (gray) or 3 (rgb)"
        case let .channelMismatch(color, modelChannels):
            "color \(color.rawValue) gives \(color.channelCount) channel\(color.channelCount == 1 ? "" : "s"), but the model's input has \(modelChannels)"
        case let .layoutMismatch(recorded, model):
            "the preprocessing records layout \(recorded.rawValue), but the model's input is \(model.rawValue)"
        case let .channelCountMismatch(name, values, channels, preset):
            "\(name) has \(values.count) values (\(Preprocessing.list(values))) for \(channels) channel\(channels == 1 ? "" : "s") under preset \(preset.rawValue); give --\(name) with 1 or \(channels) values"
        case let .invalidValue(name, value, reason):
            "invalid \(name) '\(value)': \(reason)"
        case let .invalidRecord(reason):
            "the recorded preprocessing is invalid: \(reason)"
        }
    }
}
