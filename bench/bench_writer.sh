#!/bin/bash
# Record-writer benchmark: runs bench_writer for full-size 4-cell records and for full 150-cell
# records (or as many cells as this disk holds), then writes medians and ratios into the
# "Record writer" section of docs/performance.md.
#   usage: bench/bench_writer.sh [BUILD_DIR] [OUT_DIR]
# OUT_DIR must be on the filesystem to measure; every file written there is deleted afterwards.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${LARTRIG_BINARY_DIR:-$src/build}}
out=${2:-$build/bench_writer_out}
bin=$build/bench/bench_writer
[ -x "$bin" ] || { echo "bench_writer.sh: $bin not built" >&2; exit 1; }
mkdir -p "$out"
trap 'find "$out" -maxdepth 1 -type f \( -name "*.hdf5*" -o -name dd.bin \) -delete; rmdir "$out" 2>/dev/null || true' EXIT

echo "== df -h $out"; df -h "$out"
avail=$(df -B1 --output=avail "$out" | tail -1)
rec4=$((160 * (72 + 70 * 7200)))            # one 4-cell record
cells_big=150
# One run of the big config writes 2 records; keep 3x that (plus 4 GB) free for safety.
while [ "$cells_big" -gt 4 ] && [ $((3 * 2 * cells_big * 40 * (72 + 70 * 7200) + (4 << 30))) -gt "$avail" ]; do
    cells_big=$((cells_big / 2))
done
echo "== big config: $cells_big cells (~$((cells_big * 40 * (72 + 70 * 7200) / 1000000)) MB per record)"

log=$(mktemp)
"$bin" --dir "$out" --cells 4 --records 12 --repeat 5 2>/dev/null | tee -a "$log"
"$bin" --dir "$out" --cells "$cells_big" --records 2 --repeat 1 2>/dev/null | tee -a "$log"

host="$(uname -n), $(nproc) cores, $(uname -r), $(df --output=source,fstype "$out" | tail -1 | tr -s ' ')"
python3 - "$log" "$src/docs/performance.md" "$host" "$(date -u +%Y-%m-%d)" <<'PY'
import re, statistics, sys, time
log, doc, host, day = sys.argv[1:]
res = {}
for line in open(log):
    if line.startswith("RESULT"):
        kv = dict(x.split("=", 1) for x in line.split()[1:])
        res.setdefault((int(kv["cells"]), kv["mode"]), []).append(float(kv["GBps"]))
info = [l.split()[1:] for l in open(log) if l.startswith("INFO")]
rows, summary = [], []
for cells in sorted({c for c, _ in res}):
    med = {m: statistics.median(v) for (c, m), v in res.items() if c == cells}
    n = max(len(v) for (c, _), v in res.items() if c == cells)
    u, h, d, p = (med.get(k, float("nan")) for k in
                  ("recwriter_io_uring", "hdf5_h5dwrite", "dd_oflag_direct", "recwriter_pwritev"))
    rows.append(f"| {cells} | {n} | {u:.2f} | {p:.2f} | {h:.2f} | {d:.2f} | {u/d*100:.0f}% | {u/h:.1f}x |")
    summary.append(f"{cells} cells: io_uring {u:.2f} GB/s = {u/d*100:.0f}% of dd, {u/h:.1f}x H5Dwrite")
text = open(doc).read()
m = re.search(r"^## Record writer\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
# Earlier runs stay listed: on a shared machine one run is not the whole story.
history = re.findall(r"^- \d{4}-\d\d-\d\d .*$", m.group(0), flags=re.M) if m else []
history.append(f"- {day} {time.strftime('%H:%M', time.gmtime())} UTC {' ; '.join(summary)}")
body = f"""## Record writer

Measured by `bench/bench_writer.sh` ({day}; {host}). Full-size trigger records: cells x 40
streams x 70 WIBEth frames (2.25 ms, 504,072-byte fragments); 4 cells = 80.7 MB per record. Each
mode writes the same records into the same directory (12 records per 4-cell run, 2 per big
run), fsync included, files deleted between runs; GB/s = dataset bytes / wall time from first
enqueue to the last file renamed. Medians over the runs; the machine is shared (2 cores, other
jobs running), so single figures move by +-30%.

| cells | runs | record writer io_uring GB/s | record writer pwritev GB/s | plain HDF5 H5Dwrite GB/s | dd oflag=direct GB/s | io_uring / dd | io_uring / H5Dwrite |
|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + """

Aims: >= 90% of dd and >= 2x plain HDF5. Plain HDF5 goes through the page cache (one copy in,
write-back, then fsync at close); the record writer copies once into registered, aligned staging
buffers and the device DMA's from there (O_DIRECT), with up to 32 x 1 MiB writes in flight and an
fdatasync linked behind each record's last write, and the next record's HDF5 metadata is
prepared while the current payload is in flight. Both are bounded by the same disk here, so the
gap to plain HDF5 is what its page-cache path costs: at 4 cells a run (1 GB) fits the page cache
and write-back proceeds at disk speed, so the ratio depends mostly on how busy the shared CPUs
are; at 150 cells (6 GB per run) the page-cache path falls far behind. pwritev is the fallback's
synchronous path (one write at a time, no overlap of copy and I/O).

Runs so far (newest last):

""" + "\n".join(history) + "\n"
text = text[:m.start()] + body + ("\n" if m.end() < len(text) else "") + text[m.end():] if m else text.rstrip() + "\n\n" + body
open(doc, "w").write(text)
print(body)
PY
rm -f "$log"
