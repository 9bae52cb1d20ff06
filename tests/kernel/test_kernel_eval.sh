#!/bin/bash
# End to end through the built programs: `trigctl sim` writes a small run file with one injected
# 30 MeV electron and nothing else but noise + 39Ar; bench_kernel_eval runs the C kernel over it
# with the committed default weights and must report a candidate on that electron's wires and
# time, cover every frame period, and refuse a missing file with a message naming it.
set -euo pipefail
src=${LARTRIG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${LARTRIG_BINARY_DIR:-$src/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin/tools/trigctl" sim -o "$tmp/run.h5" --cells 1 --channels 256 --seconds 0.03 --seed 3 \
    --le-rate 0 --he-rate 0 --cosmic-rate 0 --inject 0:low_energy:30:0.015 >/dev/null 2>&1
"$bin/bench/bench_kernel_eval" -w "$src/kernels/weights/default.ltw" "$tmp/run.h5" \
    >"$tmp/cands.json" 2>"$tmp/err.log"

python3 - "$tmp/cands.json" "$tmp/run.h5" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
cells = d["runs"][0]["cells"]
assert len(cells) == 1, cells
c = cells[0]
# 0.03 s rounded up to whole 2048-tick frames
periods = -(-int(0.03 * 62.5e6) // 2048)
assert c["periods"] == periods and c["first_tick"] == 0, (c["periods"], periods, c["first_tick"])
assert c["end_tick"] == periods * 2048, c["end_tick"]
t_inj = int(0.015 * 62.5e6)
hits = [k for k in c["candidates"]
        if k["time_start"] - 8192 <= t_inj + 20000 and k["time_end"] + 8192 >= t_inj]
assert hits, f"no candidate near the injected electron at tick {t_inj}: {c['candidates']}"
for k in c["candidates"]:
    assert 0 <= k["channel_start"] <= k["channel_end"] < 96, k
    assert 0 <= k["time_start"] <= k["time_peak"] <= k["time_end"] < c["end_tick"], k
print(f"ok: {len(c['candidates'])} candidates, {len(hits)} on the injected electron")
PY

if "$bin/bench/bench_kernel_eval" -w "$src/kernels/weights/default.ltw" "$tmp/nonesuch.h5" \
    >/dev/null 2>"$tmp/err2.log"; then
    echo "FAIL: a missing run file was accepted"
    exit 1
fi
grep -q "nonesuch.h5" "$tmp/err2.log" || { echo "FAIL: error does not name the file"; cat "$tmp/err2.log"; exit 1; }
echo "ok: missing file refused: $(head -1 "$tmp/err2.log")"
