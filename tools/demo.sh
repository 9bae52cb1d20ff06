#!/usr/bin/env bash
# The README's main job: install missing packages, build, and run the demo on the embedded default
# (simulated cells, CPU backend). Output goes to ./demo-out/ (override with DEMO_OUT=dir).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >build.configure.log 2>&1 || { cat build.configure.log; exit 1; }
cmake --build build -j"$(nproc)"
out=${DEMO_OUT:-demo-out}
mkdir -p "$out"
echo "== simulating 2 cells for 0.1 s =="
build/tools/trigctl sim -o "$out/run.h5" --cells 2 --seconds 0.1 --seed 1
echo "== inspecting the run file =="
build/tools/trigctl inspect "$out/run.h5"
