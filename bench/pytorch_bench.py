#!/usr/bin/python3
"""Time the kernel's network in PyTorch (float32, one thread) on one full cell (960 collection
wires), the same workload as bench/bench_kernel.c, for the "PyTorch comparison" section of
docs/performance.md.

The weights are the committed kernels/weights/default.ltw, dequantised (w_int * 2^-fw is not
needed for timing; the integer values are used as floats, which costs the same). The input is a
960-wire image of preprocessed int16 columns (noise-like values) processed as ONE long image per
call: the most favourable case for PyTorch (no per-column overhead; the C kernel streams column
by column). Preprocessing (unpack, downsample, pedestal) is NOT included on the PyTorch side, so
the comparison flatters PyTorch; see --with-preprocess to time a numpy version of it too.

  /usr/bin/python3 bench/pytorch_bench.py [--seconds 0.25] [--repeat 5] [--weights FILE]
Prints one JSON object.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "train"))
import export  # noqa: E402
from intmodel import preprocess  # noqa: E402

SAMPLE_RATE = 1953125.0


def torch_forward(layers, x):
    for l in layers:
        x = F.pad(x, (l["kt"] - 1, 0, l["kw"] // 2, l["kw"] // 2))
        x = F.conv2d(x, l["w"], l["b"])
        if l["relu"]:
            x = F.relu(x)
        if l["pw"] > 1 or l["pt"] > 1:
            x = F.max_pool2d(x, (l["pw"], l["pt"]))
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=os.path.join(HERE, "..", "kernels", "weights", "default.ltw"))
    ap.add_argument("--seconds", type=float, default=0.25, help="detector time per call")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--wires", type=int, default=960)
    ap.add_argument("--with-preprocess", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    net, thr, name, crc = export.read_weights(a.weights)
    D = 1 << net.d
    cols = int(a.seconds * SAMPLE_RATE / D) // net.time_pool * net.time_pool
    layers = []
    for l in net.layers:
        # torch layout (cout, cin, kw, kt) from the kernel's (co, ci, dt, dw)
        w = torch.from_numpy(l.w.astype(np.float32).transpose(0, 1, 3, 2).copy())
        layers.append(dict(w=w, b=torch.from_numpy(l.b.astype(np.float32)), kt=l.kt, kw=l.kw,
                           relu=l.relu, pw=l.pw, pt=l.pt))
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.normal(0, 4, (1, 1, a.wires, cols)).astype(np.float32))
    with torch.no_grad():
        torch_forward(layers, x[..., : 64])  # warm-up
        best = float("inf")
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            torch_forward(layers, x)
            best = min(best, time.perf_counter() - t0)
    data_s = cols * D / SAMPLE_RATE
    out = dict(what="PyTorch float32 network, 1 thread, one long image per call",
               torch=torch.__version__, weights=name, weights_crc=f"{crc:08x}", wires=a.wires,
               columns=cols, downsample=D, detector_seconds=data_s, best_wall_seconds=best,
               realtime_factor=data_s / best,
               input_samples_per_s=a.wires * cols * D / best,
               macs_per_column=net.macs_per_input_pixel() * a.wires,
               gmac_per_s=net.macs_per_input_pixel() * a.wires * cols / best / 1e9)
    if a.with_preprocess:
        adc = rng.integers(880, 920, (a.wires, cols * D)).astype(np.uint16)
        t0 = time.perf_counter()
        preprocess(adc, net.d, net.in_shift)
        out["numpy_preprocess_seconds"] = time.perf_counter() - t0
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
