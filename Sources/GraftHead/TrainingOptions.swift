import Foundation
/// The kind of head `graft train` fits.
public enum HeadKind: String, Sendable, CaseIterable {
    /// Multinomial logistic regression (binary with two classes), scikit-learn's objective.
    case logistic
    /// One hidden ReLU layer with dropout, trained with Adam and early stopping.
    case mlp
}

/// How the loss weighs the classes.
public enum ClassWeighting: String, Sendable, CaseIterable {
    /// Every row counts once.
    case none
    /// Row weight `n / (k · n_c)`, scikit-learn's `class_weight="balanced"`.
    case balanced
}

/// The settings of one training run.
public struct HeadTrainingOptions: Sendable {
    public var kind: HeadKind
    /// Inverse regularisation strength of logistic regression (scikit-learn's `C`).
    public var inverseRegularization: Double
    /// Logistic regression stops when the largest gradient component of scikit-learn's scaled
    /// objective is at most this (scikit-learn's `tol`, default 1e-4 as in scikit-learn). On
    /// nearly separable features 1e-4 can leave probabilities 1e-2 from the optimum; 1e-6 gets
    /// within 1e-3, and below that the float32 gradient is noise and the run ends when the
    /// objective stops decreasing.
    public var tolerance: Double
    /// The L-BFGS iteration limit.
    public var maxIterations: Int
    /// MLP hidden units.
    public var hiddenUnits: Int
    /// MLP dropout rate on the hidden layer, in [0, 1).
    public var dropout: Double
    public var epochs: Int
    public var batchSize: Int
    /// Adam's learning rate.
    public var learningRate: Double
    /// Epochs without a lower validation loss before the MLP stops.
    public var patience: Int
    public var classWeighting: ClassWeighting
    /// Standardise the features first (scikit-learn's `StandardScaler`).
    public var standardizes: Bool
    public var seed: UInt64
    /// Threads for the matrix products and the per-row work (OpenBLAS itself runs single-threaded
    /// inside each product). The trained head is bit-identical whatever the count.
    public var threadCount: Int

    public init(kind: HeadKind = .logistic, inverseRegularization: Double = 1, tolerance: Double = 1e-4,
                maxIterations: Int = 1000, hiddenUnits: Int = 256, dropout: Double = 0.5, epochs: Int = 100,
                batchSize: Int = 64, learningRate: Double = 1e-3, patience: Int = 5, classWeighting: ClassWeighting = .none,
                standardizes: Bool = true, seed: UInt64 = 0,
                threadCount: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.kind = kind
        self.inverseRegularization = inverseRegularization
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.hiddenUnits = hiddenUnits
        self.dropout = dropout
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.patience = patience
        self.classWeighting = classWeighting
        self.standardizes = standardizes
        self.seed = seed
        self.threadCount = threadCount
    }
}

/// One line of training progress: an L-BFGS iteration or an MLP epoch.
public struct TrainingProgress: Sendable {
    /// The iteration (logistic) or epoch (MLP), from 1.
    public var step: Int
    /// Logistic: scikit-learn's objective (mean weighted log loss plus penalty). MLP: the mean
    /// weighted cross-entropy of the epoch's minibatches (with dropout).
    public var trainingLoss: Double
    public var trainingAccuracy: Double
    /// Mean cross-entropy on the validation rows (unweighted), if there are any.
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    /// Logistic: the largest gradient component, compared with the tolerance.
    public var gradientNorm: Double?
}

/// How a run ended.
public struct TrainingReport: Sendable {
    public var kind: HeadKind
    /// Iterations (logistic) or epochs (MLP) run.
    public var steps: Int
    /// Line-search probes (logistic: each a pass over the rows without a matrix product) or
    /// minibatch steps (MLP).
    public var evaluations: Int
    /// Logistic: the optimiser met a tolerance. MLP: true.
    public var converged: Bool
    /// Why the run stopped, in words (`gradient below 1e-04`, `early stopping`, …).
    public var stopReason: String
    /// The epoch whose weights were kept (MLP).
    public var bestEpoch: Int?
    public var trainingLoss: Double
    public var trainingAccuracy: Double
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var trainingRows: Int
    public var validationRows: Int
    public var seconds: Double
}
