import Foundation
import Testing
@testable import GraftMetrics
/// The TSV reader, the number parser and the key sort.
@Suite struct ReadingAndSorting {
    @Test func parsedNumbersAreTheCorrectlyRoundedDoubles() throws {
        // Swift's Double(String) rounds correctly (it calls strtod); the fast path must agree on
        // every text, including those it hands over to strtod.
        var generator = SystemRandomNumberGenerator()
        var texts = ["0", "-0", "1", "0.1", "0.30000000000000004", "9007199254740993", "1e22", "1e23", "1e-22", "2.2250738585072014e-308",
                     "4.9e-324", "1.7976931348623157e308", "123456789012345678901234567890", "0.000000000000000000000000000001",
                     "5e-1", "+3.25", "-1.5E+3", "0.99999994", "inf", "-inf", "1.", ".5"]
        for _ in 0..<20000 {
            let float = Float(bitPattern: UInt32.random(in: 0x3000_0000...0x3F80_0000, using: &generator))
            texts.append("\(float)")
            texts.append(String(format: "%.9g", Double(float)))
            texts.append(String(format: "%.17g", Double.random(in: -1e6...1e6, using: &generator)))
            texts.append(String(format: "%.6f", Double.random(in: 0...1, using: &generator)))
        }
        for text in texts {
            let bytes = Array(text.utf8) + [UInt8(ascii: "\t"), 0]
            let parsed = try #require(bytes.withUnsafeBufferPointer { buffer in
                DecimalParsing.parse(buffer.baseAddress!).map { ($0.value, $0.end - buffer.baseAddress!) }
            })
            let expected = try #require(Double(text))
            #expect(parsed.0.bitPattern == expected.bitPattern, "\(text)")
            #expect(parsed.1 == text.utf8.count, "\(text)")
        }
    }

    @Test func radixSortAgreesWithTheStandardLibrarysSort() {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 2, 63, 64, 65, 1000, 50000] {
            var values = (0..<count).map { _ in Double.random(in: -3...3, using: &generator) }
            for index in stride(from: 0, to: count, by: 7) { values[index] = [0.0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNormalMagnitude, 0.5][index % 7] }
            for index in stride(from: 3, to: count, by: 11) { values[index] = values[index / 2] }
            let keys = values.withUnsafeBufferPointer { ScoreKey.sortedKeys($0) }
            #expect(keys.map(ScoreKey.value) == values.map { $0 == 0 ? 0.0 : $0 }.sorted())
            let (sortedKeys, origins) = values.withUnsafeBufferPointer { ScoreKey.sortedKeysWithOrigins($0) }
            #expect(sortedKeys == keys)
            #expect(origins.map { ScoreKey.key(values[Int($0)]) } == keys)
            // Stable: equal keys keep their input order.
            for index in origins.indices.dropFirst() where sortedKeys[index] == sortedKeys[index - 1] {
                #expect(origins[index] > origins[index - 1])
            }
        }
    }

    @Test func readsBothLayoutsWithCRLFAndUnlabelledRows() throws {
        let predictions = try ScoreTable(parsing: "id\tlabel\tcat\tdog\r\na\tdog\t0.25\t0.75\r\nb\t\t0.5\t0.5\r\n\r\nc\tcat\t1\t0\r\n")
        #expect(predictions.layout == .predictions)
        #expect(predictions.classNames == ["cat", "dog"])
        #expect(predictions.labels == [1, -1, 0])
        #expect(predictions.scores == [0.25, 0.75, 0.5, 0.5, 1, 0])
        #expect(predictions.unlabelledCount == 1)
        #expect(predictions.id(ofRow: 2) == "c")
        #expect(predictions.lineNumber(ofRow: 2) == 5)
        let pairs = try ScoreTable(parsing: "label\tscore\nyes\t0.9\nno\t0.1\n\t0.4\nyes\t0.3")
        #expect(pairs.layout == .labelAndScore)
        #expect(pairs.classNames == ["yes", "no"])
        #expect(pairs.labels == [0, 1, -1, 0])
        #expect(pairs.scores == [0.9, 0.1, 0.4, 0.3])
        // "yes" sorts after "no", so it is the positive class, as scikit-learn's classes_[1].
        let report = try AUCReport.evaluate(pairs, options: AUCOptions(interval: AUCOptions.IntervalMethod.none))
        #expect(report.positiveClass == "yes")
        #expect(report.areaUnderCurve == 1)
    }

    /// An empty score before a line break is an error on its own line, not the next line's number
    /// (found by fuzzing: reading past the line made the tab search overrun the buffer).
    @Test func anEmptyScoreDoesNotReadTheNextLine() throws {
        #expect(throws: ScoreTableError.self) { try ScoreTable(parsing: "label\tscore\ncat\t1\ndog\t\n1\n") }
        #expect(throws: ScoreTableError.self) { try ScoreTable(parsing: "label\tscore\n/\t\n1\u{0}\u{0}") }
    }

    @Test func numericLabelsSortAsNumbers() throws {
        let table = try ScoreTable(parsing: "label\tscore\n10\t0.9\n2\t0.1\n10\t0.3\n2\t0.4\n")
        let report = try AUCReport.evaluate(table, options: AUCOptions(interval: AUCOptions.IntervalMethod.none))
        #expect(report.positiveClass == "10")
        // Positives 0.9 and 0.3 against negatives 0.1 and 0.4: three of four pairs ordered.
        #expect(report.areaUnderCurve == 0.75)
        let flipped = try AUCReport.evaluate(table, options: AUCOptions(positiveClass: "2", interval: AUCOptions.IntervalMethod.none))
        #expect(flipped.areaUnderCurve == 0.25)
    }

    @Test func errorsNameTheLineAndId() throws {
        #expect(throws: ScoreTableError.nonFinite(source: "<text>", line: 3, id: "b", column: "dog", value: .infinity)) {
            try ScoreTable(parsing: "id\tlabel\tcat\tdog\na\tdog\t0.25\t0.75\nb\tcat\t0.5\tinf\n")
        }
        #expect(throws: ScoreTableError.tooManyLabelValues(source: "<text>", line: 4, values: ["a", "b", "c"])) {
            try ScoreTable(parsing: "label\tscore\na\t1\nb\t2\nc\t3\n")
        }
        #expect(throws: ScoreTableError.fieldCount(source: "<text>", line: 2, id: nil, expected: 2, found: 3)) {
            try ScoreTable(parsing: "label\tscore\na\t1\t2\n")
        }
        #expect(throws: ScoreTableError.empty(source: "<text>")) { try ScoreTable(parsing: "\n\n") }
        let single = try ScoreTable(parsing: "label\tscore\n1\t0.3\n1\t0.2\n")
        #expect(throws: AUCInputError.singleClass(source: "<text>", name: "1", rows: 2)) {
            try AUCReport.evaluate(single, options: AUCOptions())
        }
        let notProbabilities = try ScoreTable(parsing: "id\tlabel\ta\tb\tc\nr1\ta\t0.5\t0.5\t0.5\nr2\tb\t0.2\t0.3\t0.5\nr3\tc\t0.1\t0.1\t0.8\n")
        #expect(throws: MetricsError.probabilitiesDoNotSumToOne(row: "'<text>' line 2 (id r1)", sum: 1.5)) {
            try AUCReport.evaluate(notProbabilities, options: AUCOptions(interval: AUCOptions.IntervalMethod.none))
        }
        let missingClass = try ScoreTable(parsing: "id\tlabel\ta\tb\tc\nr1\ta\t0.5\t0.25\t0.25\nr2\tb\t0.2\t0.3\t0.5\n")
        #expect(throws: MetricsError.classWithoutSamples(className: "c")) {
            try AUCReport.evaluate(missingClass, options: AUCOptions(interval: AUCOptions.IntervalMethod.none))
        }
    }
}

/// Fuzzing finding 5: an error quoting a huge field must stay one short line.
@Suite struct BoundedErrorMessages {
    private func errorMessage(_ text: String) -> String? {
        do { _ = try ScoreTable(parsing: text); return nil } catch { return "\(error)" }
    }

    @Test func hugeFieldsAreQuotedShortened() throws {
        let huge = String(repeating: "9x", count: 1_250_000)
        let cases = [
            "label\tscore\nyes\t\(huge)\n",  // a score that is not a number
            "id\tlabel\tcat\tdog\n\(huge)\tcat\tnope\t1\n",  // a long id
            "id\tlabel\tcat\tdog\na\t\(huge)\t0.5\t0.5\n",  // an unknown label
            "\(huge)\tfoo\n",  // an unrecognised header
            "label\tscore\na\t1\nb\t2\n\(huge)\t3\n",  // a third label value
        ]
        for text in cases {
            let message = try #require(errorMessage(text))
            #expect(message.count < 300, "\(message.prefix(300))")
            #expect(!message.contains("\n"))
        }
    }
}
