#!/usr/bin/env bash
# SIGKILL an all-in-one trigd while it writes records (io_uring writer, small files so that
# several are open/closed per second), three times at different moments, restarting it each
# time on the same output directory and run number. Then:
#  - every file with a final name (*.hdf5) opens and verifies with `trigctl inspect` (exit 0);
#  - files cut short keep their `.writing` name, and the restarted daemon says so;
#  - each restart continues with the next file index (no index reused, none overwritten);
#  - the last run, stopped with SIGTERM, exits 0 and writes every record it accepted.
# tests/writer/test_recwriter_crash.c does the same for the writer alone; this is the daemon.
set -uo pipefail
bin=${LARTRIG_BINARY_DIR:?}
trigd=$bin/daemon/trigd
trigctl=$bin/tools/trigctl
tmp=$(mktemp -d /tmp/test_fault_kill.XXXXXX)
out=$tmp/out
mkdir -p "$out"
fail=0
pid=
cleanup() {
    [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
    if [[ $fail -eq 0 ]]; then rm -rf "$tmp"; else echo "kept $tmp for inspection"; fi
}
trap cleanup EXIT
die() { echo "FAIL: $*"; fail=1; exit 1; }

cat >"$tmp/trigd.conf" <<EOF
run_number = 77;
cells = ( { id = 0; }, { id = 1; }, { id = 2; }, { id = 3; } );
sim = { seed = 9; realtime_factor = 0.0; high_energy_rate_hz = 0.0; };
trigger = { coincidence = { enabled = false; }; single = { enabled = false; };
            periodic = { enabled = true; period_ms = 3.0; }; };
writer = { output_dir = "$out"; backend = "uring"; max_records_per_file = 3; queue_depth = 4; };
monitor = { control_endpoint = "off"; status_endpoint = "off"; };
EOF

# The file index in <env>_raw_run<NNNNNN>_<NNNN>_<writer>_<stamp>.hdf5[.writing]
indices() { ls "$out" | sed -n 's/^lartrig_raw_run000077_\([0-9]\{4\}\)_.*/\1/p' | sort -n; }
max_index() { indices | tail -1 | sed 's/^0*//;s/^$/0/'; }
n_final() { ls "$out" | grep -c '\.hdf5$'; }

prev_max=-1
for round in 1 2 3; do
    log=$tmp/trigd.$round.log
    have=$(n_final)
    "$trigd" -c "$tmp/trigd.conf" --status-interval 0 >"$log" 2>&1 &
    pid=$!
    # Wait until this run has closed at least two files of its own, then kill it at a moment
    # that differs per round (mid-record most of the time: records are ~4 MB each).
    for _ in $(seq 600); do
        (($(n_final) >= have + 2)) && break
        kill -0 "$pid" 2>/dev/null || { cat "$log"; die "round $round: trigd exited early"; }
        sleep 0.1
    done
    (($(n_final) >= have + 2)) || { tail "$log"; die "round $round: no files written"; }
    sleep "0.0$((round * 3))"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    pid=
    if ((round > 1)); then
        grep -q "continues at file index" "$log" || { tail "$log"; die "round $round: no file index message"; }
        first=$(sed -n 's/.*continues at file index \([0-9]*\).*/\1/p' "$log" | head -1)
        ((first > prev_max)) || die "round $round: restarted at file index $first, but $prev_max existed"
        echo "ok   round $round: restart continued at file index $first (previous highest $prev_max)"
    fi
    prev_max=$(max_index)
    # No index appears twice (a .writing leftover and a final file never share one either).
    dup=$(indices | uniq -d)
    [[ -z $dup ]] || die "round $round: file index reused: $dup"
done
grep -q "leftover" "$tmp"/trigd.*.log && echo "ok   leftover .writing files reported on restart"

# Last run: stopped in order, every record accepted is written.
log=$tmp/trigd.final.log
"$trigd" -c "$tmp/trigd.conf" --status-interval 0 >"$log" 2>&1 &
pid=$!
for _ in $(seq 300); do grep -q "trigger 5 " "$log" && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
((rc == 0)) || { tail "$log"; die "final run exited $rc"; }
line=$(grep "module: " "$log" | tail -1)
built=$(sed -n 's/.*records \([0-9]*\) built \([0-9]*\) written \([0-9]*\) failed.*/\1/p' <<<"$line")
written=$(sed -n 's/.*records \([0-9]*\) built \([0-9]*\) written \([0-9]*\) failed.*/\2/p' <<<"$line")
failed=$(sed -n 's/.*records \([0-9]*\) built \([0-9]*\) written \([0-9]*\) failed.*/\3/p' <<<"$line")
[[ -n $built && $built -gt 0 && $built == "$written" && $failed == 0 ]] ||
    die "final run: records built $built written $written failed $failed"
echo "ok   final run: $written records built and written, exit 0"

# Every final-named file verifies; leftovers keep their .writing name.
nf=0
for f in "$out"/*.hdf5; do
    nf=$((nf + 1))
    timeout 120 "$trigctl" inspect "$f" >"$tmp/inspect.txt" 2>&1 ||
        { tail -20 "$tmp/inspect.txt"; die "$(basename "$f") does not verify"; }
done
nw=$(ls "$out" | grep -c '\.writing$')
echo "ok   $nf final files verify with trigctl inspect; $nw .writing leftovers"
((nf >= 7)) || die "only $nf final files"
exit 0
