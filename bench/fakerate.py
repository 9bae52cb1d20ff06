#!/usr/bin/python3
"""Module fake-trigger rate of each trigger, measured (issue 15 point 5): bench_fakerate
(bench/bench_fakerate.c: the real kernel and the real module trigger on background-only data
of a 150-cell module, fast background path) for every trigger in the nominal and the +30%
condition, with the tail extrapolation next to each measurement.

  /usr/bin/python3 bench/fakerate.py [--build build] [--out out/fakerate] [--cell-seconds 1000]
                   [--threads 2] [--seed 9150001] [--triggers cnn,boxsum,tp] [--json FILE]
  /usr/bin/python3 bench/fakerate.py --combine RUN.json...   (bench_fakerate outputs of other
                   seeds, same triggers and scans: every scan point over all of them)

Per trigger the module trigger is replayed (over the same candidates) for its configured
thresholds and for a grid of thresholds T (single.min_score = coincidence.min_score = T); the
table shows the configured point and the equal-rate point (the lowest T of the grid with no fake
in the nominal sample, which tools/train/physics_report.py also uses). Also a library: the report
imports trigger_configs, run, equal_rate_points, extrapolate, poisson_ul90 from here.
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
ROOT = os.path.abspath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))

CELLS_PER_MODULE = 150
GRID_POINTS = 63  # thresholds per trigger (bench_fakerate takes 64 scan values: + configured)
GRID_SPAN = 24.0  # grid from the kernel threshold to this many times it (the CNN's kernel
#                   threshold of 200 to 4800: above its equal-rate point, ~3300 in docs/physics.md)
CONDITIONS = [  # (name, noise scale, background scale): issue 15's nominal and +30%
    ("nominal", 1.0, 1.0),
    ("+30%", 1.3, 1.3),
]


def weights_threshold(path):
    from export import read_weights  # tools/train/export.py owns the weights format

    _, thr, name, crc = read_weights(path)
    return thr, name, crc


def default_config(build):
    trigd = os.path.join(build, "daemon", "trigd")
    return subprocess.run([trigd, "--print-default-config"], check=True, capture_output=True,
                          text=True).stdout


def _leaves(lines):
    """The key lines of a configuration in the layout `trigd --print-default-config` prints:
    (line index, indent, name, dotted key path, value text) for each `name = value;` line."""
    stack = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)([A-Za-z_]\w*)\s*=\s*\{\s*$", line)
        if m:
            stack.append(m.group(2))
            continue
        if re.match(r"^\s*\}\s*;?\s*$", line) and stack:
            stack.pop()
            continue
        m = re.match(r"^(\s*)([A-Za-z_]\w*)\s*=\s*(.*);\s*$", line)
        if m:
            yield i, m.group(1), m.group(2), ".".join(stack + [m.group(2)]), m.group(3)


def edit_config(text, values):
    """Set keys ("kernel.threshold", "trigger.single.min_score", ...) of a configuration in the
    layout `trigd --print-default-config` prints (one key per line inside `name = { ... };`
    groups). Every key must exist exactly once: a missing one is an error, not a silent no-op."""
    lines = text.split("\n")
    seen = set()
    for i, indent, name, key, _ in _leaves(lines):
        if key in values:
            v = values[key]
            if isinstance(v, str) and not v.startswith('"'):
                v = f'"{v}"'
            if isinstance(v, bool):
                v = "true" if v else "false"
            lines[i] = f"{indent}{name} = {v};"
            seen.add(key)
    missing = set(values) - seen
    if missing:
        raise KeyError(f"configuration keys not found: {sorted(missing)}")
    return "\n".join(lines)


def _key(text, path):
    """The value of one key of a printed configuration (see edit_config), as text."""
    for _, _, _, key, value in _leaves(text.split("\n")):
        if key == path:
            return value.strip().strip('"')
    return None


WEIGHTS = os.path.join(ROOT, "kernels", "weights")
CNN_KERNEL = {"kernel.gap_w": 1, "kernel.gap_t": 2}  # the CNN's and the charge sum's grouping
# The CNN's own setting: the working point its designer proposed for cnn.ltw v2 (docs/training.md
# "Session 5: the CNN redesigned"), its configured point. The equal-rate grid sets single =
# coincidence = T with min_adc_sum 0 like the other triggers. (The first CNN, cnn_v1.ltw, had
# single 200 with min_adc_sum 1300 and coincidence 3500.)
CNN_SETTING = dict(CNN_KERNEL, **{"kernel.threshold": 200, "trigger.single.min_score": 286,
                                  "trigger.single.min_adc_sum": 0,
                                  "trigger.coincidence.min_score": 286})


def trigger_definitions(build, names):
    """The triggers compared: name -> dict(label, edits to trigd's embedded configuration,
    weights, kernel threshold). "cnn": the trained network, kernels/weights/cnn.ltw (never
    default.ltw: that is the embedded default's, the charge sum since issue 15), at its own
    setting (CNN_SETTING) as its configured point; "boxsum": the 3x3 charge sum
    (kernels/weights/boxsum.ltw) at its weights' threshold; "tp": kernel.algorithm "tp" (when
    built); their equal-rate grids have min_adc_sum 0, so that the score thresholds alone decide.
    "default": trigd's embedded configuration exactly as it is (the installed working point),
    fixed at its own thresholds and cuts; left out when it is one of the others (then that one
    is marked is_default)."""
    base = default_config(build)
    out = {}
    for name in names:
        if name in ("cnn", "boxsum"):
            w = os.path.join(WEIGHTS, "cnn.ltw" if name == "cnn" else "boxsum.ltw")
            thr, wname, crc = weights_threshold(w)
            if name == "cnn":
                edits = dict(CNN_SETTING, **{"kernel.weights": w})
                thr = CNN_SETTING["kernel.threshold"]
            else:
                edits = dict(CNN_KERNEL, **{"kernel.weights": w, "kernel.threshold": thr,
                                            "trigger.single.min_adc_sum": 0})
            if re.search(r"\n\s*algorithm = ", base):
                edits["kernel.algorithm"] = "cnn"
            out[name] = dict(label="CNN" if name == "cnn" else "3x3 charge sum", edits=edits,
                             weights=w, weights_name=wname, crc=f"{crc:08x}",
                             kernel_threshold=thr, own_setting=name == "cnn")
        elif name == "tp":
            if not re.search(r"\n\s*algorithm = ", base):
                continue  # a build without the TP chain (kernel.algorithm)
            edits = {"kernel.algorithm": "tp", "trigger.single.min_adc_sum": 0}
            # Clusters scoring below kernel.tp.min_score are not emitted: its floor.
            out[name] = dict(label="TP chain", edits=edits, weights=None,
                             weights_name="(none: hit finding and clustering)", crc="-",
                             kernel_threshold=int(_key(base, "kernel.tp.min_score")))
        elif name == "default":
            w = _key(base, "kernel.weights") or os.path.join(WEIGHTS, "default.ltw")
            algo = _key(base, "kernel.algorithm") or "cnn"
            thr, wname, crc = weights_threshold(w)
            kthr = int(_key(base, "kernel.threshold")) or thr
            if algo == "tp":
                kthr = int(_key(base, "kernel.tp.min_score"))
            out[name] = dict(label="embedded default", edits={}, weights=w if algo != "tp" else None,
                             weights_name=wname if algo != "tp" else "(TP chain)",
                             crc=f"{crc:08x}", kernel_threshold=kthr, fixed=True)
        else:
            raise ValueError(f"unknown trigger {name}")
    for t in out.values():
        t["config_text"] = edit_config(base, t["edits"])
        t["single_min_score"] = int(_key(t["config_text"], "trigger.single.min_score"))
        t["coincidence_min_score"] = int(_key(t["config_text"], "trigger.coincidence.min_score"))
        t["single_min_adc_sum"] = int(_key(t["config_text"], "trigger.single.min_adc_sum"))
    if "default" in out:
        # The embedded configuration in effect equal to one of the others: that one is it.
        def effective(t):
            txt = t["config_text"]
            keys = ["kernel.algorithm", "kernel.gap_w", "kernel.gap_t", "trigger.single.min_score",
                    "trigger.single.min_adc_sum", "trigger.coincidence.min_score",
                    "trigger.coincidence.min_cells", "trigger.summed.enabled"]
            return (t["crc"], t["kernel_threshold"]) + tuple(_key(txt, k) or "" for k in keys)
        for n, t in out.items():
            if n != "default" and effective(t) == effective(out["default"]):
                t["is_default"] = True
                del out["default"]
                break
    return out


def write_config(trig, out_dir, name, single=None, coincidence=None, adc=None):
    """A configuration file of the trigger, with single/coincidence min_score replaced when
    given, and single.min_adc_sum: adc when given, else, for a point of the equal-rate grid
    (single given, the trigger not fixed), the grid's 0, so the file triggers as measured.
    Returns its path."""
    text = trig["config_text"]
    edits = {}
    if single is not None:
        edits["trigger.single.min_score"] = int(single)
        if adc is None and not trig.get("fixed"):
            adc = 0
    if coincidence is not None:
        edits["trigger.coincidence.min_score"] = int(coincidence)
    if adc is not None:
        edits["trigger.single.min_adc_sum"] = int(adc)
    if edits:
        text = edit_config(text, edits)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name + ".conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def grid(kthr):
    """Thresholds scanned: geometric from the kernel threshold (no candidate below it) up."""
    lo = max(1, kthr)
    return sorted({int(round(lo * GRID_SPAN ** (i / (GRID_POINTS - 1)))) for i in range(GRID_POINTS)})


def run(build, trigs, out_dir, cells, seconds, seed, noise, bkg, threads, tag, sim_args=()):
    """bench_fakerate over every trigger at once (one pass over the data): the configured point
    first, then the grid (single = coincidence = T; min_adc_sum 0, except for a fixed trigger,
    the embedded default, whose own cut stays). sim_args: more simulator options (a budget
    sample's --enrich). Returns the parsed JSON."""
    binary = os.path.join(build, "bench", "bench_fakerate")
    cmd = [binary, "--cells", str(cells), "--seconds", f"{seconds:.6f}", "--seed", str(seed),
           "--threads", str(threads), "--noise-scale", str(noise), "--background-scale", str(bkg)]
    cmd += list(sim_args)
    for name, t in trigs.items():
        conf = write_config(t, out_dir, name)
        g = grid(t["kernel_threshold"])
        t["grid"] = g
        adc = t["single_min_adc_sum"]
        cmd += ["-c", conf,
                "--scan", "single.min_score=" + ",".join(str(v) for v in [t["single_min_score"]] + g),
                "--scan", "coincidence.min_score=" +
                ",".join(str(v) for v in [t["coincidence_min_score"]] + g),
                "--scan", "single.min_adc_sum=" +
                ",".join(str(v) for v in [adc] + [adc if t.get("fixed") else 0] * len(g))]
    out = os.path.join(out_dir, f"fakerate_{tag}.json")
    cmd += ["-o", out]
    print("+", " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd),
          file=sys.stderr, flush=True)
    t0 = time.time()
    subprocess.run(cmd, check=True)
    with open(out) as f:
        res = json.load(f)
    res["command"] = " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd)
    res["wall_total_s"] = time.time() - t0
    res["load"] = os.getloadavg()
    return res


# The fake-rate budget by background kind (importance sampling). The kinds that can leave
# several MeV in one place are each run in a sample of their own with their rate raised by a
# factor, every other kind at its own rate: the fakes a kind causes grow with its rate, so that
# sample is an exposure of factor x its cell-seconds to the kind, thousands of cell-seconds of
# neutron captures in minutes (a plain sample of 1,000 cell-seconds holds about six). Two raised
# decays meeting in one candidate are factor^2 more frequent than in the detector, and the few
# fakes of the other kinds are counted as the raised kind's: both can only raise the estimate.
# The factor is therefore kept where such pile-up stays rare. The 222Rn chain (~400 decays per
# cell-second, betas up to 3.3 MeV), embedded default at 275, nominal: x 300 made 59 fakes in 30
# cell-seconds, x 30 made 4 in 150 (0.027/s): if all were pairs (rate^2), x 30 would make
# 59/30/100 = 0.020/s, so at x 30 pairs may still make most of its fakes; its row is cautious. The rest (39Ar, 85Kr, noise and
# channel effects; the raised kinds switched off) is a sample at its own rates; its betas end
# below 0.7 MeV, so only noise and pile-up make its candidates. share: the sample's cell-seconds
# as a fraction of the report's budget sample size.
BUDGET_KINDS = [  # (label, simulator rate knob, rate factor, share); knob None: the rest
    ("neutron captures", "ncapture_rate_hz", 1000, 1.0),
    ("42Ar/42K", "ar42_bq_per_kg", 1000, 0.25),
    ("222Rn chain", "rn222_bq_per_kg", 30, 1.0),
    ("the rest: 39Ar, 85Kr, noise", None, 1, 0.25),
]


def budget_sim_args(kind):
    """bench_fakerate options of one budget sample: its kind raised, or (the rest) the raised
    kinds switched off."""
    _, knob, factor, _ = kind
    if knob:
        return ["--enrich", f"{knob}={factor}"]
    return [x for _, k, _, _ in BUDGET_KINDS if k for x in ("--enrich", f"{k}=0")]


def budget_rows(samples, name, single=None):
    """Per budget sample (kind -> bench result, each from budget_run), the trigger `name`'s fakes
    at threshold `single` (its configured row when None): dict(kind, factor, cell_seconds,
    exposure, fakes, rate, ul, top) with rate and ul (90% CL) per module, top = the sample's
    highest candidate score."""
    rows = []
    for label, knob, factor, _ in BUDGET_KINDS:
        res = samples[label]
        tr = next(x for x in res["triggers"] if x["config"].endswith(f"/{name}.conf"))
        srows = scan_rows(tr)
        r = srows[0] if single is None else next(x for x in srows[1:] if x["single"] == single)
        exposure = factor * res["cell_seconds"]
        rows.append(dict(kind=label, knob=knob, factor=factor, cell_seconds=res["cell_seconds"],
                         exposure=exposure, fakes=r["fakes"], threshold=r["single"],
                         rate=r["fakes"] / exposure * CELLS_PER_MODULE,
                         ul=poisson_ul90(r["fakes"]) / exposure * CELLS_PER_MODULE,
                         top=max(tr["peaks"]) if tr["peaks"] else None,
                         events=res["events"]))
    return rows


def short_command(cmd):
    """The bench command with its long scan lists shortened (first, second, ..., last; count)."""
    out = []
    for part in cmd.split(" "):
        if "=" in part and part.count(",") > 4:
            k, v = part.split("=", 1)
            vals = v.split(",")
            part = f"{k}={vals[0]},{vals[1]},...,{vals[-1]}({len(vals)} values)"
        out.append(part)
    return " ".join(out)


def poisson_ul90(n):
    """90% CL upper limit on a Poisson mean, n observed (Neyman; bisection). Above 100 (where
    exp(-mu) would underflow from n ~ 700) the Wilson-Hilferty form, within 0.1% there; the
    bench (poisson_ul90 in bench_fakerate.c) computes the same."""
    if n > 100:
        m, z = n + 1.0, 1.2815516  # the 90% one-sided normal quantile
        return m * (1.0 - 1.0 / (9.0 * m) + z * math.sqrt(1.0 / (9.0 * m))) ** 3
    lo, hi = 0.0, n + 10.0 * math.sqrt(n + 1) + 10
    for _ in range(200):
        mu = (lo + hi) / 2
        term = math.exp(-mu)
        s = term
        for k in range(1, n + 1):
            term *= mu / k
            s += term
        if s > 0.10:
            lo = mu
        else:
            hi = mu
    return (lo + hi) / 2


def extrapolate(trig_res, module_seconds, cells):
    """Tail extrapolation of the lone-candidate rate: the module rate (150 / cells x count /
    module seconds) of candidates that pass a `single` trigger's cuts, peak score >= T and
    adc_sum >= A, the cuts the trigger applies. With A > 0 a candidate passes when
    y = min(peak, adc_sum x T / A) >= T, so the highest-scoring fifth (at least 10) of y is
    fitted with an exponential in y and evaluated at T (with A = 0, y is the peak score). Not in
    it: the coincidence algorithm (pairs of candidates in two cells), and pile-up of candidates.
    Returns (f, info): f(T, A=None) -> module rate, A None meaning the min_adc_sum of the scan
    row whose single.min_score is T (the equal-rate grid's rows first, then the configured row);
    or (None, None) with too few candidates. Uses the bench's (peak, adc_sum) pairs, its peaks
    alone (A ignored) from an older bench."""
    pairs = trig_res.get("pairs")
    if pairs is None:
        pairs = [(p, 0) for p in trig_res["peaks"]]
    pairs = [(float(p), float(q)) for p, q in pairs]
    n_all = trig_res["candidates"]
    if len(pairs) < 10:
        return None, None
    scale = CELLS_PER_MODULE / cells / module_seconds
    rows = scan_rows(trig_res)

    def cut_of(T):
        for r in rows[1:] + rows[:1]:
            if r["single"] == int(T):
                return r["adc"]
        return trig_res["single"]["min_adc_sum"]

    def fit(T, A):
        ys = sorted(p if A <= 0 or "pairs" not in trig_res else min(p, q * T / A)
                    for p, q in pairs)
        ys = ys[-20000:]  # as many as the bench's peak list held
        k = max(10, len(ys) // 5)
        tail = ys[-k:]
        ls = [math.log((len(tail) - i) * scale) for i in range(len(tail))]
        mx, my = sum(tail) / len(tail), sum(ls) / len(ls)
        sxx = sum((x - mx) ** 2 for x in tail)
        if sxx <= 0:
            return None
        slope = sum((x - mx) * (y - my) for x, y in zip(tail, ls)) / sxx
        if slope >= 0:
            return None
        return slope, my - slope * mx, k, tail[0]

    base = fit(1.0, 0)  # the peak-score tail (A = 0): what info describes
    if base is None:
        return None, None
    info = dict(n=n_all, n_tail=base[2], from_score=base[3], decade=math.log(10) / -base[0])

    def f(T, A=None):
        A = cut_of(T) if A is None else A
        r = base if A <= 0 else fit(float(T), float(A))
        return None if r is None else math.exp(r[1] + r[0] * T)

    return f, info


def scan_rows(trig_res):
    """[(single, coincidence, fakes, rate, ul)] in the bench's scan order (configured first)."""
    rows = []
    for s in trig_res["scan"]:
        rows.append(dict(single=int(s["set"]["single.min_score"]),
                         coincidence=int(s["set"]["coincidence.min_score"]),
                         adc=int(s["set"].get("single.min_adc_sum",
                                              trig_res["single"]["min_adc_sum"])),
                         fakes=s["fakes"], rate=s["module_rate_hz"], ul=s["module_ul90_hz"],
                         by=s["by_algorithm"]))
    return rows


def equal_rate_points(res):
    """Per trigger: the lowest grid threshold T (single = coincidence = T) above which the
    nominal sample holds no fake at all, i.e. every trigger at the same measured rate: none in
    the sample. Returns name -> row."""
    out = {}
    for t in res["triggers"]:
        grid_rows = scan_rows(t)[1:]
        pick = None
        for r in reversed(grid_rows):  # from the highest threshold down, while no fake
            if r["fakes"]:
                break
            pick = r
        out[t["config"]] = pick
    return out


def fmt_rate(x):
    return "0" if x == 0 else f"{x:.2g}"


def table(trigs, results):
    """Markdown: per trigger and condition, configured and equal-rate points."""
    nominal = results["nominal"]
    eq = equal_rate_points(nominal)
    L = ["| trigger | point | single min_score / min_adc_sum / coincidence min_score | condition "
         "| fakes | cell-seconds | module rate (Hz) | 90% CL limit (Hz) | tail extrapolation (Hz) |",
         "|---|---|---|---|---|---|---|---|---|"]
    for name, t in trigs.items():
        for cond, res in results.items():
            tr = next(x for x in res["triggers"] if x["config"].endswith(f"/{name}.conf"))
            f, _ = extrapolate(tr, res["module_seconds"], res["cells"])
            rows = scan_rows(tr)
            pick = eq[next(x for x in nominal["triggers"]
                           if x["config"].endswith(f"/{name}.conf"))["config"]]
            # The configured point of a trigger with a setting of its own (the CNN's tuned one,
            # the embedded default's installed one; the charge sum's and the TP chain's would be
            # the default's thresholds in other units), then the equal-rate point.
            points = []
            if t.get("is_default") or t.get("fixed"):
                points.append(("embedded default", rows[0]))
            elif t.get("own_setting"):
                points.append(("its own setting", rows[0]))
            if pick and not t.get("fixed"):
                points.append(("equal rate",
                               next(r for r in rows[1:] if r["single"] == pick["single"])))
            for pname, r in points:
                ext = f(r["single"], r["adc"]) if f else None
                L.append(f"| {t['label']} | {pname} | {r['single']} / {r['adc']} / "
                         f"{r['coincidence']} | {cond} | "
                         f"{r['fakes']} | {res['cell_seconds']:.0f} | {fmt_rate(r['rate'])} | "
                         f"{r['ul']:.2g} | {'-' if ext is None else format(ext, '.2g')} |")
    return "\n".join(L)


def combine(results):
    """Bench results of independent runs (other seeds) of the same triggers and scans, over the
    same number of cells, as one: module seconds, fakes, candidates and their (peak, adc_sum)
    pairs added up; rates and 90% CL limits recomputed from the sums."""
    import copy
    out = copy.deepcopy(results[0])
    cells = out["cells"]
    for r in results[1:]:
        if r["cells"] != cells or len(r["triggers"]) != len(out["triggers"]):
            raise ValueError("runs of other cells or triggers cannot be combined")
        for k in ("module_seconds", "cell_seconds", "cpu_s", "wall_s", "sim_cpu_s"):
            out[k] += r[k]
        for k, v in r["events"].items():
            out["events"][k] = out["events"].get(k, 0) + v
        for to, tr in zip(out["triggers"], r["triggers"]):
            if [s["set"] for s in to["scan"]] != [s["set"] for s in tr["scan"]] or \
                    to["weights_crc"] != tr["weights_crc"]:
                raise ValueError(f"{tr['config']}: other weights or scan points")
            for k in ("candidates", "candidates_evicted", "candidates_dropped", "kernel_cpu_s"):
                to[k] += tr[k]
            to["peaks"] = sorted(to["peaks"] + tr["peaks"], reverse=True)[:20000]
            to["pairs"] = to.get("pairs", []) + tr.get("pairs", [])
            for so, sr in zip(to["scan"], tr["scan"]):
                so["fakes"] += sr["fakes"]
                for a, n in sr["by_algorithm"].items():
                    so["by_algorithm"][a] = so["by_algorithm"].get(a, 0) + n
                so["first"] = (so["first"] + sr["first"])[:50]
    scale = CELLS_PER_MODULE / cells / out["module_seconds"]
    for to in out["triggers"]:
        for so in to["scan"]:
            so["module_rate_hz"] = so["fakes"] * scale
            so["module_ul90_hz"] = poisson_ul90(so["fakes"]) * scale
    out["seeds"] = [r["seed"] for r in results]
    return out


def print_combined(paths):
    """--combine: every scan point of every trigger of the runs, combined (combine())."""
    res = combine([json.load(open(p)) for p in paths])
    print(f"{len(paths)} runs (seeds {', '.join(str(s) for s in res['seeds'])}): "
          f"{res['cell_seconds']:.0f} cell-seconds ({res['cells']} cells x "
          f"{res['module_seconds']:.3f} s), noise x {res['noise_scale']}, backgrounds x "
          f"{res['background_scale']}; {res['cpu_s']:.0f} s CPU "
          f"({res['cpu_s'] / res['cell_seconds']:.2f} per cell-second, simulation "
          f"{res['sim_cpu_s'] / res['cell_seconds']:.2f}), {res['wall_s']:.0f} s wall; events: " +
          ", ".join(f"{k} {v}" for k, v in res["events"].items() if v))
    for tr in res["triggers"]:
        f, info = extrapolate(tr, res["module_seconds"], res["cells"])
        print(f"\n{tr['config']} ({tr['weights_name']}, kernel threshold "
              f"{tr['kernel_threshold']}, gaps {tr['gap_w']}/{tr['gap_t']}): "
              f"{tr['candidates']} candidates; kernel {tr['kernel_cpu_s'] / res['cell_seconds']:.2f}"
              f" CPU-s per cell-second")
        print("| single min_score / min_adc_sum / coincidence min_score | fakes (by algorithm) "
              "| module rate (Hz) | 90% CL limit (Hz) | tail extrapolation (Hz) |")
        print("|---|---|---|---|---|")
        for r in scan_rows(tr):
            ext = f(r["single"], r["adc"]) if f else None
            by = ", ".join(f"{a} {n}" for a, n in r["by"].items())
            print(f"| {r['single']} / {r['adc']} / {r['coincidence']} | {r['fakes']}"
                  f"{f' ({by})' if by else ''} | {fmt_rate(r['rate'])} | {r['ul']:.2g} | "
                  f"{'-' if ext is None else format(ext, '.2g')} |")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--combine":
        print_combined(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "fakerate"))
    ap.add_argument("--cell-seconds", type=float, default=1000.0,
                    help="per condition: 150 cells x this / 150 seconds each")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=9150001)
    ap.add_argument("--triggers", default="cnn,boxsum,tp,default")
    ap.add_argument("--json", help="also write every result here")
    a = ap.parse_args()
    trigs = trigger_definitions(a.build, a.triggers.split(","))
    seconds = a.cell_seconds / CELLS_PER_MODULE + 0.005  # + the skipped start of each cell
    results = {}
    for k, (cond, noise, bkg) in enumerate(CONDITIONS):
        results[cond] = run(a.build, trigs, a.out, CELLS_PER_MODULE, seconds, a.seed + k, noise,
                            bkg, a.threads, cond.replace("%", "pct").replace("+", "plus"))
        r = results[cond]
        print(f"{cond}: {r['cell_seconds']:.0f} cell-seconds in {r['wall_total_s']:.0f} s wall "
              f"({r['cpu_s']:.0f} s CPU, {r['threads']} threads; load {r['load'][0]:.1f})",
              file=sys.stderr)
    print(table(trigs, results))
    for cond, r in results.items():
        print(f"\n{cond}: `{short_command(r['command'])}`: {r['cell_seconds']:.0f} cell-seconds "
              f"({r['cells']} cells x {r['module_seconds']:.3f} s) in {r['wall_total_s']:.0f} s "
              f"wall, {r['cpu_s']:.0f} s CPU on {r['threads']} threads, load average "
              f"{r['load'][0]:.1f}; events: " +
              ", ".join(f"{k} {v}" for k, v in r["events"].items() if v))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(triggers={k: {x: y for x, y in v.items() if x != "config_text"}
                                     for k, v in trigs.items()}, results=results), f, indent=1)


if __name__ == "__main__":
    main()
