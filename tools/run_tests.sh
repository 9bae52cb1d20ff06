#!/usr/bin/env bash
# The test command of README.md and CI: install missing Debian packages, build twice (release and
# ASan+UBSan), run every ctest test in both. Usage: tools/run_tests.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
jobs=$(nproc)

build_and_test() {
    local dir=$1
    shift
    cmake -S . -B "$dir" "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
    grep -E '^-- lartrig:' "$dir.configure.log" || true
    cmake --build "$dir" -j"$jobs"
    (cd "$dir" && ctest --output-on-failure -j"$jobs" "${ctest_args[@]}")
}

ctest_args=("$@")
mkdir -p build build-asan
echo "== release build (RelWithDebInfo) =="
build_and_test build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== sanitizer build (ASan + UBSan) =="
# detect_leaks stays on: a leak in a test is a bug like any other.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
build_and_test build-asan -DCMAKE_BUILD_TYPE=Debug -DLARTRIG_SANITIZE=ON
echo "== fuzz smoke: every decoder target for ${LARTRIG_FUZZ_SECONDS:-20} s (clang, libFuzzer) =="
# h5file is left to tools/fuzz.sh: libhdf5 1.10.8 can hang on corrupt heaps (docs/reliability.md).
targets=()
for f in tests/fuzz/fuzz_*.c; do
    t=$(basename "$f" .c)
    t=${t#fuzz_}
    [[ $t == h5file ]] || targets+=("$t")
done
tools/fuzz.sh "${LARTRIG_FUZZ_SECONDS:-20}" "${targets[@]}"
echo "== all tests passed in both builds; fuzz smoke clean =="
