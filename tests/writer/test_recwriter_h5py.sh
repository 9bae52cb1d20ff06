#!/bin/bash
# A trigger-record file written by the record writer (io_uring path), read with h5py + numpy the
# way a DUNE physicist would: file attributes, record groups, the TriggerRecordHeader, and every
# fragment's header and payload bytes against the known sample pattern
# (byte j of fragment i of trigger t = (7j + 13i + 29t) mod 251). Skips (77) without h5py.
set -euo pipefail

PY=/usr/bin/python3
BIN=${LARTRIG_BINARY_DIR:?LARTRIG_BINARY_DIR not set}
if ! "$PY" -c 'import h5py, numpy' 2>/dev/null; then
    echo "SKIP: $PY has no h5py/numpy (apt install python3-h5py python3-numpy)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_recwriter_h5py.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$BIN/bench/bench_writer" --sample "$tmp"
ls "$tmp"/*.writing 2>/dev/null && { echo "FAIL: .writing file left behind"; exit 1; }
files=("$tmp"/lartrig_raw_run000007_0001_sample_*.hdf5)
[[ ${#files[@]} -eq 1 && -f ${files[0]} ]] || { echo "FAIL: no final-named file in $tmp"; exit 1; }

"$PY" - "${files[0]}" <<'PYEOF'
import json, sys
import h5py
import numpy as np

path = sys.argv[1]

def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)

def s(v):
    return v.decode() if isinstance(v, bytes) else str(v)

frag_dt = np.dtype([("marker", "<u4"), ("version", "<u4"), ("size", "<u8"),
                    ("trigger_number", "<u8"), ("trigger_timestamp", "<u8"),
                    ("window_begin", "<u8"), ("window_end", "<u8"), ("run_number", "<u4"),
                    ("error_bits", "<u4"), ("fragment_type", "<u4"), ("sequence_number", "<u2"),
                    ("detector_id", "<u2"), ("sid_version", "<u2"), ("sid_subsystem", "<u2"),
                    ("sid_id", "<u4")])
assert frag_dt.itemsize == 72
lens = [100000, 7200 * 3, 0]

with h5py.File(path, "r") as f:
    a = f.attrs
    check(int(a["run_number"]) == 7, "run_number")
    check(int(a["file_index"]) == 1, "file_index")
    check(s(a["record_type"]) == "TriggerRecord", "record_type")
    check(int(a["filelayout_version"]) == 5, "filelayout_version")
    check(json.loads(s(a["filelayout_params"]))["record_name_prefix"] == "TriggerRecord",
          "filelayout_params")
    check(int(a["recorded_size"]) == 2 * (64 + 32 + 3 * 72 + sum(lens)), "recorded_size")
    check("closing_timestamp" in a and "creation_timestamp" in a, "timestamps")
    check(sorted(f.keys()) == ["TriggerRecord000001.0000", "TriggerRecord000002.0000"],
          "record groups: %s" % sorted(f.keys()))
    for t in (1, 2):
        g = f["TriggerRecord%06d.0000" % t]
        paths = json.loads(s(g.attrs["source_id_path_map"]))["map_entries"]
        check(len(paths) == 4, "source_id_path_map entries")
        for e in paths:
            check(e["path"] in f, "path %s listed but missing" % e["path"])
        raw = g["RawData"]
        trh = raw["TR_Builder_0x00000000_TriggerRecordHeader"]
        check(trh.shape == (96, 1), "TRH shape %s" % (trh.shape,))
        b = trh[:].tobytes()
        marker, version, number = np.frombuffer(b[:16], dtype="<u4,<u4,<u8")[0]
        check(marker == 0x33334444 and number == t, "TRH marker/trigger number")
        for i in range(3):
            d = raw["Detector_Readout_0x%08x_WIBEth" % i]
            check(d.dtype == np.int8 and d.shape == (72 + lens[i], 1), "fragment %d shape" % i)
            b = d[:].tobytes()
            h = np.frombuffer(b[:72], dtype=frag_dt)[0]
            check(h["marker"] == 0x11112222 and h["version"] == 5, "fragment marker/version")
            check(h["size"] == 72 + lens[i] and h["trigger_number"] == t, "fragment size/trigger")
            check(h["error_bits"] == (0 if lens[i] else 1), "error bits")
            want = ((7 * np.arange(lens[i], dtype=np.int64) + 13 * i + 29 * t) % 251).astype(np.uint8)
            check(np.array_equal(np.frombuffer(b[72:], dtype=np.uint8), want),
                  "payload of trigger %d fragment %d differs" % (t, i))
print("OK: %s read with h5py %s, all bytes verified" % (path, h5py.__version__))
PYEOF
