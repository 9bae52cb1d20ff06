#!/bin/bash
# The operator interface of a real trigd (role all, simulated cells), through real sockets:
# trigctl status (table and --json), trigger, pause, resume, reload (a threshold edited in the
# config file, and SIGHUP), stop; the sd_notify messages (READY, STATUS, WATCHDOG, RELOADING,
# STOPPING) on a test NOTIFY_SOCKET; trigctl against no daemon.
set -euo pipefail
bin=${LARTRIG_BINARY_DIR:?LARTRIG_BINARY_DIR not set}
trigd=$bin/daemon/trigd
trigctl=$bin/tools/trigctl
py=/usr/bin/python3
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    [[ -f $tmp/trigd.log ]] && tail -30 "$tmp/trigd.log" >&2
    exit 1
}
export RUNTIME_DIRECTORY=$tmp/run
mkdir -p "$RUNTIME_DIRECTORY" "$tmp/out"

# The config systemd/CMakeLists.txt installs as /etc/lartrig/trigd.conf is valid.
src=${LARTRIG_SOURCE_DIR:?LARTRIG_SOURCE_DIR not set}
"$trigd" --check-config -c "$src/systemd/trigd.conf" || fail "systemd/trigd.conf rejected"

# trigctl with no daemon: exit 3 and a message saying so.
set +e
"$trigctl" status --timeout 300 >"$tmp/nodaemon.out" 2>&1
rc=$?
set -e
[[ $rc == 3 ]] || fail "trigctl status without a daemon exited $rc, expected 3"
grep -qi "no answer from ipc:.*is trigd running" "$tmp/nodaemon.out" ||
    fail "unclear message without a daemon: $(cat "$tmp/nodaemon.out")"

# A test NOTIFY_SOCKET: a datagram listener writing every message to a file.
export NOTIFY_SOCKET=$tmp/notify.sock
"$py" - "$NOTIFY_SOCKET" "$tmp/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        msg = s.recv(4096).decode(errors="replace")
        f.write(msg.replace("\n", "|") + "\n")
        f.flush()
PY
pids+=($!)
for _ in $(seq 50); do [[ -S $NOTIFY_SOCKET ]] && break; sleep 0.1; done
[[ -S $NOTIFY_SOCKET ]] || fail "notify listener did not start"

# Two simulated cells, a periodic trigger every 20 ms of data time (0.4 s of wall time at 1/20 of
# real time) so that pause has something to hold back, single trigger threshold 2000.
conf=$tmp/trigd.conf
write_conf() {
    cat >"$conf" <<CONF
run_number = 42;
role = "all";
cells = ( { id = 0; source = "sim"; n_fembs = 1; }, { id = 1; source = "sim"; n_fembs = 1; } );
sim = { seed = 3; realtime_factor = 0.05; noise_rms = 3.0; ar39_rate_hz = 1000.0; };
kernel = { backend = "cpu"; threads = 1; block_periods = 4; };
endpoints = { candidates = "inproc://op-candidates"; requests = "inproc://op-requests"; };
trigger = {
  single = { enabled = true; min_score = $1; };
  periodic = { enabled = true; period_ms = 20.0; };
};
readout = { pre_us = 100.0; post_us = 400.0; };
buffers = { latency_ms = 200; };
writer = { backend = "pwritev"; output_dir = "$tmp/out"; max_records_per_file = 1000; };
monitor = { status_interval_s = 0.0; };
CONF
}
write_conf 2000
"$trigd" --check-config -c "$conf" >/dev/null || fail "test config rejected"
# WatchdogSec=2 as systemd would pass it: WATCHDOG=1 is due every second.
WATCHDOG_USEC=2000000 "$trigd" -c "$conf" >"$tmp/trigd.log" 2>&1 &
tpid=$!
pids+=($tpid)

jq_py() { "$py" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
status_json() { "$trigctl" status --json; }
for _ in $(seq 100); do
    "$trigctl" status --timeout 300 >/dev/null 2>&1 && break
    kill -0 $tpid 2>/dev/null || fail "trigd died"
    sleep 0.1
done
"$trigctl" status >"$tmp/table.txt" || fail "trigctl status failed"
cat "$tmp/table.txt"
grep -q "run 42" "$tmp/table.txt" || fail "table lacks the run number"
grep -q "state running" "$tmp/table.txt" || fail "table lacks state running"
grep -qE "^ +1 " "$tmp/table.txt" || fail "table lacks cell 1"

# Wait for a few periodic triggers and the first record on disk (a decision is written a
# readout later: waiting for decisions alone raced the writer on a loaded machine), then check
# the document's fields.
for _ in $(seq 150); do
    # "writer" is null until the writer has reported once.
    n=$(status_json | jq_py "min(d['aggregator']['triggers']['periodic'], 2 * (d['writer'] or {}).get('records', 0))")
    (( n >= 2 )) && break
    sleep 0.2
done
status_json >"$tmp/s1.json"
"$py" - "$tmp/s1.json" <<'PY' || fail "status document fields"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("version", "uptime_s", "run_number", "role", "state", "config_digest", "cells",
          "aggregator", "writer"):
    assert k in d, k
assert d["run_number"] == 42 and d["role"] == "all" and d["state"] == "running", d
assert d["config_digest"].startswith("fnv1a64:") and len(d["config_digest"]) == 8 + 16
assert [c["id"] for c in d["cells"]] == [0, 1]
for c in d["cells"]:
    for k in ("frames_per_s", "lag_ms", "ring_fill", "candidates_per_s", "drops", "requests",
              "missing"):
        assert k in c, k
    assert c["frames_per_s"] > 0, c
    assert 0 <= c["ring_fill"] <= 1
    assert set(("send", "ring_overwritten", "accel", "candidates_overflow")) <= set(c["drops"])
a = d["aggregator"]
assert a["triggers"]["periodic"] >= 2, a
assert set(("p50", "p99")) <= set(a["latency_ms"])
assert a["missing_cells"] == []
w = d["writer"]
assert w["io_mode"] == "pwritev", w
assert w["records"] >= 1 and w["bytes"] > 0 and w["free_bytes"] > 0, w
assert d["thresholds"]["single_min_score"] == 2000
PY

# Manual trigger: a trigger number comes back, and the manual count and records follow.
"$trigctl" trigger --json >"$tmp/trig.json" || fail "trigctl trigger failed"
num=$(jq_py "d['trigger_number']" <"$tmp/trig.json")
(( num >= 1 )) || fail "no trigger number: $(cat "$tmp/trig.json")"
for _ in $(seq 50); do
    m=$(status_json | jq_py "d['aggregator']['triggers']['manual']")
    (( m >= 1 )) && break
    sleep 0.1
done
(( m >= 1 )) || fail "manual trigger not counted"

# Pause: the state says so, the algorithms' decisions are dropped (counted), none issued.
"$trigctl" pause | grep -q paused || fail "pause reply"
sleep 0.3 # the module thread applies it within a poll period; let in-flight decisions go
status_json >"$tmp/p0.json"
[[ $(jq_py "d['state']" <"$tmp/p0.json") == paused ]] || fail "state not paused"
p0=$(jq_py "d['aggregator']['triggers']['periodic']" <"$tmp/p0.json")
d0=$(jq_py "d['aggregator']['paused_dropped']" <"$tmp/p0.json")
sleep 2 # 100 ms of data: about 5 periodic proposals
status_json >"$tmp/p1.json"
p1=$(jq_py "d['aggregator']['triggers']['periodic']" <"$tmp/p1.json")
d1=$(jq_py "d['aggregator']['paused_dropped']" <"$tmp/p1.json")
[[ $p1 == "$p0" ]] || fail "periodic triggers issued while paused ($p0 -> $p1)"
(( d1 > d0 )) || fail "no decisions counted as dropped while paused ($d0 -> $d1)"
# trigd inhibits when busy (wait_when_busy is replay's): nothing is ever held here.
[[ $(jq_py "d['aggregator']['decisions_held']" <"$tmp/p1.json") == 0 ]] || fail "decisions_held"
# A manual trigger still goes out while paused.
"$trigctl" trigger >/dev/null || fail "manual trigger while paused"
"$trigctl" resume | grep -q running || fail "resume reply"
for _ in $(seq 50); do
    p2=$(status_json | jq_py "d['aggregator']['triggers']['periodic']")
    (( p2 > p1 )) && break
    sleep 0.2
done
(( p2 > p1 )) || fail "no periodic triggers after resume"

# Reload: edit the single threshold (live) and the readout window (needs a restart).
digest0=$(status_json | jq_py "d['config_digest']")
write_conf 2500
sed -i 's/post_us = 400.0/post_us = 500.0/' "$conf"
"$trigctl" reload --json >"$tmp/reload.json" || fail "reload failed"
cat "$tmp/reload.json"
"$py" - "$tmp/reload.json" <<'PY' || fail "reload reply"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["applied"] == ["trigger.single.min_score"], d
assert d["ignored"] == ["readout"], d
PY
status_json >"$tmp/s2.json"
[[ $(jq_py "d['thresholds']['single_min_score']" <"$tmp/s2.json") == 2500 ]] ||
    fail "status does not show the new threshold"
[[ $(jq_py "d['config_digest']" <"$tmp/s2.json") != "$digest0" ]] || fail "digest unchanged"
# A broken file: an error, the running configuration untouched.
echo "trigger = { single = { min_score = oops; }; };" >>"$conf"
if "$trigctl" reload >"$tmp/bad.out" 2>&1; then fail "reload of a broken file succeeded"; fi
grep -q "trigd.conf:" "$tmp/bad.out" || fail "reload error does not name the file: $(cat "$tmp/bad.out")"
[[ $(status_json | jq_py "d['thresholds']['single_min_score']") == 2500 ]] ||
    fail "a failed reload changed the threshold"
# SIGHUP does the same as the command.
write_conf 2700
kill -HUP $tpid
for _ in $(seq 30); do
    t=$(status_json | jq_py "d['thresholds']['single_min_score']")
    [[ $t == 2700 ]] && break
    sleep 0.1
done
[[ $t == 2700 ]] || fail "SIGHUP did not reload"

# Stop: trigd exits 0 and every record it counted is in a closed file.
status_json >"$tmp/s3.json"
"$trigctl" stop | grep -q stopping || fail "stop reply"
set +e
wait $tpid
rc=$?
set -e
[[ $rc == 0 ]] || fail "trigd exited $rc after stop"
ls "$tmp/out"
! ls "$tmp/out"/*.writing >/dev/null 2>&1 || fail "a .writing file was left"
grep -q "records [0-9]* built [0-9]* written 0 failed" "$tmp/trigd.log" || fail "records failed"
built=$(grep -o "records [0-9]* built" "$tmp/trigd.log" | tail -1 | awk '{print $2}')
"$py" - "$tmp/out" "$built" "$tmp/s3.json" <<'PY' || fail "records in the files"
import glob, json, sys, h5py
files = sorted(glob.glob(sys.argv[1] + "/*.hdf5"))
names = [n for f in files for n in h5py.File(f, "r").keys() if n.startswith("TriggerRecord")]
built = int(sys.argv[2])
before = json.load(open(sys.argv[3]))["aggregator"]["decisions"]
assert len(names) == built, (len(names), built)
assert built >= before, (built, before)
print(f"{len(names)} records in {len(files)} files")
PY

# The notifications systemd would have seen.
sleep 0.2
grep -v WATCHDOG=1 "$tmp/notify.log"
echo "WATCHDOG=1 x $(grep -c WATCHDOG=1 "$tmp/notify.log")"
for m in READY=1 STATUS= WATCHDOG=1 RELOADING=1 STOPPING=1; do
    grep -q "$m" "$tmp/notify.log" || fail "no $m on NOTIFY_SOCKET"
done
grep -q "STATUS=running, 2 cells, [0-9]* frames/s" "$tmp/notify.log" || fail "no rates in STATUS="
# RELOADING=1 is followed by READY=1 again (reload finished).
awk '/RELOADING=1/{r=1} r && /READY=1/{ok=1} END{exit !ok}' "$tmp/notify.log" ||
    fail "no READY=1 after RELOADING=1"
echo "PASS"
