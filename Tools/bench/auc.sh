#!/usr/bin/env bash
# Benchmarks `graft auc` (release build) against scikit-learn's roc_auc_score on the same file of
# 10^7 binary scores. Usage: Tools/bench/auc.sh [ROWS]   (needs .venv with numpy and scikit-learn)
#
# The file: header `label<TAB>score`, 0/1 labels, float32 scores printed with 9 significant digits
# (enough to identify a float32, as graft predict's probabilities need), about 30% positives; written once to
# ${BENCH_DIR:-/tmp/graft-bench}.
#
# What is timed:
#   graft    the whole process, wall clock: start-up, reading the file, parsing, sorting, the AUC
#            (and, in the second run, DeLong's interval), printing. Best of 3.
#   sklearn  inside one Python process after imports: np.loadtxt of the TSV (numpy has the fastest
#            TSV reader in the venv; pandas is not installed) and roc_auc_score on the arrays, each
#            timed apart. Best of 3. Interpreter start-up and imports are not counted.
# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are unset for the Python side only; neither side uses BLAS here.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-10000000}
dir=${BENCH_DIR:-/tmp/graft-bench}
mkdir -p "$dir"
file="$dir/binary_$rows.tsv"
python=.venv/bin/python

if [ ! -s "$file" ]; then
    echo "writing $file ..." >&2
    "$python" - "$rows" "$file" <<'PY'
import sys
import numpy as np
rows, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(1)
y = (rng.random(rows) < 0.3).astype(np.int8)
s = (1 / (1 + np.exp(-(rng.normal(size=rows) + 1.5 * y)))).astype(np.float32)
with open(path, "w") as f:
    f.write("label\tscore\n")
    for start in range(0, rows, 1_000_000):
        chunk = zip(y[start:start + 1_000_000].tolist(), s[start:start + 1_000_000].tolist())
        f.write("".join(f"{label}\t{score:.9g}\n" for label, score in chunk))
PY
fi
ls -l "$file" >&2

swift build -c release --product graft --scratch-path "${SCRATCH:-.build}" >&2
graft="${SCRATCH:-.build}/release/graft"

best() {  # best wall time of 3 runs of "$@", in seconds
    local best=""
    for _ in 1 2 3; do
        local start end
        start=$(date +%s.%N)
        "$@" > /dev/null
        end=$(date +%s.%N)
        best=$(echo "$start $end ${best:-1e9}" | awk '{t = $2 - $1; print (t < $3 ? t : $3)}')
    done
    echo "$best"
}

graft_none=$(best "$graft" auc "$file" --ci none)
graft_delong=$(best "$graft" auc "$file")
echo "graft auc output:" >&2
"$graft" auc "$file" --json >&2

read -r sk_read sk_auc sk_value < <(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" - "$file" <<'PY'
import sys, time
import numpy as np
from sklearn.metrics import roc_auc_score
path = sys.argv[1]
best_read = best_auc = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    data = np.loadtxt(path, delimiter="\t", skiprows=1, dtype=np.float64)
    t1 = time.perf_counter()
    value = roc_auc_score(data[:, 0], data[:, 1])
    t2 = time.perf_counter()
    best_read, best_auc = min(best_read, t1 - t0), min(best_auc, t2 - t1)
print(f"{best_read:.3f} {best_auc:.3f} {value!r}")
PY
)
echo "sklearn roc_auc_score: $sk_value" >&2
awk -v rows="$rows" -v gn="$graft_none" -v gd="$graft_delong" -v sr="$sk_read" -v sa="$sk_auc" 'BEGIN {
    sk = sr + sa
    printf "rows\t%d\n", rows
    printf "graft_auc_ci_none_s\t%.3f\n", gn
    printf "graft_auc_delong_s\t%.3f\n", gd
    printf "sklearn_loadtxt_s\t%.3f\n", sr
    printf "sklearn_roc_auc_score_s\t%.3f\n", sa
    printf "sklearn_total_s\t%.3f\n", sk
    printf "speedup_ci_none\t%.1f\n", sk / gn
    printf "speedup_delong\t%.1f\n", sk / gd
    printf "speedup_vs_roc_auc_score_alone\t%.1f\n", sa / gn
}'
