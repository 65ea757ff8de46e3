import GraftSupport
import Testing

@Suite struct Quoting {
    @Test func shortTextIsUnchanged() {
        #expect(quoted("abc") == "abc")
        #expect(quoted("") == "")
        #expect(quoted(String(repeating: "x", count: 80)) == String(repeating: "x", count: 80))
    }

    /// Fuzzing finding 5: quoted input must not make a message unbounded or multi-line.
    @Test func longTextIsCutWithAnEllipsis() {
        let long = String(repeating: "7", count: 2_500_000)
        let shown = quoted(long)
        #expect(shown == String(repeating: "7", count: 80) + "…")
        #expect(quoted(long, limit: 5) == "77777…")
    }

    @Test func controlCharactersAreEscaped() {
        #expect(quoted("a\nb\tc\rd\u{1B}e\u{0}") == "a\\nb\\tc\\rd\\u{1B}e\\u{0}")
        #expect(!quoted("x\n\ny").contains("\n"))
    }

    @Test func singleLineReplacesLineBreaks() {
        #expect(singleLine("can't write\nfile system full\r\n") == "can't write file system full")
        #expect(singleLine("a  b") == "a b")
    }
}
