/* The configuration trigd runs with when no -c is given: everything in one process (inproc
 * endpoints), four small simulated cells (one front-end board each: 128 channels, 48 collection
 * wires) paced slowly enough for a 2-core machine. docs/config.md explains every key. */
#include "config.h"

const char trigd_default_config_text[] =
    "# trigd embedded default: all-in-one, 4 simulated cells\n"
    "run_number = 1;\n"
    "role = \"all\";\n"
    "cells = (\n"
    "  { id = 0; source = \"sim\"; n_fembs = 1; },\n"
    "  { id = 1; source = \"sim\"; n_fembs = 1; },\n"
    "  { id = 2; source = \"sim\"; n_fembs = 1; },\n"
    "  { id = 3; source = \"sim\"; n_fembs = 1; }\n"
    ");\n"
    "sim = { seed = 1; realtime_factor = 0.02; noise_rms = 3.0; ar39_rate_hz = 10000.0;\n"
    "        high_energy_rate_hz = 1.0; };\n"
    "kernel = { backend = \"cpu\"; threads = 1; block_periods = 4; };\n"
    "endpoints = { candidates = \"inproc://lartrig-candidates\";\n"
    "              requests = \"inproc://lartrig-requests\"; };\n"
    "trigger = {\n"
    "  coincidence = { enabled = true; min_cells = 2; window_us = 100.0; min_score = 500; };\n"
    "  single = { enabled = true; min_score = 2000; };\n"
    "};\n"
    "readout = { pre_us = 250.0; post_us = 2000.0; };\n"
    "buffers = { latency_ms = 200; };\n"
    "writer = { backend = \"uring\"; output_dir = \".\"; max_records_per_file = 100; };\n"
    "monitor = { status_interval_s = 10.0; };\n";
