public import GraftModel
import GraftFeatureCache
import GraftSupport
import Foundation
/// Joins a head to the trunk its training features came from: one model from images to class
/// probabilities (`graft attach`).
///
/// - The trunk must be the file the cache was made with (same SHA-256), and must compute the
///   head's layer (a node name, standing for its first output, or a value name).
/// - The trunk is cut after that value: only the nodes it depends on are kept.
/// - The value is reduced as the cache reduced it: with `pool avg` or `max` on a 3-D or 4-D
///   value a `GlobalAveragePooling` or `GlobalMaxPooling` node in the value's layout; without
///   pooling a `Flatten` (the cache flattens in layout order, as `Flatten` does). Its length must
///   be the head's input length.
/// - The head's `Scale` standardisation is folded into its first `Dense` (`kernel[i][j]·s[i]`,
///   `bias[j] + Σᵢ shift[i]·kernel[i][j]`, accumulated in Double); the other head nodes follow
///   unchanged, renamed if a trunk name is taken.
/// - The preprocessing is the one the training cache was made with (the trunk's own record
///   resolved with the options `graft features` was given), so the model classifies image files
///   exactly as the cache was computed; the trunk's record is used when the head has none.
/// - The output is the head's probabilities; provenance details keep `classes`, `layer`,
///   `pool`, `head` and the trunk's provenance.
public enum HeadAttachment {
    /// The attached model and a note for each choice worth telling the user.
    public struct Result {
        public var graph: Graph
        public var weights: [WeightTensor]
        public var notes: [String]
    }

    public static func attach(trunk: ModelFile, head: ModelFile) throws -> Result {
        let description = try HeadDescription(model: head)
        let trunkHash = trunk.contentHash()
        guard trunkHash == description.modelSHA256 else {
            throw HeadError.trunkMismatch(head: head.path, trunk: trunk.path, expectedSHA256: description.modelSHA256, actualSHA256: trunkHash)
        }
        let trunkGraph = trunk.graph
        var notes: [String] = []

        // The value the head reads, its shape and layout.
        let value: String
        let shape: [Int?]
        var layout: Layout
        // Resolved as the runtime resolves `--layer`: a node name (its first output) first, then
        // a graph input or a node output.
        let namedNode = trunkGraph.nodes.first(where: { $0.name == description.layer && !$0.outputs.isEmpty })
        if let node = namedNode ?? trunkGraph.producer(of: description.layer) {
            let index = namedNode != nil ? 0 : node.outputs.firstIndex(of: description.layer)!
            value = node.outputs[index]
            shape = node.outputShapes[index]
            layout = trunkGraph.inputs.first?.layout ?? .plain
            if let declared = node.operation.layout { layout = declared }
        } else if let input = trunkGraph.inputs.first(where: { $0.name == description.layer }) {
            (value, shape, layout) = (input.name, input.shape, input.layout)
        } else {
            throw HeadError.unknownLayer(trunk: trunk.path, layer: description.layer)
        }

        // Keep the trunk nodes the value depends on.
        var needed: Set<String> = [value]
        var kept: [Node] = []
        for node in trunkGraph.nodes.reversed() where node.outputs.contains(where: needed.contains) {
            kept.append(node)
            needed.formUnion(node.inputs)
        }
        kept.reverse()
        let inputs = trunkGraph.inputs.filter { needed.contains($0.name) }
        var takenNames = Set(inputs.map(\.name))
        for node in kept {
            takenNames.insert(node.name)
            takenNames.formUnion(node.outputs)
        }

        // Reduce the value as the cache did.
        let perImage = Array(shape.dropFirst())
        var nodes = kept
        var headInput = value
        var reducedLength: Int?
        func uniqueName(_ base: String) -> String {
            var name = base
            while takenNames.contains(name) { name = "graft_" + name }
            takenNames.insert(name)
            return name
        }
        if perImage.count >= 2 {
            if description.pooling != .none, perImage.count == 2 || perImage.count == 3 {
                let channelsFirst = layout == .nchw || layout == .ncw
                let poolLayout: Layout = perImage.count == 3 ? (channelsFirst ? .nchw : .nhwc) : (channelsFirst ? .ncw : .nwc)
                reducedLength = channelsFirst ? perImage[0] : perImage[perImage.count - 1]
                let name = uniqueName(TrainedHead.namePrefix + (description.pooling == .avg ? "global_average_pooling" : "global_max_pooling"))
                let pooling = Operation.GlobalPooling(layout: poolLayout)
                nodes.append(Node(name: name, operation: description.pooling == .avg ? .globalAveragePooling(pooling) : .globalMaxPooling(pooling),
                                  inputs: [value], outputs: [name], outputShapes: [[nil, reducedLength]]))
                headInput = name
            } else {
                reducedLength = perImage.allSatisfy { $0 != nil } ? perImage.reduce(1) { $0 * $1! } : nil
                let name = uniqueName(TrainedHead.namePrefix + "flatten")
                nodes.append(Node(name: name, operation: .flatten, inputs: [value], outputs: [name], outputShapes: [[nil, reducedLength]]))
                headInput = name
            }
        } else {
            reducedLength = perImage.first ?? nil
        }
        guard reducedLength == description.dimension else {
            throw HeadError.dimensionMismatch(trunk: trunk.path, layer: description.layer, trunkDimension: reducedLength,
                                              headDimension: description.dimension)
        }

        // Trunk weights, copied out of the mapping.
        var weights: [WeightTensor] = []
        var copied = Set<String>()
        for node in kept {
            for tensor in node.weights.values.sorted() where copied.insert(tensor).inserted {
                guard let entry = trunk.tensors[tensor] else { continue }
                weights.append(WeightTensor(name: tensor, shape: entry.shape, values: Array(try trunk.floats(named: tensor))))
            }
        }

        // Head nodes, with the standardisation folded into the first Dense.
        let headGraph = head.graph
        var renamed: [String: String] = [description.layer: headInput]
        var pendingScale: (scale: [Float], shift: [Float])?
        for node in headGraph.nodes {
            if node.op == .scale, node.inputs == [description.layer], pendingScale == nil {
                let scale = try node.weights["scale"].map { Array(try head.floats(named: $0)) } ?? [Float](repeating: 1, count: description.dimension)
                let shift = try node.weights["bias"].map { Array(try head.floats(named: $0)) } ?? [Float](repeating: 0, count: description.dimension)
                guard scale.count == description.dimension, shift.count == description.dimension else {
                    throw HeadError.notAHead(path: head.path, reason: "its standardisation has \(scale.count) factors for \(description.dimension) features")
                }
                pendingScale = (scale, shift)
                renamed[node.outputs[0]] = headInput
                continue
            }
            var copy = node
            copy.name = uniqueName(node.name)
            copy.inputs = node.inputs.map { renamed[$0] ?? $0 }
            copy.outputs = node.outputs.map { output in
                let name = output == node.name ? copy.name : uniqueName(output)
                renamed[output] = name
                return name
            }
            var roles: [String: String] = [:]
            for (role, tensor) in node.weights.sorted(by: { $0.key < $1.key }) {
                let name = uniqueName(tensor)
                roles[role] = name
                let entry = head.tensors[tensor]!
                weights.append(WeightTensor(name: name, shape: entry.shape, values: Array(try head.floats(named: tensor))))
            }
            copy.weights = roles
            if let standardization = pendingScale {
                guard node.op == .dense, let kernelName = roles["kernel"],
                      let kernelIndex = weights.firstIndex(where: { $0.name == kernelName }) else {
                    throw HeadError.notAHead(path: head.path, reason: "its standardisation is not followed by a Dense layer")
                }
                let columns = weights[kernelIndex].shape.last ?? 0
                var bias = [Double](repeating: 0, count: columns)
                if let biasName = roles["bias"], let biasIndex = weights.firstIndex(where: { $0.name == biasName }) {
                    bias = weights[biasIndex].values.map(Double.init)
                }
                var kernel = weights[kernelIndex].values
                for i in 0..<description.dimension {
                    let factor = Double(standardization.scale[i]), offset = Double(standardization.shift[i])
                    for j in 0..<columns {
                        let original = Double(kernel[i * columns + j])
                        bias[j] += offset * original
                        kernel[i * columns + j] = Float(original * factor)
                    }
                }
                weights[kernelIndex] = WeightTensor(name: kernelName, shape: weights[kernelIndex].shape, values: kernel)
                let biasName = roles["bias"] ?? uniqueName(copy.name + "/bias")
                copy.weights["bias"] = biasName
                weights.removeAll { $0.name == biasName }
                weights.append(WeightTensor(name: biasName, shape: [columns], values: bias.map(Float.init)))
                pendingScale = nil
                notes.append("folded the standardisation into '\(copy.name)'")
            }
            nodes.append(copy)
        }
        let outputs = headGraph.outputs.map { renamed[$0] ?? $0 }

        var preprocessing = trunkGraph.preprocessing
        if let text = description.preprocessing, let data = text.data(using: .utf8),
           let recorded = try? JSONDecoder().decode([String: JSONValue].self, from: data) {
            if recorded != trunkGraph.preprocessing {
                notes.append("recorded the preprocessing the cache was made with: \(text)")
            }
            preprocessing = recorded
        }
        var details: [String: JSONValue] = headGraph.provenance.details
        details["trunk"] = .object([
            "name": .string(trunkGraph.name), "framework": .string(trunkGraph.provenance.framework),
            "sources": .array(trunkGraph.provenance.sources.map { .object(["file": .string($0.file), "sha256": .string($0.sha256)]) }),
        ])
        let provenance = Provenance(
            framework: "graft", frameworkVersion: GraftVersion.current,
            sources: [.init(file: (trunk.path as NSString).lastPathComponent, sha256: trunkHash),
                      .init(file: (head.path as NSString).lastPathComponent, sha256: head.contentHash())],
            converter: "graft \(GraftVersion.current)", details: details)
        let graph = Graph(name: trunkGraph.name + "+head", inputs: inputs, outputs: outputs, nodes: nodes,
                          preprocessing: preprocessing, provenance: provenance)
        return Result(graph: graph, weights: weights, notes: notes)
    }
}
