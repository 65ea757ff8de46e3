public import GraftFeatureCache
public import GraftModel
import GraftSupport
import Foundation
/// Where a head's training features came from: the cache and its provenance.
public struct HeadSource: Sendable {
    /// The cache file, as given on the command line.
    public var cachePath: String
    public var cache: FeatureCacheProvenance
    /// The rows the cache holds.
    public var cacheRows: Int

    public init(cachePath: String, cache: FeatureCacheProvenance, cacheRows: Int) {
        self.cachePath = cachePath
        self.cache = cache
        self.cacheRows = cacheRows
    }
}

/// The provenance `details` members of a head, which `graft attach` and `graft predict` read.
enum HeadDetail {
    static let kind = "head"
    static let classes = "classes"
    static let layer = "layer"
    static let dimension = "dimension"
    static let pool = "pool"
    static let modelSHA256 = "model_sha256"
    static let modelName = "model_name"
    static let preprocessing = "preprocessing"
}

extension TrainedHead {
    /// The prefix of every node, value and weight name of a head graph.
    public static let namePrefix = "head/"

    /// The head as a `.graft` graph and its weights.
    ///
    /// The graph reads one input named after the cache layer, shape `[?, D]`, layout `plain`,
    /// and computes, in nodes named `head/…`:
    ///
    /// - `head/standardize`: `Scale` (axis −1) with `scale = 1/std` and `bias = −mean/std`, when
    ///   the features were standardised;
    /// - `head/hidden`: `Dense` with ReLU (MLP only);
    /// - `head/logits`: `Dense`;
    /// - `head/probabilities`: `Softmax` over the classes, the graph's output.
    ///
    /// Provenance: framework `graft`, no source files (hashing a cache of gigabytes would cost
    /// more than training on it; the features' identity is the trunk's SHA-256 and the cache's
    /// input list hash); `details` with `head` (kind), `classes`, `layer`, `dimension`, `pool`,
    /// `model_sha256` and `model_name` of the trunk the cache came from, the cache's effective
    /// `preprocessing` (JSON text), `cache` (file name, rows, `input_list_sha256`, creation
    /// time) and `training` (the options and the outcome).
    public func graph(source: HeadSource, options: HeadTrainingOptions) -> (Graph, [WeightTensor]) {
        let prefix = TrainedHead.namePrefix
        var nodes: [Node] = []
        var weights: [WeightTensor] = []
        var current = layer
        if let standardization {
            let name = prefix + "standardize"
            nodes.append(Node(name: name, operation: .scale(.init(axis: -1, axisCount: 1)), inputs: [current], outputs: [name],
                              outputShapes: [[nil, dimension]], weights: ["scale": name + "/scale", "bias": name + "/bias"]))
            weights.append(WeightTensor(name: name + "/scale", shape: [dimension], values: standardization.scale))
            weights.append(WeightTensor(name: name + "/bias", shape: [dimension], values: standardization.shift))
            current = name
        }
        for (index, dense) in layers.enumerated() {
            let name = prefix + (index == layers.count - 1 ? "logits" : "hidden")
            nodes.append(Node(name: name, operation: .dense(.init(activation: dense.rectifies ? .rectifier : .linear)), inputs: [current],
                              outputs: [name], outputShapes: [[nil, dense.outputCount]], weights: ["kernel": name + "/kernel", "bias": name + "/bias"]))
            weights.append(WeightTensor(name: name + "/kernel", shape: [dense.inputCount, dense.outputCount], values: dense.kernel))
            weights.append(WeightTensor(name: name + "/bias", shape: [dense.outputCount], values: dense.bias))
            current = name
        }
        let output = prefix + "probabilities"
        nodes.append(Node(name: output, operation: .softmax(axis: -1), inputs: [current], outputs: [output],
                          outputShapes: [[nil, classes.count]]))

        var training: [String: JSONValue] = [
            "rows": .integer(report.trainingRows), "validation_rows": .integer(report.validationRows),
            "standardized": .bool(standardization != nil), "class_weight": .string(options.classWeighting.rawValue),
            "seed": .integer(Int(truncatingIfNeeded: options.seed)), "steps": .integer(report.steps),
            "stop": .string(report.stopReason),
            "training_loss": .number(report.trainingLoss), "training_accuracy": .number(report.trainingAccuracy),
        ]
        if let loss = report.validationLoss { training["validation_loss"] = .number(loss) }
        if let accuracy = report.validationAccuracy { training["validation_accuracy"] = .number(accuracy) }
        switch kind {
        case .logistic:
            training["C"] = .number(options.inverseRegularization)
            training["tol"] = .number(options.tolerance)
            training["max_iter"] = .integer(options.maxIterations)
        case .mlp:
            training["hidden"] = .integer(options.hiddenUnits)
            training["dropout"] = .number(options.dropout)
            training["epochs"] = .integer(options.epochs)
            training["batch"] = .integer(options.batchSize)
            training["lr"] = .number(options.learningRate)
            training["patience"] = .integer(options.patience)
            if let best = report.bestEpoch { training["best_epoch"] = .integer(best) }
        }
        if let crossValidation {
            // The chosen settings replace the command line's, and the fold scores are kept.
            for (key, value) in crossValidation.candidates[crossValidation.bestIndex] {
                training[key] = key == "hidden" ? .integer(Int(value)) : .number(value)
            }
            training["cross_validation"] = .object([
                "folds": .integer(crossValidation.scores.count),
                "splitter": .string(crossValidation.splitter),
                "scoring": .string(crossValidation.scoring.rawValue),
                "fold_rows": .array(crossValidation.foldSizes.map { .integer($0) }),
                "candidates": .array(crossValidation.candidates.map { candidate in
                    .object(candidate.mapValues { .number($0) })
                }),
                "scores": .array(crossValidation.scores.map { .array($0.map { .number($0) }) }),
                "mean_scores": .array(crossValidation.meanScores.map { .number($0) }),
                "chosen": .integer(crossValidation.bestIndex),
            ])
        }
        let details: [String: JSONValue] = [
            HeadDetail.kind: .string(kind.rawValue),
            HeadDetail.classes: .array(classes.map { .string($0) }),
            HeadDetail.layer: .string(layer),
            HeadDetail.dimension: .integer(dimension),
            HeadDetail.pool: .string(source.cache.pooling.rawValue),
            HeadDetail.modelSHA256: .string(source.cache.modelSHA256),
            HeadDetail.modelName: .string(source.cache.modelName),
            HeadDetail.preprocessing: .string(source.cache.preprocessing),
            "cache": .object([
                "file": .string((source.cachePath as NSString).lastPathComponent),
                "rows": .integer(source.cacheRows),
                "input_list_sha256": .string(source.cache.inputListSHA256),
                "created": .string(source.cache.created),
            ]),
            "training": .object(training),
        ]
        let provenance = Provenance(framework: "graft", frameworkVersion: GraftVersion.current, sources: [],
                                    converter: "graft \(GraftVersion.current)", details: details)
        let graph = Graph(name: "\(source.cache.modelName)_head", inputs: [ValueInfo(name: layer, shape: [nil, dimension], layout: .plain)],
                          outputs: [output], nodes: nodes, provenance: provenance)
        return (graph, weights)
    }

    /// Writes the head to `path` as a `.graft` file (temporary name, then renamed).
    public func write(to path: String, source: HeadSource, options: HeadTrainingOptions) throws {
        let (graph, weights) = graph(source: source, options: options)
        try ModelWriter.write(graph: graph, weights: weights, to: path)
    }
}

/// What a `.graft` model made by graft says about the classifier it is: the class names of its
/// output columns and, for a head, the features it reads.
public struct HeadDescription: Sendable {
    public var path: String
    /// `logistic` or `mlp`.
    public var kind: String
    public var classes: [String]
    /// The trunk layer (cache layer) the head reads; the name of the head's input.
    public var layer: String
    public var dimension: Int
    public var pooling: FeaturePooling
    /// SHA-256 of the trunk the training cache was made with.
    public var modelSHA256: String
    public var modelName: String
    /// The effective preprocessing of the training cache, JSON text.
    public var preprocessing: String?
    /// The value the head outputs (its class probabilities).
    public var output: String

    /// Reads the description of a head written by `graft train`.
    ///
    /// - Throws: `HeadError.notAHead` when the provenance lacks what `graft train` records.
    public init(model: ModelFile) throws(HeadError) {
        let graph = model.graph
        let details = graph.provenance.details
        func require<T>(_ key: String, _ value: (JSONValue) -> T?) throws(HeadError) -> T {
            guard let member = details[key], let result = value(member) else {
                throw .notAHead(path: model.path, reason: "its provenance details have no '\(key)'")
            }
            return result
        }
        kind = try require(HeadDetail.kind, \.stringValue)
        classes = try require(HeadDetail.classes, \.stringArray)
        layer = try require(HeadDetail.layer, \.stringValue)
        dimension = try require(HeadDetail.dimension, \.integerValue)
        let poolName = try require(HeadDetail.pool, \.stringValue)
        guard let pooling = FeaturePooling(rawValue: poolName) else {
            throw .notAHead(path: model.path, reason: "its pool '\(poolName)' is not none, avg or max")
        }
        self.pooling = pooling
        modelSHA256 = try require(HeadDetail.modelSHA256, \.stringValue)
        modelName = try require(HeadDetail.modelName, \.stringValue)
        preprocessing = details[HeadDetail.preprocessing]?.stringValue
        guard graph.inputs.count == 1, graph.inputs[0].name == layer, graph.outputs.count == 1 else {
            throw .notAHead(path: model.path, reason: "it should read one input named '\(layer)' and have one output")
        }
        guard graph.inputs[0].shape.count == 2, graph.inputs[0].shape[1] == dimension else {
            throw .notAHead(path: model.path, reason: "its input '\(layer)' is not [?, \(dimension)]")
        }
        output = graph.outputs[0]
        path = model.path
    }
}

extension Graph {
    /// The class names a graft-made classifier records (`details.classes`), if any.
    public var recordedClassNames: [String]? {
        provenance.details[HeadDetail.classes]?.stringArray
    }
}
