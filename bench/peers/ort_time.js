// Time ONNX Runtime (onnxruntime-node, CPU) on one model for bench/peers.py, one intra-op and one
// inter-op thread. Prints one JSON line: the busiest thread's CPU seconds per call (read from
// /proc/self/task/*/stat, so time other processes take on this shared machine is not counted),
// wall seconds per call, the best over `repeat` rounds of `calls` calls.
//   node ort_time.js MODEL.onnx WIRES COLUMNS CALLS REPEAT OPT(all|basic|disabled)
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

const TICK = 100; // USER_HZ: /proc stat times are in 1/100 s on Linux

function threadTicks() {
  const out = new Map();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const s = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(tid, Number(f[11]) + Number(f[12])); // utime + stime (fields 14, 15)
    } catch (e) { /* thread ended */ }
  }
  return out;
}

async function main() {
  const [model, wires, cols, calls, repeat, opt] = process.argv.slice(2);
  const W = Number(wires), T = Number(cols), N = Number(calls), R = Number(repeat);
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: opt || 'all'});
  const x = new Float32Array(W * T);
  let seed = 1;
  for (let i = 0; i < x.length; i++) { // noise-like input activations, as the other peers
    seed = (seed * 1103515245 + 12345) >>> 0;
    x[i] = ((seed >>> 16) % 17) - 8;
  }
  const feeds = {x: new ort.Tensor('float32', x, [1, 1, W, T])};
  await sess.run(feeds); // warm-up
  let bestCpu = Infinity, bestWall = Infinity;
  for (let r = 0; r < R; r++) {
    const a = threadTicks(), t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await sess.run(feeds);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9, b = threadTicks();
    let busiest = 0;
    for (const [tid, t] of b) busiest = Math.max(busiest, t - (a.get(tid) || 0));
    bestCpu = Math.min(bestCpu, busiest / TICK / N);
    bestWall = Math.min(bestWall, wall / N);
  }
  console.log(JSON.stringify({ort: ort.env.versions.common, cpu_s_per_call: bestCpu,
                              wall_s_per_call: bestWall}));
}
main().catch((e) => { console.error(String(e)); process.exit(1); });
