#!/usr/bin/python3
"""Write the hand-made default weights file kernels/weights/default.ltw.

This is NOT a trained network. It exists so the pipeline runs end to end before tools/train/
exports a trained one to the same path. It is designed by hand to be physically sensible:

  layer 0 (1 -> 4, 3x3, ReLU, pool 2 wires): four matched filters for the shapes charge makes on
      the collection plane after downsampling - a compact blip (centre-weighted box), a track
      crossing wires at one time, a track along one wire (long in time), a diagonal track; each
      with a negative bias that removes the noise floor before the ReLU;
  layer 1 (4 -> 4, 3x3, ReLU, pool 2 wires): sums neighbouring responses (each output favours
      its own shape and adds the others), so extended deposits grow faster than noise;
  layer 2 (4 -> 1, 1x3, linear): the score, ~ the local signal strength in 1/4-ADC units.

The suggested threshold is derived here by running the integer model (docs/kernel.md arithmetic,
written out with numpy) on simulated white noise of 3 ADC rms per sample: 1.5 x the largest
noise score, so noise alone almost never fires.

Usage: tools/make_default_weights.py [-o kernels/weights/default.ltw] [--seed N]
"""
import argparse
import struct
import sys
import zlib

import numpy as np

NAME = b"hand-made default v1"
D_LOG2 = 4      # 16 samples (8.192 us) per column
IN_SHIFT = 2    # x in 1/4 ADC of the column mean


def layers():
    """[(desc dict, w[co][ci][dt][dw] int8, bias int32)]; dt = 0 is the oldest column."""
    f_blip = [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    f_wires = [[1, 1, 1], [4, 4, 4], [1, 1, 1]]   # same time, neighbouring wires
    f_time = [[1, 4, 1], [1, 4, 1], [1, 4, 1]]    # same wire, consecutive columns
    f_diag = [[4, 1, 0], [1, 4, 1], [0, 1, 4]]
    w0 = np.array([[f] for f in (f_blip, f_wires, f_time, f_diag)], dtype=np.int8)  # 4,1,3,3
    b0 = np.full(4, -2 << 4, dtype=np.int32)  # shift 4: remove 2 units (0.5 ADC) of noise floor
    l0 = dict(cin=1, cout=4, kt=3, kw=3, shift=4, relu=1, pw=2, pt=1)

    w1 = np.zeros((4, 4, 3, 3), dtype=np.int8)
    for co in range(4):
        for ci in range(4):
            w1[co, ci] = 2 if ci == co else 0
            w1[co, ci, 1, 1] += 1
    b1 = np.full(4, -4 << 3, dtype=np.int32)
    l1 = dict(cin=4, cout=4, kt=3, kw=3, shift=3, relu=1, pw=2, pt=1)

    w2 = np.zeros((1, 4, 1, 3), dtype=np.int8)
    w2[0, :, 0, :] = [1, 2, 1]
    b2 = np.zeros(1, dtype=np.int32)
    l2 = dict(cin=4, cout=1, kt=1, kw=3, shift=2, relu=0, pw=1, pt=1)
    return [(l0, w0, b0), (l1, w1, b1), (l2, w2, b2)]


def round_shift(a, s):
    return a if s == 0 else (a >> s) + ((a >> (s - 1)) & 1)


def forward(x, net):
    """Integer model of docs/kernel.md on a whole image x[t][wire] (int64 arithmetic, then the
    int32 wrap and int16 saturation the kernel applies). Returns the score map [u][group]."""
    a = x[None].astype(np.int64)  # [c][t][w]
    for desc, w, b in net:
        cin, T, W = a.shape
        kt, kw = desc["kt"], desc["kw"]
        pad = np.zeros((cin, T + kt - 1, W + kw - 1), dtype=np.int64)
        pad[:, kt - 1:, kw // 2:kw // 2 + W] = a
        out = np.zeros((desc["cout"], T, W), dtype=np.int64)
        for co in range(desc["cout"]):
            acc = np.full((T, W), int(b[co]), dtype=np.int64)
            for ci in range(cin):
                for dt in range(kt):
                    for dw in range(kw):
                        acc += int(w[co, ci, dt, dw]) * pad[ci, dt:dt + T, dw:dw + W]
            acc = ((acc + 2**31) % 2**32) - 2**31
            y = round_shift(acc, desc["shift"])
            if desc["relu"]:
                y = np.maximum(y, 0)
            out[co] = np.clip(y, -32768, 32767)
        if desc["pw"] > 1:
            out = out.reshape(out.shape[0], T, W // desc["pw"], desc["pw"]).max(axis=3)
        if desc["pt"] > 1:
            T2 = T // 2
            out = out[:, :2 * T2].reshape(out.shape[0], T2, 2, -1).max(axis=2)
        a = out
    return a[0]


def noise_threshold(net, seed):
    rng = np.random.default_rng(seed)
    D = 1 << D_LOG2
    cols, wires = 4000, 960
    raw = rng.normal(0.0, 3.0, size=(cols, D, wires)).round().astype(np.int64) + 900
    s = raw.sum(axis=1)
    v = (s << 4) >> D_LOG2
    ped = np.median(v, axis=0).astype(np.int64)  # the tracker's steady state
    x = np.clip(round_shift(v - ped, IN_SHIFT), -32768, 32767)
    score = forward(x, net)
    return int(1.5 * score[8:].max()) + 1


def encode(net, threshold):
    body = struct.pack("<8sHBBBBh32s", b"LARTRIGW", 1, D_LOG2, IN_SHIFT, len(net), 0, threshold,
                       NAME)
    for d, _, _ in net:
        body += bytes([d["cin"], d["cout"], d["kt"], d["kw"], d["shift"], d["relu"], d["pw"],
                       d["pt"]])
    for d, w, b in net:
        assert w.shape == (d["cout"], d["cin"], d["kt"], d["kw"])
        body += w.astype(np.int8).tobytes() + b.astype("<i4").tobytes()
    return body + struct.pack("<I", zlib.crc32(body))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default="kernels/weights/default.ltw")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    net = layers()
    thr = noise_threshold(net, args.seed)
    data = encode(net, thr)
    with open(args.output, "wb") as f:
        f.write(data)
    print(f"{args.output}: {len(data)} bytes, threshold {thr}, crc 0x{zlib.crc32(data[:-4]):08x}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
