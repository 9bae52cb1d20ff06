"""Export of a trained integer network: the kernel weights file (docs/kernel.md "Weights file",
read by fpga/weights.c) and the test vectors checked by tests/kernel/test_kernel_vectors.c.

Test-vector file (little-endian, one vector per file, docs/training.md):
  0  char[8] "LTKVEC01"
  8  u32 kind: 1 = input is preprocessed int16 columns, 2 = input is raw WIBEth frames
 12  u32 n_fembs (kind 2; kind 1: wires / 48)
 16  u32 wires (collection wires, 48 * n_fembs)
 20  u32 input columns (downsampled)
 24  u32 periods (kind 2: frame periods of 64 samples; kind 1: 0)
 28  u32 score groups per column (wires / prod(pw))
 32  u32 score columns
 36  u32 CRC-32 of the weights file the expected scores were computed with
 40  kind 2 only: frames[period][stream], 7200 bytes each, streams 0..2*n_fembs-1
     int16 x[column][wire]        the input activations (kind 1: the input; kind 2: expected)
     int16 score[column][group]   the expected score map
"""
import os
import struct
import zlib

import numpy as np

import data as tdata
from intmodel import QLayer, QNet, input_act, preprocess, run_image, run_stream

MAGIC = b"LARTRIGW"
VERSION = 2  # version 2: header byte 13 is the activation width (8 or 16); version 1 had 0 there
READ_VERSIONS = (1, 2)  # version 1 files are int16 activations
VEC_MAGIC = b"LTKVEC01"


def weights_bytes(net, name, threshold):
    net.check()
    nm = name.encode("ascii")[:32]
    body = struct.pack("<8sHBBBBh32s", MAGIC, VERSION, net.d, net.in_shift, len(net.layers),
                       net.act_bits, int(np.clip(threshold, -32768, 32767)), nm)
    for l in net.layers:
        body += struct.pack("<8B", l.cin, l.cout, l.kt, l.kw, l.shift, int(l.relu), l.pw, l.pt)
    for l in net.layers:
        body += np.ascontiguousarray(l.w, dtype=np.int8).tobytes()
        body += np.ascontiguousarray(l.b, dtype="<i4").tobytes()
    return body + struct.pack("<I", zlib.crc32(body))


def write_weights(net, path, name, threshold):
    b = weights_bytes(net, name, threshold)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b)
    os.replace(tmp, path)
    return zlib.crc32(b[:-4])  # the stored CRC (what lt_weights.crc reports)


def read_weights(path):
    """Parse a weights file -> (QNet, threshold, name, crc). Checks magic, version and CRC."""
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 52 or b[:8] != MAGIC:
        raise ValueError(f"{path}: not a lartrig weights file")
    if struct.unpack("<I", b[-4:])[0] != zlib.crc32(b[:-4]):
        raise ValueError(f"{path}: CRC mismatch")
    _, ver, d, in_shift, n, act, thr, name = struct.unpack("<8sHBBBBh32s", b[:48])
    if ver not in READ_VERSIONS:
        raise ValueError(f"{path}: weights file version {ver}, this reader knows {READ_VERSIONS}")
    if ver == 1:
        if act != 0:
            raise ValueError(f"{path}: version 1 reserved byte 13 is {act}, must be 0")
        act = 16
    elif act not in (8, 16):
        raise ValueError(f"{path}: activation width {act}, must be 8 or 16")
    net = QNet(d=d, in_shift=in_shift, act_bits=act)
    off, descs = 48, []
    for _ in range(n):
        descs.append(struct.unpack("<8B", b[off : off + 8]))
        off += 8
    for cin, cout, kt, kw, shift, relu, pw, pt in descs:
        nw = cout * cin * kt * kw
        w = np.frombuffer(b, dtype=np.int8, count=nw, offset=off).reshape(cout, cin, kt, kw).copy()
        off += nw
        bb = np.frombuffer(b, dtype="<i4", count=cout, offset=off).astype(np.int32)
        off += 4 * cout
        net.layers.append(QLayer(cin, cout, kt, kw, shift, bool(relu), pw, pt, w, bb))
    if off != len(b) - 4:
        raise ValueError(f"{path}: {len(b) - 4 - off} trailing bytes")
    net.check()
    return net, thr, name.rstrip(b"\0").decode(), zlib.crc32(b[:-4])


def save_qnet(net, path, threshold):
    np.savez(path, d=net.d, in_shift=net.in_shift, act_bits=net.act_bits, threshold=threshold,
             **{f"w{i}": l.w for i, l in enumerate(net.layers)},
             **{f"b{i}": l.b for i, l in enumerate(net.layers)})


# ---------------------------------------------------------------- test vectors

def _vec_header(kind, n_fembs, wires, cols, periods, groups, scols, crc):
    return struct.pack("<8s8I", VEC_MAGIC, kind, n_fembs, wires, cols, periods, groups, scols, crc)


def vector_columns(net, x, crc):
    """kind 1: the network alone on given input activations (from the start of a run), already
    saturated to the activation width (as the kernel's preprocessing hands them over)."""
    x = input_act(x, net.act_bits).astype(np.int16)
    s = run_image(net, x)
    assert np.array_equal(s, run_stream(net, x)), "whole-image and streaming reference disagree"
    W, T = x.shape
    hdr = _vec_header(1, W // 48, W, T, 0, s.shape[0], s.shape[1], crc)
    return hdr + x.T.astype("<i2").tobytes() + s.T.astype("<i2").tobytes(), s


def vector_frames(net, adc_streams, n_fembs, first_tick, crc):
    """kind 2: raw frames -> preprocess -> network. adc_streams: uint16 [streams][samples][64]."""
    n_streams, S, _ = adc_streams.shape
    P = S // 64
    frames = []
    for p in range(P):
        for s in range(n_streams):
            frames.append(_frame_bytes(adc_streams[s, p * 64 : (p + 1) * 64], first_tick + p * 2048,
                                       cell=0, stream=s, seq=p))
    st, ch = tdata.collection_map(n_fembs)
    adc = adc_streams[st, :, ch]  # [wires][samples]
    x, _ = preprocess(adc, net.d, net.in_shift)
    x = input_act(x, net.act_bits).astype(np.int16)  # the kernel's x (sat8 for 8 bits)
    s = run_image(net, x)
    W, T = x.shape
    hdr = _vec_header(2, n_fembs, W, T, P, s.shape[0], s.shape[1], crc)
    return hdr + b"".join(frames) + x.T.astype("<i2").tobytes() + s.T.astype("<i2").tobytes(), s


def _frame_bytes(adc64, ts, cell, stream, seq):
    """One valid WIBEth frame (DAQEthHeader version 1, det_id HD_TPC=3, crate = cell)."""
    body = bytearray(tdata.pack_frames(adc64[None], np.array([ts], dtype=np.uint64)))
    slot, eth_stream = stream // 8, stream % 8  # lib/formats/chmap.c lt_chmap_stream_address
    w0 = (1 | (3 << 6) | (cell << 12) | (slot << 22) | (eth_stream << 26) | ((seq & 0xFFF) << 40)
          | (0 << 52))
    body[0:8] = struct.pack("<Q", w0)
    return bytes(body)


def write_vectors(net, run, outdir, seed, weights_crc, n_cols=32, periods=12):
    """Write the kernel test vectors from a simulated run (a window with the most signal)."""
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(seed)
    D = 1 << net.d
    S = periods * 64
    # 1) full-width network vector: the n_cols input columns with the most charge (the network
    #    alone starts from zero line buffers wherever the window begins)
    if "x" in run:
        q = np.clip(run["x"].astype(np.int64), 0, None).sum(axis=0)
        win = np.convolve(q, np.ones(n_cols, dtype=np.int64), mode="valid")
        c0 = int(np.argmax(win)) // net.time_pool * net.time_pool
        x = run["x"][:, c0 : c0 + n_cols]
    else:
        x, _ = preprocess(run["adc"][:, : n_cols * D], net.d, net.in_shift)
    b1, s1 = vector_columns(net, x, weights_crc)
    # 2) raw-frame vector: the two streams of one FEMB (the busiest) from the run start, with a
    #    few extreme ADC values (0 and 0x3FFF) planted to exercise unpacking and saturation
    if "raw" in run:
        raw = run["raw"]  # [streams][samples][64]
        nf = raw.shape[0] // 2
        busiest = int(np.argmax([raw[2 * f + 1, :S].astype(np.int64).std() for f in range(nf)]))
        streams = raw[2 * busiest : 2 * busiest + 2, :S].copy()
    else:
        adc = run["adc"]
        W = adc.shape[0]
        busiest = int(np.argmax([adc[f * 48 : (f + 1) * 48, :S].astype(np.int64).std()
                                 for f in range(W // 48)]))
        streams = np.zeros((2, S, 64), dtype=np.uint16)
        streams[0] = rng.integers(0, 0x4000, (S, 64))  # induction channels: ignored
        streams[1, :, :16] = rng.integers(0, 0x4000, (S, 16))
        streams[1, :, 16:] = adc[busiest * 48 : (busiest + 1) * 48, :S].T
    if streams.shape[1] < S:
        raise ValueError(f"need {S} raw samples for the frame vector, have {streams.shape[1]}")
    for _ in range(6):
        streams[1, rng.integers(64, S), 16 + rng.integers(48)] = rng.choice([0, 0x3FFF])
    streams[1, 5 * 64 + 3 : 5 * 64 + 40, 16 + 20] = 0x3FFF  # a saturating burst on one wire
    b2, s2 = vector_frames(net, streams, 1, run["first_tick"], weights_crc)
    with open(os.path.join(outdir, "columns_full_cell.bin"), "wb") as f:
        f.write(b1)
    with open(os.path.join(outdir, "frames_one_femb.bin"), "wb") as f:
        f.write(b2)
    return dict(columns=(len(b1), s1.shape, int(np.abs(s1).max())),
                frames=(len(b2), s2.shape, int(np.abs(s2).max())))
