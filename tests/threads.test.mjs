// `threads: n`: the same logits as one thread (bit for bit: every output plane is computed by
// one thread with the same code), a worker that dies turns into E_THREAD instead of a hang,
// dispose() ends the workers, and a clear warning plus 1 thread where threads cannot run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { buildModel, loadModel, ShuffleNetError } from '../dist/esm/src/index.js';
import { withSharedMemory } from '../dist/esm/src/threads/shared-module.js';
import { dataPath } from './data.mjs';
import { randomInput } from './data.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));


function assertIdentical(a, b, label) {
  assert.is(a.length, b.length, `${label}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.unreachable(`${label}: logit ${i} differs: ${a[i]} (1 thread) vs ${b[i]}`);
  }
}

async function expectThreadError(fn, label) {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    assert.instance(e, ShuffleNetError, `${label}: a ShuffleNetError`);
    assert.is(e.code, 'E_THREAD', `${label}: code`);
    return { error: e, ms: performance.now() - t0 };
  }
  assert.unreachable(`${label}: no error`);
}

test('the shared-memory module made at run time is byte for byte what asc --sharedMemory builds', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'shufflenet-threads-'));
  try {
    for (const target of ['simd', 'relaxed']) {
      const out = path.join(tmp, `${target}.wasm`);
      const r = spawnSync(process.execPath, [path.join(repo, 'node_modules/assemblyscript/bin/asc.js'), 'assembly/index.ts',
        '--config', 'asconfig.json', '--target', target, '--enable', 'threads', '--importMemory', '--sharedMemory',
        '--maximumMemory', '65536', '-o', out], { cwd: repo, encoding: 'utf8' });
      assert.is(r.status, 0, r.stderr);
      const ours = withSharedMemory(readFileSync(path.join(repo, `build/kernels.${target}.wasm`)));
      assert.ok(Buffer.from(ours.bytes).equals(readFileSync(out)), `${target}: differs from asc's build`);
      assert.is(ours.pages, 1);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

const cases = [
  { label: 'v2 1.0x, batch 2, 224x224', opts: { arch: 'v2', width: 1 }, shape: [2, 3, 224, 224] },
  { label: 'v2 1.0x, odd 97x131', opts: { arch: 'v2', width: 1 }, shape: [1, 3, 97, 131] },
  { label: 'v1 1.0x g=3, batch 2, 224x224', opts: { arch: 'v1', width: 1, groups: 3 }, shape: [2, 3, 224, 224] },
  { label: 'v1 1.0x g=3, odd 161x67', opts: { arch: 'v1', width: 1, groups: 3 }, shape: [1, 3, 161, 67] },
  { label: 'v1 1.0x g=8, 224x224', opts: { arch: 'v1', width: 1, groups: 8 }, shape: [1, 3, 224, 224] },
  { label: 'v1 0.5x g=8, odd 75x93', opts: { arch: 'v1', width: 0.5, groups: 8 }, shape: [1, 3, 75, 93] },
];

for (const { label, opts, shape } of cases) {
  test(`${label}: 2 and 3 threads give bit-identical logits to 1 thread`, async () => {
    const x = await randomInput(shape[0], shape[2], shape[3], 7);
    const one = await buildModel({ ...opts, seed: 5, warmup: 0 });
    const ref = one.run(x, shape);
    assert.is(one.threads, 1);
    one.dispose();
    for (const threads of [2, 3]) {
      const m = await buildModel({ ...opts, seed: 5, warmup: 0, threads });
      assert.is(m.threads, threads, 'threads started');
      assertIdentical(ref, m.run(x, shape), `${label}, ${threads} threads`);
      assertIdentical(ref, m.run(x, shape), `${label}, ${threads} threads, second run`);
      m.dispose();
    }
  });
}

test('zoo ShuffleNet v2 (int8 QDQ) via loadModel: 2 threads identical to 1 thread, several input sizes', async () => {
  const bytes = readFileSync(dataPath('models/shufflenet-v2-12-qdq.onnx'));
  const one = await loadModel(bytes);
  const two = await loadModel(bytes, { threads: 2 });
  assert.is(two.threads, 2);
  for (const [h, w] of [[224, 224], [160, 200], [224, 224]]) {
    const x = await randomInput(1, h, w, h + w);
    assertIdentical(one.run(x, [1, 3, h, w]), two.run(x, [1, 3, h, w]), `zoo ${h}x${w}`);
  }
  one.dispose();
  two.dispose();
});

test('runs after idle gaps (sleeping worker, woken ahead of the run) and after a rejected input stay identical', async () => {
  const opts = { arch: 'v2', width: 0.5, seed: 3, warmup: 0 };
  const x = await randomInput(1, 224, 224, 11);
  const one = await buildModel(opts);
  const ref = one.run(x);
  one.dispose();
  const m = await buildModel({ ...opts, threads: 2 });
  const bad = x.slice();
  bad[1234] = NaN;
  for (const gap of [0, 5, 30]) {
    await new Promise((r) => setTimeout(r, gap)); // the worker spins 0.05 ms, then sleeps
    assertIdentical(ref, m.run(x), `after a ${gap} ms gap`);
    assert.throws(() => m.run(bad), (e) => e instanceof ShuffleNetError && e.code === 'E_ARGUMENT', 'NaN input rejected');
    assertIdentical(ref, m.run(x), `after a rejected input, ${gap} ms gap`);
  }
  m.dispose();
});

test('a worker terminated mid-run: the run throws E_THREAD within the timeout, later runs too, dispose works', async () => {
  const m = await buildModel({ arch: 'v2', width: 0.5, threads: 2, warmup: 1, inputSize: 64, threadTimeoutMs: 500 });
  const x = await randomInput(1, 64, 64, 1);
  m.run(x); // healthy first
  const pool = m.pool;
  let killed = false;
  pool.onBarrier = (barrier) => {
    if (barrier === 3 && !killed) {
      killed = true;
      pool.workerHandles[0].terminate();
      const t = performance.now();
      while (performance.now() - t < 100) { /* let the termination land mid-run */ }
    }
  };
  const { error, ms } = await expectThreadError(() => m.run(x), 'killed worker');
  assert.ok(killed, 'the hook ran');
  assert.ok(ms < 5000, `gave up after ${ms.toFixed(0)} ms`);
  assert.match(error.message, /no progress for 500 ms/);
  const again = await expectThreadError(() => m.run(x), 'after the failure');
  assert.ok(again.ms < 100, 'a failed model fails fast');
  m.dispose();
  await withTimeout(pool.exited, 5000, 'workers exit after dispose');
});

test('a worker that throws (corrupted program) fails the run at once with its message', async () => {
  const m = await buildModel({ arch: 'v2', width: 0.5, threads: 2, inputSize: 64 }); // default 10 s timeout
  const x = await randomInput(1, 64, 64, 2);
  const before = m.run(x);
  const plan = m.plans.values().next().value;
  const prog = m.programs.get(plan);
  new Int32Array(m.kernels.memory.buffer)[prog.starts[1]] = 99; // not an opcode
  const { error, ms } = await expectThreadError(() => m.run(x), 'corrupted program');
  assert.ok(ms < 2000, `failed after ${ms.toFixed(0)} ms`);
  assert.match(error.message, /worker 1: TypeError/);
  m.dispose();
  assert.ok(before.every(Number.isFinite));
});

test('a worker that exits between runs: the next run throws E_THREAD', async () => {
  const m = await buildModel({ arch: 'v2', width: 0.5, threads: 2, inputSize: 64 });
  const x = await randomInput(1, 64, 64, 3);
  m.pool.workerHandles[0].terminate();
  await withTimeout(m.pool.exited, 5000, 'worker exit');
  const { error } = await expectThreadError(() => m.run(x), 'dead worker');
  assert.match(error.message, /worker 1 exited/);
  m.dispose();
});

test('dispose() ends the workers and the process exits; an undisposed model does not keep Node alive', () => {
  for (const dispose of [true, false]) {
    const script = `
      import { buildModel } from ${JSON.stringify(repo + 'dist/esm/src/index.js')};
      const m = await buildModel({ arch: 'v2', width: 0.5, threads: 2, inputSize: 64 });
      m.run(new Float32Array(3 * 64 * 64));
      ${dispose ? 'm.dispose();' : ''}
      console.log('done', m.threads ?? '');`;
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    const ms = performance.now() - t0;
    assert.is(r.status, 0, `exit status (dispose ${dispose}): ${r.stderr}`);
    assert.match(r.stdout, /done/);
    assert.ok(ms < 20_000, `exited after ${ms.toFixed(0)} ms`);
  }
});

test('the CommonJS build runs threads too', () => {
  const script = `
    const { buildModel } = require(${JSON.stringify(repo + 'dist/cjs/src/index.js')});
    buildModel({ arch: 'v2', width: 0.5, threads: 2, inputSize: 64 }).then((m) => {
      const y = m.run(new Float32Array(3 * 64 * 64));
      console.log('threads', m.threads, y.length);
      m.dispose();
    });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /threads 2 1000/);
});

test('without cross-origin isolation: one clear warning, then 1 thread with the same results', async () => {
  const warnings = [];
  const warn = console.warn;
  console.warn = (...a) => warnings.push(a.join(' '));
  globalThis.crossOriginIsolated = false;
  try {
    const a = await buildModel({ arch: 'v2', width: 0.5, threads: 2, inputSize: 64 });
    const b = await buildModel({ arch: 'v2', width: 0.5, threads: 2, inputSize: 64 });
    assert.is(a.threads, 1);
    assert.is(b.threads, 1);
    assert.is(warnings.length, 1, 'warned once');
    assert.match(warnings[0], /Cross-Origin-Opener-Policy: same-origin/);
    assert.match(warnings[0], /running on 1 thread/);
    const x = await randomInput(1, 64, 64, 4);
    const one = await buildModel({ arch: 'v2', width: 0.5, inputSize: 64 });
    assertIdentical(one.run(x), a.run(x), 'fallback');
    for (const m of [a, b, one]) m.dispose();
  } finally {
    delete globalThis.crossOriginIsolated;
    console.warn = warn;
  }
});

test('threads must be an integer from 1 to 64; the default is 1 thread', async () => {
  for (const threads of [0, 1.5, 65, '2']) {
    try {
      await buildModel({ arch: 'v2', width: 0.5, threads, warmup: 0 });
      assert.unreachable(`threads ${threads} accepted`);
    } catch (e) {
      assert.is(e.code, 'E_ARGUMENT', String(e));
    }
  }
  const m = await buildModel({ arch: 'v2', width: 0.5, warmup: 0 });
  assert.is(m.threads, 1);
  assert.is(m.pool, undefined);
  m.dispose();
});

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

test.run();
