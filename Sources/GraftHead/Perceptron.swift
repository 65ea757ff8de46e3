import Foundation
internal import GraftNumerics
/// The MLP head's training: `softmax(dropout(relu(x·W₁ + b₁))·W₂ + b₂)`.
///
/// - Initialisation: Glorot-uniform kernels (Keras's default, limit `√(6/(in + out))`), zero
///   biases, drawn from `SeededGenerator(seed)`.
/// - Each epoch shuffles the training rows with the same generator and runs minibatches of
///   `batchSize` rows (the last one smaller). The loss of a minibatch is `Σ sᵢ ℓᵢ / B`
///   (cross-entropy weighted by the row weights, as Keras weighs samples).
/// - Dropout is inverted: kept units are divided by `1 − rate`, so inference needs no scaling.
/// - Adam with Keras's defaults (β₁ 0.9, β₂ 0.999, ε 1e-7, bias-corrected step size).
/// - Early stopping: after each epoch the validation loss is computed without dropout; the
///   weights of the epoch with the lowest loss are kept, and training stops after `patience`
///   epochs without a lower loss. Without validation rows every epoch runs and the last
///   weights are kept.
///
/// The four matrix products of a step run on sgemm (`parallelProduct`, cut by shape only), and
/// every other sum runs in a fixed order, so a run is bit-identical whatever the thread count.
extension HeadTrainer {
    static func trainPerceptron(_ training: LabelledFeatures, validation: LabelledFeatures?, rowWeights: [Double],
                                options: HeadTrainingOptions,
                                progress: (TrainingProgress) -> Void) -> (layers: [DenseLayer], report: TrainingReport) {
        let start = Date()
        let threads = max(1, options.threadCount)
        let d = training.dimension, h = max(1, options.hiddenUnits), k = training.classes.count
        let n = training.rowCount
        let batchSize = max(1, min(options.batchSize, n))
        var generator = SeededGenerator(seed: options.seed)

        func glorot(_ fanIn: Int, _ fanOut: Int) -> [Float] {
            let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
            return (0..<(fanIn * fanOut)).map { _ in (generator.nextUnitFloat() * 2 - 1) * limit }
        }
        var hidden = DenseLayer(kernel: glorot(d, h), bias: [Float](repeating: 0, count: h), inputCount: d, outputCount: h, rectifies: true)
        var output = DenseLayer(kernel: glorot(h, k), bias: [Float](repeating: 0, count: k), inputCount: h, outputCount: k, rectifies: false)
        var adam = [AdamState(count: d * h), AdamState(count: h), AdamState(count: h * k), AdamState(count: k)]

        // Per-step buffers.
        var batch = [Float](repeating: 0, count: batchSize * d)
        var preactivation = [Float](repeating: 0, count: batchSize * h)
        var activation = [Float](repeating: 0, count: batchSize * h)
        var keep = [Float](repeating: 0, count: batchSize * h)
        var logits = [Float](repeating: 0, count: batchSize * k)
        var gradientHidden = [Float](repeating: 0, count: batchSize * h)
        var kernelGradient1 = [Float](repeating: 0, count: d * h)
        var biasGradient1 = [Float](repeating: 0, count: h)
        var kernelGradient2 = [Float](repeating: 0, count: h * k)
        var biasGradient2 = [Float](repeating: 0, count: k)

        let rate = Float(min(max(options.dropout, 0), 0.999))
        let keepScale = 1 / (1 - rate)
        var order = Array(0..<n)
        var best: (epoch: Int, loss: Double, hidden: DenseLayer, output: DenseLayer)?
        var epochsWithoutImprovement = 0
        var epochsRun = 0
        var lastTraining = (loss: 0.0, accuracy: 0.0)
        var lastValidation: (loss: Double, accuracy: Double)?
        var stopReason = "ran all \(options.epochs) epochs"
        var step = 0

        for epoch in 1...max(1, options.epochs) {
            generator.shuffle(&order)
            var epochLoss = 0.0
            var epochCorrect = 0
            var batchStart = 0
            while batchStart < n {
                let b = min(batchSize, n - batchStart)
                step += 1
                // Gather the rows.
                batch.withUnsafeMutableBufferPointer { destination in
                    training.features.withUnsafeBufferPointer { source in
                        for position in 0..<b {
                            (destination.baseAddress! + position * d)
                                .update(from: source.baseAddress! + order[batchStart + position] * d, count: d)
                        }
                    }
                }
                // Forward: A = relu(X·W₁ + b₁) ∘ mask / (1 − rate); Z = A·W₂ + b₂.
                affine(batch, hidden, rows: b, into: &preactivation, threads: threads)
                for i in 0..<(b * h) {
                    let kept: Float = rate > 0 ? (generator.nextUnitFloat() >= rate ? keepScale : 0) : 1
                    keep[i] = preactivation[i] > 0 ? kept : 0
                    activation[i] = preactivation[i] * keep[i]
                }
                affine(activation, output, rows: b, into: &logits, threads: threads)
                // Softmax, loss, and the pointwise gradient G = sᵢ(P − Y)/B in place of Z.
                var batchLoss = 0.0
                for position in 0..<b {
                    let row = order[batchStart + position]
                    let label = Int(training.labels[row])
                    let weight = rowWeights[row]
                    var largest = -Float.infinity, predicted = 0
                    for j in 0..<k where logits[position * k + j] > largest { largest = logits[position * k + j]; predicted = j }
                    var sum = 0.0
                    for j in 0..<k { sum += exp(Double(logits[position * k + j] - largest)) }
                    batchLoss += weight * (log(sum) - Double(logits[position * k + label] - largest))
                    if predicted == label { epochCorrect += 1 }
                    for j in 0..<k {
                        let probability = exp(Double(logits[position * k + j] - largest)) / sum
                        logits[position * k + j] = Float(weight * (probability - (j == label ? 1 : 0)) / Double(b))
                    }
                }
                epochLoss += batchLoss
                // Backward.
                productTransposingFirst(activation, logits, rows: b, m: h, n: k, into: &kernelGradient2, threads: threads)
                columnSums(logits, rows: b, columns: k, into: &biasGradient2)
                logits.withUnsafeBufferPointer { g in
                    output.kernel.withUnsafeBufferPointer { w in
                        gradientHidden.withUnsafeMutableBufferPointer { out in
                            parallelProduct(rows: b, columns: h, depth: k, g.baseAddress!, k, transposeB: true,
                                            w.baseAddress!, k, out.baseAddress!, h, accumulate: false, threads: threads)
                        }
                    }
                }
                for i in 0..<(b * h) { gradientHidden[i] *= keep[i] }
                productTransposingFirst(batch, gradientHidden, rows: b, m: d, n: h, into: &kernelGradient1, threads: threads)
                columnSums(gradientHidden, rows: b, columns: h, into: &biasGradient1)
                adam[0].update(&hidden.kernel, kernelGradient1, step: step, learningRate: options.learningRate)
                adam[1].update(&hidden.bias, biasGradient1, step: step, learningRate: options.learningRate)
                adam[2].update(&output.kernel, kernelGradient2, step: step, learningRate: options.learningRate)
                adam[3].update(&output.bias, biasGradient2, step: step, learningRate: options.learningRate)
                batchStart += b
            }
            epochsRun = epoch
            lastTraining = (epochLoss / Double(n), Double(epochCorrect) / Double(n))
            var line = TrainingProgress(step: epoch, trainingLoss: lastTraining.loss, trainingAccuracy: lastTraining.accuracy)
            if let validation {
                let metrics = evaluateMetrics(layers: [hidden, output], on: validation, threads: threads)
                line.validationLoss = metrics.loss
                line.validationAccuracy = metrics.accuracy
                lastValidation = metrics
                if best == nil || metrics.loss < best!.loss {
                    best = (epoch, metrics.loss, hidden, output)
                    epochsWithoutImprovement = 0
                } else {
                    epochsWithoutImprovement += 1
                }
            }
            progress(line)
            if validation != nil, epochsWithoutImprovement >= max(1, options.patience) {
                stopReason = "early stopping: no lower validation loss for \(options.patience) epoch\(options.patience == 1 ? "" : "s")"
                break
            }
        }
        var bestEpoch = epochsRun
        if let best {
            hidden = best.hidden
            output = best.output
            bestEpoch = best.epoch
            if let validation { lastValidation = evaluateMetrics(layers: [hidden, output], on: validation, threads: threads) }
        }
        let final = evaluateMetrics(layers: [hidden, output], on: training, threads: threads)
        _ = lastTraining
        let report = TrainingReport(
            kind: .mlp, steps: epochsRun, evaluations: step, converged: true, stopReason: stopReason, bestEpoch: bestEpoch,
            trainingLoss: final.loss, trainingAccuracy: final.accuracy,
            validationLoss: lastValidation?.loss, validationAccuracy: lastValidation?.accuracy,
            trainingRows: n, validationRows: validation?.rowCount ?? 0, seconds: Date().timeIntervalSince(start))
        return ([hidden, output], report)
    }

    /// `out = x · kernel + bias` for `rows` rows (no activation).
    private static func affine(_ x: [Float], _ layer: DenseLayer, rows: Int, into out: inout [Float], threads: Int) {
        out.withUnsafeMutableBufferPointer { out in
            for row in 0..<rows { (out.baseAddress! + row * layer.outputCount).update(from: layer.bias, count: layer.outputCount) }
            x.withUnsafeBufferPointer { x in
                layer.kernel.withUnsafeBufferPointer { w in
                    parallelProduct(rows: rows, columns: layer.outputCount, depth: layer.inputCount,
                                    x.baseAddress!, layer.inputCount, w.baseAddress!, layer.outputCount,
                                    out.baseAddress!, layer.outputCount, accumulate: true, threads: threads)
                }
            }
        }
    }

    /// `out (m × n) = aᵀ · b` for `a` of `rows × m` and `b` of `rows × n`.
    private static func productTransposingFirst(_ a: [Float], _ b: [Float], rows: Int, m: Int, n: Int, into out: inout [Float],
                                                threads: Int) {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { out in
                    parallelProduct(rows: m, columns: n, depth: rows, a.baseAddress!, m, transposeA: true,
                                    b.baseAddress!, n, out.baseAddress!, n, accumulate: false, threads: threads)
                }
            }
        }
    }

    private static func columnSums(_ values: [Float], rows: Int, columns: Int, into out: inout [Float]) {
        for j in 0..<columns { out[j] = 0 }
        for row in 0..<rows {
            for j in 0..<columns { out[j] += values[row * columns + j] }
        }
    }
}

/// Adam's moment estimates for one parameter array (Keras's update rule).
struct AdamState {
    var first: [Float]
    var second: [Float]

    init(count: Int) {
        first = [Float](repeating: 0, count: count)
        second = [Float](repeating: 0, count: count)
    }

    /// `θ −= lr_t · m / (√v + ε)` with `lr_t = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)`.
    mutating func update(_ parameters: inout [Float], _ gradient: [Float], step: Int, learningRate: Double) {
        let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7
        let correction = Float(learningRate * (1 - pow(0.999, Double(step))).squareRoot() / (1 - pow(0.9, Double(step))))
        parameters.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeBufferPointer { g in
                first.withUnsafeMutableBufferPointer { m in
                    second.withUnsafeMutableBufferPointer { v in
                        for i in 0..<p.count {
                            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                            p[i] -= correction * m[i] / (v[i].squareRoot() + epsilon)
                        }
                    }
                }
            }
        }
    }
}
