// Small shared timing helper for the benchmarks (no dependencies).
//
//   import { timeIt, fmtTime } from './harness.mjs';
//   const t = timeIt(() => kernel.run());          // { median, p10, p90, ... } in ms per call
//
// Method: warm-up (>= 50 calls and >= 100 ms by default, so V8 has tiered the wasm and the JS
// up), then the number of calls per batch is chosen so that one batch takes >= 20 ms, then
// >= 15 batches are timed; every batch gives one time per call (batch time / calls). Reported:
// the median batch and the p10 / p90 batches (nearest rank). Batches rather than single calls
// keep timer resolution and call overhead out of short kernels; the median keeps a preempted
// batch from moving the result. For slow functions (the plain-JS references) pass smaller
// settings and a time budget (maxMs): at least minBatches batches are always timed.
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

export const DEFAULTS = Object.freeze({
  warmupCalls: 50, warmupMs: 100, batchMs: 20, batches: 15, minBatches: 15, maxMs: Infinity,
});

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** median / p10 / p90 / min / max / mean of a list of numbers. */
export function summarize(values) {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length, median: percentile(s, 50), p10: percentile(s, 10), p90: percentile(s, 90),
    min: s[0], max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/**
 * Times fn (synchronous). Returns ms per call: median, p10, p90, min, max, mean over batches,
 * plus batches, callsPerBatch, warmupCalls and totalMs (wall time of the whole measurement).
 */
export function timeIt(fn, options = {}) {
  const o = { ...DEFAULTS, ...options };
  const t0 = performance.now();
  // Warm-up: >= warmupCalls calls and >= warmupMs, but never beyond half the time budget
  // once warmupCalls is reached.
  let warm = 0;
  let first = NaN;
  while (warm < o.warmupCalls || performance.now() - t0 < o.warmupMs) {
    const c0 = performance.now();
    fn();
    if (warm === 0) first = performance.now() - c0;
    warm++;
    if (warm >= o.warmupCalls && performance.now() - t0 > o.maxMs / 2) break;
  }
  // Calibration: calls per batch from the last warm-up estimate, grown until a batch is long enough.
  let per = Math.max(1, Math.ceil(o.batchMs / Math.max(1e-4, (performance.now() - t0) / Math.max(1, warm))));
  const batch = (n) => {
    const b0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return performance.now() - b0;
  };
  for (;;) {
    const ms = batch(per);
    if (ms >= o.batchMs) break;
    per = Math.max(per + 1, Math.ceil(per * Math.min(10, (o.batchMs * 1.2) / Math.max(ms, 1e-3))));
  }
  const times = [];
  while (times.length < o.batches) {
    times.push(batch(per) / per);
    if (times.length >= o.minBatches && performance.now() - t0 > o.maxMs) break;
  }
  return { ...summarize(times), batches: times.length, callsPerBatch: per, warmupCalls: warm, firstCallMs: first, totalMs: performance.now() - t0 };
}

/** Settings for slow reference code: few warm-up calls, few batches, a time budget. */
export const SLOW = Object.freeze({ warmupCalls: 2, warmupMs: 0, batchMs: 20, batches: 7, minBatches: 3, maxMs: 3000 });

/** "123 µs" / "1.23 ms" style formatting of a time in ms. */
export function fmtTime(ms) {
  if (!Number.isFinite(ms)) return '—';
  const us = ms * 1000;
  if (us < 10) return `${us.toFixed(2)} µs`;
  if (us < 1000) return `${us.toFixed(1)} µs`;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(0)} ms`;
}

/** Busy and total jiffies over all CPUs, from /proc/stat (Linux), or null. */
function cpuTimes() {
  try {
    const v = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] || 0);
    const total = v.slice(0, 8).reduce((x, y) => x + y, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/**
 * Starts measuring CPU load; the returned function gives { wallS, ownCores, foreignCores }
 * since the start: foreignCores = CPU cores kept busy by other processes (null off Linux).
 */
export function loadMeter() {
  const c0 = cpuTimes(), u0 = process.cpuUsage(), t0 = performance.now();
  return () => {
    const c1 = cpuTimes(), u = process.cpuUsage(u0), wall = Math.max(1e-9, (performance.now() - t0) / 1000);
    const own = (u.user + u.system) / 1e6;
    const r = { wallS: wall, ownCores: own / wall, foreignCores: null };
    if (c0 && c1) r.foreignCores = Math.max(0, ((c1.busy - c0.busy) / 100 - own) / wall); // USER_HZ = 100
    return r;
  };
}

/** CPU model, cores, nominal clock (from /proc/cpuinfo where present), 1-min load average. */
export function machineInfo() {
  const cpus = os.cpus();
  let mhz = cpus[0]?.speed || null;
  let flags = [];
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const m = /cpu MHz\s*:\s*([\d.]+)/.exec(info);
    if (m) mhz = Number(m[1]);
    const f = /flags\s*:\s*(.*)/.exec(info);
    if (f) flags = f[1].split(/\s+/);
  } catch { /* not Linux */ }
  return {
    cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, mhz,
    avx512: flags.includes('avx512f'), fma: flags.includes('fma'), amx: flags.includes('amx_tile'),
    node: process.version, v8: process.versions.v8, platform: `${process.platform}-${process.arch}`,
    loadavg1: os.loadavg()[0],
  };
}
