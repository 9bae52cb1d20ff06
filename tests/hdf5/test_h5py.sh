#!/bin/bash
# Our HDF5 files seen through h5py + numpy, the way a DUNE physicist reads them: groups and
# attributes as hdf5libs writes them, fragments decoded from raw bytes, the /Truth table, and
# `trigctl inspect --json` agreeing with h5py. Skips (exit 0) when /usr/bin/python3 lacks h5py.
set -euo pipefail

PY=/usr/bin/python3
BIN=${LARTRIG_BINARY_DIR:?LARTRIG_BINARY_DIR not set}
if ! "$PY" -c 'import h5py, numpy' 2>/dev/null; then
    echo "SKIP: $PY has no h5py/numpy (apt install python3-h5py python3-numpy)"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_h5py.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The Check test program writes one run file and one trigger-record file with lib/hdf5/h5raw.
mapfile -t files < <("$BIN/tests/test_h5raw" --write-sample "$tmp")
run=${files[0]}
rec=${files[1]}
[[ -f $run && -f $rec ]] || { echo "FAIL: sample files not written"; exit 1; }
[[ $(basename "$run") =~ ^lartrig_raw_run004242_0007_test_[0-9]{8}T[0-9]{6}\.hdf5$ ]] ||
    { echo "FAIL: run file name $(basename "$run") is not DUNE's pattern"; exit 1; }
ls "$tmp"/*.writing 2>/dev/null && { echo "FAIL: .writing file left behind"; exit 1; }

"$BIN/tools/trigctl" inspect --json "$run" >"$tmp/run.json"
"$BIN/tools/trigctl" inspect --json "$rec" >"$tmp/rec.json"

"$PY" - "$run" "$rec" "$tmp/run.json" "$tmp/rec.json" <<'EOF'
import json, os, sys
import h5py
import numpy as np
sys.path.insert(0, os.environ["LARTRIG_SOURCE_DIR"] + "/tools/train")
from truth import truth_rows  # /Truth: attributes of a group (docs/hdf5-layout.md)

run, rec, run_json, rec_json = sys.argv[1:5]

def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)

def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)

FH = np.dtype([("marker", "<u4"), ("version", "<u4"), ("size", "<u8"), ("trigger_number", "<u8"),
               ("trigger_timestamp", "<u8"), ("window_begin", "<u8"), ("window_end", "<u8"),
               ("run_number", "<u4"), ("error_bits", "<u4"), ("fragment_type", "<u4"),
               ("sequence_number", "<u2"), ("detector_id", "<u2"), ("sid_version", "<u2"),
               ("subsystem", "<u2"), ("sid", "<u4")])
assert FH.itemsize == 72

def fragment(ds):
    raw = ds[:, 0].view(np.uint8)          # int8 {size,1} -> bytes
    hdr = np.frombuffer(raw[:72].tobytes(), FH)[0]
    return hdr, raw[72:]

def adc(frame, sample, channel):
    """14-bit ADC of one channel from a 7200-byte WIBEth frame (32-byte headers, 14 words/sample)."""
    words = np.frombuffer(frame[32:].tobytes(), "<u8").reshape(64, 14)
    bit = 14 * channel
    w, off = divmod(bit, 64)
    v = int(words[sample, w]) >> off
    if off > 50:
        v |= int(words[sample, w + 1]) << (64 - off)
    return v & 0x3FFF

def file_checks(path, record_type, header_name):
    with h5py.File(path, "r") as f:
        a = f.attrs
        for k in ("run_number", "file_index", "creation_timestamp", "closing_timestamp",
                  "recorded_size", "application_name", "filelayout_params", "filelayout_version",
                  "record_type", "operational_environment", "offline_data_stream",
                  "source_id_geo_id_map"):
            check(k in a, f"{path}: attribute {k} missing")
        check(text(a["record_type"]) == record_type, "record_type")
        check(int(a["run_number"]) == 4242 and a["run_number"].dtype == np.uint32, "run_number u32")
        check(int(a["filelayout_version"]) == 5, "filelayout_version")
        check(a["file_index"].dtype == np.uint64, "file_index u64")
        fl = json.loads(text(a["filelayout_params"]))
        check(fl["record_name_prefix"] == record_type, "filelayout_params prefix")
        check(fl["record_header_dataset_name"] == header_name, "record_header_dataset_name")
        check(fl["raw_data_group_name"] == "RawData", "raw_data_group_name")
        check(int(a["closing_timestamp"]) >= int(a["creation_timestamp"]), "timestamps")
        records = sorted(k for k in f.keys() if k.startswith(record_type))
        total = 0
        frags = {}
        for r in records:
            g = f[r]
            paths = json.loads(text(g.attrs["source_id_path_map"]))["map_entries"]
            for e in paths:
                check(e["path"] in f, f"{e['path']} listed in source_id_path_map but missing")
            hsid = json.loads(text(g.attrs["record_header_source_id"]))
            check(hsid == {"subsys": 4, "id": 0}, "record_header_source_id")
            raw = g["RawData"]
            check(f"TR_Builder_0x00000000_{header_name}" in raw, f"{r}: header dataset")
            for name, ds in raw.items():
                check(ds.dtype == np.int8 and ds.ndim == 2 and ds.shape[1] == 1,
                      f"{r}/{name}: dtype {ds.dtype} shape {ds.shape}")
                check(ds.chunks is None, f"{r}/{name} is chunked")
                total += ds.shape[0]
                if name.endswith(header_name):
                    continue
                hdr, payload = fragment(ds)
                check(hdr["marker"] == 0x11112222 and hdr["version"] == 5, f"{name} marker")
                check(hdr["size"] == ds.shape[0], f"{name}: size field {hdr['size']} != {ds.shape[0]}")
                sub = {1: "Detector_Readout", 3: "Trigger"}[int(hdr["subsystem"])]
                ftype = {12: "WIBEth", 8: "Trigger_Candidate"}[int(hdr["fragment_type"])]
                check(name == f"{sub}_0x{int(hdr['sid']):08x}_{ftype}", f"name {name} vs header")
                frags[(r, name)] = (int(ds.shape[0]), hdr, payload)
                if ftype == "WIBEth" and len(payload):
                    check(len(payload) % 7200 == 0, f"{name}: partial frame")
                    frames = payload.reshape(-1, 7200)
                    ts = np.frombuffer(frames[:, 8:16].tobytes(), "<u8")
                    check(ts[0] == hdr["window_begin"], f"{name}: first frame timestamp")
                    check(np.all(np.diff(ts.astype(np.int64)) == 2048), f"{name}: frame spacing")
                    word0 = int(np.frombuffer(frames[0, :8].tobytes(), "<u8")[0])
                    check(word0 & 0x3F == 1, f"{name}: DAQEth version")
                    check(all(900 <= adc(frames[0], s, c) < 916 for s in (0, 31, 63)
                              for c in (0, 4, 5, 63)), f"{name}: ADC values")
        check(int(a["recorded_size"]) == total, f"recorded_size {int(a['recorded_size'])} != {total}")
        return records, frags

# Run file
records, frags = file_checks(run, "TimeSlice", "TimeSliceHeader")
check(records == ["TimeSlice000001", "TimeSlice000002", "TimeSlice000003"], f"records {records}")
with h5py.File(run, "r") as f:
    check("Truth" in f and isinstance(f["Truth"], h5py.Group), "/Truth is a group")
    t = truth_rows(f)
    check(t.dtype.names == ("time", "cell", "channel_start", "channel_end", "kind", "energy_mev",
                            "time_end"), f"Truth members {t.dtype.names}")
    check(len(t) == 10 and t["time"][0] == 1000000 and abs(t["energy_mev"][9] - 2.5) < 1e-6,
          "Truth contents")
    check("kind_names" in f["Truth"].attrs, "Truth kind_names")

# Trigger-record file
trecords, tfrags = file_checks(rec, "TriggerRecord", "TriggerRecordHeader")
check(trecords == ["TriggerRecord000005.0000", "TriggerRecord000005.0001",
                   "TriggerRecord000009.0000"], f"records {trecords}")
with h5py.File(rec, "r") as f:
    h = f["TriggerRecord000005.0001/RawData/TR_Builder_0x00000000_TriggerRecordHeader"][:, 0]
    h = h.view(np.uint8).tobytes()
    check(len(h) == 64 + 3 * 32, "TRH dataset size")
    marker, version, trig, ts, ncomp = np.frombuffer(h[:32], "<u4,<u4,<u8,<u8,<u8")[0]
    check(marker == 0x33334444 and trig == 5 and ncomp == 3, "TRH fields")

# trigctl inspect --json agrees with h5py.
for js, fr in ((run_json, frags), (rec_json, tfrags)):
    doc = json.load(open(js))
    check(doc["problems"] == [], f"inspect problems: {doc['problems']}")
    seen = {(r["name"], x["dataset"]): x for r in doc["records"] for x in r["fragments"]}
    check(set(seen) == set(fr), "inspect lists the same fragments as h5py")
    for k, (size, hdr, payload) in fr.items():
        check(seen[k]["size"] == size, f"{k}: size")
        check(seen[k]["error_bits_value"] == int(hdr["error_bits"]), f"{k}: error bits")
        if seen[k]["fragment_type"] == "WIBEth":
            check(seen[k]["frames"] == len(payload) // 7200, f"{k}: frames")
doc = json.load(open(run_json))
check(doc["truth"]["rows"] == 10 and doc["truth"]["kinds"]["ar39"]["count"] == 3, "inspect truth")
print("h5py: layout, attributes, fragments and truth OK")
EOF

# inspect options: one record, all truth rows, usage errors.
"$BIN/tools/trigctl" inspect --json --record 2 --truth "$run" >"$tmp/one.json"
"$PY" - "$tmp/one.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
assert [r["name"] for r in doc["records"]] == ["TimeSlice000002"], doc["records"]
assert doc["totals"]["fragments"] == 4 and doc["totals"]["wibeth_frames"] == 20, doc["totals"]
assert len(doc["truth"]["entries"]) == 10 and doc["truth"]["entries"][3]["kind"] == "cosmic"
EOF
"$BIN/tools/trigctl" inspect --truth "$run" | grep -q "ar39 *3 *energy 0.25 .. 2.25 MeV" ||
    { echo "FAIL: text truth summary"; exit 1; }
rc=0; "$BIN/tools/trigctl" inspect --record 99 "$run" >/dev/null 2>&1 || rc=$?
[[ $rc -eq 1 ]] || { echo "FAIL: missing record gives exit $rc, want 1"; exit 1; }
rc=0; "$BIN/tools/trigctl" inspect --record x "$run" >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || { echo "FAIL: usage error gives exit $rc, want 2"; exit 1; }

# A damaged file: inspect exits 1 and names the file.
cp "$run" "$tmp/cut.hdf5"
truncate -s 20000 "$tmp/cut.hdf5"
if "$BIN/tools/trigctl" inspect "$tmp/cut.hdf5" >/dev/null 2>"$tmp/err"; then
    echo "FAIL: inspect accepted a truncated file"; exit 1
fi
grep -q "$tmp/cut.hdf5" "$tmp/err" || { echo "FAIL: error does not name the file:"; cat "$tmp/err"; exit 1; }
echo "truncated file: $(cat "$tmp/err")"
echo PASS
