#!/usr/bin/python3
"""Baseline networks in the CNN's own weights format, so they run through the same kernel,
aggregator and readout as the CNN (issue 15: the CNN is always compared on the same data).

  /usr/bin/python3 tools/train/baselines.py [--d 4] [--in-shift 2] [--like FILE]
                   [--out kernels/weights/boxsum.ltw] [--threshold 400] [--name NAME]

The default weights file kernels/weights/default.ltw is the same network with the working point's
candidate threshold (docs/training.md "Working point"):

  /usr/bin/python3 tools/train/baselines.py --out kernels/weights/default.ltw --threshold 250 \
      --name "3x3 charge sum: default working point"

boxsum: one layer, 1 -> 1 channel, 3 columns x 3 wires, every weight 1, no bias, no shift, no
ReLU, no pool: the score of (column t, wire j) is the plain sum of the pedestal-subtracted input
x over columns t-2..t and wires j-1..j+1, i.e. a 3x3 charge sum. Downsampling and input scale
are D = 2^4 = 16 samples and in_shift 2 (1/4 ADC), the first CNN's columns, on which it was
compared and tuned (boxsum.ltw, default.ltw); --like FILE copies them from another network
instead. Select it with the trigd configuration `kernel = { weights = "<path>"; threshold = N; }`.
Needs only numpy (no torch).
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from export import read_weights, write_weights  # noqa: E402
from intmodel import QLayer, QNet  # noqa: E402


def boxsum_net(d, in_shift, kt=3, kw=3):
    w = np.ones((1, 1, kt, kw), dtype=np.int8)
    layer = QLayer(cin=1, cout=1, kt=kt, kw=kw, shift=0, relu=False, pw=1, pt=1, w=w,
                   b=np.zeros(1, dtype=np.int32))
    return QNet(d=d, in_shift=in_shift, layers=[layer])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d", type=int, default=4, help="downsample by 2^d samples")
    ap.add_argument("--in-shift", type=int, default=2)
    ap.add_argument("--like", default=None, help="copy d and in_shift from this weights file")
    ap.add_argument("--out", default=os.path.join(ROOT, "kernels/weights/boxsum.ltw"))
    ap.add_argument("--threshold", type=int, default=400,
                    help="suggested candidate threshold (score units: the input x, 1/4 ADC with "
                    "in_shift 2, summed over 9 pixels)")
    ap.add_argument("--name", default="3x3 charge sum baseline")
    a = ap.parse_args()
    d, in_shift = a.d, a.in_shift
    if a.like:
        like = read_weights(a.like)[0]
        d, in_shift = like.d, like.in_shift
    net = boxsum_net(d, in_shift)
    crc = write_weights(net, a.out, a.name, a.threshold)
    print(f"wrote {a.out}: 3x3 charge sum, D = {2 ** net.d}, in_shift "
          f"{net.in_shift}, threshold {a.threshold}, CRC-32 {crc:08x}")


if __name__ == "__main__":
    main()
