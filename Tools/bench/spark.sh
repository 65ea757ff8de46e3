#!/usr/bin/env bash
# Overhead of the Spark driver against one `graft features` process, on the same images.
#
#   Tools/bench/spark.sh [--model M.graft] [--images N] [--size S] [--batch B] [--graft PATH] [--preprocess P]
#                        [--repeat R]
#
# Defaults: 448 generated 224x224 PNG images (Tests/spark/make_images.py), batch 32, and a
# ResNet50 with seeded random weights, built once with Keras from the project's .venv and
# converted with `graft convert` into Tools/.cache/bench-resnet50.graft (weights do not change
# the arithmetic, so the timing is that of the real network). graft is the release build in
# .build-spark (built if missing).
#
# The images are kept in Tools/.cache/bench-images-N-S. It runs, alternating, R times (default 2):
#   single: graft features MODEL IMAGES -o single.h5 --batch B --threads <cores>
#   spark:  spark-submit --master local[<cores>] graft_features.py ... --rows-per-shard N/<cores>
#           --threads-per-task 1 --merge merged.h5
#   plain:  the same shards as <cores> `graft features --threads 1` processes started by the shell,
#           then `graft cache merge`
# and prints the fastest wall time of each kind, the Spark run's overhead against the single
# process ((spark - single) / single) and against the plain processes (Spark's own cost), also
# without the JVM and SparkContext start-up (the driver's own seconds from its manifest), and
# whether the merged cache's features equal the single run's (SHA-256 of `graft cache export`).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
model=""
count=448
size=224
batch=32
graft=""
preprocess=keras-caffe
repeat=2
while (( $# )); do
    case $1 in
        --model) model=$(realpath "$2"); shift 2 ;;
        --images) count=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --batch) batch=$2; shift 2 ;;
        --graft) graft=$(realpath "$2"); shift 2 ;;
        --preprocess) preprocess=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "spark.sh: unknown option '$1'" >&2; exit 64 ;;
    esac
done
cores=$(nproc)
venv=$root/.venv-spark
[[ -x $venv/bin/spark-submit ]] || { echo "spark.sh: run Tests/spark/run.sh once to create $venv" >&2; exit 69; }
if [[ -z $graft ]]; then
    swift build -c release --scratch-path .build-spark --product graft >&2
    graft=$root/.build-spark/release/graft
fi

if [[ -z $model ]]; then
    model=$root/Tools/.cache/bench-resnet50.graft
    if [[ ! -f $model ]]; then
        [[ -x $root/.venv/bin/python ]] || { echo "spark.sh: give --model, or create .venv (Tools/setup-venv.sh) to build one" >&2; exit 69; }
        mkdir -p "$root/Tools/.cache"
        echo "spark.sh: building a ResNet50 with seeded random weights (Keras, once)" >&2
        TF_CPP_MIN_LOG_LEVEL=3 "$root/.venv/bin/python" - "$root/Tools/.cache/bench-resnet50.keras" <<'EOF'
import sys
import keras
keras.utils.set_random_seed(0)
keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3)).save(sys.argv[1])
EOF
        "$graft" convert "$root/Tools/.cache/bench-resnet50.keras" -o "$model"
    fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/graft-spark-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
images=$root/Tools/.cache/bench-images-$count-$size
if [[ ! -f $images/.complete ]]; then
    rm -rf "$images"
    python3 Tests/spark/make_images.py "$images" --count "$count" --classes 4 --size "$size"
    touch "$images/.complete"
fi
rows=$(( (count + cores - 1) / cores ))
rows=$(( (rows + batch - 1) / batch * batch ))

now() { date +%s.%N; }
minimum() { printf '%s\n' "$@" | sort -g | head -1; }
echo "spark.sh: $count images of about ${size}x${size}, model $(basename "$model"), batch $batch, $cores cores" >&2
single_command=("$graft" features "$model" "$images" -o "$work/single.h5" --batch "$batch" --threads "$cores"
                --preprocess "$preprocess" --quiet)
export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON=$venv/bin/python
spark_command=("$venv/bin/spark-submit" --master "local[$cores]" --conf spark.driver.host=127.0.0.1
               --conf spark.driver.bindAddress=127.0.0.1 --conf spark.ui.enabled=false --conf spark.log.level=WARN
               Tools/spark/graft_features.py --model "$model" --images "$images" --out "$work/out" --graft "$graft"
               --rows-per-shard "$rows" --threads-per-task 1 --batch "$batch" --merge "$work/merged.h5"
               --preprocess "$preprocess")
# Alternating runs, the fastest of each kind: the machine may be shared, and the minimum is the
# run least disturbed by others.
# The third kind: the same shards as plain processes started by the shell, then merged, to
# tell Spark's own cost from the gain of running one single-threaded graft per core.
plain() {
    local shard
    for (( shard = 0; shard < cores; shard++ )); do
        "$graft" features "$model" "$work/list-$shard.txt" --root "$images" -o "$work/plain-$shard.h5" --batch "$batch" \
            --threads 1 --preprocess "$preprocess" --classes-file "$work/classes.txt" --quiet &
    done
    wait
    "$graft" cache merge "$work"/plain-*.h5 -o "$work/plain.h5"
}
singles=() sparks=() drivers=() plains=()
for (( round = 1; round <= repeat; round++ )); do
    rm -rf "$work/single.h5" "$work/out" "$work/merged.h5" "$work"/plain*.h5
    start=$(now)
    "${single_command[@]}"
    singles+=("$(echo "$(now) - $start" | bc)")
    if (( round == 1 )); then
        # The shards' lists, in the single run's row order (the order the driver uses too).
        "$venv/bin/python" - "$work/single.h5" "$work" "$rows" <<'EOF'
import sys, h5py
cache, folder, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
with h5py.File(cache, "r") as file:
    ids = [value.decode() for value in file["ids"][:]]
    classes = [value.decode() for value in file["classes"][:]]
    lines = [identifier + " " + classes[label] + "\n" for identifier, label in zip(ids, file["labels"][:])]
with open("%s/classes.txt" % folder, "w") as classes_file:
    classes_file.writelines(name + "\n" for name in classes)
for shard, start in enumerate(range(0, len(lines), rows)):
    with open("%s/list-%d.txt" % (folder, shard), "w") as list_file:
        list_file.writelines(lines[start:start + rows])
EOF
    fi
    start=$(now)
    plain
    plains+=("$(echo "$(now) - $start" | bc)")
    start=$(now)
    "${spark_command[@]}" 2>"$work/spark.log" || { tail -20 "$work/spark.log" >&2; exit 1; }
    sparks+=("$(echo "$(now) - $start" | bc)")
    drivers+=("$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$work/out/_manifest.json")")
    echo "spark.sh: round $round: single ${singles[-1]} s, $cores plain processes ${plains[-1]} s, spark ${sparks[-1]} s (driver job ${drivers[-1]} s)" >&2
done
single=$(minimum "${singles[@]}")
plain=$(minimum "${plains[@]}")
spark=$(minimum "${sparks[@]}")
driver=$(minimum "${drivers[@]}")

same=yes
for layer in $("$venv/bin/python" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["merged"]["features_sha256"]))' "$work/out/_manifest.json"); do
    a=$("$graft" cache export "$work/single.h5" --layer "$layer" --format npy | sha256sum | cut -d' ' -f1)
    b=$("$graft" cache export "$work/merged.h5" --layer "$layer" --format npy | sha256sum | cut -d' ' -f1)
    [[ $a == "$b" ]] || same=no
done

echo "single process : ${single_command[*]}"
echo "spark          : ${spark_command[*]}"
printf 'single process : %7.1f s  (%.1f images/s)\n' "$single" "$(echo "$count / $single" | bc -l)"
printf 'spark local[%d] : %7.1f s  (%.1f images/s), driver job %.1f s without JVM/SparkContext start-up\n' \
    "$cores" "$spark" "$(echo "$count / $spark" | bc -l)" "$driver"
printf '%d plain procs  : %7.1f s  (the same shards, one graft --threads 1 each, started by the shell, then merged)\n' \
    "$cores" "$plain"
printf 'overhead       : %+6.1f %% end to end, %+6.1f %% for the driver job, against the single process\n' \
    "$(echo "($spark - $single) * 100 / $single" | bc -l)" "$(echo "($driver - $single) * 100 / $single" | bc -l)"
printf "Spark's cost   : %+6.1f %% end to end, %+6.1f %% for the driver job, against the plain processes\n" \
    "$(echo "($spark - $plain) * 100 / $plain" | bc -l)" "$(echo "($driver - $plain) * 100 / $plain" | bc -l)"
echo "merged features equal the single run's: $same"
