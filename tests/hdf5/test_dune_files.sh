#!/bin/bash
# Files as DUNE's DAQ writes them, read by lartrig. tests/hdf5/dune_writer.py lays a run file and
# a trigger-record file out the way hdf5libs/dfmodules do, with DUNE-style SourceID numbers (not
# lartrig's cell << 8 | stream) and a run split over files named ..._0000/_0001.hdf5. Then:
#   - both pass the conformance checks (tests/hdf5/dune_conformance.py);
#   - `trigctl inspect` names every WIBEth fragment's cell and stream from its frames, as in the
#     original, for run and record files; training's reader (tools/train/data.py) gets the same
#     ADCs per cell;
#   - `trigctl replay` of the DUNE-style run file makes exactly the triggers of the original;
#   - each file of the split run replays on its own;
#   - a missing stream, frames that disagree with the GeoID map, a WIB's second link (stream_id
#     64..) and a gap between TimeSlices give a clear message (the first three refuse the file,
#     the gap is reported and replayed);
#   - `trigctl show` draws a record of the DUNE-style file.
# Skips (77) without Debian's h5py.
set -euo pipefail
bin=${LARTRIG_BINARY_DIR:?LARTRIG_BINARY_DIR not set}
src=${LARTRIG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
py=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
"$py" -c 'import h5py, numpy' 2>/dev/null || { echo "SKIP: $py lacks h5py/numpy"; exit 77; }
trigctl=$bin/tools/trigctl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export PYTHONPATH=$src/tests/hdf5

run=$tmp/run.h5
"$trigctl" sim -o "$run" --cells 2 --channels 128 --seconds 0.2 --seed 8 \
    --inject 0:he:1500:0.05 --inject 1:he:2000:0.12 >/dev/null || fail "trigctl sim"
"$trigctl" replay "$run" -o "$tmp/rec" --json >"$tmp/orig.json" 2>"$tmp/orig.err" ||
    { cat "$tmp/orig.err" >&2; fail "replay of the original"; }
rec=$(ls "$tmp"/rec/*.hdf5 | head -1)

# DUNE-style copies: run file whole and split in two, trigger records whole.
"$py" - "$run" "$rec" "$tmp" <<'EOF'
import sys
from dune_writer import rewrite
from dune_conformance import check_file
run, rec, tmp = sys.argv[1:4]
one, ids = rewrite(run, tmp + "/np04hd_raw_run000001_%04d_dataflow0_datawriter_0_20260101T120000.hdf5")
two, _ = rewrite(run, tmp + "/np04hd_raw_run000002_%04d_dataflow0_datawriter_0_20260101T120000.hdf5", 2)
trs, _ = rewrite(rec, tmp + "/np04hd_raw_run000003_%04d_dataflow0_datawriter_0_20260101T120000.hdf5")
assert any(new != old for old, new in ids.items()) and all(new >= 100 for new in ids.values()), ids
for p in one + two + trs:
    # The DUNE-style TCs are lartrig's own (copied): full checks; WIB headers as written by sim.
    print(p.rsplit("/", 1)[1], check_file(p))
print("ids", ids)
EOF
dune=$tmp/np04hd_raw_run000001_0000_dataflow0_datawriter_0_20260101T120000.hdf5
dtr=$tmp/np04hd_raw_run000003_0000_dataflow0_datawriter_0_20260101T120000.hdf5

# inspect: cells and streams from the frames, not the SourceID numbers.
for pair in "$run:$dune" "$rec:$dtr"; do
    a=${pair%%:*} b=${pair##*:}
    "$trigctl" inspect --json "$a" >"$tmp/a.json" || fail "inspect $a"
    "$trigctl" inspect --json "$b" >"$tmp/b.json" || fail "inspect of the DUNE-style $b"
    "$py" - "$tmp/a.json" "$tmp/b.json" <<'EOF'
import json, sys
def streams(p):
    out = []
    for r in json.load(open(p))["records"]:
        for fr in r["fragments"]:
            if fr["fragment_type"] == "WIBEth":
                out.append((r["name"], fr["cell"], fr["stream"], fr.get("frames"), fr["source_id"]))
    return out
a, b = streams(sys.argv[1]), streams(sys.argv[2])
assert len(a) == len(b) > 0, (len(a), len(b))
assert sorted(x[:4] for x in a) == sorted(x[:4] for x in b), "cells/streams differ"
assert any(x[4] != y[4] for x, y in zip(sorted(a), sorted(b))), "SourceIDs were not renumbered"
print(f"inspect: {len(b)} WIBEth fragments, same cells and streams under DUNE SourceIDs")
EOF
done

# training's reader (tools/train/data.py) sees the same ADCs per cell in the DUNE-style file.
PYTHONPATH=$src/tools/train "$py" - "$run" "$dune" <<'EOF'
import sys
import numpy as np
import data
run, dune = sys.argv[1:3]
cells = data.run_cells(run)
assert cells == data.run_cells(dune) == [0, 1], (cells, data.run_cells(dune))
for c in cells:
    a, b = data.read_run(run, cell=c), data.read_run(dune, cell=c)
    assert a["first_tick"] == b["first_tick"] and np.array_equal(a["adc"], b["adc"]), c
print(f"tools/train: cells {cells}, identical ADCs")
EOF

# replay: the DUNE-style run file gives exactly the original's triggers.
"$trigctl" replay "$dune" -o "$tmp/drec" --json >"$tmp/dune.json" 2>"$tmp/dune.err" ||
    { cat "$tmp/dune.err" >&2; fail "replay of the DUNE-style run file"; }
"$py" - "$tmp/orig.json" "$tmp/dune.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
key = lambda t: (t["number"], t["time_ticks"], t["window_ticks"])
assert a["trigger_count"] >= 2, a["trigger_count"]
assert [key(t) for t in a["triggers"]] == [key(t) for t in b["triggers"]], (a["triggers"], b["triggers"])
print(f"replay: {b['trigger_count']} triggers, identical to the original's")
EOF

# Each file of a run split over two files replays on its own.
for f in "$tmp"/np04hd_raw_run000002_000[01]_*.hdf5; do
    "$trigctl" replay "$f" -o "$tmp/split_$(basename "$f" .hdf5)" >"$tmp/split.out" 2>&1 ||
        { cat "$tmp/split.out" >&2; fail "replay of $(basename "$f")"; }
done

# Broken DUNE-style files: a missing stream, frames disagreeing with the map, a gap.
"$py" - "$dune" "$tmp" <<'EOF'
import json, shutil, sys
import h5py
dune, tmp = sys.argv[1:3]
def copy(name):
    p = f"{tmp}/{name}.hdf5"
    shutil.copy(dune, p)
    return p
with h5py.File(copy("missing"), "r+") as f:
    r = sorted(k for k in f if k.startswith("TimeSlice"))[3]
    victim = sorted(k for k in f[r]["RawData"] if k.endswith("_WIBEth"))[1]
    del f[r]["RawData"][victim]
    m = json.loads(f[r].attrs["source_id_path_map"])
    m["map_entries"] = [e for e in m["map_entries"] if not e["path"].endswith(victim)]
    f[r].attrs["source_id_path_map"] = json.dumps(m)
with h5py.File(copy("badgeo"), "r+") as f:
    m = json.loads(f.attrs["source_id_geo_id_map"])
    m["map_entries"][0]["geoids"] = [m["map_entries"][0]["geoids"][0] + (5 << 16)]  # crate + 5
    f.attrs["source_id_geo_id_map"] = json.dumps(m)
with h5py.File(copy("gap"), "r+") as f:
    del f[sorted(k for k in f if k.startswith("TimeSlice"))[5]]
# DUNE's WIBs send a second 10G link whose stream_ids start at 64: not in lartrig's cell map.
import numpy as np
with h5py.File(copy("link64"), "r+") as f:
    m = json.loads(f.attrs["source_id_geo_id_map"])
    e = m["map_entries"][0]
    e["geoids"] = [g + (64 << 48) for g in e["geoids"]]
    f.attrs["source_id_geo_id_map"] = json.dumps(m)
    name = f"Detector_Readout_0x{e['id']:08x}_WIBEth"
    for r in (k for k in f if k.startswith("TimeSlice")):
        ds = f[r]["RawData"][name]
        b = bytearray(ds[:, 0].view(np.uint8).tobytes())
        for o in range(72, len(b), 7200):
            w = int.from_bytes(b[o:o + 8], "little") + (64 << 26)
            b[o:o + 8] = w.to_bytes(8, "little")
        ds[:, 0] = np.frombuffer(bytes(b), np.int8)
EOF
expect_fail() { # file, message
    if "$trigctl" replay "$tmp/$1.hdf5" -o "$tmp/o_$1" >"$tmp/$1.out" 2>&1; then
        fail "replay of $1 succeeded"
    fi
    grep -q "$2" "$tmp/$1.out" || { cat "$tmp/$1.out" >&2; fail "$1: no message matching '$2'"; }
    echo "$1: $(grep -m1 "$2" "$tmp/$1.out")"
}
expect_fail missing "stream [0-9]* missing\|of the [0-9]* streams of cell"
expect_fail badgeo "source_id_geo_id_map gives"
expect_fail link64 "outside lartrig's map of a cell"
"$trigctl" replay "$tmp/gap.hdf5" -o "$tmp/o_gap" >"$tmp/gap.out" 2>&1 ||
    { cat "$tmp/gap.out" >&2; fail "replay of a run with a gap between TimeSlices"; }
grep -q "gaps between TimeSlices" "$tmp/gap.out" || { cat "$tmp/gap.out" >&2; fail "gap not reported"; }
echo "gap: $(grep -m1 "gaps between TimeSlices" "$tmp/gap.out")"

# show draws a record of the DUNE-style trigger-record file.
"$trigctl" show "$dtr" -o "$tmp/ev.png" >/dev/null 2>"$tmp/show.err" ||
    { cat "$tmp/show.err" >&2; fail "show of the DUNE-style record file"; }
[[ -s $tmp/ev.png ]] || fail "show wrote no image"
echo PASS
