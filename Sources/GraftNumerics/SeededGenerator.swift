/// SplitMix64 (Steele, Lea and Flood): a 64-bit counter passed through a mixing function.
///
/// Used to fill `SeededGenerator`'s state from a seed, so that nearby seeds (0, 1, 2…) give
/// unrelated states; a fine generator in its own right for filling test data.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    @inlinable
    public init(seed: UInt64) {
        state = seed
    }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A seeded pseudo-random generator (xoshiro256** by Blackman and Vigna, state filled by
/// SplitMix64 from the seed and stream).
///
/// graft's own generator rather than the system's, so that a training run or a bootstrap with
/// a given seed shuffles, splits, initialises, drops out and resamples identically on every
/// platform and Swift version: every draw, including the bounded integers and the shuffle, is
/// computed here, not by the standard library.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    @usableFromInline
    var state: (UInt64, UInt64, UInt64, UInt64)

    /// The generator of `seed`'s stream `stream`.
    ///
    /// Streams (e.g. one per bootstrap replicate, so that replicates do not depend on which
    /// thread runs them) start from `seed ^ (stream · 0xD1B5_4A32_D192_ED03)`, and are
    /// independent for practical purposes; stream 0 is the seed itself.
    public init(seed: UInt64, stream: UInt64 = 0) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = (mixer.next(), mixer.next(), mixer.next(), mixer.next())
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = Self.rotate(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = Self.rotate(state.3, 45)
        return result
    }

    /// A uniform float in [0, 1) with 24 random bits.
    @inlinable
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-and-reject, unbiased): the high word
    /// of `next() · bound`, drawing again while the low word falls in the biased remainder.
    @inlinable
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "the bound must be positive")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// Shuffles `array` in place (Fisher–Yates from the end, with this generator's draws).
    public mutating func shuffle<Element>(_ array: inout [Element]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, nextIndex(below: i + 1))
        }
    }

    @inlinable
    static func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}
