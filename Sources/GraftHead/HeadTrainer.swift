import Foundation
internal import GraftNumerics
/// Trains heads on cached features.
///
/// ```swift
/// let cache = try FeatureCache(path: "cache.h5")
/// let rows = try LabelledFeatures(cache: cache, layer: cache.layers[0])
/// let split = try rows.stratifiedSplit(fraction: 0.1, seed: 0)
/// let head = try HeadTrainer.train(split.training, validation: split.validation,
///                                  options: HeadTrainingOptions(kind: .logistic)) { print($0) }
/// ```
///
/// The features are standardised in place (the arguments are consumed, so a caller that does not
/// use them afterwards pays no copy). Matrix products are cut into blocks by their shape alone
/// (`parallelProduct`) and the blocks run on `options.threadCount` threads, OpenBLAS running
/// single-threaded inside each; per-row work runs in fixed blocks of rows whose partial sums are
/// added in block order. A run is deterministic for a given seed, and bit-identical whatever the
/// thread count.
public enum HeadTrainer {
    /// Fits a head to `training`, reporting each iteration or epoch to `progress`.
    ///
    /// - Throws: `HeadError.noLabels`, `.singleClass` or `.emptyClasses` when the rows cannot
    ///   train a classifier; `.validationMismatch` when `validation` has another layer,
    ///   dimension or class list.
    ///
    /// With `crossValidation`, the regularisation (logistic) or size (MLP) is chosen by
    /// cross-validation on the standardised training rows first (see `crossValidate`), and the
    /// head is refitted on all of them; the fold scores go into the head's `crossValidation`.
    public static func train(_ training: consuming LabelledFeatures, validation: consuming LabelledFeatures?,
                             options: HeadTrainingOptions, crossValidation: CrossValidationOptions? = nil,
                             progress: (TrainingProgress) -> Void = { _ in }) throws -> TrainedHead {
        var training = training
        var validation = validation
        try checkTrainable(training, validation: validation)
        // graft splits the products between its threads; OpenBLAS runs single-threaded inside.
        Parallelism.configure(threads: options.threadCount)

        var standardization: Standardization?
        if options.standardizes {
            let (rowCount, dimension) = (training.rowCount, training.dimension)
            let threads = options.threadCount
            let fitted = training.features.withUnsafeBufferPointer {
                Standardization(fitting: $0, rowCount: rowCount, dimension: dimension, threads: threads)
            }
            let rows = training.rowCount
            training.features.withUnsafeMutableBufferPointer { fitted.apply(to: $0, rowCount: rows, threads: threads) }
            if validation != nil {
                let validationRows = validation!.rowCount
                validation!.features.withUnsafeMutableBufferPointer { fitted.apply(to: $0, rowCount: validationRows, threads: threads) }
            }
            standardization = fitted
        }
        // Without standardisation the features are still centred for the solver: the intercept
        // is not penalised, so `w·(x − μ) + b′` has the same optimal `w` as `w·x + b`, with
        // `b = b′ − w·μ`, folded back below. Centring removes the coupling of large offsets with the
        // intercept that makes float32 gradients cancel.
        var centring: [Double]?
        if !options.standardizes {
            let (rowCount, dimension) = (training.rowCount, training.dimension)
            let fitted = training.features.withUnsafeBufferPointer {
                Standardization(fitting: $0, rowCount: rowCount, dimension: dimension)
            }
            let shift = Standardization(mean: fitted.mean, standardDeviation: [Double](repeating: 1, count: dimension))
            training.features.withUnsafeMutableBufferPointer { shift.apply(to: $0, rowCount: rowCount) }
            if validation != nil {
                let validationRows = validation!.rowCount
                validation!.features.withUnsafeMutableBufferPointer { shift.apply(to: $0, rowCount: validationRows) }
            }
            centring = fitted.mean
        }
        let rowWeights = weights(of: training, weighting: options.classWeighting)
        var result: (layers: [DenseLayer], report: TrainingReport)
        var validated: CrossValidationResult?
        if let crossValidation {
            if let groups = crossValidation.groups, groups.count != training.rowCount {
                preconditionFailure("\(groups.count) groups for \(training.rowCount) rows")
            }
            let fitted = try crossValidate(training, validation: validation, rowWeights: rowWeights, options: options,
                                           cv: crossValidation, progress: progress)
            result = (fitted.layers, fitted.report)
            validated = fitted.result
        } else {
            switch options.kind {
            case .logistic:
                let fitted = trainLogistic(training, validation: validation, rowWeights: rowWeights, options: options, progress: progress)
                result = (fitted.layers, fitted.report)
            case .mlp:
                result = trainPerceptron(training, validation: validation, rowWeights: rowWeights, options: options, progress: progress)
            }
        }
        if let centring {
            var first = result.layers[0]
            for j in 0..<first.outputCount {
                var bias = Double(first.bias[j])
                for i in 0..<first.inputCount { bias -= centring[i] * Double(first.kernel[i * first.outputCount + j]) }
                first.bias[j] = Float(bias)
            }
            result.layers[0] = first
        }
        var head = TrainedHead(kind: options.kind, classes: training.classes, layer: training.layer, dimension: training.dimension,
                               standardization: standardization, layers: result.layers, report: result.report)
        head.crossValidation = validated
        return head
    }

    /// Checks that `training` can train a classifier (labelled rows of every class, two or more
    /// classes) and that `validation` matches it in layer, feature length and classes.
    public static func checkTrainable(_ training: LabelledFeatures, validation: LabelledFeatures?) throws(HeadError) {
        guard training.rowCount > 0 else { throw .noLabels(cache: training.source) }
        let counts = training.classCounts
        let present = counts.indices.filter { counts[$0] > 0 }
        guard present.count >= 2 else {
            throw .singleClass(cache: training.source, className: present.first.map { training.classes[$0] })
        }
        guard present.count == counts.count else {
            throw .emptyClasses(cache: training.source, classes: counts.indices.filter { counts[$0] == 0 }.map { training.classes[$0] })
        }
        guard let validation else { return }
        if validation.layer != training.layer {
            throw .validationMismatch(cache: validation.source, training: training.source, what: "layer",
                                      validation: "'\(validation.layer)'", expected: "'\(training.layer)'")
        }
        if validation.dimension != training.dimension {
            throw .validationMismatch(cache: validation.source, training: training.source, what: "feature length",
                                      validation: "\(validation.dimension)", expected: "\(training.dimension)")
        }
        if validation.classes != training.classes {
            throw .validationMismatch(cache: validation.source, training: training.source, what: "classes",
                                      validation: "[\(validation.classes.joined(separator: ","))]",
                                      expected: "[\(training.classes.joined(separator: ","))]")
        }
        if validation.rowCount == 0 { throw .noLabels(cache: validation.source) }
    }

    /// Row weights: 1, or scikit-learn's balanced `n / (k · n_c)`.
    static func weights(of rows: LabelledFeatures, weighting: ClassWeighting) -> [Double] {
        switch weighting {
        case .none:
            return [Double](repeating: 1, count: rows.rowCount)
        case .balanced:
            let counts = rows.classCounts
            let factor = counts.map { Double(rows.rowCount) / (Double(counts.count) * Double(max($0, 1))) }
            return rows.labels.map { factor[Int($0)] }
        }
    }

    /// Mean cross-entropy (unweighted) and accuracy of `layers` + softmax on standardised rows.
    static func evaluateMetrics(layers: [DenseLayer], on rows: LabelledFeatures, threads: Int) -> (loss: Double, accuracy: Double) {
        let block = 2048
        var loss = 0.0
        var correct = 0
        let classCount = rows.classes.count
        rows.features.withUnsafeBufferPointer { features in
            var start = 0
            while start < rows.rowCount {
                let count = min(block, rows.rowCount - start)
                var activations = Array(UnsafeBufferPointer(start: features.baseAddress! + start * rows.dimension, count: count * rows.dimension))
                for layer in layers { activations = denseForward(layer, activations, rowCount: count, threads: threads) }
                activations.withUnsafeBufferPointer { p in
                    for row in 0..<count {
                        let values = p.baseAddress! + row * classCount
                        let label = Int(rows.labels[start + row])
                        var largest = -Float.infinity, best = 0
                        for j in 0..<classCount where values[j] > largest { largest = values[j]; best = j }
                        var sum = 0.0
                        for j in 0..<classCount { sum += exp(Double(values[j] - largest)) }
                        loss += log(sum) - Double(values[label] - largest)
                        if best == label { correct += 1 }
                    }
                }
                start += count
            }
        }
        return (loss / Double(max(rows.rowCount, 1)), Double(correct) / Double(max(rows.rowCount, 1)))
    }

    /// `x · kernel + bias`, then ReLU if the layer has one.
    static func denseForward(_ layer: DenseLayer, _ input: [Float], rowCount: Int, threads: Int) -> [Float] {
        var output = [Float](repeating: 0, count: rowCount * layer.outputCount)
        output.withUnsafeMutableBufferPointer { output in
            let out = output.baseAddress!
            for row in 0..<rowCount { (out + row * layer.outputCount).update(from: layer.bias, count: layer.outputCount) }
            input.withUnsafeBufferPointer { x in
                layer.kernel.withUnsafeBufferPointer { w in
                    parallelProduct(rows: rowCount, columns: layer.outputCount, depth: layer.inputCount,
                                    x.baseAddress!, layer.inputCount, w.baseAddress!, layer.outputCount,
                                    out, layer.outputCount, accumulate: true, threads: threads)
                }
            }
            if layer.rectifies {
                for i in 0..<output.count where out[i] < 0 { out[i] = 0 }
            }
        }
        return output
    }
}
