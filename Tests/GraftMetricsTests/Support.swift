import Foundation
import GraftTestSupport
@testable import GraftMetrics
/// The committed fixtures and the references written by the real tools
/// (Tools/fixtures/make_auc_fixtures.py with scikit-learn, Tools/fixtures/auc_reference.R with pROC).
enum Fixture {
    static let folder = fixtureFolder()

    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static func table(_ name: String) throws -> ScoreTable { try ScoreTable.read(path: path(name)) }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    nonisolated(unsafe) static let sklearn: [String: Any] = try! json("references_sklearn.json")
    nonisolated(unsafe) static let proc: [String: Any] = try! json("references_proc.json")

    static func sklearnBinary(_ name: String) -> [String: Any] {
        (sklearn["binary"] as! [String: Any])[name] as! [String: Any]
    }

    static func procBinary(_ name: String) -> [String: Any] {
        (proc["binary"] as! [String: Any])[name] as! [String: Any]
    }

    static func doubles(_ value: Any?) -> [Double] {
        (value as! [Any]).map { element in
            double(element)
        }
    }

    /// References store numbers as text (Swift's `Double(String)` rounds correctly; Foundation's
    /// JSON number parsing on Linux does not).
    static func double(_ value: Any?) -> Double {
        let text = value as! String
        return text == "inf" ? .infinity : Double(text)!
    }
}

let binaryFixtures = ["classic20.tsv", "binary_ties.tsv", "binary_ties_b.tsv", "names_binary.tsv",
                      "binary_large.tsv", "predict_binary.tsv", "predict_binary_b.tsv"]
