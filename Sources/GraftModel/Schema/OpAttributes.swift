/// Rounding of a pooling window count: `floor` (Keras, TensorFlow) or `ceil` (Caffe).
public enum Rounding: String, Sendable, Hashable, CaseIterable {
    case floor, ceil
}

extension Operation {
    /// Conv2D, DepthwiseConv2D and Conv2DTranspose. Weights and their layouts:
    /// `schemas/graft-model.md`, "Convolutions and Dense".
    public struct Convolution: Sendable, Hashable {
        public var layout: Layout
        public var kernelSize: Pair
        public var strides: Pair
        public var dilations: Pair
        /// For Conv2DTranspose, what is cropped from the full output on each side.
        public var padding: Padding
        /// Conv2D and Conv2DTranspose; 1 for DepthwiseConv2D.
        public var groups: Int
        /// DepthwiseConv2D only: output channels per input channel.
        public var depthMultiplier: Int
        /// Conv2DTranspose only: added at the bottom and right.
        public var outputPadding: Pair
        /// Applied after the bias; written by its name, so only functions whose parameters are
        /// all defaults can be fused (`Activation.hasDefaultParameters`).
        public var activation: Activation

        public init(layout: Layout, kernelSize: Pair, strides: Pair = Pair(1, 1), dilations: Pair = Pair(1, 1),
                    padding: Padding = .valid, groups: Int = 1, depthMultiplier: Int = 1, outputPadding: Pair = Pair(0, 0),
                    activation: Activation = .linear) {
            self.layout = layout
            self.kernelSize = kernelSize
            self.strides = strides
            self.dilations = dilations
            self.padding = padding
            self.groups = groups
            self.depthMultiplier = depthMultiplier
            self.outputPadding = outputPadding
            self.activation = activation
        }

        init(_ op: Operator, _ reader: inout AttributeReader) throws(AttributeError) {
            layout = try reader.choice("layout", default: .nhwc)
            kernelSize = try reader.positivePair("kernel_size")
            strides = try reader.positivePair("strides", default: [1, 1])
            dilations = try reader.positivePair("dilations", default: [1, 1])
            padding = try Padding.read("padding", from: &reader)
            groups = op == .depthwiseConv2D ? 1 : try reader.int("groups", default: 1)
            guard groups >= 1 else { throw reader.invalid("groups", "is \(groups), expected 1 or more") }
            depthMultiplier = op == .depthwiseConv2D ? try reader.int("depth_multiplier", default: 1) : 1
            guard depthMultiplier >= 1 else { throw reader.invalid("depth_multiplier", "is \(depthMultiplier), expected 1 or more") }
            if op == .conv2DTranspose {
                let extra = try reader.ints("output_padding", count: 2, default: [0, 0])
                guard extra.allSatisfy({ $0 >= 0 }) else { throw reader.invalid("output_padding", "is \(extra), expected non-negative sizes") }
                outputPadding = Pair(extra[0], extra[1])
            } else {
                outputPadding = Pair(0, 0)
            }
            activation = try Activation.read("activation", from: &reader, parameters: false)
        }

        func encode(_ op: Operator, into writer: inout AttributeWriter) {
            writer.set("layout", layout.rawValue)
            writer.set("kernel_size", kernelSize)
            writer.set("strides", strides)
            writer.set("dilations", dilations)
            writer.set("padding", padding.json)
            if op == .depthwiseConv2D { writer.set("depth_multiplier", depthMultiplier) } else { writer.set("groups", groups) }
            if op == .conv2DTranspose { writer.set("output_padding", outputPadding) }
            writer.set("activation", activation.function.rawValue)
        }

        /// The explicit padding for an input of `size` ("same" resolved). A transposed
        /// convolution's "same" is the forward padding of its output size, `size · strides`.
        public func resolvedPadding(for size: Pair, transposed: Bool = false) -> Sides {
            let basis = transposed ? Pair(size.height * strides.height, size.width * strides.width) : size
            return padding.resolved(for: basis, kernel: kernelSize, strides: strides, dilations: dilations)
        }

        /// The spatial output size for an input of `size`, or nil when the window does not fit.
        public func outputSize(for size: Pair, transposed: Bool = false) -> Pair? {
            let sides = resolvedPadding(for: size, transposed: transposed)
            if transposed {
                guard let height = WindowArithmetic.transposedConvolutionOutput(
                        input: size.height, kernel: kernelSize.height, stride: strides.height, dilation: dilations.height,
                        outputPadding: outputPadding.height, before: sides.top, after: sides.bottom),
                      let width = WindowArithmetic.transposedConvolutionOutput(
                        input: size.width, kernel: kernelSize.width, stride: strides.width, dilation: dilations.width,
                        outputPadding: outputPadding.width, before: sides.left, after: sides.right) else { return nil }
                return Pair(height, width)
            }
            guard let height = WindowArithmetic.convolutionOutput(input: size.height, kernel: kernelSize.height, stride: strides.height,
                                                                  dilation: dilations.height, before: sides.top, after: sides.bottom),
                  let width = WindowArithmetic.convolutionOutput(input: size.width, kernel: kernelSize.width, stride: strides.width,
                                                                 dilation: dilations.width, before: sides.left, after: sides.right) else { return nil }
            return Pair(height, width)
        }
    }

    /// Dense: `y = x·kernel + bias` on the last axis of any rank.
    public struct Dense: Sendable, Hashable {
        public var activation: Activation
        public init(activation: Activation = .linear) { self.activation = activation }
    }

    /// BatchNormalization: `y = gamma·(x − mean)/sqrt(variance + epsilon) + beta` along `axis`.
    public struct BatchNormalization: Sendable, Hashable {
        /// Keras's default epsilon, the spec's default.
        public static let defaultEpsilon = 0.001

        public var axis: Int
        public var epsilon: Double

        public init(axis: Int, epsilon: Double = BatchNormalization.defaultEpsilon) {
            self.axis = axis
            self.epsilon = epsilon
        }

        init(_ reader: inout AttributeReader) throws(AttributeError) {
            axis = try reader.int("axis")
            epsilon = try reader.double("epsilon", default: BatchNormalization.defaultEpsilon)
            guard epsilon >= 0, epsilon.isFinite else { throw reader.invalid("epsilon", "is \(epsilon), expected a non-negative number") }
        }

        /// The per-channel affine map `y = scale·x + shift` this normalisation is, computed in
        /// `Double`: `scale = gamma / sqrt(variance + epsilon)`, `shift = beta − mean·scale`.
        /// `gamma` and `beta` default to 1 and 0 when absent. Every array has one entry per channel.
        public func affine(gamma: UnsafeBufferPointer<Float>?, beta: UnsafeBufferPointer<Float>?,
                           mean: UnsafeBufferPointer<Float>, variance: UnsafeBufferPointer<Float>) -> (scale: [Double], shift: [Double]) {
            let channels = mean.count
            var scale = [Double](repeating: 0, count: channels), shift = [Double](repeating: 0, count: channels)
            for c in 0..<channels {
                let factor = Double(gamma?[c] ?? 1) / (Double(variance[c]) + epsilon).squareRoot()
                scale[c] = factor
                shift[c] = Double(beta?[c] ?? 0) - Double(mean[c]) * factor
            }
            return (scale, shift)
        }
    }

    /// LayerNormalization over `axes` (batch axis excluded).
    public struct LayerNormalization: Sendable, Hashable {
        public var axes: [Int]
        public var epsilon: Double

        public init(axes: [Int] = [-1], epsilon: Double = BatchNormalization.defaultEpsilon) {
            self.axes = axes
            self.epsilon = epsilon
        }

        init(_ reader: inout AttributeReader) throws(AttributeError) {
            axes = try reader.ints("axes", default: [-1])
            guard !axes.isEmpty else { throw reader.invalid("axes", "is empty, expected at least one axis") }
            epsilon = try reader.double("epsilon", default: BatchNormalization.defaultEpsilon)
        }
    }

    /// Scale: `y = x·scale + bias`, the weights shaped like input axes `axis ..< axis+axisCount`.
    public struct Scale: Sendable, Hashable {
        /// Negative counts from the end.
        public var axis: Int
        /// `num_axes`: 1; −1 for every axis from `axis` on; 0 for a single value.
        public var axisCount: Int

        public init(axis: Int = 1, axisCount: Int = 1) {
            self.axis = axis
            self.axisCount = axisCount
        }

        init(_ reader: inout AttributeReader) throws(AttributeError) {
            axis = try reader.int("axis", default: 1)
            axisCount = try reader.int("num_axes", default: 1)
            guard axisCount >= -1 else { throw reader.invalid("num_axes", "is \(axisCount), expected -1 or more") }
        }
    }

    /// Rescaling: `y = x·scale + offset` with scalars.
    public struct Rescaling: Sendable, Hashable {
        public var scale: Double
        public var offset: Double
        public init(scale: Double = 1, offset: Double = 0) {
            self.scale = scale
            self.offset = offset
        }
    }

    /// LocalResponseNormalization, Caffe's definition.
    public struct LocalResponseNormalization: Sendable, Hashable {
        public enum Region: String, Sendable, Hashable, CaseIterable {
            case acrossChannels = "across_channels"
            case withinChannel = "within_channel"
        }

        public var layout: Layout
        public var size: Int
        public var alpha: Double
        public var beta: Double
        public var k: Double
        public var region: Region

        public init(layout: Layout, size: Int = 5, alpha: Double = 1, beta: Double = 0.75, k: Double = 1, region: Region = .acrossChannels) {
            self.layout = layout
            self.size = size
            self.alpha = alpha
            self.beta = beta
            self.k = k
            self.region = region
        }

        init(_ reader: inout AttributeReader) throws(AttributeError) {
            layout = try reader.choice("layout", default: .nhwc)
            size = try reader.int("size", default: 5)
            guard size >= 1 else { throw reader.invalid("size", "is \(size), expected 1 or more") }
            alpha = try reader.double("alpha", default: 1)
            beta = try reader.double("beta", default: 0.75)
            k = try reader.double("k", default: 1)
            region = try reader.choice("region", default: .acrossChannels)
        }

        func encode(into writer: inout AttributeWriter) {
            writer.set("layout", layout.rawValue)
            writer.set("size", size)
            writer.set("alpha", alpha)
            writer.set("beta", beta)
            writer.set("k", k)
            writer.set("region", region.rawValue)
        }
    }

    /// MaxPooling2D and AveragePooling2D.
    public struct Pooling: Sendable, Hashable {
        /// How an average is divided at the borders.
        public enum Divisor: String, Sendable, Hashable, CaseIterable {
            /// By the input cells in the window (Keras, TensorFlow).
            case valid
            /// By the window clipped to the padded extent (Caffe).
            case padded
        }

        public var layout: Layout
        public var poolSize: Pair
        public var strides: Pair
        public var padding: Padding
        public var rounding: Rounding
        /// AveragePooling2D only.
        public var divisor: Divisor

        public init(layout: Layout, poolSize: Pair, strides: Pair? = nil, padding: Padding = .valid, rounding: Rounding = .floor,
                    divisor: Divisor = .valid) {
            self.layout = layout
            self.poolSize = poolSize
            self.strides = strides ?? poolSize
            self.padding = padding
            self.rounding = rounding
            self.divisor = divisor
        }

        init(_ op: Operator, _ reader: inout AttributeReader) throws(AttributeError) {
            layout = try reader.choice("layout", default: .nhwc)
            poolSize = try reader.positivePair("pool_size")
            strides = try reader.positivePair("strides", default: [poolSize.height, poolSize.width])
            padding = try Padding.read("padding", from: &reader)
            rounding = try reader.choice("rounding", default: .floor)
            divisor = op == .averagePooling2D ? try reader.choice("divisor", default: .valid) : .valid
        }

        func encode(_ op: Operator, into writer: inout AttributeWriter) {
            writer.set("layout", layout.rawValue)
            writer.set("pool_size", poolSize)
            writer.set("strides", strides)
            writer.set("padding", padding.json)
            writer.set("rounding", rounding.rawValue)
            if op == .averagePooling2D { writer.set("divisor", divisor.rawValue) }
        }

        /// The explicit padding for an input of `size` ("same" resolved).
        public func resolvedPadding(for size: Pair) -> Sides {
            padding.resolved(for: size, kernel: poolSize, strides: strides)
        }

        /// The spatial output size for an input of `size`, or nil when the window does not fit.
        public func outputSize(for size: Pair) -> Pair? {
            let sides = resolvedPadding(for: size)
            let anyPadding = sides != .zero
            guard let height = WindowArithmetic.poolingOutput(input: size.height, window: poolSize.height, stride: strides.height,
                                                              before: sides.top, after: sides.bottom, rounding: rounding, anyPadding: anyPadding),
                  let width = WindowArithmetic.poolingOutput(input: size.width, window: poolSize.width, stride: strides.width,
                                                             before: sides.left, after: sides.right, rounding: rounding, anyPadding: anyPadding)
            else { return nil }
            return Pair(height, width)
        }
    }

    /// GlobalAveragePooling and GlobalMaxPooling: reduce every spatial axis of the layout.
    public struct GlobalPooling: Sendable, Hashable {
        public var layout: Layout
        public var keepsDimensions: Bool

        public init(layout: Layout, keepsDimensions: Bool = false) {
            self.layout = layout
            self.keepsDimensions = keepsDimensions
        }

        init(_ reader: inout AttributeReader) throws(AttributeError) {
            layout = try reader.choice("layout", default: .nhwc)
            keepsDimensions = try reader.bool("keepdims", default: false)
        }
    }

    /// Pad: constant padding of the spatial axes.
    public struct Pad: Sendable, Hashable {
        public var layout: Layout
        public var padding: Sides
        public var value: Double

        public init(layout: Layout, padding: Sides, value: Double = 0) {
            self.layout = layout
            self.padding = padding
            self.value = value
        }

        init(_ reader: inout AttributeReader) throws(AttributeError) {
            layout = try reader.choice("layout", default: .nhwc)
            let list = try reader.ints("padding", count: 4)
            guard list.allSatisfy({ $0 >= 0 }) else { throw reader.invalid("padding", "is \(list), expected non-negative sizes") }
            padding = Sides(top: list[0], bottom: list[1], left: list[2], right: list[3])
            value = try reader.double("value", default: 0)
        }
    }

    /// Crop: fixed sides (Keras Cropping2D), or to a second input's shape (Caffe Crop).
    public enum Crop: Sendable, Hashable {
        /// Crops `cropping` from the spatial axes of `layout`.
        case sides(layout: Layout, cropping: Sides)
        /// Crops every axis from `axis` on to the second input's size, at `offsets` (one per axis,
        /// or one for all of them).
        case reference(axis: Int = 2, offsets: [Int] = [0])

        init(_ reader: inout AttributeReader) throws(AttributeError) {
            if reader.raw("cropping") != nil {
                let layout: Layout = try reader.choice("layout", default: .nhwc)
                let list = try reader.ints("cropping", count: 4)
                guard list.allSatisfy({ $0 >= 0 }) else { throw reader.invalid("cropping", "is \(list), expected non-negative sizes") }
                self = .sides(layout: layout, cropping: Sides(top: list[0], bottom: list[1], left: list[2], right: list[3]))
            } else {
                let axis = try reader.int("axis", default: 2)
                let offsets = try reader.ints("offsets", default: [0])
                guard !offsets.isEmpty, offsets.allSatisfy({ $0 >= 0 }) else { throw reader.invalid("offsets", "is \(offsets), expected non-negative offsets") }
                self = .reference(axis: axis, offsets: offsets)
            }
        }

        func encode(into writer: inout AttributeWriter) {
            switch self {
            case let .sides(layout, cropping):
                writer.set("layout", layout.rawValue)
                writer.set("cropping", cropping.list)
            case let .reference(axis, offsets):
                writer.set("axis", axis)
                writer.set("offsets", offsets)
            }
        }
    }

    /// UpSampling2D by integer factors.
    public struct UpSampling: Sendable, Hashable {
        public enum Interpolation: String, Sendable, Hashable, CaseIterable {
            case nearest, bilinear
        }

        public var layout: Layout
        public var size: Pair
        public var interpolation: Interpolation

        public init(layout: Layout, size: Pair, interpolation: Interpolation = .nearest) {
            self.layout = layout
            self.size = size
            self.interpolation = interpolation
        }

        init(_ reader: inout AttributeReader) throws(AttributeError) {
            layout = try reader.choice("layout", default: .nhwc)
            size = try reader.positivePair("size")
            interpolation = try reader.choice("interpolation", default: .nearest)
        }
    }
}
