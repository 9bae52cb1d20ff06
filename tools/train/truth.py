"""Simulation truth of a lartrig run file, read with h5py (the one Python reader of it).

The truth is the group /Truth holding attributes only, never a dataset, because DUNE's hdf5libs
takes every dataset of a file for a fragment (lib/hdf5/h5raw_truth.c, docs/hdf5-layout.md): rows
sit in 1-D compound attributes block_000000, block_000001, ... (n_rows in all). Files written
before that hold /Truth as a compound dataset; both read the same.
"""
import numpy as np


def truth_rows(f):
    """All truth rows of an open h5py.File as one structured array (empty if there is none)."""
    if "Truth" not in f:
        return None
    g = f["Truth"]
    if not hasattr(g, "keys"):  # legacy: a dataset
        return g[()]
    n = int(g.attrs["n_rows"])
    names = sorted(k for k in g.attrs if k.startswith("block_"))
    blocks = [g.attrs[k] for k in names]
    rows = np.concatenate(blocks) if blocks else np.zeros(0)
    if len(rows) != n:
        raise ValueError(f"/Truth: n_rows {n} but blocks hold {len(rows)} rows")
    return rows
