#!/usr/bin/env bash
# Installs the Debian packages graft builds against, when any is missing. Safe to run again.
# Usage: Tools/install-deps.sh [--references]. With --references it also installs r-cran-proc (R's
# pROC), which building and testing graft do not need: only the metrics reference scripts
# (Tools/fixtures/auc_reference.R, Tools/fixtures/metrics/make-reference.R) run it.
set -euo pipefail
packages=(libhdf5-dev hdf5-tools libprotobuf-c-dev protobuf-c-compiler libopenblas-dev libdnnl-dev libturbojpeg0-dev libpng-dev libwebp-dev libtiff-dev libgif-dev libssl-dev zlib1g-dev pkg-config openjdk-17-jre-headless patchelf binutils)
# --references: also what the reference scripts need (R's pROC), which make demo and make test do not.
[ "${1:-}" != "--references" ] || packages+=(r-cran-proc)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
