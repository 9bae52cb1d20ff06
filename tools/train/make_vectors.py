#!/usr/bin/python3
"""Write the kernel test vectors (tests/data/kernel_vectors) for a given weights file, from a run
file or from the synthetic stand-in. train.py does this itself after training; use this when the
weights file changes by other means.

  /usr/bin/python3 tools/train/make_vectors.py --weights kernels/weights/cnn.ltw \
      [--run runs/val.h5 | --synthetic-seed 7] [--out tests/data/kernel_vectors]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data as tdata  # noqa: E402
import export  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=os.path.join(ROOT, "kernels", "weights", "cnn.ltw"))
    ap.add_argument("--run", help="run file (trigctl sim); its first cell is used")
    ap.add_argument("--synthetic-seed", type=int, default=7)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "kernel_vectors"))
    a = ap.parse_args()
    net, thr, name, crc = export.read_weights(a.weights)
    if a.run:
        cell = tdata.run_cells(a.run)[0]
        run = tdata.read_run(a.run, cell=cell, d=net.d, in_shift=net.in_shift,
                             keep_raw_samples=12 * 64, max_slices=10)
    else:
        run = tdata.synthetic_run(a.synthetic_seed, n_fembs=20, n_samples=64 * 64)
    info = export.write_vectors(net, run, a.out, a.synthetic_seed, crc)
    print(f"{a.out}: vectors for \"{name}\" (CRC-32 {crc:08x}): {info}")


if __name__ == "__main__":
    main()
