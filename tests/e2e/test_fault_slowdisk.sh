#!/usr/bin/env bash
# A slow disk under the record writer. The output directory is an ext4 filesystem on a loop
# device; trigd (all-in-one, io_uring writer, O_DIRECT payloads) runs in its own blkio cgroup
# whose blkio.throttle.write_bps_device caps writes to that device at 512 KiB/s, far below the
# ~8 MB/s its periodic triggers produce. While throttled:
#  - the writer queue fills and the aggregator inhibits triggers, counted (status JSON over the
#    control socket: aggregator.inhibited grows, writer.inhibit is on);
#  - nothing crashes, the data path keeps running (frames keep increasing).
# Then the throttle is lifted: every accepted record is written (records built = written =
# triggers, none failed), every file verifies with `trigctl inspect`, exit 0 after SIGTERM.
# tests/writer/test_recwriter_full.c covers a full filesystem; this is a slow one, end to end.
# Needs root, loop devices and the cgroup v1 blkio controller (or v2 io.max): exit 77 (ctest
# SKIP) saying why when this machine has none of them.
set -uo pipefail
bin=${LARTRIG_BINARY_DIR:?}
trigd=$bin/daemon/trigd
trigctl=$bin/tools/trigctl
skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root (loop device, mount, blkio cgroup)"
command -v losetup >/dev/null && command -v mkfs.ext4 >/dev/null || skip "no losetup / mkfs.ext4"

tmp=$(mktemp -d /tmp/test_fault_slowdisk.XXXXXX)
mnt=$tmp/mnt
mkdir -p "$mnt"
loop= cg= pid= fail=0 v2=0
cleanup() {
    [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    mountpoint -q "$mnt" && umount "$mnt"
    [[ -n $loop ]] && losetup -d "$loop"
    [[ -n $cg && -d $cg ]] && rmdir "$cg" 2>/dev/null
    if ((fail)); then echo "kept $tmp for inspection"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
die() { echo "FAIL: $*"; fail=1; exit 1; }

truncate -s 256M "$tmp/disk.img"
loop=$(losetup -f --show "$tmp/disk.img" 2>/dev/null) || { loop=; skip "cannot attach a loop device"; }
mkfs.ext4 -q -F "$loop" >/dev/null 2>&1 || die "mkfs.ext4 $loop"
mount "$loop" "$mnt" || skip "cannot mount $loop"
devno=$(printf '%d:%d' "0x$(stat -c %t "$loop")" "0x$(stat -c %T "$loop")")

if [[ -w /sys/fs/cgroup/blkio ]]; then
    cg=/sys/fs/cgroup/blkio/lartrig_slowdisk_$$
    mkdir "$cg" 2>/dev/null || { cg=; skip "cannot create a blkio cgroup"; }
    throttle() { echo "$devno $1" >"$cg/blkio.throttle.write_bps_device"; }
elif grep -qw io /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    v2=1
    cg=/sys/fs/cgroup/lartrig_slowdisk_$$
    mkdir "$cg" 2>/dev/null || { cg=; skip "cannot create a cgroup"; }
    throttle() { if [[ $1 == 0 ]]; then echo "$devno wbps=max" >"$cg/io.max"; else echo "$devno wbps=$1" >"$cg/io.max"; fi; }
else
    skip "no blkio (v1) or io (v2) cgroup controller"
fi
throttle 524288 || skip "cannot set a write throttle on $devno"

ctl=ipc://$tmp/control
cat >"$tmp/trigd.conf" <<EOF
cells = ( { id = 0; }, { id = 1; }, { id = 2; }, { id = 3; } );
sim = { seed = 11; realtime_factor = 0.02; high_energy_rate_hz = 0.0; };
trigger = { coincidence = { enabled = false; }; single = { enabled = false; };
            periodic = { enabled = true; period_ms = 10.0; }; };
buffers = { decision_queue = 8; };
writer = { output_dir = "$mnt"; backend = "uring"; queue_depth = 2; max_records_per_file = 10; };
monitor = { control_endpoint = "$ctl"; status_endpoint = "ipc://$tmp/monitor"; };
EOF
log=$tmp/trigd.log
# Join the cgroup first, then become trigd: every thread (and io_uring worker) is inside.
bash -c "echo \$\$ > $cg/cgroup.procs && exec $trigd -c $tmp/trigd.conf --status-interval 2" >"$log" 2>&1 &
pid=$!

status() { "$trigctl" status --endpoint "$ctl" --json --timeout 3000 2>/dev/null; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
for _ in $(seq 100); do grep -q "running: role all" "$log" && break; sleep 0.1; done
grep -q "running: role all" "$log" || { cat "$log"; die "trigd did not start"; }

# Throttled: wait until inhibits are counted (at most 40 s), sampling status.
inh=0
for _ in $(seq 40); do
    sleep 1
    kill -0 "$pid" 2>/dev/null || { tail -30 "$log"; die "trigd died while the disk was slow"; }
    s=$(status) || continue
    inh=$(field 'd["aggregator"]["inhibited"]' <<<"$s")
    ((inh > 0)) && break
done
s=$(status) || die "no status answer while throttled"
frames1=$(field 'sum(c["frames"] for c in d["cells"])' <<<"$s")
wq=$(field 'd["writer"]["queue"]' <<<"$s")
wi=$(field 'd["writer"]["inhibit"]' <<<"$s")
inh=$(field 'd["aggregator"]["inhibited"]' <<<"$s")
written_slow=$(field 'd["aggregator"]["records"]["written"]' <<<"$s")
((inh > 0)) || die "no trigger inhibited in 40 s of a 512 KiB/s disk"
echo "ok   throttled: $inh triggers inhibited, writer queue $wq, inhibit $wi, $written_slow records written"
sleep 2
s=$(status) || die "no status answer while throttled"
frames2=$(field 'sum(c["frames"] for c in d["cells"])' <<<"$s")
((frames2 > frames1)) || die "data path stalled with the disk ($frames1 -> $frames2 frames)"
echo "ok   data path keeps running while the disk is slow ($frames1 -> $frames2 frames)"

# The disk recovers.
throttle 0 || die "cannot lift the throttle"
sleep 4
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
((rc == 0)) || { tail -30 "$log"; die "trigd exited $rc"; }
line=$(grep "module: " "$log" | tail -1)
read -r trig inhibited built written failed < <(sed -n 's/.* \([0-9]*\) triggers (.*, \([0-9]*\) inhibited,.*records \([0-9]*\) built \([0-9]*\) written \([0-9]*\) failed.*/\1 \2 \3 \4 \5/p' <<<"$line")
echo "     final: $trig triggers, $inhibited inhibited, records $built built $written written $failed failed"
[[ -n $trig && $trig -gt 0 && $trig == "$built" && $built == "$written" && $failed == 0 ]] ||
    die "not every accepted record was written: $line"
((inhibited >= inh)) || die "inhibit counter went back"
n=0
for f in "$mnt"/*.hdf5; do
    n=$((n + 1))
    timeout 120 "$trigctl" inspect "$f" >"$tmp/inspect.txt" 2>&1 || { tail "$tmp/inspect.txt"; die "$f does not verify"; }
done
! ls "$mnt" | grep -q '\.writing$' || die ".writing file left after a clean stop"
echo "ok   disk recovered: all $written accepted records written in $n files that verify; exit 0"
exit 0
