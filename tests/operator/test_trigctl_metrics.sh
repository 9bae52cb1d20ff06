#!/bin/bash
# trigctl metrics against a real trigd (role all, two simulated cells) over real sockets: the
# exporter subscribes to the monitor socket, /metrics is scraped twice over HTTP (curl) and
# checked by a strict exposition-format checker (HELP/TYPE, names, labels, histograms, counters
# monotonic across the scrapes); with triggering paused, the counters equal `trigctl status
# --json`; HTTP edge cases (404, 405, HEAD, oversized request, silent and slow clients); lartrig_up 0 and
# no trigd metrics once trigd is gone; SIGTERM ends the exporter with 0.
set -euo pipefail
bin=${LARTRIG_BINARY_DIR:?LARTRIG_BINARY_DIR not set}
src=${LARTRIG_SOURCE_DIR:?LARTRIG_SOURCE_DIR not set}
trigd=$bin/daemon/trigd
trigctl=$bin/tools/trigctl
py=/usr/bin/python3
check="$py $src/tests/operator/promtext_check.py"
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
    [[ -f $tmp/trigd.log ]] && tail -20 "$tmp/trigd.log" >&2
    [[ -f $tmp/metrics.log ]] && tail -20 "$tmp/metrics.log" >&2
    exit 1
}
export RUNTIME_DIRECTORY=$tmp/run
mkdir -p "$RUNTIME_DIRECTORY" "$tmp/out"

# The checker itself rejects what it must (a test that cannot fail proves nothing).
printf '# TYPE a_total counter\na_total 1\n' >"$tmp/good.prom"
$check "$tmp/good.prom" >/dev/null || fail "checker rejects a valid exposition"
for bad in 'a_total 1\n' '# TYPE a counter\na 1\n' '# TYPE a_total counter\na_total{x="\\q"} 1\n' \
    '# TYPE a_total counter\na_total one\n' '# TYPE a gauge\na{1x="v"} 1\n' \
    '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n' '# TYPE a gauge\na 1\na 2\n' \
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'; do
    printf "$bad" >"$tmp/bad.prom"
    if $check "$tmp/bad.prom" 2>/dev/null; then fail "checker accepted: $bad"; fi
done
printf '# TYPE a_total counter\na_total 1\n' >"$tmp/down.prom"
printf '# TYPE a_total counter\na_total 0\n' >"$tmp/down2.prom"
if $check "$tmp/down.prom" "$tmp/down2.prom" 2>/dev/null; then fail "checker missed a decrease"; fi

conf=$tmp/trigd.conf
cat >"$conf" <<CONF
run_number = 17;
role = "all";
cells = ( { id = 0; source = "sim"; n_fembs = 1; }, { id = 1; source = "sim"; n_fembs = 1; } );
sim = { seed = 5; realtime_factor = 0.05; noise_rms = 3.0; ar39_rate_hz = 1000.0; };
kernel = { backend = "cpu"; threads = 1; block_periods = 4; };
endpoints = { candidates = "inproc://met-candidates"; requests = "inproc://met-requests"; };
trigger = { periodic = { enabled = true; period_ms = 20.0; }; };
readout = { pre_us = 100.0; post_us = 400.0; };
buffers = { latency_ms = 200; };
writer = { backend = "pwritev"; output_dir = "$tmp/out"; max_records_per_file = 1000; };
monitor = { status_interval_s = 0.0; free_space_alarm_gb = 1e8; }; # an alarm always up
CONF
# Under a watchdog (as systemd runs it) so its metrics are there too.
WATCHDOG_USEC=30000000 "$trigd" -c "$conf" >"$tmp/trigd.log" 2>&1 &
tpid=$!
pids+=($tpid)
# Port 0: the kernel picks a free one and the exporter says which.
"$trigctl" metrics --listen 127.0.0.1:0 --stale 2 >"$tmp/metrics.log" 2>&1 &
mpid=$!
pids+=($mpid)
port=
for _ in $(seq 50); do
    port=$(grep -o "(port [0-9]*)" "$tmp/metrics.log" 2>/dev/null | grep -o "[0-9]*" || true)
    [[ -n $port ]] && break
    kill -0 $mpid 2>/dev/null || fail "trigctl metrics died"
    sleep 0.1
done
[[ -n $port ]] || fail "trigctl metrics did not say its port"
url=http://127.0.0.1:$port/metrics
scrape() { curl -sS --max-time 5 -o "$1" -w '%{http_code} %{content_type}' "$url"; }
value() { # value FILE SERIES: the sample's value, or nothing
    awk -v s="$2" '$1 == s { print $2 }' "$1"
}

# Wait for trigd's documents and a few triggers.
for _ in $(seq 100); do
    scrape "$tmp/w.prom" >/dev/null || true
    t=$(value "$tmp/w.prom" 'lartrig_triggers_total{algorithm="periodic"}')
    [[ -n $t ]] && ((${t%.*} >= 2)) && break
    kill -0 $tpid 2>/dev/null || fail "trigd died"
    sleep 0.2
done
[[ -n ${t:-} ]] && ((${t%.*} >= 2)) || fail "no periodic triggers in /metrics"

# Two scrapes over HTTP, a second apart: both valid, counters monotonic.
hdr=$(scrape "$tmp/s1.prom") || fail "scrape 1"
[[ $hdr == "200 text/plain; version=0.0.4; charset=utf-8" ]] || fail "scrape 1 answered '$hdr'"
sleep 1.2
scrape "$tmp/s2.prom" >/dev/null || fail "scrape 2"
$check "$tmp/s1.prom" "$tmp/s2.prom" || fail "exposition format"
for s in lartrig_up 'lartrig_cell_frames_total{cell="0"}' 'lartrig_cell_frames_total{cell="1"}' \
    'lartrig_triggers_total{algorithm="periodic"}' lartrig_records_written_total \
    lartrig_writer_bytes_total lartrig_writer_free_bytes 'lartrig_state{state="running"}' \
    'lartrig_cell_ring_overwritten_frames_total{cell="0"}' 'lartrig_cell_messages_dropped_total{cell="1"}'; do
    [[ -n $(value "$tmp/s2.prom" "$s") ]] || fail "scrape lacks $s"
done
[[ $(value "$tmp/s2.prom" lartrig_up) == 1 ]] || fail "lartrig_up is not 1"
# Every metric the Grafana dashboard and the alert rules query is one the exporter serves.
"$py" - "$src/docs/grafana/lartrig-dashboard.json" "$src/docs/grafana/lartrig-alerts.yml" \
    "$tmp/s2.prom" <<'PY' || fail "dashboard queries a metric the exporter does not serve"
import json, re, sys
served = set()
for line in open(sys.argv[3]):
    if not line.startswith("#"):
        served.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
def exprs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "expr" or (k == "query" and isinstance(v, str)):
                yield v
            else:
                yield from exprs(v)
    elif isinstance(node, list):
        for v in node:
            yield from exprs(v)
dash = json.load(open(sys.argv[1]))
queries = list(exprs(dash)) + [dash["templating"]["list"][1]["definition"]]
queries += re.findall(r"expr: (.*)", open(sys.argv[2]).read())
used = {m for q in queries for m in re.findall(r"\blartrig_[a-z0-9_]+", q)}
missing = sorted(used - served)
assert not missing, missing
assert len(used) >= 30, used
print(f"dashboard and alert rules: {len(queries)} queries over {len(used)} metrics, all served")
PY
f1=$(value "$tmp/s1.prom" 'lartrig_cell_frames_total{cell="0"}')
f2=$(value "$tmp/s2.prom" 'lartrig_cell_frames_total{cell="0"}')
((f2 > f1)) || fail "frames did not advance between the scrapes ($f1 -> $f2)"

# Counters follow trigd's own status: frames between a status before and one after the scrape
# (1.5 s after the first status a newer document has been published and received).
"$trigctl" status --json >"$tmp/a.json"
sleep 1.5
scrape "$tmp/m.prom" >/dev/null
"$trigctl" status --json >"$tmp/b.json"
"$py" - "$tmp/a.json" "$tmp/m.prom" "$tmp/b.json" <<'PY' || fail "counters outside trigd's status"
import json, sys
def get(d, path):
    for k in path.split("."):
        d = d[k]
    return d
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[3]))
m = dict(l.rsplit(" ", 1) for l in open(sys.argv[2]).read().splitlines() if not l.startswith("#"))
for i, c in enumerate(b["cells"]):
    for path, metric in (("frames", "lartrig_cell_frames_total"),
                         ("candidates", "lartrig_cell_candidates_total"),
                         ("ring.overwritten_frames", "lartrig_cell_ring_overwritten_frames_total")):
        v = float(m[f'{metric}{{cell="{c["id"]}"}}'])
        lo, hi = get(a["cells"][i], path), get(c, path)
        assert lo <= v <= hi, (path, lo, v, hi)
PY

# Paused, the trigger and record counters stand still: they must equal the status exactly.
"$trigctl" pause >/dev/null || fail "pause"
sleep 1.5 # in-flight readouts finish and the next document carries the final counts
ok=0
for _ in $(seq 8); do
    scrape "$tmp/p.prom" >/dev/null
    "$trigctl" status --json >"$tmp/p.json"
    if "$py" - "$tmp/p.json" "$tmp/p.prom" >"$tmp/cmp.txt" 2>&1 <<'PY'; then
import json, sys
d = json.load(open(sys.argv[1]))
m = dict(l.rsplit(" ", 1) for l in open(sys.argv[2]).read().splitlines() if not l.startswith("#"))
a, w, r = d["aggregator"], d["writer"], d["aggregator"]["records"]
want = {"lartrig_decisions_total": a["decisions"],
        "lartrig_decisions_inhibited_total": a["inhibited"],
        "lartrig_records_built_total": r["built"], "lartrig_records_written_total": r["written"],
        "lartrig_records_failed_total": r["failed"],
        "lartrig_fragments_not_found_total": r["fragments_not_found"],
        "lartrig_writer_records_total": w["records"], "lartrig_writer_bytes_total": w["bytes"],
        "lartrig_writer_files_total": w["files"], "lartrig_run_number": d["run_number"],
        'lartrig_state{state="paused"}': 1, "lartrig_operator_pauses_total": 1}
for algo, n in a["triggers"].items():
    want[f'lartrig_triggers_total{{algorithm="{algo}"}}'] = n
for algo, n in a["inhibited_by"].items():
    want[f'lartrig_triggers_inhibited_total{{algorithm="{algo}"}}'] = n
for c in d["cells"]:
    i = c["id"]
    want[f'lartrig_cell_messages_dropped_total{{cell="{i}"}}'] = c["losses"]["messages_dropped"]
    want[f'lartrig_cell_requests_served_total{{cell="{i}"}}'] = c["requests"]["served"]
    want[f'lartrig_cell_requests_not_found_total{{cell="{i}"}}'] = c["losses"]["requests_not_found"]
bad = {k: (float(m.get(k, "nan")), v) for k, v in want.items() if float(m.get(k, "nan")) != v}
assert not bad, bad
assert a["decisions"] >= 2 and w["records"] >= 2, (a["decisions"], w["records"])
print(f"{len(want)} series equal trigd's status")
PY
        ok=1
        break
    fi
    sleep 0.5
done
cat "$tmp/cmp.txt"
((ok)) || fail "metrics differ from trigctl status --json while paused"
"$trigctl" resume >/dev/null || fail "resume"

# HTTP edge cases: 404, 405, HEAD, an oversized request, a client that never sends a byte.
code() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }
[[ $(code "http://127.0.0.1:$port/") == 404 ]] || fail "/ is not 404"
[[ $(code "http://127.0.0.1:$port/metrics/x") == 404 ]] || fail "/metrics/x is not 404"
[[ $(code -X POST "$url") == 405 ]] || fail "POST is not 405"
[[ $(code -I "$url") == 200 ]] || fail "HEAD /metrics"
[[ $(code "$url?x=1") == 200 ]] || fail "a query string is not ignored"
"$py" - "$port" <<'PY' || fail "HTTP limits"
import socket, sys, time
port = int(sys.argv[1])
silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]  # beyond 16 slots
big = socket.create_connection(("127.0.0.1", port))
big.settimeout(10)
t0 = time.time()
big.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n")
answer = big.recv(100)
assert answer.startswith(b"HTTP/1.1 431"), answer
# The silent ones time out (5 s) and free their slots: a scrape then gets through.
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(12)
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
assert data.startswith(b"HTTP/1.1 200"), data[:100]
assert b"\r\n\r\n# HELP" in data
print(f"oversized request refused, scrape past {len(silent)} silent clients after "
      f"{time.time() - t0:.1f} s")
# A request that arrives in pieces (a slow client) is answered once it is complete.
slow = socket.create_connection(("127.0.0.1", port))
slow.settimeout(10)
for piece in (b"GE", b"T /met", b"rics HTTP/1.1\r\nHo", b"st: x\r\n", b"\r\n"):
    slow.sendall(piece)
    time.sleep(0.05)
answer = slow.recv(100)
assert answer.startswith(b"HTTP/1.1 200"), answer
PY

# trigd gone: within --stale 2 s lartrig_up is 0 and its metrics are left out.
"$trigctl" stop >/dev/null || fail "stop"
wait $tpid || fail "trigd exited $?"
sleep 3
scrape "$tmp/gone.prom" >/dev/null || fail "scrape after trigd stopped"
$check "$tmp/gone.prom" || fail "exposition after trigd stopped"
[[ $(value "$tmp/gone.prom" lartrig_up) == 0 ]] || fail "lartrig_up not 0 after trigd stopped"
! grep -q '^lartrig_cell_frames_total' "$tmp/gone.prom" || fail "stale trigd metrics served"

kill -TERM $mpid
set +e
wait $mpid
rc=$?
set -e
[[ $rc == 0 ]] || fail "trigctl metrics exited $rc on SIGTERM"
echo "PASS"
