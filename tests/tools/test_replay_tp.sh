#!/bin/bash
# The TP/TA baseline through the whole pipeline (docs/kernel.md "TP/TA baseline"): a simulated
# run (default backgrounds and noise) with one injected 10 MeV electron, replayed by `trigctl
# replay` with kernel.algorithm = "tp" (cell stage, candidates over ZeroMQ, aggregator, readout,
# record writer). The electron must be found by a trigger whose record carries the chain's
# candidate: a TriggerActivity with algorithm kHorizontalMuon (4) on the electron's wires and
# time, adc_peak = its score, adc_integral = its ADC sum (score = adc_sum / score_unit), and the
# record conformant to DUNE's readers. The same file with the CNN writes TAs with algorithm 0;
# the xrt backend refuses the chain with a clear error.
set -euo pipefail
bin=${LARTRIG_BINARY_DIR:?LARTRIG_BINARY_DIR not set}
src=${LARTRIG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
trigctl=$bin/tools/trigctl
py=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
"$py" -c 'import h5py, numpy' 2>/dev/null || { echo "SKIP: $py lacks h5py/numpy"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

run=$tmp/run.h5
"$trigctl" sim -o "$run" --cells 2 --channels 512 --seconds 0.06 --seed 4242 \
    --le-rate 0 --he-rate 0 --cosmic-rate 0 --inject 0:le:10:0.03 >/dev/null ||
    fail "trigctl sim exited $?"

# The embedded configuration with the TP chain and trigger thresholds in its score units
# (10 ADC x samples per unit: a 10 MeV electron scores ~500).
"$bin/daemon/trigd" --print-default-config >"$tmp/base.conf"
"$py" - "$tmp/base.conf" "$tmp/tp.conf" "$tmp/xrt.conf" "$tmp/cnn.conf" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
# whichever the default algorithm is (the TP chain since it won the working point), both ways
t, n0 = re.subn(r'\n  algorithm = "\w+";', '\n  algorithm = "tp";', s, count=1)
c, n3 = re.subn(r'\n  algorithm = "\w+";', '\n  algorithm = "cnn";', s, count=1)
assert n0 == 1 and n3 == 1, "no kernel.algorithm"
# the network with the charge sum's working point (docs/training.md), in its own units
c = re.sub(r"(single = \{\n    enabled = true;\n    min_score = )-?\d+;", r"\g<1>550;", c, count=1)
c = re.sub(r"(\n    min_adc_sum = )\d+;", r"\g<1>800;", c, count=1)
c = re.sub(r"(coincidence = \{[^}]*min_score = )-?\d+;", r"\g<1>650;", c, count=1)
open(sys.argv[4], "w").write(c)
# whatever the defaults are (in the default network's units): single.min_score 200, no ADC-sum cut
t, n1 = re.subn(r"(single = \{\n    enabled = true;\n    min_score = )-?\d+;", r"\g<1>200;", t, count=1)
t, n2 = re.subn(r"(\n    min_adc_sum = )\d+;", r"\g<1>0;", t, count=1)
assert t.count('algorithm = "tp";') == 1 and n1 == 1 and n2 == 1, "config not derived"
open(sys.argv[2], "w").write(t)
x = t.replace('backend = "cpu";', 'backend = "xrt";', 1)
assert 'backend = "xrt";' in x
open(sys.argv[3], "w").write(x)
PY

"$trigctl" replay "$run" -c "$tmp/tp.conf" -o "$tmp/rec" --json -q >"$tmp/tp.json" 2>"$tmp/tp.err" ||
    { cat "$tmp/tp.err" >&2; fail "trigctl replay (tp) exited $?"; }
"$trigctl" replay "$run" -c "$tmp/cnn.conf" -o "$tmp/rec_cnn" --json -q >"$tmp/cnn.json" 2>"$tmp/cnn.err" ||
    { cat "$tmp/cnn.err" >&2; fail "trigctl replay (cnn) exited $?"; }

PYTHONPATH=$src/tests/hdf5:$src/tools/train "$py" - "$run" "$tmp" <<'PY'
import glob, json, sys
import h5py, numpy as np
from dune_conformance import check_file, TC, TA
from truth import truth_rows

run, tmp = sys.argv[1:3]
rep = json.load(open(tmp + "/tp.json"))
le = [r for r in rep["efficiency"] if r["kind"] == "low_energy"]
assert sum(r["total"] for r in le) == 1 and sum(r["found"] for r in le) == 1, rep["efficiency"]
assert rep["trigger_count"] >= 1, rep["trigger_count"]

with h5py.File(run, "r") as f:
    truth = [t for t in truth_rows(f) if int(t["kind"]) == 1]  # LT_TRUTH_LOW_ENERGY
assert len(truth) == 1, truth
t = truth[0]
ev = dict(cell=int(t["cell"]), wire_min=int(t["channel_start"]), wire_max=int(t["channel_end"]),
          time_start=int(t["time"]), time_end=int(t["time_end"]), energy_mev=float(t["energy_mev"]))


def tas(rec_dir):
    out = []
    for path in sorted(glob.glob(rec_dir + "/*.hdf5")):
        s = check_file(path)  # DUNE conformance of every record
        assert s["records"] >= 1 and s["tcs"] == s["records"], s
        with h5py.File(path, "r") as f:
            for rname, rec in f.items():
                if not rname.startswith("TriggerRecord"):
                    continue
                for dname, ds in rec["RawData"].items():
                    if not dname.endswith("_Trigger_Candidate"):
                        continue
                    b = ds[:, 0].view(np.uint8).tobytes()[72:]
                    off = 0
                    while off < len(b):
                        tc = np.frombuffer(b[off:off + 56], TC)[0]
                        n = int(tc["n_inputs"])
                        out += list(np.frombuffer(b[off + 56:off + 56 + 80 * n], TA))
                        off += 56 + 80 * n
    return out


tp = tas(tmp + "/rec")
assert tp, "no TriggerActivity in the TP chain's records"
assert all(int(t["algorithm"]) == 4 for t in tp), [int(t["algorithm"]) for t in tp]
lo = 2560 * ev["cell"] + 1600
mine = [t for t in tp
        if int(t["channel_start"]) // 2560 == ev["cell"]
        and int(t["channel_start"]) - lo <= ev["wire_max"] + 4
        and int(t["channel_end"]) - lo + 4 >= ev["wire_min"]
        and int(t["time_start"]) <= ev["time_end"] + 4096
        and int(t["time_end"]) + 4096 >= ev["time_start"]]
assert mine, ("no TA on the electron", ev, [(int(t["channel_start"]), int(t["time_start"])) for t in tp])
best = max(mine, key=lambda t: int(t["adc_integral"]))
score, adc = int(best["adc_peak"]), int(best["adc_integral"])
assert score == min(adc // 10, 32767), (score, adc)  # score_unit = 10 ADC x samples
assert score > 200, score  # above single.min_score: it made the trigger
print(f"TP chain: electron {ev['energy_mev']:.1f} MeV cell {ev['cell']} wires "
      f"{ev['wire_min']}-{ev['wire_max']}: TA wires {int(best['channel_start']) - lo}-"
      f"{int(best['channel_end']) - lo}, ADC sum {adc}, score {score}")

cnn = tas(tmp + "/rec_cnn")
assert cnn and all(int(t["algorithm"]) == 0 for t in cnn), [int(t["algorithm"]) for t in cnn]
PY

if "$trigctl" replay "$run" -c "$tmp/xrt.conf" -q >"$tmp/xrt.out" 2>&1; then
    fail "the xrt backend accepted kernel.algorithm = tp"
fi
grep -q 'kernel.algorithm "tp" (the TP/TA baseline) runs on the cpu backend only' "$tmp/xrt.out" ||
    { cat "$tmp/xrt.out" >&2; fail "no clear error for tp on xrt"; }
echo "PASS"
