#!/usr/bin/python3
"""Estimate what the lartrig kernel costs on an Alveo card: DSP, BRAM/URAM and LUT per compute
unit, and latency per column, per cell and per block at a given clock (default 300 MHz).

No Vitis is needed (or available on the development machines): this is a model of the kernel's
loop structure, driven by the network in a weights file and by the sizes of the C structs as the
card lays them out (measured by compiling a tiny program against kernels/*.h with __SYNTHESIS__
defined, as Vitis HLS does). docs/fpga.md explains every assumption; the synthesis report of
`make -C kernels/vitis hls` is the ground truth once someone runs it.

Usage: tools/fpga_estimate.py [WEIGHTS] [--fembs 20] [--cells 150] [--cells-per-cu N]
       [--wire-par P] [--block-periods 16] [--mhz 300] [--platform u55c|u250]
       [--act-bits 8|16] [--json]
(--act-bits: the activation width to model; default: what the weights file says)
"""
import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TICK_NS = 16.0              # DAQ clock 62.5 MHz
TICKS_PER_FRAME = 2048      # one WIBEth frame period = 64 samples x 32 ticks
FRAME_BYTES = 7200
AXI_BYTES = 64              # 512-bit AXI master: one beat per cycle at best
SAMPLES_PER_FRAME = 64
BRAM18_BITS = 18 * 1024
BRAM36_BITS = 36 * 1024
URAM_BITS = 288 * 1024

DEVICES = {  # resources of the whole FPGA (datasheets); the shell takes a part of them
    # pcie: practical host->card DMA rate of PCIe Gen3 x16, GB/s
    "u55c": {"dsp": 9024, "bram36": 2016, "uram": 960, "lut": 1303680, "shell": 0.20, "pcie": 12.0},
    "u250": {"dsp": 12288, "bram36": 2688, "uram": 1280, "lut": 1728000, "shell": 0.15,
             "pcie": 12.0},
}


def read_net(path):
    """Architecture of a weights file (docs/kernel.md, versions 1 and 2)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 52 or data[:8] != b"LARTRIGW":
        sys.exit(f"fpga_estimate: {path} is not a lartrig weights file")
    version, d, in_shift, n_layers, act_bits, threshold = struct.unpack_from("<HBBBBh", data, 8)
    if version not in (1, 2) or not 1 <= n_layers <= 6:
        sys.exit(f"fpga_estimate: {path}: version {version}, {n_layers} layers not understood")
    act_bits = 16 if version == 1 else act_bits
    names = ("cin", "cout", "kt", "kw", "shift", "relu", "pw", "pt")
    layers = [dict(zip(names, data[48 + 8 * i:56 + 8 * i])) for i in range(n_layers)]
    return {"d": d, "in_shift": in_shift, "threshold": threshold, "layers": layers,
            "act_bits": act_bits, "file_bytes": len(data)}


def card_struct_sizes():
    """sizeof of the card's structs, compiled with __SYNTHESIS__ (the card's layout)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        sys.exit("fpga_estimate: needs a C compiler to measure the kernel's state structs")
    src = r"""
#include <stdio.h>
#include "kernel_top.h"
#include "lartrig_xrt_abi.h"
int main(void) {
    printf("%zu %zu %zu %zu %zu %zu %zu\n", sizeof(struct lt_kernel_cell), sizeof(struct lt_xhist),
           sizeof(struct lt_cnn_state), sizeof(struct lt_pre_state), sizeof(struct lt_kernel_net),
           sizeof(struct lt_pre_map),
           (size_t)LT_XRT_MAX_CANDIDATES * sizeof(struct lt_candidate));
    return 0;
}
"""
    with tempfile.TemporaryDirectory() as tmp:
        c, exe = os.path.join(tmp, "sizes.c"), os.path.join(tmp, "sizes")
        with open(c, "w") as f:
            f.write(src)
        inc = [f"-I{ROOT}/{d}" for d in ("kernels", "kernels/vitis", "lib/base", "lib/formats",
                                         "fpga")]
        r = subprocess.run([cc, "-std=c11", "-D__SYNTHESIS__", *inc, c, "-o", exe],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit("fpga_estimate: cannot compile against kernels/*.h:\n" + r.stderr)
        out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout.split()
    keys = ("cell", "xhist", "cnn", "pre", "net", "map", "cand_buf")
    return dict(zip(keys, map(int, out)))


def estimate(net, sizes, fembs, wire_par, block_periods, mhz, resident):
    """Cycle and resource model of one compute unit processing one cell (see docs/fpga.md)."""
    streams = 2 * fembs
    wires = 48 * fembs
    D = 1 << net["d"]
    cols_per_period = SAMPLES_PER_FRAME // D
    P = wire_par
    period_cycles_budget = TICKS_PER_FRAME * TICK_NS * 1e-9 * mhz * 1e6

    # Per input column: pedestal + requantisation over the wires, the history copy.
    pre_col = math.ceil(wires / P)
    hist_col = math.ceil(wires / P)
    layers = []
    w_in, rate = wires, 1.0  # rate: runs per input column (halved after each time pool)
    dsp = 0
    lb_bram18 = 0
    lut = 0
    conv_col = 0.0
    act8 = net["act_bits"] == 8
    for i, L in enumerate(net["layers"]):
        macs = L["cin"] * L["kt"] * L["kw"]
        cycles = L["cout"] * math.ceil(w_in / P)         # (co, j) pipelined II=1, P wires/cycle
        pool = L["cout"] * math.ceil(w_in / L["pw"] / P)  # wire pool, then time pool
        conv_col += (cycles + pool) * rate
        # int16 activations: one DSP48E2 per int8 x int16 MAC. 8-bit activations: two int8 x u8
        # MACs per DSP48E2 when they share an operand (the activation, times the weights of two
        # output channels or taps; Xilinx WP486's INT8 packing), and a layer with an odd count
        # puts its last one in LUTs.
        layer_dsp = P * (macs // 2 if act8 else macs)
        lut_mul = P * (macs % 2) * 70 if act8 else 0       # an 8x8 multiplier in fabric
        dsp += layer_dsp
        # Line buffer: kt columns x channel words (int16: pairs in 32 bits; 8 bits: quads in 32
        # bits) x padded row, partitioned so P wires (+ kw-1 halo) of every tap are read each
        # cycle: kt x words x (P + kw - 1) banks, each at least one BRAM18.
        per_word = 4 if act8 else 2
        words = max(1, (L["cin"] + per_word - 1) // per_word)
        banks = L["kt"] * words * (P + L["kw"] - 1)
        bank_bits = math.ceil((w_in + 8) / P) * 32
        lb_bram18 += banks * max(1, math.ceil(bank_bits / BRAM18_BITS))
        # tap muxing (8-bit operands need about 2/3 of the routing of 16-bit ones) + the
        # requant/ReLU/saturation lane
        lut += P * (macs * (8 if act8 else 12) + 180) + lut_mul
        layers.append({"layer": i, "cin": L["cin"], "cout": L["cout"], "kt": L["kt"],
                       "kw": L["kw"], "w_in": w_in, "runs_per_input_col": rate,
                       "cycles_per_run": cycles + pool, "dsp": layer_dsp, "lb_banks": banks})
        w_in //= L["pw"]
        if L["pt"] == 2:
            rate /= 2
    w_score = w_in
    cand_col = w_score * rate                              # one score pixel per cycle
    col_cycles = pre_col + hist_col + conv_col + cand_col

    # Per frame period: read every stream's frame (memory-bound unpack), then the columns.
    frame_read = streams * FRAME_BYTES / AXI_BYTES
    period_cycles = frame_read + cols_per_period * col_cycles
    # Per block: the cell's state in and out of card memory (unless resident on chip).
    state_bytes = sizeof_state = sizes["cell"]
    state_cycles = 0 if resident else 2 * state_bytes / AXI_BYTES
    block_cycles = state_cycles + block_periods * period_cycles
    block_budget = block_periods * period_cycles_budget

    # On-chip memory of one CU: the working copy of the cell (URAM), the network, line-buffer
    # banks (BRAM), candidate buffer and AXI FIFOs (BRAM).
    uram = math.ceil(sizeof_state * 8 / URAM_BITS)
    net_bram18 = math.ceil(sizes["net"] * 8 / BRAM18_BITS)
    axi_bram18 = 5 * 4                                     # 5 AXI masters, read/write FIFOs
    cand_bram18 = math.ceil(sizes["cand_buf"] * 8 / BRAM18_BITS)  # the block's candidates
    bram36 = math.ceil((lb_bram18 + net_bram18 + axi_bram18 + cand_bram18) / 2)
    lut += 5 * 2000 + 6000 + 4000                          # AXI masters, control, unpack

    us = lambda c: c / mhz                                 # cycles -> microseconds
    return {
        "clock_mhz": mhz, "wire_parallelism": P, "act_bits": net["act_bits"],
        "initiation_interval": 1, "fembs": fembs, "streams": streams,
        "wires": wires, "downsample": D, "score_groups": w_score,
        "layers": layers,
        "cycles_per_column": col_cycles, "us_per_column": us(col_cycles),
        "column_period_us": D * 32 * TICK_NS / 1000.0,
        "cycles_per_period": period_cycles, "us_per_period_per_cell": us(period_cycles),
        "period_us": TICKS_PER_FRAME * TICK_NS / 1000.0,
        "state_bytes": state_bytes, "state_resident": resident,
        "block_periods": block_periods, "us_per_block_per_cell": us(block_cycles),
        "block_data_us": us(block_budget),
        "cells_per_cu_realtime": math.floor(block_budget / block_cycles),
        "dsp_per_cu": dsp, "bram36_per_cu": bram36, "uram_per_cu": uram, "lut_per_cu": lut,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("weights", nargs="?", default=os.path.join(ROOT, "kernels/weights/cnn.ltw"))
    ap.add_argument("--fembs", type=int, default=20, help="FEMBs per cell (20 = full APA)")
    ap.add_argument("--cells", type=int, default=150, help="cells to serve (150 = a module)")
    ap.add_argument("--wire-par", type=int, default=0,
                    help="wires processed per cycle (0: smallest power of two that keeps up)")
    ap.add_argument("--cells-per-cu", type=int, default=0,
                    help="cells multiplexed on one CU (0: as many as keep up)")
    ap.add_argument("--block-periods", type=int, default=32,
                    help="frame periods per block (32 = 1.05 ms of data)")
    ap.add_argument("--mhz", type=float, default=300.0)
    ap.add_argument("--platform", choices=sorted(DEVICES), default="u55c")
    ap.add_argument("--act-bits", type=int, choices=(8, 16),
                    help="model this activation width (default: the weights file's)")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    a = ap.parse_args()

    net = read_net(a.weights)
    if a.act_bits:
        net["act_bits"] = a.act_bits
    sizes = card_struct_sizes()
    dev = DEVICES[a.platform]
    resident = a.cells_per_cu == 1
    want = a.cells_per_cu or 1
    P = a.wire_par
    if P == 0:  # smallest wire parallelism at which one CU keeps up with `want` cells
        P = 1
        while P < 64 and estimate(net, sizes, a.fembs, P, a.block_periods, a.mhz,
                                  resident)["cells_per_cu_realtime"] < want:
            P *= 2
    e = estimate(net, sizes, a.fembs, P, a.block_periods, a.mhz, resident)
    per_cu = a.cells_per_cu or max(1, e["cells_per_cu_realtime"])
    cus = math.ceil(a.cells / per_cu)
    avail = {k: dev[k] * (1 - dev["shell"]) for k in ("dsp", "bram36", "uram", "lut")}
    fit = min(avail["dsp"] / max(1, e["dsp_per_cu"]), avail["bram36"] / e["bram36_per_cu"],
              avail["uram"] / max(1, e["uram_per_cu"]), avail["lut"] / e["lut_per_cu"])
    e.update({"platform": a.platform, "cells": a.cells, "cells_per_cu": per_cu,
              "cus_needed": cus, "cus_per_card": math.floor(fit),
              "cards_needed": math.ceil(cus / max(1, math.floor(fit))),
              "keeps_up": per_cu <= e["cells_per_cu_realtime"], "weights": a.weights})
    # Every frame crosses PCIe on this data path (host ring buffer -> card): 40 streams x 7200 B
    # per 32.768 us period is ~8.8 GB/s per full cell.
    cell_gbps = e["streams"] * FRAME_BYTES / (e["period_us"] * 1e-6) / 1e9
    per_card_pcie = math.floor(dev["pcie"] / cell_gbps)
    e.update({"cell_frames_gbps": cell_gbps, "pcie_gbps": dev["pcie"],
              "cells_per_card_pcie": per_card_pcie,
              "cards_needed": max(e["cards_needed"], math.ceil(a.cells / max(1, per_card_pcie)))})
    if a.json:
        print(json.dumps(e, indent=1))
        return
    print(f"lartrig FPGA estimate: {os.path.relpath(a.weights, ROOT)} on {a.platform} at "
          f"{a.mhz:.0f} MHz, cells of {a.fembs} FEMBs ({e['wires']} X wires, "
          f"{e['streams']} streams), D = {e['downsample']}, {P} wire(s) per cycle, "
          f"{e['act_bits']}-bit activations, II = 1")
    print(f"{'layer':>5} {'Cin':>4} {'Cout':>4} {'kt':>3} {'kw':>3} {'W_in':>5} {'runs/col':>8} "
          f"{'cycles/run':>10} {'DSP':>6}")
    for L in e["layers"]:
        print(f"{L['layer']:>5} {L['cin']:>4} {L['cout']:>4} {L['kt']:>3} {L['kw']:>3} "
              f"{L['w_in']:>5} {L['runs_per_input_col']:>8.2f} {L['cycles_per_run']:>10} "
              f"{L['dsp']:>6}")
    print(f"per input column : {e['cycles_per_column']:.0f} cycles = {e['us_per_column']:.2f} us "
          f"(a column spans {e['column_period_us']:.3f} us of data)")
    print(f"per frame period : {e['cycles_per_period']:.0f} cycles = "
          f"{e['us_per_period_per_cell']:.2f} us per cell (a period is {e['period_us']:.3f} us)")
    print(f"per block        : {e['block_periods']} periods + state "
          f"{'resident on chip' if resident else 'in/out %.2f MiB' % (2 * e['state_bytes'] / 2**20)}"
          f" = {e['us_per_block_per_cell']:.0f} us per cell for {e['block_data_us']:.0f} us of data")
    print(f"real time        : one CU keeps up with {e['cells_per_cu_realtime']} cell(s); "
          f"using {per_cu} per CU -> {cus} CU(s) for {a.cells} cells"
          f"{'' if e['keeps_up'] else '  (DOES NOT KEEP UP)'}")
    print(f"resources per CU : {e['dsp_per_cu']} DSP, {e['bram36_per_cu']} BRAM36, "
          f"{e['uram_per_cu']} URAM, ~{e['lut_per_cu'] / 1000:.0f}k LUT")
    print(f"card             : {e['cus_per_card']} CU(s) fit beside the shell "
          f"(DSP {dev['dsp']}, BRAM36 {dev['bram36']}, URAM {dev['uram']}, LUT "
          f"{dev['lut'] // 1000}k, {dev['shell']:.0%} kept for the shell) -> "
          f"{e['cards_needed']} card(s) for {a.cells} cells")
    print(f"PCIe             : a cell's frames are {e['cell_frames_gbps']:.2f} GB/s; PCIe Gen3 x16 "
          f"carries ~{e['pcie_gbps']:.0f} GB/s -> at most {e['cells_per_card_pcie']} cell(s) per "
          f"card when frames come from the host (see docs/fpga.md)")


if __name__ == "__main__":
    main()
