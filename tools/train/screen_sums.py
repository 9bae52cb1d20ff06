#!/usr/bin/python3
"""Screen thresholded, clipped charge-sum networks on the tuning files (issue 15, item 4).

  /usr/bin/python3 tools/train/screen_sums.py [--tune out/tune] [--cache out/screen]
        [--rate 0.0083] [--configs D:t:c:KW1xKT1[+KW2xKT2] ...]

A fast numpy stand-in for "replay the tuning files and count what fires", used to choose which
networks are worth the C kernel's full evaluation (tools/train/physics_report.py). It reads the
tuning files that tune_working_point.py simulates (seeds 710005/710007/710010: 36 electrons at
5, 7, 10 MeV; 720001: background with the 222Rn chain x 300, 42K x 500, neutron captures
x 30,300), preprocesses them once with the kernel's arithmetic at D = 4 (intmodel.preprocess,
cached), and for each configuration computes the score map of the network sumnet.py builds:

    score = sum over a window of min(max(x - t, 0), c - t)

(x: pedestal-subtracted D-sample column mean in 1/4 ADC; t, c in ADC; the window one box of
KW1 wires x KT1 columns, or two stacked boxes, a pyramid). D = 8 and 16 are made by averaging
D = 4 columns (the kernel's own D = 8/16 preprocessing differs only in pedestal rounding).

Background rate at a score T: local maxima of the score map (9 x 9 neighbourhood) on the
background file attributed to the truth deposits they overlap (enriched kinds divided by their
enrichment, like tune_working_point.py), unmatched maxima (noise, 39Ar/85Kr pile-up) over all
files' cell-seconds. The threshold of a configuration is the lowest T whose rate is below
--rate per cell-second (default 1/120: one fake in the physics report's 120 cell-second
sample, its equal-rate point); electrons found = electrons whose region (truth box widened by
4 wires and 4096 ticks, replay's tolerances) holds a score >= T. Tuning seeds only.
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from data import read_run  # noqa: E402
from tune_working_point import ENRICH, TIME_TOL, WIRE_TOL  # noqa: E402  (one owner each)
FILES = ["le5", "le7", "le10", "bkg_rich"]


def load(tune, cache, name, cell, plus30=False):
    os.makedirs(cache, exist_ok=True)
    p = os.path.join(cache, f"{name}_c{cell}.npz")
    if not os.path.exists(p):
        r = read_run(os.path.join(tune, name + ".h5"), cell=cell, d=2, in_shift=2)
        t = r["truth"]
        np.savez(p, x=r["x"], first_tick=r["first_tick"], tcell=t["cell"],
                 w0=t["channel_start"], w1=t["channel_end"], t0=t["time"], t1=t["time_end"],
                 kind=t["kind"], e=t["energy_mev"])
    z = np.load(p)
    return {k: z[k] for k in z.files}


def box(a, kw, kt):
    """Sum over a kw x kt box (centred along wires, trailing along time), zero padded."""
    out = a.copy()
    for dw in range(1, kw // 2 + 1):
        out[dw:] += a[:-dw]
        out[:-dw] += a[dw:]
    a = out
    out = a.copy()
    for dt in range(1, kt):
        out[:, dt:] += a[:, :-dt]
    return out


def downsample(x4, D):
    f = D // 4
    n = x4.shape[1] // f
    if f == 1:
        return x4.astype(np.int32)
    return x4[:, :n * f].reshape(x4.shape[0], n, f).sum(axis=2, dtype=np.int32) // f


def score(x4, cfg):
    D, t, c, wins = cfg
    x = downsample(x4, D)
    if t is None:
        y = x
    else:
        y = np.clip(x - int(4 * t), 0, int(4 * (c - t))).astype(np.int32)
    for kw, kt in wins:
        y = box(y, kw, kt)
    return y


def peaks(s, n=3000, r=4):
    """The highest local maxima (greedy suppression of a (2r+1)^2 neighbourhood) among the n
    highest pixels: (wire, column, value) arrays, highest first."""
    flat = s.ravel()
    n = min(n, flat.size)
    idx = np.argpartition(-flat, n - 1)[:n]
    idx = idx[np.argsort(-flat[idx], kind="stable")]
    W, C = s.shape
    taken_map = {}
    out = []
    for i in idx:
        w, c = divmod(int(i), C)
        key = (w // (2 * r + 1), c // (2 * r + 1))
        near = False
        for a in (-1, 0, 1):
            for b in (-1, 0, 1):
                for (w2, c2) in taken_map.get((key[0] + a, key[1] + b), ()):
                    if abs(w2 - w) <= r and abs(c2 - c) <= r:
                        near = True
                        break
                if near:
                    break
            if near:
                break
        if not near:
            taken_map.setdefault(key, []).append((w, c))
            out.append((w, c, int(flat[i])))
        if len(out) >= 400:
            break
    a = np.array(out, dtype=np.int64).reshape(-1, 3)
    return a[:, 0], a[:, 1], a[:, 2]


def chunked(x4, cfg, cols=8192):
    """(score chunk, first column) over the run in chunks of input columns (small arrays are
    much faster than whole-run ones on a loaded machine); chunks overlap by the window."""
    D = cfg[0]
    f = D // 4
    over = sum(kt for _, kt in cfg[3]) * f
    n = x4.shape[1]
    for a in range(0, n, cols * f):
        a0 = max(0, a - over)
        s = score(x4[:, a0:a + cols * f], cfg)
        skip = (a - a0) // f
        yield s[:, skip:], a // f


def evaluate(data, cfg, rate):
    D = cfg[0]
    sig = {}
    bk_scores, bk_w = [], []
    cs_all = 0.0
    for (name, cell), z in data.items():
        W, C = z["x"].shape[0], z["x"].shape[1] // (D // 4)
        cs = C * D * 512e-9
        if not name.startswith("le"):
            cs_all += cs
        colt = lambda tick: (tick - int(z["first_tick"])) // (32 * D)  # noqa: E731
        k, w0, w1, t0, t1, e = z["kind"], z["w0"], z["w1"], z["t0"], z["t1"], z["e"]
        if name.startswith("le"):
            for i in np.nonzero(k == 1)[0]:
                a0, a1 = max(0, int(w0[i]) - WIRE_TOL), min(W, int(w1[i]) + WIRE_TOL + 1)
                b0 = max(0, colt(int(t0[i]) - TIME_TOL))
                b1 = min(C, colt(int(t1[i]) + TIME_TOL) + 1)
                f = D // 4
                m0 = max(0, b0 - 20)
                sc = score(z["x"][:, m0 * f:b1 * f], cfg)[:, b0 - m0:]
                sig.setdefault(name, []).append(int(sc[a0:a1].max()) if a1 > a0 and b1 > b0 else 0)
        if name.startswith("le"):
            continue  # noise tail: from the background file only
        pk = []
        for sc, c0 in chunked(z["x"], cfg):
            w_, c_, v_ = peaks(sc)
            pk.append(np.stack([w_, c_ + c0, v_], axis=1))
        pk = np.concatenate(pk)
        pk = pk[np.argsort(-pk[:, 2])][:400]
        ws, cs_, vals = pk[:, 0], pk[:, 1], pk[:, 2]
        # attribute to truth: the enriched kinds above 0.5 MeV (signal maxima are skipped)
        m = np.isin(k, tuple(ENRICH)) & (e > 0.5)
        tc0, tc1 = colt(t0[m].astype(np.int64)), colt(t1[m].astype(np.int64))
        mw0, mw1, mk = w0[m], w1[m], k[m]
        sig_m = np.isin(k, (1, 2, 3))
        sc0, sc1 = colt(t0[sig_m].astype(np.int64)), colt(t1[sig_m].astype(np.int64))
        sw0, sw1 = w0[sig_m], w1[sig_m]
        tolc = TIME_TOL // (32 * D) + 2
        for wi, ci, v in zip(ws, cs_, vals):
            # skip maxima on signal deposits
            if np.any((sw0 - WIRE_TOL - 3 <= wi) & (sw1 + WIRE_TOL + 3 >= wi) &
                      (sc0 - tolc <= ci) & (sc1 + tolc >= ci)):
                continue
            ov = (mw0 - 3 <= wi) & (mw1 + 3 >= wi) & (tc0 - 3 <= ci) & (tc1 + 3 >= ci)
            kinds = set(mk[ov].tolist()) & set(ENRICH)
            if name == "bkg_rich" and kinds:
                kk = max(kinds, key=lambda q: ENRICH[q])
                wgt = 1.0 / ENRICH[kk]
                if ov.sum() >= 2:
                    wgt /= 100.0 if len(kinds) == 1 else 1.0
                bk_scores.append(v)
                bk_w.append(wgt / cs)  # per cell-second of this file
            else:
                bk_scores.append(v)
                bk_w.append(-1.0)  # noise: weight over all files
    bk_scores = np.array(bk_scores)
    bk_w = np.array(bk_w)
    bk_w[bk_w < 0] = 1.0 / cs_all
    order = np.argsort(-bk_scores)
    cum = np.cumsum(bk_w[order])
    # the lowest T with rate(score >= T) < rate: just above the score where the cumulative rate
    # first reaches `rate`
    idx = np.nonzero(cum >= rate)[0]
    T = int(bk_scores[order][idx[0]]) + 1 if len(idx) else 1
    found = {n: int((np.array(v) >= T).sum()) for n, v in sig.items()}
    tot = {n: len(v) for n, v in sig.items()}
    top = bk_scores[order][:5].tolist()
    return T, found, tot, top


def parse(c):
    D, t, cc, w = c.split(":")
    wins = [tuple(int(q) for q in p.split("x")) for p in w.split("+")]
    return (int(D), None if t == "-" else float(t), None if cc == "-" else float(cc), wins)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tune", default=os.path.join(ROOT, "out", "tune"))
    ap.add_argument("--cache", default=os.path.join(ROOT, "out", "screen"))
    ap.add_argument("--rate", type=float, default=1 / 120)
    ap.add_argument("--configs", nargs="+", default=["16:-:-:3x3"])
    a = ap.parse_args()
    data = {}
    for n in FILES:
        for cell in (0, 1):
            data[(n, cell)] = load(a.tune, a.cache, n, cell)
    for c in a.configs:
        T, found, tot, top = evaluate(data, parse(c), a.rate)
        print(f"{c:28s} T {T:7d}  5/7/10 MeV: {found.get('le5')}/{found.get('le7')}/"
              f"{found.get('le10')} of {tot.get('le5')}  top bkg {top}", flush=True)


if __name__ == "__main__":
    main()
