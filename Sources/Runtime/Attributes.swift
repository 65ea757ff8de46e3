import GraftModel

/// Typed access to a node's attributes, throwing errors that name the node and the attribute.
struct Attributes {
    let node: String
    let values: [String: JSONValue]

    init(_ node: Node) {
        self.node = node.name
        self.values = node.attributes
    }

    init(node: String, values: [String: JSONValue]) {
        self.node = node
        self.values = values
    }

    func contains(_ name: String) -> Bool { values[name] != nil }

    func raw(_ name: String) -> JSONValue? { values[name] }

    func int(_ name: String, default fallback: Int) throws(RuntimeError) -> Int {
        guard let value = values[name] else { return fallback }
        guard let integer = value.integerValue else { throw .invalidAttribute(node: node, attribute: name, reason: "is \(value), expected an integer") }
        return integer
    }

    func requiredInt(_ name: String) throws(RuntimeError) -> Int {
        guard values[name] != nil else { throw .missingAttribute(node: node, attribute: name) }
        return try int(name, default: 0)
    }

    func double(_ name: String, default fallback: Double) throws(RuntimeError) -> Double {
        guard let value = values[name], value != .null else { return fallback }
        guard let number = value.doubleValue else { throw .invalidAttribute(node: node, attribute: name, reason: "is \(value), expected a number") }
        return number
    }

    func float(_ name: String, default fallback: Float) throws(RuntimeError) -> Float {
        Float(try double(name, default: Double(fallback)))
    }

    func requiredFloat(_ name: String) throws(RuntimeError) -> Float {
        guard values[name] != nil else { throw .missingAttribute(node: node, attribute: name) }
        return try float(name, default: 0)
    }

    func bool(_ name: String, default fallback: Bool) throws(RuntimeError) -> Bool {
        guard let value = values[name] else { return fallback }
        guard let flag = value.boolValue else { throw .invalidAttribute(node: node, attribute: name, reason: "is \(value), expected true or false") }
        return flag
    }

    func string(_ name: String, default fallback: String) throws(RuntimeError) -> String {
        guard let value = values[name] else { return fallback }
        guard let text = value.stringValue else { throw .invalidAttribute(node: node, attribute: name, reason: "is \(value), expected a string") }
        return text
    }

    /// An integer list of exactly `count` entries (any count when `count` is nil).
    func ints(_ name: String, count: Int? = nil, default fallback: [Int]?) throws(RuntimeError) -> [Int] {
        guard let value = values[name] else {
            if let fallback { return fallback }
            throw .missingAttribute(node: node, attribute: name)
        }
        guard let list = value.integerArray, count.map({ list.count == $0 }) ?? true else {
            throw .invalidAttribute(node: node, attribute: name, reason: "is \(value), expected a list of \(count.map(String.init) ?? "") integers")
        }
        return list
    }

    func doubles(_ name: String) throws(RuntimeError) -> [Double]? {
        guard let value = values[name], value != .null else { return nil }
        guard let list = value.doubleArray else { throw .invalidAttribute(node: node, attribute: name, reason: "is \(value), expected a list of numbers") }
        return list
    }

    /// A positive integer pair such as `strides` or `kernel_size`.
    func pair(_ name: String, default fallback: [Int]?) throws(RuntimeError) -> (Int, Int) {
        let list = try ints(name, count: 2, default: fallback)
        guard list[0] > 0, list[1] > 0 else { throw .invalidAttribute(node: node, attribute: name, reason: "is \(list), expected positive sizes") }
        return (list[0], list[1])
    }

    /// The layout attribute of a spatial op.
    func layout() throws(RuntimeError) -> Layout {
        let text = try string("layout", default: "NHWC")
        guard let layout = Layout(rawValue: text) else {
            throw .invalidAttribute(node: node, attribute: "layout", reason: "is '\(text)', expected NHWC, NCHW, NWC, NCW or plain")
        }
        return layout
    }
}

/// Padding per side, or TensorFlow's "same" rule evaluated on the actual input size.
enum SpatialPadding {
    case explicit(top: Int, bottom: Int, left: Int, right: Int)
    case same

    init(_ attributes: Attributes, name: String = "padding") throws(RuntimeError) {
        if let value = attributes.raw(name), let text = value.stringValue {
            guard text == "same" else { throw .unsupportedAttribute(node: attributes.node, attribute: name, value: "'\(text)'") }
            self = .same
            return
        }
        let list = try attributes.ints(name, count: 4, default: [0, 0, 0, 0])
        guard list.allSatisfy({ $0 >= 0 }) else { throw .invalidAttribute(node: attributes.node, attribute: name, reason: "is \(list), expected non-negative sizes") }
        self = .explicit(top: list[0], bottom: list[1], left: list[2], right: list[3])
    }

    /// [before, after] on both axes for the given input size.
    func resolve(height: Int, width: Int, kernel: (Int, Int), strides: (Int, Int), dilations: (Int, Int)) -> (top: Int, bottom: Int, left: Int, right: Int) {
        switch self {
        case let .explicit(top, bottom, left, right): return (top, bottom, left, right)
        case .same:
            let vertical = SpatialPadding.sameRule(size: height, kernel: kernel.0, stride: strides.0, dilation: dilations.0)
            let horizontal = SpatialPadding.sameRule(size: width, kernel: kernel.1, stride: strides.1, dilation: dilations.1)
            return (vertical.0, vertical.1, horizontal.0, horizontal.1)
        }
    }

    /// TensorFlow's rule: total `max((ceil(in/s) − 1)·s + (k−1)·d + 1 − in, 0)`, the smaller half before.
    static func sameRule(size: Int, kernel: Int, stride: Int, dilation: Int) -> (Int, Int) {
        let outputs = (size + stride - 1) / stride
        let total = max((outputs - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
        return (total / 2, total - total / 2)
    }
}
