internal import CGraftHDF5
// Dataspaces (internal): shapes of datasets and attributes, and selections of rows.

/// A dataspace of `shape` (a scalar when `shape` is empty). `maximumShape` defaults to `shape`;
/// a nil entry in it means unlimited.
func makeDataspace(shape: [Int], maximumShape: [Int?]? = nil, in path: String) throws(HDF5Error) -> Handle {
    if shape.isEmpty {
        return try Handle(checking: H5Screate(H5S_SCALAR), .dataspace, in: path, "creating a scalar dataspace")
    }
    let dimensions = shape.map { hsize_t($0) }
    let maximum = (maximumShape ?? shape).map { $0.map { hsize_t($0) } ?? graft_H5S_UNLIMITED() }
    return try Handle(
        checking: H5Screate_simple(Int32(shape.count), dimensions, maximum), .dataspace,
        in: path, "creating a dataspace of shape \(shape)")
}

/// The current and maximum shape of a dataspace (nil maximum entries are unlimited).
func extent(of space: hid_t, in path: String, _ operation: @autoclosure () -> String) throws(HDF5Error) -> (shape: [Int], maximumShape: [Int?]) {
    let rank = Int(try check(H5Sget_simple_extent_ndims(space), in: path, operation()))
    guard rank > 0 else { return ([], []) }
    var dimensions = [hsize_t](repeating: 0, count: rank)
    var maximum = [hsize_t](repeating: 0, count: rank)
    try check(H5Sget_simple_extent_dims(space, &dimensions, &maximum), in: path, operation())
    let unlimited = graft_H5S_UNLIMITED()
    // A damaged file can claim extents past Int.max (a fuzzing finding: the conversion trapped).
    let largest = hsize_t(Int.max)
    guard dimensions.allSatisfy({ $0 <= largest }), maximum.allSatisfy({ $0 == unlimited || $0 <= largest }) else {
        throw .sizeMismatch(path: path, object: "a dataspace", detail: "\(operation()): it claims dimensions \(dimensions) (maximum \(maximum)), past any real size; the file is damaged")
    }
    return (dimensions.map { Int($0) }, maximum.map { $0 == unlimited ? nil : Int($0) })
}

/// The number of elements in a dataspace (1 for a scalar, 0 for a null dataspace).
func countElements(of space: hid_t, in path: String, _ operation: @autoclosure () -> String) throws(HDF5Error) -> Int {
    Int(try check(H5Sget_simple_extent_npoints(space), in: path, operation()))
}

/// Selects rows `rows` (along the first axis) of `space`, whose shape is `shape`.
func selectRows(_ rows: Range<Int>, of space: hid_t, shape: [Int], in path: String, _ operation: @autoclosure () -> String) throws(HDF5Error) {
    var start = [hsize_t](repeating: 0, count: shape.count)
    var count = shape.map { hsize_t($0) }
    start[0] = hsize_t(rows.lowerBound)
    count[0] = hsize_t(rows.count)
    try check(H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nil, count, nil), in: path, operation())
}

/// The product of `shape` (1 for a scalar).
func product(_ shape: some Sequence<Int>) -> Int {
    shape.reduce(1, *)
}

/// An array of `count` elements filled by `fill`, which must initialize all of them.
func makeArray<Element>(
    count: Int, _ fill: (UnsafeMutableBufferPointer<Element>) throws(HDF5Error) -> Void
) throws(HDF5Error) -> [Element] {
    var failure: HDF5Error?
    let array = [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
        do throws(HDF5Error) {
            try fill(UnsafeMutableBufferPointer(rebasing: buffer[0..<count]))
            initialized = count
        } catch {
            failure = error
            initialized = 0
        }
    }
    if let failure { throw failure }
    return array
}
