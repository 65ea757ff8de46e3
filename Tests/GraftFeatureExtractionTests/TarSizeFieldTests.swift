import GraftFeatureExtraction
import Foundation
import Testing

/// Fuzzing finding: a base-256 size field that is negative or huge crashed the tar reader.
@Suite struct TarSizeField {
    /// One ustar header block for a regular file `name` with the 12 size bytes `size`.
    private func header(name: String, size: [UInt8], type: UInt8 = UInt8(ascii: "0")) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) { for (index, byte) in text.utf8.enumerated() { block[offset + index] = byte } }
        put(name, at: 0)
        put("0000644", at: 100)
        put("0000000", at: 108)
        put("0000000", at: 116)
        for (index, byte) in size.enumerated() { block[124 + index] = byte }
        put("00000000000", at: 136)
        block[156] = type
        put("ustar", at: 257)
        put("00", at: 263)
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + Int($1) }
        put(String(format: "%06o", sum), at: 148)
        block[154] = 0
        return block
    }

    private func octalSize(_ size: Int) -> [UInt8] { Array(String(format: "%011o", size).utf8) + [0] }

    private func readTar(_ bytes: [UInt8]) throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let written = bytes.withUnsafeBytes { write(ends[1], $0.baseAddress!, $0.count) }
        #expect(written == bytes.count)
        close(ends[1])
        defer { close(ends[0]) }
        let tar = try TarInput(readingFrom: ends[0])
        try? FileManager.default.removeItem(atPath: tar.folder)
    }

    @Test(arguments: [
        [UInt8](repeating: 0xff, count: 12),                             // base-256 −1
        [0x80] + [UInt8](repeating: 0xff, count: 11),                     // base-256 2^88 − 1, past Int
        [0x80, 0, 0, 0, 0x7f] + [UInt8](repeating: 0xff, count: 7),       // base-256, fits Int but absurd
    ])
    func binarySizeThatIsNoSizeIsRefused(size: [UInt8]) throws {
        // A first, empty member, then the bad one at byte 512: a file, or a GNU long name
        // (type L, whose body was allocated at the claimed size).
        for (name, type) in [("cat/a.jpg", UInt8(ascii: "0")), ("././@LongLink", UInt8(ascii: "L"))] {
            let bytes = header(name: "empty.txt", size: octalSize(0)) + header(name: name, size: size, type: type)
                + [UInt8](repeating: 0, count: 1024)
            do {
                try readTar(bytes)
                Issue.record("a member with size bytes \(size) was read")
            } catch let error as ExtractionError {
                guard case let .malformedTar(reason) = error else { Issue.record("wrong error \(error)"); continue }
                #expect(reason.contains("'\(name)'"), "\(reason)")
                #expect(reason.contains("512"), "\(reason)")
                #expect(reason.contains("size"), "\(reason)")
            }
        }
    }

    @Test func binarySizeWithinBoundsStillReads() throws {
        let size: [UInt8] = [0x80] + [UInt8](repeating: 0, count: 10) + [3]
        let bytes = header(name: "a.txt", size: size) + [1, 2, 3] + [UInt8](repeating: 0, count: 509)
            + [UInt8](repeating: 0, count: 1024)
        try readTar(bytes)
    }
}
