#!/usr/bin/env bash
# The demo pipeline, run by `make demo`: transfer learning from digits 0-4 to digits 5-9.
#
# digits-cnn.h5 is a small Keras CNN trained on handwritten digits 0-4 (Tools/make-sample.py);
# it has never seen a 5, 6, 7, 8 or 9. graft imports it, caches its 64 penultimate activations for
# the PNG images in digits/train and digits/test, trains a logistic-regression head on the
# training cache, scores the test images and measures the ROC AUC. Every step is the graft
# command a user would type; any failure stops the script (set -e) with graft's error.
set -euo pipefail
cd "$(dirname "$0")"
graft=${GRAFT:-../.build/release/graft}
out=${DEMO_OUT:-${TMPDIR:-/tmp}/graft-demo}
mkdir -p "$out"
# Caches resume when they exist: start from scratch so the demo always runs every step.
rm -f "$out"/trunk.graft "$out"/train.h5 "$out"/test.h5 "$out"/head.graft "$out"/digits5to9.graft \
      "$out"/scores.tsv "$out"/attached-scores.tsv "$out"/roc.svg

step() { printf '\n== %s\n' "$*"; }

step "graft convert digits-cnn.h5: import the Keras model"
"$graft" convert digits-cnn.h5 -o "$out/trunk.graft"
"$graft" inspect "$out/trunk.graft" | sed -n '1,5p'

step "graft features: the 64 activations of layer 'features' for 250 training and 150 test images"
"$graft" features "$out/trunk.graft" digits/train -o "$out/train.h5" --layer features --preprocess none --quiet
"$graft" features "$out/trunk.graft" digits/test -o "$out/test.h5" --layer features --preprocess none --quiet

step "graft train: StandardScaler + multinomial logistic regression on the training cache"
"$graft" train "$out/train.h5" -o "$out/head.graft" --quiet

step "graft predict: class probabilities of the test images"
"$graft" predict "$out/head.graft" "$out/test.h5" -o "$out/scores.tsv"
head -n 4 "$out/scores.tsv" | cut -c 1-100

step "graft auc: one-vs-rest ROC AUC of the five classes, with a bootstrap confidence interval"
"$graft" auc "$out/scores.tsv" --roc "$out/roc.svg"

step "graft attach: trunk + head = one model from PNG files to digits 5-9"
"$graft" attach "$out/trunk.graft" "$out/head.graft" -o "$out/digits5to9.graft"
"$graft" predict "$out/digits5to9.graft" digits/test -o "$out/attached-scores.tsv"
"$graft" auc "$out/attached-scores.tsv" | head -n 1

printf '\nROC curves: %s\nScores: %s\nClassifier of PNG files: %s\n' "$out/roc.svg" "$out/scores.tsv" "$out/digits5to9.graft"
