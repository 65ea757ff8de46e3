import Foundation
/// The JSON form of `Preprocessing` (see `schemas/preprocessing.md`): snake_case members,
/// `"size": [height, width]`, per-channel lists that may also be a single number, and no
/// members graft does not know (a misspelt member is an error, not a silent default).
extension Preprocessing: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case preset, size, color, resize, interpolation, divisor, mean, std, scale, layout
        case shorterSide = "shorter_side"
        case channelOrder = "channel_order"
        case exifOrientation = "exif_orientation"
        case fastDecode = "fast_decode"
        case depth16 = "depth_16"
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let names = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = names.sorted().first(where: { !known.contains($0) }) {
            throw PreprocessingError.invalidRecord(reason: "unknown member '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        preset = try container.decodeIfPresent(PreprocessingPreset.self, forKey: .preset)
        if let size = try container.decodeIfPresent([Int].self, forKey: .size) {
            guard size.count == 2 else {
                throw PreprocessingError.invalidRecord(reason: "size must be [height, width], not \(size)")
            }
            height = size[0]
            width = size[1]
        }
        color = try container.decodeIfPresent(ColorMode.self, forKey: .color)
        resize = try container.decodeIfPresent(ResizeMode.self, forKey: .resize)
        shorterSide = try container.decodeIfPresent(Int.self, forKey: .shorterSide)
        interpolation = try container.decodeIfPresent(Interpolation.self, forKey: .interpolation)
        channelOrder = try container.decodeIfPresent(ChannelOrder.self, forKey: .channelOrder)
        divisor = try container.decodeIfPresent(Double.self, forKey: .divisor)
        mean = try Preprocessing.decodeList(container, .mean)
        std = try Preprocessing.decodeList(container, .std)
        scale = try container.decodeIfPresent(Double.self, forKey: .scale)
        layout = try container.decodeIfPresent(TensorLayout.self, forKey: .layout)
        exifOrientation = try container.decodeIfPresent(Bool.self, forKey: .exifOrientation)
        fastDecode = try container.decodeIfPresent(Bool.self, forKey: .fastDecode)
        depth16 = try container.decodeIfPresent(SixteenBitReduction.self, forKey: .depth16)
    }

    private static func decodeList(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [Double]? {
        if let single = try? container.decodeIfPresent(Double.self, forKey: key) { return [single] }
        return try container.decodeIfPresent([Double].self, forKey: key)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(preset, forKey: .preset)
        if let height, let width { try container.encode([height, width], forKey: .size) }
        try container.encodeIfPresent(color, forKey: .color)
        try container.encodeIfPresent(resize, forKey: .resize)
        try container.encodeIfPresent(shorterSide, forKey: .shorterSide)
        try container.encodeIfPresent(interpolation, forKey: .interpolation)
        try container.encodeIfPresent(channelOrder, forKey: .channelOrder)
        try container.encodeIfPresent(divisor, forKey: .divisor)
        try container.encodeIfPresent(mean, forKey: .mean)
        try container.encodeIfPresent(std, forKey: .std)
        try container.encodeIfPresent(scale, forKey: .scale)
        try container.encodeIfPresent(layout, forKey: .layout)
        try container.encodeIfPresent(exifOrientation, forKey: .exifOrientation)
        try container.encodeIfPresent(fastDecode, forKey: .fastDecode)
        try container.encodeIfPresent(depth16, forKey: .depth16)
    }

    /// Reads a preprocessing object from JSON text or bytes, throwing `invalidRecord` with the
    /// decoder's reason.
    public init(json: Data) throws(PreprocessingError) {
        do {
            self = try JSONDecoder().decode(Preprocessing.self, from: json)
        } catch let error as PreprocessingError {
            throw error
        } catch let DecodingError.dataCorrupted(context) {
            throw .invalidRecord(reason: Preprocessing.describe(context))
        } catch let DecodingError.typeMismatch(_, context) {
            throw .invalidRecord(reason: Preprocessing.describe(context))
        } catch let DecodingError.valueNotFound(_, context) {
            throw .invalidRecord(reason: Preprocessing.describe(context))
        } catch {
            throw .invalidRecord(reason: "\(error)")
        }
    }

    private static func describe(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map(\.stringValue).filter { !$0.isEmpty }.joined(separator: ".")
        return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
    }

    /// The JSON text, members in a fixed order, on one line.
    public func jsonText() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding enums, numbers, booleans and lists cannot fail.
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
