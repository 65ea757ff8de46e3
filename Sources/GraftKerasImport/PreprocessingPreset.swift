import GraftModel
/// Recognises keras.applications architectures by model name and records the input
/// preprocessing their `preprocess_input` applies.
///
/// Presets: `keras-caffe` (BGR, ImageNet mean subtracted: VGG, ResNet v1), `keras-tf` (scaled to
/// [−1, 1]: Inception, Xception, MobileNet v1/v2, NASNet, ResNet v2), `keras-torch` (scaled to
/// [0, 1], ImageNet mean and deviation: DenseNet), and `none` for models that rescale their own
/// input with Rescaling/Normalization layers (EfficientNet, EfficientNetV2, ConvNeXt,
/// MobileNetV3). The top model's name is tried first, then nested models' names, so a
/// transfer-learning Sequential around a keras.applications trunk is recognised too.
enum PreprocessingPreset {
    static func detect(in model: ModelSpecification) -> [String: JSONValue] {
        var names: [String] = []
        func collect(_ model: ModelSpecification) {
            names.append(model.name)
            for layer in model.layers { if let nested = layer.nestedModel { collect(nested) } }
        }
        collect(model)
        for name in names {
            if let preset = preset(forModelNamed: name) { return preset }
        }
        return [:]
    }

    static func preset(forModelNamed name: String) -> [String: JSONValue]? {
        let lower = name.lowercased()
        func starts(_ prefixes: String...) -> Bool { prefixes.contains { lower.hasPrefix($0) } }
        if starts("efficientnet", "convnext", "mobilenetv3") {
            return ["preset": "none", "note": "the model scales its own input with Rescaling/Normalization layers; feed RGB values in [0, 255]"]
        }
        if starts("densenet") { return ["preset": "keras-torch"] }
        if starts("inception", "xception", "mobilenet", "nasnet") { return ["preset": "keras-tf"] }
        if starts("resnet"), lower.contains("v2") { return ["preset": "keras-tf"] }
        if starts("vgg16", "vgg19", "resnet50", "resnet101", "resnet152") { return ["preset": "keras-caffe"] }
        return nil
    }
}
