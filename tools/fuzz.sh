#!/usr/bin/env bash
# Build every libFuzzer target with clang and run each for a set time on a copy of its committed
# seed corpus. Any crash, leak or sanitizer report fails the script; the executions reached are
# printed per target (docs/reliability.md records them).
# Usage: tools/fuzz.sh [seconds-per-target (default 20)] [target-name ...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
shift || true
command -v clang >/dev/null || { echo "fuzz: clang is not installed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
build=build-fuzz
CC=clang cmake -S . -B "$build" -DLARTRIG_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 1; }
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    for f in tests/fuzz/fuzz_*.c; do n=$(basename "$f" .c); targets+=("${n#fuzz_}"); done
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"
# Leaks inside third-party libraries are listed (with the reason) in tests/fuzz/lsan.supp.
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-16s %12s %10s\n' target executions exec/s
for t in "${targets[@]}"; do
    mkdir -p "$work/$t"
    cp -r "tests/fuzz/corpus/$t/." "$work/$t/" 2>/dev/null || true
    log="$work/$t.log"
    if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -max_len=262144 -rss_limit_mb=2048 \
        -artifact_prefix="$work/$t-" "$work/$t" >"$log" 2>&1; then
        echo "fuzz: $t FAILED; reproducer and log:" >&2
        ls "$work"/"$t"-* >&2 || true
        tail -40 "$log" >&2
        mkdir -p fuzz-crashes && cp "$work"/"$t"-* fuzz-crashes/ 2>/dev/null || true
        exit 1
    fi
    # libFuzzer's closing line "Done N runs in S second(s)"; status lines ("#N ...") are not used
    # because the recommended-dictionary lines printed after them can contain '#<digits>' too.
    execs=$(grep -oE '^Done [0-9]+ runs' "$log" | tail -1 | awk '{print $2}')
    rate=$(grep -oE 'exec/s: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    printf '%-16s %12s %10s\n' "$t" "${execs:-?}" "${rate:-?}"
done
