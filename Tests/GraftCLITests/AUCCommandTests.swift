import Foundation
import GraftTestSupport
import Testing
/// `graft auc` as a shell user runs it, on the Metrics fixtures (references from scikit-learn
/// and pROC in the same folder).
@Suite struct AUCCommand {
    static let fixtures = "Tests/GraftMetricsTests/Fixtures"

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func reference(_ file: String) throws -> [String: Any] {
        let data = try Data(contentsOf: GraftBinary.repository.appendingPathComponent("\(fixtures)/\(file)"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func printsTheClassicExampleAsTSV() throws {
        let result = try GraftBinary.run(["auc", "\(Self.fixtures)/classic20.tsv"])
        #expect(result.status == 0)
        #expect(result.standardError.isEmpty)
        #expect(result.standardOutput == """
            auc\t0.8250
            ci_low\t0.6422
            ci_high\t1.0000
            ci_method\tdelong
            ci_level\t0.95
            n\t20
            positives\t10
            negatives\t10
            positive_class\t1

            """)
    }

    @Test func readsStandardInputWhenThePathIsADashOrMissing() throws {
        let input = try Data(contentsOf: GraftBinary.repository.appendingPathComponent("\(Self.fixtures)/classic20.tsv"))
        for arguments in [["auc", "-", "--json"], ["auc", "--json"]] {
            let result = try GraftBinary.run(arguments, input: input)
            #expect(result.status == 0)
            let object = try Self.json(result.standardOutput)
            #expect(object["auc"] as? Double == 0.825)
            #expect(object["n"] as? Int == 20)
        }
    }

    @Test func jsonHasTheDeLongIntervalOfPROC() throws {
        let result = try GraftBinary.run(["auc", "\(Self.fixtures)/predict_binary.tsv", "--json", "--level", "0.9"])
        #expect(result.status == 0)
        #expect(result.standardError == "graft: note: skipped 5 unlabelled rows of '\(Self.fixtures)/predict_binary.tsv'\n")
        let object = try Self.json(result.standardOutput)
        let proc = try #require((try Self.reference("references_proc.json")["binary"] as? [String: Any])?["predict_binary.tsv"] as? [String: Any])
        let bounds = try #require(proc["delong90"] as? [String]).map { Double($0)! }
        let ci = try #require(object["ci"] as? [String: Any])
        #expect(ci["method"] as? String == "delong")
        #expect(ci["level"] as? Double == 0.9)
        #expect(abs((ci["low"] as! Double) - bounds[0]) <= 1e-6)
        #expect(abs((ci["high"] as! Double) - bounds[1]) <= 1e-6)
        #expect(object["positive_class"] as? String == "dog")
        #expect(object["positives"] as? Int == (object["class_rows"] as? [String: Int])?["dog"])
    }

    @Test func multiclassGivesPerClassAUCsAndABootstrapInterval() throws {
        let result = try GraftBinary.run(["auc", "\(Self.fixtures)/multiclass.tsv", "--multi-class", "ovo", "--average", "weighted",
                                          "--boot-n", "200", "--seed", "5", "--json"])
        #expect(result.status == 0)
        let object = try Self.json(result.standardOutput)
        #expect(object["multi_class"] as? String == "ovo")
        #expect(object["average"] as? String == "weighted")
        let perClass = try #require(object["per_class"] as? [String: Double])
        #expect(Set(perClass.keys) == ["ant", "bee", "cow", "dog"])
        let ci = try #require(object["ci"] as? [String: Any])
        #expect(ci["method"] as? String == "bootstrap")
        #expect(ci["replicates"] as? Int == 200)
        let auc = try #require(object["auc"] as? Double)
        #expect((ci["low"] as! Double) < auc && auc < (ci["high"] as! Double))
        let again = try GraftBinary.run(["auc", "\(Self.fixtures)/multiclass.tsv", "--multi-class", "ovo", "--average", "weighted",
                                         "--boot-n", "200", "--seed", "5", "--json"])
        #expect(again.standardOutput == result.standardOutput)
    }

    @Test func compareRunsPROCsPairedTestMatchingRowsById() throws {
        let result = try GraftBinary.run(["auc", "\(Self.fixtures)/predict_binary.tsv", "--compare", "\(Self.fixtures)/predict_binary_b.tsv", "--json"])
        #expect(result.status == 0)
        let compare = try #require(try Self.json(result.standardOutput)["compare"] as? [String: Any])
        let expected = try #require((try Self.reference("references_proc.json")["compare"] as? [String: Any])?["predict_binary.tsv|predict_binary_b.tsv"] as? [String: String])
        for key in ["auc1", "auc2", "z", "p"] {
            #expect(abs((compare[key] as! Double) - Double(expected[key]!)!) <= 1e-6, "\(key)")
        }
        let text = try GraftBinary.run(["auc", "\(Self.fixtures)/predict_binary.tsv", "--compare", "\(Self.fixtures)/predict_binary_b.tsv"])
        #expect(text.standardOutput.contains("\nz\t1.4375\np\t0.1506\n"))
    }

    @Test func compareRefusesDifferentIds() throws {
        let folder = try TemporaryFolder()
        let other = folder.url.appendingPathComponent("other.tsv")
        var lines = try String(contentsOf: GraftBinary.repository.appendingPathComponent("\(Self.fixtures)/predict_binary_b.tsv"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[3] = "img_9999" + lines[3].drop { $0 != "\t" }
        try lines.joined(separator: "\n").write(to: other, atomically: true, encoding: .utf8)
        let result = try GraftBinary.run(["auc", "\(Self.fixtures)/predict_binary.tsv", "--compare", other.path])
        #expect(result.status == 65)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.contains("id 'img_0"))
        #expect(result.standardError.contains("is not in '\(other.path)'"))
    }

    @Test func writesTheCurvePointsAndThePicture() throws {
        let folder = try TemporaryFolder()
        let csv = folder.url.appendingPathComponent("roc.csv"), svg = folder.url.appendingPathComponent("roc.svg")
        let first = try GraftBinary.run(["auc", "\(Self.fixtures)/classic20.tsv", "--roc", csv.path])
        #expect(first.status == 0)
        let points = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        #expect(points.first == "fpr,tpr,threshold")
        #expect(points[1] == "0.0,0.0,inf")
        #expect(points[2] == "0.0,0.1,20.0")
        #expect(points.last == "1.0,1.0,1.0")
        #expect(points.count == 1 + 20)  // 19 distinct scores plus the (0, 0, inf) start
        let second = try GraftBinary.run(["auc", "\(Self.fixtures)/predict_binary.tsv", "--compare", "\(Self.fixtures)/predict_binary_b.tsv", "--roc", svg.path])
        #expect(second.status == 0)
        let picture = try String(contentsOf: svg, encoding: .utf8)
        #expect(picture.hasPrefix("<?xml"))
        #expect(picture.components(separatedBy: "<polyline").count == 3)
        #expect(picture.contains("AUC 0.772 (95% CI 0.712–0.832)"))
        #expect(picture.contains("False positive rate"))
        // Only the two outputs: no temporary files left behind.
        #expect(try folder.contents() == ["roc.csv", "roc.svg"])
    }

    @Test func badDataExits65WithOneLineAndWritesNothing() throws {
        let folder = try TemporaryFolder()
        let cases: [(String, String)] = [
            ("label\tscore\n1\t0.3\n1\t0.9\n", "all 2 labelled rows of"),
            ("id\tlabel\ta\tb\nx1\ta\t0.2\t0.8\nx2\tb\tnan\t0.5\n", "line 3 (id x2): score for a is nan"),
            ("id\tlabel\ta\tb\nx1\ta\t0.2\n", "line 2 (id x1) has 3 tab-separated fields, expected 4"),
            ("id\tlabel\ta\tb\nx1\tc\t0.2\t0.8\n", "label 'c' is not one of the classes a, b"),
            ("label\tscore\n1\t0.3\n0\tzero\n", "line 3: score 'zero' for score is not a number"),
            ("name\tvalue\n", "expected graft predict's header"),
            ("label\tscore\n\t0.3\n", "has no labelled rows"),
        ]
        for (index, (text, message)) in cases.enumerated() {
            let input = folder.url.appendingPathComponent("bad\(index).tsv")
            try text.write(to: input, atomically: true, encoding: .utf8)
            let plot = folder.url.appendingPathComponent("bad\(index).svg")
            let result = try GraftBinary.run(["auc", input.path, "--roc", plot.path])
            #expect(result.status == 65, "\(text)")
            #expect(result.standardOutput.isEmpty)
            let errors = result.standardError.split(separator: "\n").filter { !$0.hasPrefix("graft: note: ") }
            #expect(errors.count == 1)
            #expect(errors.first?.hasPrefix("graft: error: ") == true)
            #expect(result.standardError.contains(message), "\(result.standardError)")
            #expect(!FileManager.default.fileExists(atPath: plot.path))
        }
    }

    @Test func usageErrorsExit64AndMissingFilesExit66() throws {
        #expect(try GraftBinary.run(["auc", "\(Self.fixtures)/classic20.tsv", "--ci", "wilson"]).status == 64)
        #expect(try GraftBinary.run(["auc", "\(Self.fixtures)/classic20.tsv", "--level", "95"]).status == 64)
        #expect(try GraftBinary.run(["auc", "\(Self.fixtures)/classic20.tsv", "--roc", "out.png"]).status == 64)
        #expect(try GraftBinary.run(["auc", "\(Self.fixtures)/classic20.tsv", "--multi-class", "ovo"]).status == 65)
        let missing = try GraftBinary.run(["auc", "no/such/scores.tsv"])
        #expect(missing.status == 66)
        #expect(missing.standardError == "graft: error: cannot open 'no/such/scores.tsv': No such file or directory\n")
        let delong = try GraftBinary.run(["auc", "\(Self.fixtures)/multiclass.tsv", "--ci", "delong"])
        #expect(delong.status == 65)
        #expect(delong.standardError.contains("DeLong's interval is defined for binary AUC only"))
    }
}
