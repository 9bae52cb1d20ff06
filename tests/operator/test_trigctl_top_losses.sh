#!/bin/bash
# `trigctl top` tells normal operation from loss (issue 17): a module and two cell processes
# (ipc), paced sim, latency rings of 400 ms of data that fill and overwrite within 4 s. With full
# rings and nothing lost, top shows each ring's depth in ms, 0 lost, health ok and "losses: none";
# the ring overwrite is counted apart (ring.overwritten_frames). A cell process stopped (SIGSTOP)
# shows as the right losses on the module's top: the cell missing, fragments not found, health
# degraded (or failing if the writer inhibits meanwhile) with the reason; the other cell stays ok. Latency percentiles are "-" before any
# decision and numbers after.
set -euo pipefail
bin=${LARTRIG_BINARY_DIR:?LARTRIG_BINARY_DIR not set}
trigd=$bin/daemon/trigd
trigctl=$bin/tools/trigctl
py=/usr/bin/python3
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill -CONT "$p" 2>/dev/null || true
        kill "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for l in module cellA cellB; do
        [[ -f $tmp/$l.log ]] && { echo "--- $l" >&2; tail -8 "$tmp/$l.log" >&2; }
    done
    exit 1
}
export RUNTIME_DIRECTORY=$tmp/run
mkdir -p "$RUNTIME_DIRECTORY" "$tmp/out"
run=$RUNTIME_DIRECTORY
conf=$tmp/trigd.conf
cat >"$conf" <<CONF
cells = ( { id = 0; source = "sim"; n_fembs = 1; }, { id = 1; source = "sim"; n_fembs = 1; } );
sim = { seed = 9; realtime_factor = 0.1; noise_rms = 3.0; ar39_rate_hz = 1000.0; };
kernel = { backend = "cpu"; threads = 1; block_periods = 4; };
endpoints = { candidates = "ipc://$tmp/candidates"; requests = "ipc://$tmp/requests"; };
trigger = { cell_timeout_ms = 600; coincidence = { enabled = false; };
            single = { enabled = false; };
            periodic = { enabled = true; period_ms = 50.0; }; }; # 2 records/s: far below the writer, even under ASan
readout = { pre_us = 0.0; post_us = 200.0; data_wait_ms = 800; reply_timeout_ms = 1000; };
buffers = { latency_ms = 400; }; # > the stall while cell 1 is not yet missing (600 ms x 0.1), with margin for a loaded machine
writer = { backend = "pwritev"; output_dir = "$tmp/out"; };
monitor = { status_interval_s = 0.0; };
CONF
"$trigd" --check-config -c "$conf" >/dev/null || fail "config rejected"
"$trigd" -c "$conf" --role module >"$tmp/module.log" 2>&1 &
pm=$!
pids+=($pm)
for _ in $(seq 100); do grep -q "running: role module" "$tmp/module.log" && break; sleep 0.1; done
# Latency before any decision: no sample, so "-" and null rather than 0.
"$trigctl" status >"$tmp/first.txt" || fail "status of the module"
grep -q "latency p50 -  p99 -" "$tmp/first.txt" || fail "no-sample latency not shown as -: $(grep latency "$tmp/first.txt")"
"$trigd" -c "$conf" --role cell --cells 0 >"$tmp/cellA.log" 2>&1 &
pa=$!
pids+=($pa)
"$trigd" -c "$conf" --role cell --cells 1 >"$tmp/cellB.log" 2>&1 &
pb=$!
pids+=($pb)

top_module() { "$trigctl" top --once --monitor "ipc://$run/monitor" --json; }
top_cell0() { "$trigctl" top --once --monitor "ipc://$run/cell0-monitor" "$@"; }

# Steady state: rings full and overwriting, every start-up edge out of the health window.
steady=0
for _ in $(seq 60); do
    sleep 0.5
    top_module >"$tmp/m.json" 2>/dev/null || continue
    top_cell0 --json >"$tmp/c0.json" 2>/dev/null || continue
    if "$py" - "$tmp/m.json" "$tmp/c0.json" <<'PY' 2>/dev/null; then
import json, sys
m, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
cell = c["cells"][0]
assert cell["ring"]["overwritten_frames"] > 0 and cell["ring"]["fill"] > 0.99
assert cell["health"]["state"] == "ok" and m["health"]["state"] == "ok"
assert m["aggregator"]["decisions"] >= 5
PY
        steady=1
        break
    fi
done
((steady)) || fail "no steady state with full rings and health ok: $(cat "$tmp/m.json" "$tmp/c0.json" 2>/dev/null | head -c 3000)"

top_cell0 >"$tmp/top_cell0.txt" || fail "top of cell 0"
"$trigctl" top --once --monitor "ipc://$run/monitor" >"$tmp/top_module.txt" || fail "top of module"
cat "$tmp/top_cell0.txt" "$tmp/top_module.txt"
# The cell's row: ring depth ~100 ms, 0 lost, ok; no per-cell loss line.
awk '$1 == "0" { ok = ($4 >= 395 && $4 <= 410 && $6 == 0 && $7 == "ok") } END { exit !ok }' \
    "$tmp/top_cell0.txt" || fail "cell 0 row is not 'ring ~400 ms, 0 lost, ok'"
! grep -q "losses:" "$tmp/top_cell0.txt" || fail "cell 0 shows losses with nothing lost"
grep -q "^health: ok$" "$tmp/top_cell0.txt" || fail "cell process health not ok"
grep -q "^health: ok$" "$tmp/top_module.txt" || fail "module health not ok"
grep -q "^  losses: none$" "$tmp/top_module.txt" || fail "module shows losses with nothing lost"
grep -Eq "latency p50 [0-9.]+ ms  p99 [0-9.]+ ms \(last 60 s, [0-9]+ decisions\)" \
    "$tmp/top_module.txt" || fail "latency percentiles with their window"
"$py" - "$tmp/c0.json" <<'PY' || fail "ring overwrite counted as a loss"
import json, sys
c = json.load(open(sys.argv[1]))["cells"][0]
assert c["ring"]["overwritten_frames"] > 0, c["ring"]
assert all(v == 0 for v in c["losses"].values()), c["losses"]
assert "ring_overwritten" not in c["losses"]
PY

# Stop cell 1's process: the module declares it missing, its fragments are not found.
kill -STOP $pb
found=0
for _ in $(seq 40); do
    sleep 0.5
    "$trigctl" top --once --monitor "ipc://$run/monitor" >"$tmp/stopped.txt" 2>/dev/null || continue
    if grep -q "MISSING cells: \[1\]" "$tmp/stopped.txt" &&
        grep -Eq "^  losses: .*fragments not found [1-9]" "$tmp/stopped.txt"; then
        found=1
        break
    fi
done
cat "$tmp/stopped.txt"
((found)) || fail "module top does not show cell 1 missing and fragments not found"
# degraded; failing when, on a slow machine, the readouts waiting for the stopped cell's replies
# filled the queue and the writer inhibits (then named too).
grep -Eq "^health: (degraded|failing): .*cell 1 missing" "$tmp/stopped.txt" ||
    fail "module health does not name the missing cell"
top_module >"$tmp/stopped.json"
"$py" - "$tmp/stopped.json" <<'PY' || fail "stopped cell: loss counters"
import json, sys
d = json.load(open(sys.argv[1]))
a = d["aggregator"]
assert a["missing_cells"] == [1] and a["cells_missing"] == 1, a["missing_cells"]
assert a["losses"]["fragments_not_found"] > 0, a["losses"]
assert d["health"]["state"] in ("degraded", "failing"), d["health"]
assert any("cell 1 missing" in r for r in d["health"]["reasons"]), d["health"]
# Losses that did not happen stay 0: nothing was dropped on the way.
assert a["losses"]["messages_lost"] == 0 and a["losses"]["records_failed"] == 0, a["losses"]
PY
# Cell 0 is untouched: still ok, nothing lost.
top_cell0 --json >"$tmp/c0b.json"
"$py" - "$tmp/c0b.json" <<'PY' || fail "cell 0 affected by cell 1's stop"
import json, sys
c = json.load(open(sys.argv[1]))["cells"][0]
assert c["health"]["state"] == "ok", c["health"]
assert all(v == 0 for v in c["losses"].values()), c["losses"]
PY
kill -CONT $pb
echo "PASS"
