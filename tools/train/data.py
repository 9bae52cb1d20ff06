"""Training data: run files written by `trigctl sim` (or a synthetic stand-in), preprocessed with
the kernel's exact integer arithmetic, and labels from the simulation truth.

A run file (docs/hdf5-layout.md) holds /TimeSliceNNNNNN/RawData/Detector_Readout_0x%08x_WIBEth
datasets: a 72-byte FragmentHeader followed by 7200-byte WIBEth frames of one stream, placed by
its frames' DAQEthHeader (cell = crate, stream = slot * 8 + stream_id) and the file's GeoID map,
never by the SourceID number, so files of DUNE's DAQ read too. /Truth holds the truth rows
(lib/formats/truth.h) in attributes of a group, read by truth.py.
"""
import re

import numpy as np

from intmodel import preprocess
from truth import truth_rows

TICKS_PER_SAMPLE = 32
FRAME_SIZE = 7200
FRAME_WORDS = FRAME_SIZE // 8
FRAG_HEADER_SIZE = 72
SAMPLES_PER_FRAME = 64
CHANNELS_PER_STREAM = 64
X_PER_FEMB = 48

KIND_AR39, KIND_LOW, KIND_HIGH, KIND_COSMIC = 0, 1, 2, 3
KIND_NAMES = {0: "ar39", 1: "low_energy", 2: "high_energy", 3: "cosmic", 4: "ar42", 5: "kr85",
              6: "rn222", 7: "ncapture"}  # lib/formats/truth.h; 0 and 4-7 are background
SIGNAL_KINDS = (KIND_LOW, KIND_HIGH, KIND_COSMIC)

TRUTH_DTYPE = np.dtype([("time", "<u8"), ("cell", "<u4"), ("channel_start", "<u2"),
                        ("channel_end", "<u2"), ("kind", "<u4"), ("energy_mev", "<f4"),
                        ("time_end", "<u8")])


# ---------------------------------------------------------------- channel map

def collection_channels(stream):
    """Collection (X) wires carried by one stream: list of (link channel, wire-in-femb).

    Mirrors lib/formats/chmap.c (docs/formats.md): FEMB f owns streams 2f and 2f+1, FEMB-local channel
    c = (stream % 2) * 64 + link channel; c 0-39 are U, 40-79 V, 80-127 X wires. So the 48 X
    wires of a board are channels 16-63 of its odd stream."""
    if stream % 2 == 0:
        return []
    return [(16 + k, k) for k in range(X_PER_FEMB)]


def collection_map(n_fembs):
    """Arrays (stream, channel) of length 48 * n_fembs, indexed by collection wire."""
    W = X_PER_FEMB * n_fembs
    st = np.zeros(W, dtype=np.int64)
    ch = np.zeros(W, dtype=np.int64)
    for s in range(2 * n_fembs):
        f = s // 2
        for c, wf in collection_channels(s):
            st[f * X_PER_FEMB + wf] = s
            ch[f * X_PER_FEMB + wf] = c
    return st, ch


# ---------------------------------------------------------------- WIBEth unpacking

def _bit_tables():
    off = 14 * np.arange(CHANNELS_PER_STREAM)
    word = off // 64
    sh = (off % 64).astype(np.uint64)
    straddle = (off % 64) > 50
    hi = np.minimum(word + 1, 13)
    hish = np.where(straddle, 64 - (off % 64), 0).astype(np.uint64)
    return word, sh, hi, hish, straddle


_WORD, _SH, _HI, _HISH, _STRADDLE = _bit_tables()


def unpack_frames(buf):
    """bytes of N WIBEth frames -> (timestamps uint64 [N], adc uint16 [N][64 samples][64 ch])."""
    n = len(buf) // FRAME_SIZE
    if n * FRAME_SIZE != len(buf):
        raise ValueError(f"{len(buf)} bytes is not a whole number of {FRAME_SIZE}-byte frames")
    words = np.frombuffer(buf, dtype="<u8", count=n * FRAME_WORDS).reshape(n, FRAME_WORDS)
    ts = words[:, 1].copy()
    adcw = words[:, 4:].reshape(n, SAMPLES_PER_FRAME, 14)
    lo = adcw[:, :, _WORD] >> _SH
    hi = np.where(_STRADDLE, adcw[:, :, _HI] << _HISH, np.uint64(0))
    adc = ((lo | hi) & np.uint64(0x3FFF)).astype(np.uint16)
    return ts, adc


def pack_frames(adc, ts, cell=0, stream=0):
    """Inverse of unpack_frames for tests: adc [N][64][64] -> bytes. The DAQEthHeader carries
    version 1, det_id 3 (HD TPC), the address of the cell's stream (crate = cell, slot =
    stream // 8, stream_id = stream % 8: readers place fragments by it) and the timestamps; the
    rest of the headers is 0."""
    n = adc.shape[0]
    words = np.zeros((n, FRAME_WORDS), dtype=np.uint64)
    words[:, 0] = np.uint64(1 | 3 << 6 | cell << 12 | (stream // 8) << 22 | (stream % 8) << 26)
    words[:, 1] = ts
    aw = np.zeros((n, SAMPLES_PER_FRAME, 14), dtype=np.uint64)
    a = adc.astype(np.uint64) & np.uint64(0x3FFF)
    for c in range(CHANNELS_PER_STREAM):
        aw[:, :, _WORD[c]] |= a[:, :, c] << _SH[c]
        if _STRADDLE[c]:
            aw[:, :, _HI[c]] |= a[:, :, c] >> _HISH[c]
    words[:, 4:] = aw.reshape(n, -1)
    return words.tobytes()


# ---------------------------------------------------------------- run files

# The run-data selection (Detector_Readout WIBEth fragments of each TimeSlice; headers and /Truth
# are not run data), each fragment placed by its frames as DUNE's tools place it. Its one C owner
# is lt_h5r_list_wibeth / lt_h5r_stream_origin (lib/hdf5/h5raw.h); this is the only other copy,
# kept because training reads run files with h5py.
_FRAG_RE = re.compile(r"^Detector_Readout_0x([0-9a-fA-F]{8})_WIBEth$")


def _geo_map(f):
    import json

    if "source_id_geo_id_map" not in f.attrs:
        return {}
    m = json.loads(f.attrs["source_id_geo_id_map"])
    return {e["id"]: [int(g) for g in e["geoids"]] for e in m.get("map_entries", [])
            if e["subsys"] == 1}


def _stream_origin(where, ds, sid, geo):
    """(cell, stream) of a WIBEth fragment: from its first frame's DAQEthHeader (cell = crate,
    stream = slot * 8 + stream_id), which must agree with the file's GeoID map; from the map
    alone when it has no frame. Never from the SourceID number (DUNE's DAQ numbers its own)."""
    if ds.shape[0] >= FRAG_HEADER_SIZE + 16:
        w = int.from_bytes(ds[FRAG_HEADER_SIZE:FRAG_HEADER_SIZE + 8, 0].view(np.uint8).tobytes(),
                           "little")
        det, crate, slot, link = w >> 6 & 0x3F, w >> 12 & 0x3FF, w >> 22 & 0xF, w >> 26 & 0xFF
        gid = link << 48 | slot << 32 | crate << 16 | det
        if geo.get(sid) and gid not in geo[sid]:
            raise ValueError(f"{where}: frames come from crate {crate} slot {slot} stream {link}, "
                             "not what source_id_geo_id_map gives")
    elif geo.get(sid):
        g = geo[sid][0]
        crate, slot, link = g >> 16 & 0xFFFF, g >> 32 & 0xFFFF, g >> 48 & 0xFFFF
    else:
        return None
    if link >= 8 or slot * 8 + link >= 40:
        raise ValueError(f"{where}: crate {crate} slot {slot} stream {link} is outside "
                         "lartrig's map of a cell")
    return crate, slot * 8 + link


def _wibeth(path, f, sl, geo):
    """{(cell, stream): dataset name} of one TimeSlice."""
    out = {}
    for name, ds in f[sl]["RawData"].items():
        m = _FRAG_RE.match(name)
        if m:
            o = _stream_origin(f"{path}: /{sl}/RawData/{name}", ds, int(m.group(1), 16), geo)
            if o is not None:
                out[o] = name
    return out


def run_cells(path):
    """Cells present in a run file (from its first TimeSlice)."""
    import h5py

    with h5py.File(path, "r") as f:
        for sl in sorted(k for k in f if k.startswith("TimeSlice")):
            return sorted({c for c, _ in _wibeth(path, f, sl, _geo_map(f))})
    return []


def _read_truth(f, cell):
    truth = np.zeros(0, dtype=TRUTH_DTYPE)
    t = truth_rows(f)
    if t is not None and len(t):
        truth = np.zeros(len(t), dtype=TRUTH_DTYPE)
        for n in TRUTH_DTYPE.names:
            truth[n] = t[n]
        truth = truth[truth["cell"] == cell]
    return truth


def read_run(path, cell=None, max_slices=None, d=None, in_shift=None, keep_raw_samples=None):
    """Read one cell of a run file, slice by slice (a full cell-second of raw ADC would be
    3.8 GB, so raw data is never held for the whole run).

    Returns dict(first_tick, n_fembs, cell, truth (that cell's rows), and
      adc: uint16 [wires][samples] of the whole run       when d is None, else
      x:   int16 [wires][columns] preprocessed with the kernel's arithmetic (pedestal state
           carried across slices), and raw: the first keep_raw_samples samples of every stream
           as uint16 [streams][samples][64] (for test vectors)."""
    import h5py

    chunks, raws, raw_n = [], [], 0
    ped = None
    first_tick = next_tick = None
    n_fembs = None
    with h5py.File(path, "r") as f:
        geo = _geo_map(f)
        slices = sorted(k for k in f.keys() if k.startswith("TimeSlice"))
        if max_slices:
            slices = slices[:max_slices]
        for sl in slices:
            raw = f[sl].get("RawData")
            if raw is None:
                raise ValueError(f"{path}: /{sl}: no RawData group")
            per = {}
            for (c, s), name in sorted(_wibeth(path, f, sl, geo).items()):
                if cell is None:
                    cell = c
                if c == cell:
                    per[s] = name
            if not per:
                continue
            if n_fembs is None:
                n_fembs = (max(per) + 1) // 2
            st, ch = collection_map(n_fembs)
            need = sorted(per) if keep_raw_samples and raw_n < keep_raw_samples else sorted(set(st))
            ts0, streams = None, {}
            for s in need:
                if s not in per:
                    raise ValueError(f"{path}: /{sl}: cell {cell} has no stream {s}")
                where = f"{path}: /{sl}/RawData/{per[s]}"
                b = raw[per[s]][()].tobytes()
                if len(b) < FRAG_HEADER_SIZE:
                    raise ValueError(f"{where}: {len(b)} bytes < fragment header")
                if int.from_bytes(b[0:4], "little") != 0x11112222:
                    raise ValueError(f"{where}: bad FragmentHeader marker")
                ts, adc = unpack_frames(b[FRAG_HEADER_SIZE:])
                if len(ts) and np.any(np.diff(ts.astype(np.int64)) != 2048):
                    raise ValueError(f"{where}: frames not contiguous")
                if ts0 is None:
                    ts0 = ts
                elif not np.array_equal(ts, ts0):
                    raise ValueError(f"{where}: timestamps differ from the other streams")
                streams[s] = adc
            if ts0 is None or len(ts0) == 0:
                continue
            if first_tick is None:
                first_tick = int(ts0[0])
            elif int(ts0[0]) != next_tick:
                raise ValueError(f"{path}: /{sl}: gap: starts at {int(ts0[0])}, expected {next_tick}")
            next_tick = int(ts0[-1]) + 2048
            W, S = len(st), len(ts0) * SAMPLES_PER_FRAME
            adc = np.zeros((W, S), dtype=np.uint16)
            for s in sorted(set(st)):
                wires = np.nonzero(st == s)[0]
                adc[wires] = streams[s][:, :, ch[wires]].transpose(2, 0, 1).reshape(len(wires), -1)
            if keep_raw_samples and raw_n < keep_raw_samples:
                raws.append(np.stack([streams[s].reshape(-1, 64) for s in sorted(per)]))
                raw_n += S
            if d is None:
                chunks.append(adc)
            else:
                if S % (1 << d):
                    raise ValueError(f"{path}: /{sl}: {S} samples not a multiple of {1 << d}")
                x, ped = preprocess(adc, d, in_shift, ped)
                chunks.append(x)
        truth = _read_truth(f, cell)
    if not chunks:
        raise ValueError(f"{path}: no WIBEth fragments for cell {cell}")
    out = dict(first_tick=first_tick, n_fembs=n_fembs, cell=cell, truth=truth)
    if d is None:
        out["adc"] = np.concatenate(chunks, axis=1)
    else:
        out["x"] = np.concatenate(chunks, axis=1)
        if raws:
            out["raw"] = np.concatenate(raws, axis=1)[:, :keep_raw_samples]
    return out


# ---------------------------------------------------------------- synthetic stand-in

def synthetic_run(seed, n_fembs=4, n_samples=64 * 512, n_signals=6, n_ar39_per_ms=40):
    """A crude stand-in for `trigctl sim` (used until real simulated files exist and for quick
    tests): pedestals, white + coherent noise, Gaussian-shaped unipolar pulses for 39Ar blips,
    low-energy electron tracks and high-energy tracks. Same dict as read_run."""
    rng = np.random.default_rng(seed)
    W = X_PER_FEMB * n_fembs
    S = n_samples
    ped = rng.normal(900, 30, W)
    sig = np.zeros((W, S))
    truth = []
    t_axis = np.arange(S)

    def pulse(w, t0, q, width=2.0):
        if 0 <= w < W:
            lo, hi = max(0, int(t0 - 5 * width)), min(S, int(t0 + 5 * width) + 1)
            sig[w, lo:hi] += q * np.exp(-0.5 * ((t_axis[lo:hi] - t0) / width) ** 2)

    def track(w0, t0, length_w, slope, e_mev, kind):
        n = max(1, int(length_w))
        qper = e_mev / n * 60.0  # ~25 ADC peak per MeV on a wire
        ws, ts = [], []
        for k in range(n):
            w = int(round(w0 + k))
            t = t0 + slope * k
            pulse(w, t, qper * rng.uniform(0.7, 1.3))
            ws.append(w)
            ts.append(t)
        ws = np.clip(ws, 0, W - 1)
        truth.append((int(min(ts)) * TICKS_PER_SAMPLE, 0, int(min(ws)), int(max(ws)), kind,
                      e_mev, int(max(ts) + 6) * TICKS_PER_SAMPLE))

    dur_ms = S * 512e-6
    for _ in range(rng.poisson(n_ar39_per_ms * dur_ms)):
        w, t = rng.integers(0, W), rng.uniform(10, S - 10)
        e = 0.565 * rng.beta(2, 3)
        pulse(w, t, e * 60.0)
        truth.append((int(t) * 32, 0, w, w, KIND_AR39, e, int(t + 6) * 32))
    for _ in range(n_signals):
        kind = rng.choice([KIND_LOW, KIND_HIGH])
        t0 = rng.uniform(200, S - 2000)
        if kind == KIND_LOW:
            e = rng.uniform(5, 50)
            track(rng.integers(0, W - 20), t0, e / 1.2, rng.normal(0, 6), e, kind)
        else:
            e = 10 ** rng.uniform(2, 3.5)
            length = min(W - 1, e / 2)
            track(rng.integers(0, max(1, W - int(length))), t0, length, rng.normal(0, 5), e, kind)
    noise = rng.normal(0, 3.0, (W, S))
    coh = rng.normal(0, 1.0, (n_fembs, S))
    noise += np.repeat(coh, X_PER_FEMB, axis=0)
    adc = np.clip(np.round(ped[:, None] + sig + noise), 0, 0x3FFF).astype(np.uint16)
    tr = np.array(truth, dtype=TRUTH_DTYPE)
    return dict(adc=adc, first_tick=0, n_fembs=n_fembs, cell=0, truth=tr)


# ---------------------------------------------------------------- labels

def dilate(mask, r):
    """Binary dilation by a (2r+1) square (numpy only)."""
    out = mask.copy()
    G, U = mask.shape
    for dg in range(-r, r + 1):
        for du in range(-r, r + 1):
            src = mask[max(0, -dg) : G - max(0, dg), max(0, -du) : U - max(0, du)]
            out[max(0, dg) : G - max(0, -dg), max(0, du) : U - max(0, -du)] |= src
    return out


def truth_boxes(run, d, kinds=SIGNAL_KINDS):
    """Truth rows of the given kinds as boxes in input-column / wire units (inclusive)."""
    D = 1 << d
    t = run["truth"]
    t = t[np.isin(t["kind"], kinds)]
    c0 = (t["time"].astype(np.int64) - run["first_tick"]) // (TICKS_PER_SAMPLE * D)
    c1 = (t["time_end"].astype(np.int64) - run["first_tick"]) // (TICKS_PER_SAMPLE * D)
    return t, c0, c1


def make_example(run, d, in_shift, wire_pool, time_pool, active_adc=3.0, margin=1):
    """Preprocess one cell and build per-score-pixel labels and loss weights.

    x: int16 [W][T] input activations. label[g][u] = 1 when some input pixel of the score
    pixel's newest columns [u*pt, (u+1)*pt) and wires [g*pw, (g+1)*pw) lies in a signal truth box
    and carries charge (x above `active_adc` ADC); pixels of a signal box (grown by `margin`
    score pixels) that carry no visible charge get weight 0: the truth box of a track is a
    bounding box, mostly empty, and the net must neither be forced to fire there nor punished."""
    x = run["x"] if "x" in run else preprocess(run["adc"], d, in_shift)[0]
    W, T = x.shape
    inbox = np.zeros((W, T), dtype=bool)
    t, c0, c1 = truth_boxes(run, d)
    for k in range(len(t)):
        a, b = max(0, c0[k]), min(T - 1, c1[k])
        if b < a:
            continue
        inbox[t["channel_start"][k] : t["channel_end"][k] + 1, a : b + 1] = True
    unit = 2.0 ** (in_shift - 4)  # ADC per x unit
    active = inbox & (x.astype(np.float64) * unit > active_adc)
    G, U = W // wire_pool, T // time_pool
    act = active[: G * wire_pool, : U * time_pool].reshape(G, wire_pool, U, time_pool)
    label = act.any(axis=(1, 3)).astype(np.float32)
    box = inbox[: G * wire_pool, : U * time_pool].reshape(G, wire_pool, U, time_pool).any(axis=(1, 3))
    if margin:
        box = dilate(box, margin)
    weight = np.where(box & (label == 0), 0.0, 1.0).astype(np.float32)
    return x, label, weight
