import GraftSupport
import GraftTensors
import Foundation
/// The file formats `graft cache export` writes.
public enum FeatureExportFormat: String, Sendable, CaseIterable {
    /// A NumPy `.npy` float32 array of shape [N, D].
    case npy
    /// Comma-separated text: a header `id,label,f0,…,f{D−1}`, then one line per row with the id
    /// (quoted as RFC 4180 requires), the class name (empty when unlabelled) and the features
    /// in Swift's shortest round-trip decimal form.
    case csv
}

extension FeatureCache {
    /// The features of `layer` in `format`, as the bytes of a whole file.
    public func exportedBytes(of layer: String, format: FeatureExportFormat) throws -> [UInt8] {
        let dimension = try dimension(of: layer)
        switch format {
        case .npy:
            let tensor = Tensor(shape: [rowCount, dimension], scalars: try features(of: layer))
            return NumPyArray(tensor).encoded()
        case .csv:
            var text = "id,label" + (0..<dimension).map { ",f\($0)" }.joined() + "\n"
            let ids = try ids()
            let labels = try labels()
            let block = Swift.max(1, (16 << 20) / Swift.max(1, dimension * 4))
            var start = 0
            var bytes: [UInt8] = []
            while start < rowCount {
                let rows = start..<Swift.min(rowCount, start + block)
                let values = try features(of: layer, rows: rows)
                for (offset, row) in rows.enumerated() {
                    text += csvField(ids[row]) + ","
                    let label = labels[row]
                    if label >= 0, Int(label) < classes.count { text += csvField(classes[Int(label)]) }
                    for value in values[(offset * dimension)..<((offset + 1) * dimension)] {
                        text += ",\(value)"
                    }
                    text += "\n"
                }
                bytes += Array(text.utf8)
                text = ""
                start = rows.upperBound
            }
            return bytes + Array(text.utf8)
        }
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
private func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
