#!/usr/bin/python3
"""Trigger-level physics report: one command writes docs/physics.md (issue 15).

  /usr/bin/python3 tools/train/physics_report.py [--build build] [--out out/physics]
                   [--doc docs/physics.md] [--fake-cell-seconds 1000] [--events 36]
                   [--threads 2] [--reuse] [--quick]

Every number in the report comes from these runs (nothing is typed in by hand):
 1. Fake rate (bench/fakerate.py -> build/bench/bench_fakerate): the real kernel and the real
    module trigger on background-only data of a 150-cell module (fast background path), for
    every trigger (the CNN, the 3x3 charge sum, the TP chain when the build has it), in the
    nominal and the +30% condition, over --fake-cell-seconds each.
 2. Equal fake rate: each trigger's single.min_score = coincidence.min_score = T, T the lowest
    threshold of its grid above which the nominal sample holds no fake trigger at all.
 3. Efficiency: per energy point (5, 7, 10, 15, 20, 30, 50 MeV electrons; 150, 300, 1000 MeV
    high-energy events) and condition, one `trigctl sim` run file of 2 full cells with --events
    events injected alone in time, replayed by `trigctl replay` with each trigger's equal-rate
    configuration and judged by replay's trigger-level truth (docs/replay.md).
 4. docs/physics.md: the tables, the goals, and what was run (commands, seeds, runtime, load).

--reuse keeps results of earlier runs made by the identical command with identical weights
(run files and bench JSON carry a stamp); --quick is a smoke run of every step on tiny samples
(tests/tools/test_physics_report.sh).
"""
import argparse
import concurrent.futures
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "bench"))
import fakerate  # noqa: E402  (bench/fakerate.py: the fake-rate benchmark and its helpers)
from compare_baselines import interval  # noqa: E402  (68% Clopper-Pearson)

ELECTRONS_MEV = [5, 7, 10, 15, 20, 30, 50]
HIGH_MEV = [150, 300, 1000]
SEED_BASE = 9150000  # every seed of this report is SEED_BASE + something below 10000
BUDGET_SEED = 5000  # the fake-rate budget samples: SEED_BASE + BUDGET_SEED + 10 x condition + kind
GOALS = dict(high=0.99, e10=0.90, e5=0.50, fake_hz=0.05)
EVENT_GAP_S = 0.010  # between injected events of one cell; cells staggered by half of it
LEAD_S = 0.02  # data before the first event (kernel pedestals, no edge effects)


def rel(p):
    return os.path.relpath(p, ROOT) if isinstance(p, str) and p.startswith(ROOT) else p


def stamp_ok(path, key):
    st = path + ".stamp"
    if not (os.path.exists(path) and os.path.exists(st)):
        return False
    with open(st) as f:
        return f.read() == key


def write_stamp(path, key):
    with open(path + ".stamp", "w") as f:
        f.write(key)


def bench_run(a, sub, path, seconds, seed, noise, bkg, tag, sim_args=()):
    """One bench_fakerate pass over the triggers `sub` (fakerate.run), its result kept at `path`
    and reused with --reuse when the same run (cells, seconds, seed, condition, simulator
    options, each trigger's weights and configuration) made it."""
    key = json.dumps([a.fake_cells, seconds, seed, noise, bkg] + ([sim_args] if sim_args else [])
                     + [{n: (t["crc"], t["config_text"]) for n, t in sub.items()}])
    if a.reuse and stamp_ok(path, key):
        with open(path) as f:
            return json.load(f)
    r = fakerate.run(a.build, sub, a.out, a.fake_cells, seconds, seed, noise, bkg, a.threads, tag,
                     sim_args)
    with open(path, "w") as f:
        json.dump(r, f)
    write_stamp(path, key)
    return r


def tp_group(trigs):
    """The triggers that run the TP chain (4-sample columns: a bench pass of their own)."""
    return [n for n in trigs if trigs[n]["edits"].get("kernel.algorithm") == "tp"
            or (n == "default" and trigs[n]["weights"] is None)]


def budget(a, trigs):
    """The fake-rate budget samples (bench/fakerate.py BUDGET_KINDS) of the TP chain's group
    (the embedded default's), nominal and +30%, --budget-cell-seconds each, cached like
    fake_rates; each kind's sample is its share of --budget-cell-seconds. Returns cond -> kind
    label -> bench result; {} without a TP group."""
    group = tp_group(trigs)
    if not group or not a.budget_cell_seconds:
        return {}
    sub = {n: trigs[n] for n in group}
    out = {}
    for k, (cond, noise, bkg) in enumerate(fakerate.CONDITIONS):
        out[cond] = {}
        for i, kind in enumerate(fakerate.BUDGET_KINDS):
            seconds = kind[3] * a.budget_cell_seconds / a.fake_cells + 0.005
            sim_args = fakerate.budget_sim_args(kind)
            seed = SEED_BASE + BUDGET_SEED + 10 * k + i
            tag = (cond.replace("%", "pct").replace("+", "plus") + "_budget" + str(i) + "_" +
                   "_".join(group))
            path = os.path.join(a.out, f"fakerate_{tag}.json.report")
            out[cond][kind[0]] = bench_run(a, sub, path, seconds, seed, noise, bkg, tag, sim_args)
    return out


def fake_rates(a, trigs):
    """Nominal and +30% bench runs, one pass per group of triggers with the same column length
    (the TP chain's finer columns cost ~8x more to simulate: its own pass and cell-seconds).
    Cached with --reuse by command and weights. Returns cond -> dict(triggers=[bench results,
    each with its run's cells, module_seconds, cell_seconds], runs=[bench runs])."""
    tp = tp_group(trigs)
    groups = [[n for n in trigs if n not in tp], tp]
    results = {}
    for k, (cond, noise, bkg) in enumerate(fakerate.CONDITIONS):
        results[cond] = dict(triggers=[], runs=[])
        for gi, group in enumerate(g for g in groups if g):
            if group == tp:
                cs = a.tp_cell_seconds if k == 0 else a.tp_hot_cell_seconds
            else:
                cs = a.fake_cell_seconds if k == 0 else a.hot_cell_seconds
            seconds = cs / a.fake_cells + 0.005
            sub = {n: trigs[n] for n in group}
            tag = cond.replace("%", "pct").replace("+", "plus") + "_" + "_".join(group)
            out = os.path.join(a.out, f"fakerate_{tag}.json")
            r = bench_run(a, sub, out + ".report", seconds, SEED_BASE + 1 + k, noise, bkg, tag)
            for tr in r["triggers"]:
                tr.update(cells=r["cells"], module_seconds=r["module_seconds"],
                          cell_seconds=r["cell_seconds"])
                results[cond]["triggers"].append(tr)
            results[cond]["runs"].append(r)
    for t in trigs.values():  # the grid (set by fakerate.run; the same when reused)
        t["grid"] = fakerate.grid(t["kernel_threshold"])
    return results


def claimed(a, path, key, run_fn):
    """Run run_fn, which makes `path`, and stamp it with key. With --reuse an existing result of
    the same key is kept, and the work is claimed first (an O_EXCL file beside it), so that a
    second report process on the same out directory (tools/train/physics_report_helper.py)
    shares the runs instead of doing them twice: a claimed result is waited for. Returns True
    when run here."""
    if a.reuse:
        while True:
            if stamp_ok(path, key):
                return False
            try:
                os.close(os.open(path + ".claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                break
            except FileExistsError:
                time.sleep(1)
    try:
        run_fn()
        write_stamp(path, key)
    finally:
        if a.reuse:
            os.remove(path + ".claim")
    return True


def simulate(a, path, seed, kind, mev, n_events, noise, bkg):
    """A run file of 2 full cells: n_events per cell of (kind, mev), one every EVENT_GAP_S, the
    cells staggered so that every event is alone in time; default backgrounds and detector
    effects (scaled for the condition), no generated signal."""
    trigctl = os.path.join(a.build, "tools", "trigctl")
    seconds = LEAD_S + EVENT_GAP_S * n_events + 0.005
    cmd = [trigctl, "sim", "-o", path, "--force", "--seed", str(seed), "--cells", "2",
           "--channels", str(a.channels), "--seconds", f"{seconds:.3f}", "--le-rate", "0",
           "--he-rate", "0", "--cosmic-rate", "0", "--noise-scale", str(noise),
           "--background-scale", str(bkg)]
    for c in range(2):
        for k in range(n_events):
            t = LEAD_S + EVENT_GAP_S * k + EVENT_GAP_S / 2 * c
            cmd += ["--inject", f"{c}:{kind}:{mev:g}:{t:.4f}"]
    key = json.dumps(cmd)
    t0 = time.time()
    claimed(a, path, key, lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL))
    return cmd, time.time() - t0


def replay_key(a, path, conf):
    with open(conf) as f:
        text = f.read()
    with open(path + ".stamp") as f:
        sim = f.read()
    return json.dumps([conf, text, sim])


def replay(a, path, conf, report):
    trigctl = os.path.join(a.build, "tools", "trigctl")
    cmd = [trigctl, "replay", path, "-c", conf, "--json", "-q", "--report", report]
    t0 = time.time()
    claimed(a, report, replay_key(a, path, conf),
            lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL))
    with open(report) as f:
        return json.load(f), time.time() - t0


def efficiencies(a, trigs, confs):
    """rows[(cond, trigger, kind, mev)] = dict(found, total, lost, fakes, inhibited). The points
    run a.jobs at a time (each simulates its file, then replays it per trigger); the runs of one
    point are the same whatever the order."""
    rows, runs = {}, []
    points = [("le", "low_energy", e) for e in a.electrons] + \
             [("he", "high_energy", e) for e in a.high]
    work = [(ci, cond, noise, bkg, pi, kshort, kind, mev)
            for ci, (cond, noise, bkg) in enumerate(fakerate.CONDITIONS)
            for pi, (kshort, kind, mev) in enumerate(points)]

    def one(w):
        ci, cond, noise, bkg, pi, kshort, kind, mev = w
        seed = SEED_BASE + 100 + 20 * ci + pi
        path = os.path.join(a.out, f"eff_{ci}_{kshort}{mev:g}.h5")
        n = (a.events + 1) // 2
        cmd, dt_sim = simulate(a, path, seed, kshort, mev, n, noise, bkg)
        walls, out = {}, {}
        for name in trigs:
            rep, dt = replay(a, path, confs[name], path[:-3] + f"_{name}.json")
            walls[name] = dt
            eff = [r for r in rep["efficiency"] if r["kind"] == kind]
            out[(cond, name, kind, mev)] = dict(
                found=sum(r["found"] for r in eff), total=sum(r["total"] for r in eff),
                lost=sum(r.get("lost_to_inhibit", 0) for r in eff),
                fakes=rep["fake_triggers"], inhibited=rep["inhibited_count"],
                data_s=rep["data_seconds"])
        print(f"{cond} {kind} {mev:g} MeV: " + ", ".join(
            f"{n} {out[(cond, n, kind, mev)]['found']}/{out[(cond, n, kind, mev)]['total']}"
            for n in trigs), file=sys.stderr, flush=True)
        if not a.keep_files:
            os.remove(path)
        return out, dict(cond=cond, kind=kind, mev=mev, seed=seed, cmd=cmd, sim_s=dt_sim,
                         replay_s=walls)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        for out, run in ex.map(one, work):  # in order of `work`
            rows.update(out)
            runs.append(run)
    return rows, runs


def fmt_eff(r):
    if not r or not r["total"]:
        return "-"
    lo, hi = interval(r["found"], r["total"])
    s = f"{r['found']}/{r['total']} = {100 * r['found'] / r['total']:.0f}% ({100 * lo:.0f}-{100 * hi:.0f})"
    if r["lost"]:
        s += f", {r['lost']} lost to inhibit"
    return s


def main():
    t_start = time.time()
    load0 = os.getloadavg()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "physics"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "physics.md"))
    ap.add_argument("--fake-cell-seconds", type=float, default=1000.0,
                    help="nominal fake-rate sample of the CNN and the charge sum")
    ap.add_argument("--hot-cell-seconds", type=float, help="the same at +30%% (default: as nominal)")
    ap.add_argument("--tp-cell-seconds", type=float,
                    help="the TP chain's samples (default: as nominal)")
    ap.add_argument("--tp-hot-cell-seconds", type=float,
                    help="the TP chain's samples at +30%% (default: as its nominal)")
    ap.add_argument("--budget-cell-seconds", type=float, default=0.0,
                    help="the fake-rate budget's sample size by background kind, each kind "
                    "its share of it (bench/fakerate.py BUDGET_KINDS; 0: no budget, e.g. 150)")
    ap.add_argument("--events", type=int, default=36, help="per energy point (2 cells)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=1,
                    help="efficiency points simulated and replayed at the same time")
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--keep-files", action="store_true", help="keep the efficiency run files")
    ap.add_argument("--quick", action="store_true", help="tiny samples: a smoke run")
    a = ap.parse_args()
    a.fake_cells = fakerate.CELLS_PER_MODULE
    a.argv = sys.argv[1:]
    a.channels = 2560
    a.electrons, a.high = ELECTRONS_MEV, HIGH_MEV
    if a.quick:
        a.fake_cells, a.fake_cell_seconds, a.events, a.channels = 6, 0.15, 2, 512
        a.budget_cell_seconds = 0.06
        a.hot_cell_seconds = a.tp_cell_seconds = a.tp_hot_cell_seconds = None
        a.electrons, a.high = [10], [300]
    a.hot_cell_seconds = a.hot_cell_seconds or a.fake_cell_seconds
    a.tp_cell_seconds = a.tp_cell_seconds or a.fake_cell_seconds
    a.tp_hot_cell_seconds = a.tp_hot_cell_seconds or a.tp_cell_seconds
    os.makedirs(a.out, exist_ok=True)

    trigs = fakerate.trigger_definitions(a.build, ["cnn", "boxsum", "tp", "default"])
    t0 = time.time()
    fr = fake_rates(a, trigs)
    fr_budget = budget(a, trigs)
    t_fake = time.time() - t0
    nominal = fr["nominal"]
    eq = {}
    for name in trigs:
        tr = next(x for x in nominal["triggers"] if x["config"].endswith(f"/{name}.conf"))
        pick = fakerate.equal_rate_points(nominal)[tr["config"]]
        # No grid point is free of fakes (tiny samples): the highest threshold of the grid.
        eq[name] = pick["single"] if pick else trigs[name]["grid"][-1]
        if trigs[name].get("fixed"):  # the embedded default: at its own thresholds
            eq[name] = trigs[name]["single_min_score"]
    confs = {n: fakerate.write_config(t, a.out, f"{n}_equal",
                                      single=None if t.get("fixed") else eq[n],
                                      coincidence=None if t.get("fixed") else eq[n])
             for n, t in trigs.items()}
    t0 = time.time()
    eff, runs = efficiencies(a, trigs, confs)
    t_eff = time.time() - t0
    runtime = time.time() - t_start
    load1 = os.getloadavg()
    write_doc(a, trigs, fr, fr_budget, eq, eff, runs,
              dict(total=runtime, fake=t_fake, eff=t_eff, load=(load0, load1)))


def rate_at(trig_res, single, fixed=False):
    """The scan row of a trigger's threshold (its configured row when fixed)."""
    rows = fakerate.scan_rows(trig_res)
    return rows[0] if fixed else next(r for r in rows[1:] if r["single"] == single)


def budget_point(t, eq, name):
    """The threshold a budget row is read at: the configured row of the embedded default, the
    equal-rate threshold of the others."""
    return None if t.get("fixed") else eq[name]


def budget_total(rows):
    """(rate, summed 90% limits) over a trigger's raised-kind budget rows (the rest, a plain
    sample of a few hundred cell-seconds, bounds nothing useful by its count: it is judged by
    its highest score). The limits added up are cautious (above the limit of the sum)."""
    raised = [r for r in rows if r["knob"]]
    return sum(r["rate"] for r in raised), sum(r["ul"] for r in raised)


def rest_note(samples, name, point):
    """The rest sample in words, at a trigger's budget point: its highest candidate score against
    the threshold, and its own score tail extrapolated there (a model)."""
    r = next(x for x in fakerate.budget_rows(samples, name, point) if not x["knob"])
    thr = r["threshold"]
    res = samples[r["kind"]]
    tr = next(x for x in res["triggers"] if x["config"].endswith(f"/{name}.conf"))
    f, _ = fakerate.extrapolate(tr, res["module_seconds"], res["cells"])
    ext = f(thr) if f else None
    top = "no candidate" if r["top"] is None else f"highest candidate score {r['top']}"
    return (f"{r['fakes']} fakes in {r['cell_seconds']:.4g} cell-s, {top} against the "
            f"threshold {thr}"
            + (f", its score tail extrapolated to {thr}: {ext:.2g} Hz (a model)"
               if ext is not None else ""))


def write_budget(L, a, trigs, fr_budget, eq, conds):
    L.append("## Fake-rate budget by background kind\n")
    L.append("A plain sample holds too few of the rare decays that can fake a trigger (about six "
             "neutron captures per 1,000 cell-seconds), so each kind that can leave several MeV "
             "in one place is also run in a sample of its own with its rate raised by a factor, "
             "every other kind at its own rate (`bench_fakerate --enrich KNOB=FACTOR`): the "
             "fakes a kind causes grow with its rate, so the sample is an exposure of factor x "
             "its cell-seconds to that kind, and its module rate is fakes / exposure x 150. Two "
             "raised decays meeting in one candidate are factor^2 more frequent than in the "
             "detector, and the few fakes of the other kinds in such a sample are counted as "
             "the raised kind's: both can only raise the estimate. The rest (39Ar, 85Kr, noise "
             "and channel effects, the raised kinds switched off) is a sample at its own rates: "
             "its betas end below 0.7 MeV, so only noise and pile-up make its candidates. This "
             "is a measurement of each kind's fakes with the real kernel and module trigger, not "
             "a fit of a score tail; the plain samples above check it (their fakes must agree "
             "with the sum within its statistics). The 222Rn chain is raised x 30 only: "
             "raised x 300, its fakes grew far faster than its rate (pairs of its decays in "
             "one spot; the figures are in bench/fakerate.py beside BUDGET_KINDS), and at x 30 "
             "such pairs may still make most of its fakes, so its row is the most cautious. "
             "Samples (TP chain group):\n")
    group = [n for n in tp_group(trigs) if n in trigs]
    for cond in conds:
        for kind in fakerate.BUDGET_KINDS:
            r = fr_budget[cond][kind[0]]
            L.append(f"- {cond}, {kind[0]}{f' x {kind[2]}' if kind[1] else ''}: "
                     f"`{fakerate.short_command(r['command'])}` ({r['wall_total_s']:.0f} s wall, "
                     f"{r['cpu_s']:.0f} s CPU, load average {r['load'][0]:.1f}); decays "
                     "simulated: " + ", ".join(f"{k} {v}" for k, v in r["events"].items() if v)
                     + ".")
    L.append("")
    L.append("| trigger | single / coincidence min_score | condition | kind | rate x | sample "
             "(cell-s) | exposure (cell-s) | fakes | module rate (Hz) | 90% CL limit (Hz) | "
             "highest candidate score |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    for name in group:
        t = trigs[name]
        for cond in conds:
            rows = fakerate.budget_rows(fr_budget[cond], name, budget_point(t, eq, name))
            thr = rows[0]["threshold"]
            for r in rows:
                L.append(f"| {t['label']} | {thr} | {cond} | {r['kind']} | {r['factor']} | "
                         f"{r['cell_seconds']:.4g} | {r['exposure']:.4g} | {r['fakes']} | "
                         f"{fakerate.fmt_rate(r['rate'])} | {r['ul']:.2g} | "
                         f"{'-' if r['top'] is None else r['top']} |")
            rate, ul = budget_total(rows)
            L.append(f"| {t['label']} | {thr} | {cond} | **raised kinds, sum** | | | | "
                     f"{sum(r['fakes'] for r in rows if r['knob'])} | "
                     f"**{fakerate.fmt_rate(rate)}** | {ul:.2g} (limits added) | |")
            notes.append(f"{t['label']}, {cond}: "
                         f"{rest_note(fr_budget[cond], name, budget_point(t, eq, name))}")
    L.append("")
    L.append("The rest, judged by its highest score rather than its count: " + "; ".join(notes)
             + ".\n")


def write_doc(a, trigs, fr, fr_budget, eq, eff, runs, tm):
    L = []
    nominal = fr["nominal"]
    conds = [c for c, _, _ in fakerate.CONDITIONS]

    def tres(cond, name):
        return next(x for x in fr[cond]["triggers"] if x["config"].endswith(f"/{name}.conf"))

    L.append("# Physics performance of the trigger, at trigger level\n")
    L.append(f"Generated by `/usr/bin/python3 tools/train/physics_report.py"
             f"{''.join(' ' + x for x in a.argv)}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
             f" in {tm['total'] / 60:.1f} min ({tm['fake'] / 60:.1f} min fake-rate benchmark, "
             f"{tm['eff'] / 60:.1f} min efficiency runs) on {os.cpu_count()} cores "
             f"(load average {tm['load'][0][0]:.1f} at the start, {tm['load'][1][0]:.1f} at the "
             "end: the machine is shared). Do not edit by hand: every number below is made by "
             "that command; rerun it.\n")
    if a.quick:
        L.append("**Smoke run (`--quick`): tiny samples, no conclusion may be drawn.**\n")

    # ---- verdict
    L.append("## Verdict\n")
    low = [e for e in a.electrons if e <= 10]
    cnn_beats = None
    if "cnn" in trigs and len(trigs) > 1:
        verdict = []
        cnn_beats = True
        for cond in conds:
            for e in low:
                rc = eff.get((cond, "cnn", "low_energy", e))
                for other in trigs:
                    if other == "cnn" or trigs[other].get("fixed"):
                        continue
                    ro = eff.get((cond, other, "low_energy", e))
                    if not rc or not ro or not rc["total"] or not ro["total"]:
                        continue
                    # "beats": the CNN's 68% interval lies above the other's
                    lo_c, _ = interval(rc["found"], rc["total"])
                    _, hi_o = interval(ro["found"], ro["total"])
                    if lo_c <= hi_o:
                        cnn_beats = False
                        verdict.append(f"{e:g} MeV {cond}: CNN {fmt_eff(rc)} vs "
                                       f"{trigs[other]['label']} {fmt_eff(ro)}")
        labels = " and ".join(trigs[n]["label"] for n in trigs
                              if n != "cnn" and not trigs[n].get("fixed"))
        if cnn_beats:
            L.append(f"- **The CNN beats {labels} at {', '.join(f'{e:g}' for e in low)} MeV at "
                     "equal fake rate** (its 68% interval above theirs at every point, both "
                     "conditions).")
        else:
            L.append(f"- **The CNN does not beat {labels} at 5-10 MeV at equal fake rate.** "
                     "Points where its 68% interval does not lie above the other's: " +
                     "; ".join(verdict) + ".")
    # What wins: the most electrons found at 5-10 MeV together at equal fake rate, per condition.
    for cond in conds:
        tot = {}
        for name in trigs:
            rs = [eff.get((cond, name, "low_energy", e)) for e in low]
            if all(rs):
                tot[name] = (sum(r["found"] for r in rs), sum(r["total"] for r in rs))
        cmp = [n for n in tot if not trigs[n].get("fixed")]
        if len(cmp) > 1:
            top = max(tot[n][0] for n in cmp)
            best = [n for n in cmp if tot[n][0] == top]  # more than one: a tie, said as such
            names = " and ".join(f"{trigs[n]['label']}"
                                 f"{' (the embedded default)' if trigs[n].get('is_default') else ''}"
                                 for n in best)
            rest = "; ".join(f"{trigs[n]['label']}"
                             f"{' (at its own thresholds)' if trigs[n].get('fixed') else ''} "
                             f"{tot[n][0]}" for n in tot if n not in best)
            L.append(f"- **What wins at {', '.join(f'{e:g}' for e in low)} MeV together, "
                     f"{cond}, equal fake rate: {names}{', level' if len(best) > 1 else ''}**, "
                     f"{top} of {tot[best[0]][1]} electrons found (others: {rest}).")
    for cond in conds:
        for name, t in trigs.items():
            he = [eff.get((cond, name, "high_energy", e)) for e in a.high]
            he_found = sum(r["found"] for r in he if r)
            he_total = sum(r["total"] for r in he if r)
            r10 = eff.get((cond, name, "low_energy", 10))
            r5 = eff.get((cond, name, "low_energy", 5))
            tr = tres(cond, name)
            rr = rate_at(tr, eq[name], t.get("fixed"))
            checks = []
            ok_all = True

            def check(label, value, ok):
                nonlocal ok_all
                ok_all &= ok
                checks.append(f"{label} {value} {'met' if ok else '**not met**'}")
            if he_total:
                check(">= 99% above 100 MeV:", f"{he_found}/{he_total}",
                      he_found / he_total >= GOALS["high"])
            if r10 and r10["total"]:
                check(">= 90% at 10 MeV:", f"{100 * r10['found'] / r10['total']:.0f}%",
                      r10["found"] / r10["total"] >= GOALS["e10"])
            if r5 and r5["total"]:
                check(">= 50% at 5 MeV:", f"{100 * r5['found'] / r5['total']:.0f}%",
                      r5["found"] / r5["total"] >= GOALS["e5"])
            check("module fake rate < 0.05 Hz:",
                  f"{rr['fakes']} fakes in {tr['cell_seconds']:.4g} cell-s, < {rr['ul']:.2g} "
                  "Hz at 90% CL", rr["ul"] < GOALS["fake_hz"])
            where = ("at its own thresholds" if t.get("fixed")
                     else f"at its equal-rate threshold {eq[name]}")
            L.append(f"- {t['label']}{' (the embedded default)' if t.get('is_default') else ''}, "
                     f"{cond}, {where}: "
                     f"{'**all goals met**' if ok_all else '**goals not all met**'} (" +
                     "; ".join(checks) + ").")
    for cond in (conds if fr_budget else []):
        for name in [n for n in tp_group(trigs) if n in trigs]:
            t = trigs[name]
            rows = fakerate.budget_rows(fr_budget[cond], name, budget_point(t, eq, name))
            rate, ul = budget_total(rows)
            kinds = ", ".join(f"{r['kind']} {fakerate.fmt_rate(r['rate'])} Hz ({r['fakes']} "
                              f"fakes in {r['exposure']:.3g} cell-s of exposure)"
                              for r in rows if r["knob"])
            L.append(f"- {t['label']}, {cond}, fake rate by background kind (raised-rate "
                     "samples, below; each an estimate from above, since a raised rate also "
                     f"raises pile-up, the 222Rn chain's most): {kinds}; together "
                     f"{fakerate.fmt_rate(rate)} Hz, < {ul:.2g} Hz with their 90% CL limits "
                     f"added ({'under' if ul < GOALS['fake_hz'] else 'not under'} the 0.05 Hz "
                     f"goal); the rest: {rest_note(fr_budget[cond], name, budget_point(t, eq, name))}.")
    L.append(f"- A fake rate below 0.05 Hz per module can be *shown* (90% CL, no fake seen) only "
             f"with > {fakerate.poisson_ul90(0) * 150 / 0.05:.0f} cell-seconds; this report "
             f"measures {', '.join(sorted({format(t['cell_seconds'], '.4g') for t in nominal['triggers']}))} "
             "per trigger and condition, so that goal is 'not met' "
             "by a limit, whatever the true rate; the tail extrapolation (below) shows where it "
             "probably is.\n")

    # ---- what counts
    L.append("## What counts (the truth rules)\n")
    L.append("- A **candidate** is what a cell's kernel emits (score above the kernel threshold, "
             "grouped over wires and time). A **trigger** is an issued decision of the module "
             "trigger (daemon/aggregator): `single` (one candidate with peak score >= "
             "single.min_score) or `coincidence` (candidates of >= 2 cells within 100 us, each "
             ">= coincidence.min_score); decisions inhibited by dead time are not triggers.")
    L.append("- A signal deposit is **found** only when an issued trigger's decision holds a "
             "candidate of the deposit's cell overlapping its collection wires (within 4 wires) "
             "and its charge arrival time (within 4096 ticks); a trigger that fired on something "
             "else nearby finds nothing. Deposits whose only matching candidates are in "
             "inhibited decisions count as not found (column 'lost to inhibit').")
    L.append("- A **fake** is an issued physics trigger with no candidate on a signal deposit "
             "(radiological decays count as fakes). In the fake-rate benchmark every physics "
             "trigger is a fake: its data hold no signal.")
    L.append("- Rules: `lib/formats/truth_match.h`, docs/replay.md; proven on crafted cases by "
             "tests/tools/test_truth_match.c.\n")

    # ---- fake rate
    L.append("## Fake rate, measured\n")
    L.append(f"`bench/bench_fakerate` (bench/README.md): {a.fake_cells} cells (one module, "
             "960 collection wires each) in one "
             "aggregator, so coincidences between cells count as in the module; the cell-seconds "
             "of each run are listed below. The data are "
             "background only, default backgrounds and detector effects (docs/simulation.md), "
             "through the fast background path: the collection-wire column sums the kernel "
             "reads, rendered directly from the simulator's own events and pulses with the "
             "column noise drawn with the variance of the summed samples (lib/sim/sim.h, "
             "`lt_sim_cell_render_x_sums`; tests/sim/test_sim_xsums.c checks it against the "
             "full render). '+30%': every noise component and every radiological rate x 1.3.\n")
    for cond in conds:
        for r in fr[cond]["runs"]:
            L.append(f"- {cond}, {' and '.join(trigs[os.path.basename(t['config'])[:-5]]['label'] for t in r['triggers'])}: "
                     f"**{r['cell_seconds']:.4g} cell-seconds** ({r['cells']} cells x "
                     f"{r['module_seconds']:.3f} s): `{fakerate.short_command(r['command'])}` "
                     f"({r['wall_total_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU on {r['threads']} "
                     f"threads, load average {r['load'][0]:.1f}; "
                     f"{r['cpu_s'] / r['cell_seconds']:.2f} CPU-s per cell-second); decays "
                     "simulated: " + ", ".join(f"{k} {v}" for k, v in r["events"].items() if v) + ".")
    L.append("")
    L.append("| trigger | point | single / coincidence min_score | condition | fakes | module "
             "rate (Hz) | 90% CL limit (Hz) | tail extrapolation (Hz) |")
    L.append("|---|---|---|---|---|---|---|---|")
    for name, t in trigs.items():
        for cond in conds:
            tr = tres(cond, name)
            f, _ = fakerate.extrapolate(tr, tr["module_seconds"], tr["cells"])
            rows = fakerate.scan_rows(tr)
            pts = ([("configured", rows[0])] if t.get("fixed")
                   else [("equal rate", rate_at(tr, eq[name]))])
            if t.get("is_default"):
                pts.insert(0, ("embedded default", rows[0]))
            for pname, rr in pts:
                ext = f(rr["single"]) if f else None
                by = ", ".join(f"{k} {v}" for k, v in rr["by"].items())
                L.append(f"| {t['label']} | {pname} | {rr['single']} / {rr['coincidence']} | "
                         f"{cond} | {rr['fakes']}{f' ({by})' if by else ''} | "
                         f"{fakerate.fmt_rate(rr['rate'])} | {rr['ul']:.2g} | "
                         f"{'-' if ext is None else format(ext, '.2g')} |")
    L.append("")
    for name, t in trigs.items():
        tr = tres("nominal", name)
        _, info = fakerate.extrapolate(tr, tr["module_seconds"], tr["cells"])
        if info:
            L.append(f"- {t['label']} tail: {info['n']} candidates above the kernel threshold "
                     f"{t['kernel_threshold']} in the nominal sample; the module rate of "
                     f"candidates scoring above T, fitted with an exponential over its "
                     f"{info['n_tail']} highest ({info['from_score']} and up), falls a decade "
                     f"every {info['decade']:.0f} score units. This is a model of a lone "
                     "candidate's rate, not a measurement.")
    L.append("")

    if fr_budget:
        write_budget(L, a, trigs, fr_budget, eq, conds)

    # ---- equal rate
    L.append("## Thresholds at equal fake rate\n")
    L.append("Each trigger is set to single.min_score = coincidence.min_score = T, with T the "
             "lowest threshold of its grid (63 thresholds from its kernel threshold up, 4% apart) "
             "above which its nominal fake-rate sample holds no fake trigger: every trigger at "
             "the same measured rate, none in its sample (the 90% CL limit in the table above), "
             "each just above its own background. The coincidence "
             "threshold goes up with T because a two-cell coincidence at the kernel threshold "
             "fires on pairs of background candidates of any two of the 150 cells (see the "
             "embedded default's rate above). The same thresholds are used in the +30% "
             "condition. All three have single.min_adc_sum = 0 (the score alone decides). When "
             "trigd's embedded configuration is none of them (another weights file or other "
             "kernel settings), it is shown as 'embedded default' at its own thresholds, beside "
             "the comparison, not in it.\n")
    L.append("| trigger | weights (CRC-32) | kernel threshold (TP: kernel.tp.min_score) | "
             "equal-rate T |")
    L.append("|---|---|---|---|")
    for name, t in trigs.items():
        w = (f"`{rel(t['weights'])}` \"{t['weights_name']}\" ({t['crc']})" if t["weights"]
             else t["weights_name"])
        T = (f"its own: single {t['single_min_score']}, coincidence "
             f"{t['coincidence_min_score']} (the configuration as installed)" if t.get("fixed")
             else str(eq[name]))
        L.append(f"| {t['label']} | {w} | {t['kernel_threshold']} | {T} |")
    L.append("")

    # ---- efficiency
    L.append("## Efficiency vs energy at equal fake rate\n")
    L.append(f"Per energy point and condition: one run file of 2 full cells "
             f"({a.channels} channels), {(a.events + 1) // 2} events per cell injected "
             f"{EVENT_GAP_S * 1e3:.0f} ms apart (cells staggered by "
             f"{EVENT_GAP_S * 500:.0f} ms, so every event is alone in time) on the default "
             "backgrounds, no other signal; replayed by `trigctl replay` (trigd's pipeline: "
             "kernel, aggregator, readout, records) with each trigger's equal-rate "
             "configuration. Intervals: 68% Clopper-Pearson.\n")
    for cond in conds:
        L.append(f"### {cond}\n")
        L.append("| energy | " + " | ".join(t["label"] for t in trigs.values()) + " |")
        L.append("|---|" + "---|" * len(trigs))
        for kind, es in (("low_energy", a.electrons), ("high_energy", a.high)):
            for e in es:
                what = "electrons" if kind == "low_energy" else "high-energy events"
                L.append(f"| {e:g} MeV {what} | " + " | ".join(
                    fmt_eff(eff.get((cond, n, kind, e))) for n in trigs) + " |")
        fk = {n: sum(v["fakes"] for k, v in eff.items() if k[0] == cond and k[1] == n)
              for n in trigs}
        inh = {n: sum(v["inhibited"] for k, v in eff.items() if k[0] == cond and k[1] == n)
               for n in trigs}
        ds = sum(v["data_s"] for k, v in eff.items() if k[0] == cond and k[1] == next(iter(trigs)))
        L.append("| fake triggers in these files / inhibited decisions | " +
                 " | ".join(f"{fk[n]} / {inh[n]}" for n in trigs) + " |")
        L.append(f"\n({ds * 2:.2f} cell-seconds of signal files per trigger.)\n")

    # ---- provenance
    L.append("## Seeds, kept apart from training and tuning\n")
    L.append(f"Every seed of this report is {SEED_BASE} + a number below 10000: fake-rate "
             f"samples {SEED_BASE + 1} (nominal, which also chooses the thresholds) and "
             f"{SEED_BASE + 2} (+30%); efficiency files {SEED_BASE + 100} and up (one per energy "
             "point and condition, listed below), never used to choose anything. Training "
             "(docs/training.md) simulates its run files with `trigctl sim` seeds 11-13 "
             "(training) and 21 (validation), and its synthetic images (tools/train/data.py, "
             "not this simulator) from seed x 1000 + k of the training seed; this report's "
             "seeds are outside every range those commands use, and nothing here feeds back "
             "into training.\n")
    L.append("| condition | events | seed | sim (s) | replays (s) |")
    L.append("|---|---|---|---|---|")
    for r in runs:
        L.append(f"| {r['cond']} | {r['mev']:g} MeV {r['kind']} | {r['seed']} | "
                 f"{r['sim_s']:.0f} | " + ", ".join(f"{n} {v:.0f}" for n, v in r["replay_s"].items())
                 + " |")
    if runs:
        c = runs[0]["cmd"]
        L.append(f"\nThe first file's command: `{' '.join(rel(x) for x in c[:30])}"
                 f"{' ...' if len(c) > 30 else ''}` (then one `--inject` per event).\n")
    L.append(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}.\n")
    with open(a.doc, "w") as f:
        f.write("\n".join(L) + "\n")
    print("\n".join(L))


if __name__ == "__main__":
    main()
