#!/bin/bash
# trigctl sim end to end: the acceptance run (2 cells, 0.1 s) checked with h5dump -H (hdf5libs
# layout, file attributes, /Truth), trigctl inspect (frames per stream) and an independent numpy
# decoder (headers, contiguous timestamps, seq_id, pedestal levels through the channel map);
# slicing does not change the data; bad options fail with a clear message.
set -euo pipefail
bin=${LARTRIG_BINARY_DIR:?LARTRIG_BINARY_DIR not set}
trigctl=$bin/tools/trigctl
py=/usr/bin/python3 # Debian's, with python3-h5py and python3-numpy (tools/deps.sh)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Under the sanitizers (Debug + ASan) the full 2560-channel cell is ~10x slower: use 2 boards.
channels=2560
if grep -q '^LARTRIG_SANITIZE:BOOL=ON' "$bin/CMakeCache.txt" 2>/dev/null; then channels=256; fi

run=$tmp/run.h5
"$trigctl" sim -o "$run" --cells 2 --seconds 0.1 --channels $channels --seed 7 --run 12 \
    --inject 1:he:1500:0.05 >"$tmp/sim.out" || fail "trigctl sim exited $?"
cat "$tmp/sim.out"
[[ -f $run && ! -e $run.writing ]] || fail "run file not renamed from .writing"

# Frames: ceil(0.1 s * 62.5 MHz / 2048 ticks per frame) per stream.
frames=$(( (6250000 + 2047) / 2048 ))
streams=$(( channels / 64 ))
grep -q "$frames frames per stream" "$tmp/sim.out" || fail "summary lacks $frames frames per stream"

# hdf5libs layout as h5dump sees it.
h5dump -H "$run" >"$tmp/h5dump.txt" || fail "h5dump -H failed"
for attr in run_number file_index creation_timestamp application_name filelayout_params \
    filelayout_version record_type operational_environment recorded_size closing_timestamp; do
    grep -q "ATTRIBUTE \"$attr\"" "$tmp/h5dump.txt" || fail "file attribute $attr missing"
done
grep -q 'GROUP "TimeSlice000001"' "$tmp/h5dump.txt" || fail "no TimeSlice000001 group"
grep -q 'GROUP "RawData"' "$tmp/h5dump.txt" || fail "no RawData group"
grep -q 'DATASET "TR_Builder_0x00000000_TimeSliceHeader"' "$tmp/h5dump.txt" ||
    fail "no TimeSliceHeader dataset"
for sid in 00000000 00000001 00000100 $(printf '%08x' $(( 256 + streams - 1 ))); do
    grep -q "DATASET \"Detector_Readout_0x${sid}_WIBEth\"" "$tmp/h5dump.txt" ||
        fail "no Detector_Readout_0x${sid}_WIBEth dataset"
done
grep -q 'GROUP "Truth"' "$tmp/h5dump.txt" || fail "no /Truth group"
grep -q 'DATASET "Truth"' "$tmp/h5dump.txt" && fail "/Truth is a dataset (hdf5libs would take it for a fragment)"
n_ds=$(grep -c 'DATASET "Detector_Readout_0x' "$tmp/h5dump.txt")
slices=$(grep -c 'GROUP "TimeSlice' "$tmp/h5dump.txt")
(( n_ds == slices * 2 * streams )) || fail "$n_ds fragments for $slices slices x 2 x $streams streams"

# trigctl inspect: frames per stream summed over the slices.
"$trigctl" inspect "$run" --json >"$tmp/inspect.json" || fail "trigctl inspect failed"
"$py" - "$tmp/inspect.json" "$frames" "$((2 * streams))" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
want, n_streams = int(sys.argv[2]), int(sys.argv[3])
assert doc["attributes"]["record_type"] == "TimeSlice", doc["attributes"]
assert doc["attributes"]["run_number"] == 12
per = {}
for rec in doc["records"]:
    for fr in rec["fragments"]:
        per[(fr["cell"], fr["stream"])] = per.get((fr["cell"], fr["stream"]), 0) + fr["frames"]
assert len(per) == n_streams, per.keys()
bad = {k: v for k, v in per.items() if v != want}
assert not bad, f"frames per stream differ from {want}: {bad}"
print(f"inspect: {len(per)} streams x {want} frames")
EOF

# Independent decoding with numpy/h5py.
"$py" - "$run" "$frames" "$channels" <<'EOF'
import os, sys
import h5py
import numpy as np
sys.path.insert(0, os.environ["LARTRIG_SOURCE_DIR"] + "/tools/train")
from truth import truth_rows  # /Truth: attributes of a group (docs/hdf5-layout.md)

path, want, channels = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n_fembs = channels // 128
n_dead = n_loud = n_channels = 0
f = h5py.File(path, "r")
slices = sorted(k for k in f if k.startswith("TimeSlice"))
for cell in (0, 1):
    for stream in range(2 * n_fembs):
        words, wb_prev = [], None
        for sl in slices:
            raw = f[sl]["RawData"][f"Detector_Readout_0x{(cell << 8) | stream:08x}_WIBEth"]
            b = raw[()].tobytes()
            hdr = np.frombuffer(b[:72], dtype="<u4")
            assert hdr[0] == 0x11112222 and hdr[1] == 5, (sl, hdr[:2])
            h64 = np.frombuffer(b[8:48], dtype="<u8")  # size, trig no, trig ts, wb, we
            assert h64[0] == len(b), (sl, h64[0], len(b))
            assert h64[1] == int(sl[len("TimeSlice"):]), (sl, h64[1])
            w = np.frombuffer(b[72:], dtype="<u8").reshape(-1, 900)
            assert h64[3] == w[0, 1] and h64[4] == w[-1, 1] + 2048, (sl, h64[3:5], w[0, 1])
            words.append(w)
        w = np.concatenate(words)
        assert len(w) == want, (cell, stream, len(w))
        ts = w[:, 1]
        assert ts[0] == 0 and np.all(np.diff(ts) == 2048), (cell, stream)
        h = w[:, 0]
        version, det = h & 0x3F, (h >> 6) & 0x3F
        crate, slot, es = (h >> 12) & 0x3FF, (h >> 22) & 0xF, (h >> 26) & 0xFF
        seq = (h >> 40) & 0xFFF
        assert np.all(version == 1) and np.all(det == 3) and np.all(crate == cell)
        assert np.all(slot == stream // 8) and np.all(es == stream % 8)
        assert np.all(seq == np.arange(want) % 4096), (cell, stream)
        # 14-bit unpacking of the first 50 frames; pedestals tell the planes apart:
        # FEMB-local channel c = (stream % 2) * 64 + ch: 0-79 induction (~2350), 80-127 X (~900)
        adcw = w[:50, 4:].reshape(50, 64, 14)
        adc = np.zeros((50, 64, 64), dtype=np.int64)
        for ch in range(64):
            bit = 14 * ch
            lo = adcw[:, :, bit // 64] >> np.uint64(bit % 64)
            if bit % 64 > 50:
                lo |= adcw[:, :, bit // 64 + 1] << np.uint64(64 - bit % 64)
            adc[:, :, ch] = (lo & np.uint64(0x3FFF)).astype(np.int64)
        med = np.median(adc.reshape(-1, 64), axis=0)
        local = (stream % 2) * 64 + np.arange(64)
        want_ped = np.where(local < 80, 2350, 900)
        assert np.all(np.abs(med - want_ped) < 120), (cell, stream, med)
        rms = adc.reshape(-1, 64).std(axis=0)
        # Defective channels (docs/simulation.md): dead ones sit flat, noisy ones 3x the noise.
        ok = (rms > 2) & (rms < 8)
        assert ok.sum() >= 58, (cell, stream, rms)
        n_dead += int((rms == 0).sum())
        n_loud += int((rms >= 8).sum())
        n_channels += 64
t = truth_rows(f)
for name in ("time", "cell", "channel_start", "channel_end", "kind", "energy_mev", "time_end"):
    assert name in t.dtype.names, t.dtype
kinds = np.bincount(t["kind"], minlength=8)
ar39 = kinds[0] / 2 / 0.1 / (n_fembs / 20)  # per full cell per second
assert 1.2e5 < ar39 < 1.6e5, ar39  # 1.01 Bq/kg x 138.6 t = 140 kBq
kr85 = kinds[5] / 2 / 0.1 / (n_fembs / 20)
assert 1.2e4 < kr85 < 2.0e4, kr85  # 0.115 Bq/kg x 138.6 t = 15.9 kBq
# 0.3% dead and 1% noisy channels (binomial; generous bounds for small cells)
assert n_dead <= max(4, 0.01 * n_channels), (n_dead, n_channels)
assert 0 < n_loud <= max(6, 0.03 * n_channels), (n_loud, n_channels)
he = t[(t["kind"] == 2) & (t["cell"] == 1) & (t["time"] == 3125000)]
assert len(he) == 1, t[t["kind"] == 2]
assert np.all(t["time_end"] >= t["time"]) and np.all(t["channel_end"] >= t["channel_start"])
print(f"decoded {2 * 2 * n_fembs} streams x {want} frames; truth rows per kind {kinds.tolist()}")
EOF

# Slicing changes the records, not the data: same frames and truth with 1 ms and 7 ms slices.
common=(--cells 1 --channels 128 --seconds 0.02 --seed 99 --le-rate 300 --he-rate 100 --cosmic-rate 100)
"$trigctl" sim -o "$tmp/a.h5" "${common[@]}" --slice-ms 1 >/dev/null || fail "sim a"
"$trigctl" sim -o "$tmp/b.h5" "${common[@]}" --slice-ms 7 >/dev/null || fail "sim b"
"$trigctl" sim -o "$tmp/c.h5" "${common[@]/99/100}" --slice-ms 7 >/dev/null || fail "sim c"
"$py" - "$tmp/a.h5" "$tmp/b.h5" "$tmp/c.h5" <<'EOF'
import os, sys
import h5py
import numpy as np
sys.path.insert(0, os.environ["LARTRIG_SOURCE_DIR"] + "/tools/train")
from truth import truth_rows  # /Truth: attributes of a group (docs/hdf5-layout.md)

def load(path):
    f = h5py.File(path, "r")
    sl = sorted(k for k in f if k.startswith("TimeSlice"))
    data = [b"".join(f[s]["RawData"][f"Detector_Readout_0x{st:08x}_WIBEth"][()].tobytes()[72:]
                     for s in sl) for st in (0, 1)]
    t = np.sort(truth_rows(f), order=["time", "kind"])
    return len(sl), data, t

na, da, ta = load(sys.argv[1])
nb, db, tb = load(sys.argv[2])
nc, dc, tc = load(sys.argv[3])
assert na == 20 and nb == 3, (na, nb)  # 611 frames in slices of 31 and 214
assert da == db, "frames differ between 1 ms and 7 ms slices"
assert len(ta) == len(tb) and (ta == tb).all(), "truth differs between slicings"
assert set(ta["kind"]) >= {0, 1, 2, 3}, set(ta["kind"])
assert da != dc, "another seed gave the same frames"
print(f"slicing: {na} vs {nb} slices, identical {len(da[0])}+{len(da[1])} bytes, {len(ta)} truth rows")
EOF

# Bad input: clear message, non-zero exit, no file.
expect_fail() {
    local code=$1 pattern=$2
    shift 2
    set +e
    "$trigctl" sim "$@" >"$tmp/err.out" 2>&1
    local rc=$?
    set -e
    [[ $rc -eq $code ]] || fail "trigctl sim $* exited $rc, expected $code"
    grep -q -- "$pattern" "$tmp/err.out" || { cat "$tmp/err.out"; fail "no '$pattern' for: $*"; }
}
expect_fail 2 "multiple of 128" -o "$tmp/x.h5" --channels 100
expect_fail 2 "expected CELL:KIND" -o "$tmp/x.h5" --inject 0:muon:10:0.1
expect_fail 2 "only 1 cell" -o "$tmp/x.h5" --inject 3:he:10:0.01
expect_fail 2 "required" --seconds 0.01
expect_fail 2 "expected a number" -o "$tmp/x.h5" --seconds abc
expect_fail 2 "no knob named 'nope'" -o "$tmp/x.h5" --set nope=1
expect_fail 2 "kr85_bq_per_kg = -1 out of" -o "$tmp/x.h5" --set kr85_bq_per_kg=-1
expect_fail 2 "expected NAME=VALUE" -o "$tmp/x.h5" --set kr85
expect_fail 2 "expected a number" -o "$tmp/x.h5" --background-scale -1
# --set and --background-scale reach the simulator: 85Kr off, 222Rn raised, rates x2.
"$trigctl" sim -o "$tmp/k.h5" --channels 128 --seconds 0.02 --le-rate 0 --he-rate 0 \
    --cosmic-rate 0 --set kr85_bq_per_kg=0 --set rn222_bq_per_kg=0.5 --background-scale 2 \
    --inject 0:ncapture:0:0.01 >"$tmp/k.out" || fail "sim with --set"
"$py" - "$tmp/k.h5" <<'EOF'
import os, sys
import h5py
import numpy as np
sys.path.insert(0, os.environ["LARTRIG_SOURCE_DIR"] + "/tools/train")
from truth import truth_rows  # /Truth: attributes of a group (docs/hdf5-layout.md)
t = truth_rows(h5py.File(sys.argv[1], "r"))
kinds = np.bincount(t["kind"], minlength=8)
assert kinds[5] == 0, kinds  # 85Kr off
rn = kinds[6] / 0.02  # 2 x 0.5 Bq/kg x 6.93 t x 2.784 chain members in the argon = 19.3 kHz
assert 1.5e4 < rn < 2.4e4, rn
ar39 = kinds[0] / 0.02  # 2 x 1.01 Bq/kg x 6.93 t = 14.0 kHz
assert 1.2e4 < ar39 < 1.6e4, ar39
nc = t[t["kind"] == 7]
assert len(nc) == 1 and 0.5 < nc["energy_mev"][0] <= 6.1, nc
print(f"--set/--background-scale: kinds {kinds.tolist()}, capture {nc['energy_mev'][0]:.2f} MeV")
EOF
expect_fail 1 "use --slice-ms" -o "$tmp/x.h5" --slice-ms 500 --seconds 1
expect_fail 1 "exists" -o "$run" --seconds 0.001 --no-clobber
[[ ! -e $tmp/x.h5 ]] || fail "a failed run left $tmp/x.h5"
# By default an existing file is replaced (atomically, by rename, when the new one is complete).
"$trigctl" sim -o "$run" --seconds 0.001 --channels 128 >/dev/null || fail "replacing $run"
"$trigctl" inspect "$run" | grep -q "records *1" || fail "$run was not replaced"
"$trigctl" sim -o "$run" --no-clobber --force --seconds 0.001 --channels 128 >/dev/null ||
    fail "--force after --no-clobber"
[[ ! -e $run.writing ]] || fail "$run.writing left behind"
echo "PASS"
