#!/usr/bin/env bash
# Replays every reproducer in Tests/Fuzz/Findings/ (C-library findings) and prints the innermost
# frame outside the sanitizers for each. Build first with Tools/fuzz/run.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
export GRAFT_FUZZ_ROOT=$PWD SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=1000 \
    LSAN_OPTIONS="suppressions=$PWD/Tools/fuzz/lsan.supp:print_suppressions=0"
for file in Tests/Fuzz/Findings/*-*-*; do
    name=$(basename "$file"); target=${name%-crash-*}; target=${target%-leak-*}; target=${target%-oom-*}
    output=$(GRAFT_FUZZ_TARGET=$target timeout 60 .build-fuzz/debug/graft-fuzz -runs=1 -detect_leaks=0 "$file" 2>&1)
    status=$?
    frame=$(sed -n '/ERROR\|Fatal/,$p' <<<"$output" | grep -E '^ +#[0-9]+ ' \
        | grep -v -E 'asan|sanitizer|compiler-rt|libFuzzer|fuzzer::|libc\.so|sysdeps/|libswiftCore|graft_fuzz' | head -1 | cut -c1-110)
    printf '%-50s exit %3s  %s\n' "$name" "$status" "${frame:-(runs clean now; leak findings need -detect_leaks=1)}"
done
