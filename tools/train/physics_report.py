#!/usr/bin/python3
"""Physics report of the trigger kernel: one command writes docs/physics.md.

  /usr/bin/python3 tools/train/physics_report.py [--build build] [--out out/physics]
                   [--weights kernels/weights/default.ltw] [--doc docs/physics.md] [--quick]

Steps (every number in the report comes from these runs; seeds and sizes are printed in it):
 1. `trigctl sim` writes a signal sample (low- and high-energy events at raised rates on top of
    the normal backgrounds) and a background-only sample (noise + 39Ar, nothing else).
 2. bench_kernel_eval (bench/bench_kernel_eval.c) runs the C kernel through the accelerator
    interface (cpu backend) over each file for a list of score thresholds and prints the
    candidates as JSON.
 3. Candidates are matched with /Truth: a signal deposit is found when a candidate of its cell
    overlaps its wire range (+- WIRE_TOL wires) and its time range (+- TIME_TOL ticks).
 4. Efficiency vs deposited energy per kind, background candidate rate per cell, ROC, and the
    working point are written as markdown.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import data as tdata  # noqa: E402
from truth import truth_rows  # noqa: E402

WIRE_TOL = 4  # wires
TIME_TOL = 8 * 16 * 32  # ticks: two score columns of a D=16, pt=4 network
CELLS_PER_MODULE = 150
MODULE_FAKE_LIMIT_HZ = 0.05
EXTRAP_SAFETY = 100.0  # the working point aims 100x below the limit on the extrapolated rate
WIRES_FULL_CELL = 960

LE_BINS = [5, 10, 15, 20, 30, 50]
PRESERVE_MARK = "<!-- sections below are not written by physics_report.py -->"
HE_BINS = [100, 300, 1000, 3000, 10000]


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    t0 = time.time()
    r = subprocess.run(cmd, check=True, **kw)
    return r, time.time() - t0


def simulate(trigctl, path, seed, cells, fembs, seconds, le_rate, he_rate, cosmic_rate,
             reuse=False):
    cmd = [trigctl, "sim", "-o", path, "--force", "--seed", str(seed), "--cells", str(cells),
           "--channels", str(128 * fembs), "--seconds", str(seconds),
           "--le-rate", str(le_rate), "--he-rate", str(he_rate), "--cosmic-rate", str(cosmic_rate)]
    stamp = path + ".cmd"
    if reuse and os.path.exists(path) and os.path.exists(stamp):
        with open(stamp) as f:
            prev = json.load(f)
        if prev["cmd"] == cmd:  # same simulation: the file is deterministic in its arguments
            return dict(cmd=" ".join(os.path.relpath(c, ROOT) if os.path.isabs(c) else c
                                     for c in cmd), seconds_wall=prev["seconds"])
    _, dt = run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(stamp, "w") as f:
        json.dump(dict(cmd=cmd, seconds=dt), f)
    return dict(cmd=" ".join(os.path.relpath(c, ROOT) if os.path.isabs(c) else c for c in cmd),
                seconds_wall=dt)


def evaluate_kernel(evalbin, weights, path, thresholds):
    r, dt = run([evalbin, "-w", weights, "-t", ",".join(str(t) for t in thresholds), path],
                stdout=subprocess.PIPE)
    out = json.loads(r.stdout)
    out["eval_wall"] = dt
    return out


def read_truth(path):
    import h5py

    with h5py.File(path, "r") as f:
        t = truth_rows(f)
    if t is None:
        return np.zeros(0, dtype=tdata.TRUTH_DTYPE)
    out = np.zeros(len(t), dtype=tdata.TRUTH_DTYPE)
    for n in tdata.TRUTH_DTYPE.names:
        out[n] = t[n]
    return out


def match(truth, cells, edge_ticks):
    """found[i] for each truth row (None when excluded near the data edges); unmatched
    candidate count per cell."""
    by_cell = {c["cell"]: c for c in cells}
    found = []
    used = {c["cell"]: np.zeros(len(c["candidates"]), dtype=bool) for c in cells}
    for row in truth:
        c = by_cell.get(int(row["cell"]))
        if c is None:
            found.append(None)
            continue
        if row["time"] < c["first_tick"] + edge_ticks or row["time_end"] > c["end_tick"] - edge_ticks:
            found.append(None)
            continue
        hit = False
        for k, cand in enumerate(c["candidates"]):
            if (cand["time_start"] - TIME_TOL <= row["time_end"] and
                    cand["time_end"] + TIME_TOL >= row["time"] and
                    cand["channel_start"] - WIRE_TOL <= row["channel_end"] and
                    cand["channel_end"] + WIRE_TOL >= row["channel_start"]):
                hit = True
                used[c["cell"]][k] = True
        found.append(hit)
    return found, used


def poisson_upper90(n):
    """90% CL upper limit on a Poisson mean given n observed (n = 0, 1, 2 exact; else approx)."""
    table = {0: 2.303, 1: 3.890, 2: 5.322, 3: 6.681}
    return table.get(n, n + 1.2816 * math.sqrt(n) + 1.0)


def cell_seconds(cells, skip_ticks=0):
    s = 0.0
    for c in cells:
        s += max(0, c["end_tick"] - c["first_tick"] - skip_ticks) / 62.5e6
    return s


def fmt_eff(k, n):
    if n == 0:
        return "-"
    return f"{100.0 * k / n:.1f}% ({k}/{n})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--weights", default=os.path.join(ROOT, "kernels", "weights", "default.ltw"))
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "physics"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "physics.md"))
    ap.add_argument("--thresholds", help="comma list (default: around the weights' threshold)")
    ap.add_argument("--quick", action="store_true", help="small samples (smoke test)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep run files in --out made by the same trigctl sim command")
    ap.add_argument("--sim-only", action="store_true", help="simulate the samples and stop")
    ap.add_argument("--sig-seconds", type=float, default=0.5)
    ap.add_argument("--bkg-seconds", type=float, default=1.0)
    ap.add_argument("--cells", type=int, default=2)
    ap.add_argument("--fembs", type=int, default=20)
    a = ap.parse_args()
    if a.quick:
        a.sig_seconds, a.bkg_seconds, a.cells, a.fembs = 0.2, 0.2, 1, 4
    os.makedirs(a.out, exist_ok=True)
    trigctl = os.path.join(a.build, "tools", "trigctl")
    evalbin = os.path.join(a.build, "bench", "bench_kernel_eval")
    sys.path.insert(0, HERE)
    import export

    net, wthr, wname, wcrc = export.read_weights(a.weights)
    if a.thresholds:
        thresholds = [int(t) for t in a.thresholds.split(",")]
    else:
        base = max(1, wthr)
        thresholds = sorted({max(1, int(base * f)) for f in (0.125, 0.25, 0.5, 0.75, 1, 1.5)})

    sig_path = os.path.join(a.out, "signal.h5")
    bkg_path = os.path.join(a.out, "background.h5")
    sims = dict(
        signal=simulate(trigctl, sig_path, 1001, a.cells, a.fembs, a.sig_seconds, 200.0, 40.0, 0.0,
                        a.reuse),
        background=simulate(trigctl, bkg_path, 2002, a.cells, a.fembs, a.bkg_seconds, 0.0, 0.0,
                            0.0, a.reuse))
    if a.sim_only:
        return
    ev_bkg = evaluate_kernel(evalbin, a.weights, bkg_path, thresholds)
    wires = a.fembs * 48
    scale = CELLS_PER_MODULE * WIRES_FULL_CELL / wires  # module = 150 full cells
    s_bkg = cell_seconds(ev_bkg["runs"][0]["cells"])
    # Extrapolation of the background rate beyond what the sample can measure: at the lowest
    # threshold T0 every background candidate has a peak score; the rate of candidates whose
    # peak exceeds T approximates the candidate rate at threshold T. Its tail is fitted with an
    # exponential (noise tails fall faster than that, so the extrapolation is conservative).
    r0 = min(ev_bkg["runs"], key=lambda r: r["threshold"])
    peaks = np.sort([c["peak_score"] for cell in r0["cells"] for c in cell["candidates"]])
    extrap = None
    if len(peaks) >= 10:
        tail = peaks[-max(10, len(peaks) // 5):]
        surv = np.arange(len(tail), 0, -1) / s_bkg * scale  # module rate with peak >= tail[i]
        slope, icpt = np.polyfit(tail.astype(float), np.log(surv), 1)
        if slope < 0:
            t_x = (math.log(MODULE_FAKE_LIMIT_HZ) - icpt) / slope
            t_s = (math.log(MODULE_FAKE_LIMIT_HZ / EXTRAP_SAFETY) - icpt) / slope
            extrap = dict(T0=r0["threshold"], n=len(peaks), n_tail=len(tail), slope=slope,
                          icpt=icpt, t_x=int(math.ceil(t_x)), t_safe=int(math.ceil(t_s)),
                          decade=math.log(10) / -slope)
    zero_meas = [r["threshold"] for r in ev_bkg["runs"]
                 if sum(len(c["candidates"]) for c in r["cells"]) == 0]
    if extrap:
        wp_t = max(extrap["t_safe"], min(zero_meas) if zero_meas else 0)
        wp_basis = (f"the threshold where the exponential extrapolation of the background tail "
                    f"gives a module fake rate {EXTRAP_SAFETY:.0f} times below the "
                    f"{MODULE_FAKE_LIMIT_HZ} Hz limit (threshold {extrap['t_safe']}; the limit itself "
                    f"is reached at {extrap['t_x']}), a margin for the extrapolation over several "
                    "decades; and not below the lowest threshold with no background candidate in "
                    "the sample")
    elif zero_meas:
        wp_t = min(zero_meas)
        wp_basis = ("the lowest threshold with no background candidate in the sample (too few "
                    "background candidates to extrapolate)")
    else:
        wp_t = max(thresholds)
        wp_basis = "the highest threshold tried (none is free of background candidates)"
    sig_thresholds = sorted(set(thresholds) | {wp_t})
    ev_sig = evaluate_kernel(evalbin, a.weights, sig_path, sig_thresholds)
    truth = read_truth(sig_path)
    bkg_truth = read_truth(bkg_path)
    D = 1 << net.d
    edge = 64 * D * 32  # the first/last 64 columns: pedestal learning, open candidates at the end

    sig_rows = truth[np.isin(truth["kind"], tdata.SIGNAL_KINDS)]
    bkg_by_t = {r["threshold"]: r for r in ev_bkg["runs"]}
    rows = []
    for r_sig in ev_sig["runs"]:
        T = r_sig["threshold"]
        found, used = match(sig_rows, r_sig["cells"], edge)
        found = np.array([-1 if f is None else int(f) for f in found])
        if T in bkg_by_t:
            n_bkg = sum(len(c["candidates"]) for c in bkg_by_t[T]["cells"])
            measured = True
        else:  # from the peak scores at T0 (see above)
            n_bkg = int((peaks > T).sum())
            measured = False
        rate = n_bkg / s_bkg
        rate_ul = poisson_upper90(n_bkg) / s_bkg
        ext = math.exp(extrap["icpt"] + extrap["slope"] * T) if extrap else None
        rows.append(dict(threshold=T, found=found, n_bkg=n_bkg, bkg_seconds=s_bkg,
                         measured=measured, rate=rate, rate_ul=rate_ul, module_rate=rate * scale,
                         module_ul=rate_ul * scale, module_extrap=ext,
                         unmatched_sig=int(sum((~u).sum() for u in used.values()))))
    wp = [r for r in rows if r["threshold"] == wp_t][0]

    def eff(row, sel):
        f = row["found"][sel]
        f = f[f >= 0]
        return int(f.sum()), len(f)

    kind, energy = sig_rows["kind"], sig_rows["energy_mev"]
    sel_he = (kind == tdata.KIND_HIGH) & (energy > 100)
    sel_le10 = (kind == tdata.KIND_LOW) & (energy >= 10)
    sel_le = kind == tdata.KIND_LOW

    L = []
    L.append("# Physics performance of the trigger kernel\n")
    L.append(f"Generated by `/usr/bin/python3 tools/train/physics_report.py` on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Do not edit by hand: rerun "
             f"the command (here {sum(x['seconds_wall'] for x in sims.values()) / 60:.0f} min to "
             f"simulate, {(ev_sig['eval_wall'] + ev_bkg['eval_wall']) / 60:.0f} min to run the "
             "kernel, on 2 shared cores; `--reuse` keeps the simulated files, `--quick` is a "
             "one-minute smoke run).\n")
    L.append("## How the numbers were produced\n")
    L.append(f"- Weights: `{os.path.relpath(a.weights, ROOT)}` (name \"{wname}\", CRC-32 "
             f"{wcrc:08x}, suggested threshold {wthr}); D = {D} samples per column, "
             f"{net.macs_per_input_pixel():.1f} MAC per input pixel.")
    for k, s in sims.items():
        L.append(f"- {k} sample: `{s['cmd']}` ({s['seconds_wall']:.0f} s to simulate)")
    L.append(f"- Cells of {a.fembs} boards ({a.fembs * 48} collection wires); {a.cells} cells per "
             f"sample; signal {a.sig_seconds} s, background {a.bkg_seconds} s per cell.")
    L.append(f"- Kernel: `bench/bench_kernel_eval` (C kernel, accelerator interface, cpu backend), "
             f"candidate gaps gap_w = {ev_sig['gap_w']}, gap_t = {ev_sig['gap_t']}; "
             f"{ev_sig['eval_wall'] + ev_bkg['eval_wall']:.0f} s for both samples and "
             f"{len(sig_thresholds)} thresholds.")
    L.append(f"- Matching: a signal deposit (truth row of kind low_energy / high_energy) is found "
             f"when a candidate of its cell overlaps its wire range within {WIRE_TOL} wires and its "
             f"time range within {TIME_TOL} ticks. Deposits within {edge} ticks of the start or "
             "end of the data are excluded (pedestal learning; candidates still open at the end).")
    L.append("- Background rate: every candidate of the background-only sample (noise + 39Ar) is "
             "fake. The module rate assumes the module trigger fires on any single candidate of "
             f"any of {CELLS_PER_MODULE} full cells (960 wires): rate per wire x 960 x 150. "
             "This is the worst case; a module trigger that needs more (e.g. two candidates or an "
             "ADC-sum cut) fakes less. Upper limits are 90% CL Poisson.\n")
    L.append(f"Truth in the signal sample: {int(sel_le.sum())} low-energy, "
             f"{int((kind == tdata.KIND_HIGH).sum())} high-energy, "
             f"{int((kind == tdata.KIND_COSMIC).sum())} cosmic deposits; 39Ar decays: "
             f"{int((truth['kind'] == tdata.KIND_AR39).sum())} (signal sample), "
             f"{int((bkg_truth['kind'] == tdata.KIND_AR39).sum())} (background sample).\n")

    L.append("## ROC: efficiency vs background rate as the threshold varies\n")
    L.append("| threshold | eff. high-energy > 100 MeV | eff. low-energy >= 10 MeV | eff. low-energy all "
             "| bkg candidates | rate per full cell (Hz) | module fake rate (Hz) | 90% CL upper limit (Hz) "
             "| extrapolated module rate (Hz) |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        L.append(f"| {r['threshold']} | {fmt_eff(*eff(r, sel_he))} | {fmt_eff(*eff(r, sel_le10))} | "
                 f"{fmt_eff(*eff(r, sel_le))} | {r['n_bkg']}{'' if r['measured'] else ' *'} | "
                 f"{r['n_bkg'] / r['bkg_seconds'] * WIRES_FULL_CELL / wires:.3g} | "
                 f"{r['module_rate']:.3g} | {r['module_ul']:.3g} | "
                 f"{'-' if r['module_extrap'] is None else format(r['module_extrap'], '.2g')} |")
    L.append("")
    L.append("\\* not run on the background sample: counted from the peak scores of the "
             "candidates at the lowest threshold.\n")
    if extrap:
        L.append(f"Extrapolation: {extrap['n']} background candidates at threshold {extrap['T0']}; "
                 f"the {extrap['n_tail']} with the highest peak scores fit an exponential "
                 f"survival rate falling a decade every {extrap['decade']:.1f} score units; it "
                 f"reaches {MODULE_FAKE_LIMIT_HZ} Hz per module at threshold {extrap['t_x']}. "
                 "This is a model, not a measurement: the sample measures rates down to "
                 f"~{poisson_upper90(0) / s_bkg * scale:.2g} Hz per module only.\n")
    L.append(f"## Working point: threshold {wp['threshold']}\n")
    L.append(f"Chosen as {wp_basis}.\n")
    he, le10 = eff(wp, sel_he), eff(wp, sel_le10)
    L.append("| target | reached |")
    L.append("|---|---|")
    L.append(f"| >= 99% efficiency, high-energy > 100 MeV | {fmt_eff(*he)} |")
    L.append(f"| >= 90% efficiency, low-energy electrons >= 10 MeV | {fmt_eff(*le10)} |")
    L.append(f"| module fake triggers < 0.05 Hz (150 cells, background only) | "
             f"{wp['module_rate']:.3g} Hz measured, < {wp['module_ul']:.3g} Hz at 90% CL"
             + ("" if wp["module_extrap"] is None else
                f", {wp['module_extrap']:.2g} Hz extrapolated")
             + " "
             f"({wp['n_bkg']} candidates in {wp['bkg_seconds']:.2f} cell-seconds of "
             f"{a.fembs * 48}-wire cells) |")
    L.append("")
    L.append("## Efficiency vs deposited energy at the working point\n")
    L.append("| kind | energy bin (MeV) | efficiency |")
    L.append("|---|---|---|")
    for name, k, bins in (("low_energy", tdata.KIND_LOW, LE_BINS), ("high_energy", tdata.KIND_HIGH, HE_BINS)):
        for lo, hi in zip(bins[:-1], bins[1:]):
            sel = (kind == k) & (energy >= lo) & (energy < hi)
            L.append(f"| {name} | {lo}-{hi} | {fmt_eff(*eff(wp, sel))} |")
    sel = kind == tdata.KIND_COSMIC
    if sel.any():
        L.append(f"| cosmic | all | {fmt_eff(*eff(wp, sel))} |")
    L.append("")
    L.append("Unmatched candidates in the signal sample at the working point (39Ar, noise, or "
             f"pieces of signal outside the matching window): {wp['unmatched_sig']}.\n")
    L.append("## Caveats\n")
    L.append("- The background rate at the working point is an extrapolation: "
             f"{s_bkg:.1f} cell-seconds of noise + 39Ar can only show rates above "
             f"~{poisson_upper90(0) / s_bkg * scale:.2g} Hz per module directly; proving 0.05 Hz "
             "needs ~1e4 cell-seconds (a farm, or importance sampling of the noise tail).")
    L.append("- The simulator (docs/simulation.md) models white, low-frequency and board-coherent "
             "noise, dead, noisy and sticky-code channels, the RC undershoot, and the DUNE "
             "radiological model's 39Ar, 42Ar/42K, 85Kr, 222Rn chain and neutron captures; no "
             "space charge, no field response beyond the collection Gaussian. Real detectors may "
             "have further tails that would raise the fake rate; the threshold would then be set "
             "from data the same way (this script on a background run).")
    L.append("- Efficiencies count a deposit as found when any candidate overlaps it; the "
             "module trigger algorithm (daemon config) decides what fires a record.")
    L.append("- Samples use raised signal rates (200 low-energy and 40 high-energy events per "
             "cell per second) to collect statistics; overlapping events are rare at these rates "
             "(one per ~5 ms per cell) but not excluded.\n")
    # Sections written by other tools (compare_baselines.py) follow PRESERVE_MARK: kept as
    # they are when this report is regenerated.
    kept = ""
    if os.path.exists(a.doc):
        old = open(a.doc).read()
        if PRESERVE_MARK in old:
            kept = old[old.index(PRESERVE_MARK):]
    with open(a.doc, "w") as f:
        f.write("\n".join(L) + "\n" + (("\n" + kept) if kept else ""))
    print("\n".join(L))


if __name__ == "__main__":
    main()
