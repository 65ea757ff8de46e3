#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `printf`-style formatting of one number, e.g. `formatted(0.825, "%.4f")` is "0.8250".
func formatted(_ value: Double, _ format: String) -> String {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
        _ = withVaList([value]) { vsnprintf(buffer.baseAddress!, 64, format, $0) }
        return String(cString: buffer.baseAddress!)
    }
}

extension AUCReport {
    /// The default output: one `key⇥value` line per fact (per-class lines carry the class name
    /// as a middle field). AUCs and bounds have 4 decimals, z 4 decimals, p 4 significant digits;
    /// `--json` gives full precision.
    public func tabSeparatedText() -> String {
        var lines: [String] = []
        func add(_ fields: String...) { lines.append(fields.joined(separator: "\t")) }
        let fixed = { (value: Double) in formatted(value, "%.4f") }
        add("auc", areaUnderCurve.map(fixed) ?? "NA")
        if let interval {
            add("ci_low", fixed(interval.lowerBound))
            add("ci_high", fixed(interval.upperBound))
            add("ci_method", interval.method.rawValue)
            add("ci_level", formatted(interval.level, "%g"))
            if let replicates = interval.replicates { add("replicates", String(replicates)) }
            if let seed = interval.seed { add("seed", String(seed)) }
        } else {
            add("ci_method", "none")
        }
        add("n", String(rowCount))
        if let positives, let negatives, let positiveClass {
            add("positives", String(positives))
            add("negatives", String(negatives))
            add("positive_class", positiveClass)
        }
        if let multiclass {
            add("multi_class", multiclass.strategy.rawValue)
            add("average", multiclass.average.rawValue)
            for (index, name) in classNames.enumerated() {
                var fields = ["per_class", name, fixed(multiclass.perClass[index])]
                if let perClassIntervals {
                    fields += [fixed(perClassIntervals[index].lowerBound), fixed(perClassIntervals[index].upperBound)]
                }
                lines.append(fields.joined(separator: "\t"))
            }
            for (index, name) in classNames.enumerated() { add("class_rows", name, String(classSizes[index])) }
        }
        if let comparison {
            add("auc1", fixed(comparison.firstAUC))
            add("auc2", fixed(comparison.secondAUC))
            add("diff", fixed(comparison.difference))
            if let comparisonInterval {
                add("diff_ci_low", fixed(comparisonInterval.lower))
                add("diff_ci_high", fixed(comparisonInterval.upper))
            }
            add("z", fixed(comparison.z))
            add("p", formatted(comparison.p, "%.4g"))
        }
        if let precisionRecall {
            add("average_precision", precisionRecall.averagePrecision.map(fixed) ?? "NA")
            if let interval = precisionRecall.interval {
                add("ap_ci_low", fixed(interval.lowerBound))
                add("ap_ci_high", fixed(interval.upperBound))
            }
            if let perClass = precisionRecall.perClass {
                for (index, name) in classNames.enumerated() {
                    var fields = ["per_class_ap", name, fixed(perClass[index])]
                    if let intervals = precisionRecall.perClassIntervals {
                        fields += [fixed(intervals[index].lowerBound), fixed(intervals[index].upperBound)]
                    }
                    lines.append(fields.joined(separator: "\t"))
                }
            }
        }
        lines += extraLines(fixed)
        if skippedRows > 0 { add("skipped_unlabelled", String(skippedRows)) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `--json` output, one object:
    /// `{"auc", "n", "positives", "negatives", "positive_class", "ci": {"method", "level", "low",
    /// "high"[, "replicates", "seed"]}}`, for multiclass also `"multi_class"`, `"average"`,
    /// `"per_class": {name: auc}`, `"class_rows"` and (bootstrap, one-vs-rest)
    /// `"per_class_ci": {name: [low, high]}`; with `--compare` also
    /// `"compare": {"auc1", "auc2", "diff", "z", "p", "ci2"}`. Numbers print in the shortest form
    /// that reads back to the same double; a missing value is `null`.
    public func jsonText() -> String {
        var fields: [(String, String)] = []
        fields.append(("auc", json(areaUnderCurve)))
        fields.append(("n", String(rowCount)))
        if let positives, let negatives, let positiveClass {
            fields.append(("positives", String(positives)))
            fields.append(("negatives", String(negatives)))
            fields.append(("positive_class", json(positiveClass)))
        }
        fields.append(("ci", json(interval)))
        if let multiclass {
            fields.append(("multi_class", json(multiclass.strategy.rawValue)))
            fields.append(("average", json(multiclass.average.rawValue)))
            fields.append(("per_class", object(classNames.enumerated().map { (json($0.element), json(multiclass.perClass[$0.offset])) })))
            if let perClassIntervals {
                fields.append(("per_class_ci", object(classNames.enumerated().map {
                    (json($0.element), "[\(json(perClassIntervals[$0.offset].lowerBound)), \(json(perClassIntervals[$0.offset].upperBound))]")
                })))
            }
            if multiclass.strategy == .oneVsOne {
                fields.append(("per_pair", "[" + multiclass.perPair.map {
                    "{\"classes\": [\(json(classNames[$0.first])), \(json(classNames[$0.second]))], \"auc\": \(json($0.areaUnderCurve))}"
                }.joined(separator: ", ") + "]"))
            }
        }
        fields.append(("class_rows", object(classNames.enumerated().map { (json($0.element), String(classSizes[$0.offset])) })))
        if let comparison {
            var compare: [(String, String)] = [
                ("auc1", json(comparison.firstAUC)), ("auc2", json(comparison.secondAUC)),
                ("diff", json(comparison.difference)), ("z", json(comparison.z)), ("p", json(comparison.p)),
            ]
            if let comparisonInterval {
                compare.append(("diff_ci", "[\(json(comparisonInterval.lower)), \(json(comparisonInterval.upper))]"))
            }
            if let comparedSource { compare.append(("other", json(comparedSource))) }
            compare.append(("ci2", json(comparedInterval)))
            fields.append(("compare", object(compare.map { (json($0.0), $0.1) })))
        }
        if let precisionRecall {
            var members: [(String, String)] = [("value", json(precisionRecall.averagePrecision)), ("ci", json(precisionRecall.interval))]
            if let perClass = precisionRecall.perClass {
                members.append(("per_class", object(classNames.enumerated().map { (json($0.element), json(perClass[$0.offset])) })))
            }
            if let intervals = precisionRecall.perClassIntervals {
                members.append(("per_class_ci", object(classNames.enumerated().map {
                    (json($0.element), "[\(json(intervals[$0.offset].lowerBound)), \(json(intervals[$0.offset].upperBound))]")
                })))
            }
            fields.append(("average_precision", object(members.map { (json($0.0), $0.1) })))
        }
        fields += extraJSONFields()
        fields.append(("skipped_unlabelled", String(skippedRows)))
        return object(fields.map { (json($0.0), $0.1) }) + "\n"
    }

    private func object(_ members: [(String, String)]) -> String { JSONText.object(members) }

    private func json(_ interval: ConfidenceInterval?) -> String { JSONText.interval(interval) }

    private func json(_ value: Double?) -> String { JSONText.number(value) }

    private func json(_ text: String) -> String { JSONText.string(text) }
}

/// The pieces of graft's JSON output: objects from already-encoded members, numbers in the
/// shortest form that reads back to the same double (`null` when missing or not finite), and
/// escaped strings.
enum JSONText {
    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}"
    }

    static func interval(_ interval: ConfidenceInterval?) -> String {
        guard let interval else { return "null" }
        var members = [("\"method\"", string(interval.method.rawValue)), ("\"level\"", number(interval.level)),
                       ("\"low\"", number(interval.lowerBound)), ("\"high\"", number(interval.upperBound))]
        if let replicates = interval.replicates { members.append(("\"replicates\"", String(replicates))) }
        if let seed = interval.seed { members.append(("\"seed\"", String(seed))) }
        return object(members)
    }

    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "null" }
        return value.description
    }

    static func array(_ values: [Double]) -> String {
        "[" + values.map { number($0) }.joined(separator: ", ") + "]"
    }

    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += formatted(Double(scalar.value), "\\u%04.0f") } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
