#!/usr/bin/env bash
# Load and soak (not CI): an all-in-one trigd on simulated cells, first at ~80% of the measured
# capacity, then at twice it, each phase for DURATION seconds of wall time.
#
#   bench/soak.sh [DURATION_S]        default 600 (10 minutes per phase)
#   env: BUILD=build dir (default ./build), SOAK_DIR=work dir (default a mktemp dir in /tmp),
#        SOAK_CELLS=4, SOAK_TRIGGER_HZ=5 (random triggers per second of data), SOAK_KEEP=0
#        (1 keeps the record files; by default closed files are counted and removed as the
#        run goes, so a long soak does not fill the disk)
#
# Capacity = seconds of data per second of wall time when trigd runs unpaced
# (sim.realtime_factor = 0) on this machine now; the phases pace the sources at 0.8x and 2x
# that factor. Every 5 s the script samples VmRSS/VmHWM from /proc/PID/status and the status
# document (`trigctl status --json` over the control socket) into SOAK_DIR/<phase>.csv.
# Checks per phase (exit 1 when one fails):
#  - trigd is alive for the whole phase and exits 0 on SIGTERM (every accepted record written);
#  - RSS is bounded: after the first minute (or the first fifth of a short phase) it never
#    grows by more than 5% + 16 MiB over its value then;
#  - every drop is counted: triggers = records built = records written, none failed; the
#    candidates the cells found = the candidates the aggregator took + late ones (when no
#    message was dropped; otherwise the shortfall must not exceed the candidates in the
#    dropped messages); no message lost or bad on inproc.
set -uo pipefail
DURATION=${1:-600}
src=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$src/build}
trigd=$BUILD/daemon/trigd
trigctl=$BUILD/tools/trigctl
[[ -x $trigd && -x $trigctl ]] || { echo "build trigd and trigctl first ($BUILD)"; exit 2; }
CELLS=${SOAK_CELLS:-4}
TRIG_HZ=${SOAK_TRIGGER_HZ:-5}
KEEP=${SOAK_KEEP:-0}
dir=${SOAK_DIR:-$(mktemp -d /tmp/lartrig_soak.XXXXXX)}
mkdir -p "$dir"
pid=
trap '[[ -n $pid ]] && kill -TERM $pid 2>/dev/null && wait $pid' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

conf() { # rtf, outdir
    local cells="" i
    for ((i = 0; i < CELLS; i++)); do cells+="{ id = $i; }, "; done
    cat <<EOF
cells = ( ${cells%, } );
sim = { seed = 17; realtime_factor = $1; high_energy_rate_hz = 2.0; };
trigger = { random = { enabled = true; rate_hz = $TRIG_HZ.0; }; cell_timeout_ms = 5000; };
writer = { output_dir = "$2"; max_records_per_file = 20; };
monitor = { control_endpoint = "ipc://$dir/control"; status_endpoint = "ipc://$dir/monitor"; };
EOF
}
ms_of() { # HH:MM:SS.mmm at the start of the first log line matching $2 -> milliseconds
    grep -m1 -- "$2" "$1" | awk '{split($1,t,":"); printf "%d\n", ((t[1]*60+t[2])*60+t[3])*1000}'
}

# --- capacity ---
mkdir -p "$dir/cal"
conf 0.0 "$dir/cal" >"$dir/cal.conf"
CAL_S=3
"$trigd" -c "$dir/cal.conf" --duration $CAL_S --status-interval 0 >"$dir/cal.log" 2>&1 ||
    { tail "$dir/cal.log"; echo "calibration run failed"; exit 1; }
t0=$(ms_of "$dir/cal.log" "running: role")
t1=$(ms_of "$dir/cal.log" "all sources of this process have finished")
capacity=$(awk -v d=$CAL_S -v ms=$((t1 - t0)) 'BEGIN{printf "%.4f", d / (ms / 1000.0)}')
rm -rf "$dir/cal"
echo "capacity: $CAL_S s of data ($CELLS cells) in $((t1 - t0)) ms unpaced -> realtime factor $capacity"

status_json() { "$trigctl" status --endpoint "ipc://$dir/control" --json --timeout 3000 2>/dev/null; }
summarise() { # json on stdin -> csv fields
    python3 -c '
import json, sys
d = json.load(sys.stdin); a = d["aggregator"]; w = d["writer"]; c = d["cells"]
print(",".join(str(x) for x in [
    sum(x["frames"] for x in c), round(sum(x["frames_per_s"] for x in c)),
    round(max(x["pacing_lag_ms"] for x in c), 1), round(max(x["lag_ms"] for x in c), 2),
    sum(x["candidates"] for x in c), sum(x["drops"]["send"] for x in c),
    sum(x["drops"]["candidates_overflow"] for x in c), sum(x["drops"]["accel"] for x in c),
    a["decisions"], a["inhibited"], a["candidates"], a["late_candidates"], a["bad_messages"],
    a["lost_messages"], a["records"]["built"], a["records"]["written"], a["records"]["failed"],
    w["queue"], round(w["mb_per_s"], 1)]))'
}
HDR="t_s,rss_kb,hwm_kb,frames,frames_per_s,pacing_lag_ms,lag_ms,cands,msgs_dropped,cands_dropped,accel_dropped,decisions,inhibited,agg_cands,late,bad,lost,built,written,failed,writer_queue,writer_mb_s"

phase() { # name, factor of capacity
    local name=$1 rtf out log csv
    rtf=$(awk -v c="$capacity" -v f="$2" 'BEGIN{printf "%.4f", c * f}')
    out=$dir/$name
    log=$dir/$name.log
    csv=$dir/$name.csv
    mkdir -p "$out"
    conf "$rtf" "$out" >"$dir/$name.conf"
    echo "$name: realtime factor $rtf ($2 x capacity) for $DURATION s"
    "$trigd" -c "$dir/$name.conf" --status-interval 60 >"$log" 2>&1 &
    pid=$!
    echo "$HDR" >"$csv"
    local start=$SECONDS files=0 alive=1
    while ((SECONDS - start < DURATION)); do
        sleep 5
        if ! kill -0 "$pid" 2>/dev/null; then alive=0; break; fi
        local rss hwm s
        rss=$(awk '/^VmRSS/{print $2}' /proc/$pid/status)
        hwm=$(awk '/^VmHWM/{print $2}' /proc/$pid/status)
        s=$(status_json | summarise 2>/dev/null) || s=""
        echo "$((SECONDS - start)),$rss,$hwm,$s" >>"$csv"
        if ((!KEEP)); then # closed files: count, then remove (the open one is .writing)
            for f in "$out"/*.hdf5; do [[ -e $f ]] && files=$((files + 1)) && rm -f "$f"; done
        fi
    done
    if ((!alive)); then
        wait "$pid"
        bad "$name: trigd died (exit $?)"
        tail -20 "$log"
        pid=
        return
    fi
    kill -TERM "$pid"
    wait "$pid"
    local rc=$?
    pid=
    ((rc == 0)) || bad "$name: trigd exited $rc after SIGTERM"
    ((!KEEP)) && for f in "$out"/*.hdf5; do [[ -e $f ]] && files=$((files + 1)) && rm -f "$f"; done
    python3 - "$name" "$csv" "$log" "$files" "$DURATION" <<'EOF' || fail=1
import csv, re, sys
name, csvf, logf, files, dur = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
rows = [r for r in csv.DictReader(open(csvf)) if r.get("rss_kb")]
ok = True
def bad(msg):
    global ok
    ok = False
    print(f"FAIL: {name}: {msg}")
# RSS bounded after the warm-up.
warm = min(60, dur // 5)
after = [r for r in rows if int(r["t_s"]) >= warm]
if after:
    base = int(after[0]["rss_kb"]); peak = max(int(r["rss_kb"]) for r in after)
    limit = base * 1.05 + 16 * 1024
    print(f"{name}: RSS {base / 1024:.0f} MiB after {warm} s, peak {peak / 1024:.0f} MiB, "
          f"high-water {max(int(r['hwm_kb']) for r in rows) / 1024:.0f} MiB ({len(rows)} samples)")
    if peak > limit: bad(f"RSS grew from {base} kB to {peak} kB")
full = [r for r in rows if r.get("frames")]
if full:
    last = full[-1]
    print(f"{name}: {int(last['frames_per_s'])} frames/s, pacing lag max "
          f"{max(float(r['pacing_lag_ms']) for r in full):.0f} ms (last {last['pacing_lag_ms']} ms), "
          f"writer {max(float(r['writer_mb_s']) for r in full):.1f} MB/s peak, "
          f"queue peak {max(int(r['writer_queue']) for r in full)}")
# Final counters from the exit status lines.
log = open(logf).read()
m = re.findall(r"module: (\d+) msgs \((\d+) bad, (\d+) out of order, (\d+) lost\), (\d+) candidates "
               r"\((\d+) late\).*?, (\d+) triggers .*?, (\d+) inhibited,.*records (\d+) built (\d+) "
               r"written (\d+) failed", log)
cells = re.findall(r"cell (\d+): \d+ frames.*?, (\d+) candidates, (\d+) msgs \((\d+) dropped\)", log)
if not m: bad("no final module status line"); sys.exit(1)
msgs, nbad, ooo, lost, cands, late, trig, inh, built, written, failed = map(int, m[-1])
last_cells = {}
for cid, c, sent, dropped in cells: last_cells[cid] = (int(c), int(dropped))
cell_cands = sum(c for c, _ in last_cells.values()); msg_drops = sum(d for _, d in last_cells.values())
print(f"{name}: {trig} triggers, {inh} inhibited, records {built} built {written} written {failed} "
      f"failed, {files} files; candidates {cell_cands} found, {cands} taken, {late} late; "
      f"messages {msgs} ({nbad} bad, {ooo} out of order, {lost} lost, {msg_drops} dropped at send)")
if not (trig == built == written) or failed: bad("decisions and written records differ")
if nbad or ooo or lost: bad("messages bad / out of order / lost on inproc")
if msg_drops == 0 and cell_cands != cands + late:
    bad(f"candidates unaccounted: {cell_cands} found vs {cands} + {late} late")
if msg_drops and cell_cands < cands + late: bad("more candidates taken than found")
sys.exit(0 if ok else 1)
EOF
}

phase load80 0.8
phase over200 2.0
echo "samples and logs in $dir"
((fail == 0)) && echo "soak: PASS" || echo "soak: FAIL"
exit $fail
