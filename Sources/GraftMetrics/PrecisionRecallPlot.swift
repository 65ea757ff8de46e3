import GraftSupport
/// Precision–recall curves written as an SVG picture or as CSV points (`graft auc --pr-curve`).
public enum PrecisionRecallPlot {
    /// Writes `curves` to `path` (`.svg` or `.csv`, as `ROCPlot.Format` tells) atomically.
    public static func write(_ curves: [NamedPRCurve], intervals: [ConfidenceInterval?], title: String, to path: String) throws {
        guard let format = ROCPlot.Format(path: path) else { throw ROCPlotError.unknownPRFormat(path: path) }
        let bytes: [UInt8] = switch format {
        case .svg: Array(svgDocument(curves, intervals: intervals, title: title).utf8)
        case .csv: csvText(curves)
        }
        try writeFileAtomically(bytes, to: path)
    }

    /// CSV of every point, as scikit-learn's `precision_recall_curve`: the header is
    /// `precision,recall,threshold` for one curve and `curve,precision,recall,threshold` for
    /// several; points by ascending threshold, the last (precision 1, recall 0) with threshold
    /// `inf`. Numbers print in the shortest form that reads back to the same double.
    public static func csvText(_ curves: [NamedPRCurve]) -> [UInt8] {
        var out: [UInt8] = []
        let named = curves.count > 1
        out.append(contentsOf: (named ? "curve,precision,recall,threshold\n" : "precision,recall,threshold\n").utf8)
        for entry in curves {
            let prefix = named ? Array((ROCPlot.csvField(entry.name) + ",").utf8) : []
            let curve = entry.curve
            for index in curve.thresholds.indices {
                out.append(contentsOf: prefix)
                out.append(contentsOf: "\(curve.precisions[index]),\(curve.recalls[index]),\(curve.thresholds[index])\n".utf8)
            }
        }
        return out
    }

    /// Recall across, precision up, each curve drawn as steps (the precision at a recall holds
    /// until the next threshold adds recall, which is what average precision sums), with its
    /// prevalence (a classifier without skill) as a dashed line, and a legend with each AP and
    /// interval.
    public static func svgDocument(_ curves: [NamedPRCurve], intervals: [ConfidenceInterval?], title: String) -> String {
        let series = curves.enumerated().map { index, named -> CurveSeries in
            var text = "\(named.name): AP \(formatted(named.averagePrecision, "%.3f"))"
            if index < intervals.count, let interval = intervals[index] {
                text += " (\(formatted(interval.level * 100, "%g"))% CI \(formatted(interval.lowerBound, "%.3f"))–\(formatted(interval.upperBound, "%.3f")))"
            }
            return CurveSeries(legend: text, xs: named.curve.recalls, ys: named.curve.precisions, steps: true, baseline: named.prevalence)
        }
        return CurvePlot.svgDocument(series, title: title, subtitle: nil, xLabel: "Recall (sensitivity)", yLabel: "Precision",
                                     diagonal: false)
    }
}
