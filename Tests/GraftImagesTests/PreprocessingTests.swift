import Foundation
import Testing
import GraftTensors
@testable import GraftImages
@Suite struct KerasParity {
    /// `Preprocessor` equals Keras's `img_to_array(load_img(...))` + `preprocess_input`: the
    /// pixels exactly, the normalised tensor within 1e-5 relative max error (in fact bit for bit).
    @Test(arguments: Fixtures.manifest.keras)
    func equalsKeras(_ fixture: Fixtures.KerasCase) throws {
        let layout = try #require(TensorLayout(rawValue: fixture.layout))
        let color = try #require(ColorMode(rawValue: fixture.color))
        let geometry = ModelInputGeometry(height: fixture.size[0], width: fixture.size[1],
                                          channels: color.channelCount, layout: layout)
        let requested = Preprocessing(preset: PreprocessingPreset(rawValue: fixture.preset),
                                      interpolation: Interpolation(rawValue: fixture.interpolation))
        let preprocessor = try Preprocessor(try requested.resolved(for: geometry))
        let tensor = try preprocessor.tensor(forImageAt: Fixtures.path(fixture.file))
        let reference = try Fixtures.tensor(fixture.reference)
        #expect(tensor.shape == reference.shape)
        let error = tensor.relativeMaxError(to: reference)
        let is16BitWithAlpha = fixture.file.hasSuffix("rgba16.png") || fixture.file.hasSuffix("gray_alpha16.png")
        if is16BitWithAlpha {
            // Translucent 16-bit samples can be one level off (see Decoding.expectPILPixels).
            #expect(error <= 1.01 / 127.5, "relative max error \(error)")
        } else {
            #expect(error <= 1e-5, "relative max error \(error)")
            let identical = tensor == reference
            #expect(identical, "not bit for bit: relative max error \(error)")
        }

        // The pixels before normalisation, against Keras's img_to_array.
        let plain = try Preprocessor(try Preprocessing(preset: PreprocessingPreset.rawPixels,
                                                       interpolation: Interpolation(rawValue: fixture.interpolation))
            .resolved(for: geometry)).tensor(forImageAt: Fixtures.path(fixture.file))
        let pixels = try Fixtures.bytes(fixture.pixels)
        #expect(plain.shape == pixels.shape)
        let largest = zip(plain.scalars, pixels.bytes).map { abs($0 - Float($1)) }.max() ?? 0
        #expect(largest <= (is16BitWithAlpha ? 1 : 0), "pixels differ by up to \(largest) levels")
    }

    /// Shorter side then centre crop, Caffe arithmetic, NCHW: against PIL resize + crop.
    @Test(arguments: Fixtures.manifest.crop)
    func cropEqualsPIL(_ fixture: Fixtures.CropCase) throws {
        let geometry = ModelInputGeometry(height: fixture.size[0], width: fixture.size[1], channels: 3, layout: .nchw)
        let requested = Preprocessing(preset: .caffe, resize: .crop, shorterSide: fixture.shorter_side,
                                      interpolation: Interpolation(rawValue: fixture.interpolation),
                                      mean: fixture.mean, scale: fixture.scale)
        let tensor = try Preprocessor(try requested.resolved(for: geometry)).tensor(forImageAt: Fixtures.path(fixture.file))
        let reference = try Fixtures.tensor(fixture.reference)
        #expect(tensor.shape == reference.shape)
        let identical = tensor == reference
        #expect(identical, "relative max error \(tensor.relativeMaxError(to: reference))")
    }
}

@Suite struct PreprocessingRecord {
    let nhwc224 = ModelInputGeometry(height: 224, width: 224, channels: 3, layout: .nhwc)

    @Test func theMinimalRecordResolvesToTheFullEffectiveValue() throws {
        let recorded = try Preprocessing(json: Data(#"{"preset": "keras-caffe"}"#.utf8))
        #expect(recorded == Preprocessing(preset: .kerasCaffe))
        let effective = try recorded.resolved(for: nhwc224)
        #expect(effective.isComplete)
        #expect(effective.jsonText() == #"{"channel_order":"bgr","color":"rgb","divisor":1,"exif_orientation":false,"fast_decode":false,"interpolation":"nearest","layout":"NHWC","mean":[103.939,116.779,123.68],"preset":"keras-caffe","resize":"stretch","scale":1,"size":[224,224],"std":[1,1,1]}"#)
        // The effective value reads back as itself and resolves to itself.
        let reread = try Preprocessing(json: Data(effective.jsonText().utf8))
        #expect(reread == effective)
        #expect(try reread.resolved(for: nhwc224) == effective)
    }

    /// `depth_16`: recorded only when it is `scale`, so records made with the default stay
    /// byte-identical to those written before the member existed (and old caches resume).
    @Test func depth16IsRecordedOnlyWhenItChangesPixels() throws {
        let plain = try Preprocessing(preset: .kerasCaffe).resolved(for: nhwc224)
        let explicitDefault = try Preprocessing(json: Data(#"{"preset": "keras-caffe", "depth_16": "pil"}"#.utf8))
        #expect(explicitDefault.depth16 == .pil)
        #expect(try explicitDefault.resolved(for: nhwc224) == plain)
        #expect(!plain.jsonText().contains("depth_16"))

        let scaled = try Preprocessing(preset: .kerasCaffe).overridden(by: Preprocessing(depth16: .scale)).resolved(for: nhwc224)
        #expect(scaled.isComplete)
        #expect(scaled.jsonText().contains(#""depth_16":"scale""#))
        #expect(try Preprocessing(json: Data(scaled.jsonText().utf8)) == scaled)
        #expect(throws: PreprocessingError.self) {
            try Preprocessing(json: Data(#"{"depth_16": "stretch"}"#.utf8))
        }
    }

    /// The preprocessor decodes with the recorded reduction: a 16-bit gray TIFF through the
    /// `none` preset gives PIL's clipped values by default and the scaled ones with `scale`.
    @Test func thePreprocessorAppliesDepth16() throws {
        let geometry = ModelInputGeometry(height: 60, width: 80, channels: 1, layout: .nhwc)
        let path = FormatFixtures.path("images/gray16.tif")
        let entry = try #require(FormatFixtures.manifest.decoded.first { $0.file == "images/gray16.tif" })
        for (reduction, reference) in [(SixteenBitReduction.pil, entry.gray!), (.scale, entry.scale_gray!)] {
            let effective = try Preprocessing(preset: .rawPixels, depth16: reduction).resolved(for: geometry)
            let tensor = try Preprocessor(effective).tensor(forImageAt: path)
            let expected = try FormatFixtures.bytes(reference)
            #expect(tensor.scalars == expected.bytes.map(Float.init), "\(reduction)")
        }
    }

    @Test func cropDefaultsToTheShorterSide256For224() throws {
        let effective = try Preprocessing(preset: .kerasTorch, resize: .crop).resolved(for: nhwc224)
        #expect(effective.shorterSide == 256)
        let inception = ModelInputGeometry(height: 299, width: 299, channels: 3, layout: .nhwc)
        #expect(try Preprocessing(preset: .kerasTF, resize: .crop).resolved(for: inception).shorterSide == 342)
    }

    @Test func overridesReplaceMembersAndANewPresetDropsTheOldNumbers() throws {
        let recorded = Preprocessing(preset: .caffe, interpolation: .bilinear, mean: [104, 117, 123], scale: 0.017)
        let same = recorded.overridden(by: Preprocessing(mean: [1, 2, 3]))
        #expect(same.mean == [1, 2, 3] && same.scale == 0.017 && same.interpolation == .bilinear)
        let other = recorded.overridden(by: Preprocessing(preset: .kerasTF))
        #expect(other.mean == nil && other.scale == nil && other.interpolation == .bilinear && other.preset == .kerasTF)
    }

    @Test func badRecordsAndContradictionsAreRefused() throws {
        #expect(throws: PreprocessingError.noPreset) { try Preprocessing().resolved(for: nhwc224) }
        #expect(PreprocessingError.noPreset.description
                == "the model records no preprocessing; choose --preprocess keras-caffe, keras-tf, keras-torch, caffe or none")
        let open = ModelInputGeometry(height: nil, width: nil, channels: 3, layout: .nhwc)
        #expect(throws: PreprocessingError.unknownSize) { try Preprocessing(preset: .rawPixels).resolved(for: open) }
        #expect(try Preprocessing(preset: .rawPixels, height: 10, width: 20).resolved(for: open).width == 20)
        #expect(throws: PreprocessingError.sizeMismatch(height: 10, width: 224, modelHeight: 224, modelWidth: 224)) {
            try Preprocessing(preset: .rawPixels, height: 10, width: 224).resolved(for: nhwc224)
        }
        #expect(throws: PreprocessingError.channelMismatch(color: .gray, modelChannels: 3)) {
            try Preprocessing(preset: .rawPixels, color: .gray).resolved(for: nhwc224)
        }
        let gray = ModelInputGeometry(height: 28, width: 28, channels: 1, layout: .nhwc)
        #expect(throws: PreprocessingError.channelCountMismatch(name: "mean", values: [103.939, 116.779, 123.68], channels: 1, preset: .kerasCaffe)) {
            try Preprocessing(preset: .kerasCaffe).resolved(for: gray)
        }
        #expect(try Preprocessing(preset: .kerasCaffe, mean: [120]).resolved(for: gray).color == .gray)
        #expect(throws: PreprocessingError.layoutMismatch(recorded: .nchw, model: .nhwc)) {
            try Preprocessing(preset: .rawPixels, layout: .nchw).resolved(for: nhwc224)
        }
        #expect(throws: PreprocessingError.self) { try Preprocessing(preset: .rawPixels, resize: .crop, shorterSide: 200).resolved(for: nhwc224) }
        #expect(throws: PreprocessingError.self) { try Preprocessing(preset: .rawPixels, std: [1, 0, 1]).resolved(for: nhwc224) }
        #expect(throws: PreprocessingError.invalidRecord(reason: "unknown member 'interpolaton' (known: channel_order, color, depth_16, divisor, exif_orientation, fast_decode, interpolation, layout, mean, preset, resize, scale, shorter_side, size, std)")) {
            try Preprocessing(json: Data(#"{"preset": "none", "interpolaton": "bilinear"}"#.utf8))
        }
        #expect(throws: PreprocessingError.self) { try Preprocessing(json: Data(#"{"preset": "lanczos"}"#.utf8)) }
        #expect(throws: PreprocessingError.self) { try Preprocessing(json: Data(#"{"size": [224]}"#.utf8)) }
        #expect(throws: PreprocessingError.self) { try Preprocessor(Preprocessing(preset: .rawPixels)) }
    }

    @Test func aSingleMeanBroadcastsAndNumbersMayBeScalars() throws {
        let recorded = try Preprocessing(json: Data(#"{"preset": "caffe", "mean": 128, "scale": 0.0078125}"#.utf8))
        let effective = try recorded.resolved(for: nhwc224)
        #expect(effective.mean == [128, 128, 128])
        #expect(effective.scale == 0.0078125)
        #expect(effective.channelOrder == .bgr)
    }
}
