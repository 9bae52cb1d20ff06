#!/usr/bin/python3
"""Train the per-cell trigger CNN with quantisation-aware training, export the weights file and
test vectors. See docs/training.md for the commands and what every option does.

  /usr/bin/python3 tools/train/train.py --data runs/train_*.h5 --val runs/val.h5 \
      --epochs 6 --teacher-epochs 4 --distill 0.5 --prune 0.25 --seed 1 --out out/train
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data as tdata  # noqa: E402
import evaluate  # noqa: E402
import export  # noqa: E402
from intmodel import run_image  # noqa: E402
from model import STUDENT, TEACHER, Net  # noqa: E402

D_LOG2 = 4  # downsample 16 samples per column (8.2 us), see docs/training.md
IN_SHIFT = 2  # x in 1/4 ADC units of the column mean
RAW_KEEP_SAMPLES = 12 * 64  # raw frames kept for the frame test vector


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def cached_run(path, cell, cache):
    """read_run with the preprocessed result kept as .npz in `cache` (keyed by file name, size,
    mtime and the preprocessing parameters): reading a full cell-second of frames takes minutes."""
    if not cache:
        return tdata.read_run(path, cell=cell, d=D_LOG2, in_shift=IN_SHIFT,
                              keep_raw_samples=RAW_KEEP_SAMPLES)
    st = os.stat(path)
    key = f"{os.path.basename(path)}.{st.st_size}.{int(st.st_mtime)}.c{cell}.d{D_LOG2}.s{IN_SHIFT}.npz"
    fn = os.path.join(cache, key)
    if os.path.exists(fn):
        z = np.load(fn)
        return dict(x=z["x"], raw=z["raw"], truth=z["truth"], first_tick=int(z["first_tick"]),
                    n_fembs=int(z["n_fembs"]), cell=cell)
    run = tdata.read_run(path, cell=cell, d=D_LOG2, in_shift=IN_SHIFT,
                         keep_raw_samples=RAW_KEEP_SAMPLES)
    os.makedirs(cache, exist_ok=True)
    np.savez(fn + ".tmp.npz", x=run["x"], raw=run["raw"], truth=run["truth"],
             first_tick=run["first_tick"], n_fembs=run["n_fembs"])
    os.replace(fn + ".tmp.npz", fn)
    return run


def load_examples(paths, synthetic, seed, wire_pool, time_pool, cache=None):
    ex = []
    for p in paths:
        for c in tdata.run_cells(p):
            run = cached_run(p, c, cache)
            x, y, w = tdata.make_example(run, D_LOG2, IN_SHIFT, wire_pool, time_pool)
            ex.append(dict(x=x, y=y, w=w, run=run, name=f"{os.path.basename(p)}:cell{c}"))
            log(f"loaded {ex[-1]['name']}: {x.shape[0]} wires x {x.shape[1]} columns, "
                f"{int(y.sum())} signal pixels, {len(run['truth'])} truth rows")
    for k in range(synthetic):
        run = tdata.synthetic_run(seed * 1000 + k)
        x, y, w = tdata.make_example(run, D_LOG2, IN_SHIFT, wire_pool, time_pool)
        ex.append(dict(x=x, y=y, w=w, run=run, name=f"synthetic{seed * 1000 + k}"))
    return ex


class Sampler:
    """Random crops (aligned to the score grid) with a bias towards crops holding signal. Each
    crop carries `warm` extra score columns of history whose loss is masked, so the causal
    line buffers are filled as in the running kernel."""

    def __init__(self, examples, rng, pw, pt, crop_w=96, crop_u=48, warm=3, pos_frac=0.5):
        self.ex, self.rng = examples, rng
        self.pw, self.pt, self.cw, self.cu, self.warm, self.pos = pw, pt, crop_w, crop_u, warm, pos_frac
        self.posidx = [np.argwhere(e["y"] > 0) for e in examples]

    def batch(self, n):
        xs, ys, ws = [], [], []
        gw, gu = self.cw // self.pw, self.cu + self.warm
        for _ in range(n):
            k = self.rng.integers(len(self.ex))
            e = self.ex[k]
            G, U = e["y"].shape
            if self.rng.random() < self.pos and len(self.posidx[k]):
                g, u = self.posidx[k][self.rng.integers(len(self.posidx[k]))]
                g0 = int(np.clip(g - self.rng.integers(gw), 0, G - gw))
                u0 = int(np.clip(u - self.warm - self.rng.integers(self.cu), 0, U - gu))
            else:
                g0 = int(self.rng.integers(0, G - gw + 1))
                u0 = int(self.rng.integers(0, U - gu + 1))
            xs.append(e["x"][g0 * self.pw : (g0 + gw) * self.pw, u0 * self.pt : (u0 + gu) * self.pt])
            ys.append(e["y"][g0 : g0 + gw, u0 : u0 + gu])
            w = e["w"][g0 : g0 + gw, u0 : u0 + gu].copy()
            w[:, : self.warm] = 0
            ws.append(w)
        f = lambda a: torch.from_numpy(np.stack(a).astype(np.float32))  # noqa: E731
        return f(xs)[:, None], f(ys), f(ws)


def loss_fn(logits, y, w, pos_weight, soft=None, alpha=1.0):
    """Weighted BCE on labels, optionally mixed with the teacher's probabilities (distillation:
    target = alpha * label + (1 - alpha) * teacher)."""
    t = y if soft is None else alpha * y + (1 - alpha) * soft
    pw = torch.where(y > 0, torch.full_like(y, pos_weight), torch.ones_like(y))
    l = F.binary_cross_entropy_with_logits(logits, t, weight=w * pw, reduction="sum")
    return l / w.sum().clamp(min=1)


def fit(net, sampler, epochs, steps, lr, quant, pos_weight, teacher=None, alpha=1.0, bs=16, tag=""):
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs * steps))
    for ep in range(epochs):
        tot = 0.0
        for _ in range(steps):
            x, y, w = sampler.batch(bs)
            soft = None
            if teacher is not None:
                with torch.no_grad():
                    soft = torch.sigmoid(teacher(x))
            out = net(x, quant=quant)
            l = loss_fn(out, y, w, pos_weight, soft, alpha)
            opt.zero_grad()
            l.backward()
            opt.step()
            sched.step()
            with torch.no_grad():  # pruned weights stay zero
                for layer in net.layers:
                    layer.conv.weight.mul_(layer.mask)
            tot += float(l)
        log(f"{tag} epoch {ep + 1}/{epochs} loss {tot / steps:.4f}")


def main(argv=None):
    global IN_SHIFT  # --in-shift replaces the default for the data loading helpers above
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="*", default=[], help="training run files (trigctl sim)")
    ap.add_argument("--val", nargs="*", default=[], help="validation run files")
    ap.add_argument("--synthetic", type=int, default=0, help="add N synthetic stand-in cells")
    ap.add_argument("--epochs", type=int, default=6, help="student epochs (half float, half QAT)")
    ap.add_argument("--steps", type=int, default=150, help="batches per epoch")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--pos-weight", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prune", type=float, default=0.0, help="fraction of smallest weights zeroed")
    ap.add_argument("--distill", type=float, default=0.0,
                    help="teacher weight in the target (0 = no teacher, 0.5 = half labels)")
    ap.add_argument("--teacher-epochs", type=int, default=4)
    ap.add_argument("--out", default="out/train", help="directory for the model and report")
    ap.add_argument("--cache", help="directory caching preprocessed run files (.npz)")
    ap.add_argument("--weights", help="write the kernel weights file here (.ltw)")
    ap.add_argument("--vectors", help="write test vectors into this directory")
    ap.add_argument("--name", default="lartrig cnn", help="name stored in the weights file")
    ap.add_argument("--score-frac-bits", type=int, default=6,
                    help="score = logit * 2^N in the int16 score map (saturating)")
    ap.add_argument("--bkg-margin", type=float, default=1.25,
                    help="threshold = margin x highest background score in validation")
    ap.add_argument("--act-bits", type=int, choices=(8, 16), default=16,
                    help="activation width of the kernel (docs/kernel.md): 8 = int8 activations "
                         "(QAT with the 8-bit ranges; weights file version 2 records it)")
    ap.add_argument("--in-shift", type=int, default=IN_SHIFT,
                    help="input activation x = diff >> in_shift (diff in 1/16 ADC); with "
                         "--act-bits 8 it sets the input's saturation at 128 x 2^(in_shift-4) ADC")
    a = ap.parse_args(argv)
    IN_SHIFT = a.in_shift

    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()

    student = Net(STUDENT, act_bits=a.act_bits)
    pw, pt = student.wire_pool, student.time_pool
    train_ex = load_examples(a.data, a.synthetic, a.seed, pw, pt, a.cache)
    val_ex = load_examples(a.val, 0 if a.val else 1, a.seed + 7777, pw, pt, a.cache)
    if not train_ex:
        ap.error("no training data (--data or --synthetic)")
    sampler = Sampler(train_ex, rng, pw, pt)

    teacher = None
    if a.distill > 0:
        teacher = Net(TEACHER, input_scale=1.0 / 8.0)
        fit(teacher, sampler, a.teacher_epochs, a.steps, a.lr, False, a.pos_weight, bs=a.batch,
            tag="teacher")
        teacher.eval()
        for p in teacher.parameters():
            p.requires_grad_(False)

    alpha = 1.0 - a.distill
    nf = max(1, a.epochs // 2)
    fit(student, sampler, nf, a.steps, a.lr, False, a.pos_weight, teacher, alpha, a.batch, "float")
    x, _, _ = sampler.batch(64)
    student.calibrate(x)
    if a.prune > 0:
        student.prune(a.prune)
        log(f"pruned {a.prune:.0%} of the conv weights (magnitude)")
    fit(student, sampler, a.epochs - nf, a.steps, a.lr / 3, True, a.pos_weight, teacher, alpha,
        a.batch, "qat")
    student.calibrate(sampler.batch(64)[0])
    student.set_score_frac_bits(a.score_frac_bits)
    # a last short QAT pass with the final activation scales frozen
    fit(student, sampler, 1, max(20, a.steps // 3), a.lr / 10, True, a.pos_weight, teacher, alpha,
        a.batch, "qat-final")

    qnet = student.export(D_LOG2, IN_SHIFT)
    torch.save(dict(state=student.state_dict(), fa=[l.fa_out for l in student.layers],
                    act_bits=a.act_bits, in_shift=IN_SHIFT),
               os.path.join(a.out, "student.pt"))
    summary = dict(seed=a.seed, act_bits=a.act_bits, in_shift=IN_SHIFT, epochs=a.epochs, steps=a.steps, batch=a.batch, prune=a.prune,
                   distill=a.distill, data=a.data, val=a.val, synthetic=a.synthetic,
                   macs_per_input_pixel=qnet.macs_per_input_pixel(),
                   nonzero_weights=int(sum(int((l.w != 0).sum()) for l in qnet.layers)),
                   total_weights=int(sum(l.w.size for l in qnet.layers)),
                   shifts=[l.shift for l in qnet.layers],
                   score_frac_bits=student.score_frac_bits())
    # validation with the exact integer model
    scores = [run_image(qnet, e["x"]) for e in val_ex]
    ev = evaluate.evaluate(val_ex, scores, qnet, D_LOG2)
    thr = evaluate.choose_threshold(ev, a.bkg_margin)
    summary.update(validation=ev["summary"], threshold=thr,
                   efficiency_at_threshold=evaluate.efficiency_at(ev, thr))
    if teacher is not None:
        with torch.no_grad():
            tsc = [teacher(torch.from_numpy(e["x"].astype(np.float32))[None, None])[0].numpy()
                   for e in val_ex]
        summary["teacher_pixel_auc"] = evaluate.pixel_auc(val_ex, tsc)
    summary["student_pixel_auc"] = evaluate.pixel_auc(val_ex, scores)
    summary["train_seconds"] = round(time.time() - t0, 1)
    log(json.dumps(summary, indent=1, default=float))
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=float)
    export.save_qnet(qnet, os.path.join(a.out, "qnet.npz"), thr)
    crc = 0
    if a.weights:
        crc = export.write_weights(qnet, a.weights, a.name, thr)
        log(f"wrote {a.weights} (CRC-32 {crc:08x}, threshold {thr})")
    if a.vectors:
        info = export.write_vectors(qnet, val_ex[0]["run"], a.vectors, a.seed, crc)
        log(f"wrote test vectors to {a.vectors}: {info}")


if __name__ == "__main__":
    main()
