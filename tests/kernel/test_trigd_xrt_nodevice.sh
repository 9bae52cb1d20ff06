#!/usr/bin/env bash
# trigd with the xrt backend on a machine without an Alveo card: it must stop at start with a
# clear message (no xclbin, missing xclbin, no device) and a non-zero exit code, never crash or
# hang. Correct results are the cpu backend's job (tests/kernel/test_accel_cpu.c, test_xrt_noop.c).
set -uo pipefail
trigd=${LARTRIG_BINARY_DIR:?}/daemon/trigd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Built without libxrt-dev, every case must still fail cleanly, naming the xrt backend.
have_xrt=1
grep -q '^XRT_COREUTIL_LIB:FILEPATH=/' "${LARTRIG_BINARY_DIR}/CMakeCache.txt" || have_xrt=0
"$trigd" --print-default-config >"$tmp/base.conf"
fail=0
check() { # name, xclbin, expected message (the printed default lists every key once)
    # the network (the default TP chain runs on the cpu backend only, tests/tools/test_replay_tp.sh)
    sed "s|backend = \"cpu\";|backend = \"xrt\";|; s|xclbin = \"\";|xclbin = \"$2\";|; s|algorithm = \"tp\";|algorithm = \"cnn\";|" \
        "$tmp/base.conf" >"$tmp/$1.conf"
    "$trigd" --check-config -c "$tmp/$1.conf" >/dev/null 2>&1 || { echo "FAIL $1: config rejected"; fail=1; return; }
    out=$(cd "$tmp" && timeout 60 "$trigd" -c "$1.conf" --duration 0.01 2>&1)
    rc=$?
    if [[ $rc -eq 0 || $rc -ge 124 ]]; then echo "FAIL $1: exit code $rc: $out"; fail=1; return; fi
    want=$3
    [[ $have_xrt -eq 1 ]] || want=xrt
    if ! grep -q -- "$want" <<<"$out"; then echo "FAIL $1: no '$3' in: $out"; fail=1; return; fi
    echo "ok   $1 (exit $rc): $(grep -m1 -- "$want" <<<"$out")"
}
check no_xclbin '' "no xclbin"
check missing_xclbin /nonexistent/lartrig.xclbin "cannot open xclbin"
printf 'not an xclbin' >"$tmp/bad.xclbin"
check bad_xclbin "$tmp/bad.xclbin" "xrt"
exit $fail
