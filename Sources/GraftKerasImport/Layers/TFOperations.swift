import GraftModel
import GraftSupport

/// The TensorFlow functions that Keras 2 (tf.keras, tf_keras) records as `TFOpLambda` and
/// `SlicingOpLambda` layers, and how each becomes graft ops.
///
/// A Keras 2 functional model that calls a raw TensorFlow function on a symbolic tensor
/// (`x + 3.0`, `tf.nn.relu6(x)`, `x[:, 1:]`) saves it as a layer whose config `function` names
/// the function without its `tf.` prefix (`__operators__.add`, `nn.relu6`,
/// `__operators__.getitem`). Its call keeps the first argument positional (a tensor, a list of
/// tensors for `concat`, or `_CONSTANT_VALUE` for `2.0 - x`) and every other argument in a
/// keyword object, where a tensor is a reference `["layer", node, tensor]`.
///
/// Every function maps onto existing graft ops; what the op vocabulary cannot express exactly
/// (division by a tensor, a resize by a non-integer factor, a strided slice, anything that moves
/// or merges the batch axis) is refused with the reason.
enum TFFunction: Sendable, Equatable {
    /// `x ∘ y` with tensors, scalars or constant arrays on either side.
    case arithmetic(Arithmetic)
    /// An element-wise function without parameters from the call.
    case activation(Activation)
    /// `tf.nn.gelu(x, approximate=False)`.
    case gelu
    /// `tf.nn.silu(x, beta=1.0)` / `tf.nn.swish`.
    case swish
    /// `tf.nn.leaky_relu(x, alpha=0.2)`.
    case leakyReLU
    case softmax
    case reshape, transpose, concat, expandDimensions, squeeze
    case reduction(Reduction)
    case biasAdd
    case resize
    /// `SlicingOpLambda`: `x[…]` with constant bounds.
    case slice

    enum Arithmetic: String, Sendable { case add, subtract, multiply, divide, maximum, minimum }
    enum Reduction: String, Sendable { case mean, maximum, sum }

    /// The functions graft converts, by the name in the layer's config. A new function (or a
    /// new alias of a known one) is one entry here.
    static let table: [String: TFFunction] = [
        "__operators__.add": .arithmetic(.add), "math.add": .arithmetic(.add), "add": .arithmetic(.add),
        "__operators__.sub": .arithmetic(.subtract), "math.subtract": .arithmetic(.subtract), "subtract": .arithmetic(.subtract),
        "math.multiply": .arithmetic(.multiply), "__operators__.mul": .arithmetic(.multiply), "multiply": .arithmetic(.multiply),
        "math.truediv": .arithmetic(.divide), "__operators__.truediv": .arithmetic(.divide), "math.divide": .arithmetic(.divide),
        "truediv": .arithmetic(.divide), "divide": .arithmetic(.divide),
        "math.maximum": .arithmetic(.maximum), "maximum": .arithmetic(.maximum),
        "math.minimum": .arithmetic(.minimum), "minimum": .arithmetic(.minimum),
        "nn.relu": .activation(.rectifier), "nn.relu6": .activation(.relu6),
        "math.sigmoid": .activation(.sigmoid), "nn.sigmoid": .activation(.sigmoid), "sigmoid": .activation(.sigmoid),
        "math.tanh": .activation(.tanh), "nn.tanh": .activation(.tanh), "tanh": .activation(.tanh),
        "nn.elu": .activation(.elu()), "nn.selu": .activation(.selu),
        "math.softplus": .activation(.softplus), "nn.softplus": .activation(.softplus),
        "nn.softsign": .activation(.softsign), "math.softsign": .activation(.softsign),
        "math.abs": .activation(.abs), "abs": .activation(.abs), "math.exp": .activation(.exponential), "exp": .activation(.exponential),
        "nn.silu": .swish, "nn.swish": .swish, "nn.gelu": .gelu, "nn.leaky_relu": .leakyReLU,
        "nn.softmax": .softmax, "math.softmax": .softmax,
        "reshape": .reshape,
        "transpose": .transpose, "compat.v1.transpose": .transpose,
        "concat": .concat,
        "expand_dims": .expandDimensions, "compat.v1.expand_dims": .expandDimensions,
        "squeeze": .squeeze, "compat.v1.squeeze": .squeeze,
        "math.reduce_mean": .reduction(.mean), "reduce_mean": .reduction(.mean),
        "math.reduce_max": .reduction(.maximum), "reduce_max": .reduction(.maximum),
        "math.reduce_sum": .reduction(.sum), "reduce_sum": .reduction(.sum),
        "nn.bias_add": .biasAdd,
        "image.resize": .resize,
        "__operators__.getitem": .slice,
    ]
}

/// One call of a `TFOpLambda` / `SlicingOpLambda` as written in the configuration: what the
/// checks before conversion read.
struct TFArguments {
    var positional: [CallArgument]
    var keywords: [String: JSONValue]

    /// A keyword argument, `nil` when absent or null.
    func keyword(_ key: String) -> JSONValue? {
        guard let value = keywords[key], value != .null else { return nil }
        return value
    }

    func isTensor(_ key: String) -> Bool {
        keyword(key).flatMap(ModelConfigurationParser.tensorReference) != nil
    }

    var firstIsTensor: Bool {
        if case .tensor = positional.first { true } else { false }
    }

    /// `axis` as a list of integers (one integer or a list), `nil` when absent.
    func axes(_ key: String) -> [Int]? {
        guard let value = keyword(key) else { return nil }
        if let single = value.integerValue { return [single] }
        return value.integerArray
    }
}

/// A constant array from a call (`y: [1.0, 2.0]`, `bias: [...]`): its values in row-major order
/// and its numpy shape.
struct TFConstant {
    var values: [Double]
    var shape: [Int]

    init(values: [Double], shape: [Int]) {
        self.values = values
        self.shape = shape
    }

    /// Reads a number or a regular nested list of numbers; `nil` for anything else. At most
    /// `limit` values are read, so a file cannot make graft build an array it merely claims.
    init?(_ value: JSONValue, limit: Int = 1 << 24) {
        if let number = value.doubleValue, value.boolValue == nil {
            values = [number]
            shape = []
            return
        }
        guard let elements = value.arrayValue, !elements.isEmpty else { return nil }
        var values: [Double] = []
        var shape: [Int]?
        for element in elements {
            guard let inner = TFConstant(element, limit: limit - values.count) else { return nil }
            if shape == nil { shape = inner.shape }
            guard inner.shape == shape, values.count + inner.values.count <= limit else { return nil }
            values += inner.values
        }
        self.values = values
        self.shape = [elements.count] + (shape ?? [])
    }
}

enum TFOperations {
    /// The function a `TFOpLambda` / `SlicingOpLambda` layer calls (its config `function`).
    static func functionName(of layer: LayerSpecification) -> String {
        layer.config["function"]?.stringValue ?? "?"
    }

    /// The layer as an entry of the unsupported-layer list, or `nil` when every call of it can
    /// be converted as far as its configuration tells (shapes are checked at conversion).
    static func unsupported(_ layer: LayerSpecification, name: String) -> UnsupportedLayer? {
        let function = functionName(of: layer)
        let kind = "\(layer.className) tf.\(function)"
        guard let entry = TFFunction.table[function], (entry == .slice) == (layer.className == "SlicingOpLambda") else {
            return UnsupportedLayer(name: name, kind: kind)
        }
        for index in layer.calls.indices {
            let arguments = TFArguments(positional: layer.calls[index], keywords: layer.keywordArguments[index] ?? [:])
            if let reason = refusal(entry, arguments) { return UnsupportedLayer(name: name, kind: kind, reason: reason) }
        }
        return nil
    }

    /// Why a call cannot be converted, judged from its arguments alone.
    static func refusal(_ function: TFFunction, _ arguments: TFArguments) -> String? {
        let tensors = arguments.positional.filter { if case .tensor = $0 { true } else { false } }.count
        if case let .arithmetic(operation) = function {
            guard arguments.positional.count == 1 else { return "takes \(arguments.positional.count) positional arguments, expected 1" }
            guard let y = arguments.keyword("y") else { return "has no second operand 'y'" }
            let yIsTensor = arguments.isTensor("y")
            guard yIsTensor || TFConstant(y) != nil else { return "has an operand 'y' that is neither a tensor nor numbers" }
            guard arguments.firstIsTensor || yIsTensor else { return "has no tensor operand" }
            if case let .constantArray(value) = arguments.positional[0] {
                guard let first = TFConstant(value) else { return "has a constant first argument that is not numbers" }
                if operation == .maximum || operation == .minimum, first.values.count != 1 { return "compares with a constant array" }
            }
            switch operation {
            case .divide where yIsTensor && !arguments.firstIsTensor: return "divides a constant by a tensor"
            case .maximum, .minimum: if !yIsTensor, TFConstant(y)?.values.count != 1 { return "compares with a constant array" }
            default: break
            }
            return nil
        }
        if function == .concat {
            guard tensors == arguments.positional.count, tensors >= 1 else { return "concatenates constants" }
            guard let axis = arguments.keyword("axis")?.integerValue else { return "has no constant integer 'axis'" }
            return axis == 0 ? "concatenates along the batch axis" : nil
        }
        guard arguments.positional.count == 1, tensors == 1 else { return "does not take one tensor as its first argument" }
        switch function {
        case .arithmetic, .concat: return nil
        case .activation, .leakyReLU:
            return arguments.keyword("alpha").map { $0.doubleValue == nil ? "has a non-numeric 'alpha'" : nil } ?? nil
        case .swish:
            if let beta = arguments.keyword("beta"), beta.doubleValue != 1 { return "has beta \(quoted(beta.description)), not 1" }
            return nil
        case .gelu:
            if let approximate = arguments.keyword("approximate"), approximate.boolValue == nil { return "has a non-boolean 'approximate'" }
            return nil
        case .softmax:
            if let axis = arguments.keyword("axis") {
                guard let axes = arguments.axes("axis"), axes.count == 1 else { return "has axis \(quoted(axis.description)), expected one integer" }
                if axes[0] == 0 { return "normalises over the batch axis" }
            }
            return nil
        case .reshape:
            guard let shape = arguments.keyword("shape")?.integerArray, !shape.isEmpty else { return "has no constant integer 'shape'" }
            guard shape[0] == -1 else { return "fixes the batch axis (shape \(shape) does not start with -1)" }
            guard shape.dropFirst().allSatisfy({ $0 >= 1 && $0 <= ModelConfigurationParser.maximumDimension }) else {
                return "has shape \(quoted(shape.description)): only the batch axis may be -1, others from 1 to \(ModelConfigurationParser.maximumDimension)"
            }
            return nil
        case .transpose:
            guard let permutation = arguments.keyword("perm")?.integerArray else { return "has no constant 'perm' (the default reverses the batch axis)" }
            guard permutation.first == 0, permutation.sorted() == Array(0..<permutation.count) else { return "has perm \(permutation), which moves the batch axis" }
            return nil
        case .expandDimensions:
            guard let axis = arguments.keyword("axis")?.integerValue else { return "has no constant integer 'axis'" }
            return axis == 0 ? "inserts an axis before the batch axis" : nil
        case .squeeze:
            guard let axes = arguments.axes("axis") ?? arguments.axes("squeeze_dims") else {
                return arguments.keyword("axis") == nil && arguments.keyword("squeeze_dims") == nil ? nil : "has axes that are not integers"
            }
            return axes.contains(0) ? "removes the batch axis" : nil
        case .reduction:
            guard let axes = arguments.axes("axis") else { return "reduces every axis, the batch axis included" }
            if axes.contains(0) { return "reduces the batch axis" }
            if let keep = arguments.keyword("keepdims"), keep.boolValue == nil { return "has a non-boolean 'keepdims'" }
            return nil
        case .biasAdd:
            guard let bias = arguments.keyword("bias") else { return "has no bias" }
            guard let constant = TFConstant(bias), constant.shape.count == 1 else {
                return arguments.isTensor("bias") ? "adds a bias that is a tensor (graft takes constant biases)" : "has a bias that is not a list of numbers"
            }
            let format = arguments.keyword("data_format")?.stringValue ?? "NHWC"
            return ["NHWC", "N..C", "NCHW", "NC..", "NWC", "NCW"].contains(format) ? nil : "has data_format \(quoted(format))"
        case .resize:
            guard let size = arguments.keyword("size")?.integerArray, size.count == 2,
                  size.allSatisfy({ $0 >= 1 && $0 <= ModelConfigurationParser.maximumDimension }) else {
                return "has no constant 'size' [height, width]"
            }
            let method = arguments.keyword("method")?.stringValue ?? "bilinear"
            guard method == "bilinear" || method == "nearest" else { return "uses method \(quoted(method)) (graft resizes with nearest and bilinear)" }
            if arguments.keyword("preserve_aspect_ratio")?.boolValue == true { return "preserves the aspect ratio" }
            if arguments.keyword("antialias")?.boolValue == true { return "antialiases" }
            return nil
        case .slice:
            switch sliceSpecification(arguments.keyword("slice_spec")) {
            case .success: return nil
            case let .failure(problem): return problem.reason
            }
        }
    }

    /// One entry of a slice specification.
    enum SliceEntry: Equatable {
        case range(start: Int?, stop: Int?)
        case index(Int)
        case ellipsis
    }

    struct SliceProblem: Error { var reason: String }

    /// `slice_spec`: a list (or one entry) of `{"start", "stop", "step"}`, integers and
    /// `{"class_name": "__ellipsis__"}`.
    static func sliceSpecification(_ value: JSONValue?) -> Result<[SliceEntry], SliceProblem> {
        guard let value else { return .failure(SliceProblem(reason: "has no slice_spec")) }
        let items = value.arrayValue ?? [value]
        var entries: [SliceEntry] = []
        for item in items {
            if let index = item.integerValue, item.boolValue == nil {
                entries.append(.index(index))
            } else if let members = item.objectValue, members["class_name"]?.stringValue == "__ellipsis__" {
                entries.append(.ellipsis)
            } else if let members = item.objectValue, members.keys.allSatisfy({ ["start", "stop", "step"].contains($0) }) {
                func bound(_ key: String) -> (ok: Bool, value: Int?) {
                    guard let entry = members[key], entry != .null else { return (true, nil) }
                    return entry.integerValue.map { (true, $0) } ?? (false, nil)
                }
                let start = bound("start"), stop = bound("stop"), step = bound("step")
                guard start.ok, stop.ok, step.ok else { return .failure(SliceProblem(reason: "slices with bounds that are not constant integers")) }
                guard step.value == nil || step.value == 1 else { return .failure(SliceProblem(reason: "slices with step \(step.value!)")) }
                entries.append(.range(start: start.value, stop: stop.value))
            } else if item == .null {
                return .failure(SliceProblem(reason: "inserts a new axis (None in a slice)"))
            } else {
                return .failure(SliceProblem(reason: "has a slice entry graft cannot read (\(quoted(item.description, limit: 40)))"))
            }
        }
        guard entries.filter({ $0 == .ellipsis }).count <= 1 else { return .failure(SliceProblem(reason: "has two ellipses")) }
        if let first = entries.first, first != .ellipsis, first != .range(start: nil, stop: nil), first != .range(start: 0, stop: nil) {
            return .failure(SliceProblem(reason: "slices the batch axis"))
        }
        return .success(entries)
    }
}

extension GraphBuilder {
    /// Converts a `TFOpLambda` or `SlicingOpLambda` call.
    func convertTFOperation(_ call: LayerCall) throws -> Value {
        let function = TFOperations.functionName(of: call.layer)
        let arguments = TFArguments(positional: call.arguments, keywords: call.keywords)
        guard let entry = TFFunction.table[function] else {
            throw KerasImportError.unsupportedLayers(path: path, layers: [UnsupportedLayer(name: call.nodeName, kind: "\(call.className) tf.\(function)")])
        }
        if let reason = TFOperations.refusal(entry, arguments) { throw unsupported(call, reason) }
        switch entry {
        case let .arithmetic(operation): return try convertTFArithmetic(call, operation, arguments)
        case let .activation(activation): return try emitActivation(call.nodeName, input: try single(call), activation)
        case .gelu:
            let approximate = arguments.keyword("approximate")?.boolValue ?? false
            return try emitActivation(call.nodeName, input: try single(call), .gelu(approximate: approximate))
        case .swish: return try emitActivation(call.nodeName, input: try single(call), .swish)
        case .leakyReLU:
            let alpha = arguments.keyword("alpha")?.doubleValue ?? 0.2
            return try emitActivation(call.nodeName, input: try single(call), .leakyReLU(alpha: alpha))
        case .softmax:
            let input = try single(call)
            let axis = try tfAxis(arguments.axes("axis")?.first ?? -1, rank: input.rank, call)
            return try emit(call.nodeName, .softmax(axis: axis), [input], shape: input.shape, layout: input.layout)
        case .reshape:
            let target = Array(arguments.keyword("shape")!.integerArray!.dropFirst())
            return try tfReshape(call.nodeName, try single(call), to: target.map { $0 }, call)
        case .transpose:
            let input = try single(call)
            let permutation = arguments.keyword("perm")!.integerArray!
            guard permutation.count == input.rank else { throw unsupported(call, "has perm \(permutation) for a value of rank \(input.rank)") }
            return try emit(call.nodeName, .transpose(permutation: permutation), [input], shape: permutation.map { input.shape[$0] },
                            layout: permutation == Array(0..<input.rank) ? input.layout : .plain)
        case .concat:
            let rank = call.inputs[0].rank
            return try convertConcatenate(call, axis: try tfAxis(arguments.keyword("axis")!.integerValue!, rank: rank, call))
        case .expandDimensions:
            let input = try single(call)
            let given = arguments.keyword("axis")!.integerValue!
            let axis = given < 0 ? given + input.rank + 1 : given
            guard axis >= 1, axis <= input.rank else { throw unsupported(call, "inserts axis \(given) into a value of rank \(input.rank)") }
            var shape = input.shape
            shape.insert(1, at: axis)
            return try tfReshape(call.nodeName, input, to: shape.dropFirst().map { $0 }, call)
        case .squeeze:
            let input = try single(call)
            let given = arguments.axes("axis") ?? arguments.axes("squeeze_dims")
            var removed: Set<Int> = []
            if let given {
                for axis in given {
                    let positive = try tfAxis(axis, rank: input.rank, call)
                    guard input.shape[positive] == 1 else { throw unsupported(call, "squeezes axis \(axis) of size \(input.shape[positive].map(String.init) ?? "?"), not 1") }
                    removed.insert(positive)
                }
            } else {
                removed = Set((1..<input.rank).filter { input.shape[$0] == 1 })
            }
            let shape = input.shape.indices.filter { $0 != 0 && !removed.contains($0) }.map { input.shape[$0] }
            return try tfReshape(call.nodeName, input, to: shape, call)
        case let .reduction(kind): return try convertTFReduction(call, kind, arguments)
        case .biasAdd:
            let input = try single(call)
            let bias = TFConstant(arguments.keyword("bias")!)!
            let format = arguments.keyword("data_format")?.stringValue ?? "NHWC"
            let axis = format.hasPrefix("NC") ? 1 : input.rank - 1
            guard input.rank >= 2, input.shape[axis] == bias.values.count else {
                throw unsupported(call, "adds a bias of \(bias.values.count) values to axis \(axis) of a value of shape \(describe(input.shape))")
            }
            return try emitScale(call, input, axis: axis, axisCount: 1, shape: [bias.values.count], scale: nil, bias: bias.values)
        case .resize: return try convertTFResize(call, arguments)
        case .slice: return try convertTFSlice(call, arguments)
        }
    }

    /// A TensorFlow axis (negative counts from the end) as a position; the batch axis refused.
    func tfAxis(_ axis: Int, rank: Int, _ call: LayerCall) throws -> Int {
        let positive = axis < 0 ? axis + rank : axis
        guard positive >= 1, positive < rank else {
            throw unsupported(call, positive == 0 ? "works on the batch axis (axis \(axis))" : "uses axis \(axis) of a value of rank \(rank)")
        }
        return positive
    }

    /// The product of sizes, `nil` when one is unknown; a product past 2^62 is refused rather
    /// than allowed to overflow.
    func tfProduct(_ sizes: some Sequence<Int?>, _ call: LayerCall) throws -> Int? {
        var result = 1
        for size in sizes {
            guard let size else { return nil }
            let (product, overflow) = result.multipliedReportingOverflow(by: size)
            guard !overflow, product <= 1 << 62 else { throw unsupported(call, "has sizes whose product is too large") }
            result = product
        }
        return result
    }

    /// A Reshape to `target` (without the batch axis, `nil` for sizes not known here): known
    /// sizes are written out and at most one unknown one becomes -1.
    func tfReshape(_ name: String, _ input: Value, to target: [Int?], _ call: LayerCall) throws -> Value {
        var resolved = target
        let total = try tfProduct(input.shape.dropFirst(), call)
        if let unknown = target.firstIndex(where: { $0 == nil || $0 == -1 }) {
            guard target.filter({ $0 == nil || $0 == -1 }).count == 1 else {
                throw unsupported(call, "reshapes \(describe(input.shape)) with more than one size unknown")
            }
            let known = try tfProduct(target.filter { $0 != nil && $0 != -1 }, call) ?? 1
            resolved[unknown] = total.flatMap { known > 0 && $0 % known == 0 ? $0 / known : nil }
        } else if let total, total != (try tfProduct(target, call)) {
            throw unsupported(call, "reshapes \(describe(input.shape)) to \(describe([nil] + target))")
        }
        let attribute = target.map { $0 == nil || $0 == -1 ? -1 : $0! }
        let rank = target.count + 1
        let layout = input.rank == rank ? input.layout : defaultLayout(rank: rank)
        return try emit(name, .reshape(shape: attribute), [input], shape: [nil] + resolved.map { $0 == -1 ? nil : $0 }, layout: layout)
    }

    /// A Scale node with constant weights, named like the layer call.
    func emitScale(_ call: LayerCall, _ input: Value, axis: Int, axisCount: Int, shape: [Int], scale: [Double]?, bias: [Double]?,
                   name: String? = nil) throws -> Value {
        var weights: [String: String] = [:]
        if let scale { weights["scale"] = addTensor(of: call, role: "scale", shape: shape, values: scale.map { Float($0) }) }
        if let bias { weights["bias"] = addTensor(of: call, role: "bias", shape: shape, values: bias.map { Float($0) }) }
        return try emit(name ?? call.nodeName, .scale(.init(axis: axis, axisCount: axisCount)), [input], shape: input.shape,
                        layout: input.layout, weights: weights)
    }

    // MARK: Arithmetic

    func convertTFArithmetic(_ call: LayerCall, _ operation: TFFunction.Arithmetic, _ arguments: TFArguments) throws -> Value {
        let first: Value? = arguments.firstIsTensor ? call.inputs.first : nil
        let second: Value? = call.keywordInputs["y"]
        if let first, let second {
            var merged = call
            merged.inputs = [first, second]
            switch operation {
            case .add: return try convertMerge(merged, .add())
            case .subtract: return try convertMerge(merged, .subtract)
            case .multiply: return try convertMerge(merged, .multiply)
            case .maximum: return try convertMerge(merged, .maximum)
            case .minimum: return try convertMerge(merged, .minimum)
            case .divide: return try convertMerge(merged, .divide)
            }
        }
        // One tensor and one constant.
        let tensor = first ?? second!
        let constantFirst = first == nil
        let constant: TFConstant
        if constantFirst {
            switch call.arguments.first {
            case let .constant(value)?: constant = TFConstant(values: [value], shape: [])
            case let .constantArray(value)?:
                guard let array = TFConstant(value) else { throw unsupported(call, "has a constant first argument that is not numbers") }
                constant = array
            default: throw unsupported(call, "has no tensor operand")
            }
        } else {
            constant = TFConstant(arguments.keyword("y")!)!
        }
        if constant.values.count == 1, constant.shape.count < tensor.rank {
            return try tfScalarArithmetic(call, operation, tensor, constant.values[0], constantFirst: constantFirst)
        }
        // A constant array covering the trailing axes of the tensor exactly: a Scale.
        let count = constant.shape.count
        let trailing = Array(tensor.shape.suffix(count))
        guard count >= 1, count < tensor.rank, trailing == constant.shape.map({ Optional($0) }) else {
            throw unsupported(call, "combines a value of shape \(describe(tensor.shape)) with a constant of shape \(constant.shape); graft takes constants shaped like the trailing axes")
        }
        let axis = tensor.rank - count
        switch operation {
        case .add: return try emitScale(call, tensor, axis: axis, axisCount: count, shape: constant.shape, scale: nil, bias: constant.values)
        case .subtract:
            if constantFirst {
                return try emitScale(call, tensor, axis: axis, axisCount: count, shape: constant.shape,
                                     scale: Array(repeating: -1, count: constant.values.count), bias: constant.values)
            }
            return try emitScale(call, tensor, axis: axis, axisCount: count, shape: constant.shape, scale: nil, bias: constant.values.map { -$0 })
        case .multiply: return try emitScale(call, tensor, axis: axis, axisCount: count, shape: constant.shape, scale: constant.values, bias: nil)
        case .divide:
            guard !constantFirst, !constant.values.contains(0) else { throw unsupported(call, "divides by zero or divides a constant by a tensor") }
            return try emitScale(call, tensor, axis: axis, axisCount: count, shape: constant.shape, scale: constant.values.map { 1 / $0 }, bias: nil)
        case .maximum, .minimum: throw unsupported(call, "compares with a constant array")
        }
    }

    /// `x ∘ c` or `c ∘ x` with a scalar `c`: a Rescaling, or for maximum and minimum a rectifier
    /// between two Rescalings (`max(x, c) = relu(x − c) + c`, `min(x, c) = c − relu(c − x)`; a
    /// single ReLU when `c` is 0).
    func tfScalarArithmetic(_ call: LayerCall, _ operation: TFFunction.Arithmetic, _ tensor: Value, _ constant: Double,
                            constantFirst: Bool) throws -> Value {
        func rescale(_ name: String, _ input: Value, scale: Double, offset: Double) throws -> Value {
            try emit(name, .rescaling(.init(scale: scale, offset: offset)), [input], shape: input.shape, layout: input.layout)
        }
        switch operation {
        case .add: return try rescale(call.nodeName, tensor, scale: 1, offset: constant)
        case .subtract:
            return try constantFirst ? rescale(call.nodeName, tensor, scale: -1, offset: constant) : rescale(call.nodeName, tensor, scale: 1, offset: -constant)
        case .multiply: return try rescale(call.nodeName, tensor, scale: constant, offset: 0)
        case .divide:
            guard !constantFirst else { throw unsupported(call, "divides a constant by a tensor") }
            guard constant != 0 else { throw unsupported(call, "divides by zero") }
            return try rescale(call.nodeName, tensor, scale: 1 / constant, offset: 0)
        case .maximum:
            if constant == 0 { return try emitActivation(call.nodeName, input: tensor, .rectifier) }
            let shifted = try rescale(call.nodeName + "/shift", tensor, scale: 1, offset: -constant)
            let rectified = try emitActivation(call.nodeName + "/relu", input: shifted, .rectifier)
            return try rescale(call.nodeName, rectified, scale: 1, offset: constant)
        case .minimum:
            let reflected = try rescale(call.nodeName + "/reflect", tensor, scale: -1, offset: constant)
            let rectified = try emitActivation(call.nodeName + "/relu", input: reflected, .rectifier)
            return try rescale(call.nodeName, rectified, scale: -1, offset: constant)
        }
    }

    // MARK: Reductions

    /// reduce_mean / reduce_max / reduce_sum over constant axes. The spatial axes of an image or
    /// signal are a global pooling; other axes are moved last (Transpose), gathered into one
    /// (Reshape to [N, kept, reduced]) and pooled as an NCW signal, then given the kept shape
    /// back. A sum is the mean times the number of values.
    func convertTFReduction(_ call: LayerCall, _ kind: TFFunction.Reduction, _ arguments: TFArguments) throws -> Value {
        let input = try single(call)
        let rank = input.rank
        let axes = Set(try arguments.axes("axis")!.map { try tfAxis($0, rank: rank, call) })
        let keeps = arguments.keyword("keepdims")?.boolValue ?? false
        func pooling(_ attributes: Operation.GlobalPooling) -> Operation {
            kind == .maximum ? .globalMaxPooling(attributes) : .globalAveragePooling(attributes)
        }
        let kept = (1..<rank).filter { !axes.contains($0) }
        var outputShape: [Int?] = [nil]
        for axis in 1..<rank {
            if !axes.contains(axis) { outputShape.append(input.shape[axis]) } else if keeps { outputShape.append(1) }
        }
        let count = try tfProduct(axes.map { input.shape[$0] }, call)
        if kind == .sum, count == nil { throw unsupported(call, "sums over axes of unknown size") }
        let finalName = call.nodeName
        let poolName = kind == .sum ? finalName + "/mean" : finalName

        // Spatial axes of a 4-D or 3-D layout: one global pooling.
        let spatial: Set<Int>? = switch input.layout {
        case .nhwc: [1, 2]
        case .nchw: [2, 3]
        case .nwc: [1]
        case .ncw: [2]
        case .plain: nil
        }
        var pooled: Value
        if let spatial, axes == spatial {
            let layout: Layout = keeps ? input.layout : .plain
            pooled = try emit(poolName, pooling(.init(layout: input.layout, keepsDimensions: keeps)), [input], shape: outputShape, layout: layout)
        } else {
            var value = input
            let permutation = [0] + kept + axes.sorted()
            if permutation != Array(0..<rank) {
                value = try emit(finalName + "/move", .transpose(permutation: permutation), [value], shape: permutation.map { input.shape[$0] },
                                 layout: .plain)
            }
            let keptSize = try tfProduct(kept.map { input.shape[$0] }, call)
            guard keptSize != nil || count != nil else { throw unsupported(call, "reduces a value of shape \(describe(input.shape)) with unknown sizes") }
            value = try emit(finalName + "/gather", .reshape(shape: [keptSize ?? -1, count ?? -1]), [value], shape: [nil, keptSize, count], layout: .ncw)
            let flatShape: [Int?] = [nil, keptSize]
            let needsReshape = outputShape.count != 2
            pooled = try emit(needsReshape ? finalName + "/pool" : poolName, pooling(.init(layout: .ncw)), [value], shape: flatShape, layout: .plain)
            if needsReshape {
                let target = Array(outputShape.dropFirst())
                if kind == .sum {
                    pooled = try emit(finalName + "/mean", .reshape(shape: target.map { $0 ?? -1 }), [pooled], shape: outputShape,
                                      layout: defaultLayout(rank: outputShape.count))
                } else {
                    return try tfReshape(finalName, pooled, to: target, call)
                }
            }
        }
        guard kind == .sum, let count else { return pooled }
        return try emit(finalName, .rescaling(.init(scale: Double(count), offset: 0)), [pooled], shape: pooled.shape, layout: pooled.layout)
    }

    // MARK: Resize and slices

    /// tf.image.resize to an integer multiple of the input size: UpSampling2D, whose nearest and
    /// bilinear (half-pixel centres, edges clamped) are TensorFlow 2's rules for an integer
    /// factor. The same size is an identity.
    func convertTFResize(_ call: LayerCall, _ arguments: TFArguments) throws -> Value {
        let input = try single(call)
        // TensorFlow reads any rank-4 value as NHWC; a value graft knows as NCHW is refused.
        guard input.rank == 4, input.layout != .nchw else { throw unsupported(call, "resizes a value that is not an NHWC image") }
        let size = arguments.keyword("size")!.integerArray!
        guard let height = input.shape[1], let width = input.shape[2] else { throw unsupported(call, "resizes an image of unknown size") }
        guard size[0] % height == 0, size[1] % width == 0 else {
            throw unsupported(call, "resizes \(height)×\(width) to \(size[0])×\(size[1]), not an integer multiple")
        }
        let factor = Pair(size[0] / height, size[1] / width)
        let shape: [Int?] = [nil, size[0], size[1], input.shape[3]]
        if factor == Pair(1, 1) { return try emit(call.nodeName, .identity, [input], shape: shape, layout: input.layout) }
        let method = arguments.keyword("method")?.stringValue ?? "bilinear"
        let interpolation: Operation.UpSampling.Interpolation = method == "nearest" ? .nearest : .bilinear
        return try emit(call.nodeName, .upSampling2D(.init(layout: .nhwc, size: factor, interpolation: interpolation)), [input],
                        shape: shape, layout: input.layout)
    }

    /// `x[…]` with constant bounds and step 1: a Slice per axis that changes (keeping its middle
    /// piece), then a Reshape dropping the axes given by an integer index.
    func convertTFSlice(_ call: LayerCall, _ arguments: TFArguments) throws -> Value {
        var value = try single(call)
        guard case let .success(entries) = TFOperations.sliceSpecification(arguments.keyword("slice_spec")) else {
            throw unsupported(call, "has a slice graft cannot read")
        }
        let rank = value.rank
        let explicit = entries.filter { $0 != .ellipsis }
        guard explicit.count <= rank else { throw unsupported(call, "indexes \(explicit.count) axes of a value of rank \(rank)") }
        var perAxis: [TFOperations.SliceEntry] = []
        if let ellipsis = entries.firstIndex(of: .ellipsis) {
            perAxis = Array(entries[..<ellipsis]) + Array(repeating: .range(start: nil, stop: nil), count: rank - explicit.count)
                + Array(entries[(ellipsis + 1)...])
        } else {
            perAxis = entries + Array(repeating: .range(start: nil, stop: nil), count: rank - entries.count)
        }
        var steps: [(axis: Int, start: Int, stop: Int)] = []
        var dropped: [Int] = []
        for (axis, entry) in perAxis.enumerated() {
            let size = value.shape[axis]
            var start: Int, stop: Int
            switch entry {
            case .ellipsis: continue
            case let .index(index):
                guard axis != 0 else { throw unsupported(call, "indexes the batch axis") }
                guard let size else { throw unsupported(call, "indexes axis \(axis) of unknown size") }
                start = index < 0 ? index + size : index
                guard start >= 0, start < size else { throw unsupported(call, "indexes \(index) on axis \(axis) of size \(size)") }
                stop = start + 1
                dropped.append(axis)
            case let .range(given, end):
                if given == nil || given == 0, end == nil { continue }
                guard axis != 0 else { throw unsupported(call, "slices the batch axis") }
                guard let size else { throw unsupported(call, "slices axis \(axis) of unknown size") }
                // Python's rules: negative bounds count from the end, then both are clamped.
                func clamp(_ bound: Int) -> Int { min(max(bound < 0 ? bound + size : bound, 0), size) }
                start = clamp(given ?? 0)
                stop = clamp(end ?? size)
                guard stop > start else { throw unsupported(call, "leaves nothing of axis \(axis) (size \(size))") }
            }
            if start == 0, stop == value.shape[axis] { continue }
            steps.append((axis, start, stop))
        }
        if steps.isEmpty, dropped.isEmpty {
            return try emit(call.nodeName, .identity, [value], shape: value.shape, layout: value.layout)
        }
        for (index, step) in steps.enumerated() {
            let size = value.shape[step.axis]!
            var points: [Int] = []
            if step.start > 0 { points.append(step.start) }
            if step.stop < size { points.append(step.stop) }
            let bounds = [0] + points + [size]
            let pieces = zip(bounds, bounds.dropFirst()).map { lower, upper -> [Int?] in
                var shape = value.shape
                shape[step.axis] = upper - lower
                return shape
            }
            let isLast = index == steps.count - 1 && dropped.isEmpty
            value = try emit(isLast ? call.nodeName : call.nodeName + "/axis\(step.axis)", .slice(axis: step.axis, slicePoints: points), [value],
                             pieceShapes: pieces, kept: step.start > 0 ? 1 : 0, layout: value.layout)
        }
        guard !dropped.isEmpty else { return value }
        let target = (1..<rank).filter { !dropped.contains($0) }.map { value.shape[$0] }
        return try tfReshape(call.nodeName, value, to: target, call)
    }
}
