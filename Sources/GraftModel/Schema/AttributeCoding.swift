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

    mutating func int(_ name: String, default fallback: Int? = nil) throws(AttributeError) -> Int {
        guard let value = raw(name) else {
            guard let fallback else { throw .missing(node: node, attribute: name) }
            return fallback
        }
        guard let integer = value.integerValue else { throw invalid(name, "is \(quoted(value)), expected an integer") }
        return integer
    }

    mutating func double(_ name: String, default fallback: Double? = nil) throws(AttributeError) -> Double {
        guard let value = raw(name) else {
            guard let fallback else { throw .missing(node: node, attribute: name) }
            return fallback
        }
        guard let number = value.doubleValue else { throw invalid(name, "is \(quoted(value)), expected a number") }
        return number
    }

    mutating func optionalDouble(_ name: String) throws(AttributeError) -> Double? {
        guard let value = raw(name) else { return nil }
        guard let number = value.doubleValue else { throw invalid(name, "is \(quoted(value)), expected a number") }
        return number
    }

    mutating func bool(_ name: String, default fallback: Bool) throws(AttributeError) -> Bool {
        guard let value = raw(name) else { return fallback }
        guard let flag = value.boolValue else { throw invalid(name, "is \(quoted(value)), expected true or false") }
        return flag
    }

    mutating func string(_ name: String, default fallback: String? = nil) throws(AttributeError) -> String {
        guard let value = raw(name) else {
            guard let fallback else { throw .missing(node: node, attribute: name) }
            return fallback
        }
        guard let text = value.stringValue else { throw invalid(name, "is \(quoted(value)), expected a string") }
        return text
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
        guard let value = raw(name) else {
            guard let fallback else { throw .missing(node: node, attribute: name) }
            return fallback
        }
        guard let list = value.integerArray, count.map({ list.count == $0 }) ?? true else {
            throw invalid(name, "is \(quoted(value)), expected a list of \(count.map { "\($0) " } ?? "")integers")
        }
        return list
    }

    /// A pair of positive sizes (`kernel_size`, `strides`, `dilations`, `pool_size`, `size`).
    mutating func positivePair(_ name: String, default fallback: [Int]? = nil) throws(AttributeError) -> Pair {
        let list = try ints(name, count: 2, default: fallback)
        guard list[0] > 0, list[1] > 0 else { throw invalid(name, "is \(list), expected two positive sizes") }
        return Pair(list[0], list[1])
    }

    mutating func optionalDoubles(_ name: String) throws(AttributeError) -> [Double]? {
        guard let value = raw(name) else { return nil }
        guard let list = value.doubleArray else { throw invalid(name, "is \(quoted(value)), expected a list of numbers") }
        return list
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
