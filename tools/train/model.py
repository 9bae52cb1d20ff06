"""The kernel's network in PyTorch, with quantisation-aware training that matches the C integer
arithmetic of docs/kernel.md.

Tensors are (batch, channels, wires, columns): wires is the "height", time the "width". Convs
are causal in time (zero left padding of kt-1 columns, like the kernel's zero-initialised line
buffers) and "same" along wires (zero padding kw/2).

Fixed-point convention (all scales are powers of two, per layer):
  input activations are the kernel's int16 x, taken as real numbers with 0 fractional bits;
  layer i has int8 weights w_int = w * 2^fw, activations out a_int = a * 2^fa_out, and
  acc (int32) has scale 2^(fw + fa_in), so shift = fw + fa_in - fa_out and the bias is
  b_int = round(b * 2^(fw + fa_in)).
Fake quantisation rounds exactly as the C code: weights and biases round to nearest (done once,
at export, identically), activations round half up (floor(v + 0.5)) and saturate to the
activation width's range (intmodel.act_range: int16, or with act_bits = 8 the input and signed
activations to [-128, 127] and ReLU outputs to [0, 255]; the score stays int16); gradients pass
straight through (STE) except outside the saturation range.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from intmodel import INT16_MAX, QLayer, QNet, act_range


class _RoundHalfUpSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.floor(x + 0.5)

    @staticmethod
    def backward(ctx, g):
        return g


def round_half_up(x):
    return _RoundHalfUpSTE.apply(x)


class _RoundNearestSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


def weight_frac_bits(w, max_bits=14):
    """Largest fw with max|w| * 2^fw <= 127 (power-of-two scale per layer)."""
    m = float(w.detach().abs().max())
    if m == 0.0:
        return max_bits
    return int(max(0, min(max_bits, math.floor(math.log2(127.0 / m)))))


class QConv(nn.Module):
    """Causal-time / same-wire conv + optional ReLU + max-pool, with optional fake quant."""

    def __init__(self, cin, cout, kt, kw, relu, pw, pt):
        super().__init__()
        self.cin, self.cout, self.kt, self.kw = cin, cout, kt, kw
        self.relu, self.pw, self.pt = relu, pw, pt
        self.conv = nn.Conv2d(cin, cout, (kw, kt), bias=True)  # (wires, time)
        self.fa_out = 8  # activation fractional bits (set by calibration)
        self.act_bits, self.last = 16, False  # set by Net: activation width, score layer
        self.register_buffer("mask", torch.ones_like(self.conv.weight))  # pruning mask

    def weight(self):
        return self.conv.weight * self.mask

    def qparams(self, fa_in):
        """(fw, fa_out) actually used: fa_out is capped so that shift = fw + fa_in - fa_out >= 0."""
        fw = weight_frac_bits(self.weight())
        return fw, min(self.fa_out, fw + fa_in)

    def forward(self, x, quant=False, fa_in=0):
        x = F.pad(x, (self.kt - 1, 0, self.kw // 2, self.kw // 2))
        w = self.weight()
        b = self.conv.bias
        if quant:
            fw, fa_out = self.qparams(fa_in)
            sw = 2.0**fw
            w = torch.clamp(_RoundNearestSTE.apply(w * sw), -128, 127) / sw
            sb = 2.0 ** (fw + fa_in)
            b = _RoundNearestSTE.apply(b * sb) / sb
        y = F.conv2d(x, w, b)
        if quant:
            s = 2.0**fa_out
            y = round_half_up(y * s)
            lo, hi = self.out_range()
            y = torch.clamp(y, float(lo), float(hi)) / s
        elif self.relu:
            y = F.relu(y)
        if self.pw > 1 or self.pt > 1:
            y = F.max_pool2d(y, (self.pw, self.pt))
        return y

    def out_range(self):
        """Integer saturation range of this layer's output (the score layer's is int16)."""
        return act_range(16 if self.last else self.act_bits, self.relu)


# Architecture specs: (cout, kt, kw, relu, pw, pt); the first layer's cin is 1.
STUDENT = [(8, 3, 3, True, 2, 2), (4, 3, 3, True, 2, 2), (1, 1, 1, False, 1, 1)]
# The float-only teacher for distillation: wider, larger first kernel, same output grid.
TEACHER = [(16, 5, 5, True, 2, 2), (32, 3, 3, True, 2, 2), (32, 3, 3, True, 1, 1),
           (1, 1, 1, False, 1, 1)]


class Net(nn.Module):
    def __init__(self, spec=STUDENT, input_scale=1.0, act_bits=16):
        super().__init__()
        layers, cin = [], 1
        for cout, kt, kw, relu, pw, pt in spec:
            layers.append(QConv(cin, cout, kt, kw, relu, pw, pt))
            layers[-1].act_bits = act_bits
            cin = cout
        layers[-1].last = True
        self.layers = nn.ModuleList(layers)
        self.act_bits = act_bits
        # The input int16 is in kernel units (2^(in_shift-4) ADC). The float-only teacher may see
        # it scaled down so its activations are O(1); the quantised student must take it as is.
        self.input_scale = input_scale

    def forward(self, x, quant=False):
        if quant:
            assert self.input_scale == 1.0, "only a unit-scale input can be quantised"
        else:
            x = x * self.input_scale
        if self.act_bits != 16:  # the kernel saturates its input to the activation width
            lo, hi = act_range(self.act_bits, False)
            x = torch.clamp(x, float(lo), float(hi))
        fa = 0
        for l in self.layers:
            x = l(x, quant=quant, fa_in=fa)
            fa = l.qparams(fa)[1] if quant else fa
        return x.squeeze(1)

    @property
    def wire_pool(self):
        return int(np.prod([l.pw for l in self.layers]))

    @property
    def time_pool(self):
        return int(np.prod([l.pt for l in self.layers]))

    @torch.no_grad()
    def calibrate(self, x, headroom=None, max_frac=12):
        """Choose each layer's activation fractional bits from the float activations of a batch:
        the largest fa with headroom * max|a| * 2^fa < the range's top (32767, or 255 / 127 for
        8-bit activations; power of two, per layer). Default headroom: 4 for 16 bits, 1 for 8
        (8 bits have none to spare; QAT learns to live with the rare saturated outlier)."""
        if headroom is None:
            headroom = 4.0 if self.act_bits == 16 else 1.0
        if self.act_bits != 16:
            lo, hi = act_range(self.act_bits, False)
            x = torch.clamp(x, float(lo), float(hi))
        for l in self.layers:
            x = l(x, quant=False)
            m = float(x.abs().max()) * headroom
            top = float(INT16_MAX if l.last else l.out_range()[1])
            fa = max_frac if m == 0 else int(math.floor(math.log2(top / m)))
            # 8 bits may need a coarser-than-integer scale (fa < 0) for large activations
            l.fa_out = max(0 if self.act_bits == 16 else -8, min(max_frac, fa))

    def prune(self, fraction):
        """Magnitude pruning: zero the smallest |w| per layer (masks stay fixed afterwards).
        The last 1x1 layer is left alone: it has a handful of weights."""
        if fraction <= 0:
            return
        for l in self.layers[:-1]:
            w = (l.conv.weight * l.mask).detach().abs().flatten()
            k = int(fraction * w.numel())
            if k == 0:
                continue
            thr = torch.kthvalue(w, k).values
            l.mask.copy_((l.conv.weight.detach().abs() > thr).float())

    def set_score_frac_bits(self, fa):
        """Fix the score scale: score = logit * 2^fa (int16, saturating). The trigger config's
        min_score values and the kernel threshold are in these units; a fixed scale keeps them
        meaningful across retrainings (docs/training.md)."""
        self.layers[-1].fa_out = fa

    def export(self, d, in_shift):
        """Freeze to the integer network (intmodel.QNet), rounding exactly as the fake quant."""
        net = QNet(d=d, in_shift=in_shift, act_bits=self.act_bits)
        fa_in = 0
        for l in self.layers:
            w = l.weight().detach().double()
            fw, fa_out = l.qparams(fa_in)
            wi = torch.clamp(torch.round(w * 2.0**fw), -128, 127).numpy().astype(np.int8)
            bi = torch.round(l.conv.bias.detach().double() * 2.0 ** (fw + fa_in)).numpy()
            shift = fw + fa_in - fa_out
            if shift < 0:
                raise ValueError("negative shift")
            # torch weight layout is [cout][cin][kw][kt]; the kernel's is [co][ci][dt][dw]
            wi = np.ascontiguousarray(wi.transpose(0, 1, 3, 2))
            net.layers.append(QLayer(cin=l.cin, cout=l.cout, kt=l.kt, kw=l.kw, shift=shift,
                                     relu=l.relu, pw=l.pw, pt=l.pt, w=wi,
                                     b=bi.astype(np.int64).clip(-2**31, 2**31 - 1).astype(np.int32)))
            fa_in = fa_out
        net.check()
        return net

    def score_frac_bits(self):
        fa = 0
        for l in self.layers:
            fa = l.qparams(fa)[1]
        return fa
