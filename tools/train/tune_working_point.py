#!/usr/bin/python3
"""Choose a trigger working point on tuning seeds (docs/training.md "Working point", issue 15).

  /usr/bin/python3 tools/train/tune_working_point.py [--build build] [--out out/tune]
        [--weights kernels/weights/default.ltw] [--threshold 250] [--gaps 3,3]
        [--scores 500,550,600] [--adc 725,750,800] [--plus30] [--reuse]
        [--tp] [--set KEY=VALUE ...] [--tag NAME]

--tp tunes the TP chain (kernel.algorithm "tp"; --threshold is then kernel.tp.min_score and the
scores are its units, use --adc 0); --set changes any other key of the replayed configuration
(e.g. kernel.tp.downsample=2), --tag names its reports so that configurations can share the
simulated files (--reuse).

Simulates (tuning seeds only, never used for evaluation): 5, 7 and 10 MeV electrons (18 per cell,
2 full cells, seeds 710005 / 710007 / 710010), and a background file with the rare radiological
backgrounds enriched (seed 720001, 2 cells x 0.5 s: 222Rn chain x 300, 42Ar x 100 with every 42K
in the argon, i.e. 42K x 500, neutron captures 200 Hz per cell, i.e. x 30 300; with --plus30
instead seed 720011 with every noise knob x 1.3 and every background rate x 1.3 after the
enrichment, the +30% condition; the electron files stay nominal). Each file is
replayed once through trigd's pipeline with a permissive trigger (the kernel network, threshold
and gaps under study; single.min_score = the kernel threshold, min_adc_sum 0, no coincidence),
so every candidate ends up in a decision; the decisions' `candidate_rows` (docs/replay.md) are
matched to /Truth (same cell, wires within 4, time within 4096 ticks: replay's tolerances).
Then, for each (single.min_score, single.min_adc_sum), it prints the electrons found and the
background candidates that would fire, by kind, and a module (150 cells) rate: counts on the
enriched file divided by the enrichment, a candidate overlapping two enriched decays (pile-up
the enrichment creates) divided by a further 100, unmatched (noise) candidates over all files.
Zero counts mean a rate below the sample's reach (one 222Rn-chain candidate = 0.5 Hz), not zero:
docs/training.md extrapolates the tail.
"""
import argparse
import json
import os
import subprocess
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from compare_baselines import derive, set_key  # noqa: E402
from truth import truth_rows  # noqa: E402

WIRE_TOL, TIME_TOL = 4, 4096
ENRICH = {4: 500, 6: 300, 7: 30303}  # truth kind -> factor in the background file
BKG_SETS = ["--set", "rn222_bq_per_kg=0.3", "--set", "ar42_bq_per_kg=0.0092",
            "--set", "k42_in_argon_fraction=1.0", "--set", "ncapture_rate_hz=200"]


def simulate(trigctl, path, seed, seconds, extra):
    subprocess.run([trigctl, "sim", "-o", path, "--force", "--seed", str(seed), "--cells", "2",
                    "--channels", "2560", "--seconds", f"{seconds:.3f}", "--le-rate", "0",
                    "--he-rate", "0", "--cosmic-rate", "0"] + extra, check=True,
                   stdout=subprocess.DEVNULL)


def candidates(doc):
    rows = [r for t in doc["triggers"] + doc["inhibited"] for r in t["candidate_rows"]]
    return np.unique(np.array(rows, dtype=np.int64).reshape(-1, 7), axis=0)


def match(c, tr):
    """Per candidate: the most energetic overlapping deposit that is not 39Ar/85Kr (-1: none),
    and how many deposits above 0.5 MeV overlap it."""
    best, n_over = np.full(len(c), -1), np.zeros(len(c), dtype=int)
    t0s, t1s = tr["time"].astype(np.int64), tr["time_end"].astype(np.int64)
    for i, (cell, w0, w1, t0, t1, _, _) in enumerate(c):
        m = ((tr["cell"] == cell) & (tr["channel_start"] <= w1 + WIRE_TOL) &
             (tr["channel_end"] + WIRE_TOL >= w0) & (t0s <= t1 + TIME_TOL) &
             (t1s + TIME_TOL >= t0) & (tr["kind"] != 0) & (tr["kind"] != 5))
        idx = np.nonzero(m)[0]
        n_over[i] = int((tr["energy_mev"][idx] > 0.5).sum())
        if len(idx):
            best[i] = idx[np.argmax(tr["energy_mev"][idx])]
    return best, n_over


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "tune"))
    ap.add_argument("--weights", default=os.path.join(ROOT, "kernels", "weights", "default.ltw"))
    ap.add_argument("--threshold", type=int, default=250, help="kernel candidate threshold")
    ap.add_argument("--gaps", default="3,3", help="kernel gap_w,gap_t")
    ap.add_argument("--scores", default="500,550,600", help="single.min_score values")
    ap.add_argument("--adc", default="725,750,800", help="single.min_adc_sum values")
    ap.add_argument("--plus30", action="store_true", help="the +30%% background file")
    ap.add_argument("--tp", action="store_true",
                    help="the TP chain (kernel.algorithm tp) instead of a network: --threshold is "
                    "kernel.tp.min_score, --weights and --gaps are ignored")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="another configuration key (e.g. kernel.tp.adj_wires=20); repeatable")
    ap.add_argument("--tag", default="", help="name of this configuration's replay reports")
    ap.add_argument("--reuse", action="store_true", help="keep existing simulated files")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    trigctl = os.path.join(a.build, "tools", "trigctl")
    base = subprocess.run([os.path.join(a.build, "daemon", "trigd"), "--print-default-config"],
                          check=True, capture_output=True, text=True).stdout
    gw, gt = (int(x) for x in a.gaps.split(","))
    conf = derive(base, os.path.abspath(a.weights), a.threshold, gw, gt, a.threshold, 0, 32767)
    conf = conf.replace("coincidence = {\n    enabled = true;", "coincidence = {\n    enabled = false;")
    tag = f"{os.path.basename(a.weights)[:-4]}_t{a.threshold}_g{gw}{gt}"
    if a.tp:
        conf = set_key(conf, "kernel.algorithm", '"tp"')
        conf = set_key(conf, "kernel.tp.min_score", str(a.threshold))
        tag = f"tp_t{a.threshold}"
    for kv in a.set:
        k, v = kv.split("=", 1)
        conf = set_key(conf, k, v)
    tag = a.tag or tag
    conf_path = os.path.join(a.out, tag + ".conf")
    with open(conf_path, "w") as f:
        f.write(conf)
    files = {}
    for e in (5, 7, 10):
        inj = []
        for c in range(2):
            for k in range(18):
                inj += ["--inject", f"{c}:le:{e}:{0.02 + 0.015 * k + 0.0075 * c:.4f}"]
        files[f"le{e}"] = (710000 + e, 0.3, inj)
    if a.plus30:
        files["bkg_rich30"] = (720011, 0.5, BKG_SETS + [
            "--set", "noise_collection=3.9", "--set", "noise_induction=4.55",
            "--set", "coherent_noise=1.3", "--set", "lowfreq_noise=1.3",
            "--background-scale", "1.3"])
    else:
        files["bkg_rich"] = (720001, 0.5, BKG_SETS)
    L = {}
    for name, (seed, seconds, extra) in files.items():
        h5 = os.path.join(a.out, name + ".h5")
        rep = os.path.join(a.out, f"{name}_{tag}.json")
        if not os.path.exists(rep):
            if not (a.reuse and os.path.exists(h5)):
                simulate(trigctl, h5, seed, seconds, extra)
            subprocess.run([trigctl, "replay", h5, "-c", conf_path, "--json", "-q", "--report",
                            rep], check=True, stdout=subprocess.DEVNULL)
        doc = json.load(open(rep))
        with h5py.File(h5, "r") as f:
            tr = truth_rows(f)
        c = candidates(doc)
        best, n_over = match(c, tr)
        kind = np.where(best >= 0, tr["kind"][np.maximum(best, 0)], -1)
        L[name] = (doc["data_seconds"] * 2, tr, c, best, kind, n_over)
    cs_all = sum(v[0] for v in L.values())
    print(f"| {tag}: min_score | min_adc_sum | 5 MeV | 7 MeV | 10 MeV | background candidates "
          "(kind: count; pile = two enriched decays) | module rate estimate (Hz) |")
    print("|---|---|---|---|---|---|---|")
    for S in (int(x) for x in a.scores.split(",")):
        for A in (int(x) for x in a.adc.split(",")):
            eff = []
            for e in (5, 7, 10):
                _, tr, c, best, kind, _ = L[f"le{e}"]
                ok = set(best[(kind == 1) & (c[:, 5] >= S) & (c[:, 6] >= A)])
                eff.append(f"{len(ok)}/{int((tr['kind'] == 1).sum())}")
            rate, parts = 0.0, {}
            for name, (cs, tr, c, best, kind, n_over) in L.items():
                p = (c[:, 5] >= S) & (c[:, 6] >= A)
                for k in (4, 6, 7):
                    fac = ENRICH[k] if name.startswith("bkg_rich") else 1
                    pile = int((p & (kind == k) & (n_over >= 2)).sum()) if fac > 1 else 0
                    single = int((p & (kind == k)).sum()) - pile
                    rate += 150 * (single / fac + pile / fac / 100) / cs
                    parts[k] = parts.get(k, 0) + single
                    parts[f"{k} pile"] = parts.get(f"{k} pile", 0) + pile
                noise = int((p & (kind == -1)).sum())
                rate += 150 * noise / cs_all
                parts["noise"] = parts.get("noise", 0) + noise
            names = {4: "42Ar/42K", 6: "222Rn chain", 7: "n-capture"}
            def label(k):
                if not isinstance(k, str):
                    return names[k]
                return names[int(k.split()[0])] + " pile" if k.endswith(" pile") else k
            text = ", ".join(f"{label(k)}: {v}" for k, v in parts.items() if v)
            print(f"| | {S} | {A} | " + " | ".join(eff) + f" | {text or 'none'} | {rate:.3g} |")


if __name__ == "__main__":
    main()
