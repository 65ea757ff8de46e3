@testable import GraftCaffeImport
import Foundation
import GraftModel
import GraftSupport
import GraftTestSupport
import Testing
/// Bad and unsupported input: every error names what is wrong, with exit status 65.
@Suite struct ErrorTests {
    @Test func missingWeightsNameTheLayerAndShapes() throws {
        let folder = try TemporaryFolder()
        let prototxt = try writeTemporary("""
            input: "data" input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }
            layer { name: "other" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 3 } }
            """, in: folder)
        let weights = fixturePath("input_dim.caffemodel")
        #expect(throws: CaffeImportError.missingWeights(layer: "other", type: "Convolution", expectedShapes: [[2, 3, 3, 3], [2]], weightsFile: weights)) {
            try CaffeImporter.convert(prototxt: prototxt, weights: weights)
        }
        #expect(throws: CaffeImportError.missingWeights(layer: "other", type: "Convolution", expectedShapes: [[2, 3, 3, 3], [2]], weightsFile: nil)) {
            try CaffeImporter.convert(prototxt: prototxt, weights: nil)
        }
        let message = CaffeImportError.missingWeights(layer: "other", type: "Convolution", expectedShapes: [[2, 3, 3, 3], [2]], weightsFile: "w.caffemodel").description
        #expect(message == "layer 'other' (Convolution) needs weights of shapes [2, 3, 3, 3] and [2], but 'w.caffemodel' has no layer of that name")
    }

    /// Names in a prototxt may hold escaped line breaks (`"d\nata"`); the error stays one line and
    /// quotes at most 80 characters of a name (found by fuzzing the prototxt reader).
    @Test func namesWithLineBreaksStayOnOneLine() throws {
        let folder = try TemporaryFolder()
        let long = String(repeating: "x", count: 200)
        let prototxt = try writeTemporary("""
            input: "data" input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }
            layer { name: "flat\\n\(long)" type: "Flatten" bottom: "d\\nata" top: "flat" }
            """, in: folder)
        do {
            _ = try CaffeImporter.convert(prototxt: prototxt, weights: nil)
            Issue.record("a layer reading an undefined blob was converted")
        } catch let error as CaffeImportError {
            let message = error.description
            #expect(!message.contains("\n"), "\(message)")
            #expect(message.contains("reads blob 'd\\nata'"), "\(message)")
            #expect(!message.contains(long) && message.contains("x…'"), "\(message)")
        }
    }

    @Test func wrongBlobShapesAreReported() throws {
        let folder = try TemporaryFolder()
        let prototxt = try writeTemporary("""
            input: "data" input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }
            layer { name: "conv1" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 5 kernel_size: 3 } }
            """, in: folder)
        #expect(throws: CaffeImportError.weightShapeMismatch(file: fixturePath("input_dim.caffemodel"), layer: "conv1", blob: 0, expected: [5, 3, 3, 3], actual: [4, 3, 3, 3])) {
            try CaffeImporter.convert(prototxt: prototxt, weights: fixturePath("input_dim.caffemodel"))
        }
    }

    @Test func everyUnsupportedLayerIsListed() throws {
        let folder = try TemporaryFolder()
        let prototxt = try writeTemporary("""
            input: "data" input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }
            layer { name: "mvn" type: "MVN" bottom: "data" top: "mvn" }
            layer { name: "relu" type: "ReLU" bottom: "mvn" top: "mvn" }
            layer { name: "argmax" type: "ArgMax" bottom: "mvn" top: "am" }
            layer { name: "py" type: "Python" bottom: "am" top: "py" python_param { module: "m" layer: "L" } }
            """, in: folder)
        let expected = CaffeImportError.unsupportedLayers(file: prototxt, layers: [
            UnsupportedLayer(name: "mvn", kind: "MVN"), UnsupportedLayer(name: "argmax", kind: "ArgMax"),
            UnsupportedLayer(name: "py", kind: "Python"),
        ])
        #expect(throws: expected) { try CaffeImporter.convert(prototxt: prototxt, weights: nil) }
        #expect(expected.exitStatus == .dataError)
        #expect(expected.description.hasSuffix("has 3 layers graft cannot convert: 'mvn' (MVN), 'argmax' (ArgMax), 'py' (Python)"))
    }

    @Test func forkFieldsWithAnotherWireTypeAreNamed() throws {
        let error = #expect(throws: CaffeImportError.self) {
            try CaffeImporter.convert(prototxt: fixturePath("conv_basic.prototxt"), weights: fixturePath("wrong_wire_type.caffemodel"))
        }
        guard case let .wrongWireType(_, detail) = error else {
            Issue.record("expected wrongWireType, got \(String(describing: error))")
            return
        }
        #expect(detail == "field 'convolution_param' (number 106) of LayerParameter in layer[0] has wire type varint, expected length-delimited")
        let blobError = #expect(throws: CaffeImportError.self) {
            try CaffeImporter.convert(prototxt: fixturePath("conv_basic.prototxt"), weights: fixturePath("wrong_wire_type_blob.caffemodel"))
        }
        guard case let .wrongWireType(_, blobDetail) = blobError else {
            Issue.record("expected wrongWireType, got \(String(describing: blobError))")
            return
        }
        #expect(blobDetail == "field 'shape' (number 7) of BlobProto in layer 'conv1' blobs[0] has wire type 32-bit, expected length-delimited")
    }

    @Test func truncatedCaffemodelsAreRefused() throws {
        let folder = try TemporaryFolder()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixturePath("conv_basic.caffemodel")))
        let cut = folder.path("cut.caffemodel")
        try bytes.prefix(bytes.count - 7).write(to: URL(fileURLWithPath: cut))
        #expect {
            try CaffeImporter.convert(prototxt: fixturePath("conv_basic.prototxt"), weights: cut)
        } throws: { error in
            // A cut file no longer parses as protobuf fields to the end, so it is not recognised.
            if case CaffeImportError.unrecognizedFile = error { return true }
            if case CaffeImportError.malformedCaffemodel = error { return true }
            return false
        }
    }

    @Test func unusedCaffemodelLayersBecomeNotes() throws {
        let folder = try TemporaryFolder()
        let prototxt = try writeTemporary("""
            input: "data" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8
            layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 4 kernel_size: 3 } }
            """, in: folder)
        let conversion = try CaffeImporter.convert(prototxt: prototxt, weights: fixturePath("input_dim.caffemodel"))
        #expect(conversion.notes.count == 1)
        #expect(conversion.notes.first?.contains("layer 'fc' (InnerProduct) has 2 weight blobs but the prototxt has no layer of that name; ignored") == true)
    }

    @Test func fileKindsMustFit() throws {
        #expect(throws: CaffeImportError.wrongFileKinds(prototxt: fixturePath("conv_basic.prototxt"), weights: fixturePath("lrn.prototxt"))) {
            try CaffeImporter.convert(prototxt: fixturePath("conv_basic.prototxt"), weights: fixturePath("lrn.prototxt"))
        }
        #expect(throws: CaffeImportError.unrecognizedFile(file: fixturePath("conv_basic.input.npy"))) {
            try CaffeImporter.convert(files: [fixturePath("conv_basic.prototxt"), fixturePath("conv_basic.input.npy")])
        }
        #expect(throws: FileError.self) {
            try CaffeImporter.convert(prototxt: "/nonexistent/deploy.prototxt", weights: nil)
        }
    }

    @Test func batchAxisOperationsAreRefused() throws {
        let folder = try TemporaryFolder()
        let prototxt = try writeTemporary("""
            input: "data" input_shape { dim: 2 dim: 3 }
            layer { name: "cat" type: "Concat" bottom: "data" bottom: "data" top: "cat" concat_param { axis: 0 } }
            """, in: folder)
        #expect(throws: CaffeImportError.unsupportedParameter(file: prototxt, layer: "cat", reason: "concatenates along the batch axis (axis 0)")) {
            try CaffeImporter.convert(prototxt: prototxt, weights: nil)
        }
    }
}
