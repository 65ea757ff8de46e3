import GraftModel
/// Where a value's elements lie: its logical shape (in the graph's declared layout, batch first)
/// and the order its axes are stored in.
///
/// Physical axis `i` holds logical axis `order[i]`. Spatial kernels work on NHWC memory, so an
/// NCHW value that a spatial op produced is stored with order `[0, 2, 3, 1]`; axis-based ops (batch
/// normalisation, softmax, concatenation, slicing) translate their logical axis through `order`,
/// and ops whose result depends on element order (Flatten, Reshape, Dense's last axis, outputs
/// handed back to the caller) first make the storage match the logical order.
///
/// `channelBlocked`: a 4-D image stored as oneDNN's nChw8c or nChw16c, `[N][C/b][H][W][b]` with
/// b = `KernelChoice.channelBlock` (C a multiple of b), which only oneDNN's convolutions read and
/// write (a run of them keeps it between them);
/// the planner converts it to the NHWC storage `order` describes for every other reader.
///
/// `bfloat16`: a 4-D image stored as bfloat16 (2 bytes an element, in half as many floats of its
/// buffer), which only `--precision bf16` convolutions write and read (`PlanBuilder.storesRounded`);
/// the planner widens it to float32 for every other reader.
struct ValueLayout: Equatable {
    var shape: [Int]
    var order: [Int]
    var channelBlocked = false
    var bfloat16 = false

    init(shape: [Int], order: [Int]? = nil, channelBlocked: Bool = false) {
        self.shape = shape
        self.order = order ?? Array(shape.indices)
        self.channelBlocked = channelBlocked
    }

    var rank: Int { shape.count }
    var isIdentity: Bool { order == Array(order.indices) }
    var physicalShape: [Int] { order.map { shape[$0] } }
    var elementCount: Int { shape.reduce(1, *) }

    /// Memory strides of each logical axis.
    var logicalStrides: [Int] {
        let physical = StridedSpace.contiguousStrides(physicalShape)
        var strides = [Int](repeating: 0, count: rank)
        for (i, axis) in order.enumerated() { strides[axis] = physical[i] }
        return strides
    }

    /// The physical position of logical axis `axis`.
    func physicalAxis(of axis: Int) -> Int { order.firstIndex(of: axis)! }

    /// The storage order spatial kernels need for a value of `rank` in `layout`: channels last.
    static func spatialOrder(rank: Int, layout: Layout) -> [Int] {
        switch layout {
        case .nchw where rank == 4: [0, 2, 3, 1]
        case .ncw where rank == 3: [0, 2, 1]
        default: Array(0..<rank)
        }
    }

    /// A 4-D value computed by an NHWC kernel (or, `channelBlocked`, an nChw8c or nChw16c one), described in `layout`.
    static func image(batch: Int, height: Int, width: Int, channels: Int, layout: Layout, channelBlocked: Bool = false) -> ValueLayout {
        layout == .nchw
            ? ValueLayout(shape: [batch, channels, height, width], order: [0, 2, 3, 1], channelBlocked: channelBlocked)
            : ValueLayout(shape: [batch, height, width, channels], channelBlocked: channelBlocked)
    }
}

/// numpy's broadcast of two shapes (aligned right), or nil when they do not broadcast.
func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        if x == y || y == 1 { result[i] = x } else if x == 1 { result[i] = y } else { return nil }
    }
    return result
}
