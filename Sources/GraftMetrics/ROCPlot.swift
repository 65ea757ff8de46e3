import GraftSupport
/// ROC curves written as an SVG picture or as CSV points.
public enum ROCPlot {
    /// The output format, chosen by the file name's extension.
    public enum Format: Sendable {
        case svg, csv

        public init?(path: String) {
            let lower = path.lowercased()
            if lower.hasSuffix(".svg") { self = .svg } else if lower.hasSuffix(".csv") { self = .csv } else { return nil }
        }
    }

    /// Writes `curves` to `path` (`.svg` or `.csv`) atomically.
    public static func write(_ curves: [NamedCurve], title: String, subtitle: String? = nil, to path: String) throws {
        guard let format = Format(path: path) else { throw ROCPlotError.unknownFormat(path: path) }
        let bytes: [UInt8] = switch format {
        case .svg: Array(svgDocument(curves, title: title, subtitle: subtitle).utf8)
        case .csv: csvText(curves)
        }
        try writeFileAtomically(bytes, to: path)
    }

    /// CSV of every curve point, as scikit-learn's `roc_curve(drop_intermediate=False)`: the
    /// header is `fpr,tpr,threshold` for one curve and `curve,fpr,tpr,threshold` for several
    /// (the curve's class or model name first). The first threshold is `inf`; numbers print in
    /// the shortest form that reads back to the same double.
    public static func csvText(_ curves: [NamedCurve]) -> [UInt8] {
        var out: [UInt8] = []
        let pointCount = curves.reduce(0) { $0 + $1.curve.thresholds.count }
        out.reserveCapacity(pointCount * 48 + 64)
        let named = curves.count > 1
        out.append(contentsOf: (named ? "curve,fpr,tpr,threshold\n" : "fpr,tpr,threshold\n").utf8)
        for entry in curves {
            let prefix = named ? Array((csvField(entry.name) + ",").utf8) : []
            let curve = entry.curve
            for index in curve.thresholds.indices {
                out.append(contentsOf: prefix)
                out.append(contentsOf: curve.falsePositiveRates[index].description.utf8)
                out.append(UInt8(ascii: ","))
                out.append(contentsOf: curve.truePositiveRates[index].description.utf8)
                out.append(UInt8(ascii: ","))
                out.append(contentsOf: curve.thresholds[index].description.utf8)
                out.append(UInt8(ascii: "\n"))
            }
        }
        return out
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }

    /// An SVG picture: axes with ticks every 0.1 and labels every 0.2, a grid, the chance
    /// diagonal, one polyline per curve and a legend with each curve's AUC and interval (inside
    /// the plot's lower right corner when it fits there, else below the plot).
    public static func svgDocument(_ curves: [NamedCurve], title: String, subtitle: String? = nil) -> String {
        let series = curves.map { named -> CurveSeries in
            var text = "\(named.name): AUC \(formatted(named.areaUnderCurve, "%.3f"))"
            if let interval = named.interval {
                text += " (\(formatted(interval.level * 100, "%g"))% CI \(formatted(interval.lowerBound, "%.3f"))–\(formatted(interval.upperBound, "%.3f")))"
            }
            return CurveSeries(legend: text, xs: named.curve.falsePositiveRates, ys: named.curve.truePositiveRates, steps: false, baseline: nil)
        }
        return CurvePlot.svgDocument(series, title: title, subtitle: subtitle, xLabel: "False positive rate (1 − specificity)",
                                     yLabel: "True positive rate (sensitivity)", diagonal: true)
    }
}

/// One curve of a plot: its legend text and its points in [0, 1]².
struct CurveSeries {
    var legend: String
    var xs: [Double]
    var ys: [Double]
    /// Draw as steps (horizontal to the next x, then vertical), as precision–recall curves are.
    var steps: Bool
    /// A dashed horizontal line at this height in the curve's colour (a PR curve's prevalence).
    var baseline: Double?
}

/// The SVG drawing shared by ROC and precision–recall plots.
enum CurvePlot {
    /// Axes with ticks every 0.1 and labels every 0.2, a grid, optionally the chance diagonal,
    /// one polyline per series and a legend (inside the plot's lower right corner when it fits
    /// there, else below the plot).
    ///
    /// Points are mapped to the 480-pixel plot and rounded to 0.05 px; points that do not move
    /// the line (repeats, or the middle of a straight horizontal or vertical run) are dropped, so
    /// a curve of millions of points stays a few thousand vertices and looks the same.
    static func svgDocument(_ curves: [CurveSeries], title: String, subtitle: String?, xLabel: String, yLabel: String,
                            diagonal: Bool, legendAtTop: Bool = false) -> String {
        let left = 90.0, top = subtitle == nil ? 50.0 : 66.0, size = 480.0
        // Legend entries, and a width estimate at 7 px per character of 13 px Helvetica.
        let entries = curves.map(\.legend)
        let rowHeight = 20.0
        let legendWidth = 52 + 7 * Double(entries.map(\.count).max() ?? 0)
        let legendHeight = rowHeight * Double(curves.count) + 12
        let legendInside = legendWidth <= size - 20 && legendHeight <= size / 2
        let width = max(640.0, legendInside ? 0 : left + legendWidth + 20)
        let height = top + size + 70 + (legendInside ? 0 : legendHeight + 10)
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
        func x(_ rate: Double) -> Double { left + rate * size }
        func y(_ rate: Double) -> Double { top + (1 - rate) * size }
        func number(_ value: Double) -> String { formatted(value, "%.2f") }
        var svg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="13">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(number(left + size / 2))" y="30" text-anchor="middle" font-size="16">\(escapedXML(title))</text>

        """
        if let subtitle {
            svg += "<text x=\"\(number(left + size / 2))\" y=\"50\" text-anchor=\"middle\">\(escapedXML(subtitle))</text>\n"
        }
        // Grid and ticks.
        for step in 0...10 {
            let rate = Double(step) / 10
            let major = step % 2 == 0
            svg += "<line x1=\"\(number(x(rate)))\" y1=\"\(number(top))\" x2=\"\(number(x(rate)))\" y2=\"\(number(top + size))\" stroke=\"#e6e6e6\"/>\n"
            svg += "<line x1=\"\(number(left))\" y1=\"\(number(y(rate)))\" x2=\"\(number(left + size))\" y2=\"\(number(y(rate)))\" stroke=\"#e6e6e6\"/>\n"
            let tick = major ? 6.0 : 3.0
            svg += "<line x1=\"\(number(x(rate)))\" y1=\"\(number(top + size))\" x2=\"\(number(x(rate)))\" y2=\"\(number(top + size + tick))\" stroke=\"black\"/>\n"
            svg += "<line x1=\"\(number(left - tick))\" y1=\"\(number(y(rate)))\" x2=\"\(number(left))\" y2=\"\(number(y(rate)))\" stroke=\"black\"/>\n"
            if major {
                let label = formatted(rate, "%.1f")
                svg += "<text x=\"\(number(x(rate)))\" y=\"\(number(top + size + 22))\" text-anchor=\"middle\">\(label)</text>\n"
                svg += "<text x=\"\(number(left - 10))\" y=\"\(number(y(rate) + 4.5))\" text-anchor=\"end\">\(label)</text>\n"
            }
        }
        svg += "<rect x=\"\(number(left))\" y=\"\(number(top))\" width=\"\(number(size))\" height=\"\(number(size))\" fill=\"none\" stroke=\"black\"/>\n"
        svg += "<text x=\"\(number(left + size / 2))\" y=\"\(number(top + size + 45))\" text-anchor=\"middle\">\(escapedXML(xLabel))</text>\n"
        svg += "<text transform=\"translate(\(number(left - 50)),\(number(top + size / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapedXML(yLabel))</text>\n"
        if diagonal {
            svg += "<line x1=\"\(number(x(0)))\" y1=\"\(number(y(0)))\" x2=\"\(number(x(1)))\" y2=\"\(number(y(1)))\" stroke=\"#888888\" stroke-dasharray=\"6 4\"/>\n"
        }
        for (index, series) in curves.enumerated() {
            let color = colors[index % colors.count]
            if let baseline = series.baseline {
                svg += "<line x1=\"\(number(x(0)))\" y1=\"\(number(y(baseline)))\" x2=\"\(number(x(1)))\" y2=\"\(number(y(baseline)))\" stroke=\"\(color)\" stroke-opacity=\"0.6\" stroke-dasharray=\"6 4\"/>\n"
            }
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\""
            svg += simplifiedPoints(series, x: x, y: y).map { "\(number($0.0)),\(number($0.1))" }.joined(separator: " ")
            svg += "\"/>\n"
        }
        // Legend: bottom right (or top right) inside the plot, or below it.
        let legendLeft = legendInside ? left + size - legendWidth - 10 : left
        let legendTop = legendInside ? (legendAtTop ? top + 10 : top + size - legendHeight - 10) : top + size + 60
        svg += "<rect x=\"\(number(legendLeft))\" y=\"\(number(legendTop))\" width=\"\(number(legendWidth))\" height=\"\(number(legendHeight))\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#999999\"/>\n"
        for (index, text) in entries.enumerated() {
            let color = colors[index % colors.count]
            let rowY = legendTop + 6 + rowHeight * Double(index) + rowHeight / 2
            svg += "<line x1=\"\(number(legendLeft + 8))\" y1=\"\(number(rowY))\" x2=\"\(number(legendLeft + 32))\" y2=\"\(number(rowY))\" stroke=\"\(color)\" stroke-width=\"3\"/>\n"
            svg += "<text x=\"\(number(legendLeft + 40))\" y=\"\(number(rowY + 4.5))\">\(escapedXML(text))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    private static func simplifiedPoints(_ series: CurveSeries, x: (Double) -> Double, y: (Double) -> Double) -> [(Double, Double)] {
        var points: [(Double, Double)] = []
        func snapped(_ value: Double) -> Double { (value * 20).rounded() / 20 }
        func add(_ point: (Double, Double)) {
            if let last = points.last, last == point { return }
            if points.count >= 2 {
                let a = points[points.count - 2], b = points[points.count - 1]
                if (a.0 == b.0 && b.0 == point.0) || (a.1 == b.1 && b.1 == point.1) {
                    points[points.count - 1] = point
                    return
                }
            }
            points.append(point)
        }
        for index in series.xs.indices {
            let point = (snapped(x(series.xs[index])), snapped(y(series.ys[index])))
            if series.steps, index > 0 {
                add((point.0, snapped(y(series.ys[index - 1]))))
            }
            add(point)
        }
        return points
    }
}

/// A `--roc` path graft cannot write.
public enum ROCPlotError: GraftError, Equatable {
    case unknownFormat(path: String)
    case unknownPRFormat(path: String)

    public var exitStatus: ExitStatus { .usage }

    public var description: String {
        switch self {
        case let .unknownFormat(path): "--roc '\(path)' must end in .svg (a picture) or .csv (the curve points)"
        case let .unknownPRFormat(path): "--pr-curve '\(path)' must end in .svg (a picture) or .csv (the curve points)"
        }
    }
}
