# Vitis HLS: C simulation and synthesis of the lartrig kernel (lartrig_top).
#   vitis_hls -f run_hls.tcl            (or: make hls)
# Environment: PART (default the U55C's FPGA), FREQ_MHZ (default 300), WEIGHTS (the weights file
# the testbench runs; default the repository's kernels/weights/cnn.ltw), STEPS ("csim synth"
# by default; add "cosim" for RTL co-simulation, which takes hours).
# Reports: lartrig_hls/solution1/syn/report/lartrig_top_csynth.rpt (latency, DSP/BRAM/LUT).

set root [file normalize ../..]
set part [expr {[info exists ::env(PART)] ? $::env(PART) : "xcu55c-fsvh2892-2L-e"}]
set mhz [expr {[info exists ::env(FREQ_MHZ)] ? $::env(FREQ_MHZ) : 300}]
set weights [expr {[info exists ::env(WEIGHTS)] ? $::env(WEIGHTS) : "$root/kernels/weights/cnn.ltw"}]
set steps [expr {[info exists ::env(STEPS)] ? $::env(STEPS) : "csim synth"}]

set cflags "-std=c11 -D_GNU_SOURCE -I$root/kernels/vitis -I$root/kernels -I$root/lib/base -I$root/lib/formats -I$root/fpga"
set kernel_srcs [list \
    $root/kernels/vitis/lartrig_top.c \
    $root/kernels/kernel_top.c $root/kernels/preprocess.c $root/kernels/cnn.c \
    $root/kernels/candidates.c $root/kernels/kernel_arch.c]
# The testbench also needs the host-side helpers: weights file loader, channel map, frame packing,
# and the TP/TA baseline, which kernel_top.c calls in C simulation only (it is software-only:
# under __SYNTHESIS__ the kernel has neither its state nor its code; docs/kernel.md).
set tb_srcs [list \
    $root/kernels/vitis/tb_lartrig_top.c $root/fpga/weights.c $root/lib/formats/chmap.c \
    $root/lib/formats/wibeth.c $root/lib/formats/wibeth_pack.c $root/lib/base/lt_error.c \
    $root/kernels/tp_chain.c $root/kernels/tp_hits.c $root/kernels/tp_cluster.c]

open_project -reset lartrig_hls
set_top lartrig_top
foreach f $kernel_srcs { add_files $f -cflags $cflags }
foreach f $tb_srcs { add_files -tb $f -cflags $cflags }

open_solution -reset solution1 -flow_target vitis
set_part $part
create_clock -period [expr {1000.0 / $mhz}] -name default
config_interface -m_axi_alignment_byte_size 64 -m_axi_max_widen_bitwidth 512

if {[lsearch $steps csim] >= 0} { csim_design -argv $weights }
if {[lsearch $steps synth] >= 0} { csynth_design }
if {[lsearch $steps cosim] >= 0} { cosim_design -argv $weights }
exit
