#!/usr/bin/python3
"""A thresholded, clipped charge-sum network in the CNN's weights format (issue 15, item 4).

  /usr/bin/python3 tools/train/sumnet.py --d 2 --t 4 [--c 40] --win1 5x5 [--win2 5x5]
        [--pool 2] [--shift2 0] [--shift3 2] [--threshold 200] --out FILE [--name NAME]

The network (docs/training.md "Session 5: the CNN redesigned"):

  layer 1: 1 -> 2 channels, 1 x 1, bias -4t and -4c, ReLU:  relu(x - 4t), relu(x - 4c)
           (without --c: 1 -> 1, relu(x - 4t) only)
  layer 2: 2 -> 1, KT1 columns x KW1 wires, weights +1 / -1, ReLU, max-pool --pool x --pool:
           the window sum of min(relu(x - 4t), 4(c - t)) (each pixel's charge above a noise
           threshold of t ADC, clipped at c ADC so that no single noisy or saturated pixel,
           nor a compact alpha, can carry a candidate alone)
  layer 3 (--win2): 1 -> 1, KT2 x KW2, every weight 1, no ReLU: a second window sum, so the
           whole is a pyramid-weighted sum over (KW1 + pool (KW2 - 1)) wires.
           Without --win2 layer 2 is the score layer (no ReLU, no pool, shift --shift2).

x is the kernel's input: the pedestal-subtracted mean of D = 2^d samples in 1/4 ADC
(in_shift 2). t and c are in ADC of that mean. The score's unit: the layer-3 output after
--shift3 (and --shift2 after layer 2), so a kernel threshold of 200 and the physics report's
grid (200 to 4800) cover the range where electrons and 214Bi meet. Needs only numpy.
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from export import write_weights  # noqa: E402
from intmodel import QLayer, QNet  # noqa: E402


def win(s):
    kt, kw = (int(v) for v in s.split("x"))  # columns x wires
    return kt, kw


def sum_net(d, t, c, win1, win2=None, pool=1, shift2=0, shift3=0, in_shift=2):
    kt1, kw1 = win1
    nc = 1 if c is None else 2
    bias = [-round(4 * t)] + ([] if c is None else [-round(4 * c)])
    l1 = QLayer(cin=1, cout=nc, kt=1, kw=1, shift=0, relu=True, pw=1, pt=1,
                w=np.ones((nc, 1, 1, 1), dtype=np.int8), b=np.array(bias, dtype=np.int32))
    w2 = np.zeros((1, nc, kt1, kw1), dtype=np.int8)
    w2[0, 0] = 1
    if c is not None:
        w2[0, 1] = -1
    last2 = win2 is None
    l2 = QLayer(cin=nc, cout=1, kt=kt1, kw=kw1, shift=shift2, relu=not last2,
                pw=1 if last2 else pool, pt=1 if last2 else min(pool, 2), w=w2,
                b=np.zeros(1, dtype=np.int32))
    layers = [l1, l2]
    if win2 is not None:
        kt2, kw2 = win2
        layers.append(QLayer(cin=1, cout=1, kt=kt2, kw=kw2, shift=shift3, relu=False, pw=1,
                             pt=1, w=np.ones((1, 1, kt2, kw2), dtype=np.int8),
                             b=np.zeros(1, dtype=np.int32)))
    net = QNet(d=d, in_shift=in_shift, layers=layers)
    net.check()
    return net


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d", type=int, default=2, help="downsample by 2^d samples")
    ap.add_argument("--t", type=float, required=True, help="pixel threshold, ADC")
    ap.add_argument("--c", type=float, default=None, help="pixel clip, ADC (default: none)")
    ap.add_argument("--win1", type=win, required=True, help="layer-2 window, columns x wires")
    ap.add_argument("--win2", type=win, default=None, help="layer-3 window, columns x wires")
    ap.add_argument("--pool", type=int, default=1, help="max-pool after layer 2 (1 or 2)")
    ap.add_argument("--shift2", type=int, default=0)
    ap.add_argument("--shift3", type=int, default=0)
    ap.add_argument("--threshold", type=int, default=200)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="")
    a = ap.parse_args()
    net = sum_net(a.d, a.t, a.c, a.win1, a.win2, a.pool, a.shift2, a.shift3)
    name = a.name or f"sum d{a.d} t{a.t:g}" + ("" if a.c is None else f" c{a.c:g}")
    crc = write_weights(net, a.out, name, a.threshold)
    print(f"wrote {a.out}: '{name}', {net.macs_per_input_pixel():.1f} MAC per input pixel, "
          f"delay {net.delay} columns, CRC-32 {crc:08x}")


if __name__ == "__main__":
    main()
