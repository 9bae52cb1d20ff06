"""Quick physics figures of merit on score maps (used during training; the physics report runs
the C kernel and its candidate extraction instead, see physics_report.py)."""
import numpy as np

import data as tdata

SAMPLE_S = 512e-9


def signal_boxes_score(run, d, pw, pt, G, U):
    """Signal truth rows and their boxes on the score grid (group, column ranges, inclusive).
    Score column u sees input columns up to u*pt + pt - 1; a deposit in columns [c0, c1] can
    fire score columns c0//pt .. c1//pt + 2 (the receptive field reaches 2 score columns on)."""
    t, c0, c1 = tdata.truth_boxes(run, d)
    boxes = []
    for k in range(len(t)):
        g0, g1 = int(t["channel_start"][k]) // pw, min(G - 1, int(t["channel_end"][k]) // pw)
        u0, u1 = max(0, int(c0[k]) // pt), min(U - 1, int(c1[k]) // pt + 2)
        boxes.append((g0, g1, u0, u1))
    return t, boxes


def evaluate(examples, scores, qnet, d):
    pw, pt = qnet.wire_pool, qnet.time_pool
    sig = []  # (kind, energy, max score)
    bkg_scores = []
    seconds = 0.0
    for e, s in zip(examples, scores):
        G, U = s.shape
        t, boxes = signal_boxes_score(e["run"], d, pw, pt, G, U)
        near = np.zeros((G, U), dtype=bool)
        for k, (g0, g1, u0, u1) in enumerate(boxes):
            if u0 > U - 1 or u1 < 0:
                continue
            sig.append((int(t["kind"][k]), float(t["energy_mev"][k]),
                        int(s[g0 : g1 + 1, u0 : u1 + 1].max())))
            near[max(0, g0 - 2) : g1 + 3, max(0, u0 - 2) : u1 + 3] = True
        bkg_scores.append(s[~near].astype(np.int64))
        seconds += (~near).mean() * U * pt * (1 << d) * SAMPLE_S
    bkg = np.concatenate(bkg_scores) if bkg_scores else np.zeros(0, dtype=np.int64)
    sig = np.array(sig, dtype=[("kind", "i4"), ("energy", "f8"), ("score", "i8")])
    summary = dict(n_signal=len(sig), background_cell_seconds=seconds,
                   max_background_score=int(bkg.max()) if len(bkg) else 0)
    return dict(sig=sig, bkg=bkg, seconds=seconds, summary=summary)


def choose_threshold(ev, margin):
    m = ev["summary"]["max_background_score"]
    return int(max(1, np.ceil(max(m, 1) * margin)))


def efficiency_at(ev, thr):
    sig = ev["sig"]
    out = {}
    for name, sel in (("high_energy_gt100MeV", (sig["kind"] == 2) & (sig["energy"] > 100)),
                      ("low_energy_ge10MeV", (sig["kind"] == 1) & (sig["energy"] >= 10)),
                      ("low_energy_lt10MeV", (sig["kind"] == 1) & (sig["energy"] < 10)),
                      ("cosmic", sig["kind"] == 3)):
        n = int(sel.sum())
        out[name] = dict(n=n, eff=float((sig["score"][sel] > thr).mean()) if n else None)
    out["bkg_pixels_per_cell_s"] = float((ev["bkg"] > thr).sum() / max(ev["seconds"], 1e-12))
    return out


def pixel_auc(examples, scores):
    """Area under the ROC of labelled score pixels (weight > 0)."""
    ys, ss = [], []
    for e, s in zip(examples, scores):
        s = np.asarray(s, dtype=np.float64)
        G, U = min(s.shape[0], e["y"].shape[0]), min(s.shape[1], e["y"].shape[1])
        m = e["w"][:G, :U] > 0
        ys.append(e["y"][:G, :U][m])
        ss.append(s[:G, :U][m])
    y, s = np.concatenate(ys), np.concatenate(ss)
    npos, nneg = y.sum(), (1 - y).sum()
    if npos == 0 or nneg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    # ties: average ranks
    _, inv, cnt = np.unique(s, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / cnt)[inv]
    return float((ranks[y > 0].sum() - npos * (npos + 1) / 2) / (npos * nneg))
