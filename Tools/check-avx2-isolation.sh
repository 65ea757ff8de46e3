#!/usr/bin/env bash
# Checks that the modules compiled for newer instruction sets, GraftAVX2Kernels (-target-cpu
# haswell) and GraftAVX512Kernels (-target-cpu skylake-avx512), define nothing but their own
# functions (names under their own mangled prefix): no weak or shared definitions of other names
# (generic specialisations, inlinable code, globals' initialisers) that the linker could pick for
# the rest of graft, which must run on plain x86-64. Run by `make test` after the release build.
#   Tools/check-avx2-isolation.sh [BUILD_DIR]   (default .build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-.build/release}
status=0
for module in GraftAVX2Kernels GraftAVX512Kernels; do
    objects=$(find -L "$build/" -path "*$module.build/*.o" 2>/dev/null)
    [ -n "$objects" ] || { echo "check-avx2-isolation: no $module objects under $build" >&2; exit 1; }
    # Swift's mangled prefix for the module's own symbols: $s, the name's length, the name.
    prefix="\$s${#module}$module"
    for object in $objects; do
        # Defined symbols other than Swift's reflection-version marker (a weak constant every
        # Swift object carries).
        while read -r _ kind name; do
            case "$kind" in
                # Local symbols (lower case: constant pools, file-private data) cannot be shared.
                [a-z]) continue ;;
                # The module's own functions; a weak one too (Swift emits an unused out-of-line
                # copy of some inlined private helpers so): its mangled name carries the
                # module's, so no definition in code built for plain x86-64 can share it.
                T|W) [[ "$name" == "$prefix"* ]] && continue ;;
            esac
            [ "$name" = "__swift_reflection_version" ] && continue
            echo "check-avx2-isolation: $object defines $kind $name, which code built for plain x86-64 could end up calling" >&2
            status=1
        done < <(nm --defined-only "$object" | grep -v '^ *$')
    done
    [ $status -ne 0 ] || echo "check-avx2-isolation: $module defines only its own functions ($(echo $objects | wc -w) object(s))"
done
exit $status
