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
/// goes to row 0. `scratch` holds 72 vectors.
///
/// Each column of a window is loaded straight from the image (an interior tile) or from a
/// zero-padded copy (a tile at the edge), transformed along its six rows (`Bᵀ d`) into the
/// scratch, and each row of that is transformed along its six columns (`· B`) and stored straight
/// to its plane: 36 loads, 36 stores and 36 reloads of the scratch and 36 stores a window, with
/// index arithmetic that cannot trap in the loop. The additions and multiplications, and their
/// order, are those of the formulas in `inputTransform`, whichever path a tile takes.
@inline(never)
package func winogradTransformInputs(_ image: UnsafePointer<Float>, height: Int, width: Int, channels c: Int,
                                    padTop: Int, padLeft: Int, tileColumns: Int, firstTile: Int, tileCount: Int,
                                    into v: UnsafeMutablePointer<Float>, positionStride: Int,
                                    scratch: UnsafeMutablePointer<SIMD8<Float>>) {
    let raw = UnsafeRawPointer(image)
    let half = UnsafeMutableRawPointer(scratch)
    let window = UnsafeMutableRawPointer(scratch + 36)
    let planeBytes = positionStride &* 4
    let pixelBytes = c &* 4, lineBytes = width &* c &* 4
    var local = 0
    while local < tileCount {
        let tile = firstTile &+ local
        let top = (tile / tileColumns) &* 4 &- padTop, left = (tile % tileColumns) &* 4 &- padLeft
        let interior = top >= 0 && left >= 0 && top &+ 6 <= height && left &+ 6 <= width
        let target = UnsafeMutableRawPointer(v) + local &* c &* 4
        var c0 = 0
        while c0 < c {
            // The window's source: the image itself, or its zero-padded copy in `window`.
            let source: UnsafeRawPointer, rowBytes: Int, columnBytes: Int
            if interior {
                source = raw + ((top &* width &+ left) &* c &+ c0) &* 4
                (rowBytes, columnBytes) = (lineBytes, pixelBytes)
            } else {
                for i in 0..<6 {
                    let y = top &+ i
                    for j in 0..<6 {
                        let x = left &+ j
                        var value = SIMD8<Float>()
                        if y >= 0 && y < height && x >= 0 && x < width {
                            value = raw.loadUnaligned(fromByteOffset: ((y &* width &+ x) &* c &+ c0) &* 4, as: SIMD8<Float>.self)
                        }
                        window.storeBytes(of: value, toByteOffset: (i &* 6 &+ j) &* 32, as: SIMD8<Float>.self)
                    }
                }
                source = UnsafeRawPointer(window)
                (rowBytes, columnBytes) = (6 * 32, 32)
            }
            // Bᵀ d: each column along its rows, into `half` (row-major 6×6).
            for j in 0..<6 {
                let column = source + j &* columnBytes
                let t = inputTransform(sixVectors(column, rowBytes))
                let out = half + j &* 32
                out.storeBytes(of: t.0, as: SIMD8<Float>.self)
                out.storeBytes(of: t.1, toByteOffset: 6 * 32, as: SIMD8<Float>.self)
                out.storeBytes(of: t.2, toByteOffset: 12 * 32, as: SIMD8<Float>.self)
                out.storeBytes(of: t.3, toByteOffset: 18 * 32, as: SIMD8<Float>.self)
                out.storeBytes(of: t.4, toByteOffset: 24 * 32, as: SIMD8<Float>.self)
                out.storeBytes(of: t.5, toByteOffset: 30 * 32, as: SIMD8<Float>.self)
            }
            // (Bᵀ d) B: each row along its columns, to the planes of positions 6i ..< 6i + 6.
            let channelTarget = target + c0 &* 4
            for i in 0..<6 {
                let row = UnsafeRawPointer(half) + i &* (6 * 32)
                let t = inputTransform(sixVectors(row, 32))
                let out = channelTarget + (i &* 6) &* planeBytes
                out.storeBytes(of: t.0, as: SIMD8<Float>.self)
                out.storeBytes(of: t.1, toByteOffset: planeBytes, as: SIMD8<Float>.self)
                out.storeBytes(of: t.2, toByteOffset: 2 &* planeBytes, as: SIMD8<Float>.self)
                out.storeBytes(of: t.3, toByteOffset: 3 &* planeBytes, as: SIMD8<Float>.self)
                out.storeBytes(of: t.4, toByteOffset: 4 &* planeBytes, as: SIMD8<Float>.self)
                out.storeBytes(of: t.5, toByteOffset: 5 &* planeBytes, as: SIMD8<Float>.self)
            }
            c0 &+= 8
        }
        local &+= 1
    }
}

/// Writes the outputs of tiles `firstTile ..< firstTile + tileCount` of one NHWC image from
/// `M[ξ][row][k]` (row 0 is the first tile; planes `positionStride` floats apart): `Aᵀ m A`
/// plus `bias` (and the residual already in `image` when `accumulates`), then ReLU when `relu`,
/// cropped at the image's edges. `scratch` holds 36 vectors. With `pooled`, `image` is instead
/// the output of a 2×2, stride-2 max pooling of that result (`outputHeight` and `outputWidth`
/// even): each tile's 4×4 outputs, finished as above, give its 2×2 pooled ones, each the running
/// maximum over its window in row-major order from −∞, as `MaxPooling` computes it.
///
/// Each column of `m` is loaded straight from its six planes and transformed along its rows
/// (`Aᵀ m`, four results into the scratch); each of the four rows of that is transformed along
/// its columns (`· A`) and finished (bias, residual, ReLU) on its way to the image. The
/// additions and their order are those of `outputTransform` and of the finishing steps, on
/// every path.
@inline(never)
package func winogradTransformOutputs(_ m: UnsafePointer<Float>, positionStride: Int, outputHeight: Int, outputWidth: Int,
                                     channels k: Int, tileColumns: Int, firstTile: Int, tileCount: Int,
                                     bias: UnsafePointer<Float>?, accumulates: Bool, relu: Bool, pooled: Bool,
                                     into image: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<SIMD8<Float>>) {
    let raw = UnsafeRawPointer(m), out = UnsafeMutableRawPointer(image)
    let half = UnsafeMutableRawPointer(scratch)
    let planeBytes = positionStride &* 4
    var local = 0
    while local < tileCount {
        let tile = firstTile &+ local
        let top = (tile / tileColumns) &* 4, left = (tile % tileColumns) &* 4
        let rows = min(4, outputHeight &- top), columns = min(4, outputWidth &- left)
        var k0 = 0
        while k0 < k {
            let source = raw + (local &* k &+ k0) &* 4
            // Aᵀ m: each column j (positions j, 6 + j, …, 30 + j) along its rows, into `half` (4×6).
            for j in 0..<6 {
                let column = source + j &* planeBytes
                let t = outputTransform(sixVectors(column, 6 &* planeBytes))
                let target = half + j &* 32
                target.storeBytes(of: t.0, as: SIMD8<Float>.self)
                target.storeBytes(of: t.1, toByteOffset: 6 * 32, as: SIMD8<Float>.self)
                target.storeBytes(of: t.2, toByteOffset: 12 * 32, as: SIMD8<Float>.self)
                target.storeBytes(of: t.3, toByteOffset: 18 * 32, as: SIMD8<Float>.self)
            }
            var offset = SIMD8<Float>()
            if let bias { offset = UnsafeRawPointer(bias).loadUnaligned(fromByteOffset: k0 &* 4, as: SIMD8<Float>.self) }
            if pooled {
                // Rows in pairs, each pair pooled with its columns in pairs.
                let pooledWidth = outputWidth / 2
                var i = 0
                while i < rows {
                    let upper = rowTransform(half, i), lower = rowTransform(half, i &+ 1)
                    let line = (((top / 2 &+ i / 2) &* pooledWidth &+ left / 2) &* k &+ k0) &* 4
                    out.storeBytes(of: pooledMaximum(finished(upper.0, offset, relu: relu), finished(upper.1, offset, relu: relu),
                                                     finished(lower.0, offset, relu: relu), finished(lower.1, offset, relu: relu)),
                                   toByteOffset: line, as: SIMD8<Float>.self)
                    if columns > 2 {
                        out.storeBytes(of: pooledMaximum(finished(upper.2, offset, relu: relu), finished(upper.3, offset, relu: relu),
                                                         finished(lower.2, offset, relu: relu), finished(lower.3, offset, relu: relu)),
                                       toByteOffset: line &+ k &* 4, as: SIMD8<Float>.self)
                    }
                    i &+= 2
                }
                k0 &+= 8
                continue
            }
            // (Aᵀ m) A: each of the first `rows` rows along its columns, finished and stored.
            for i in 0..<rows {
                let t = rowTransform(half, i)
                let line = (((top &+ i) &* outputWidth &+ left) &* k &+ k0) &* 4
                let pixel = k &* 4
                finish(t.0, offset, accumulates, relu, out + line)
                if columns > 1 { finish(t.1, offset, accumulates, relu, out + (line &+ pixel)) }
                if columns > 2 { finish(t.2, offset, accumulates, relu, out + (line &+ 2 &* pixel)) }
                if columns > 3 { finish(t.3, offset, accumulates, relu, out + (line &+ 3 &* pixel)) }
            }
            k0 &+= 8
        }
        local &+= 1
    }
}

/// Row `i` of `Aᵀ m` (in `half`, 4×6) along its columns: `(Aᵀ m A)[i]`.
@inline(__always)
private func rowTransform(_ half: UnsafeMutableRawPointer, _ i: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
    outputTransform(sixVectors(UnsafeRawPointer(half) + i &* (6 * 32), 32))
}

/// Six vectors, `stride` bytes apart from `base`.
@inline(__always)
private func sixVectors(_ base: UnsafeRawPointer, _ stride: Int) -> Six {
    (base.loadUnaligned(as: SIMD8<Float>.self), base.loadUnaligned(fromByteOffset: stride, as: SIMD8<Float>.self),
     base.loadUnaligned(fromByteOffset: 2 &* stride, as: SIMD8<Float>.self), base.loadUnaligned(fromByteOffset: 3 &* stride, as: SIMD8<Float>.self),
     base.loadUnaligned(fromByteOffset: 4 &* stride, as: SIMD8<Float>.self), base.loadUnaligned(fromByteOffset: 5 &* stride, as: SIMD8<Float>.self))
}

/// Six vectors of one column or row of a 6×6 window.
private typealias Six = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

/// One finished output vector: `value + bias`, plus `residual` when given (added after the
/// bias, as `residual + (value + bias)`), then ReLU when `relu`.
@inline(__always)
private func finished(_ value: SIMD8<Float>, _ bias: SIMD8<Float>, residual: SIMD8<Float>? = nil, relu: Bool) -> SIMD8<Float> {
    var result = value + bias
    if let residual { result = residual + result }
    if relu { result = result.replacing(with: 0, where: result .<= 0) }
    return result
}

/// The maximum of a 2×2 window given in row-major order, as `MaxPooling` takes it: from −∞,
/// each value replaces the running maximum when it is greater or equal (`Swift.max(m, v)`).
@inline(__always)
private func pooledMaximum(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>, _ d: SIMD8<Float>) -> SIMD8<Float> {
    var m = SIMD8<Float>(repeating: -.infinity)
    m.replace(with: a, where: a .>= m)
    m.replace(with: b, where: b .>= m)
    m.replace(with: c, where: c .>= m)
    m.replace(with: d, where: d .>= m)
    return m
}

/// Stores the finished `value` at `target`, with the residual already there when `accumulates`.
@inline(__always)
private func finish(_ value: SIMD8<Float>, _ bias: SIMD8<Float>, _ accumulates: Bool, _ relu: Bool, _ target: UnsafeMutableRawPointer) {
    let residual = accumulates ? target.loadUnaligned(as: SIMD8<Float>.self) : nil
    target.storeBytes(of: finished(value, bias, residual: residual, relu: relu), as: SIMD8<Float>.self)
}

/// `Bᵀ·d` of six values.
@inline(__always)
private func inputTransform(_ d: Six) -> Six {
    let (d0, d1, d2, d3, d4, d5) = d
    return (4 * d0 - 5 * d2 + d4,
            (d4 + d3) - 4 * (d1 + d2),
            (d4 - d3) + 4 * (d1 - d2),
            (d4 - d2) + 2 * (d3 - d1),
            (d4 - d2) - 2 * (d3 - d1),
            4 * d1 - 5 * d3 + d5)
}

/// `Aᵀ·m` of six values: four results.
@inline(__always)
private func outputTransform(_ m: Six) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
    let (m0, m1, m2, m3, m4, m5) = m
    let sum12 = m1 + m2, difference12 = m1 - m2, sum34 = m3 + m4, difference34 = m3 - m4
    return (m0 + sum12 + sum34,
            difference12 + 2 * difference34,
            sum12 + 4 * sum34,
            difference12 + 8 * difference34 + m5)
}
