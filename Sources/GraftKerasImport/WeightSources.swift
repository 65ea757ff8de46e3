import Foundation
import GraftModel
import GraftHDF5
/// Decodes JSON text into a `JSONValue`, accepting the `NaN` and `Infinity` tokens Python's
/// `json.dumps` writes.
enum JSONDecoderBox {
    static func decode(_ text: String) throws -> JSONValue {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        return try decoder.decode(JSONValue.self, from: Data(text.utf8))
    }
}

/// A weight array read from the source file: row-major float32 values and the stored shape.
struct StoredWeight {
    /// Where it is in the source file, for messages (`model_weights/conv1/conv1/kernel:0`).
    var location: String
    var shape: [Int]
    var values: [Float]
}

/// Finds a layer's weights in a source file.
///
/// `layerPath` names the layer from the top model down (`["trunk", "conv1"]` for layer `conv1`
/// of the nested model `trunk`); `classPath` gives the Keras classes along the same path, which
/// the `.keras` layout needs. `roles` are the weights the converter expects, in the order Keras 3
/// creates them: named sources (HDF5 files of Keras 1, 2 and 3's legacy format) match by name and
/// ignore the order, positional sources (Keras 3 variable stores) use only the order.
protocol WeightSource: AnyObject {
    func weights(layerPath: [String], classPath: [String], roles: [String]) throws -> [String: StoredWeight]
}

// MARK: - Legacy HDF5 (Keras 1, Keras 2 / tf.keras, Keras 3 `.h5`)

/// Weights stored the Keras 1/2 way: a group per top-level layer (under `model_weights` in a full
/// model file, at the root in a weights-only file) whose `weight_names` attribute lists dataset
/// paths relative to the group.
///
/// Names are matched by their last component with any `:N` suffix removed (`conv1/kernel:0`,
/// Keras 3's `conv1/kernel`), and Keras 1's flat names (`convolution2d_1_W`) by their suffix. A
/// nested model's group lists the weights of all its layers; the component before the role
/// names the inner layer.
final class LegacyWeightSource: WeightSource {
    let file: HDF5File
    let group: HDF5Group
    let path: String
    private var namesCache: [String: [String]] = [:]

    init(file: HDF5File, group: HDF5Group, path: String) {
        self.file = file
        self.group = group
        self.path = path
    }

    /// The top-level layer names the file lists, in order.
    func layerNames() throws -> [String] {
        try group.attributes.stringList("layer_names")
    }

    func weightNames(ofGroup name: String) throws -> [String] {
        if let cached = namesCache[name] { return cached }
        guard try group.contains(name) else { namesCache[name] = []; return [] }
        let layerGroup = try group.group(name)
        let attributes = layerGroup.attributes
        var names: [String] = []
        if try attributes.contains("weight_names") {
            // An empty list is stored by h5py as an empty float64 array.
            if try attributes.storedType(of: "weight_names").kind == .string {
                names = try attributes.strings("weight_names")
            }
        } else if try attributes.contains("weight_names0") {
            names = try attributes.stringList("weight_names")
        }
        namesCache[name] = names
        return names
    }

    func weights(layerPath: [String], classPath: [String], roles: [String]) throws -> [String: StoredWeight] {
        guard let top = layerPath.first else { return [:] }
        let names = try weightNames(ofGroup: top)
        var candidates: [(role: String, name: String)] = []
        let leaf = layerPath.last!
        for name in names {
            let components = name.split(separator: "/").map(String.init)
            guard let last = components.last else { continue }
            let stripped = stripIndexSuffix(last)
            if layerPath.count > 1 {
                // Inside a nested model: `<inner layer>/<role>` (possibly with scopes before).
                guard components.count >= 2, stripIndexSuffix(components[components.count - 2]) == leaf else {
                    // Keras 1 flat names inside a nested model: `<inner layer>_<role>`.
                    if components.count == 1, let role = flatRole(stripped, layer: leaf) { candidates.append((role, name)) }
                    continue
                }
                candidates.append((canonicalRole(stripped), name))
            } else if let role = flatRole(stripped, layer: leaf), components.count == 1 {
                candidates.append((role, name))
            } else {
                candidates.append((canonicalRole(stripped), name))
            }
        }
        // Keras 3 names a DepthwiseConv2D's kernel `kernel`, Keras 2 `depthwise_kernel`.
        if roles.contains("depthwise_kernel"), !roles.contains("kernel") {
            candidates = candidates.map { $0.role == "kernel" ? ("depthwise_kernel", $0.name) : $0 }
        }
        let layerGroup = try group.group(top)
        var result: [String: StoredWeight] = [:]
        for (role, name) in candidates where roles.contains(role) && result[role] == nil {
            // A name listed in weight_names whose dataset is gone is a missing weight.
            guard try layerGroup.contains(name) else { continue }
            let dataset = try layerGroup.dataset(name)
            result[role] = StoredWeight(location: dataset.path, shape: try dataset.shape, values: try dataset.read(as: Float.self))
        }
        // Names that match no role (e.g. `param_0`): fall back on Keras's own rule, the order.
        if result.count < candidates.count || (result.isEmpty && !candidates.isEmpty) {
            let unmatched = candidates.filter { !roles.contains($0.role) }
            if !unmatched.isEmpty && unmatched.count == candidates.count && candidates.count <= roles.count {
                for (index, candidate) in candidates.enumerated() where try layerGroup.contains(candidate.name) {
                    let dataset = try layerGroup.dataset(candidate.name)
                    result[roles[index]] = StoredWeight(location: dataset.path, shape: try dataset.shape,
                                                        values: try dataset.read(as: Float.self))
                }
            }
        }
        return result
    }

    private func stripIndexSuffix(_ name: String) -> String {
        if let colon = name.lastIndex(of: ":"), name[name.index(after: colon)...].allSatisfy(\.isNumber) {
            return String(name[..<colon])
        }
        return name
    }

    /// Keras 1 role names and their Keras 2 equivalents.
    static let aliases: [String: String] = [
        "W": "kernel", "b": "bias", "running_mean": "moving_mean", "running_std": "moving_variance",
        "alphas": "alpha", "depthwise_W": "depthwise_kernel", "pointwise_W": "pointwise_kernel",
    ]
    static let knownRoles = ["depthwise_kernel", "pointwise_kernel", "moving_variance", "moving_mean",
                             "running_mean", "running_std", "depthwise_W", "pointwise_W", "kernel", "bias",
                             "gamma", "beta", "alphas", "alpha", "variance", "mean", "count", "W", "b"]

    private func canonicalRole(_ name: String) -> String {
        Self.aliases[name] ?? name
    }

    /// The role of a Keras 1 flat name `<layer>_<role>`, or nil.
    private func flatRole(_ name: String, layer: String) -> String? {
        if name.hasPrefix(layer + "_") {
            let rest = String(name.dropFirst(layer.count + 1))
            if Self.knownRoles.contains(rest) { return canonicalRole(rest) }
        }
        if Self.knownRoles.contains(name) { return nil }
        for role in Self.knownRoles where name.hasSuffix("_" + role) {
            return canonicalRole(role)
        }
        return nil
    }
}

// MARK: - Keras 3 variable store (`model.weights.h5` inside `.keras`, `*.weights.h5`)

/// Weights stored the Keras 3 way: `layers/<folder>/vars/<i>`, where folders are named after the
/// layer's class in snake case with `_1`, `_2`, … for repeats, and nested models keep their own
/// `layers/` folder. Each `vars` group records the layer's name in its `name` attribute (Keras
/// 3.x); files without it are matched by reproducing Keras's folder naming.
final class VariableStoreWeightSource: WeightSource {
    let file: HDF5File
    let path: String
    /// The layer lists of the models, to reproduce folder names when `vars` has no `name`.
    let model: ModelSpecification
    private var folderIndex: [String: [String: String]] = [:]

    init(file: HDF5File, path: String, model: ModelSpecification) {
        self.file = file
        self.path = path
        self.model = model
    }

    func weights(layerPath: [String], classPath: [String], roles: [String]) throws -> [String: StoredWeight] {
        var groupPath = ""
        var models: [ModelSpecification] = [model]
        for (depth, name) in layerPath.enumerated() {
            let container = models.last!
            guard let folder = try folder(of: name, in: groupPath, model: container) else { return [:] }
            groupPath += "/layers/" + folder
            if depth < layerPath.count - 1 {
                guard let nested = container.layers.first(where: { $0.name == name })?.nestedModel else { return [:] }
                models.append(nested)
            }
        }
        let varsPath = groupPath + "/vars"
        guard try file.contains(varsPath) else { return [:] }
        var result: [String: StoredWeight] = [:]
        for (index, role) in roles.enumerated() {
            let datasetPath = varsPath + "/\(index)"
            guard try file.contains(datasetPath) else { continue }
            let dataset = try file.dataset(datasetPath)
            result[role] = StoredWeight(location: dataset.path, shape: try dataset.shape, values: try dataset.read(as: Float.self))
        }
        return result
    }

    /// The folder under `<groupPath>/layers` that holds layer `name`.
    private func folder(of name: String, in groupPath: String, model: ModelSpecification) throws -> String? {
        if let index = folderIndex[groupPath] { return index[name] }
        var index: [String: String] = [:]
        let layersPath = groupPath + "/layers"
        if try file.contains(layersPath) {
            for folder in try file.group(layersPath).memberNames() {
                let vars = layersPath + "/" + folder + "/vars"
                if try file.contains(vars), try file.group(vars).attributes.contains("name") {
                    index[try file.group(vars).attributes.string("name")] = folder
                }
            }
        }
        if index.isEmpty {
            // Keras's own naming: snake_case(class name), then `_1`, `_2`, … in layer order.
            // Sequential models do not list their InputLayer among their layers.
            var used: [String: Int] = [:]
            for layer in model.layers {
                if model.className == "Sequential" && layer.className == "InputLayer" { continue }
                let base = snakeCase(layer.nestedModel != nil && layer.className == "Model" ? "Functional" : layer.className)
                let count = used[base, default: 0]
                used[base] = count + 1
                index[layer.name] = count == 0 ? base : "\(base)_\(count)"
            }
        }
        folderIndex[groupPath] = index
        return index[name]
    }

    /// Keras's `to_snake_case`: `Conv2D` → `conv2d`, `BatchNormalization` → `batch_normalization`
    /// (an underscore before each capitalised word and between a lowercase and an uppercase letter).
    func snakeCase(_ name: String) -> String {
        var text = name
        for (pattern, template) in [("(.)([A-Z][a-z]+)", "$1_$2"), ("([a-z])([A-Z])", "$1_$2")] {
            guard let expression = try? NSRegularExpression(pattern: pattern) else { continue }
            text = expression.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
        }
        return text.lowercased()
    }
}
