/// The operations a graft graph is made of.
///
/// One vocabulary serves every source framework: the Keras and Caffe converters map their layers
/// onto these ops with explicit attributes (layout, padding per side, rounding, epsilon, fused
/// activation), so the runtime never needs to know where a model came from. Names follow Keras
/// where Keras has the concept. `schemas/graft-model.md` specifies every op's attributes, weights
/// and weight layouts; this enum is the list the reader accepts.
public enum Operator: String, Sendable, CaseIterable, Codable {
    // Linear layers with weights.
    case conv2D = "Conv2D"
    case depthwiseConv2D = "DepthwiseConv2D"
    case conv2DTranspose = "Conv2DTranspose"
    case dense = "Dense"

    // Normalisation.
    case batchNormalization = "BatchNormalization"
    case layerNormalization = "LayerNormalization"
    case scale = "Scale"
    case rescaling = "Rescaling"
    case localResponseNormalization = "LocalResponseNormalization"

    // Element-wise functions of one input.
    case activation = "Activation"
    case preLU = "PReLU"
    case softmax = "Softmax"
    case identity = "Identity"

    // Pooling.
    case maxPooling2D = "MaxPooling2D"
    case averagePooling2D = "AveragePooling2D"
    case globalAveragePooling = "GlobalAveragePooling"
    case globalMaxPooling = "GlobalMaxPooling"

    // Shape and layout.
    case pad = "Pad"
    case crop = "Crop"
    case upSampling2D = "UpSampling2D"
    case flatten = "Flatten"
    case reshape = "Reshape"
    case transpose = "Transpose"
    case slice = "Slice"

    // Several inputs.
    case add = "Add"
    case subtract = "Subtract"
    case multiply = "Multiply"
    /// Elementwise quotient of two inputs (broadcasting as the other merges do), IEEE float division.
    case divide = "Divide"
    case average = "Average"
    case maximum = "Maximum"
    case minimum = "Minimum"
    case concatenate = "Concatenate"

    /// The weight roles an op may carry, in the order the spec lists them. Roles marked optional
    /// in the spec may be absent.
    public var weightRoles: [String] {
        switch self {
        case .conv2D, .depthwiseConv2D, .conv2DTranspose, .dense: ["kernel", "bias"]
        case .batchNormalization: ["gamma", "beta", "moving_mean", "moving_variance"]
        case .layerNormalization: ["gamma", "beta"]
        case .scale: ["scale", "bias"]
        case .preLU: ["alpha"]
        default: []
        }
    }
}

