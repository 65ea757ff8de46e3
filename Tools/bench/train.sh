#!/usr/bin/env bash
# Benchmark: graft train (release build) against scikit-learn's StandardScaler + LogisticRegression
# on a cache of Caltech-256's shape: 30,000 rows × 4,096 float32 features, 257 classes (synthetic,
# learnable: Tools/bench/make_train_cache.py), with a 5,000-row test cache for accuracy.
#
#   make release && Tools/bench/train.sh
#
# Environment: GRAFT (default .build/release/graft), PYTHON (default .venv/bin/python), BENCH_DIR
# (where the caches go, default $TMPDIR/graft-bench-train; they are reused when present),
# SKLEARN_RUNS ("default strict" by default: scikit-learn at its default tol=1e-4, max_iter=100,
# and at tol=1e-6 with max_iter=1000, which takes several minutes). graft runs at tol 1e-4 (its
# default, scikit-learn's) and 1e-6. Times are wall clock on whatever else the machine is doing.
set -euo pipefail
cd "$(dirname "$0")/../.."
graft=${GRAFT:-.build/release/graft}
python=${PYTHON:-.venv/bin/python}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/graft-bench-train}
runs=${SKLEARN_RUNS:-default strict}

[ -x "$graft" ] || { echo "no $graft: run 'make release' first" >&2; exit 1; }
if [ ! -f "$dir/train.h5" ] || [ ! -f "$dir/test.h5" ]; then
    "$python" Tools/bench/make_train_cache.py "$dir"
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$python" -c 'import sklearn, numpy, threadpoolctl, pprint; print("scikit-learn", sklearn.__version__, "numpy", numpy.__version__); [print("  BLAS:", i["internal_api"], i.get("architecture"), "threads", i["num_threads"]) for i in threadpoolctl.threadpool_info()]'

for tol in 1e-4 1e-6; do
    echo
    echo "== graft train (logistic, C=1, tol $tol)"
    start=$(date +%s.%N)
    "$graft" train "$dir/train.h5" -o "$dir/head-$tol.graft" --tol "$tol" --quiet
    end=$(date +%s.%N)
    echo "graft train: $(echo "$end - $start" | bc -l | xargs printf '%.1f') s wall clock, reading the cache and writing the head included"
    "$graft" predict "$dir/head-$tol.graft" "$dir/test.h5" -o "$dir/graft-scores-$tol.tsv"
    "$python" Tools/bench/sklearn_train.py "$dir/train.h5" "$dir/test.h5" --graft-scores "$dir/graft-scores-$tol.tsv"
done

for run in $runs; do
    echo
    case $run in
        default) echo "== scikit-learn, default LogisticRegression (tol 1e-4, max_iter 100)"
                 "$python" Tools/bench/sklearn_train.py "$dir/train.h5" "$dir/test.h5" ;;
        strict)  echo "== scikit-learn at tol 1e-6, max_iter 1000"
                 "$python" Tools/bench/sklearn_train.py "$dir/train.h5" "$dir/test.h5" --tol 1e-6 --max-iter 1000 ;;
        *) echo "unknown SKLEARN_RUNS entry '$run'" >&2; exit 64 ;;
    esac
done
