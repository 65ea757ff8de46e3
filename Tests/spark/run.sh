#!/usr/bin/env bash
# The Spark driver's end-to-end test (Tools/spark/graft_features.py), for CI.
#
#   Tests/spark/run.sh            # builds graft (debug) unless GRAFT=/path/to/graft is set
#
# Creates the git-ignored .venv-spark/ with pyspark 4.3, h5py, numpy and pyarrow (about 60 s cold, a few
# seconds warm), then runs Tests/spark/test_spark.py on a local Spark bound to 127.0.0.1 only, and
# Tests/spark/test_cluster.py on a Spark standalone cluster it starts on 127.0.0.1, under one time
# limit. The cluster test bundles GRAFT with Tools/spark/package.sh --no-build, so GRAFT must be
# the binary of a SwiftPM build folder (.build/release/graft, as make test passes). Without Java 17 or later it skips with a loud message, except in CI
# (CI=true), where that is a failure. The last line is `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
limit=${GRAFT_SPARK_TEST_TIMEOUT:-900}
deadline=$((SECONDS + limit))

java_major() {
    command -v java >/dev/null 2>&1 || { echo 0; return; }
    local version
    version=$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
    local major=${version%%.*}
    if [[ $major == 1 ]]; then major=$(echo "$version" | cut -d. -f2); fi
    [[ $major =~ ^[0-9]+$ ]] && echo "$major" || echo 0
}

major=$(java_major)
if (( major < 17 )); then
    echo "##################################################################" >&2
    echo "## Tests/spark: SKIPPED: Spark 4 needs Java 17 or later, found: $( ((major)) && echo "Java $major" || echo "no java")" >&2
    echo "## Install it with: apt-get install openjdk-17-jre-headless" >&2
    echo "##################################################################" >&2
    if [[ ${CI:-} == true ]]; then
        echo "0 passed, 1 failed"
        exit 1
    fi
    exit 0
fi

venv=$root/.venv-spark
python=${PYTHON:-python3}
if ! "$venv/bin/python" -c 'import pyspark, h5py, numpy, pyarrow; assert pyspark.__version__.startswith("4.3.")' 2>/dev/null; then
    echo "Tests/spark: creating $venv (pyspark==4.3.*, h5py, numpy, pyarrow)" >&2
    rm -rf "$venv"
    timeout 600 "$python" -m venv "$venv"
    timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check 'pyspark==4.3.*' h5py numpy pyarrow
fi

if [[ -z ${GRAFT:-} ]]; then
    timeout $((deadline - SECONDS)) swift build --product graft >&2
    GRAFT=$(swift build --show-bin-path)/graft
fi

work=${GRAFT_SPARK_TEST_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/graft-spark-test.XXXXXX")}
trap 'rm -rf "$work"' EXIT
export SPARK_LOCAL_IP=127.0.0.1
remaining=$((deadline - SECONDS))
if (( remaining < 60 )); then
    echo "Tests/spark: the time limit (${limit} s) ran out before the test started" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
status=0
timeout --kill-after=30 "$remaining" "$venv/bin/python" Tests/spark/test_spark.py --graft "$GRAFT" --work "$work/test" || status=$?
if (( status == 124 || status == 137 )); then
    echo "Tests/spark: timed out after ${limit} s" >&2
    echo "0 passed, 1 failed"
    exit "$status"
fi
# A Spark standalone cluster (a master and two one-core workers on 127.0.0.1), graft shipped as
# Tools/spark/package.sh's bundle, one task's graft killed mid-shard.
remaining=$((deadline - SECONDS))
cluster_status=0
timeout --kill-after=30 "$remaining" "$venv/bin/python" Tests/spark/test_cluster.py --graft "$GRAFT" --work "$work/cluster" \
    || cluster_status=$?
if (( cluster_status == 124 || cluster_status == 137 )); then
    echo "Tests/spark: the cluster test timed out after ${limit} s in all" >&2
    echo "0 passed, 1 failed"
fi
(( status != 0 )) || status=$cluster_status
exit "$status"
