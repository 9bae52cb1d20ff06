#!/usr/bin/env bash
# SIGTERM while the record writer is stuck on a full disk ends within stop_deadline_ms.
# The output directory is a 64 MiB tmpfs in a private mount namespace, filled so that the
# writer's free-space rule (2 x record + 16 MiB margin) holds it after a few 4 MB records:
# records pile up in its queue, the aggregator inhibits. Then SIGTERM, and the test measures:
#  - trigd exits within stop_deadline_ms (1500, the default) + 1 s (before the deadline it
#    waited up to a minute for the writer);
#  - the open file is closed and renamed: no .writing file, every file verifies with
#    `trigctl inspect` and holds exactly the records counted as written;
#  - every decision is accounted for: written + failed = triggers, failed > 0 (the records
#    the full disk could not take), logged at ERR, exit status 1 (records were lost).
# Then a module and a cell process over ipc with readout.reply_timeout_ms 10000: the cell, which
# serves the module's last requests after SIGTERM (once for reply_timeout_ms + 0.5 s), ends
# within the deadline as well.
# Needs a private mount namespace (root, or an unprivileged user namespace) and tmpfs: exit 77
# (ctest SKIP) saying why when this machine refuses them.
set -uo pipefail
bin=${LARTRIG_BINARY_DIR:?}
trigd=$bin/daemon/trigd
trigctl=$bin/tools/trigctl
skip() { echo "SKIP: $*"; exit 77; }

if [[ -z ${LARTRIG_IN_MOUNT_NS:-} ]]; then
    # Re-run this script in its own mount namespace, so the tmpfs is nobody else's business.
    if unshare -m --propagation private true 2>/dev/null; then
        LARTRIG_IN_MOUNT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
    elif unshare -rm true 2>/dev/null; then
        LARTRIG_IN_MOUNT_NS=1 exec unshare -rm bash "$0" "$@"
    fi
    skip "no private mount namespace (unshare -m / -rm refused)"
fi

tmp=$(mktemp -d /tmp/test_fault_stopdeadline.XXXXXX)
mnt=$tmp/out
mkdir -p "$mnt"
pid= fail=0
cleanup() {
    [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    if ((fail)); then
        cp -a "$mnt" "$tmp/out.kept" 2>/dev/null
        echo "kept $tmp for inspection"
    fi
    mountpoint -q "$mnt" && umount "$mnt"
    ((fail || ${KEEP:-0})) || rm -rf "$tmp"
}
trap cleanup EXIT
die() { echo "FAIL: $*"; fail=1; exit 1; }

mount -t tmpfs -o size=64m tmpfs "$mnt" || skip "cannot mount a tmpfs"
# 30 MiB filler: 34 MiB free, so about three 4 MB records fit above the 2 x 4 MB + 16 MiB rule.
dd if=/dev/zero of="$mnt/filler" bs=1M count=30 status=none || die "cannot fill the tmpfs"

cat >"$tmp/trigd.conf" <<EOF
cells = ( { id = 0; }, { id = 1; }, { id = 2; }, { id = 3; } );
sim = { seed = 11; realtime_factor = 0.02; high_energy_rate_hz = 0.0; };
trigger = { coincidence = { enabled = false; }; single = { enabled = false; };
            periodic = { enabled = true; period_ms = 10.0; }; };
writer = { output_dir = "$mnt"; queue_depth = 4; max_records_per_file = 1000; };
monitor = { control_endpoint = "off"; status_endpoint = "off"; };
EOF
log=$tmp/trigd.log
"$trigd" -c "$tmp/trigd.conf" --status-interval 1 >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "running: role all" "$log" && break; sleep 0.1; done
grep -q "running: role all" "$log" || { cat "$log"; die "trigd did not start"; }

# Stuck: the writer holds a record for space, its queue fills, triggers are inhibited.
for _ in $(seq 300); do
    grep -q "DISK SPACE SHORT" "$log" && grep -Eq " [1-9][0-9]* inhibited" "$log" && break
    kill -0 "$pid" 2>/dev/null || { tail -20 "$log"; die "trigd died"; }
    sleep 0.1
done
grep -q "DISK SPACE SHORT" "$log" || { tail -20 "$log"; die "the writer never waited for space"; }
grep -Eq " [1-9][0-9]* inhibited" "$log" || { tail -20 "$log"; die "no trigger inhibited"; }
ls "$mnt" | grep -q '\.writing$' || die "no file open while the writer is stuck"
echo "ok   writer stuck on the full disk: $(grep -c 'DISK SPACE SHORT' "$log") space warnings, file open"

t0=$(date +%s%N)
kill -TERM "$pid"
wait "$pid"
rc=$?
t1=$(date +%s%N)
pid=
ms=$(((t1 - t0) / 1000000))
echo "     SIGTERM -> exit $rc in $ms ms"
((ms <= 2500)) || { tail -20 "$log"; die "stop took $ms ms, more than stop_deadline_ms 1500 + 1000"; }
((rc == 1)) || { tail -20 "$log"; die "exit status $rc: records were lost, so 1 is expected"; }

line=$(grep "module: " "$log" | tail -1)
read -r trig built written failed < <(sed -n 's/.* \([0-9]*\) triggers (.*records \([0-9]*\) built \([0-9]*\) written \([0-9]*\) failed.*/\1 \2 \3 \4/p' <<<"$line")
echo "     final: $trig triggers, records $built built $written written $failed failed"
[[ -n $trig ]] || die "no final module status line"
((failed > 0)) || die "no record counted as failed: $line"
((written + failed == trig)) || die "decisions not accounted for (written + failed != triggers): $line"
grep -Eq "error: .*(NOT written|could not be written|never written)" "$log" ||
    die "the lost records are not logged at ERR"

! ls "$mnt" | grep -q '\.writing$' || die ".writing file left after SIGTERM"
n=0 recs=0
for f in "$mnt"/*.hdf5; do
    [[ -e $f ]] || continue
    n=$((n + 1))
    timeout 60 "$trigctl" inspect "$f" >"$tmp/inspect.txt" 2>&1 || { tail "$tmp/inspect.txt"; die "$f does not verify"; }
    r=$(sed -n 's/.* \([0-9][0-9]*\) records.*/\1/p' "$tmp/inspect.txt" | head -1)
    recs=$((recs + ${r:-0}))
done
((n >= 1)) || die "no closed file"
((recs == written)) || { cat "$tmp/inspect.txt"; die "files hold $recs records, $written counted written"; }
echo "ok   SIGTERM in $ms ms: $n file(s) renamed and verified ($recs records), $failed records counted as lost"

# A cell process serves the module's last requests after SIGTERM, for readout.reply_timeout_ms
# + 0.5 s before the deadline existed: with a 10 s reply timeout it must still end within the
# deadline. A module and a cell process over ipc; the cell is stopped first, as in a deployment.
sed -e "s|output_dir = \"$mnt\"|output_dir = \"$tmp\"|" \
    -e 's|^monitor = .*|readout = { reply_timeout_ms = 10000; };\nendpoints = { candidates = "ipc://'"$tmp"'/cand"; requests = "ipc://'"$tmp"'/req"; };\nmonitor = { control_endpoint = "off"; status_endpoint = "off"; };|' \
    "$tmp/trigd.conf" >"$tmp/split.conf"
"$trigd" -c "$tmp/split.conf" --role module --status-interval 0 >"$tmp/module.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "running: role module" "$tmp/module.log" && break; sleep 0.1; done
"$trigd" -c "$tmp/split.conf" --role cell --status-interval 0 >"$tmp/cell.log" 2>&1 &
cpid=$!
for _ in $(seq 200); do grep -q "trigger 2 " "$tmp/module.log" && break; sleep 0.1; done
grep -q "trigger 2 " "$tmp/module.log" || { cat "$tmp/module.log" "$tmp/cell.log"; kill -KILL "$cpid"; die "split pair does not decide"; }
t0=$(date +%s%N)
kill -TERM "$cpid"
wait "$cpid"
crc=$?
t1=$(date +%s%N)
cms=$(((t1 - t0) / 1000000))
kill -TERM "$pid"
wait "$pid"
mrc=$?
pid=
echo "     cell process: SIGTERM -> exit $crc in $cms ms (reply_timeout_ms 10000); module exit $mrc"
grep -q "serving data requests" "$tmp/cell.log" || { cat "$tmp/cell.log"; die "the cell did not serve the last requests"; }
((crc == 0)) || { cat "$tmp/cell.log"; die "cell exit status $crc"; }
((cms <= 2500)) || die "cell stop took $cms ms, more than stop_deadline_ms 1500 + 1000"
echo "ok   a cell process ends within the deadline too ($cms ms)"
exit 0
