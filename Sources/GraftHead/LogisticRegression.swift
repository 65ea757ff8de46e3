import Foundation
internal import GraftNumerics
/// scikit-learn's logistic regression objective on standardised features, on OpenBLAS sgemm.
///
/// With `S = Σ sᵢ` (row weights; `n` without class weights) the objective is scikit-learn's
/// `LinearModelLoss` form
///
///     f(W, b) = (1/S) Σ sᵢ ℓᵢ + ‖W‖² / (2·C·S)
///
/// which is scikit-learn's `C·Σ sᵢ ℓᵢ + ½‖W‖²` divided by `C·S`: the same minimiser, and the
/// scale at which scikit-learn applies `tol` to the gradient. The intercepts are not penalised.
/// With k ≥ 3 classes `ℓᵢ` is the multinomial log loss over k weight vectors; with 2 classes it
/// is the binomial log loss of one weight vector scoring the second class, as scikit-learn fits
/// binary problems.
///
/// Parameters are `W` row-major (`columns × D`, one row per weight vector) followed by the
/// `columns` intercepts. The logits `Z = X·Wᵀ` are kept in Double. Each L-BFGS iteration costs two
/// sgemm calls: `U = X·Dᵀ` for the search direction `D` (then every line-search probe evaluates
/// `Z + α·U` row by row, with no matrix product, and its values are smooth in `α`, which float32
/// products recomputed at every trial point would not be), and `Gᵀ·X` for the gradient at the
/// accepted point (`Z += α·U`). `Z` is recomputed from `W` every `refreshInterval` iterations so
/// that rounding cannot accumulate. Per-row work runs on `threads` threads in fixed blocks of rows
/// whose partial sums are added in block order, and the products are cut by their shape alone
/// (`parallelProduct`), so results are bit-identical whatever the thread count.
final class LogisticObjective: LineSearchObjective {
    let features: UnsafePointer<Float>
    let rowCount: Int
    let dimension: Int
    /// 1 (binary) or the number of classes.
    let columns: Int
    let labels: [Int32]
    let rowWeights: [Double]
    let weightSum: Double
    /// The penalty strength `1/(C·S)`.
    let strength: Double
    static let refreshInterval = 50
    private let blockRows = 512
    private let blockCount: Int

    /// `Z = X·Wᵀ`, n × columns.
    private let logits: UnsafeMutablePointer<Double>
    /// `U = X·Dᵀ` for the search direction, n × columns.
    private let directionLogits: UnsafeMutablePointer<Float>
    /// The pointwise gradient `sᵢ(pᵢ − yᵢ)/S`, n × columns.
    private let pointwise: UnsafeMutablePointer<Float>
    /// A `columns × D` float32 matrix: weights or direction for a product with `X`.
    private let floatMatrix: UnsafeMutablePointer<Float>
    private let weightGradient: UnsafeMutablePointer<Float>
    private let blockSums: UnsafeMutablePointer<Double>
    private let blockCorrect: UnsafeMutablePointer<Int>
    private let blockInterceptGradient: UnsafeMutablePointer<Double>
    private var intercepts: [Double]
    private var directionIntercepts: [Double]
    private var squaredNorm = 0.0, normDotDirection = 0.0, directionSquaredNorm = 0.0
    private var iterationsSinceRefresh = 0
    /// The step of the last probe, whose pointwise gradient is in `pointwise`.
    private var probedStep: Double?
    /// Training accuracy at the current point.
    private(set) var accuracy = 0.0

    /// Threads for the products and the per-row work.
    let threads: Int

    init(features: UnsafePointer<Float>, rowCount: Int, dimension: Int, columns: Int, labels: [Int32], rowWeights: [Double],
         inverseRegularization: Double, threads: Int) {
        self.threads = max(1, threads)
        self.features = features
        self.rowCount = rowCount
        self.dimension = dimension
        self.columns = columns
        self.labels = labels
        self.rowWeights = rowWeights
        weightSum = rowWeights.reduce(0, +)
        strength = 1 / (inverseRegularization * weightSum)
        blockCount = (rowCount + blockRows - 1) / blockRows
        func allocate<T: Numeric>(_ count: Int, _ type: T.Type) -> UnsafeMutablePointer<T> {
            let pointer = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
            pointer.initialize(repeating: 0, count: max(count, 1))
            return pointer
        }
        logits = allocate(rowCount * columns, Double.self)
        directionLogits = allocate(rowCount * columns, Float.self)
        pointwise = allocate(rowCount * columns, Float.self)
        floatMatrix = allocate(columns * dimension, Float.self)
        weightGradient = allocate(columns * dimension, Float.self)
        blockSums = allocate(2 * blockCount, Double.self)
        blockCorrect = allocate(blockCount, Int.self)
        blockInterceptGradient = allocate(blockCount * columns, Double.self)
        intercepts = [Double](repeating: 0, count: columns)
        directionIntercepts = [Double](repeating: 0, count: columns)
    }

    deinit {
        logits.deallocate()
        directionLogits.deallocate()
        pointwise.deallocate()
        floatMatrix.deallocate()
        weightGradient.deallocate()
        blockSums.deallocate()
        blockCorrect.deallocate()
        blockInterceptGradient.deallocate()
    }

    var parameterCount: Int { columns * (dimension + 1) }

    /// `out (n × columns) = X · Mᵀ` for `M` (`columns × D`) in `floatMatrix`.
    private func productWithFeatures(into out: UnsafeMutablePointer<Float>) {
        parallelProduct(rows: rowCount, columns: columns, depth: dimension, features, dimension, transposeB: true,
                        floatMatrix, dimension, out, columns, accumulate: false, threads: threads)
    }

    /// Recomputes `Z = X·Wᵀ` from the weights of `point` (through the direction buffer).
    private func refreshLogits(from point: [Double]) {
        for i in 0..<(columns * dimension) { floatMatrix[i] = Float(point[i]) }
        productWithFeatures(into: directionLogits)
        for i in 0..<(rowCount * columns) { logits[i] = Double(directionLogits[i]) }
        iterationsSinceRefresh = 0
    }

    func begin(at point: [Double], gradient: inout [Double]) -> Double {
        if point[0..<(columns * dimension)].contains(where: { $0 != 0 }) {
            refreshLogits(from: point)
        } else {
            // Zero weights: Z = 0 without a product.
            logits.update(repeating: 0, count: rowCount * columns)
        }
        for j in 0..<columns { intercepts[j] = point[columns * dimension + j] }
        return valueAndGradient(at: point, gradient: &gradient)
    }

    func setDirection(_ direction: [Double], from point: [Double]) {
        let weightCount = columns * dimension
        probedStep = nil
        if iterationsSinceRefresh >= LogisticObjective.refreshInterval { refreshLogits(from: point) }
        iterationsSinceRefresh += 1
        squaredNorm = 0
        normDotDirection = 0
        directionSquaredNorm = 0
        for i in 0..<weightCount {
            floatMatrix[i] = Float(direction[i])
            squaredNorm += point[i] * point[i]
            normDotDirection += point[i] * direction[i]
            directionSquaredNorm += direction[i] * direction[i]
        }
        for j in 0..<columns { directionIntercepts[j] = direction[weightCount + j] }
        productWithFeatures(into: directionLogits)
    }

    /// The objective and its derivative at `x + step·d`, row by row from `Z + step·U`.
    ///
    /// The probe also leaves the pointwise gradient, intercept gradients and accuracy of that
    /// point in place, so that accepting the step it probed last needs only the gradient's
    /// product.
    func probe(_ step: Double) -> (value: Double, slope: Double) {
        let (n, k, rows) = (rowCount, columns, blockRows)
        let z = logits, u = directionLogits, sums = blockSums, g = pointwise
        let correctOut = blockCorrect, interceptOut = blockInterceptGradient
        let b = intercepts, db = directionIntercepts
        let scale = 1 / weightSum
        labels.withUnsafeBufferPointer { labels in
            rowWeights.withUnsafeBufferPointer { weights in
                parallelItems(blockCount, threads: threads) { _, block in
                    let interceptSums = interceptOut + block * k
                    for j in 0..<k { interceptSums[j] = 0 }
                    var loss = 0.0, slope = 0.0, correct = 0
                    for row in (block * rows)..<min(n, (block + 1) * rows) {
                        let label = Int(labels[row])
                        let zRow = z + row * k, uRow = u + row * k, gRow = g + row * k
                        let weight = weights[row]
                        if k == 1 {
                            let change = Double(uRow[0]) + db[0]
                            let logit = zRow[0] + b[0] + step * change
                            let target = label == 1 ? 1.0 : 0.0
                            let softplus = logit > 0 ? logit + log1p(exp(-logit)) : log1p(exp(logit))
                            loss += weight * (softplus - target * logit)
                            let residual = weight * (1 / (1 + exp(-logit)) - target)
                            slope += residual * change
                            gRow[0] = Float(residual * scale)
                            interceptSums[0] += residual * scale
                            if (logit > 0) == (label == 1) { correct += 1 }
                        } else {
                            var largest = -Double.infinity, best = 0
                            for j in 0..<k {
                                let logit = zRow[j] + b[j] + step * (Double(uRow[j]) + db[j])
                                if logit > largest { largest = logit; best = j }
                            }
                            var sum = 0.0, weighted = 0.0
                            for j in 0..<k {
                                let change = Double(uRow[j]) + db[j]
                                let e = exp(zRow[j] + b[j] + step * change - largest)
                                gRow[j] = Float(e)
                                sum += e
                                weighted += e * change
                            }
                            let ownChange = Double(uRow[label]) + db[label]
                            loss += weight * (largest + log(sum) - (zRow[label] + b[label] + step * ownChange))
                            slope += weight * (weighted / sum - ownChange)
                            if best == label { correct += 1 }
                            let factor = weight * scale / sum
                            for j in 0..<k {
                                let pointwise = Double(gRow[j]) * factor - (j == label ? weight * scale : 0)
                                gRow[j] = Float(pointwise)
                                interceptSums[j] += pointwise
                            }
                        }
                    }
                    sums[2 * block] = loss
                    sums[2 * block + 1] = slope
                    correctOut[block] = correct
                }
            }
        }
        var loss = 0.0, slope = 0.0
        for block in 0..<blockCount {
            loss += blockSums[2 * block]
            slope += blockSums[2 * block + 1]
        }
        probedStep = step
        let value = loss / weightSum
            + 0.5 * strength * (squaredNorm + 2 * step * normDotDirection + step * step * directionSquaredNorm)
        return (value, slope / weightSum + strength * (normDotDirection + step * directionSquaredNorm))
    }

    /// The unweighted mean log loss and the accuracy at the current point, from the logits (no
    /// matrix product).
    func meanLossAndAccuracy() -> (loss: Double, accuracy: Double) {
        let (n, k, rows) = (rowCount, columns, blockRows)
        let z = logits, sums = blockSums, correctOut = blockCorrect
        let b = intercepts
        labels.withUnsafeBufferPointer { labels in
            parallelItems(blockCount, threads: threads) { _, block in
                var loss = 0.0, correct = 0
                for row in (block * rows)..<min(n, (block + 1) * rows) {
                    let label = Int(labels[row])
                    let zRow = z + row * k
                    if k == 1 {
                        let logit = zRow[0] + b[0]
                        let softplus = logit > 0 ? logit + log1p(exp(-logit)) : log1p(exp(logit))
                        loss += softplus - (label == 1 ? logit : 0)
                        if (logit > 0) == (label == 1) { correct += 1 }
                    } else {
                        var largest = -Double.infinity, best = 0
                        for j in 0..<k where zRow[j] + b[j] > largest {
                            largest = zRow[j] + b[j]
                            best = j
                        }
                        var sum = 0.0
                        for j in 0..<k { sum += exp(zRow[j] + b[j] - largest) }
                        loss += largest + log(sum) - zRow[label] - b[label]
                        if best == label { correct += 1 }
                    }
                }
                sums[2 * block] = loss
                correctOut[block] = correct
            }
        }
        var loss = 0.0, correct = 0
        for block in 0..<blockCount {
            loss += blockSums[2 * block]
            correct += blockCorrect[block]
        }
        return (loss / Double(max(n, 1)), Double(correct) / Double(max(n, 1)))
    }

    func accept(_ step: Double, at point: [Double], gradient: inout [Double]) -> Double {
        for i in 0..<(rowCount * columns) { logits[i] += step * Double(directionLogits[i]) }
        for j in 0..<columns { intercepts[j] = point[columns * dimension + j] }
        if probedStep == step {
            // The last probe computed this point's pointwise gradient: only the product is left.
            return finishGradient(at: point, gradient: &gradient)
        }
        return valueAndGradient(at: point, gradient: &gradient)
    }

    /// The objective at the current logits and intercepts, its gradient, and the accuracy.
    private func valueAndGradient(at point: [Double], gradient: inout [Double]) -> Double {
        let (n, k, rows) = (rowCount, columns, blockRows)
        let scale = 1 / weightSum
        let z = logits, g = pointwise, sums = blockSums, correctOut = blockCorrect, interceptOut = blockInterceptGradient
        let b = intercepts
        labels.withUnsafeBufferPointer { labels in
            rowWeights.withUnsafeBufferPointer { weights in
                parallelItems(blockCount, threads: threads) { _, block in
                    let interceptSums = interceptOut + block * k
                    for j in 0..<k { interceptSums[j] = 0 }
                    var loss = 0.0, correct = 0
                    for row in (block * rows)..<min(n, (block + 1) * rows) {
                        let label = Int(labels[row])
                        let zRow = z + row * k, gRow = g + row * k
                        let weight = weights[row]
                        if k == 1 {
                            let logit = zRow[0] + b[0]
                            let target = label == 1 ? 1.0 : 0.0
                            let softplus = logit > 0 ? logit + log1p(exp(-logit)) : log1p(exp(logit))
                            loss += weight * (softplus - target * logit)
                            let pointwise = weight * (1 / (1 + exp(-logit)) - target) * scale
                            gRow[0] = Float(pointwise)
                            interceptSums[0] += pointwise
                            if (logit > 0) == (label == 1) { correct += 1 }
                        } else {
                            var largest = -Double.infinity, best = 0
                            for j in 0..<k where zRow[j] + b[j] > largest {
                                largest = zRow[j] + b[j]
                                best = j
                            }
                            var sum = 0.0
                            for j in 0..<k { sum += exp(zRow[j] + b[j] - largest) }
                            let logSum = largest + log(sum)
                            loss += weight * (logSum - zRow[label] - b[label])
                            if best == label { correct += 1 }
                            for j in 0..<k {
                                let probability = exp(zRow[j] + b[j] - logSum)
                                let pointwise = weight * (probability - (j == label ? 1 : 0)) * scale
                                gRow[j] = Float(pointwise)
                                interceptSums[j] += pointwise
                            }
                        }
                    }
                    sums[2 * block] = loss
                    correctOut[block] = correct
                }
            }
        }
        return finishGradient(at: point, gradient: &gradient)
    }

    /// From the pointwise gradient and the per-block sums of the current point: the objective,
    /// the gradient (`∇W = Gᵀ·X + W/(C·S)`, intercepts `Σ G`) and the accuracy.
    private func finishGradient(at point: [Double], gradient: inout [Double]) -> Double {
        let (n, k, d) = (rowCount, columns, dimension)
        let scale = 1 / weightSum
        probedStep = nil
        parallelProduct(rows: k, columns: d, depth: n, pointwise, k, transposeA: true, features, d,
                        weightGradient, d, accumulate: false, threads: threads)
        var loss = 0.0, correct = 0, penalty = 0.0
        for block in 0..<blockCount {
            loss += blockSums[2 * block]
            correct += blockCorrect[block]
        }
        for i in 0..<(k * d) {
            gradient[i] = Double(weightGradient[i]) + strength * point[i]
            penalty += point[i] * point[i]
        }
        for j in 0..<k {
            var sum = 0.0
            for block in 0..<blockCount { sum += blockInterceptGradient[block * k + j] }
            gradient[k * d + j] = sum
        }
        accuracy = Double(correct) / Double(max(n, 1))
        return loss * scale + 0.5 * strength * penalty
    }
}

extension HeadTrainer {
    /// Fits logistic regression to standardised rows (see `LogisticObjective`).
    ///
    /// `initialParameters` (weights then intercepts, as `LogisticObjective` orders them) starts the
    /// optimiser elsewhere than at zero: cross-validation warm-starts along its path of Cs.
    static func trainLogistic(_ training: LabelledFeatures, validation: LabelledFeatures?, rowWeights: [Double],
                              options: HeadTrainingOptions, initialParameters: [Double]? = nil,
                              progress: (TrainingProgress) -> Void) -> (layers: [DenseLayer], report: TrainingReport, parameters: [Double]) {
        let start = Date()
        let classCount = training.classes.count
        let columns = classCount == 2 ? 1 : classCount
        let d = training.dimension
        return training.features.withUnsafeBufferPointer { features in
            var objective = LogisticObjective(features: features.baseAddress!, rowCount: training.rowCount, dimension: d,
                                              columns: columns, labels: training.labels, rowWeights: rowWeights,
                                              inverseRegularization: options.inverseRegularization, threads: options.threadCount)
            var parameters = initialParameters ?? [Double](repeating: 0, count: objective.parameterCount)
            var minimizer = LBFGSMinimizer()
            minimizer.options.gradientTolerance = options.tolerance
            minimizer.options.maxIterations = options.maxIterations
            var lastValidation: (loss: Double, accuracy: Double)?
            let result = minimizer.minimize(&parameters, objective: &objective) { iteration, value, gradientNorm, iterate, objective in
                var line = TrainingProgress(step: iteration, trainingLoss: value, trainingAccuracy: objective.accuracy,
                                            gradientNorm: gradientNorm)
                if let validation {
                    let layers = logisticLayers(parameters: iterate, dimension: d, classCount: classCount)
                    let metrics = evaluateMetrics(layers: layers, on: validation, threads: options.threadCount)
                    line.validationLoss = metrics.loss
                    line.validationAccuracy = metrics.accuracy
                    lastValidation = metrics
                }
                progress(line)
            }
            let layers = logisticLayers(parameters: parameters, dimension: d, classCount: classCount)
            let final = objective.meanLossAndAccuracy()
            if let validation, lastValidation == nil || result.iterations == 0 {
                lastValidation = evaluateMetrics(layers: layers, on: validation, threads: options.threadCount)
            }
            let reason: String
            switch result.stop {
            case .gradientTolerance:
                reason = "largest gradient component \(String(format: "%.3g", result.gradientNorm)) ≤ tol \(String(format: "%.3g", options.tolerance))"
            case .functionTolerance:
                reason = "objective stopped decreasing (largest gradient component \(String(format: "%.3g", result.gradientNorm)))"
            case .maxIterations:
                reason = "stopped at --max-iter \(options.maxIterations) before converging (largest gradient component \(String(format: "%.3g", result.gradientNorm)) > tol \(String(format: "%.3g", options.tolerance))); raise --max-iter"
            case .lineSearchFailed:
                reason = "stopped: no step decreased the objective further, the float32 precision is exhausted (largest gradient component \(String(format: "%.3g", result.gradientNorm)) > tol \(String(format: "%.3g", options.tolerance)))"
            }
            let report = TrainingReport(
                kind: .logistic, steps: result.iterations, evaluations: result.probes,
                converged: result.stop == .gradientTolerance || result.stop == .functionTolerance, stopReason: reason,
                bestEpoch: nil, trainingLoss: final.loss, trainingAccuracy: final.accuracy,
                validationLoss: lastValidation?.loss, validationAccuracy: lastValidation?.accuracy,
                trainingRows: training.rowCount, validationRows: validation?.rowCount ?? 0,
                seconds: Date().timeIntervalSince(start))
            return (layers, report, parameters)
        }
    }

    /// The Dense layer of a logistic regression's parameters (`columns × D` weights, then
    /// intercepts); a binary model becomes the two columns `(0, w)`.
    static func logisticLayers(parameters: [Double], dimension d: Int, classCount: Int) -> [DenseLayer] {
        let columns = classCount == 2 ? 1 : classCount
        var kernel = [Float](repeating: 0, count: d * classCount)
        var bias = [Float](repeating: 0, count: classCount)
        let firstColumn = classCount == 2 ? 1 : 0
        for j in 0..<columns {
            for i in 0..<d { kernel[i * classCount + firstColumn + j] = Float(parameters[j * d + i]) }
            bias[firstColumn + j] = Float(parameters[columns * d + j])
        }
        return [DenseLayer(kernel: kernel, bias: bias, inputCount: d, outputCount: classCount, rectifies: false)]
    }
}

