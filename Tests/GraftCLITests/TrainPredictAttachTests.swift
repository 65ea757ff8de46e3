import Foundation
import GraftTensors
import GraftTestSupport
import Testing
/// `graft train`, `graft predict` and `graft attach`, run as a shell user runs them, on the
/// caches and scikit-learn references of HeadTests (`Tools/fixtures/make_head_fixtures.py`) and
/// on the demo's digits (`Tools/make-sample.py`).
@Suite struct TrainPredictAttach {
    static let headFixtures = GraftBinary.repository.path + "/Tests/GraftHeadTests/Fixtures"
    static let samples = GraftBinary.repository.path + "/Samples"

    /// A `graft predict` table: the class columns and, per id, the label and probabilities.
    struct Table {
        var classes: [String]
        var rows: [(id: String, label: String, probabilities: [Float])]

        init(_ text: String) {
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
            let header = lines[0].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            #expect(Array(header.prefix(2)) == ["id", "label"])
            classes = Array(header.dropFirst(2))
            rows = lines.dropFirst().map { line in
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                return (fields[0], fields[1], fields.dropFirst(2).map { Float($0)! })
            }
        }

        var byID: [String: [Float]] { Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0.probabilities) }) }
    }

    @discardableResult
    static func graft(_ arguments: [String], status expected: Int32 = 0) throws -> GraftBinary.Result {
        let result = try GraftBinary.run(arguments)
        #expect(result.status == expected, "graft \(arguments.joined(separator: " ")): \(result.standardError)")
        return result
    }

    /// With default settings on both sides (tol 1e-4) and at tol 1e-6 against scikit-learn's
    /// exact optimum.
    @Test("train + predict on a cache equal scikit-learn's probabilities within 1e-3", arguments: [
        ("multiclass.h5", [String](), "multiclass_C1_default"),
        ("multiclass.h5", ["--tol", "1e-6"], "multiclass_C1"),
        ("binary.h5", ["--C", "0.05", "--class-weight", "balanced", "--tol", "1e-6"], "binary_C0.05_balanced"),
    ])
    func matchesScikitLearn(cache: String, options: [String], reference: String) throws {
        let folder = try TemporaryFolder()
        let head = folder.path("head.graft")
        let training = try Self.graft(["train", Self.headFixtures + "/" + cache, "-o", head] + options)
        #expect(training.standardOutput.isEmpty)
        #expect(training.standardError.contains("iteration 1: objective"))
        #expect(training.standardError.contains("wrote '\(head)'"))

        let prediction = try Self.graft(["predict", head, Self.headFixtures + "/" + cache])
        let table = Table(prediction.standardOutput)
        let expected = try Tensor(npyFile: Self.headFixtures + "/" + reference + ".npy")
        let labelled = table.rows.filter { !$0.label.isEmpty }
        #expect(labelled.count == expected.shape[0])
        #expect(table.classes.count == expected.shape[1])
        var largest: Float = 0
        for (row, entry) in labelled.enumerated() {
            for column in 0..<expected.shape[1] {
                largest = max(largest, abs(entry.probabilities[column] - expected.scalars[row * expected.shape[1] + column]))
            }
        }
        #expect(largest <= 1e-3, "max |graft − sklearn| = \(largest)")
        if cache == "multiclass.h5" {
            #expect(table.classes == ["ant", "bee", "cat", "dog"])
            #expect(table.rows[0].id == "\(table.rows[0].label)/0000.jpg")
        } else {
            #expect(table.rows.count == 164 && table.rows.filter { $0.label.isEmpty }.count == 4)
        }

        // -o writes the same table to a file, nothing to stdout.
        let written = try Self.graft(["predict", head, Self.headFixtures + "/" + cache, "-o", folder.path("scores.tsv")])
        #expect(written.standardOutput.isEmpty)
        #expect(try String(contentsOfFile: folder.path("scores.tsv"), encoding: .utf8) == prediction.standardOutput)
    }

    @Test("convert → features → train → attach → predict on the demo digits; the attached model equals head + cache within 1e-5")
    func endToEnd() throws {
        let folder = try TemporaryFolder()
        let trunk = folder.path("trunk.graft"), head = folder.path("head.graft"), full = folder.path("full.graft")
        try Self.graft(["convert", Self.samples + "/digits-cnn.h5", "-o", trunk])
        // A smaller training set keeps the debug build quick: 20 images per digit.
        var list = ""
        for digit in 5...9 {
            let names = try FileManager.default.contentsOfDirectory(atPath: Self.samples + "/digits/train/\(digit)").sorted().prefix(20)
            for name in names { list += "\(digit)/\(name) \(digit)\n" }
        }
        try list.write(toFile: folder.path("train.txt"), atomically: true, encoding: .utf8)
        try Self.graft(["features", trunk, folder.path("train.txt"), "--root", Self.samples + "/digits/train", "-o", folder.path("train.h5"),
                        "--layer", "features", "--preprocess", "none", "--quiet"])
        try Self.graft(["features", trunk, Self.samples + "/digits/test", "-o", folder.path("test.h5"),
                        "--layer", "features", "--preprocess", "none", "--quiet"])
        try Self.graft(["train", folder.path("train.h5"), "-o", head, "--quiet"])

        let attached = try Self.graft(["attach", trunk, head, "-o", full])
        #expect(attached.standardError.contains("folded the standardisation"))
        let inspect = try Self.graft(["inspect", full, "--json"])
        #expect(inspect.standardOutput.contains("head/probabilities"))
        #expect(!inspect.standardOutput.contains("digits0to4"))

        let fromCache = Table(try Self.graft(["predict", head, folder.path("test.h5")]).standardOutput)
        let fromImages = Table(try Self.graft(["predict", full, Self.samples + "/digits/test"]).standardOutput)
        #expect(fromImages.classes == ["5", "6", "7", "8", "9"] && fromCache.classes == fromImages.classes)
        #expect(fromCache.rows.count == 150 && fromImages.rows.count == 150)
        let cached = fromCache.byID
        var largest: Float = 0
        for row in fromImages.rows {
            let other = try #require(cached[row.id])
            for (a, b) in zip(row.probabilities, other) { largest = max(largest, abs(a - b)) }
            #expect(row.label == row.id.split(separator: "/")[0].description)
        }
        #expect(largest <= 1e-5, "max |attached − head on cache| = \(largest)")
        let correct = fromImages.rows.filter { row in
            fromImages.classes[row.probabilities.indices.max { row.probabilities[$0] < row.probabilities[$1] }!] == row.label
        }.count
        #expect(correct >= 120, "accuracy \(correct)/150")

        // The scores feed graft auc.
        let scores = folder.path("scores.tsv")
        try Self.graft(["predict", full, Self.samples + "/digits/test", "-o", scores])
        let auc = try Self.graft(["auc", scores])
        let value = auc.standardOutput.split(separator: "\n").first { $0.hasPrefix("auc\t") }.flatMap { Double($0.dropFirst(4)) }
        #expect((value ?? 0) > 0.95, "\(auc.standardOutput)")

        // The wrong trunk is refused, and nothing is written.
        let other = GraftBinary.repository.path + "/Tests/GraftCLITests/Fixtures/cli_cnn/model.graft"
        let refused = try Self.graft(["attach", other, head, "-o", folder.path("wrong.graft")], status: 65)
        #expect(refused.standardError.contains("SHA-256"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("wrong.graft")))
        // A head needs a cache, an attached model images.
        let headOnImages = try Self.graft(["predict", head, Self.samples + "/digits/test"], status: 65)
        #expect(headOnImages.standardError.contains("graft attach"))
    }

    @Test("bad training data exits 65 with the reason, and writes nothing", arguments: [
        (["nan.h5"], "'img_0007.png'"),
        (["unlabelled.h5"], "no labelled rows"),
        (["one_class.h5"], "one class only ('dog')"),
        (["multiclass.h5", "--layer", "fc7"], "has no layer 'fc7'"),
        (["multiclass.h5", "--val", "other_classes.h5"], "classes [ant,bee,cat,eel]"),
    ])
    func badData(arguments: [String], message: String) throws {
        let folder = try TemporaryFolder()
        let head = folder.path("head.graft")
        var command = ["train", Self.headFixtures + "/" + arguments[0], "-o", head] + arguments.dropFirst()
        if let index = command.firstIndex(of: "--val") { command[index + 1] = Self.headFixtures + "/" + command[index + 1] }
        let result = try Self.graft(command, status: 65)
        #expect(result.standardError.hasPrefix("graft: error: "))
        #expect(result.standardError.contains(message), "\(result.standardError)")
        #expect(try folder.contents().isEmpty)
    }

    @Test("usage mistakes exit 64")
    func usage() throws {
        let cache = Self.headFixtures + "/binary.h5"
        try Self.graft(["train", cache, "-o", "/tmp/x.graft", "--model", "forest"], status: 64)
        try Self.graft(["train", cache, "-o", "/tmp/x.graft", "--val-split", "1.5"], status: 64)
        try Self.graft(["train", cache, "-o", "/tmp/x.graft", "--val", cache, "--val-split", "0.2"], status: 64)
        try Self.graft(["train", cache, "-o", "/tmp/x.graft", "--Cs", "5"], status: 64)
        try Self.graft(["train", cache, "-o", "/tmp/x.graft", "--cv", "1"], status: 64)
        try Self.graft(["train", cache, "-o", "/tmp/x.graft", "--cv", "3", "--scoring", "f1"], status: 64)
        try Self.graft(["train", cache, "-o", "/tmp/x.graft", "--hidden", "8,16", "--model", "mlp"], status: 64)
    }

    /// `--cv` prints the fold table, records it in the head, and takes groups from a regular
    /// expression on the ids (the choice itself is checked against scikit-learn in HeadTests).
    @Test func crossValidationRecordsItsFoldsAndChoice() throws {
        let folder = try TemporaryFolder()
        let head = folder.path("head.graft")
        let training = try Self.graft(["train", Self.headFixtures + "/multiclass.h5", "-o", head, "--cv", "4",
                                       "--C-grid", "0.01,0.1,1", "--scoring", "neg_log_loss", "--groups", "([0-9])\\.jpg$"])
        #expect(training.standardError.contains("4 StratifiedGroupKFold folds"), "\(training.standardError)")
        #expect(training.standardError.contains("cross-validation chose C=1 (mean neg_log_loss -0.4035 over 4 folds)"), "\(training.standardError)")
        let inspected = try Self.graft(["inspect", head, "--json"])
        #expect(inspected.standardOutput.contains("\"cross_validation\""), "\(inspected.standardOutput.prefix(2000))")
        let missing = try Self.graft(["train", Self.headFixtures + "/multiclass.h5", "-o", head, "--cv", "3", "--groups", "^site"], status: 65)
        #expect(missing.standardError.hasPrefix("graft: error: --groups regular expression '^site' gives no group for"))
    }

    @Test("an MLP head trains with early stopping, deterministically for a seed")
    func perceptron() throws {
        let folder = try TemporaryFolder()
        let arguments = ["train", Self.headFixtures + "/multiclass.h5", "--model", "mlp", "--hidden", "32", "--epochs", "40",
                         "--batch", "32", "--lr", "0.003", "--seed", "3", "--threads", "2"]
        let first = try Self.graft(arguments + ["-o", folder.path("a.graft")])
        try Self.graft(arguments + ["-o", folder.path("b.graft")])
        #expect(first.standardError.contains("epoch 1: loss"))
        #expect(first.standardError.contains("validation loss"))
        #expect(first.standardError.contains("kept epoch"))
        let a = try Data(contentsOf: URL(fileURLWithPath: folder.path("a.graft")))
        let b = try Data(contentsOf: URL(fileURLWithPath: folder.path("b.graft")))
        #expect(a == b)
        let table = Table(try Self.graft(["predict", folder.path("a.graft"), Self.headFixtures + "/multiclass.h5"]).standardOutput)
        let correct = table.rows.filter { row in
            table.classes[row.probabilities.indices.max { row.probabilities[$0] < row.probabilities[$1] }!] == row.label
        }.count
        #expect(Double(correct) / Double(table.rows.count) > 0.85)
    }
}
