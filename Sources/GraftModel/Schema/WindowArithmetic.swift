/// Two sizes of a 2-D window op, vertical first: a kernel, strides, dilations, a pooling window.
public struct Pair: Sendable, Hashable, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    /// The same size on both axes.
    public static func square(_ size: Int) -> Pair { Pair(size, size) }

    public var description: String { "[\(height), \(width)]" }
}

/// Explicit padding (or cropping) on each side of a 2-D window.
public struct Sides: Sendable, Hashable, CustomStringConvertible {
    public var top: Int
    public var bottom: Int
    public var left: Int
    public var right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
    }

    /// No padding.
    public static let zero = Sides(top: 0, bottom: 0, left: 0, right: 0)

    /// `[top, bottom, left, right]`, the order of the JSON attribute.
    public var list: [Int] { [top, bottom, left, right] }

    /// Side by side sums (a Pad folded into the convolution after it).
    public static func + (a: Sides, b: Sides) -> Sides {
        Sides(top: a.top + b.top, bottom: a.bottom + b.bottom, left: a.left + b.left, right: a.right + b.right)
    }

    public var description: String { "\(list)" }
}

/// The `padding` attribute of convolutions and pooling: explicit sides, or TensorFlow's "same"
/// rule evaluated on the actual input size (when the source leaves a spatial size open).
public enum Padding: Sendable, Hashable {
    case explicit(Sides)
    case same

    /// No padding.
    public static let valid = Padding.explicit(.zero)

    /// The sides for an input of `size` (the "same" rule resolved; explicit sides as they are).
    public func resolved(for size: Pair, kernel: Pair, strides: Pair, dilations: Pair = Pair(1, 1)) -> Sides {
        switch self {
        case let .explicit(sides): return sides
        case .same:
            let vertical = WindowArithmetic.samePadding(input: size.height, kernel: kernel.height, stride: strides.height, dilation: dilations.height)
            let horizontal = WindowArithmetic.samePadding(input: size.width, kernel: kernel.width, stride: strides.width, dilation: dilations.width)
            return Sides(top: vertical.before, bottom: vertical.after, left: horizontal.before, right: horizontal.after)
        }
    }

    static func read(_ name: String, from reader: inout AttributeReader) throws(AttributeError) -> Padding {
        if let value = reader.raw(name), let text = value.stringValue {
            guard text == "same" else { throw reader.invalid(name, "is \"\(text.prefix(40))\", expected \"same\" or four sizes") }
            return .same
        }
        let list = try reader.ints(name, count: 4, default: [0, 0, 0, 0])
        guard list.allSatisfy({ $0 >= 0 }) else { throw reader.invalid(name, "is \(list), expected non-negative sizes") }
        return .explicit(Sides(top: list[0], bottom: list[1], left: list[2], right: list[3]))
    }

    var json: JSONValue {
        switch self {
        case .same: "same"
        case let .explicit(sides): .array(sides.list.map { .integer($0) })
        }
    }
}

/// The output-size formulas of window ops, in one place for the importers and the runtime.
///
/// Sizes are per axis. A formula returns `nil` when the window does not fit the padded input.
public enum WindowArithmetic {
    /// TensorFlow's "same" rule for one axis: total `max((ceil(in/s) − 1)·s + (k−1)·d + 1 − in, 0)`,
    /// the smaller half before, the larger after.
    public static func samePadding(input: Int, kernel: Int, stride: Int, dilation: Int = 1) -> (before: Int, after: Int) {
        let outputs = (input + stride - 1) / stride
        let total = max((outputs - 1) * stride + (kernel - 1) * dilation + 1 - input, 0)
        return (total / 2, total - total / 2)
    }

    /// Convolution output length: `floor((in + before + after − d·(k−1) − 1) / s) + 1`.
    public static func convolutionOutput(input: Int, kernel: Int, stride: Int, dilation: Int = 1, before: Int, after: Int) -> Int? {
        let span = dilation * (kernel - 1) + 1
        let padded = input + before + after
        guard padded >= span, stride > 0 else { return nil }
        return (padded - span) / stride + 1
    }

    /// Transposed convolution output length:
    /// `(in − 1)·s + d·(k−1) + 1 + output_padding − before − after`.
    public static func transposedConvolutionOutput(input: Int, kernel: Int, stride: Int, dilation: Int = 1, outputPadding: Int = 0,
                                                   before: Int, after: Int) -> Int? {
        let size = (input - 1) * stride + dilation * (kernel - 1) + 1 + outputPadding - before - after
        return size > 0 ? size : nil
    }

    /// Pooling output length. With `floor`: `floor((in + before + after − k)/s) + 1`; with `ceil`
    /// it is `ceil(…) + 1`, and then, as Caffe does, when the window has any padding (on either
    /// axis) and the last window would start at or beyond `in + before`, that window is dropped.
    public static func poolingOutput(input: Int, window: Int, stride: Int, before: Int, after: Int, rounding: Rounding,
                                     anyPadding: Bool) -> Int? {
        let span = input + before + after - window
        guard span >= 0, stride > 0 else { return nil }
        var size = (rounding == .ceil ? (span + stride - 1) / stride : span / stride) + 1
        if rounding == .ceil && anyPadding && (size - 1) * stride >= input + before { size -= 1 }
        return size > 0 ? size : nil
    }
}
