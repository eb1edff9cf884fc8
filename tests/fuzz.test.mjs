// A fixed-seed subset of bench/fuzz.mjs for CI: mutated ONNX files (bytes, protobuf fields,
// stress structures, meaning-preserving rewrites) and bad API arguments. Every case must end
// in a result or a ShuffleNetError within the time limit: no crash, hang, untyped error,
// wrong result or runaway memory. The full fuzzer: `npm run fuzz -- --cases 100000`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { dataPath } from './data.mjs';

dataPath('models/shufflenet-v2-12-qdq.onnx'); // fail loudly when the fixtures are missing
const fuzz = fileURLToPath(new URL('../bench/fuzz.mjs', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'shufflenet-fuzz-'));

function run(label, args) {
  const json = path.join(dir, `${label}.json`);
  const t0 = performance.now();
  // --timeout 5000: a hang is still caught; a slow CI machine is not mistaken for one
  const res = spawnSync(process.execPath, [fuzz, '--quiet', '--workers', '2', '--timeout', '5000', '--json', json, ...args], { encoding: 'utf8', timeout: 170000 });
  const seconds = (performance.now() - t0) / 1000;
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  assert.ok(res.error === undefined, `the fuzzer did not finish: ${res.error}\n${out}`);
  const s = JSON.parse(readFileSync(json, 'utf8'));
  console.log(`    ${label}: ${s.cases} cases in ${seconds.toFixed(1)} s — ran ${s.ok} (+${s.nonfinite} non-finite from extreme weights), rejected ${s.errors} ${JSON.stringify(s.errorCodes)}, reference-checked ${s.refChecked}, neutral-checked ${s.neutralChecked}`);
  const failures = s.failures.map((f) => `case ${f.case} [${f.status}] ${f.base} ${f.kinds?.join(' ')}: ${f.message}`).join('\n');
  if (s.slow) console.log(`    (${s.slow} case(s) needed more than 5 s next to the other worker and finished alone: ${JSON.stringify(s.slowCases)})`);
  assert.is(s.crashes + s.hangs + s.untyped + s.wrong + s.memory + s.harness, 0, `failures (replay: node bench/fuzz.mjs ${args.join(' ')} --case N):\n${failures}`);
  assert.is(res.status, 0, out);
  return s;
}

test('fuzz: 1,600 cases on the generated v1 / v2 graphs (seed 20250)', () => {
  const s = run('generated', ['--cases', '1600', '--seed', '20250', '--bases', 'v2alt,v1alt', '--mix', 'bytes:38,fields:46,neutral:7,api:7,stress:2']);
  assert.is(s.cases, 1600);
  assert.ok(s.ok > 250, 'many cases load and run');
  assert.ok(s.errors > 600, 'many cases are rejected');
  assert.ok(s.refChecked > 150 && s.maxRefDiff < 1e-3);
  assert.ok(s.neutralChecked > 40 && s.maxNeutralDiff < 1e-4);
  for (const code of ['E_ONNX_PARSE', 'E_UNSUPPORTED_OP', 'E_SHAPE', 'E_LIMIT']) assert.ok(s.errorCodes[code] > 0, code);
});

test('fuzz: 200 cases on the ONNX zoo int8 QDQ model (seed 7)', () => {
  const s = run('zoo', ['--cases', '200', '--seed', '7', '--bases', 'qdq', '--mix', 'bytes:40,fields:45,neutral:15']);
  assert.is(s.cases, 200);
  assert.ok(s.ok > 30 && s.errors > 60);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
