import ArgumentParser
import GraftFeatureCache
import Foundation
import GraftSupport
import GraftHead
/// `graft train CACHE.h5 -o HEAD.graft …`: a classifier head on cached features.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a classifier head (logistic regression or a one-hidden-layer MLP) on a feature cache.",
        discussion: """
            logistic is scikit-learn's LogisticRegression (multinomial, binary with two classes) \
            after StandardScaler: it minimises ½‖W‖² + C·Σ loss with L-BFGS to --tol. mlp is one \
            hidden ReLU layer with dropout, trained with Adam on minibatches, keeping the epoch with \
            the lowest validation loss (early stopping after --patience epochs). Validation rows come \
            from --val or a stratified --val-split (default 0.1 for mlp, none for logistic). Progress \
            goes to stderr; the head is a .graft model whose input is the cache layer.
            """)

    @Argument(help: "The feature cache (HDF5) to train on.")
    var cache: String

    @Option(name: .shortAndLong, help: "The head to write (.graft).")
    var output: String

    @Option(help: "The cache layer to train on (default: the cache's only layer).")
    var layer: String?

    @Option(help: "A second cache with validation rows (same model, layer, pooling and classes).")
    var val: String?

    @Option(name: .customLong("val-split"), help: "Hold out this fraction of each class for validation.")
    var valSplit: Double?

    @Option(help: "logistic or mlp.")
    var model: String = "logistic"

    @Option(name: .customLong("C"), help: "Logistic: inverse regularisation strength, as scikit-learn's C.")
    var inverseRegularization: Double = 1

    @Option(help: "Logistic: stop when the largest gradient component is at most this (scikit-learn's tol; 1e-6 gets closer to the optimum).")
    var tol: Double = 1e-4

    @Option(name: .customLong("max-iter"), help: "Logistic: the L-BFGS iteration limit.")
    var maxIterations: Int = 1000

    @Option(help: "MLP: hidden units (with --cv, a comma-separated list to choose from).")
    var hidden: String = "256"

    @Option(help: "MLP: dropout rate of the hidden layer (with --cv, a comma-separated list to choose from).")
    var dropout: String = "0.5"

    @Option(help: "Choose C (logistic) or --hidden and --dropout (mlp) by K-fold cross-validation, then refit on all rows.")
    var cv: Int?

    @Option(name: .customLong("Cs"), help: "With --cv: try N values of C, np.logspace(-4, 4, N) as scikit-learn's LogisticRegressionCV. (default: 10)")
    var cs: Int?

    @Option(name: .customLong("C-grid"), help: "With --cv: the values of C to try, comma-separated (e.g. 0.01,0.1,1).")
    var cGrid: String?

    @Option(help: "With --cv: accuracy, neg_log_loss or roc_auc (one-vs-rest macro with more than two classes).")
    var scoring: String = "accuracy"

    @Option(help: "With --cv: keep each group's rows in one fold. A TSV file of 'id<TAB>group' lines, or else a regular expression on the id whose first capture group (or whole match) is the group.")
    var groups: String?

    @Flag(name: .customLong("group-kfold"), help: "With --groups: scikit-learn's GroupKFold (balances fold sizes) instead of StratifiedGroupKFold (also balances classes).")
    var groupKFold = false

    @Option(help: "MLP: the most epochs to run.")
    var epochs: Int = 100

    @Option(help: "MLP: rows per minibatch.")
    var batch: Int = 64

    @Option(help: "MLP: Adam's learning rate.")
    var lr: Double = 1e-3

    @Option(help: "MLP: epochs without a lower validation loss before stopping.")
    var patience: Int = 5

    @Option(name: .customLong("class-weight"), help: "none, or balanced (weights n / (k · n_class), as scikit-learn).")
    var classWeight: String = "none"

    @Flag(name: .customLong("no-standardize"), help: "Train on the raw features (no StandardScaler).")
    var noStandardize = false

    @Option(help: "Seed of the validation split, the MLP's initialisation, shuffling and dropout.")
    var seed: UInt64 = 0

    @Option(help: "Threads for the matrix products (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Only the summary line on stderr.")
    var quiet = false

    func validate() throws {
        guard HeadKind(rawValue: model) != nil else { throw ValidationError("--model must be logistic or mlp, not '\(model)'") }
        guard ClassWeighting(rawValue: classWeight) != nil else {
            throw ValidationError("--class-weight must be none or balanced, not '\(classWeight)'")
        }
        guard val == nil || valSplit == nil else { throw ValidationError("give --val or --val-split, not both") }
        if let valSplit, !(valSplit > 0 && valSplit < 1) { throw ValidationError("--val-split must be between 0 and 1, e.g. 0.1") }
        guard inverseRegularization > 0, inverseRegularization.isFinite else { throw ValidationError("--C must be a positive number") }
        guard tol > 0 else { throw ValidationError("--tol must be positive") }
        guard maxIterations >= 1 else { throw ValidationError("--max-iter must be 1 or more") }
        let hiddenSizes = try hiddenList(), dropoutRates = try dropoutList()
        guard hiddenSizes.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--hidden must be 1 or more") }
        guard dropoutRates.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw ValidationError("--dropout must be in [0, 1)") }
        if let cv {
            guard cv >= 2 else { throw ValidationError("--cv must be 2 or more") }
            guard cs == nil || cGrid == nil else { throw ValidationError("give --Cs or --C-grid, not both") }
            if let cs, cs < 1 { throw ValidationError("--Cs must be 1 or more") }
            _ = try inverseRegularizationGrid()
            guard CrossValidationScoring(rawValue: scoring) != nil else {
                throw ValidationError("--scoring must be accuracy, neg_log_loss or roc_auc, not '\(scoring)'")
            }
        } else {
            guard cs == nil, cGrid == nil, groups == nil, !groupKFold, scoring == "accuracy" else {
                throw ValidationError("--Cs, --C-grid, --scoring, --groups and --group-kfold need --cv")
            }
            guard hiddenSizes.count == 1, dropoutRates.count == 1 else {
                throw ValidationError("lists of --hidden or --dropout values need --cv to choose between them")
            }
        }
        if groupKFold && groups == nil { throw ValidationError("--group-kfold needs --groups") }
        guard epochs >= 1, batch >= 1, patience >= 1 else { throw ValidationError("--epochs, --batch and --patience must be 1 or more") }
        guard lr > 0 else { throw ValidationError("--lr must be positive") }
        guard threads >= 1 else { throw ValidationError("--threads must be 1 or more") }
    }

    func run() throws {
        let kind = HeadKind(rawValue: model)!
        let trainingCache = try FeatureCache(path: cache)
        let layer = try chooseLayer(trainingCache)
        var rows = try LabelledFeatures(cache: trainingCache, layer: layer)
        guard rows.rowCount > 0 else { throw HeadError.noLabels(cache: cache) }
        if rows.unlabelledCount > 0 {
            printDiagnostic("note: left out \(rows.unlabelledCount) unlabelled row\(rows.unlabelledCount == 1 ? "" : "s") of '\(cache)'")
        }

        var validation: LabelledFeatures?
        if let val {
            let validationCache = try FeatureCache(path: val)
            try checkCompatible(validationCache, with: trainingCache, layer: layer)
            validation = try LabelledFeatures(cache: validationCache, layer: layer)
            if validation!.rowCount == 0 { throw HeadError.noLabels(cache: val) }
        } else if let fraction = valSplit ?? (kind == .mlp ? 0.1 : nil) {
            try HeadTrainer.checkTrainable(rows, validation: nil)
            let split = try rows.stratifiedSplit(fraction: fraction, seed: seed)
            rows = split.training
            validation = split.validation
        }

        let options = HeadTrainingOptions(
            kind: kind, inverseRegularization: inverseRegularization, tolerance: tol, maxIterations: maxIterations,
            hiddenUnits: try hiddenList()[0], dropout: try dropoutList()[0], epochs: epochs, batchSize: batch, learningRate: lr, patience: patience,
            classWeighting: ClassWeighting(rawValue: classWeight)!, standardizes: !noStandardize, seed: seed, threadCount: threads)
        try HeadTrainer.checkTrainable(rows, validation: validation)
        var crossValidation: CrossValidationOptions?
        if let cv {
            crossValidation = CrossValidationOptions(
                folds: cv, inverseRegularizations: try inverseRegularizationGrid(), hiddenUnits: try hiddenList(),
                dropouts: try dropoutList(), scoring: CrossValidationScoring(rawValue: scoring)!,
                groups: try groups.map { try GroupAssignment.groups(of: rows.ids, from: $0, cache: cache) },
                stratifiesGroups: !groupKFold)
        }
        let trainingRows = rows.rowCount, dimension = rows.dimension, classCount = rows.classes.count
        let validationRows = validation?.rowCount ?? 0
        if !quiet {
            printDiagnostic("training \(kind.rawValue) on \(trainingRows) rows × \(dimension) features of '\(layer)', \(classCount) classes"
                + (validationRows > 0 ? ", \(validationRows) validation rows" : ""))
        }
        let quiet = self.quiet
        let head = try HeadTrainer.train(rows, validation: validation, options: options, crossValidation: crossValidation) { line in
            guard !quiet else { return }
            var text = (kind == .logistic ? "iteration \(line.step): objective " : "epoch \(line.step): loss ") + format(line.trainingLoss)
                + " accuracy " + String(format: "%.4f", line.trainingAccuracy)
            if let loss = line.validationLoss, let accuracy = line.validationAccuracy {
                text += ", validation loss " + format(loss) + " accuracy " + String(format: "%.4f", accuracy)
            }
            if let gradient = line.gradientNorm { text += ", gradient " + String(format: "%.3g", gradient) }
            printDiagnostic(text)
        }

        if let result = head.crossValidation { result.table(full: !quiet).split(separator: "\n").forEach { printDiagnostic(String($0)) } }
        try head.write(to: output, source: HeadSource(cachePath: cache, cache: trainingCache.provenance, cacheRows: trainingCache.rowCount),
                       options: options)

        let report = head.report
        if !report.converged { printDiagnostic("note: " + report.stopReason) }
        var summary = "wrote '\(output)': \(kind.rawValue), \(classCount) classes, \(report.trainingRows) rows; "
        summary += kind == .logistic ? "\(report.steps) iterations (\(report.evaluations) line-search steps)"
            : "\(report.steps) epochs, kept epoch \(report.bestEpoch ?? report.steps)"
        summary += String(format: " in %.2f s; training accuracy %.4f loss %@", report.seconds, report.trainingAccuracy, format(report.trainingLoss))
        if let accuracy = report.validationAccuracy, let loss = report.validationLoss {
            summary += String(format: "; validation accuracy %.4f loss %@", accuracy, format(loss))
        }
        if report.converged && kind == .logistic { summary += "; " + report.stopReason }
        printDiagnostic(summary)
    }

    private func hiddenList() throws -> [Int] {
        try hidden.split(separator: ",").map {
            guard let value = Int($0.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--hidden takes whole numbers, not '\($0)'") }
            return value
        }
    }

    private func dropoutList() throws -> [Double] {
        try dropout.split(separator: ",").map {
            guard let value = Double($0.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--dropout takes numbers, not '\($0)'") }
            return value
        }
    }

    /// The Cs that --cv tries: --C-grid as given, or np.logspace(-4, 4, --Cs).
    private func inverseRegularizationGrid() throws -> [Double] {
        guard let cGrid else { return CrossValidationOptions.logarithmicGrid(count: cs ?? 10) }
        let values = try cGrid.split(separator: ",").map {
            guard let value = Double($0.trimmingCharacters(in: .whitespaces)), value > 0, value.isFinite else {
                throw ValidationError("--C-grid takes positive numbers, not '\($0)'")
            }
            return value
        }
        guard !values.isEmpty else { throw ValidationError("--C-grid needs at least one value") }
        return values
    }

    private func chooseLayer(_ cache: FeatureCache) throws -> String {
        if let layer {
            _ = try cache.dimension(of: layer)
            return layer
        }
        guard cache.layers.count == 1 else {
            throw ValidationError("the cache '\(self.cache)' holds layers \(cache.layers.map { "'\($0)'" }.joined(separator: ", ")); choose one with --layer")
        }
        return cache.layers[0]
    }

    private func checkCompatible(_ validation: FeatureCache, with training: FeatureCache, layer: String) throws {
        let pairs: [(String, String, String)] = [
            ("model SHA-256", validation.provenance.modelSHA256, training.provenance.modelSHA256),
            ("pooling", validation.provenance.pooling.rawValue, training.provenance.pooling.rawValue),
            ("preprocessing", validation.provenance.preprocessing, training.provenance.preprocessing),
        ]
        for (what, found, expected) in pairs where found != expected {
            throw HeadError.validationMismatch(cache: validation.path, training: training.path, what: what,
                                              validation: found, expected: expected)
        }
        guard validation.layers.contains(layer) else {
            throw HeadError.validationMismatch(cache: validation.path, training: training.path, what: "layers",
                                              validation: validation.layers.map { "'\($0)'" }.joined(separator: ", "),
                                              expected: "'\(layer)'")
        }
        if validation.classes != training.classes {
            throw HeadError.validationMismatch(cache: validation.path, training: training.path, what: "classes",
                                              validation: "[\(validation.classes.joined(separator: ","))]",
                                              expected: "[\(training.classes.joined(separator: ","))]")
        }
    }
}

/// A loss with four significant digits.
private func format(_ value: Double) -> String { String(format: "%.4g", value) }
