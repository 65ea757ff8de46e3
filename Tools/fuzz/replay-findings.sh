#!/usr/bin/env bash
# Replays reproducers of C-library findings and prints, for each, the innermost frame outside the
# sanitizers and its caller (libhdf5's static functions have no symbol, only an offset). With no
# FILE, every reproducer in Tests/Fuzz/Findings/; otherwise the files given (for example
# .build-fuzz/artifacts/cache-crash-* after a long pass), to sort new findings into the classes
# listed in Tests/Fuzz/Findings/README.md. Build first with Tools/fuzz/run.sh; the debug
# build in .build-fuzz/ is used, or the optimised one in .build-fuzz-opt/ if it is the only one.
# Usage: Tools/fuzz/replay-findings.sh [FILE...]
set -uo pipefail
cd "$(dirname "$0")/../.."
export GRAFT_FUZZ_ROOT=$PWD SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=1000 \
    LSAN_OPTIONS="suppressions=$PWD/Tools/fuzz/lsan.supp:print_suppressions=0"
binary=.build-fuzz/debug/graft-fuzz
[ -x "$binary" ] || binary=.build-fuzz-opt/debug/graft-fuzz
[ -x "$binary" ] || { echo "replay-findings.sh: build the fuzz targets first (Tools/fuzz/run.sh)" >&2; exit 66; }
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(Tests/Fuzz/Findings/*-*-*)
for file in "${files[@]}"; do
    name=$(basename "$file"); target=${name%-crash-*}; target=${target%-leak-*}; target=${target%-oom-*}
    target=${target%-timeout-*}; target=${target%-slow-unit-*}
    output=$(GRAFT_FUZZ_TARGET=$target timeout 60 "$binary" -runs=1 -detect_leaks=0 "$file" 2>&1)
    status=$?
    frame=$(sed -n '/ERROR\|Fatal/,$p' <<<"$output" | grep -E '^ +#[0-9]+ ' \
        | grep -v -E 'asan|sanitizer|compiler-rt|libFuzzer|fuzzer::|libc\.so|sysdeps/|libswiftCore|swift_|graft_fuzz|graft-fuzz' \
        | sed -n 1,2p | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ +(in )?//; s/ *\(BuildId: [0-9a-f]*\)//; s/^([A-Za-z_][^ ]*) \(\/[^)]*\)$/\1/; s/^\((\/[^ ]*\/)?([^/ ]+)\)$/\2/' \
        | paste -s -d '<' - | sed 's/</ < /g' | cut -c1-140)
    printf '%-50s exit %3s  %s\n' "$name" "$status" "${frame:-(runs clean now; leak findings need -detect_leaks=1)}"
done
