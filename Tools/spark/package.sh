#!/usr/bin/env bash
# Builds graft.tgz, a relocatable graft for Spark executors (`--archives graft.tgz#graft`).
#
#   Tools/spark/package.sh [-o graft.tgz] [--scratch-path DIR] [--no-build]
#
# The bundle holds `graft`, the stripped release binary linked with the Swift standard library and
# Foundation statically (--static-swift-stdlib), and `lib/` with every shared library it needs
# except glibc's and the C++ runtime (libstdc++, libgcc_s): HDF5 and what Debian's HDF5 pulls in
# (libsz/libaec, libcurl and its TLS, Kerberos and LDAP stack, zlib), OpenBLAS with libgfortran
# and libquadmath, TurboJPEG, libpng, libwebp, libtiff (and its codecs), giflib, protobuf-c. The binary's RUNPATH is $ORIGIN/lib and each
# bundled library's is $ORIGIN, so the folder works wherever it is unpacked.
#
# Then it checks the bundle, and fails if any check fails:
#  1. `ldd` (with an empty environment) resolves every library either into the bundle's lib/ or
#     to one of glibc's and the C++ runtime's libraries, and none is missing;
#  2. the bundled graft runs `--version` and a real `graft features` on a generated image with
#     `env -i` (no LD_LIBRARY_PATH);
#  3. when chroot(2) is allowed (root), the same `graft features` runs in a minimal root that
#     holds only the bundle and glibc's and the C++ runtime's libraries copied from this machine,
#     so nothing else installed here can be picked up.
# It prints the newest GLIBC_ and GLIBCXX_ symbol versions the bundle needs: the target machines
# need at least those (Debian 12: glibc 2.36).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
output=$root/graft.tgz
scratch=$root/.build-spark-bundle
build=1
while (( $# )); do
    case $1 in
        -o|--output) output=$(realpath -m "$2"); shift 2 ;;
        --scratch-path) scratch=$(realpath -m "$2"); shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "package.sh: unknown option '$1' (see --help)" >&2; exit 64 ;;
    esac
done

for tool in patchelf ldd objdump strip tar unshare; do
    command -v "$tool" >/dev/null || { echo "package.sh: '$tool' is missing (apt-get install patchelf binutils util-linux)" >&2; exit 69; }
done

# The libraries every x86-64 Linux has: glibc's and the C++ runtime's. Everything else is bundled.
system_library() {
    case $1 in
        linux-vdso.so.*|ld-linux-x86-64.so.*|ld-linux-aarch64.so.*|libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*) return 0 ;;
        librt.so.*|libresolv.so.*|libutil.so.*|libanl.so.*|libstdc++.so.*|libgcc_s.so.*) return 0 ;;
        *) return 1 ;;
    esac
}

if (( build )); then
    echo "package.sh: building graft (release, static Swift runtime) in $scratch" >&2
    swift build -c release --scratch-path "$scratch" --product graft --static-swift-stdlib >&2
fi
binary=$(swift build -c release --scratch-path "$scratch" --show-bin-path)/graft
[[ -x $binary ]] || { echo "package.sh: no binary at $binary (run without --no-build)" >&2; exit 66; }

work=$(mktemp -d "${TMPDIR:-/tmp}/graft-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/graft
mkdir -p "$stage/lib"
cp "$binary" "$stage/graft"
chmod 755 "$stage/graft"
strip "$stage/graft"   # symbols and debug sections only; Swift's metadata sections stay

# ldd lists the whole closure (the libraries' own dependencies included).
while read -r name path; do
    system_library "$name" && continue
    [[ -f $path ]] || { echo "package.sh: ldd cannot find $name" >&2; exit 69; }
    cp -L "$path" "$stage/lib/$name"
    chmod 644 "$stage/lib/$name"
    patchelf --set-rpath '$ORIGIN' "$stage/lib/$name"
done < <(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3} $2 == "=>" && $3 == "not" {print $1, "missing"}')
patchelf --set-rpath '$ORIGIN/lib' "$stage/graft"

# 1. Every library resolves into the bundle or to the system set above.
failures=0
while read -r line; do
    name=$(awk '{print $1}' <<<"$line")
    resolved=$(awk '$2 == "=>" {print $3} $2 != "=>" {print $1}' <<<"$line")
    if [[ $line == *"not found"* ]]; then
        echo "package.sh: check 1: $name is not found" >&2; failures=$((failures + 1))
    elif [[ $resolved == "$stage/lib/"* ]]; then
        :
    elif system_library "$(basename "$name")"; then
        :
    else
        echo "package.sh: check 1: $name resolves outside the bundle: $resolved" >&2; failures=$((failures + 1))
    fi
done < <(env -i PATH=/usr/bin:/bin ldd "$stage/graft")
bundled=$(ls "$stage/lib" | wc -l)
(( failures == 0 )) && echo "package.sh: check 1 passed: ldd resolves $bundled libraries into lib/, the rest are glibc's and the C++ runtime's" >&2

# 2. It runs with an empty environment, on a real image.
probe=$work/probe
mkdir -p "$probe/images/a"
python3 "$root/Tests/spark/make_images.py" "$probe/images" --count 2 --classes 1 --size 28
version=$(env -i "$stage/graft" --version) || { echo "package.sh: check 2: the bundled graft does not start" >&2; failures=$((failures + 1)); }
cp "$root/Samples/tiny-cnn.graft" "$probe/model.graft"
if env -i LD_LIBRARY_PATH= "$stage/graft" features "$probe/model.graft" "$probe/images" -o "$probe/out.h5" \
        --preprocess keras-tf --quiet --threads 1 2>"$probe/err" && [[ -s $probe/out.h5 ]]; then
    echo "package.sh: check 2 passed: graft $version runs 'graft features' with an empty environment" >&2
else
    echo "package.sh: check 2: the bundled 'graft features' failed: $(cat "$probe/err")" >&2; failures=$((failures + 1))
fi

# 3. In a minimal root: the bundle, glibc's and the C++ runtime's libraries, nothing else.
if [[ $(id -u) == 0 ]] && command -v chroot >/dev/null; then
    jail=$work/jail
    mkdir -p "$jail/tmp" "$jail/data"
    cp -a "$stage" "$jail/graft"
    cp "$probe/model.graft" "$jail/data/model.graft"
    cp -r "$probe/images" "$jail/data/images"
    while read -r name path; do
        system_library "$name" || continue
        mkdir -p "$jail$(dirname "$path")"
        cp -L "$path" "$jail$path"
    done < <(ldd "$stage/graft" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
    loader=$(ldd "$stage/graft" | awk '$1 ~ /^\/.*ld-linux/ {print $1}')
    mkdir -p "$jail$(dirname "$loader")"
    cp -L "$loader" "$jail$loader"
    # $ORIGIN is found through /proc/self/exe, so the root gets a /proc, mounted in a private
    # mount namespace that vanishes with the command.
    mkdir -p "$jail/proc"
    if unshare --mount --propagation private /bin/sh -c 'mount -t proc proc "$1/proc" && exec chroot "$1" /graft/graft features /data/model.graft /data/images -o /tmp/out.h5 --preprocess keras-tf --quiet --threads 1' \
            sh "$jail" 2>"$probe/jail-err" && [[ -s $jail/tmp/out.h5 ]]; then
        echo "package.sh: check 3 passed: 'graft features' runs in a minimal root with only the bundle and $(find "$jail" -name '*.so*' -not -path "$jail/graft/*" | wc -l) system libraries" >&2
    elif grep -q "Operation not permitted\|cannot change root\|unshare failed\|permission denied" "$probe/jail-err"; then
        echo "package.sh: check 3 skipped: chroot, unshare or mount is not permitted here: $(head -1 "$probe/jail-err")" >&2
    else
        echo "package.sh: check 3: 'graft features' failed in the minimal root: $(cat "$probe/jail-err")" >&2
        failures=$((failures + 1))
    fi
else
    echo "package.sh: check 3 skipped: needs root for chroot" >&2
fi

glibc=$( (objdump -T "$stage/graft" "$stage"/lib/*.so* 2>/dev/null || true) | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
glibcxx=$( (objdump -T "$stage/graft" "$stage"/lib/*.so* 2>/dev/null || true) | grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1)
if (( failures )); then
    echo "package.sh: $failures check(s) failed; no bundle written" >&2
    exit 70
fi

temporary=$(mktemp "$(dirname "$output")/.graft.tgz.XXXXXX")
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf "$temporary" . || { rm -f "$temporary"; exit 73; }
chmod 644 "$temporary"
mv -f "$temporary" "$output"
echo "package.sh: wrote $output ($(du -h "$output" | cut -f1), graft $version + $bundled libraries; needs ${glibc:-?} and ${glibcxx:-?} on the executors)" >&2
