#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The standard normal distribution's tail and quantile functions, to double precision.
///
/// The upper tail uses the C library's `erfc`, correct to about one unit in the last place over
/// the whole range, so p-values far in the tail keep their relative precision. The quantile
/// starts from Abramowitz & Stegun's rational approximation 26.2.23 (error < 4.5e-4) and takes
/// Halley steps on the tail function, which triple the correct digits each time; three steps
/// reach the limit of double precision (checked against R's `qnorm` in the tests).
public enum NormalDistribution {
    /// P(Z > x).
    public static func upperTail(_ x: Double) -> Double {
        0.5 * erfc(x / 2.0.squareRoot())
    }

    /// P(Z ≤ x).
    public static func cumulative(_ x: Double) -> Double {
        0.5 * erfc(-x / 2.0.squareRoot())
    }

    /// The x with P(Z ≤ x) = p, for 0 < p < 1 (−∞ and +∞ at 0 and 1, NaN outside).
    public static func quantile(_ p: Double) -> Double {
        guard p > 0, p < 1 else {
            if p == 0 { return -.infinity }
            if p == 1 { return .infinity }
            return .nan
        }
        // Solve in the upper tail for the smaller of p and 1 − p, so tiny tails keep their digits.
        let upper = p > 0.5
        let tail = upper ? 1 - p : p
        let t = (-2 * log(tail)).squareRoot()
        var x = t - (2.515517 + 0.802853 * t + 0.010328 * t * t)
            / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
        // Halley's method on f(x) = Q(x) − tail, Q the upper tail: f' = −φ(x), f'' = x φ(x).
        let inverseRootTwoPi = 1 / (2 * Double.pi).squareRoot()
        for _ in 0..<4 {
            let density = inverseRootTwoPi * exp(-0.5 * x * x)
            guard density > 0 else { break }
            let u = (upperTail(x) - tail) / density
            let step = u / (1 - 0.5 * x * u)
            x += step
            if abs(step) <= 1e-17 * max(1, abs(x)) { break }
        }
        return upper ? x : -x
    }
}
