#!/usr/bin/python3
"""Trigger-level comparison of the default trigger (since issue 15 the 3x3 charge sum at the working
point of docs/training.md), the trained CNN, the 3x3 charge-sum baseline at its own threshold and
(with --tp) the TP/TA baseline, all through trigd's own pipeline (`trigctl replay`: kernel,
aggregator, readout, records) on the same simulated files of a held-out seed, judged by replay's
trigger-level truth (docs/replay.md).

  /usr/bin/python3 tools/train/compare_baselines.py [--build build] [--out out/compare]
                   [--energies 5,7,10] [--events 12] [--cells 2] [--seed 515151] [--plus30]
                   [--cnn 200,1,2,200,1300,3500] [--boxsum-threshold 400]
                   [--boxsum-single 400,800,1200,1600] [--reuse]
                   [--tp] [--tp-single 150,200,250,300] [--tp-coincidence 100]

Per energy: one run file of `cells` full cells (2560 channels) with `events` electrons of that
energy injected per cell 15 ms apart, the cells staggered so that every event is alone in time
(default backgrounds and detector effects of the simulator; `--plus30`: every background rate
and every noise knob x 1.3; no other signal), replayed with (a) the embedded trigd configuration
(default weights and thresholds), (b) the CNN (kernels/weights/cnn.ltw) with `--cnn` = kernel
threshold, gap_w, gap_t, single.min_score, single.min_adc_sum, coincidence.min_score (its scores
are logits x 64; the default is its setting at the fake-rate limit on the tuning seeds,
docs/training.md "Working point"), (c) kernels/weights/boxsum.ltw with its kernel threshold (and
coincidence min_score) from --boxsum-threshold and single.min_score from each value of
--boxsum-single (min_adc_sum 0, gaps 1 / 2: the baseline as first compared). With --tp also (d)
the TP/TA baseline (kernel.algorithm = "tp", docs/kernel.md "TP/TA baseline"): coincidence
min_score from --tp-coincidence and single.min_score from each value of --tp-single, in its score
units (10 ADC x samples: ~50 per MeV; min_adc_sum 0). Prints efficiency with a 68%
Clopper-Pearson interval per energy and trigger, and the fake triggers of each trigger over all
files. Small samples: the fake rates that matter (< 0.05 Hz per 150-cell module) cannot be
measured here; docs/training.md says how the working point's rate was estimated.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def beta_inv(p, a, b):
    """Inverse of the regularised incomplete beta function by bisection (no scipy)."""
    def ibeta(x):
        # continued fraction (Numerical Recipes betacf), enough for these small counts
        if x <= 0:
            return 0.0
        if x >= 1:
            return 1.0
        lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x)
        bt = math.exp(lbt)

        def cf(x, a, b):
            qab, qap, qam = a + b, a + 1, a - 1
            c, d = 1.0, 1 - qab * x / qap
            d = 1 / (d if abs(d) > 1e-300 else 1e-300)
            h = d
            for m in range(1, 300):
                m2 = 2 * m
                aa = m * (b - m) * x / ((qam + m2) * (a + m2))
                d = 1 + aa * d
                d = 1 / (d if abs(d) > 1e-300 else 1e-300)
                c = 1 + aa / c if abs(c) > 1e-300 else 1e300
                h *= d * c
                aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
                d = 1 + aa * d
                d = 1 / (d if abs(d) > 1e-300 else 1e-300)
                c = 1 + aa / c if abs(c) > 1e-300 else 1e300
                de = d * c
                h *= de
                if abs(de - 1) < 1e-12:
                    break
            return h
        if x < (a + 1) / (a + b + 2):
            return bt * cf(x, a, b) / a
        return 1 - bt * cf(1 - x, b, a) / b
    lo, hi = 0.0, 1.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if ibeta(mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def interval(k, n, cl=0.68):
    a = (1 - cl) / 2
    lo = 0.0 if k == 0 else beta_inv(a, k, n - k + 1)
    hi = 1.0 if k == n else beta_inv(1 - a, k + 1, n - k)
    return lo, hi


def set_key(conf, path, value):
    """conf (trigd --print-default-config: one key per line, groups opened by `name = {`) with
    the key at dotted path set to value (written as in the file); fails if the key is not there."""
    parts, pos = path.split("."), 0
    for g in parts[:-1]:
        m = re.compile(r"^\s*%s = \{\s*$" % re.escape(g), re.M).search(conf, pos)
        assert m, f"no group {g} for {path}"
        pos = m.end()
    m = re.compile(r"^(\s*%s = ).*;$" % re.escape(parts[-1]), re.M).search(conf, pos)
    assert m, f"no key {path}"
    return conf[:m.start()] + m.group(1) + value + ";" + conf[m.end():]


def derive(base, weights, threshold, gap_w, gap_t, single, adc, coinc):
    """The printed embedded configuration with another network and its thresholds."""
    for path, value in (("kernel.weights", '"%s"' % weights), ("kernel.threshold", threshold),
                        ("kernel.gap_w", gap_w), ("kernel.gap_t", gap_t),
                        ("trigger.single.min_score", single),
                        ("trigger.single.min_adc_sum", adc),
                        ("trigger.coincidence.min_score", coinc)):
        base = set_key(base, path, str(value))
    return base


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "compare"))
    ap.add_argument("--energies", default="5,7,10")
    ap.add_argument("--events", type=int, default=12, help="per cell and energy")
    ap.add_argument("--cells", type=int, default=2)
    ap.add_argument("--seed", type=int, default=515151)
    ap.add_argument("--plus30", action="store_true",
                    help="every background rate and noise knob x 1.3 (the +30%% condition)")
    ap.add_argument("--cnn", default="200,1,2,200,1300,3500",
                    help="CNN: kernel threshold, gap_w, gap_t, single min_score, min_adc_sum, "
                    "coincidence min_score")
    ap.add_argument("--boxsum-threshold", type=int, default=400)
    ap.add_argument("--boxsum-single", default="400,800,1200,1600",
                    help="single.min_score values to try for the charge sum (comma list)")
    ap.add_argument("--tp", action="store_true", help="also the TP/TA baseline (kernel.algorithm tp)")
    ap.add_argument("--tp-single", default="150,200,250,300",
                    help="single.min_score values to try for the TP chain (comma list)")
    ap.add_argument("--tp-coincidence", type=int, default=100,
                    help="coincidence.min_score for the TP chain")
    ap.add_argument("--reuse", action="store_true", help="keep existing simulated files")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    trigctl = os.path.join(a.build, "tools", "trigctl")
    trigd = os.path.join(a.build, "daemon", "trigd")
    base = subprocess.run([trigd, "--print-default-config"], check=True, capture_output=True,
                          text=True).stdout
    def write(name, text):
        path = os.path.join(a.out, name + ".conf")
        with open(path, "w") as f:
            f.write(text)
        return path
    confs = [("default", write("default", base))]
    cnn = [int(x) for x in a.cnn.split(",")]
    confs.append(("cnn", write("cnn", derive(
        base, os.path.join(ROOT, "kernels", "weights", "cnn.ltw"), *cnn))))
    for single in [int(x) for x in a.boxsum_single.split(",")]:
        box = derive(base, os.path.join(ROOT, "kernels", "weights", "boxsum.ltw"),
                     a.boxsum_threshold, 1, 2, single, 0, a.boxsum_threshold)
        confs.append((f"boxsum single>{single}", write(f"boxsum{single}", box)))
    for single in [int(x) for x in a.tp_single.split(",")] if a.tp else []:
        tp = set_key(base, "kernel.algorithm", '"tp"')
        tp = set_key(tp, "trigger.single.min_score", str(single))
        tp = set_key(tp, "trigger.single.min_adc_sum", "0")
        tp = set_key(tp, "trigger.coincidence.min_score", str(a.tp_coincidence))
        path = os.path.join(a.out, f"tp{single}.conf")
        with open(path, "w") as f:
            f.write(tp)
        confs.append((f"tp single>{single}", path))
    rows = []
    for e in [float(x) for x in a.energies.split(",")]:
        path = os.path.join(a.out, f"le{e:g}{'_plus30' if a.plus30 else ''}.h5")
        seconds = 0.02 + 0.015 * a.events + 0.01
        if not (a.reuse and os.path.exists(path)):
            cmd = [trigctl, "sim", "-o", path, "--force", "--seed", str(a.seed + int(e * 10)),
                   "--cells", str(a.cells), "--channels", "2560", "--seconds", f"{seconds:.3f}",
                   "--le-rate", "0", "--he-rate", "0", "--cosmic-rate", "0"]
            if a.plus30:
                # simulator defaults x 1.3 (trigctl sim --help lists them); --background-scale
                # applies after the knobs
                cmd += ["--set", "noise_collection=3.9", "--set", "noise_induction=4.55",
                        "--set", "coherent_noise=1.3", "--set", "lowfreq_noise=1.3",
                        "--background-scale", "1.3"]
            for c in range(a.cells):
                for k in range(a.events):
                    # cells staggered: each event alone in time, so no coincidence of two
                    # injected events helps the trigger
                    t = 0.02 + 0.015 * k + 0.015 * c / a.cells
                    cmd += ["--inject", f"{c}:le:{e:g}:{t:.4f}"]
            t0 = time.time()
            run(cmd, stdout=subprocess.DEVNULL)
            print(f"simulated {path} in {time.time() - t0:.0f} s", file=sys.stderr)
        for name, conf in confs:
            rep = os.path.join(a.out, f"{os.path.basename(path)[:-3]}_{os.path.basename(conf)[:-5]}.json")
            t0 = time.time()
            run([trigctl, "replay", path, "-c", conf, "--json", "-q", "--report", rep],
                stdout=subprocess.DEVNULL)
            doc = json.load(open(rep))
            found = sum(r["found"] for r in doc["efficiency"] if r["kind"] == "low_energy")
            total = sum(r["total"] for r in doc["efficiency"] if r["kind"] == "low_energy")
            lo, hi = interval(found, total)
            cs = doc["data_seconds"] * a.cells
            rows.append(dict(energy=e, trigger=name, found=found, total=total, lo=lo, hi=hi,
                             fakes=doc["fake_triggers"], fake_bkg=doc["fake_background"],
                             cell_seconds=cs, inhibited=doc["inhibited_count"],
                             wall=time.time() - t0))
            print(f"{e:g} MeV {name}: {found}/{total}, fakes {doc['fake_triggers']} in {cs:.2f} "
                  f"cell-s", file=sys.stderr)
    energies = sorted({r["energy"] for r in rows})
    print("| trigger | " + " | ".join(f"{e:g} MeV" for e in energies) +
          " | fake triggers (on radiologicals) / cell-seconds | inhibited |")
    print("|---|" + "---|" * len(energies) + "---|---|")
    for name, _ in confs:
        rs = [r for r in rows if r["trigger"] == name]
        cells = []
        for e in energies:
            r = next(r for r in rs if r["energy"] == e)
            cells.append(f"{r['found']}/{r['total']} = {100 * r['found'] / max(r['total'], 1):.0f}% "
                         f"({100 * r['lo']:.0f}-{100 * r['hi']:.0f}%)")
        fakes = sum(r["fakes"] for r in rs)
        bkg = sum(r["fake_bkg"] for r in rs)
        cs = sum(r["cell_seconds"] for r in rs)
        print(f"| {name} | " + " | ".join(cells) +
              f" | {fakes} ({bkg}) / {cs:.2f} | {sum(r['inhibited'] for r in rs)} |")


if __name__ == "__main__":
    main()
