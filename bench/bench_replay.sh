#!/bin/bash
# Replay benchmark: `trigctl replay` of a run file too big for the page cache (by default 5 s of
# one full-size cell, 2560 channels: ~44 GB), beside `dd iflag=direct` of the same file (what the
# storage gives) and the kernel's compute bound (bench_kernel), plus the peak RSS of a replay of a
# file ten times smaller (memory must not grow with the file). Each file is dropped from the page
# cache before it is read (posix_fadvise DONTNEED through dd iflag=nocache), and is bigger than
# the machine's memory anyway at the default size. Not CI; figures go to docs/performance.md.
#   usage: bench/bench_replay.sh [SECONDS] [OUT_DIR] [BUILD_DIR]
# OUT_DIR (default BUILD_DIR/bench_replay_out) must be on the storage to measure; the run files
# written there are deleted afterwards (KEEP=1 keeps them). CHANNELS (2560) and CELLS (1) from
# the environment.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-5}
build=${3:-${LARTRIG_BINARY_DIR:-$src/build}}
out=${2:-$build/bench_replay_out}
channels=${CHANNELS:-2560}
cells=${CELLS:-1}
trigctl=$build/tools/trigctl
kernel=$build/bench/bench_kernel
[ -x "$trigctl" ] && [ -x "$kernel" ] || { echo "bench_replay.sh: build $build first" >&2; exit 1; }
mkdir -p "$out"
big=$out/bench_run_big.hdf5
small=$out/bench_run_small.hdf5
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -f "$big" "$small"; rm -rf "$out/rec"; rmdir "$out" 2>/dev/null || true; }
trap cleanup EXIT

# Frames of the run: streams = channels / 64, 7200 bytes each, 30517.58 periods per second.
bytes=$(python3 -c "print(int($secs * 62.5e6 / 2048 * $channels / 64 * 7200 * $cells))")
avail=$(df -B1 --output=avail "$out" | tail -1)
mem=$(awk '/MemTotal/ {printf "%.0f", $2 * 1024}' /proc/meminfo)
echo "== $secs s of $cells cell(s) x $channels channels: $((bytes / 1000000)) MB; memory $((mem / 1000000)) MB; free on $out: $((avail / 1000000)) MB"
[ $((bytes + bytes / 10 + (4 << 30))) -lt "$avail" ] || { echo "bench_replay.sh: not enough room in $out" >&2; exit 1; }
[ "$bytes" -gt "$mem" ] || echo "note: the file fits in memory; it is dropped from the page cache before each read"

sim() { "$trigctl" sim -o "$1" --cells "$cells" --channels "$channels" --seconds "$2" --seed 5 >/dev/null; }
uncache() { dd if="$1" iflag=nocache count=0 status=none; }
t0=$(date +%s)
sim "$big" "$secs"
sim "$small" "$(python3 -c "print($secs / 10)")"
echo "== files written in $(($(date +%s) - t0)) s: $(stat -c %s "$big") and $(stat -c %s "$small") bytes"

uncache "$big"
dd_out=$(dd if="$big" of=/dev/null bs=16M iflag=direct 2>&1 | tail -1)
echo "== dd iflag=direct bs=16M: $dd_out"
dd_bps=$(python3 -c "
import re, sys
m = re.search(r'copied, ([0-9.]+) s', sys.argv[1]); print(int($(stat -c %s "$big") / float(m.group(1))))" "$dd_out")

replay() { # FILE JSON
    uncache "$1"
    rm -rf "$out/rec"
    /usr/bin/time -f "%e %M" -o "$2.time" "$trigctl" replay "$1" -o "$out/rec" --json >"$2" 2>"$2.err" ||
        { cat "$2.err" >&2; exit 1; }
}
replay "$big" "$out/big.json"
replay "$small" "$out/small.json"
"$kernel" "$src/kernels/weights/default.ltw" 1 >"$out/kernel.txt" 2>&1

python3 - "$out/big.json" "$out/small.json" "$out/kernel.txt" "$dd_bps" "$channels" "$cells" <<'PY'
import json, sys
big, small = (json.load(open(p)) for p in sys.argv[1:3])
kern = open(sys.argv[3]).read().splitlines()
dd_bps, channels, cells = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
# Best real-time factor of one full cell on one core over the ISAs this CPU has.
xrt = max(float(l.split()[2]) for l in kern if l.split() and l.split()[0] in ("scalar", "avx2", "avx512"))
cell_bps = 62.5e6 / 2048 * channels / 64 * 7200  # one cell's frame bytes per second of data
kernel_bps = xrt * cell_bps * (2560 / channels) / cells  # one core for all cells
r = big["read"]
run_s = big["stages"]["run_s"]
data_bps = big["raw_bytes"] / run_s
print(f"== replay of {big['raw_bytes']/1e9:.1f} GB ({big['data_seconds']:.2f} s of data, "
      f"{cells} x {channels} channels), {r['io']}{' O_DIRECT' if r['o_direct'] else ''}")
print(f"  pipeline (run stage)  {run_s:8.2f} s  {data_bps/1e6:8.0f} MB/s of frames  "
      f"{big['data_seconds']/run_s:.3f} x real time")
print(f"  read bandwidth        {r['bandwidth_mb_s']:8.0f} MB/s ({r['bytes']/1e9:.1f} GB read, "
      f"waited {r['wait_s']:.1f} s)")
print(f"  dd iflag=direct       {dd_bps/1e6:8.0f} MB/s  -> replay = {100*data_bps/dd_bps:.0f} % of dd")
print(f"  kernel compute bound  {kernel_bps/1e6:8.0f} MB/s ({xrt:.2f} x real time per full cell, one core)")
print(f"  whole command         {big['wall_s']:.1f} s pipeline + {big['stages']['scan_s']:.1f} s scan "
      f"+ {big['stages']['open_s']:.1f} s open; stages {big['stages']}")
print(f"  peak RSS              {big['memory']['peak_rss_bytes']/1e6:.0f} MB for {big['raw_bytes']/1e9:.1f} GB, "
      f"{small['memory']['peak_rss_bytes']/1e6:.0f} MB for {small['raw_bytes']/1e9:.1f} GB "
      f"(bound {big['memory']['bound_bytes']/1e6:.0f} MB: rings {big['memory']['ring_bytes']/1e6:.0f}, "
      f"read-ahead {big['memory']['read_ahead_bytes']/1e6:.0f})")
print(f"  triggers {big['trigger_count']}, records {big['records']}, pipeline {big['pipeline']}")
print("RESULT " + json.dumps({
    "bytes": big["raw_bytes"], "data_seconds": big["data_seconds"], "run_s": run_s,
    "replay_MBps": data_bps / 1e6, "read_MBps": r["bandwidth_mb_s"], "dd_MBps": dd_bps / 1e6,
    "replay_over_dd": data_bps / dd_bps, "kernel_MBps": kernel_bps / 1e6, "xrt": xrt,
    "rss_big_MB": big["memory"]["peak_rss_bytes"] / 1e6,
    "rss_small_MB": small["memory"]["peak_rss_bytes"] / 1e6, "io": r["io"], "o_direct": r["o_direct"]}))
PY
