#!/bin/bash
# Conformance with DUNE-DAQ's readers (tests/hdf5/dune_conformance.py states every fact and its DUNE
# source): a run file from `trigctl sim` and the trigger-record file `trigctl replay` writes
# through the real pipeline (record builder, io_uring record writer) must carry hdf5libs'
# attribute names AND types, a source_id_geo_id_map entry matching the frames of every WIBEth
# fragment, Trigger_Candidate fragments that decode as trgdataformats TriggerCandidates with the
# record's trigger_type, no dataset besides record headers and fragments, and frames whose
# headers a WIB would have written. Skips (77) without Debian's h5py.
set -euo pipefail
bin=${LARTRIG_BINARY_DIR:?LARTRIG_BINARY_DIR not set}
src=${LARTRIG_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
py=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
"$py" -c 'import h5py, numpy' 2>/dev/null || { echo "SKIP: $py lacks h5py/numpy"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

run=$tmp/run.h5
"$bin/tools/trigctl" sim -o "$run" --cells 2 --channels 128 --seconds 0.15 --seed 5 \
    --inject 0:he:1500:0.05 --inject 1:he:2000:0.1 >/dev/null || fail "trigctl sim"
"$bin/tools/trigctl" replay "$run" -o "$tmp/rec" >"$tmp/replay.out" 2>&1 ||
    { cat "$tmp/replay.out" >&2; fail "trigctl replay"; }
recs=("$tmp"/rec/*.hdf5)
[[ -f ${recs[0]} ]] || fail "replay wrote no record file"

PYTHONPATH=$src/tests/hdf5 "$py" - "$run" "${recs[@]}" <<'EOF'
import sys
from dune_conformance import check_file

run, recs = sys.argv[1], sys.argv[2:]
s = check_file(run)
assert s["records"] >= 10 and s["frames"] > 0, s
print("run file:", s)
total = 0
for r in recs:
    s = check_file(r)
    print("records:", s)
    assert s["records"] >= 1 and s["tcs"] == s["records"], s
    total += s["records"]
assert total >= 2, f"{total} records: the two injected events should trigger"
EOF

# The checks can fail: each of the five defects of issue 13, put back into a copy of a good
# file, must be caught.
PYTHONPATH=$src/tests/hdf5 "$py" - "$run" "${recs[0]}" "$tmp" <<'EOF'
import shutil, sys
import h5py, numpy as np
from dune_conformance import check_file

run, rec, tmp = sys.argv[1:4]

def caught(src, name, mutate, want):
    dst = f"{tmp}/{name}.h5"
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        mutate(f)
    try:
        check_file(dst)
    except AssertionError as e:
        assert want in str(e), f"{name}: caught for another reason: {e}"
        print(f"{name}: caught: {e}")
        return
    raise SystemExit(f"FAIL: {name} not caught")

def first(f, prefix):
    return f[[k for k in f if k.startswith(prefix)][0]]["RawData"]

def poke(ds, off, data):
    b = bytearray(ds[:, 0].view(np.uint8).tobytes())
    b[off:off + len(data)] = data
    ds[:, 0] = np.frombuffer(bytes(b), np.int8)

def int_timestamp(f):
    del f.attrs["creation_timestamp"]
    f.attrs.create("creation_timestamp", 1767268800000, dtype="<u8")

def empty_geo(f):
    f.attrs["source_id_geo_id_map"] = '{"map_entries":[]}'

def lttd(f):  # the old private payload: "LTTD" where the TC version lies, 1 << 32 inputs
    ds = first(f, "TriggerRecord")["Trigger_0x00000000_Trigger_Candidate"]
    poke(ds, 72, b"LTTD")
    poke(ds, 72 + 48, (1 << 32).to_bytes(8, "little"))

def truth_dataset(f):
    del f["Truth"]
    f.create_dataset("Truth", data=np.zeros(3, dtype=[("time", "<u8"), ("cell", "<u4")]))

def zero_block_length(f):
    r = first(f, "TimeSlice")
    ds = r[[k for k in r if k.endswith("_WIBEth")][0]]
    w = int.from_bytes(ds[72:80, 0].view(np.uint8).tobytes(), "little") & ((1 << 52) - 1)
    poke(ds, 72, w.to_bytes(8, "little"))

caught(rec, "1_integer_timestamp", int_timestamp, "creation_timestamp")
caught(rec, "2_empty_geo_map", empty_geo, "source_id_geo_id_map")
caught(rec, "3_private_tc_payload", lttd, "n_inputs")
caught(run, "4_truth_dataset", truth_dataset, "/Truth")
caught(run, "5_zero_block_length", zero_block_length, "block_length")
EOF
echo PASS
