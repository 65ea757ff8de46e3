extension Float {
    /// The value of an IEEE 754 half-precision (binary16) bit pattern, exactly: every half value
    /// is a float. Exponent 0 is zero or a subnormal (fraction · 2^-24), exponent 31 infinity or
    /// NaN (the fraction kept as the payload), the rest rebias 15 → 127.
    public init(halfBits bits: UInt16) {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int(bits >> 10) & 0x1f
        let fraction = UInt32(bits & 0x3ff)
        switch exponent {
        case 0:
            let magnitude = Float(fraction) * Float(sign: .plus, exponent: -24, significand: 1)
            self = sign != 0 ? -magnitude : magnitude
        case 0x1f:
            self = Float(bitPattern: sign | 0x7f80_0000 | (fraction << 13))
        default:
            self = Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (fraction << 13))
        }
    }
}
