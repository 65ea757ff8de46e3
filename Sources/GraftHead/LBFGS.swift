/// An objective that L-BFGS minimises along one search direction at a time.
///
/// `begin` gives the value and gradient at the starting point. For each iteration the minimiser
/// calls `setDirection` once, `probe` for every trial step of the line search (the value and the
/// directional derivative `∇f(x + α·d)·d`), then `accept` for the chosen step, which moves the
/// objective's point there and returns the value and the full gradient. An objective can make
/// probes cheap and consistent by precomputing what a direction changes (logistic regression
/// precomputes `X·d`, so a probe costs no matrix product and its values along the line are
/// smooth functions of the step, free of the rounding noise of recomputing float32 products).
protocol LineSearchObjective {
    mutating func begin(at point: [Double], gradient: inout [Double]) -> Double
    mutating func setDirection(_ direction: [Double], from point: [Double])
    mutating func probe(_ step: Double) -> (value: Double, slope: Double)
    mutating func accept(_ step: Double, at point: [Double], gradient: inout [Double]) -> Double
}

/// A plain objective `f(x)` with its gradient, probed by evaluating it at each trial point.
struct PointwiseObjective: LineSearchObjective {
    var evaluate: (_ point: [Double], _ gradient: inout [Double]) -> Double
    private var origin: [Double] = []
    private var direction: [Double] = []
    private var scratch: [Double] = []

    init(_ evaluate: @escaping (_ point: [Double], _ gradient: inout [Double]) -> Double) {
        self.evaluate = evaluate
    }

    mutating func begin(at point: [Double], gradient: inout [Double]) -> Double {
        evaluate(point, &gradient)
    }

    mutating func setDirection(_ direction: [Double], from point: [Double]) {
        self.direction = direction
        origin = point
        scratch = [Double](repeating: 0, count: point.count)
    }

    mutating func probe(_ step: Double) -> (value: Double, slope: Double) {
        let point = zip(origin, direction).map { $0 + step * $1 }
        let value = evaluate(point, &scratch)
        return (value, dot(scratch, direction))
    }

    mutating func accept(_ step: Double, at point: [Double], gradient: inout [Double]) -> Double {
        evaluate(point, &gradient)
    }
}

/// Limited-memory BFGS for smooth unconstrained minimisation, as scipy's L-BFGS-B runs it for
/// scikit-learn's `lbfgs` solver when no bounds are set.
///
/// - Memory of `memory` correction pairs (scipy's `maxcor`, 10); the two-loop recursion scales
///   the initial inverse Hessian by `sᵀy / yᵀy` of the newest pair.
/// - A line search satisfying the strong Wolfe conditions (`c1` = 1e-4, `c2` = 0.9, scipy's
///   `dcsrch` values), bracketing then zooming with safeguarded cubic interpolation; the first
///   iteration tries the step `1/‖g‖`, later ones the unit step.
/// - Stops when the largest gradient component is at most `gradientTolerance` (scikit-learn's
///   `tol`, scipy's `pgtol` on the projected gradient, which is the gradient without bounds), or
///   when the relative decrease `(f_old − f)/max(|f_old|, |f|, 1)` is at most
///   `functionTolerance` (scikit-learn passes 64 · machine epsilon), or after `maxIterations`.
///
/// The iterate and the correction pairs are `Double`; the objective may compute in any
/// precision.
struct LBFGSMinimizer {
    struct Options {
        var memory = 10
        var gradientTolerance = 1e-4
        var functionTolerance = 64 * Double.ulpOfOne
        var maxIterations = 1000
        var maxLineSearchSteps = 50
    }

    enum Stop: Equatable {
        /// The gradient is below the tolerance.
        case gradientTolerance
        /// The objective stopped decreasing (relative decrease below the tolerance).
        case functionTolerance
        case maxIterations
        /// No step along the search direction decreased the objective enough (the precision
        /// of the objective is exhausted).
        case lineSearchFailed
    }

    struct Result {
        var value: Double
        var gradientNorm: Double
        var iterations: Int
        /// Line-search probes, all iterations together.
        var probes: Int
        var stop: Stop
    }

    var options = Options()

    /// Minimises `objective` from `x`, leaving the minimiser in `x`. `progress` is called after
    /// each iteration with the iteration number, the objective, the gradient's largest
    /// component, the iterate and the objective (positioned at the iterate).
    func minimize<Objective: LineSearchObjective>(
        _ x: inout [Double], objective: inout Objective,
        progress: (_ iteration: Int, _ value: Double, _ gradientNorm: Double, _ iterate: [Double], _ objective: Objective) -> Void
    ) -> Result {
        let n = x.count
        let m = max(1, options.memory)
        var gradient = [Double](repeating: 0, count: n)
        var direction = [Double](repeating: 0, count: n)
        var newGradient = [Double](repeating: 0, count: n)
        var steps = [[Double]](repeating: [Double](repeating: 0, count: n), count: m)
        var changes = [[Double]](repeating: [Double](repeating: 0, count: n), count: m)
        var curvatures = [Double](repeating: 0, count: m)
        var alphas = [Double](repeating: 0, count: m)
        var stored = 0, newest = -1
        var probes = 0

        var value = objective.begin(at: x, gradient: &gradient)
        var gradientNorm = largestMagnitude(gradient)
        if gradientNorm <= options.gradientTolerance {
            return Result(value: value, gradientNorm: gradientNorm, iterations: 0, probes: 0, stop: .gradientTolerance)
        }
        var iteration = 0
        while iteration < options.maxIterations {
            // Search direction: −H·g by the two-loop recursion, or −g without pairs.
            for i in 0..<n { direction[i] = -gradient[i] }
            if stored > 0 {
                var index = newest
                for _ in 0..<stored {
                    alphas[index] = dot(steps[index], direction) / curvatures[index]
                    axpy(-alphas[index], changes[index], &direction)
                    index = (index - 1 + m) % m
                }
                let gamma = curvatures[newest] / dot(changes[newest], changes[newest])
                for i in 0..<n { direction[i] *= gamma }
                index = (newest - stored + 1 + m) % m
                for _ in 0..<stored {
                    let beta = dot(changes[index], direction) / curvatures[index]
                    axpy(alphas[index] - beta, steps[index], &direction)
                    index = (index + 1) % m
                }
            }
            var slope = dot(gradient, direction)
            if !(slope < 0) {
                // Not a descent direction (rounding): restart from steepest descent.
                stored = 0
                for i in 0..<n { direction[i] = -gradient[i] }
                slope = dot(gradient, direction)
            }
            let initialStep = stored == 0 ? min(1 / dot(direction, direction).squareRoot(), 1e10) : 1
            objective.setDirection(direction, from: x)
            let search = lineSearch(value: value, slope: slope, initialStep: initialStep, objective: &objective, probes: &probes)
            guard let step = search else {
                if stored > 0 {
                    // Retry once from steepest descent before giving up.
                    stored = 0
                    continue
                }
                return Result(value: value, gradientNorm: gradientNorm, iterations: iteration, probes: probes, stop: .lineSearchFailed)
            }
            iteration += 1
            let slot = (newest + 1) % m
            for i in 0..<n {
                steps[slot][i] = step * direction[i]
                x[i] += steps[slot][i]
            }
            let previous = value
            value = objective.accept(step, at: x, gradient: &newGradient)
            // s = x_new − x, y = g_new − g; keep the pair when it carries positive curvature.
            for i in 0..<n { changes[slot][i] = newGradient[i] - gradient[i] }
            let curvature = dot(steps[slot], changes[slot])
            if curvature > Double.ulpOfOne * dot(changes[slot], changes[slot]) {
                curvatures[slot] = curvature
                newest = slot
                stored = min(stored + 1, m)
            }
            swap(&gradient, &newGradient)
            gradientNorm = largestMagnitude(gradient)
            progress(iteration, value, gradientNorm, x, objective)
            if gradientNorm <= options.gradientTolerance {
                return Result(value: value, gradientNorm: gradientNorm, iterations: iteration, probes: probes, stop: .gradientTolerance)
            }
            if (previous - value) / max(abs(previous), abs(value), 1) <= options.functionTolerance {
                return Result(value: value, gradientNorm: gradientNorm, iterations: iteration, probes: probes, stop: .functionTolerance)
            }
        }
        return Result(value: value, gradientNorm: gradientNorm, iterations: iteration, probes: probes, stop: .maxIterations)
    }

    /// A step satisfying the strong Wolfe conditions (Nocedal and Wright, algorithms 3.5 and
    /// 3.6), or nil when none decreases the objective.
    private func lineSearch<Objective: LineSearchObjective>(value: Double, slope: Double, initialStep: Double,
                                                           objective: inout Objective, probes: inout Int) -> Double? {
        let decrease = 1e-4, curvature = 0.9
        func sufficient(_ step: Double, _ f: Double) -> Bool { f <= value + decrease * step * slope }
        func flat(_ s: Double) -> Bool { abs(s) <= -curvature * slope }
        func probe(_ step: Double) -> (Double, Double) {
            probes += 1
            return objective.probe(step)
        }

        var budget = options.maxLineSearchSteps
        var previous = (step: 0.0, value: value, slope: slope)
        var step = initialStep
        var low = previous, high = previous
        var bracketed = false
        while budget > 0 {
            budget -= 1
            let (f, s) = probe(step)
            if !f.isFinite {
                // Overflow far along the line: come back closer.
                step = previous.step + 0.1 * (step - previous.step)
                if step <= 0 || step == previous.step { return nil }
                continue
            }
            if !sufficient(step, f) || (previous.step > 0 && f >= previous.value) {
                low = previous
                high = (step, f, s)
                bracketed = true
                break
            }
            if flat(s) { return step }
            if s >= 0 {
                low = (step, f, s)
                high = previous
                bracketed = true
                break
            }
            previous = (step, f, s)
            step *= 4
        }
        guard bracketed else { return previous.step > 0 ? previous.step : nil }
        // Zoom: low satisfies sufficient decrease with the lowest value so far; a step meeting
        // both conditions lies between low and high.
        while budget > 0 {
            budget -= 1
            let width = high.step - low.step
            if abs(width) <= 1e-16 * max(1, abs(low.step)) { break }
            var candidate = cubicMinimizer(low, high) ?? (low.step + high.step) / 2
            let lower = min(low.step, high.step) + 0.1 * abs(width)
            let upper = max(low.step, high.step) - 0.1 * abs(width)
            if !(candidate >= lower && candidate <= upper) { candidate = (low.step + high.step) / 2 }
            let (f, s) = probe(candidate)
            if !f.isFinite || !sufficient(candidate, f) || f >= low.value {
                high = (candidate, f, s)
            } else {
                if flat(s) { return candidate }
                if s * (high.step - low.step) >= 0 { high = low }
                low = (candidate, f, s)
            }
        }
        // The bracket collapsed or the budget ran out: take the best step if it decreased.
        return low.step > 0 && low.value < value ? low.step : nil
    }

    /// The minimiser of the cubic through two points with their values and slopes, if real.
    private func cubicMinimizer(_ a: (step: Double, value: Double, slope: Double),
                                _ b: (step: Double, value: Double, slope: Double)) -> Double? {
        let d1 = a.slope + b.slope - 3 * (a.value - b.value) / (a.step - b.step)
        let radicand = d1 * d1 - a.slope * b.slope
        guard radicand >= 0 else { return nil }
        let d2 = (b.step > a.step ? 1.0 : -1.0) * radicand.squareRoot()
        let denominator = b.slope - a.slope + 2 * d2
        guard denominator != 0 else { return nil }
        let result = b.step - (b.step - a.step) * (b.slope + d2 - d1) / denominator
        return result.isFinite ? result : nil
    }
}

func dot(_ a: [Double], _ b: [Double]) -> Double {
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            var sum = 0.0
            for i in 0..<a.count { sum += a[i] * b[i] }
            return sum
        }
    }
}

/// y += alpha · x
func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
    x.withUnsafeBufferPointer { x in
        y.withUnsafeMutableBufferPointer { y in
            for i in 0..<x.count { y[i] += alpha * x[i] }
        }
    }
}

func largestMagnitude(_ values: [Double]) -> Double {
    values.withUnsafeBufferPointer { values in
        var largest = 0.0
        for value in values { largest = max(largest, abs(value)) }
        return largest
    }
}
