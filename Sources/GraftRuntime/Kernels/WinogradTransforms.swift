// Winograd F(4×4, 3×3)'s input and output transforms (see `WinogradConvolution`), over raw
// pointers and integers only. This one source is compiled twice: here, for plain x86-64, and in
// GraftAVX2Kernels (a symlink there), for AVX2, where each SIMD8 operation is one instruction
// instead of two; the runtime calls that copy when `CPUFeatures.hasAVX2`. Both copies make the
// same additions and multiplications in the same order (Swift does not fuse them into FMAs), so
// they give the same bits. Nothing here may be generic or use generic library code that is not
// inlined: the AVX2 copy must define only its own functions (Tools/check-avx2-isolation.sh).

/// Writes `V[ξ][row][c]` for tiles `firstTile ..< firstTile + tileCount` of one NHWC image: the
/// 6×6 input windows (zero outside the image) transformed by `Bᵀ d B`, eight channels at a time.
/// Position ξ's plane starts `positionStride` floats after the previous one; the first tile
/// goes to row 0. `scratch` holds 36 vectors.
@inline(never)
package func winogradTransformInputs(_ image: UnsafePointer<Float>, height: Int, width: Int, channels c: Int,
                                    padTop: Int, padLeft: Int, tileColumns: Int, firstTile: Int, tileCount: Int,
                                    into v: UnsafeMutablePointer<Float>, positionStride: Int,
                                    scratch d: UnsafeMutablePointer<SIMD8<Float>>) {
    let raw = UnsafeRawPointer(image)
    var local = 0
    while local < tileCount {
        let tile = firstTile + local
        let top = (tile / tileColumns) * 4 - padTop, left = (tile % tileColumns) * 4 - padLeft
        let interior = top >= 0 && left >= 0 && top + 6 <= height && left + 6 <= width
        var c0 = 0
        while c0 < c {
            for i in 0..<6 {
                let y = top + i
                for j in 0..<6 {
                    let x = left + j
                    if interior || (y >= 0 && y < height && x >= 0 && x < width) {
                        d[i * 6 + j] = raw.loadUnaligned(fromByteOffset: ((y * width + x) * c + c0) * 4, as: SIMD8<Float>.self)
                    } else {
                        d[i * 6 + j] = SIMD8<Float>()
                    }
                }
            }
            for j in 0..<6 { inputTransform(d + j, stride: 6) }
            for i in 0..<6 { inputTransform(d + i * 6, stride: 1) }
            let target = UnsafeMutableRawPointer(v) + (local * c + c0) * 4
            for position in 0..<36 {
                target.storeBytes(of: d[position], toByteOffset: position * positionStride * 4, as: SIMD8<Float>.self)
            }
            c0 += 8
        }
        local += 1
    }
}

/// Writes the outputs of tiles `firstTile ..< firstTile + tileCount` of one NHWC image from
/// `M[ξ][row][k]` (row 0 is the first tile; planes `positionStride` floats apart): `Aᵀ m A`
/// plus `bias` (and the residual already in `image` when `accumulates`), then ReLU when `relu`,
/// cropped at the image's edges. `scratch` holds 36 vectors.
@inline(never)
package func winogradTransformOutputs(_ m: UnsafePointer<Float>, positionStride: Int, outputHeight: Int, outputWidth: Int,
                                     channels k: Int, tileColumns: Int, firstTile: Int, tileCount: Int,
                                     bias: UnsafePointer<Float>?, accumulates: Bool, relu: Bool,
                                     into image: UnsafeMutablePointer<Float>, scratch p: UnsafeMutablePointer<SIMD8<Float>>) {
    let raw = UnsafeRawPointer(m), out = UnsafeMutableRawPointer(image)
    var local = 0
    while local < tileCount {
        let tile = firstTile + local
        let top = (tile / tileColumns) * 4, left = (tile % tileColumns) * 4
        let rows = min(4, outputHeight - top), columns = min(4, outputWidth - left)
        var k0 = 0
        while k0 < k {
            let source = raw + (local * k + k0) * 4
            for position in 0..<36 {
                p[position] = source.loadUnaligned(fromByteOffset: position * positionStride * 4, as: SIMD8<Float>.self)
            }
            for j in 0..<6 { outputTransform(p + j, stride: 6) }
            for i in 0..<4 { outputTransform(p + i * 6, stride: 1) }
            var offset = SIMD8<Float>()
            if let bias { offset = UnsafeRawPointer(bias).loadUnaligned(fromByteOffset: k0 * 4, as: SIMD8<Float>.self) }
            for i in 0..<rows {
                for j in 0..<columns {
                    let byteOffset = (((top + i) * outputWidth + left + j) * k + k0) * 4
                    var value = p[i * 6 + j] + offset
                    if accumulates { value = out.loadUnaligned(fromByteOffset: byteOffset, as: SIMD8<Float>.self) + value }
                    if relu { value = value.replacing(with: 0, where: value .<= 0) }
                    out.storeBytes(of: value, toByteOffset: byteOffset, as: SIMD8<Float>.self)
                }
            }
            k0 += 8
        }
        local += 1
    }
}

/// `Bᵀ·d` along six values `stride` apart, in place.
@inline(__always)
private func inputTransform(_ p: UnsafeMutablePointer<SIMD8<Float>>, stride s: Int) {
    let d0 = p[0], d1 = p[s], d2 = p[2 * s], d3 = p[3 * s], d4 = p[4 * s], d5 = p[5 * s]
    p[0] = 4 * d0 - 5 * d2 + d4
    p[s] = (d4 + d3) - 4 * (d1 + d2)
    p[2 * s] = (d4 - d3) + 4 * (d1 - d2)
    p[3 * s] = (d4 - d2) + 2 * (d3 - d1)
    p[4 * s] = (d4 - d2) - 2 * (d3 - d1)
    p[5 * s] = 4 * d1 - 5 * d3 + d5
}

/// `Aᵀ·m` along six values `stride` apart, in place: the first four take the result.
@inline(__always)
private func outputTransform(_ p: UnsafeMutablePointer<SIMD8<Float>>, stride s: Int) {
    let m0 = p[0], m1 = p[s], m2 = p[2 * s], m3 = p[3 * s], m4 = p[4 * s], m5 = p[5 * s]
    let sum12 = m1 + m2, difference12 = m1 - m2, sum34 = m3 + m4, difference34 = m3 - m4
    p[0] = m0 + sum12 + sum34
    p[s] = difference12 + 2 * difference34
    p[2 * s] = sum12 + 4 * sum34
    p[3 * s] = difference12 + 8 * difference34 + m5
}
