/// Sorting keys for ROC analysis.
///
/// Scores are sorted as unsigned integers whose order is the order of the numbers: the IEEE bits
/// with the sign bit set for non-negative values and all bits flipped for negative ones. −0.0 is
/// folded into +0.0 first, so equal numbers (as NumPy compares them) get equal keys. NaN never
/// reaches here (inputs are checked first).
enum ScoreKey {
    @inline(__always)
    static func key(_ value: Double) -> UInt64 {
        let bits = (value == 0 ? 0.0 : value).bitPattern
        return bits & (1 << 63) == 0 ? bits | (1 << 63) : ~bits
    }

    @inline(__always)
    static func value(_ key: UInt64) -> Double {
        Double(bitPattern: key & (1 << 63) != 0 ? key & ~(1 << 63) : ~key)
    }

    /// The sorted keys of `scores` (ascending by value).
    static func sortedKeys(_ scores: UnsafeBufferPointer<Double>) -> [UInt64] {
        let count = scores.count
        guard count > 0 else { return [] }
        var keys = [UInt64](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = key(scores[index]) }
            initialized = count
        }
        keys.withUnsafeMutableBufferPointer { radixSort($0, payload: nil) }
        return keys
    }

    /// Sorts `keys` ascending and returns, for each sorted position, the index the key had.
    static func sortedKeysWithOrigins(_ scores: UnsafeBufferPointer<Double>) -> (keys: [UInt64], origins: [UInt32]) {
        let count = scores.count
        var keys = [UInt64](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = key(scores[index]) }
            initialized = count
        }
        var origins = [UInt32](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = UInt32(truncatingIfNeeded: index) }
            initialized = count
        }
        keys.withUnsafeMutableBufferPointer { keyBuffer in
            origins.withUnsafeMutableBufferPointer { originBuffer in
                radixSort(keyBuffer, payload: originBuffer)
            }
        }
        return (keys, origins)
    }
}

/// Least-significant-digit radix sort in 11-bit digits, stable, with an optional payload that
/// moves with its key. Digits on which all keys agree are skipped, so scores in a narrow range
/// (probabilities share their top bits) take fewer passes.
func radixSort<Key: FixedWidthInteger & UnsignedInteger>(
    _ keys: UnsafeMutableBufferPointer<Key>, payload: UnsafeMutableBufferPointer<UInt32>?
) {
    let count = keys.count
    guard count > 1, let keyBase = keys.baseAddress else { return }
    if count < 64 {
        insertionSort(keyBase, payload?.baseAddress, count)
        return
    }
    let digitBits = 11
    let radix = 1 << digitBits
    let digitCount = (Key.bitWidth + digitBits - 1) / digitBits
    let mask = Key(radix - 1)
    let histograms = UnsafeMutablePointer<Int>.allocate(capacity: radix * digitCount)
    histograms.initialize(repeating: 0, count: radix * digitCount)
    defer { histograms.deallocate() }
    for index in 0..<count {
        var key = keyBase[index]
        for digit in 0..<digitCount {
            histograms[digit * radix + Int(truncatingIfNeeded: key & mask)] += 1
            key >>= digitBits
        }
    }
    let scratchKeys = UnsafeMutablePointer<Key>.allocate(capacity: count)
    defer { scratchKeys.deallocate() }
    let payloadBase = payload?.baseAddress
    let scratchPayload = payloadBase.map { _ in UnsafeMutablePointer<UInt32>.allocate(capacity: count) }
    defer { scratchPayload?.deallocate() }

    var sourceKeys = keyBase, targetKeys = scratchKeys
    var sourcePayload = payloadBase, targetPayload = scratchPayload
    let offsets = UnsafeMutablePointer<Int>.allocate(capacity: radix)
    defer { offsets.deallocate() }
    for digit in 0..<digitCount {
        let histogram = histograms + digit * radix
        let firstKeyDigit = Int(truncatingIfNeeded: (keyBase[0] >> (digit * digitBits)) & mask)
        if histogram[firstKeyDigit] == count { continue }
        var total = 0
        for bucket in 0..<radix {
            offsets[bucket] = total
            total += histogram[bucket]
        }
        let shift = digit * digitBits
        if let from = sourcePayload, let to = targetPayload {
            for index in 0..<count {
                let key = sourceKeys[index]
                let bucket = Int(truncatingIfNeeded: (key >> shift) & mask)
                let position = offsets[bucket]
                offsets[bucket] = position + 1
                targetKeys[position] = key
                to[position] = from[index]
            }
        } else {
            for index in 0..<count {
                let key = sourceKeys[index]
                let bucket = Int(truncatingIfNeeded: (key >> shift) & mask)
                let position = offsets[bucket]
                offsets[bucket] = position + 1
                targetKeys[position] = key
            }
        }
        swap(&sourceKeys, &targetKeys)
        swap(&sourcePayload, &targetPayload)
    }
    if sourceKeys != keyBase {
        keyBase.update(from: sourceKeys, count: count)
        if let from = sourcePayload, let payloadBase { payloadBase.update(from: from, count: count) }
    }
}

private func insertionSort<Key: FixedWidthInteger>(
    _ keys: UnsafeMutablePointer<Key>, _ payload: UnsafeMutablePointer<UInt32>?, _ count: Int
) {
    for index in 1..<count {
        let key = keys[index]
        let carried = payload?[index]
        var position = index
        while position > 0 && keys[position - 1] > key {
            keys[position] = keys[position - 1]
            payload?[position] = payload![position - 1]
            position -= 1
        }
        keys[position] = key
        if let carried { payload?[position] = carried }
    }
}
