/// Why a node's attributes do not fit its op's schema. Each case names the node and the
/// attribute, so a bad file or a converter bug is reported where it is, not when a model runs.
public enum AttributeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A required attribute is absent.
    case missing(node: String, attribute: String)
    /// The attribute is present but its value is of the wrong kind or out of range.
    case invalid(node: String, attribute: String, reason: String)
    /// The op has no attribute of that name (a misspelling, or an attribute of another op).
    case unknown(node: String, op: String, attribute: String, expected: [String])

    public var description: String {
        switch self {
        case let .missing(node, attribute):
            "node '\(node)' lacks its required attribute '\(attribute)'"
        case let .invalid(node, attribute, reason):
            "node '\(node)': attribute '\(attribute)' \(reason)"
        case let .unknown(node, op, attribute, expected):
            "node '\(node)' (\(op)) has an attribute '\(attribute)' that \(op) does not take"
                + (expected.isEmpty ? " (it takes none)" : "; expected one of \(expected.joined(separator: ", "))")
        }
    }
}

/// Typed reading of one node's JSON attributes, with the op schema's defaults.
///
/// Every accessor records the name it was asked for; `finish()` then rejects any attribute the
/// schema never asked about, so a misspelt key is an error at load time.
struct AttributeReader {
    let node: String
    let op: Operator
    private let values: [String: JSONValue]
    private var asked: [String] = []

    init(node: String, op: Operator, values: [String: JSONValue]) {
        self.node = node
        self.op = op
        self.values = values
    }

    /// The raw value, `nil` when absent (JSON `null` counts as absent).
    mutating func raw(_ name: String) -> JSONValue? {
        asked.append(name)
        guard let value = values[name], value != .null else { return nil }
        return value
    }

    func invalid(_ name: String, _ reason: String) -> AttributeError {
        .invalid(node: node, attribute: name, reason: reason)
    }

    /// The attribute converted by `convert` (nil when the value is of the wrong kind, which is
    /// reported as expecting `kind`); `fallback` when absent, and an error when absent with no
    /// fallback (a required attribute).
    private mutating func value<Value>(_ name: String, default fallback: Value?, kind: String,
                                       _ convert: (JSONValue) -> Value?) throws(AttributeError) -> Value {
        guard let value = raw(name) else {
            guard let fallback else { throw .missing(node: node, attribute: name) }
            return fallback
        }
        guard let converted = convert(value) else { throw invalid(name, "is \(quoted(value)), expected \(kind)") }
        return converted
    }

    mutating func int(_ name: String, default fallback: Int? = nil) throws(AttributeError) -> Int {
        try value(name, default: fallback, kind: "an integer", \.integerValue)
    }

    mutating func double(_ name: String, default fallback: Double? = nil) throws(AttributeError) -> Double {
        try value(name, default: fallback, kind: "a number", \.doubleValue)
    }

    mutating func optionalDouble(_ name: String) throws(AttributeError) -> Double? {
        try value(name, default: .some(nil), kind: "a number") { $0.doubleValue.map(Optional.some) }
    }

    mutating func bool(_ name: String, default fallback: Bool) throws(AttributeError) -> Bool {
        try value(name, default: fallback, kind: "true or false", \.boolValue)
    }

    mutating func string(_ name: String, default fallback: String? = nil) throws(AttributeError) -> String {
        try value(name, default: fallback, kind: "a string", \.stringValue)
    }

    /// A string that must be one of an enum's raw values.
    mutating func choice<Choice: RawRepresentable & CaseIterable>(_ name: String, default fallback: Choice? = nil) throws(AttributeError) -> Choice
    where Choice.RawValue == String {
        let text = try string(name, default: fallback?.rawValue)
        guard let choice = Choice(rawValue: text) else {
            throw invalid(name, "is \(quoted(.string(text))), expected one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return choice
    }

    /// An integer list, of exactly `count` entries when `count` is given.
    mutating func ints(_ name: String, count: Int? = nil, default fallback: [Int]? = nil) throws(AttributeError) -> [Int] {
        try value(name, default: fallback, kind: "a list of \(count.map { "\($0) " } ?? "")integers") { value in
            value.integerArray.flatMap { list in count.map { list.count == $0 } ?? true ? list : nil }
        }
    }

    /// A pair of positive sizes (`kernel_size`, `strides`, `dilations`, `pool_size`, `size`).
    mutating func positivePair(_ name: String, default fallback: [Int]? = nil) throws(AttributeError) -> Pair {
        let list = try ints(name, count: 2, default: fallback)
        guard list[0] > 0, list[1] > 0 else { throw invalid(name, "is \(list), expected two positive sizes") }
        return Pair(list[0], list[1])
    }

    mutating func optionalDoubles(_ name: String) throws(AttributeError) -> [Double]? {
        try value(name, default: .some(nil), kind: "a list of numbers") { $0.doubleArray.map(Optional.some) }
    }

    /// Rejects every attribute present in the JSON that the schema did not read.
    func finish() throws(AttributeError) {
        let known = Set(asked)
        if let stray = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw .unknown(node: node, op: op.rawValue, attribute: stray, expected: OpSchema.attributeNames(of: op))
        }
    }

    /// At most about 80 characters of a value, for messages.
    private func quoted(_ value: JSONValue) -> String {
        let text = value.description
        return text.count <= 80 ? text : String(text.prefix(77)) + "…"
    }
}

/// Builds the JSON attributes of one node in the schema's spelling.
struct AttributeWriter {
    private(set) var values: [String: JSONValue] = [:]

    mutating func set(_ name: String, _ value: JSONValue) { values[name] = value }
    mutating func set(_ name: String, _ value: Int) { values[name] = .integer(value) }
    mutating func set(_ name: String, _ value: Double) { values[name] = .number(value) }
    mutating func set(_ name: String, _ value: Bool) { values[name] = .bool(value) }
    mutating func set(_ name: String, _ value: String) { values[name] = .string(value) }
    mutating func set(_ name: String, _ value: [Int]) { values[name] = .array(value.map { .integer($0) }) }
    mutating func set(_ name: String, _ value: Pair) { set(name, [value.height, value.width]) }
}
