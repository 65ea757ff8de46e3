import GraftSupport
/// A confusion matrix written as a TSV table or drawn as an SVG heat map.
public enum ConfusionMatrixPlot {
    /// The most classes `--plot` draws (a quarter of a million cells).
    public static let maximumPlotClasses = 512

    /// The matrix as TSV: a header `true\predicted⇥<class 1>⇥…`, then one row per true class:
    /// its name and how many of its rows were predicted as each class (empty without a matrix).
    public static func tabSeparatedText(_ report: ClassificationReport) -> String {
        let k = report.classNames.count
        guard let confusion = report.confusion else { return "" }
        var text = "true\\predicted\t" + report.classNames.joined(separator: "\t") + "\n"
        for row in 0..<k {
            let counts = confusion[(row * k)..<(row * k + k)].map(String.init).joined(separator: "\t")
            text += report.classNames[row] + "\t" + counts + "\n"
        }
        return text
    }

    /// Writes the matrix to `path`: `.svg` draws the heat map, anything else gets the TSV.
    /// The file is written to a temporary name and renamed.
    public static func write(_ report: ClassificationReport, title: String, to path: String, option: String) throws {
        let drawing = path.lowercased().hasSuffix(".svg")
        let limit = drawing ? maximumPlotClasses : ClassificationReport.maximumMatrixClasses
        guard report.confusion != nil, report.classNames.count <= limit else {
            throw ReportInputError.tooManyClassesForMatrix(source: report.source, classes: report.classNames.count, limit: limit, option: option)
        }
        let text = path.lowercased().hasSuffix(".svg") ? svgDocument(report, title: title) : tabSeparatedText(report)
        try writeFileAtomically(Array(text.utf8), to: path)
    }

    /// An SVG heat map: true classes down, predicted classes across, each cell shaded by the
    /// fraction of its true class's rows (so that rare classes read as well as common ones) and
    /// labelled with its count when the cells are large enough to hold it. Class names label
    /// both axes (the column names slanted); the subtitle carries accuracy and balanced accuracy.
    public static func svgDocument(_ report: ClassificationReport, title: String) -> String {
        let k = report.classNames.count
        let confusion = report.confusion ?? []
        guard confusion.count == k * k else { return "" }
        let cell = min(64.0, max(8.0, 640.0 / Double(k)))
        let fontSize = min(13.0, max(6.0, cell * 0.45))
        let longestName = Double(report.classNames.map(\.count).max() ?? 1)
        let nameSpace = min(220.0, 16 + longestName * fontSize * 0.6)
        let left = 40 + nameSpace, top = 80 + nameSpace * 0.75
        let size = cell * Double(k)
        let width = max(480.0, left + size + 40), height = top + size + 50
        func number(_ value: Double) -> String { formatted(value, "%.2f") }
        var svg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="\(number(fontSize))">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(number(width / 2))" y="26" text-anchor="middle" font-size="16">\(escapedXML(title))</text>
        <text x="\(number(width / 2))" y="46" text-anchor="middle" font-size="13">\(report.rowCount) rows, accuracy \(formatted(report.accuracy, "%.3f")), balanced accuracy \(formatted(report.balancedAccuracy, "%.3f")); shade: fraction of the true class</text>
        <text x="\(number(left + size / 2))" y="\(number(top + size + 34))" text-anchor="middle" font-size="13">Predicted class</text>
        <text transform="translate(16,\(number(top + size / 2))) rotate(-90)" text-anchor="middle" font-size="13">True class</text>

        """
        for row in 0..<k {
            var support = 0
            for column in 0..<k { support += confusion[row * k + column] }
            let y = top + Double(row) * cell
            svg += "<text x=\"\(number(left - 6))\" y=\"\(number(y + cell / 2 + fontSize * 0.35))\" text-anchor=\"end\">\(escapedXML(report.classNames[row]))</text>\n"
            for column in 0..<k {
                let count = confusion[row * k + column]
                let fraction = support > 0 ? Double(count) / Double(support) : 0
                let x = left + Double(column) * cell
                // White to a strong blue.
                let red = Int((255 - fraction * (255 - 31)).rounded()), green = Int((255 - fraction * (255 - 94)).rounded()),
                    blue = Int((255 - fraction * (255 - 180)).rounded())
                svg += "<rect x=\"\(number(x))\" y=\"\(number(y))\" width=\"\(number(cell))\" height=\"\(number(cell))\" fill=\"rgb(\(red),\(green),\(blue))\" stroke=\"#dddddd\" stroke-width=\"0.5\">"
                // A tooltip per cell while the picture stays small.
                svg += k <= 64 ? "<title>\(escapedXML(report.classNames[row])) → \(escapedXML(report.classNames[column])): \(count)</title></rect>\n" : "</rect>\n"
                if cell >= 22 {
                    let ink = fraction > 0.5 ? "white" : "black"
                    svg += "<text x=\"\(number(x + cell / 2))\" y=\"\(number(y + cell / 2 + fontSize * 0.35))\" text-anchor=\"middle\" fill=\"\(ink)\">\(count)</text>\n"
                }
            }
        }
        for column in 0..<k {
            let x = left + Double(column) * cell + cell / 2
            svg += "<text transform=\"translate(\(number(x + fontSize * 0.35)),\(number(top - 6))) rotate(-50)\" text-anchor=\"start\">\(escapedXML(report.classNames[column]))</text>\n"
        }
        svg += "<rect x=\"\(number(left))\" y=\"\(number(top))\" width=\"\(number(size))\" height=\"\(number(size))\" fill=\"none\" stroke=\"black\"/>\n"
        svg += "</svg>\n"
        return svg
    }
}

/// `text` with XML's special characters escaped.
func escapedXML(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(character)
        }
    }
    return out
}
