#!/bin/bash
# Alarms as monitor events and metrics, on a real trigd (role module) with the process of cell 1
# not running yet: cell_missing for cell 1, writer_free_space_low (threshold above any disk), and
# watchdog_near_expiry after the process was held (SIGSTOP) 1.5 s with WatchdogSec=2;
# each in `trigctl status --json`, the status table, /metrics (trigctl metrics) and as a "raised"
# event (trigd's log and the exporter's log); the cells' processes start and cell_missing clears
# (a "cleared" event). Trigger inhibit and clock faults: test_status_alarms.
set -euo pipefail
bin=${LARTRIG_BINARY_DIR:?LARTRIG_BINARY_DIR not set}
trigd=$bin/daemon/trigd
trigctl=$bin/tools/trigctl
py=/usr/bin/python3
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for l in module cells cells2 metrics; do
        [[ -f $tmp/$l.log ]] && { echo "--- $l" >&2; tail -10 "$tmp/$l.log" >&2; }
    done
    exit 1
}
export RUNTIME_DIRECTORY=$tmp/run
mkdir -p "$RUNTIME_DIRECTORY" "$tmp/out"
conf=$tmp/trigd.conf
cat >"$conf" <<CONF
cells = ( { id = 0; source = "sim"; n_fembs = 1; }, { id = 1; source = "sim"; n_fembs = 1; } );
sim = { seed = 2; realtime_factor = 0.1; noise_rms = 3.0; ar39_rate_hz = 1000.0; };
kernel = { backend = "cpu"; threads = 1; block_periods = 4; };
endpoints = { candidates = "ipc://$tmp/candidates"; requests = "ipc://$tmp/requests"; };
trigger = { cell_timeout_ms = 500; periodic = { enabled = true; period_ms = 20.0; }; };
buffers = { latency_ms = 400; };
writer = { backend = "pwritev"; output_dir = "$tmp/out"; };
monitor = { status_interval_s = 0.0; free_space_alarm_gb = 1e8; };
CONF
WATCHDOG_USEC=2000000 "$trigd" -c "$conf" --role module >"$tmp/module.log" 2>&1 &
pids+=($!)
"$trigctl" metrics --listen 127.0.0.1:0 >"$tmp/metrics.log" 2>&1 &
pids+=($!)
port=
for _ in $(seq 50); do
    port=$(grep -o "(port [0-9]*)" "$tmp/metrics.log" 2>/dev/null | grep -o "[0-9]*" || true)
    [[ -n $port ]] && break
    sleep 0.1
done
[[ -n $port ]] || fail "trigctl metrics did not start"
for _ in $(seq 100); do "$trigctl" status --timeout 300 >/dev/null 2>&1 && break; sleep 0.1; done
"$trigd" -c "$conf" --role cell --cells 0 >"$tmp/cells.log" 2>&1 &
pids+=($!)

alarms() { "$trigctl" status --json | "$py" -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted(a["alarm"] + (":%d" % a["cell"] if "cell" in a else "") for a in d["alarms"])))'; }
for _ in $(seq 50); do
    a=$(alarms)
    [[ $a == *cell_missing:1* ]] && break
    sleep 0.2
done
[[ $a == *cell_missing:1* ]] || fail "no cell_missing alarm: $a"
[[ $a != *cell_missing:0* ]] || fail "cell 0 is running but its alarm is up: $a"
[[ $a == *writer_free_space_low* ]] || fail "no free space alarm: $a"
[[ $a != *watchdog_near_expiry* ]] || fail "watchdog alarm before any delay: $a"

# Stop cell 0's process too: no data flows, so a manual trigger is queued but never issued (the
# operator thread answers at once and never waits on data). Then hold the whole module process
# 1.5 s (SIGSTOP), so the watchdog ping comes later than 0.7 x WatchdogSec.
kill ${pids[-1]}
wait ${pids[-1]} 2>/dev/null || true
for _ in $(seq 50); do
    a=$(alarms)
    [[ $a == *cell_missing:0* ]] && break
    sleep 0.2
done
"$trigctl" trigger >/dev/null 2>&1 && fail "a manual trigger without data succeeded"
kill -STOP "${pids[0]}"
sleep 1.5
kill -CONT "${pids[0]}"
a=$(alarms)
[[ $a == *watchdog_near_expiry* ]] || fail "no watchdog alarm after a 1.5 s hold: $a"
"$trigctl" status >"$tmp/table.txt"
grep -q "^ALARM critical cell_missing: cell 1 missing" "$tmp/table.txt" || fail "table lacks the cell alarm"
grep -q "^ALARM warning writer_free_space_low: " "$tmp/table.txt" || fail "table lacks the space alarm"

# The same in /metrics, and the events in both logs.
for _ in $(seq 30); do
    curl -sS --max-time 5 "http://127.0.0.1:$port/metrics" >"$tmp/m.prom"
    grep -q 'lartrig_alarm{alarm="watchdog_near_expiry"' "$tmp/m.prom" && break
    sleep 0.2
done
for s in 'lartrig_alarm{alarm="cell_missing",severity="critical",cell="0"} 1' \
    'lartrig_alarm{alarm="cell_missing",severity="critical",cell="1"} 1' \
    'lartrig_alarm{alarm="writer_free_space_low",severity="warning",cell=""} 1' \
    'lartrig_alarm{alarm="watchdog_near_expiry",severity="critical",cell=""} 1'; do
    grep -qF "$s" "$tmp/m.prom" || fail "/metrics lacks $s"
done
n=$(awk '$1 == "lartrig_alarms_active" { print $2 }' "$tmp/m.prom")
((n >= 3)) || fail "lartrig_alarms_active $n"
grep -q "alarm raised: cell 1 missing" "$tmp/module.log" || fail "trigd did not log the raised alarm"
grep -q "alarm raised: .*watchdog ping" "$tmp/module.log" || fail "trigd did not log the watchdog alarm"
grep -q "alarm raised: cell 1 missing" "$tmp/metrics.log" || fail "no raised event on the monitor socket"

# Both cells come back (a new process): cell_missing clears, with an event.
"$trigd" -c "$conf" --role cell >"$tmp/cells2.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
    a=$(alarms)
    [[ $a != *cell_missing* ]] && break
    sleep 0.25
done
[[ $a != *cell_missing* ]] || fail "cell_missing did not clear: $a"
for _ in $(seq 20); do
    grep -q "alarm cleared: cell 1 missing" "$tmp/metrics.log" && break
    sleep 0.2
done
grep -q "alarm cleared: cell 1 missing" "$tmp/metrics.log" || fail "no cleared event on the monitor socket"
grep -q "alarm cleared: cell 1 missing" "$tmp/module.log" || fail "trigd did not log the cleared alarm"
echo "PASS"
