#!/usr/bin/python3
"""The kernel's network beside its peers, one thread each, same network and input size, in one
run: the C kernel (build/bench/bench_kernel: whole kernel and network stage, AVX2 and AVX-512),
PyTorch (float32) and ONNX Runtime (the npm package onnxruntime-node, CPU: the same network
exported to ONNX float32, and to int8 QDQ that ORT turns into QLinearConv). Every figure is
thread-CPU time (the C kernel and PyTorch: CLOCK_THREAD_CPUTIME_ID / time.thread_time; ORT: the
busiest thread of the node process from /proc), with the load average next to it: the machine
is shared. Prints a markdown table; --update-doc rewrites docs/performance.md's "Kernel and
peers" section with it.

  /usr/bin/python3 bench/peers.py [--weights A.ltw B.ltw] [--build build] [--update-doc]

Needs build/bench/bench_kernel and bench_macpeak, /usr/bin/python3 with torch, node and npm
(bench/peers/: `npm install --ignore-scripts` is run there when onnxruntime-node is missing).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
import export  # noqa: E402

CELL_RATE = 960 * 1953125.0  # input samples/s of one full cell
WIRES = 960


def load():
    return os.getloadavg()[0]


# ---------------------------------------------------------------- the network as float modules

class FloatNet(torch.nn.Module):
    """The integer network run as float32 convs (integer-valued weights; what a framework runs
    out of the box). qdq=True wraps activations and weights in per-tensor int8/uint8 fake
    quantisation (power-of-two scales from the layer shifts) so ONNX gets QuantizeLinear /
    DequantizeLinear pairs, which ONNX Runtime fuses into QLinearConv."""

    def __init__(self, net, qdq=False):
        super().__init__()
        self.net, self.qdq = net, qdq
        self.w = [torch.from_numpy(l.w.astype(np.float32).transpose(0, 1, 3, 2).copy())
                  for l in net.layers]
        self.b = [torch.from_numpy(l.b.astype(np.float32)) for l in net.layers]

    def forward(self, x):
        in_scale = 1.0  # float value of one integer step of this layer's input
        n = len(self.net.layers)
        if self.qdq:
            x = torch.fake_quantize_per_tensor_affine(x, 1.0, 0, -128, 127)
        for i, l in enumerate(self.net.layers):
            w = self.w[i]
            if self.qdq:  # integer weights at scale 1 / in_scale: the conv sums in acc units
                w = torch.fake_quantize_per_tensor_affine(w / in_scale, 1.0 / in_scale, 0, -128,
                                                          127)
            x = F.pad(x, (l.kt - 1, 0, l.kw // 2, l.kw // 2))
            x = F.conv2d(x, w, self.b[i])
            if l.relu:
                x = F.relu(x)
            if self.qdq and i < n - 1:
                s = float(2 ** l.shift)
                lo, hi = (0, 255) if l.relu else (-128, 127)
                x = torch.fake_quantize_per_tensor_affine(x, s, 0, lo, hi)
                in_scale = s
            if l.pw > 1 or l.pt > 1:
                x = F.max_pool2d(x, (l.pw, l.pt))
        return x


def input_image(cols, seed=1):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(-8, 9, (1, 1, WIRES, cols)).astype(np.float32))


# ---------------------------------------------------------------- peers

def time_torch(net, cols, repeat, calls):
    torch.set_num_threads(1)
    m = FloatNet(net)
    x = input_image(cols)
    best = float("inf")
    with torch.no_grad():
        m(x)
        for _ in range(repeat):
            t0 = time.thread_time()
            for _ in range(calls):
                m(x)
            best = min(best, (time.thread_time() - t0) / calls)
    return best


def ensure_ort():
    mod = os.path.join(HERE, "peers", "node_modules", "onnxruntime-node")
    if not os.path.isdir(mod):
        subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"],
                       cwd=os.path.join(HERE, "peers"), check=True, stdout=subprocess.DEVNULL)


def export_onnx(net, qdq, cols, path):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(FloatNet(net, qdq), input_image(cols), path, opset_version=13,
                          input_names=["x"], output_names=["score"])


def time_ort(model, cols, repeat, calls, opt):
    r = subprocess.run(["node", os.path.join(HERE, "peers", "ort_time.js"), model, str(WIRES),
                        str(cols), str(calls), str(repeat), opt], check=True,
                       stdout=subprocess.PIPE, text=True)
    return json.loads(r.stdout)


def c_kernel(build, weights):
    """bench_kernel's rows: {isa: (whole S/s, cnn S/s, cnn GMAC/s)}."""
    r = subprocess.run([os.path.join(build, "bench", "bench_kernel"), weights, "1"], check=True,
                       stdout=subprocess.PIPE, text=True, cwd=ROOT)
    res = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^(avx2|avx512)\s+([\d.e+]+)\s+[\d.]+\s+\|\s+[\d.e+]+\s+[\d.]+\s+\|"
                     r"\s+([\d.e+]+)\s+[\d.]+\s+([\d.]+)", line)
        if m:
            res[m.group(1)] = (float(m.group(2)), float(m.group(3)), float(m.group(4)))
    return res


def mac_peak(build):
    r = subprocess.run([os.path.join(build, "bench", "bench_macpeak")], check=True,
                       stdout=subprocess.PIPE, text=True)
    peaks = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^(int8|int16)\s+(\S+).*?([\d.]+)\s*$", line)
        if m:
            peaks[f"{m.group(1)} {m.group(2)}"] = float(m.group(3))
    return peaks


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", nargs="+", default=[
        os.path.join(ROOT, "kernels", "weights", "cnn.ltw"),
        os.path.join(ROOT, "tests", "data", "kernel_vectors_int8", "weights.ltw")])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--columns", type=int, default=2048, help="columns per call, long image")
    ap.add_argument("--chunk", type=int, default=128,
                    help="columns per call, streaming-like (bench_kernel's 32 periods)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--update-doc", action="store_true")
    a = ap.parse_args()
    ensure_ort()
    peaks = mac_peak(a.build)
    with tempfile.TemporaryDirectory(prefix="lartrig-peers-") as tmp:
        rows = measure(a, tmp)
    table = render(rows, peaks)
    print(table)
    if a.update_doc:
        update_doc(table)


def measure(a, tmp):
    """Every row of the table: the C kernel, PyTorch and ORT per weights file."""
    rows = []
    for wpath in a.weights:
        net, _, name, crc = export.read_weights(wpath)
        D = 1 << net.d
        macs = net.macs_per_input_pixel() * WIRES  # per input column
        tag = f"\"{name}\" ({net.act_bits}-bit activations)"
        ld = load()
        c = c_kernel(a.build, wpath)
        for isa in ("avx2", "avx512"):
            if isa in c:
                whole, cnn, gmac = c[isa]
                rows.append(dict(weights=tag, impl=f"C kernel, network stage, {isa}", sps=cnn,
                                 gmac=gmac, load=ld))
                rows.append(dict(weights=tag, impl=f"C kernel, whole (unpack..candidates), {isa}",
                                 sps=whole, gmac=None, load=ld))
        for cols, what in ((a.columns, f"{a.columns}-column image"), (a.chunk, f"{a.chunk}-column calls")):
            calls = max(2, 8192 // cols)  # >= 0.1 s per round: /proc times tick at 10 ms
            ld = load()
            s = time_torch(net, cols, a.repeat, calls)
            rows.append(dict(weights=tag, impl=f"PyTorch {torch.__version__} float32, {what}",
                             sps=WIRES * cols * D / s, gmac=macs * cols / s / 1e9, load=ld))
            for qdq in (False, True):
                model = os.path.join(tmp, f"{crc:08x}_{cols}_{int(qdq)}.onnx")
                export_onnx(net, qdq, cols, model)
                for opt in (("all",) if qdq else ("all", "basic")):
                    ld = load()
                    r = time_ort(model, cols, a.repeat, calls, opt)
                    s = r["cpu_s_per_call"]
                    kind = "int8 QDQ (QLinearConv)" if qdq else "float32"
                    rows.append(dict(weights=tag,
                                     impl=f"ONNX Runtime {r['ort']} {kind}, opt {opt}, {what}",
                                     sps=WIRES * cols * D / s, gmac=macs * cols / s / 1e9, load=ld))
    return rows


def render(rows, peaks):
    L = []
    for tag in dict.fromkeys(r["weights"] for r in rows):
        rs = [r for r in rows if r["weights"] == tag]
        c512 = next((r["sps"] for r in rs if r["impl"] == "C kernel, network stage, avx512"), None)
        ort_best = max((r["sps"] for r in rs if r["impl"].startswith("ONNX")), default=None)
        L += [f"Weights {tag}:", "",
              "| implementation (one thread) | input samples/s | x real time (one cell) | GMAC/s "
              "| C avx512 network / this | load avg |", "|---|---|---|---|---|---|"]
        for r in rs:
            ratio = f"{c512 / r['sps']:.1f}x" if c512 and not r["impl"].startswith("C ") else "-"
            g = f"{r['gmac']:.1f}" if r["gmac"] else "-"
            L.append(f"| {r['impl']} | {r['sps']:.3g} | {r['sps'] / CELL_RATE:.2f} | {g} | {ratio} "
                     f"| {r['load']:.1f} |")
        if c512 and ort_best:
            L.append("")
            L.append(f"C avx512 network stage / best ONNX Runtime configuration: "
                     f"**{c512 / ort_best:.1f}x**.")
        L.append("")
    pk = ", ".join(f"{k} {v:.1f}" for k, v in peaks.items())
    L.append(f"MAC peaks of this core (bench_macpeak, GMAC/s): {pk}.")
    L.append(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average at the end "
             f"{load():.1f} on {os.cpu_count()} cores.")
    return "\n".join(L) + "\n"


def update_doc(table):
    doc = os.path.join(ROOT, "docs", "performance.md")
    with open(doc) as f:
        text = f.read()
    sec = ("## Kernel and peers\n\n`/usr/bin/python3 bench/peers.py --update-doc` (bench/README.md) "
           "wrote this section: the same networks and input size in every implementation, one "
           "thread each, thread-CPU time, best of the repeats, the load average at each "
           "measurement. Input: 960 wires x N columns of noise-like activations; S/s counts "
           "input samples (wire x raw sample, 16 per column at d = 4) so figures compare with "
           "the kernel's; one cell needs 1.875e9. The peers run the network only (no unpacking, "
           "pedestals or candidates); the C rows give the network stage and the whole kernel. "
           "PyTorch and ONNX Runtime run whole images without carrying line buffers between "
           "calls (cheaper than streaming); ORT's int8 model requantises between layers as the "
           "int8 kernel does (QLinearConv), its float model runs float32 convs.\n\n" + table + "\n")
    pat = re.compile(r"^## (Kernel and peers|PyTorch comparison)\n.*?(?=^## |\Z)", re.S | re.M)
    if not pat.search(text):
        raise SystemExit(f"{doc}: no '## Kernel and peers' section")
    with open(doc, "w") as f:
        f.write(pat.sub(lambda m: sec, text, count=1))


if __name__ == "__main__":
    main()
