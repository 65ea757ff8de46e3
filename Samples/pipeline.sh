#!/usr/bin/env bash
# The demo pipeline on the sample that ships in Samples/. Run it with `make demo`.
# Today graft can read and describe models; the import, feature, training and AUC steps join
# this script as they land (see the README's roadmap).
set -euo pipefail
cd "$(dirname "$0")"
graft=${GRAFT:-../.build/release/graft}

echo "== graft inspect tiny-cnn.graft"
"$graft" inspect tiny-cnn.graft
echo
echo "== the same as JSON: default feature layer and parameter count"
"$graft" inspect tiny-cnn.graft --json > "${TMPDIR:-/tmp}/graft-demo-inspect.json"
grep -E '"(default_feature_layer|total_parameters)"' "${TMPDIR:-/tmp}/graft-demo-inspect.json"
