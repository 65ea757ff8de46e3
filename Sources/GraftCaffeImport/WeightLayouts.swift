/// Rearrangements of Caffe weight blobs into the layouts of `schemas/graft-model.md`.
///
/// Sources are little-endian float32 bytes that may be unaligned (a slice of a mapped
/// caffemodel), so every read is an unaligned load; each function writes its whole result
/// once, into an array allocated at its final size.
enum WeightLayouts {
    /// Copies `count` floats.
    static func copy(_ source: UnsafeRawBufferPointer, count: Int) -> [Float] {
        precondition(source.count >= 4 * count)
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = source.baseAddress, count > 0 {
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: base, byteCount: 4 * count)
            }
            initialized = count
        }
    }

    /// The transpose of a row-major `rows`×`columns` matrix: a `columns`×`rows` matrix.
    /// Works in 32×32 tiles so that both the reads and the writes stay in cache. `consumed` is
    /// called with each band of source rows once it has been read (about every 8 MB), so the
    /// caller can return a mapped file's pages while a large matrix is still being transposed.
    static func transpose(_ source: UnsafeRawBufferPointer, rows: Int, columns: Int,
                          consumed: (UnsafeRawBufferPointer) -> Void = { _ in }) -> [Float] {
        precondition(source.count >= 4 * rows * columns)
        let count = rows * columns
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard count > 0, let input = source.baseAddress, let output = buffer.baseAddress else {
                initialized = count
                return
            }
            let tile = 32
            let bandBytes = 8 << 20
            var releasedRows = 0
            var rowStart = 0
            while rowStart < rows {
                let rowEnd = min(rowStart + tile, rows)
                var columnStart = 0
                while columnStart < columns {
                    let columnEnd = min(columnStart + tile, columns)
                    for row in rowStart..<rowEnd {
                        let rowOffset = row * columns
                        for column in columnStart..<columnEnd {
                            output[column * rows + row] = input.loadUnaligned(fromByteOffset: 4 * (rowOffset + column), as: Float.self)
                        }
                    }
                    columnStart = columnEnd
                }
                rowStart = rowEnd
                if (rowStart - releasedRows) * columns * 4 >= bandBytes || rowStart == rows {
                    consumed(UnsafeRawBufferPointer(rebasing: source[(releasedRows * columns * 4)..<(rowStart * columns * 4)]))
                    releasedRows = rowStart
                }
            }
            initialized = count
        }
    }

    /// A 4-D blob `[a, b, c, d]` rearranged to `[c, d, b, a]`: Caffe's convolution weights
    /// `[Cout, Cin/groups, kh, kw]` to graft's `[kh, kw, Cin/groups, Cout]`, and deconvolution
    /// weights `[Cin, Cout/groups, kh, kw]` to `[kh, kw, Cout/groups, Cin]`.
    static func spatialFirst(_ source: UnsafeRawBufferPointer, shape: [Int]) -> [Float] {
        precondition(shape.count == 4)
        let (a, b, c, d) = (shape[0], shape[1], shape[2], shape[3])
        let count = a * b * c * d
        precondition(source.count >= 4 * count)
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard count > 0, let input = source.baseAddress, let output = buffer.baseAddress else {
                initialized = count
                return
            }
            // Source index ((i·b + j)·c + y)·d + x goes to ((y·d + x)·b + j)·a + i.
            for i in 0..<a {
                for j in 0..<b {
                    let sourceBase = (i * b + j) * c * d
                    for y in 0..<c {
                        for x in 0..<d {
                            output[((y * d + x) * b + j) * a + i] =
                                input.loadUnaligned(fromByteOffset: 4 * (sourceBase + y * d + x), as: Float.self)
                        }
                    }
                }
            }
            initialized = count
        }
    }
}
