#!/usr/bin/env bash
# Installs the Debian packages graft builds against, when any is missing. Safe to run again.
set -euo pipefail
packages=(libhdf5-dev hdf5-tools libprotobuf-c-dev protobuf-c-compiler libopenblas-dev libdnnl-dev libturbojpeg0-dev libpng-dev libwebp-dev libtiff-dev libgif-dev pkg-config openjdk-17-jre-headless)
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
