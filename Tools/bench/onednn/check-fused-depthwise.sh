#!/bin/sh
# Builds fused_depthwise_check.c against Debian's libdnnl and runs it on MobileNetV2's shapes
# (batch 8, 2 threads) and on small ones where oneDNN falls back on `ref_fused_convolution`, on
# NHWC, nChw8c and nChw16c data.
set -eu
here=$(dirname "$0")
out=${TMPDIR:-/tmp}/graft-fused-depthwise-check
cc -O2 "$here/fused_depthwise_check.c" -o "$out" -ldnnl -lm
for shape in "8 24 56 144 1 1" "3 24 56 144 1 1" "8 16 112 96 2 1" "8 16 112 96 2 0" "1 16 112 96 2 0" "8 24 28 144 1 1" "2 24 28 144 1 1"; do
    for tag in 0 1 2; do
        # shellcheck disable=SC2086
        OMP_NUM_THREADS=2 "$out" $shape $tag
    done
done
