extension AUCReport {
    /// The TSV lines of the options added after the first release of `graft auc` (partial AUC,
    /// operating points, best threshold, many-model comparison), in that order:
    ///
    /// ```
    /// partial_auc_focus            specificity        (Tests/GraftMetricsTests/Fixtures/binary_ties.tsv
    /// partial_auc_range            0.8  1              --partial fpr:0,0.2, in the focus's terms)
    /// partial_auc                  0.0585             (pROC's partial.auc)
    /// partial_auc_ci_low/high      0.0428  0.0768     (bootstrap)
    /// partial_auc_corrected        0.6070             (partial.auc.correct = TRUE; NA below the diagonal)
    /// partial_auc_corrected_ci_low/high
    /// partial_auc_standardized     0.6070             (scikit-learn's max_fpr; fpr:0,m only)
    /// sensitivity_at_specificity   0.9  0.3091  0.2221  0.4017   (given, estimate, CI)
    /// specificity_at_sensitivity   …
    /// best_threshold               youden  0.15000000000000002  0.5942  0.7876
    ///                              (method, threshold, specificity, sensitivity; one line per tie)
    /// model                        1  binary_ties.tsv  0.7381    (--compare with two or more files)
    /// pair                         binary_ties.tsv  binary_ties_b.tsv  0.0480  0.0055  0.0905  2.2123  0.02695  0.08084
    ///                              (diff, ci_low, ci_high, z, p, p_holm)
    /// ```
    func extraLines(_ fixed: @escaping (Double) -> String) -> [String] {
        var lines: [String] = []
        func add(_ fields: String...) { lines.append(fields.joined(separator: "\t")) }
        let orNA = { (value: Double) in value.isNaN ? "NA" : fixed(value) }
        if let partial = partialAUC {
            add("partial_auc_focus", partial.range.focus.rawValue)
            add("partial_auc_range", formatted(partial.range.lower, "%g"), formatted(partial.range.upper, "%g"))
            add("partial_auc", orNA(partial.area))
            if let interval = partial.interval {
                add("partial_auc_ci_low", orNA(interval.lowerBound))
                add("partial_auc_ci_high", orNA(interval.upperBound))
            }
            add("partial_auc_corrected", orNA(partial.corrected))
            if let interval = partial.correctedInterval {
                add("partial_auc_corrected_ci_low", orNA(interval.lowerBound))
                add("partial_auc_corrected_ci_high", orNA(interval.upperBound))
            }
            if let standardized = partial.standardized { add("partial_auc_standardized", orNA(standardized)) }
        }
        for point in operatingPoints {
            var fields = [point.input == .specificity ? "sensitivity_at_specificity" : "specificity_at_sensitivity",
                          formatted(point.value, "%g"), orNA(point.estimate)]
            if let interval = point.interval { fields += [orNA(interval.lowerBound), orNA(interval.upperBound)] }
            lines.append(fields.joined(separator: "\t"))
        }
        if let method = bestThresholdMethod {
            for best in bestThresholds {
                add("best_threshold", method.rawValue, best.threshold.description, fixed(best.specificity), fixed(best.sensitivity))
            }
        }
        if let comparisons {
            for (index, source) in comparisons.sources.enumerated() {
                add("model", String(index + 1), source, fixed(comparisons.areasUnderCurve[index]))
            }
            for pair in comparisons.pairs {
                add("pair", comparisons.sources[pair.first], comparisons.sources[pair.second], fixed(pair.comparison.difference),
                    fixed(pair.lowerBound), fixed(pair.upperBound), fixed(pair.comparison.z),
                    formatted(pair.comparison.p, "%.4g"), formatted(pair.adjustedP, "%.4g"))
            }
        }
        return lines
    }

    /// The JSON members of the same options: `partial_auc: {focus, lower, upper, area, ci,
    /// corrected, corrected_ci, standardized}`, `operating_points: [{input, value, estimate, ci}]`,
    /// `best_threshold: {method, points: [{threshold, specificity, sensitivity}]}` and
    /// `comparisons: {level, models: [{source, auc}], pairs: [{first, second, diff, ci_low,
    /// ci_high, z, p, p_holm}]}` (first and second index `models`).
    func extraJSONFields() -> [(String, String)] {
        var fields: [(String, String)] = []
        func object(_ members: [(String, String)]) -> String { JSONText.object(members.map { (JSONText.string($0.0), $0.1) }) }
        if let partial = partialAUC {
            var members: [(String, String)] = [
                ("focus", JSONText.string(partial.range.focus.rawValue)), ("lower", JSONText.number(partial.range.lower)),
                ("upper", JSONText.number(partial.range.upper)), ("area", JSONText.number(partial.area)),
                ("ci", JSONText.interval(partial.interval)), ("corrected", JSONText.number(partial.corrected)),
                ("corrected_ci", JSONText.interval(partial.correctedInterval)),
            ]
            members.append(("standardized", JSONText.number(partial.standardized)))
            fields.append(("partial_auc", object(members)))
        }
        if !operatingPoints.isEmpty {
            fields.append(("operating_points", "[" + operatingPoints.map {
                object([("input", JSONText.string($0.input.rawValue)), ("value", JSONText.number($0.value)),
                        ("estimate", JSONText.number($0.estimate)), ("ci", JSONText.interval($0.interval))])
            }.joined(separator: ", ") + "]"))
        }
        if let method = bestThresholdMethod {
            let points = bestThresholds.map {
                object([("threshold", $0.threshold.isFinite ? $0.threshold.description : JSONText.string($0.threshold.description)),
                        ("specificity", JSONText.number($0.specificity)), ("sensitivity", JSONText.number($0.sensitivity))])
            }
            fields.append(("best_threshold", object([("method", JSONText.string(method.rawValue)), ("points", "[" + points.joined(separator: ", ") + "]")])))
        }
        if let comparisons {
            let models = comparisons.sources.enumerated().map {
                object([("source", JSONText.string($0.element)), ("auc", JSONText.number(comparisons.areasUnderCurve[$0.offset]))])
            }
            let pairs = comparisons.pairs.map {
                object([("first", String($0.first)), ("second", String($0.second)), ("diff", JSONText.number($0.comparison.difference)),
                        ("ci_low", JSONText.number($0.lowerBound)), ("ci_high", JSONText.number($0.upperBound)),
                        ("z", JSONText.number($0.comparison.z)), ("p", JSONText.number($0.comparison.p)), ("p_holm", JSONText.number($0.adjustedP))])
            }
            fields.append(("comparisons", object([("level", JSONText.number(comparisons.level)), ("models", "[" + models.joined(separator: ", ") + "]"),
                                                  ("pairs", "[" + pairs.joined(separator: ", ") + "]")])))
        }
        return fields
    }
}
