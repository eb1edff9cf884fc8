// 1 thread vs `threads: N` (default 2): median latency of one 224x224 inference for
// ShuffleNet v2 1.0x and v1 1.0x g=3, and the speedup.
//
// Threads only pay off on an otherwise idle machine, so the two models run in short
// alternating rounds and, on Linux, a round is dropped when other processes used more than
// --max-foreign (default 0.1) of a core meanwhile (/proc/stat busy time minus this process's
// own CPU time, workers included). The load average is printed before and after.
//
//   node bench/threads.mjs [--threads 2] [--rounds 30] [--per-round 20] [--max-foreign 0.1] [--json]
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { buildModel } from '../dist/esm/src/index.js';
import { summarize } from './harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const THREADS = arg('threads', 2), ROUNDS = arg('rounds', 30), PER_ROUND = arg('per-round', 20);
const MAX_FOREIGN = arg('max-foreign', 0.1);
const json = process.argv.includes('--json');

const uptime = () => {
  try {
    return execSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}`;
  }
};

/** CPU seconds used by the whole machine (busy) so far, or undefined off Linux. */
function machineBusy() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const hz = 100; // USER_HZ
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / hz; // user nice system irq softirq steal
  } catch {
    return undefined;
  }
}
const ownCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

/** Runs fn; returns how many cores' worth of CPU other processes used meanwhile (NaN if unknown). */
function foreignLoad(fn) {
  const b0 = machineBusy(), o0 = ownCpu(), t0 = performance.now();
  fn();
  const b1 = machineBusy(), o1 = ownCpu(), s = (performance.now() - t0) / 1000;
  return b0 === undefined ? NaN : Math.max(0, (b1 - b0) - (o1 - o0)) / s;
}

const variants = [
  { name: 'v2 1.0x', opts: { arch: 'v2', width: 1 } },
  { name: 'v1 1.0x g=3', opts: { arch: 'v1', width: 1, groups: 3 } },
];

const loadBefore = uptime();
if (!json) console.log(`cores: ${os.availableParallelism?.() ?? os.cpus().length}, ${process.version}\nbefore: ${loadBefore}`);
const results = [];
for (const v of variants) {
  const one = await buildModel({ ...v.opts, warmup: 5 });
  const many = await buildModel({ ...v.opts, warmup: 5, threads: THREADS });
  const x = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i * 0.37));
  const times = { one: [], many: [] };
  let dropped = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const round = { one: [], many: [] };
    const foreign = foreignLoad(() => {
      for (const [key, m] of r % 2 ? [['many', many], ['one', one]] : [['one', one], ['many', many]]) {
        for (let i = 0; i < PER_ROUND; i++) {
          const t0 = performance.now();
          m.run(x);
          round[key].push(performance.now() - t0);
        }
      }
    });
    if (foreign > MAX_FOREIGN) {
      dropped++;
      continue;
    }
    times.one.push(...round.one);
    times.many.push(...round.many);
  }
  const kept = ROUNDS - dropped;
  const a = summarize(times.one), b = summarize(times.many);
  const row = {
    model: v.name, threads: many.threads, flavor: one.flavor, rounds: kept, dropped,
    oneMs: a.median, oneP10: a.p10, oneP90: a.p90,
    manyMs: b.median, manyP10: b.p10, manyP90: b.p90, speedup: a.median / b.median,
  };
  results.push(row);
  if (!json) {
    console.log(kept === 0 ? `${v.name}: every round was disturbed by other processes (${dropped} dropped)` :
      `${v.name.padEnd(12)} 1 thread ${a.median.toFixed(2)} ms (p10 ${a.p10.toFixed(2)}, p90 ${a.p90.toFixed(2)})  ` +
      `${many.threads} threads ${b.median.toFixed(2)} ms (p10 ${b.p10.toFixed(2)}, p90 ${b.p90.toFixed(2)})  ` +
      `speedup ${row.speedup.toFixed(2)}x  [${one.flavor}; ${kept} rounds, ${dropped} dropped as disturbed]`);
  }
  one.dispose();
  many.dispose();
}
const loadAfter = uptime();
if (json) console.log(JSON.stringify({ loadBefore, loadAfter, threads: THREADS, results }, null, 2));
else console.log(`after:  ${loadAfter}`);
