import GraftModel
import Testing

/// The list of unsupported layers every importer puts in its one error stays one line of
/// bounded size, whatever names and kinds the file holds (found by fuzzing the ONNX importer).
@Suite struct UnsupportedLayerListing {
    @Test func namesAndKindsFromTheFileAreQuotedOnOneLine() {
        let layer = UnsupportedLayer(name: "a\nb", kind: "Elu\u{7}" + String(repeating: "x", count: 100))
        #expect(!layer.description.contains("\n"))
        #expect(layer.description.hasPrefix(#"'a\nb' (Elu\u{7}"#))
        #expect(layer.description.count < 60)
    }

    @Test func theListStopsAfterTwentyWithACount() {
        let layers = (0..<1000).map { UnsupportedLayer(name: "n\($0)", kind: "Op\($0)") }
        let text = layers.listedForMessage
        #expect(text.hasSuffix("'n19' (Op19) and 980 more"))
        #expect(text.hasPrefix("'n0' (Op0), 'n1' (Op1)"))
        #expect(Array(layers.prefix(3)).listedForMessage == "'n0' (Op0), 'n1' (Op1), 'n2' (Op2)")
    }
}
