#!/usr/bin/env bash
# trigctl on bad files: a clear message naming the file and exit code 1, never a crash or a hang
# (including the input that makes libhdf5 1.10.8 loop forever).
set -uo pipefail
bin=${LARTRIG_BINARY_DIR:?}/tools/trigctl
src=${LARTRIG_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

expect_error() { # name, expected text, command...
    local name=$1 want=$2
    shift 2
    out=$(timeout 60 "$@" 2>&1)
    rc=$?
    if [[ $rc -ne 1 ]]; then echo "FAIL $name: exit code $rc (want 1): $out"; fail=1; return; fi
    if ! grep -q -- "$want" <<<"$out"; then echo "FAIL $name: message lacks '$want': $out"; fail=1; return; fi
    echo "ok   $name"
}

head -c 5000 /dev/urandom >"$tmp/garbage.h5"
: >"$tmp/empty.h5"
expect_error "inspect garbage" "$tmp/garbage.h5" "$bin" inspect "$tmp/garbage.h5"
expect_error "inspect empty" "$tmp/empty.h5" "$bin" inspect "$tmp/empty.h5"
expect_error "inspect missing" "$tmp/none.h5" "$bin" inspect "$tmp/none.h5"
expect_error "show garbage" "$tmp/garbage.h5" "$bin" show "$tmp/garbage.h5" -o "$tmp/x.png"
LARTRIG_H5_OPEN_TIMEOUT=3 expect_error "inspect libhdf5 hang" "corrupt" \
    "$bin" inspect "$src/tests/fuzz/known-libhdf5/global-heap-zero-size-object.h5"
LARTRIG_H5_OPEN_TIMEOUT=3 expect_error "show libhdf5 hang" "corrupt" "$bin" show "$src/tests/fuzz/known-libhdf5/global-heap-zero-size-object.h5" -o "$tmp/y.png"
exit $fail
