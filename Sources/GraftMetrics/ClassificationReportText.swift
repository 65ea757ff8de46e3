extension ClassificationReport {
    /// The default output: one `key⇥value…` line per fact.
    ///
    /// ```
    /// n                 257                  (Tests/GraftMetricsTests/Fixtures/report_seven.tsv)
    /// accuracy          0.5292
    /// balanced_accuracy 0.4564
    /// top_k_accuracy    1   0.5136           (three or more classes; k, then the accuracy)
    /// log_loss          1.7383
    /// brier             0.6601
    /// zero_division     0
    /// per_class         ant 0.7143 0.5952 0.6494 84   (precision, recall, F1, support)
    /// macro_avg         0.3819 0.3912 0.3781 257
    /// weighted_avg      0.5720 0.5292 0.5440 257
    /// confusion         ant 50 10 5 6 7 0 6           (true class, then its rows per predicted class)
    /// ```
    /// Rates have 4 decimals, a NaN (`zero_division nan`) prints as `nan`; `--json` gives full
    /// precision.
    public func tabSeparatedText() -> String {
        var lines: [String] = []
        func add(_ fields: String...) { lines.append(fields.joined(separator: "\t")) }
        let fixed = { (value: Double) in value.isNaN ? "nan" : formatted(value, "%.4f") }
        add("n", String(rowCount))
        add("accuracy", fixed(accuracy))
        add("balanced_accuracy", fixed(balancedAccuracy))
        for entry in topK { add("top_k_accuracy", String(entry.k), fixed(entry.accuracy)) }
        add("log_loss", fixed(logLoss))
        add("brier", fixed(brierScore))
        add("zero_division", zeroDivision.rawValue)
        for (index, name) in classNames.enumerated() {
            let scores = perClass[index]
            add("per_class", name, fixed(scores.precision), fixed(scores.recall), fixed(scores.f1), String(scores.support))
        }
        for (key, scores) in [("macro_avg", macroAverage), ("weighted_avg", weightedAverage)] {
            add(key, fixed(scores.precision), fixed(scores.recall), fixed(scores.f1), String(scores.support))
        }
        let k = classNames.count
        if let confusion {
            for (index, name) in classNames.enumerated() {
                lines.append((["confusion", name] + confusion[(index * k)..<(index * k + k)].map(String.init)).joined(separator: "\t"))
            }
        }
        if skippedRows > 0 { add("skipped_unlabelled", String(skippedRows)) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `--json` output, one object: `n`, `accuracy`, `balanced_accuracy`,
    /// `top_k_accuracy: {"1": …, "5": …}`, `log_loss`, `brier`, `zero_division`,
    /// `per_class: {name: {precision, recall, f1, support}}`, `macro_avg`, `weighted_avg`,
    /// `classes` (column order), `confusion` (rows: true class; null above
    /// `maximumMatrixClasses` classes), `skipped_unlabelled`.
    /// Numbers print in the shortest form that reads back to the same double; NaN is `null`.
    public func jsonText() -> String {
        func scores(_ entry: Scores) -> String {
            JSONText.object([("\"precision\"", JSONText.number(entry.precision)), ("\"recall\"", JSONText.number(entry.recall)),
                             ("\"f1\"", JSONText.number(entry.f1)), ("\"support\"", String(entry.support))])
        }
        let k = classNames.count
        let matrix = confusion.map { confusion in
            "[" + (0..<k).map { row in
                "[" + confusion[(row * k)..<(row * k + k)].map(String.init).joined(separator: ", ") + "]"
            }.joined(separator: ", ") + "]"
        } ?? "null"
        let fields: [(String, String)] = [
            ("n", String(rowCount)),
            ("accuracy", JSONText.number(accuracy)),
            ("balanced_accuracy", JSONText.number(balancedAccuracy)),
            ("top_k_accuracy", JSONText.object(topK.map { (JSONText.string(String($0.k)), JSONText.number($0.accuracy)) })),
            ("log_loss", JSONText.number(logLoss)),
            ("brier", JSONText.number(brierScore)),
            ("zero_division", JSONText.string(zeroDivision.rawValue)),
            ("per_class", JSONText.object(classNames.enumerated().map { (JSONText.string($0.element), scores(perClass[$0.offset])) })),
            ("macro_avg", scores(macroAverage)),
            ("weighted_avg", scores(weightedAverage)),
            ("classes", "[" + classNames.map(JSONText.string).joined(separator: ", ") + "]"),
            ("confusion", matrix),
            ("skipped_unlabelled", String(skippedRows)),
        ]
        return JSONText.object(fields.map { (JSONText.string($0.0), $0.1) }) + "\n"
    }
}
