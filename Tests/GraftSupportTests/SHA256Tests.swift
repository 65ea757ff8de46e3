import Foundation
import GraftNumerics
import GraftTestSupport
import GraftSupport
import Testing
@Suite struct SHA256Tests {
    /// FIPS 180-4 / NIST example vectors.
    @Test func knownVectors() {
        #expect(SHA256.hexDigest(of: "".utf8) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hexDigest(of: "abc".utf8) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hexDigest(of: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hexDigest(of: "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)
            == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        #expect(SHA256.hexDigest(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func rawBufferAndDigestBytes() {
        let bytes = Array("abc".utf8)
        let viaBuffer = bytes.withUnsafeBytes { SHA256.hexDigest(of: $0) }
        #expect(viaBuffer == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var hasher = SHA256()
        hasher.update(bytes)
        let digest = hasher.finalize()
        #expect(digest.count == 32)
        #expect(Array(digest.prefix(4)) == [0xba, 0x78, 0x16, 0xbf])
        #expect(hexString(digest) == viaBuffer)
    }

    /// Feeding a message in pieces of any size gives the digest of the whole.
    @Test(arguments: [1, 3, 55, 56, 63, 64, 65, 127, 200])
    func incrementalUpdates(pieceSize: Int) {
        var generator = SplitMix64(seed: UInt64(pieceSize))
        let message = (0..<1_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var hasher = SHA256()
        var start = 0
        while start < message.count {
            let end = min(start + pieceSize, message.count)
            message[start..<end].withUnsafeBytes { hasher.update($0) }
            start = end
        }
        hasher.update([])
        #expect(hexString(hasher.finalize()) == SHA256.hexDigest(of: message))
    }

    /// A copy taken mid-message carries on by itself: each goes on to the digest of its own
    /// message (FIPS 180-2's "abc", and "abd").
    @Test func aCopyCarriesOnIndependently() {
        var first = SHA256()
        first.update("ab".utf8)
        var second = first
        first.update("c".utf8)
        second.update("d".utf8)
        #expect(hexString(first.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(second.finalize()) == "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9")
    }

    /// Random files around the 64-byte block and 56-byte padding boundaries agree with coreutils.
    @Test(arguments: [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1_000, 65_537])
    func matchesSha256sum(size: Int) throws {
        var generator = SplitMix64(seed: 0x5348_4132_3536 &+ UInt64(size))
        let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let folder = try TemporaryFolder()
        let path = folder.path("random-\(size).bin")
        try writeBytes(bytes, to: path)

        let expected = try sha256sum(path)
        #expect(expected.count == 64)
        #expect(try SHA256.hexDigest(ofFileAt: path) == expected)
        #expect(SHA256.hexDigest(of: bytes) == expected)
    }

    @Test func missingFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("missing.bin")
        let error = try #require(throws: FileError.self) { try SHA256.hexDigest(ofFileAt: path) }
        guard case .cannotOpen(let errorPath, _) = error else {
            Issue.record("expected cannotOpen, got \(error)")
            return
        }
        #expect(errorPath == path)
        #expect(error.exitStatus == .noInput)
    }

    @Test func hexStrings() {
        #expect(hexString([]) == "")
        #expect(hexString([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
    }

    /// The first field of `/usr/bin/sha256sum path`.
    private func sha256sum(_ path: String) throws -> String {
        let result = try runProgram("/usr/bin/sha256sum", [path])
        #expect(result.status == 0)
        return String(result.output.prefix(while: { !$0.isWhitespace }))
    }
}
