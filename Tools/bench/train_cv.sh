#!/usr/bin/env bash
# Benchmark: `graft train --cv K --C-grid GRID --scoring accuracy` (release build) against
# scikit-learn's StandardScaler + LogisticRegressionCV(Cs=GRID, cv=K, scoring="accuracy") on a
# synthetic cache (Tools/bench/make_train_cache.py), alternating, each timed as a whole: graft's
# time includes reading the cache and writing the head.
#
#   Tools/bench/train_cv.sh [ROUNDS]
#
# Environment: GRAFT (default .build/release/graft), PYTHON (default .venv/bin/python), CV_DIR
# (default $TMPDIR/graft-bench-train-cv), CV_ROWS (6000), CV_FEATURES (4096), CV_CLASSES (257),
# CV_FOLDS (5), CV_GRID (0.01,0.1,1). The full Caltech-256 shape (30,000 rows) with scikit-learn's
# default ten Cs takes tens of minutes per round on 2 cores, hence the smaller default.
set -euo pipefail
cd "$(dirname "$0")/../.."
graft=${GRAFT:-.build/release/graft}
python=${PYTHON:-.venv/bin/python}
dir=${CV_DIR:-${TMPDIR:-/tmp}/graft-bench-train-cv}
rows=${CV_ROWS:-6000}; features=${CV_FEATURES:-4096}; classes=${CV_CLASSES:-257}
folds=${CV_FOLDS:-5}; grid=${CV_GRID:-0.01,0.1,1}
rounds=${1:-2}
[ -x "$graft" ] || { echo "no $graft: run 'make release' first" >&2; exit 1; }
if [ ! -f "$dir/train.h5" ]; then
    "$python" Tools/bench/make_train_cache.py "$dir" --rows "$rows" --test-rows 2000 --features "$features" --classes "$classes"
fi
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $rows rows x $features features, $classes classes; cv $folds, C grid $grid"
for round in $(seq "$rounds"); do
    start=$(date +%s.%N)
    "$graft" train "$dir/train.h5" -o "$dir/head.graft" --cv "$folds" --C-grid "$grid" --scoring accuracy --quiet 2> "$dir/graft-cv.log"
    end=$(date +%s.%N)
    "$graft" predict "$dir/head.graft" "$dir/test.h5" -o "$dir/graft-scores.tsv"
    echo "round $round: graft train --cv: $(echo "$end - $start" | bc -l | xargs printf '%.1f') s wall, $("$python" Tools/bench/sklearn_train.py "$dir/train.h5" "$dir/test.h5" --graft-scores "$dir/graft-scores.tsv")"
    grep -i -E "chose|chosen|best" "$dir/graft-cv.log" | head -2 || true
    echo "round $round: $("$python" Tools/bench/sklearn_train.py "$dir/train.h5" "$dir/test.h5" --cv "$folds" --C-grid "$grid")"
done
