"""Exact integer reference of the per-cell kernel (docs/kernel.md), in numpy int64.

This is the arithmetic the C kernel must reproduce bit for bit. Two forms are given:
`run_image` processes a whole (wires x columns) image at once (vectorised, used for export and
test vectors) and `Stream` processes one column at a time with line buffers exactly as the C
kernel does; tests assert that both agree, which pins down the causal padding and pooling phase.

A network is a plain dict (see `QNet`): it is what the weights file holds, nothing more.
"""
from dataclasses import dataclass, field
from typing import List

import numpy as np

INT16_MIN, INT16_MAX = -32768, 32767


def round_shift(a, s):
    """round half up of a / 2^s, arithmetic shift (floor); s == 0 is the identity."""
    a = np.asarray(a, dtype=np.int64)
    if s == 0:
        return a
    return (a + (1 << (s - 1))) >> s


def sat16(a):
    return np.clip(a, INT16_MIN, INT16_MAX)


ACT_BITS = (8, 16)  # activation widths the kernel implements (weights file version 2 says which)


def act_range(act_bits, relu):
    """Saturation range [lo, hi] of an activation that feeds a layer (docs/kernel.md "Activation
    width"): int16 everywhere for 16 bits; for 8 bits, a ReLU output is unsigned [0, 255] (the
    u8 operand of vpdpbusd / vpmaddubsw) and anything signed (the input image, a hidden layer
    without ReLU) is [-128, 127]. The last layer's output (the score map) is always int16."""
    if act_bits == 16:
        return (0 if relu else INT16_MIN), INT16_MAX
    if act_bits == 8:
        return (0, 255) if relu else (-128, 127)
    raise ValueError(f"activation width {act_bits}: only {ACT_BITS}")


def sat_act(a, act_bits, relu=False):
    lo, hi = act_range(act_bits, relu)
    return np.clip(a, lo, hi)


def input_act(x, act_bits):
    """The network's input activation from the int16 preprocessed image: sat8 for 8 bits (equal
    to sat8 of the unsaturated value, as the C kernel computes it), the image itself for 16."""
    return sat_act(np.asarray(x, dtype=np.int64), act_bits)


@dataclass
class QLayer:
    cin: int
    cout: int
    kt: int
    kw: int
    shift: int
    relu: bool
    pw: int
    pt: int
    w: np.ndarray  # int8 [cout][cin][kt][kw], dt = 0 is the oldest column
    b: np.ndarray  # int32 [cout]


@dataclass
class QNet:
    d: int  # downsample factor D = 2^d samples per column
    in_shift: int
    layers: List[QLayer] = field(default_factory=list)
    act_bits: int = 16  # activation width, 8 or 16 (act_range)

    @property
    def wire_pool(self):
        p = 1
        for l in self.layers:
            p *= l.pw
        return p

    @property
    def time_pool(self):
        p = 1
        for l in self.layers:
            p *= l.pt
        return p

    @property
    def delay(self):
        """Input columns of latency (docs/kernel.md 'Latency and time alignment')."""
        dl, tp = 0, 1
        for l in self.layers:
            dl += (l.kt - 1) * tp
            tp *= l.pt
        return dl

    def macs_per_input_pixel(self):
        """Multiply-accumulates per downsampled input pixel (one wire, one column)."""
        m, area = 0.0, 1.0
        for l in self.layers:
            m += l.cin * l.cout * l.kt * l.kw / area
            area *= l.pw * l.pt
        return m

    def check(self):
        """Static limits: int32 accumulator cannot overflow, widths chain."""
        if self.act_bits not in ACT_BITS:
            raise ValueError(f"activation width {self.act_bits}: only {ACT_BITS}")
        cin, relu_in = 1, False
        for i, l in enumerate(self.layers):
            if l.cin != cin:
                raise ValueError(f"layer {i}: cin {l.cin} != previous cout {cin}")
            if l.kw % 2 != 1 or l.kt < 1 or l.pw not in (1, 2, 4) or l.pt not in (1, 2):
                raise ValueError(f"layer {i}: bad kernel/pool geometry")
            if l.w.shape != (l.cout, l.cin, l.kt, l.kw) or l.b.shape != (l.cout,):
                raise ValueError(f"layer {i}: weight shape {l.w.shape}")
            if l.w.min() < -128 or l.w.max() > 127:
                raise ValueError(f"layer {i}: weight out of int8")
            amax = max(abs(v) for v in act_range(self.act_bits, relu_in))
            worst = l.cin * l.kt * l.kw * 128 * amax + int(np.abs(l.b.astype(np.int64)).max())
            if worst >= 2**31:
                raise ValueError(f"layer {i}: int32 accumulator may overflow ({worst})")
            cin, relu_in = l.cout, bool(l.relu)
        last = self.layers[-1]
        if last.cout != 1 or last.relu or last.pw != 1 or last.pt != 1:
            raise ValueError("last layer must be Cout=1, no relu, no pool")


# ---------------------------------------------------------------- preprocessing

def preprocess(adc, d, in_shift, ped=None):
    """Raw ADC (wires x samples, uint16) -> int16 input activations (wires x columns).

    Samples beyond the last full column are ignored. `ped` (int64 per wire) continues a previous
    call (state carried across blocks); None starts a run. Returns (x, ped, diffsum) where
    diffsum is unused by the network and kept for debugging."""
    D = 1 << d
    W, S = adc.shape
    ncol = S // D
    s = adc[:, : ncol * D].astype(np.int64).reshape(W, ncol, D).sum(axis=2)
    v = (s << 4) >> d
    x = np.empty((W, ncol), dtype=np.int16)
    if ped is None:
        if ncol == 0:
            return x, None
        ped = v[:, 0].copy()
    ped = ped.astype(np.int64).copy()
    for c in range(ncol):
        diff = v[:, c] - ped
        x[:, c] = sat16(round_shift(diff, in_shift))
        ped += (diff > 0).astype(np.int64) - (diff < 0).astype(np.int64)
    return x, ped


# ---------------------------------------------------------------- whole-image network

def requant(acc, l, act_bits, last):
    """acc -> activation: round_shift, ReLU, saturation to the layer's output range (int16 for
    the score layer, act_range otherwise)."""
    y = round_shift(acc, l.shift)
    if l.relu:
        y = np.maximum(y, 0)
    return sat16(y) if last else sat_act(y, act_bits, l.relu)


def conv_image(x, l, act_bits=16, last=False):
    """x: int64 [cin][W][T] -> int64 [cout][W][T] (causal in time, same along wires)."""
    cin, W, T = x.shape
    ph = l.kw // 2
    xp = np.zeros((cin, W + 2 * ph, T + l.kt - 1), dtype=np.int64)
    xp[:, ph : ph + W, l.kt - 1 :] = x
    acc = np.zeros((l.cout, W, T), dtype=np.int64)
    acc += l.b.astype(np.int64)[:, None, None]
    w = l.w.astype(np.int64)
    for dt in range(l.kt):
        for dw in range(l.kw):
            patch = xp[:, dw : dw + W, dt : dt + T]  # [cin][W][T]
            acc += np.tensordot(w[:, :, dt, dw], patch, axes=([1], [0]))
    assert np.abs(acc).max(initial=0) < 2**31, "int32 accumulator overflow"
    return requant(acc, l, act_bits, last)


def pool_image(y, l):
    c, W, T = y.shape
    if l.pw > 1:
        y = y.reshape(c, W // l.pw, l.pw, T).max(axis=2)
    if l.pt > 1:
        T2 = T // l.pt
        y = y[:, :, : T2 * l.pt].reshape(c, y.shape[1], T2, l.pt).max(axis=3)
    return y


def run_image(net, x, return_all=False):
    """x: int16 (wires x columns) input activations -> int16 score map (W/prod(pw) x T/prod(pt)).

    Columns beyond a multiple of prod(pt) are dropped, as the streaming kernel has not emitted
    them yet."""
    a = input_act(x, net.act_bits)[None]
    acts = []
    for i, l in enumerate(net.layers):
        if a.shape[1] % l.pw:
            raise ValueError(f"wires {a.shape[1]} not divisible by pool {l.pw}")
        a = pool_image(conv_image(a, l, net.act_bits, i == len(net.layers) - 1), l)
        acts.append(a)
    out = a[0].astype(np.int16)
    return (out, acts) if return_all else out


# ---------------------------------------------------------------- streaming (column at a time)

class Stream:
    """Column-at-a-time evaluation with line buffers, mirroring the C kernel structure."""

    def __init__(self, net, wires):
        self.net = net
        self.bufs = []  # per layer: [kt-1][cin][W] oldest first
        self.pool_hold = []  # per layer with pt=2: pending first column or None
        W = wires
        for l in net.layers:
            self.bufs.append(np.zeros((l.kt - 1, l.cin, W), dtype=np.int64))
            self.pool_hold.append(None)
            W //= l.pw

    def _conv_col(self, i, col):
        l = self.net.layers[i]
        W = col.shape[1]
        win = np.concatenate([self.bufs[i], col[None]], axis=0)  # [kt][cin][W]
        if l.kt > 1:
            self.bufs[i] = win[1:].copy()
        ph = l.kw // 2
        wp = np.zeros((l.kt, l.cin, W + 2 * ph), dtype=np.int64)
        wp[:, :, ph : ph + W] = win
        acc = np.repeat(l.b.astype(np.int64)[:, None], W, axis=1)
        w = l.w.astype(np.int64)
        for dt in range(l.kt):
            for dw in range(l.kw):
                acc += w[:, :, dt, dw] @ wp[dt, :, dw : dw + W]
        return requant(acc, l, self.net.act_bits, i == len(self.net.layers) - 1)

    def push(self, xcol):
        """Feed one input column (int16 per wire); returns a score column or None."""
        a = input_act(xcol, self.net.act_bits)[None]
        for i, l in enumerate(self.net.layers):
            y = self._conv_col(i, a)
            if l.pw > 1:
                y = y.reshape(y.shape[0], -1, l.pw).max(axis=2)
            if l.pt == 2:
                if self.pool_hold[i] is None:
                    self.pool_hold[i] = y
                    return None
                y = np.maximum(self.pool_hold[i], y)
                self.pool_hold[i] = None
            a = y
        return a[0].astype(np.int16)


def run_stream(net, x):
    st = Stream(net, x.shape[0])
    cols = [c for c in (st.push(x[:, t]) for t in range(x.shape[1])) if c is not None]
    if not cols:
        return np.zeros((x.shape[0] // net.wire_pool, 0), dtype=np.int16)
    return np.stack(cols, axis=1)
