import Foundation
import GraftImport
import GraftModel
import GraftSupport
import GraftTestSupport
import Testing
/// The repository's `Tests/` folder, whose importer fixtures were written by Keras and by the
/// Caffe fixture generator.
private let tests = repositoryRoot.appendingPathComponent("Tests")
private func fixture(_ path: String) -> String { tests.appendingPathComponent(path).path }

@Suite struct DetectingSourcesByContent {
    @Test func kerasFilesOfEveryKind() throws {
        #expect(SourceFormat.detect(path: fixture("GraftKerasImportTests/Fixtures/tfkeras-h5/model.h5")) == .hdf5)
        #expect(SourceFormat.detect(path: fixture("GraftKerasImportTests/Fixtures/keras3-archive/model.keras")) == .zipArchive)
        #expect(try ModelImporter.framework(of: [fixture("GraftKerasImportTests/Fixtures/keras3-archive/model.keras")]) == .keras)
    }

    @Test func caffeFilesInEitherOrder() throws {
        let prototxt = fixture("GraftCaffeImportTests/Fixtures/conv_basic.prototxt")
        let weights = fixture("GraftCaffeImportTests/Fixtures/conv_basic.caffemodel")
        #expect(SourceFormat.detect(path: prototxt) == .prototxt)
        #expect(SourceFormat.detect(path: weights) == .caffemodel)
        #expect(try ModelImporter.framework(of: [weights, prototxt]) == .caffe)
        let forward = try ModelImporter.importModel(from: [prototxt, weights])
        let backward = try ModelImporter.importModel(from: [weights, prototxt])
        #expect(forward.graph == backward.graph)
        #expect(forward.provenance.framework == "caffe")
    }

    /// A copy of a Keras file under a Caffe-looking name is still Keras: names are never trusted.
    @Test func fileNamesAreIgnored() throws {
        try withTemporaryFolder { folder in
            let disguised = folder + "/weights.caffemodel"
            try FileManager.default.copyItem(atPath: fixture("GraftKerasImportTests/Fixtures/tfkeras-h5/model.h5"), toPath: disguised)
            #expect(try ModelImporter.framework(of: [disguised]) == .keras)
            let model = try ModelImporter.importModel(from: [disguised], options: .init(name: "renamed"))
            #expect(model.graph.name == "renamed")
            #expect(model.provenance.framework == "keras")
        }
    }

    @Test func unrecognisedAndMissingFilesAreReported() throws {
        let text = fixture("GraftImagesTests/Fixtures/images/baseline.jpg")
        #expect(throws: ImportError.unrecognisedSources(paths: [text], kinds: ["unrecognised"])) {
            try ModelImporter.framework(of: [text])
        }
        let h5 = fixture("GraftKerasImportTests/Fixtures/tfkeras-h5/model.h5")
        #expect(throws: ImportError.unrecognisedSources(paths: [h5, h5], kinds: ["HDF5", "HDF5"])) {
            try ModelImporter.framework(of: [h5, h5])
        }
        #expect(throws: FileError.cannotOpen(path: "/nonexistent/model.h5", reason: "No such file or directory")) {
            try ModelImporter.framework(of: ["/nonexistent/model.h5"])
        }
    }
}
