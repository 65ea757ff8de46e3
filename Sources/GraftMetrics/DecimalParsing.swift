#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Correctly rounded decimal-to-double conversion, fast for the common case.
///
/// Clinger's fast path: when the digits form an integer M ≤ 2⁵³ and the decimal exponent e has
/// |e| ≤ 22, both M and 10^|e| are exact doubles, so the one multiplication or division IEEE
/// rounds correctly is the correctly rounded value. Scores written with up to 15 significant
/// digits (float32 probabilities need 9) take this path. Anything else — more digits, large
/// exponents, `inf`, `nan`, hexadecimal — goes to the C library's `strtod`, which glibc rounds
/// correctly too. Either way the result is the double nearest the text, as NumPy and pandas'
/// round-trip parser read it, which the 1e-12 parity with scikit-learn relies on.
enum DecimalParsing {
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Parses the number starting at `start`; returns it and the first byte after it, or nil if
    /// no number starts there. The buffer must be NUL-terminated somewhere after `start`.
    @inline(__always)
    static func parse(_ start: UnsafePointer<UInt8>) -> (value: Double, end: UnsafePointer<UInt8>)? {
        var p = start
        var negative = false
        if p[0] == UInt8(ascii: "-") { negative = true; p += 1 } else if p[0] == UInt8(ascii: "+") { p += 1 }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var exponent = 0
        var sawDigit = false
        var tooLong = false
        while true {
            let digit = p[0] &- 48
            if digit > 9 { break }
            sawDigit = true
            if mantissa != 0 || digit != 0 {
                if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(digit)
                    significantDigits += 1
                } else {
                    tooLong = true
                }
            }
            p += 1
        }
        if p[0] == UInt8(ascii: ".") {
            p += 1
            while true {
                let digit = p[0] &- 48
                if digit > 9 { break }
                sawDigit = true
                if mantissa != 0 || digit != 0 {
                    if significantDigits < 19 {
                        mantissa = mantissa &* 10 &+ UInt64(digit)
                        significantDigits += 1
                        exponent -= 1
                    } else {
                        tooLong = true
                    }
                } else {
                    exponent -= 1
                }
                p += 1
            }
        }
        guard sawDigit else { return slowParse(start) }
        if p[0] | 0x20 == UInt8(ascii: "e") {
            var q = p + 1
            var exponentNegative = false
            if q[0] == UInt8(ascii: "-") { exponentNegative = true; q += 1 } else if q[0] == UInt8(ascii: "+") { q += 1 }
            var written = 0
            var sawExponentDigit = false
            while true {
                let digit = q[0] &- 48
                if digit > 9 { break }
                sawExponentDigit = true
                if written < 100_000 { written = written * 10 + Int(digit) }
                q += 1
            }
            guard sawExponentDigit else { return slowParse(start) }
            exponent += exponentNegative ? -written : written
            p = q
        }
        if tooLong { return slowParse(start) }
        if mantissa == 0 { return (negative ? -0.0 : 0.0, p) }
        guard mantissa <= 1 << 53, exponent >= -22, exponent <= 22 else { return slowParse(start) }
        var value = Double(mantissa)
        value = exponent < 0 ? value / powersOfTen[-exponent] : value * powersOfTen[exponent]
        return (negative ? -value : value, p)
    }

    private static func slowParse(_ start: UnsafePointer<UInt8>) -> (value: Double, end: UnsafePointer<UInt8>)? {
        // strtod skips leading white space, line breaks included (an empty last field would
        // take the next line's number); a field must not start with any of it.
        if start[0] == 0 || [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains(start[0]) { return nil }
        return start.withMemoryRebound(to: CChar.self, capacity: 1) { text in
            var end: UnsafeMutablePointer<CChar>? = nil
            let value = strtod(text, &end)
            guard let end, end != UnsafeMutablePointer(mutating: text) else { return nil }
            let consumed = UnsafePointer<CChar>(end) - text
            return (value, start + consumed)
        }
    }
}
