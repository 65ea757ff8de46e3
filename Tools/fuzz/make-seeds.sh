#!/usr/bin/env bash
# Makes the committed seed corpora of the libFuzzer targets (Tests/Fuzz/Corpus/<target>/) from
# the test fixtures: small real files of each format, as the frameworks and tools wrote them.
# Usage: Tools/fuzz/make-seeds.sh   (rerun after adding fixtures; it replaces the folders)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=Tests/Fuzz/Corpus
rm -rf "$out"
seed() {  # seed TARGET FILE...
    local target=$1; shift
    mkdir -p "$out/$target"
    for file in "$@"; do
        # Content-addressed names: the same bytes are one seed.
        cp "$file" "$out/$target/$(sha1sum "$file" | cut -c1-16)"
    done
}
seed graft Tests/GraftModelTests/Fixtures/tiny-cnn.graft Tests/GraftModelTests/Fixtures/written-by-graft.graft \
    Tests/GraftFeatureExtractionTests/Fixtures/tiny.graft Tests/GraftRuntimeTests/Fixtures/conv_bn_relu/model.graft \
    Tests/GraftRuntimeTests/Fixtures/caffe_slice_crop_eltwise/model.graft Tests/GraftModelTests/Fixtures/corrupt/*
seed npy $(ls Tests/GraftTensorsTests/Fixtures/*.npy | head -28)
seed prototxt Tests/GraftCaffeImportTests/Fixtures/*.prototxt
seed caffemodel Tests/GraftCaffeImportTests/Fixtures/caffe_semantics.caffemodel Tests/GraftCaffeImportTests/Fixtures/pooling.caffemodel \
    Tests/GraftCaffeImportTests/Fixtures/lrn.caffemodel Tests/GraftCaffeImportTests/Fixtures/wrong_wire_type*.caffemodel \
    Tests/GraftCaffeImportTests/Fixtures/v1_caffemodel.caffemodel Tests/GraftCaffeImportTests/Fixtures/fp16_blobs.caffemodel
seed keras-json Tests/GraftKerasImportTests/Fixtures/keras3-weights-json/model.json Tests/GraftKerasImportTests/Fixtures/tfkeras-weights-json/*.json \
    Tests/GraftKerasImportTests/Fixtures/{tfops-weightless,tfkeras-nested-functional-json}/model.json
seed keras-h5 Tests/GraftKerasImportTests/Fixtures/{tfkeras-h5,keras3-h5,keras1-theano-sequential,keras1-tensorflow-functional,unsupported-layers,misshaped-weight,missing-weight}/model.h5
seed keras-zip Tests/GraftKerasImportTests/Fixtures/{keras3-archive,keras3-shared,keras3-nested-archive}/model.keras Tests/GraftKerasImportTests/Fixtures/zip/{deflated,zip64}.keras
seed image Tests/GraftImagesTests/Fixtures/images/{gray1.png,gray4.png,palette_trns.png,gray_alpha.png,gray16_trns.png,progressive.jpg,cmyk.jpg,exif_rotated.jpg,subsampling422.jpg} \
    Tests/GraftImagesTests/Fixtures/broken/{huge.png,truncated.jpg,corrupt_chunk.png} Tests/GraftFeatureExtractionTests/Fixtures/images/china/china0.jpg \
    Tests/GraftImagesTests/Fixtures/formats/images/{lossy.webp,lossless_alpha.webp,animated_lossy.webp,rgb_lzw.tif,rgb_jpeg.tif,gray16_deflate.tif,palette4.tif,bilevel_g4.tif,tiled16_deflate.tif,rgba_premultiplied.tif,cmyk.tif,multipage.tif,rle8.bmp,rle4.bmp,bgra_v4.bmp,rgb565.bmp,interlaced.gif,offset_transparent.gif,animated.gif} \
    Tests/GraftImagesTests/Fixtures/formats/broken/{huge.tif,huge.gif,huge.webp,float64.tif}
seed tar Tests/GraftFeatureExtractionTests/Fixtures/images-gnu.tar Tests/GraftFeatureExtractionTests/Fixtures/images-pax.tar
seed cache Tests/GraftFeatureCacheTests/Fixtures/h5py-cache.h5 Tests/GraftHeadTests/Fixtures/{one_class,unlabelled,binary}.h5
seed onnx Tests/GraftONNXImportTests/Fixtures/*.onnx
# List files have no fixtures of their own: the seeds are written here.
mkdir -p "$out/list"
printf 'a b/my photo.jpg dog\r\n/abs/x.png cat\n\nbare.jpg\n' >"$out/list/labelled"
printf 'a.jpg 10\nb.jpg 2\nc.jpg 0\n' >"$out/list/numeric"
printf 'images/a.jpg\nimages/b.png\n' >"$out/list/bare"
seed scores Tests/GraftMetricsTests/Fixtures/{binary_ties,multiclass,names_binary,predict_binary,classic20}.tsv
du -sh "$out"/* >&2
