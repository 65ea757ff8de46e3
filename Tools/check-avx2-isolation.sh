#!/usr/bin/env bash
# Checks that the GraftAVX2Kernels module (compiled with -target-cpu haswell) defines nothing but
# its own functions (names under its own mangled prefix): no weak or shared definitions of other
# names (generic specialisations, inlinable code, globals' initialisers) that the linker could
# pick for the rest of graft, which must run on plain x86-64. Run by `make test` after the
# release build.
#   Tools/check-avx2-isolation.sh [BUILD_DIR]   (default .build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-.build/release}
objects=$(find -L "$build/" -path "*GraftAVX2Kernels.build/*.o" 2>/dev/null)
[ -n "$objects" ] || { echo "check-avx2-isolation: no GraftAVX2Kernels objects under $build" >&2; exit 1; }
status=0
for object in $objects; do
    # Defined symbols other than Swift's reflection-version marker (a weak constant every Swift
    # object carries).
    while read -r _ kind name; do
        case "$kind" in
            # Local symbols (lower case: constant pools, file-private data) cannot be shared.
            [a-z]) continue ;;
            # The module's own functions; a weak one too (Swift emits an unused out-of-line copy
            # of some inlined private helpers so): its mangled name carries the module's, so
            # no definition in code built for plain x86-64 can share it.
            T|W) [[ "$name" == '$s16GraftAVX2Kernels'* ]] && continue ;;
        esac
        [ "$name" = "__swift_reflection_version" ] && continue
        echo "check-avx2-isolation: $object defines $kind $name, which code built for plain x86-64 could end up calling" >&2
        status=1
    done < <(nm --defined-only "$object" | grep -v '^ *$')
done
[ $status -ne 0 ] || echo "check-avx2-isolation: GraftAVX2Kernels defines only its own functions ($(echo $objects | wc -w) object(s))"
exit $status
