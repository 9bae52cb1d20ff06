#!/usr/bin/python3
"""Time the kernel's network in PyTorch (float32, one thread) on one full cell (960 collection
wires), the same workload as bench/bench_kernel.c, for the "PyTorch comparison" section of
docs/performance.md.

The weights are the committed CNN kernels/weights/cnn.ltw, dequantised (w_int * 2^-fw is not
needed for timing; the integer values are used as floats, which costs the same). The input is a
960-wire image of preprocessed int16 columns (noise-like values) processed as ONE long image per
call: the most favourable case for PyTorch (no per-column overhead; the C kernel streams column
by column). Preprocessing (unpack, downsample, pedestal) is NOT included on the PyTorch side, so
the comparison flatters PyTorch; see --with-preprocess to time a numpy version of it too.

  /usr/bin/python3 bench/pytorch_bench.py [--seconds 0.25] [--repeat 5] [--weights FILE]
                                         [--update-doc [--build build]]
Prints one JSON object. --update-doc also runs build/bench/bench_kernel on the same weights and
rewrites the "PyTorch comparison" section of docs/performance.md with both figures.
"""
import argparse
import json
import os
import platform
import re
import subprocess
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
    ap.add_argument("--weights", default=os.path.join(HERE, "..", "kernels", "weights", "cnn.ltw"))
    ap.add_argument("--seconds", type=float, default=0.25, help="detector time per call")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--wires", type=int, default=960)
    ap.add_argument("--with-preprocess", action="store_true")
    ap.add_argument("--chunk-columns", type=int, default=128,
                    help="also time calls of this many columns (bench_kernel's 32 periods)")
    ap.add_argument("--update-doc", action="store_true")
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
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
        # streaming-like calls: chunk_columns columns per call (no state carried; cost only)
        ch = x[..., : a.chunk_columns]
        n_calls = max(1, cols // a.chunk_columns)
        best_chunk = float("inf")
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            for _ in range(n_calls):
                torch_forward(layers, ch)
            best_chunk = min(best_chunk, (time.perf_counter() - t0) / n_calls)
    data_s = cols * D / SAMPLE_RATE
    out = dict(what="PyTorch float32 network, 1 thread, one long image per call",
               torch=torch.__version__, weights=name, weights_crc=f"{crc:08x}", wires=a.wires,
               columns=cols, downsample=D, detector_seconds=data_s, best_wall_seconds=best,
               realtime_factor=data_s / best,
               input_samples_per_s=a.wires * cols * D / best,
               macs_per_column=net.macs_per_input_pixel() * a.wires,
               gmac_per_s=net.macs_per_input_pixel() * a.wires * cols / best / 1e9,
               chunk_columns=a.chunk_columns,
               chunk_input_samples_per_s=a.wires * a.chunk_columns * D / best_chunk)
    if a.with_preprocess:
        adc = rng.integers(880, 920, (a.wires, cols * D)).astype(np.uint16)
        t0 = time.perf_counter()
        preprocess(adc, net.d, net.in_shift)
        out["numpy_preprocess_seconds"] = time.perf_counter() - t0
    if a.update_doc:
        update_doc(a, out)
    print(json.dumps(out, indent=1))


def c_bench(a):
    """Run bench_kernel on the same weights; {isa: cnn samples/s} of its 'cnn' stage."""
    exe = os.path.join(a.build, "bench", "bench_kernel")
    r = subprocess.run([exe, a.weights, "1"], check=True, stdout=subprocess.PIPE, text=True)
    res = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^(scalar|avx2|avx512)\s+([\d.e+]+)\s+[\d.]+\s+\|\s+[\d.e+]+\s+[\d.]+\s+\|"
                     r"\s+([\d.e+]+)", line)
        if m:
            res[m.group(1)] = float(m.group(3))
    return res


def update_doc(a, out):
    c = c_bench(a)
    doc = os.path.join(HERE, "..", "docs", "performance.md")
    with open(doc) as f:
        text = f.read()
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0]
    py_long, py_chunk = out["input_samples_per_s"], out["chunk_input_samples_per_s"]
    py = max(py_long, py_chunk)  # the ratio is taken against PyTorch's better figure
    L = ["## PyTorch comparison", "",
         "`/usr/bin/python3 bench/pytorch_bench.py --update-doc` (bench/pytorch_bench.py) times the "
         "same network (the committed weights, run as float32 convs) in PyTorch "
         f"{out['torch']} with one thread, on one full cell of 960 wires: one long image of "
         f"{out['columns']} columns ({out['detector_seconds']:.3f} s of data) per call, best of "
         "the repeats, and calls of "
         f"{out['chunk_columns']} columns (bench_kernel's 32 frame periods per call; these carry no "
         "line-buffer state between calls, so PyTorch skips the few columns of overlap a "
         "correct streaming version would recompute, and its working set stays in cache). The "
         "C figure is "
         "the `cnn` stage of `build/bench/bench_kernel` (network on precomputed columns, single "
         "thread) run by the same command on the same weights; preprocessing is excluded on both "
         "sides. Figures are input samples (wire x sample) per second; one cell needs 1.875e9.", "",
         "| implementation | input samples/s | real-time factor (one cell) | C / best PyTorch |",
         "|---|---|---|---|",
         f"| PyTorch float32, 1 thread, one long image | {py_long:.3g} | {py_long / 1.875e9:.3f} | - |",
         f"| PyTorch float32, 1 thread, {out['chunk_columns']}-column calls | "
         f"{out['chunk_input_samples_per_s']:.3g} | {out['chunk_input_samples_per_s'] / 1.875e9:.3f} | - |"]
    for isa in ("scalar", "avx2", "avx512"):
        if isa in c:
            L.append(f"| C kernel (cnn stage), {isa} | {c[isa]:.3g} | {c[isa] / 1.875e9:.3f} | "
                     f"{c[isa] / py:.1f}x |")
    L += ["", f"Machine: {cpu}, {os.cpu_count()} cores, {platform.python_implementation()} "
          f"{platform.python_version()}, load average {load:.1f} while measuring (shared: both "
          f"sides suffer alike), {time.strftime('%Y-%m-%d', time.gmtime())}. Weights "
          f"\"{out['weights']}\" ({out['weights_crc']}). PyTorch runs the int8/int16 network as "
          "float32 (what a framework offers out of the box); the C kernel does int16 x int8 "
          "multiply-adds with int32 accumulation in SIMD registers and streams column by column "
          "with line buffers, so it touches each input once and keeps its working set in cache.", ""]
    sec = "\n".join(L) + "\n"
    pat = re.compile(r"^## PyTorch comparison\n.*?(?=^## |\Z)", re.S | re.M)
    if not pat.search(text):
        raise SystemExit(f"{doc}: no '## PyTorch comparison' section")
    text = pat.sub(lambda m: sec, text, count=1)
    with open(doc, "w") as f:
        f.write(text)
    out["c_cnn_samples_per_s"] = c


if __name__ == "__main__":
    main()
