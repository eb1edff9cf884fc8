#!/usr/bin/env node
// End-to-end latency: shufflenet-wasm vs onnxruntime-web vs tfjs-backend-wasm, side by side in
// ONE process, same weights (seeded synthetic, BN folded), batch 1, 224x224, one thread each.
//
//   npm run bench                       # every variant, full runs (a few minutes)
//   node bench/e2e.mjs --quick          # few runs (CI smoke; numbers are rough)
//   node bench/e2e.mjs --only v2_1.0,v1_g3_1.0 --no-peers
//   node --experimental-wasm-relaxed-simd bench/e2e.mjs --flavor relaxed   # Node 20
//
// Method: every engine's logits are checked against ours (|diff| <= 1e-4 * max|logit|) before
// timing. Each engine is warmed up alone (>= 15 runs and >= 1 s), then the timed phase runs in
// rounds, one inference per engine per round (or a burst of --burst N back-to-back inferences)
// with the engine order rotated every round, so all engines share the same background noise; it stops once every engine has >= 40 timed runs
// and >= 1 s of its own time. Reported: median (and p10/p90) per engine. The foreign CPU load
// during the timed phase (from /proc/stat, minus this process) is reported too: on a shared
// box anything above ~0.1 core makes the numbers noisy. With one inference per turn every run
// starts after the other engines have run, with their weights (4-30 MB) in the caches: a
// cold-cache latency, as for a single image in an app. --burst 10 measures back-to-back
// inferences (video, batches of files): the steady state with the engine's own data cached.
//
// Timed region per engine: ours = model.run(nchw) (copy in, all steps, copy out);
// ort-web = await session.run(feeds) + reading the output; tfjs = the graph's ops in tf.tidy +
// dataSync of the logits. Input tensors are made once, outside the timed region (tfjs gets
// its input already in NHWC).
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel, buildGraph } from '../dist/bundle/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const VARIANTS = [
  { key: 'v2_0.5', opts: { arch: 'v2', width: 0.5 } },
  { key: 'v2_1.0', opts: { arch: 'v2', width: 1 } },
  { key: 'v2_1.5', opts: { arch: 'v2', width: 1.5 } },
  { key: 'v2_2.0', opts: { arch: 'v2', width: 2 } },
  { key: 'v1_g1_1.0', opts: { arch: 'v1', width: 1, groups: 1 } },
  { key: 'v1_g2_1.0', opts: { arch: 'v1', width: 1, groups: 2 } },
  { key: 'v1_g3_1.0', opts: { arch: 'v1', width: 1, groups: 3 } },
  { key: 'v1_g4_1.0', opts: { arch: 'v1', width: 1, groups: 4 } },
  { key: 'v1_g8_1.0', opts: { arch: 'v1', width: 1, groups: 8 } },
  { key: 'v1_g3_0.5', opts: { arch: 'v1', width: 0.5, groups: 3 } },
];

const CEILING_GFLOPS = 60; // the project's estimate of one core's f32x4 (SIMD128) peak on this machine type
const SIZE = 224;

function usage(code) {
  process.stderr.write(`usage: node bench/e2e.mjs [--only ${VARIANTS.map((v) => v.key).join(',')}]
       [--quick] [--no-peers] [--peers ort-web,tfjs] [--runs N] [--time S] [--warmup N] [--warmup-time S]
       [--flavor auto|simd|relaxed] [--burst N] [--seed N] [--json FILE | --no-json]
`);
  process.exit(code);
}

function parseArgs(argv) {
  const a = {
    only: null, quick: false, peers: ['ort-web', 'tfjs'], runs: 40, time: 1, warmup: 15, warmupTime: 1,
    flavor: 'auto', burst: 1, seed: 1, json: undefined, maxRounds: 5000, maxTime: 60,
  };
  const explicit = new Set();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const val = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) { process.stderr.write(`missing value for ${flag}\n`); usage(2); }
      return v;
    };
    const num = () => {
      const v = Number(val());
      if (!Number.isFinite(v) || v < 0) { process.stderr.write(`bad number for ${flag}\n`); usage(2); }
      return v;
    };
    switch (flag) {
      case '--only': a.only = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--quick': a.quick = true; break;
      case '--no-peers': a.peers = []; break;
      case '--peers': a.peers = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--runs': a.runs = num(); explicit.add('runs'); break;
      case '--time': a.time = num(); explicit.add('time'); break;
      case '--warmup': a.warmup = num(); explicit.add('warmup'); break;
      case '--warmup-time': a.warmupTime = num(); explicit.add('warmupTime'); break;
      case '--flavor': a.flavor = val(); break;
      case '--seed': a.seed = num(); break;
      case '--burst': a.burst = Math.max(1, Math.floor(num())); break;
      case '--json': a.json = val(); break;
      case '--no-json': a.json = null; break;
      case '-h': case '--help': usage(0); break;
      default: process.stderr.write(`unknown option ${arg}\n`); usage(2);
    }
  }
  if (a.quick) {
    const q = { runs: 10, time: 0.3, warmup: 3, warmupTime: 0.2 };
    for (const [k, v] of Object.entries(q)) if (!explicit.has(k)) a[k] = v;
    a.maxTime = 15;
  }
  for (const p of a.peers) if (!['ort-web', 'tfjs'].includes(p)) { process.stderr.write(`unknown peer ${p}\n`); usage(2); }
  if (!['auto', 'simd', 'relaxed'].includes(a.flavor)) usage(2);
  if (a.only) {
    for (const k of a.only) if (!VARIANTS.some((v) => v.key === k)) { process.stderr.write(`unknown variant ${k}\n`); usage(2); }
  }
  return a;
}

const log = (s) => process.stderr.write(`${s}\n`);

/** Nearest-rank percentile of a sorted array. */
function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function stats(times) {
  const s = [...times].sort((x, y) => x - y);
  const mean = s.reduce((x, y) => x + y, 0) / s.length;
  return { n: s.length, median: pct(s, 50), p10: pct(s, 10), p90: pct(s, 90), min: s[0], max: s[s.length - 1], mean };
}

/** Busy and total jiffies over all CPUs, from /proc/stat (Linux), or null. */
function cpuTimes() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] || 0);
    const total = v.slice(0, 8).reduce((x, y) => x + y, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Measures foreign CPU load (cores busy outside this process) over a span. */
function loadMeter() {
  const c0 = cpuTimes(), u0 = process.cpuUsage(), t0 = performance.now();
  return () => {
    const c1 = cpuTimes(), u = process.cpuUsage(u0), wall = (performance.now() - t0) / 1000;
    const own = (u.user + u.system) / 1e6;
    const r = { wallS: wall, ownCores: own / wall, foreignCores: null };
    if (c0 && c1) {
      const hz = 100; // USER_HZ
      r.foreignCores = Math.max(0, ((c1.busy - c0.busy) / hz - own) / wall);
    }
    return r;
  };
}

function seededInput(n, seed) {
  let s = (seed * 2654435761) >>> 0 || 1;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    x[i] = (s / 4294967296) * 4 - 2;
  }
  return x;
}

function compare(ref, got) {
  if (!got || got.length !== ref.length) return { ok: false, maxDiff: Infinity, maxAbs: NaN, tol: NaN, note: `length ${got?.length} vs ${ref.length}` };
  let maxDiff = 0, maxAbs = 0, argmaxRef = 0, argmaxGot = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ref[i] - got[i]);
    if (!(d <= maxDiff)) maxDiff = d; // catches NaN
    maxAbs = Math.max(maxAbs, Math.abs(ref[i]));
    if (ref[i] > ref[argmaxRef]) argmaxRef = i;
    if (got[i] > got[argmaxGot]) argmaxGot = i;
  }
  const tol = 1e-4 * maxAbs;
  return { ok: maxDiff <= tol, maxDiff, maxAbs, tol, relDiff: maxDiff / maxAbs, top1Agrees: argmaxRef === argmaxGot };
}

const errText = (e) => String(e?.message ?? e).split('\n')[0].slice(0, 160);

/** One call of engine `e`; on a throw the engine is marked failed and dropped from the run. */
async function call(e) {
  try {
    await e.call();
    return true;
  } catch (err) {
    e.error = errText(err);
    log(`${e.name} failed while timing: ${e.error}`);
    return false;
  }
}

/** Runs `engines` (objects with name and async call()) per the method above. */
async function measure(engines, a) {
  // Warm-up: each engine alone.
  for (const e of engines) {
    const t0 = performance.now();
    let n = 0;
    while (n < a.warmup || performance.now() - t0 < a.warmupTime * 1000) {
      if (!(await call(e))) break;
      n++;
      if (performance.now() - t0 > a.maxTime * 1000) break;
    }
    e.warmRuns = n;
    e.warmMs = performance.now() - t0;
  }
  // Timed: interleaved rounds, rotated order.
  for (const e of engines) { e.times = []; e.total = 0; }
  const live = () => engines.filter((e) => !e.error);
  const meter = loadMeter();
  const t0 = performance.now();
  let round = 0;
  const done = () => live().every((e) => e.times.length >= a.runs && e.total >= a.time * 1000);
  while (live().length && !done() && round < a.maxRounds && performance.now() - t0 < a.maxTime * 1000) {
    const es = live();
    for (let j = 0; j < es.length; j++) {
      const e = es[(round + j) % es.length];
      for (let b = 0; b < a.burst; b++) {
        const s = performance.now();
        if (!(await call(e))) break;
        const d = performance.now() - s;
        e.times.push(d);
        e.total += d;
      }
    }
    round++;
  }
  return { rounds: round, capped: !done(), load: meter() };
}

function fmtMs(x) {
  if (!Number.isFinite(x)) return '–';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const variants = a.only ? VARIANTS.filter((v) => a.only.includes(v.key)) : VARIANTS;
  const loadBefore = os.loadavg();
  const started = new Date();
  const pkg = JSON.parse(fs.readFileSync(path.join(here, '..', 'package.json'), 'utf8'));

  // Peers: load once; a failure is reported per variant and the run continues.
  const peerMods = {};
  const peerInfo = {};
  for (const p of a.peers) {
    try {
      if (p === 'ort-web') {
        const m = await import('./peers/ort-web.mjs');
        peerMods[p] = { ctx: await m.loadOrtWeb({ threads: 1 }), create: m.createOrtWebRunner };
      } else {
        const m = await import('./peers/tfjs.mjs');
        peerMods[p] = { ctx: await m.loadTfjs(), create: m.createTfjsRunner };
      }
      peerInfo[p] = peerMods[p].ctx.info;
      log(`loaded ${p}: ${JSON.stringify(peerInfo[p])}`);
    } catch (e) {
      peerMods[p] = { error: errText(e) };
      peerInfo[p] = { error: errText(e) };
      log(`could not load ${p}: ${errText(e)}`);
    }
  }

  const cpus = os.cpus();
  const env = {
    date: started.toISOString(), package: `${pkg.name}@${pkg.version}`, node: process.version, v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`, cpu: cpus[0]?.model ?? '?', cores: cpus.length,
    loadavgBefore: loadBefore, quick: a.quick, settings: {
      runs: a.runs, timeS: a.time, warmup: a.warmup, warmupTimeS: a.warmupTime, seed: a.seed, size: SIZE, batch: 1, threads: 1,
    }, peers: peerInfo,
  };
  log(`shufflenet-wasm e2e: ${env.node}, ${env.cpu} x${env.cores}, loadavg ${loadBefore.map((x) => x.toFixed(2)).join(' ')}` +
    `${a.quick ? ', QUICK mode' : ''}`);

  const results = [];
  const input = seededInput(3 * SIZE * SIZE, 12345);
  for (const v of variants) {
    const t0 = performance.now();
    const opts = { ...v.opts, seed: a.seed };
    const r = { key: v.key, options: opts, engines: {} };
    results.push(r);
    log(`[${v.key}] building...`);
    let ours;
    try {
      ours = await buildModel({ ...opts, flavor: a.flavor });
      r.macs = ours.summary().totals.macs;
      r.params = ours.summary().totals.params;
      r.flavor = ours.flavor;
      env.flavor ??= ours.flavor;
    } catch (e) {
      r.engines.ours = { error: errText(e) };
      log(`[${v.key}] our engine failed to build: ${errText(e)}`);
      continue;
    }
    const ref = ours.run(input);
    const engines = [{ name: 'ours', call: () => ours.run(input) }];
    r.engines.ours = {};
    const runners = [];
    for (const p of a.peers) {
      const pm = peerMods[p];
      if (pm.error) { r.engines[p] = { error: `load: ${pm.error}` }; continue; }
      try {
        // A fresh graph: the builders are deterministic, and the peers must not see any
        // in-place changes our model may have made to its own graph.
        const graph = buildGraph(opts);
        const runner = await pm.create(pm.ctx, graph, { height: SIZE, width: SIZE });
        runners.push(runner);
        runner.setInput(input);
        const got = await runner.run();
        const check = compare(ref, got);
        r.engines[p] = { check };
        if (!check.ok) {
          log(`[${v.key}] LOGIT MISMATCH ours vs ${p}: max|diff| ${check.maxDiff.toExponential(3)} > tol ${check.tol.toExponential(3)}` +
            ` (max|logit| ${check.maxAbs.toFixed(3)}, top-1 ${check.top1Agrees ? 'agrees' : 'DIFFERS'})`);
        } else {
          log(`[${v.key}] ${p} logits agree: max|diff| ${check.maxDiff.toExponential(2)} (max|logit| ${check.maxAbs.toFixed(2)})`);
        }
        engines.push({ name: p, call: () => runner.run() });
      } catch (e) {
        r.engines[p] = { error: errText(e) };
        log(`[${v.key}] ${p} failed: ${errText(e)}`);
      }
    }
    const m = await measure(engines, a);
    r.rounds = m.rounds;
    r.capped = m.capped;
    r.load = m.load;
    for (const e of engines) {
      if (e.error) r.engines[e.name].error = `while timing: ${e.error}`;
      else Object.assign(r.engines[e.name], { ...stats(e.times), warmRuns: e.warmRuns, warmMs: e.warmMs });
    }
    for (const runner of runners) { try { await runner.dispose(); } catch { /* ignore */ } }
    ours.dispose();
    const o = r.engines.ours;
    const peerMed = a.peers.map((p) => r.engines[p]?.median).filter(Number.isFinite);
    if (Number.isFinite(o.median)) {
      o.gflops = (2 * r.macs) / (o.median * 1e6);
      o.ceilingPct = (100 * o.gflops) / CEILING_GFLOPS;
      if (peerMed.length) r.speedupVsFasterPeer = Math.min(...peerMed) / o.median;
    }
    log(`[${v.key}] ${r.rounds} rounds in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
      Object.entries(r.engines).map(([k, e]) => `${k} ${e.error ? 'error' : fmtMs(e.median) + ' ms'}`).join(', ') +
      (r.load?.foreignCores != null ? `; foreign load ${r.load.foreignCores.toFixed(2)} cores` : ''));
  }
  env.loadavgAfter = os.loadavg();

  // Table.
  const cell = (e, p) => {
    if (!e) return '–';
    if (e.error) return `error: ${e.error.length > 70 ? `${e.error.slice(0, 70)}…` : e.error}`;
    let s = fmtMs(e.median);
    if (e.check && !e.check.ok) s += ` ⚠ logits differ (${e.check.maxDiff.toExponential(1)})`;
    return s;
  };
  const lines = [];
  lines.push(`shufflenet-wasm ${pkg.version} (${env.flavor ?? '?'} kernels) vs peers — batch 1, ${SIZE}x${SIZE}, 1 thread, median of interleaved runs${a.burst > 1 ? ` (bursts of ${a.burst} back-to-back runs)` : ' (one run per engine per turn: cold caches)'}${a.quick ? ' (QUICK mode: few runs, rough)' : ''}`);
  lines.push(`${env.node}, ${env.cpu}, ${env.cores} cores; loadavg before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${env.loadavgAfter.map((x) => x.toFixed(2)).join(' ')}`);
  lines.push('');
  const row = (cells) => `| ${cells.join(' | ')} |`;
  const align = (n) => `|---|${'---:|'.repeat(n - 1)}`;
  const peerCols = a.peers.map((p) => (p === 'ort-web' ? 'ort-web ms' : 'tfjs-wasm ms'));
  const head1 = ['model', 'MMACs', 'ours ms', ...peerCols, 'speedup vs faster peer', 'ours effective GFLOP/s', `% of ~${CEILING_GFLOPS} GFLOP/s ceiling`];
  lines.push(row(head1), align(head1.length));
  for (const r of results) {
    const o = r.engines.ours ?? {};
    lines.push(row([r.key, r.macs ? (r.macs / 1e6).toFixed(1) : '–', cell(o), ...a.peers.map((p) => cell(r.engines[p])),
      r.speedupVsFasterPeer ? `${r.speedupVsFasterPeer.toFixed(2)}x` : '–', o.gflops ? o.gflops.toFixed(1) : '–',
      o.ceilingPct ? `${o.ceilingPct.toFixed(0)} %` : '–']));
  }
  lines.push('');
  lines.push('Spread and conditions (p10–p90 ms; foreign load = CPU cores busy outside this process during the timed phase; own = cores this process used):');
  lines.push('');
  const head2 = ['model', 'rounds', 'ours p10–p90', ...a.peers.map((p) => `${p} p10–p90`), 'foreign load', 'own'];
  lines.push(row(head2), align(head2.length));
  const spread = (e) => (e && Number.isFinite(e.median) ? `${fmtMs(e.p10)}–${fmtMs(e.p90)}` : '–');
  for (const r of results) {
    lines.push(row([r.key, `${r.rounds ?? '–'}${r.capped ? ' (capped)' : ''}`, spread(r.engines.ours), ...a.peers.map((p) => spread(r.engines[p])),
      r.load?.foreignCores != null ? r.load.foreignCores.toFixed(2) : '–', r.load ? r.load.ownCores.toFixed(2) : '–']));
  }
  const mismatches = results.flatMap((r) => Object.entries(r.engines).filter(([, e]) => e.check && !e.check.ok).map(([p, e]) => `${r.key} vs ${p}: max|diff| ${e.check.maxDiff.toExponential(3)} (tol ${e.check.tol.toExponential(3)}, top-1 ${e.check.top1Agrees ? 'agrees' : 'differs'})`));
  const noisy = results.filter((r) => (r.load?.foreignCores ?? 0) > 0.15 || (r.load?.ownCores ?? 1) < 0.9).map((r) => r.key);
  lines.push('');
  const checked = results.flatMap((r) => Object.values(r.engines).filter((e) => e.check)).length;
  lines.push(mismatches.length ? `LOGIT MISMATCHES (tolerance 1e-4 x max|logit|):\n${mismatches.map((m) => `  - ${m}`).join('\n')}` :
    checked ? `All ${checked} peer logit checks agree with ours within 1e-4 x max|logit|.` : 'No peer logits were compared.');
  if (noisy.length) {
    lines.push(`NOISY: foreign CPU load > 0.15 cores, or this process got < 0.9 of a core, during ${noisy.join(', ')}; ` +
      'rerun on an idle machine for publishable numbers (engine ratios are more robust: the engines are interleaved).');
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  if (a.json !== null) {
    const file = a.json ?? path.join(here, 'results', `e2e-${started.toISOString().replace(/[:.]/g, '-')}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify({ env, results, mismatches, noisy }, null, 2)}\n`);
    log(`wrote ${path.relative(process.cwd(), file) || file}`);
  }
  if (mismatches.length) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
