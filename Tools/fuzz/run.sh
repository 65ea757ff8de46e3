#!/usr/bin/env bash
# Builds graft's libFuzzer targets (address sanitizer, in .build-fuzz/) and runs each one.
# Usage:
#   Tools/fuzz/run.sh [--ci | --seconds N | --runs N] [TARGET...]
#     --ci          the pass `make test` runs: each target for a fixed number of executions
#                   (about 10 s each on the 2-core CI machine, the table below), from the seed
#                   corpus alone, with a fixed seed: the same inputs on every machine, however
#                   fast, so CI passes or fails the same way each time
#     --seconds N   run each target for N seconds (default 10), exploring anew
#     --runs N      run each target for N executions (the issue's bar: --runs 1000000)
#   With no TARGET, every target runs. Reproducers of crashes, leaks and timeouts go to
#   .build-fuzz/artifacts/; replay one with
#     GRAFT_FUZZ_TARGET=T .build-fuzz/debug/graft-fuzz .build-fuzz/artifacts/T-crash-…
#   and keep it as a regression test (Tests/Fuzz/Regressions/T/, replayed by the same pass).
#   GRAFT_FUZZ_OPTIMIZE=1 builds the targets with -O as well (in .build-fuzz-opt/): the same
#   sanitizers, coverage and Swift runtime checks, 1.2-3x the executions per second on the
#   Swift-heavy targets (graft's SHA-256 of a weights file dominates keras-json unoptimised).
#   `make fuzz` (the 10^6 runs) uses it; the --ci pass keeps the debug build CI already has.
#   libFuzzer's -timeout (20 s an input, the "no hang" oracle) is wall-clock time: run the long
#   passes at normal priority on an otherwise idle core. A pass reniced to 19 while other work
#   used both cores once reported a 1.3-second image input as a 24-second timeout. Do not edit
#   this script while a pass runs: bash reads it as it goes.
#   GRAFT_FUZZ_SEED=N fixes libFuzzer's random seed (--ci sets it to 1, so that a CI pass on a
#   clean clone mutates the same inputs each time and a failure can be replayed); without it
#   every run explores anew, as `make fuzz` does.
set -euo pipefail
cd "$(dirname "$0")/../.."
limit=(-max_total_time=10)
ci=0
if [ "${1:-}" = "--ci" ]; then ci=1; shift; export GRAFT_FUZZ_SEED=${GRAFT_FUZZ_SEED:-1}
elif [ "${1:-}" = "--seconds" ]; then limit=(-max_total_time="$2"); shift 2
elif [ "${1:-}" = "--runs" ]; then limit=(-runs="$2"); shift 2; fi
# Executions per target in --ci mode: about 10 s each on the CI machine (measured 2026-12).
declare -A ci_runs=([graft]=15000 [npy]=40000 [prototxt]=35000 [caffemodel]=6000 [keras-json]=1500
    [keras-h5]=800 [keras-zip]=10000 [image]=8000 [tar]=9000 [cache]=4000 [onnx]=30000 [list]=50000 [scores]=20000)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(graft npy prototxt caffemodel keras-json keras-h5 keras-zip image tar cache onnx list scores)

scratch=.build-fuzz; optimize=()
if [ "${GRAFT_FUZZ_OPTIMIZE:-0}" = 1 ]; then scratch=.build-fuzz-opt; optimize=(-Xswiftc -O); fi
GRAFT_FUZZ=1 swift build -c debug --product graft-fuzz --scratch-path $scratch \
    -Xswiftc -sanitize=fuzzer,address "${optimize[@]}" 2>&1 | grep -v "Cannot export local symbol" >&2
binary=$scratch/debug/graft-fuzz
mkdir -p .build-fuzz/artifacts
# HDF5's and libgomp's one-time allocations that live as long as the process are not leaks.
export LSAN_OPTIONS="suppressions=$PWD/Tools/fuzz/lsan.supp:print_suppressions=0"
# A request HDF5 computes from a damaged header and no allocator can meet returns NULL, as
# glibc malloc does in production, instead of aborting (HDF5 then reports an error).
# max_allocation_size_mb makes such a request (HDF5 asks for 1.6-2 GB from a damaged cache
# header) return NULL before libFuzzer's -malloc_limit_mb hook would call it an out-of-memory
# crash and restart on the whole corpus. A graft allocation of that size still fails the pass:
# Swift traps when an allocation returns NULL.
# malloc_context_size=4 and a 64 MB quarantine (defaults 30 frames and 256 MB) halve the time an
# HDF5 input takes (measured on keras-h5: 2,000 executions in 7-9 s against 17-19 s): HDF5
# allocates and frees a great deal, and every call unwound 30 frames, and a large quarantine
# sends each allocation to fresh pages. Reports keep the whole stack of the faulting access;
# only the allocation and free stacks they quote are shorter.
export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1:max_allocation_size_mb=1000:malloc_context_size=4:quarantine_size_mb=64"
export GRAFT_FUZZ_ROOT=$PWD
# Swift's own crash reporter would run inside the sanitizer and hide the finding.
export SWIFT_BACKTRACE=enable=no
status=0
printf '%-11s %10s %8s  %s\n' target executions seconds result
for target in "${targets[@]}"; do
    work=.build-fuzz/corpus/$target
    if (( ci )); then
        # A fresh corpus: what earlier local runs added would change the inputs.
        work=.build-fuzz/ci-corpus/$target
        rm -rf "$work"
        limit=(-runs="${ci_runs[$target]:-10000}")
    fi
    mkdir -p "$work"
    log=.build-fuzz/$target.log
    regressions=()
    [ -d "Tests/Fuzz/Regressions/$target" ] && regressions=("Tests/Fuzz/Regressions/$target")
    start=$(date +%s)
    # Earlier crashes first: each reproducer must now run clean.
    if [ ${#regressions[@]} -gt 0 ]; then
        if ! GRAFT_FUZZ_TARGET=$target "$binary" -runs=0 "${regressions[0]}" >"$log.regressions" 2>&1; then
            echo "$target: a regression input fails again; see $log.regressions" >&2; status=1
        fi
    fi
    # Run until the time or execution budget is spent. A crash, timeout or leak whose
    # innermost non-sanitizer frame is inside libhdf5, libtiff, giflib or libwebp is a finding in
    # the C library (listed in
    # Tests/Fuzz/Findings/README.md): keep its reproducer and go on fuzzing. Anything else is
    # graft's and fails the run.
    runs=0; library_findings=0; result=clean
    while :; do
        elapsed=$(( $(date +%s) - start ))
        budget=("${limit[@]}")
        if [[ "${limit[0]}" == -max_total_time=* ]]; then
            left=$(( ${limit[0]#-max_total_time=} - elapsed ))
            [ $left -gt 0 ] || break
            budget=(-max_total_time=$left)
        elif [ "$runs" != 0 ]; then
            left=$(( ${limit[0]#-runs=} - runs ))
            [ $left -gt 0 ] || break
            budget=(-runs=$left)
        fi
        seed=()
        [ -z "${GRAFT_FUZZ_SEED:-}" ] || seed=(-seed=$(( GRAFT_FUZZ_SEED + library_findings )))
        set +e
        GRAFT_FUZZ_TARGET=$target "$binary" "$work" "Tests/Fuzz/Corpus/$target" "${budget[@]}" "${seed[@]}" \
            -timeout=20 -rss_limit_mb=2560 -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
            -artifact_prefix=".build-fuzz/artifacts/$target-" >"$log" 2>&1
        code=$?
        set -e
        done_now=$(grep -a -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || echo 0)
        runs=$(( runs + done_now ))
        [ $code -ne 0 ] || break
        # glibc's own frames are skipped whether symbolised by library (libc.so) or by source
        # (string/../sysdeps/…/memmove-vec-unaligned-erms.S, where HDF5's memcpy lands).
        # sed -n 1p, not head -1: head would close the pipe early and, under pipefail, fail the script.
        innermost=$(sed -n '/ERROR\|ALARM\|Fatal error/,$p' "$log" | grep -a -E '^ +#[0-9]+ ' \
            | grep -v -E 'asan|sanitizer|compiler-rt|libFuzzer|fuzzer::|libc\.so|sysdeps/|libswiftCore|swift_|graft_fuzz|graft-fuzz' | sed -n 1p)
        artifact=$(grep -a -o "Test unit written to [^ ]*" "$log" | tail -1 | sed 's/Test unit written to //')
        if [[ "$innermost" =~ libhdf5|libtiff|libgif|libwebp ]] && [ -n "$artifact" ]; then
            library_findings=$(( library_findings + 1 ))
            echo "$target: C library finding ($(grep -o -m1 -E 'libhdf5|libtiff|libgif|libwebp' <<<"$innermost")), reproducer $artifact" >&2
            # An input can pass once, join the corpus, and crash when a later restart reloads it
            # after other inputs (libhdf5 keeps state between files): libFuzzer names corpus files
            # and artifacts by the same SHA-1, so drop it, or every restart would stop on it.
            rm -f "$work/${artifact##*-}"
            [ $done_now -gt 0 ] || { result="FAILED: C library findings keep the fuzzer from running"; status=1; break; }
            continue
        fi
        result="FAILED (exit $code): $(grep -a -m1 -E 'ERROR|error:|Fatal|deadly|timeout|leak|out-of-memory|malloc' "$log" | cut -c1-120); see $log"
        status=1
        break
    done
    [ $library_findings -eq 0 ] || result="$result ($library_findings C library finding(s), reproducers in .build-fuzz/artifacts)"
    printf '%-11s %10s %8s  %s\n' "$target" "$runs" "$(( $(date +%s) - start ))" "$result"
done
exit $status
