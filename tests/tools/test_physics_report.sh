#!/bin/bash
# tools/train/physics_report.py --quick: every step of the trigger-level physics report (the
# fake-rate benchmark of every trigger in both conditions, the equal-rate thresholds, the run
# files, the replays, the document) on tiny samples, then the document is checked against the
# raw results independently: the equal-rate threshold of each trigger recomputed from the
# benchmark's JSON, each efficiency cell from replay's own JSON report, and the fake counts.
set -euo pipefail
bin=${LARTRIG_BINARY_DIR:?LARTRIG_BINARY_DIR not set}
src=${LARTRIG_SOURCE_DIR:?LARTRIG_SOURCE_DIR not set}
py=/usr/bin/python3
$py -c "import numpy" 2>/dev/null || { echo "SKIP: numpy missing"; exit 77; }
[ -x "$bin/bench/bench_fakerate" ] || { echo "SKIP: bench_fakerate not built"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

start=$(date +%s)
rc=0
$py "$src/tools/train/physics_report.py" --quick --build "$bin" --out "$tmp/out" \
    --doc "$tmp/physics.md" >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 0 ] || { cat "$tmp/log" >&2; fail "physics_report exited $rc"; }
echo "quick report in $(($(date +%s) - start)) s"

$py - "$tmp/out" "$tmp/physics.md" <<'PY'
import glob, json, os, re, sys
out, doc_path = sys.argv[1:3]
doc = open(doc_path).read()
def fail(msg):
    print("FAIL:", msg); sys.exit(1)
for section in ("## Verdict", "## What counts", "## Fake rate, measured",
                "## Thresholds at equal fake rate", "## Efficiency vs energy at equal fake rate",
                "## Seeds, kept apart"):
    if section not in doc:
        fail(f"missing section {section}")
if "Smoke run" not in doc:
    fail("a --quick document must say it is a smoke run")
nom = {"triggers": []}  # every nominal bench pass (one per column length)
for path in glob.glob(os.path.join(out, "fakerate_nominal_*.json")):
    if "_budget" in path:  # the budget samples (raised rates): checked below
        continue
    nom["triggers"] += json.load(open(path))["triggers"]
if not nom["triggers"]:
    fail("no nominal fake-rate result")
# Equal-rate threshold, recomputed: the lowest grid point above which no scan point has a fake.
eq = {}
for t in nom["triggers"]:
    name = os.path.basename(t["config"])[:-5]
    grid = t["scan"][1:]
    pick = None
    for s in reversed(grid):
        if s["fakes"]:
            break
        pick = int(s["set"]["single.min_score"])
    if pick is None:
        pick = int(grid[-1]["set"]["single.min_score"])
    if name == "default":  # the installed configuration, at its own thresholds
        if open(os.path.join(out, "default_equal.conf")).read() != \
                open(os.path.join(out, "default.conf")).read():
            fail("the embedded default must be replayed as it is")
        continue
    eq[name] = pick
    conf = open(os.path.join(out, f"{name}_equal.conf")).read()
    for grp in ("single", "coincidence"):
        m = re.search(grp + r" = \{[^}]*?min_score = (-?\d+);", conf)
        if not m or int(m.group(1)) != pick:
            fail(f"{name}: {grp}.min_score in its equal-rate configuration is not {pick}")
labels = {"cnn": "CNN", "boxsum": "3x3 charge sum", "tp": "TP chain",
          "default": "embedded default"}
labels = {k: v for k, v in labels.items() if any(
    t["config"].endswith(f"/{k}.conf") for t in nom["triggers"])}
for name, T in eq.items():
    if not re.search(rf"\| {re.escape(labels[name])} \| [^|]*\| -?\d+ \| {T} \|", doc):
        fail(f"{name}: equal-rate threshold {T} not in the thresholds table")
    row = next(s for s in nom["triggers"] if s["config"].endswith(f"/{name}.conf"))
    sc = next(s for s in row["scan"][1:] if int(s["set"]["single.min_score"]) == T)
    if not re.search(rf"\| {re.escape(labels[name])} \| equal rate \| {T} / {T} \| nominal \| {sc['fakes']}[ |]", doc):
        fail(f"{name}: fake count {sc['fakes']} at {T} not in the fake-rate table")
# The fake-rate budget: every raised-rate sample of the embedded default in the table with its
# own fakes (the configured row) and its exposure = rate factor x cell-seconds.
if "## Fake-rate budget by background kind" not in doc:
    fail("missing section: fake-rate budget")
factors = {"0": 1000, "1": 1000, "2": 30, "3": 1}
nb = 0
for path in glob.glob(os.path.join(out, "fakerate_*_budget*_*.json")):
    m = re.search(r"fakerate_(nominal|plus30pct)_budget(\d)_", path)
    cond = "nominal" if m.group(1) == "nominal" else "+30%"
    res = json.load(open(path))
    row = next((t for t in res["triggers"] if t["config"].endswith("/default.conf")), None)
    if row is None:
        continue
    fakes = row["scan"][0]["fakes"]
    exp = factors[m.group(2)] * res["cell_seconds"]
    pat = (rf"\| embedded default \| {row['single']['min_score']} \| {re.escape(cond)} \| [^|]+ \| "
           rf"{factors[m.group(2)]} \| {res['cell_seconds']:.4g} \| {exp:.4g} \| {fakes} \|")
    if not re.search(pat, doc):
        fail(f"budget sample {os.path.basename(path)}: no table row with {fakes} fakes, "
             f"exposure {exp:.4g}")
    nb += 1
if nb != 8:
    fail(f"{nb} budget samples of the embedded default, expected 8 (4 kinds x 2 conditions)")
# Efficiency cells from replay's JSON reports.
n = 0
for rep in glob.glob(os.path.join(out, "eff_*_*.json")):
    base = os.path.basename(rep)[:-5]
    m = re.match(r"eff_(\d)_(le|he)(\d+)_(\w+)$", base)
    if not m:
        continue
    ci, k, mev, name = int(m.group(1)), m.group(2), m.group(3), m.group(4)
    kind = "low_energy" if k == "le" else "high_energy"
    r = json.load(open(rep))
    found = sum(x["found"] for x in r["efficiency"] if x["kind"] == kind)
    total = sum(x["total"] for x in r["efficiency"] if x["kind"] == kind)
    if total == 0:
        fail(f"{base}: no injected deposit in replay's truth")
    cond = ["### nominal", "### +30%"][ci]
    part = doc[doc.index(cond):]
    what = "electrons" if kind == "low_energy" else "high-energy events"
    line = next(l for l in part.split("\n") if l.startswith(f"| {mev} MeV {what} |"))
    cells = [c.strip() for c in line.strip("|").split("|")][1:]
    col = list(labels).index(name)
    if not cells[col].startswith(f"{found}/{total} = "):
        fail(f"{base}: document says '{cells[col]}', replay found {found}/{total}")
    n += 1
if n != 4 * len(labels):
    fail(f"expected {4 * len(labels)} replay reports (2 energies x 2 conditions x "
         f"{len(labels)} triggers), saw {n}")
print("ok: thresholds, fake counts and", n, "efficiency cells match the raw results")
PY
