#!/usr/bin/python3
"""Re-export a trained student (out/.../student.pt) to a weights file, optionally with another
score scale or suggested threshold, without retraining.

  /usr/bin/python3 tools/train/reexport.py out/train/student.pt kernels/weights/cnn.ltw \
      [--score-frac-bits 6] [--threshold T] [--name NAME]
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
from model import STUDENT, Net  # noqa: E402
from train import D_LOG2, IN_SHIFT  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("student")
    ap.add_argument("weights")
    ap.add_argument("--score-frac-bits", type=int)
    ap.add_argument("--threshold", type=int, default=0)
    ap.add_argument("--name", default="lartrig cnn")
    a = ap.parse_args()
    ck = torch.load(a.student)
    net = Net(STUDENT, act_bits=ck.get("act_bits", 16))
    net.load_state_dict(ck["state"])
    for layer, fa in zip(net.layers, ck["fa"]):
        layer.fa_out = fa
    if a.score_frac_bits is not None:
        net.set_score_frac_bits(a.score_frac_bits)
    q = net.export(D_LOG2, ck.get("in_shift", IN_SHIFT))
    crc = export.write_weights(q, a.weights, a.name, a.threshold)
    print(f"{a.weights}: shifts {[l.shift for l in q.layers]}, score frac bits "
          f"{net.score_frac_bits()}, threshold {a.threshold}, CRC-32 {crc:08x}")


if __name__ == "__main__":
    main()
