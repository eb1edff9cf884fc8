// Reliability: a model file and an input are untrusted. Limits are checked before anything
// large is allocated, bad inputs give typed errors, memory stays flat over many inferences,
// models are isolated from each other, dispose() releases everything, results are
// deterministic, and crafted graphs that used to take quadratic time load quickly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { dataPath } from './data.mjs';
import { loadModel, buildModel, buildGraph, ShuffleNetError } from '../dist/esm/src/index.js';
import { writeOnnx } from '../dist/esm/src/onnx/write.js';
import { parseOnnx, MAX_DIM, MAX_ELEMENTS, MAX_NODES, MAX_DECODED_OBJECTS, MAX_DECODED_NUMBERS, MAX_NESTING, MAX_STRING_BYTES, MAX_WEIGHT_ELEMENTS, MAX_IMPORT_ELEMENTS, MAX_CHANNELS, MAX_TOTAL_CHANNELS } from '../dist/esm/src/onnx/read.js';
import { importOnnx } from '../dist/esm/src/onnx/import.js';
import { encodeModelProto } from '../dist/esm/src/onnx/schema.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

// ---------- helpers ----------

function expectCode(fn, code, ...parts) {
  let err;
  try { fn(); } catch (e) { err = e; }
  assert.ok(err, `expected ${code}, nothing was thrown`);
  assert.ok(err instanceof ShuffleNetError, `expected a ShuffleNetError ${code}, got ${err?.constructor?.name}: ${err?.message}`);
  assert.is(err.code, code, err.message);
  for (const p of parts) assert.ok(err.message.includes(p), `"${err.message}" should mention "${p}"`);
  return err;
}
async function expectCodeAsync(fn, code, ...parts) {
  let err;
  try { await fn(); } catch (e) { err = e; }
  assert.ok(err instanceof ShuffleNetError, `expected a ShuffleNetError ${code}, got ${err?.constructor?.name}: ${err?.message}`);
  assert.is(err.code, code, err.message);
  for (const p of parts) assert.ok(err.message.includes(p), `"${err.message}" should mention "${p}"`);
}
const encodeModel = encodeModelProto;
const f32raw = (arr) => new Uint8Array(Float32Array.from(arr).buffer);
function vi(name, dims) {
  return { name, type: { tensor_type: { elem_type: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } } };
}
const aInt = (name, i) => ({ name, type: 2, i });
const aInts = (name, ints) => ({ name, type: 7, ints });
/** input [N,3,H,W] -> body -> GlobalAveragePool -> Flatten -> Gemm(channels -> 2) -> output */
function classifier(body, bodyOut, channels, inits = [], opset = 13) {
  const head = [
    { name: 'gap', op_type: 'GlobalAveragePool', input: [bodyOut], output: ['pooled'] },
    { name: 'flat', op_type: 'Flatten', input: ['pooled'], output: ['flat'], attribute: [aInt('axis', 1)] },
    { name: 'fc', op_type: 'Gemm', input: ['flat', 'fc_w', 'fc_b'], output: ['output'], attribute: [aInt('transB', 1)] },
  ];
  const headInits = [
    { name: 'fc_w', dims: [2, channels], data_type: 1, raw_data: new Uint8Array(8 * channels) },
    { name: 'fc_b', dims: [2], data_type: 1, float_data: [0.5, -0.5] },
  ];
  return encodeModel({
    ir_version: 7, opset_import: [{ domain: '', version: opset }],
    graph: { name: 'g', node: [...body, ...head], initializer: [...inits, ...headInits], input: [vi('input', ['N', 3, 'H', 'W'])], output: [vi('output', ['N', 2])] },
  });
}
const convInit = (name, cout, cin, k = 1, fill = (i) => ((i % 7) - 3) / 10) =>
  ({ name, dims: [cout, cin, k, k], data_type: 1, raw_data: f32raw(Array.from({ length: cout * cin * k * k }, (_, i) => fill(i))) });
const conv = (name, x, w, out, extra = []) => ({ name, op_type: 'Conv', input: [x, w], output: [out], attribute: [aInts('kernel_shape', [1, 1]), ...extra] });

// protobuf wire encoding, for files the encoder would never write
function varint(v) { const o = []; while (v > 127) { o.push((v % 128) | 128); v = Math.floor(v / 128); } o.push(v); return o; }
function field(id, payload) {
  const head = [...varint(id * 8 + 2), ...varint(payload.length)];
  const o = new Uint8Array(head.length + payload.length);
  o.set(head); o.set(payload, head.length);
  return o;
}
function concatBytes(parts) { const n = parts.reduce((s, p) => s + p.length, 0); const o = new Uint8Array(n); let at = 0; for (const p of parts) { o.set(p, at); at += p.length; } return o; }
function repeatField(id, payload, times) {
  const one = field(id, payload);
  const o = new Uint8Array(one.length * times);
  for (let i = 0; i < times; i++) o.set(one, i * one.length);
  return o;
}
/** a ModelProto whose graph (field 7) has `graphBytes` as its body */
function withGraph(graphBytes) {
  return concatBytes([Uint8Array.from([8, 7]), field(8, Uint8Array.from([0x10, 13])), field(7, graphBytes)]);
}

function heapGrowthDuring(fn) {
  gc();
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().heapUsed); }, 1);
  try { fn(); } finally { clearInterval(timer); }
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  return peak - before;
}

const QDQ = readFileSync(dataPath('models/shufflenet-v2-12-qdq.onnx'));
const V2 = writeOnnx(buildGraph({ arch: 'v2', width: 0.5 }));
const inputOf = (h, w, seed = 1) => {
  let a = seed >>> 0;
  const x = new Float32Array(3 * h * w);
  for (let i = 0; i < x.length; i++) { a = (Math.imul(a, 1664525) + 1013904223) >>> 0; x[i] = a / 2 ** 31 - 1; }
  return x;
};
const sameBits = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

// ---------- limits, checked before allocating ----------

test('limits: the constants in force', () => {
  assert.is(MAX_DIM, 2 ** 24);
  assert.is(MAX_ELEMENTS, 2 ** 28);
  assert.is(MAX_NODES, 10000);
  assert.is(MAX_DECODED_OBJECTS, 2 ** 18);
  assert.is(MAX_DECODED_NUMBERS, 2 ** 24);
  assert.is(MAX_STRING_BYTES, 2 ** 26);
  assert.is(MAX_NESTING, 32);
  assert.is(MAX_WEIGHT_ELEMENTS, 2 ** 24);
  assert.is(MAX_IMPORT_ELEMENTS, 2 ** 26);
  assert.is(MAX_CHANNELS, 2 ** 16);
  assert.is(MAX_TOTAL_CHANNELS, 2 ** 19);
});

test('limits: tensor dims — too large, negative, too many elements, too many values in all', () => {
  const body = [conv('c', 'input', 'w', 'y')];
  const big = (dims) => classifier(body, 'y', 4, [{ name: 'w', dims, data_type: 1 }]);
  expectCode(() => importOnnx(big([4, MAX_DIM + 1, 1, 1])), 'E_LIMIT', '"w"', 'dimension');
  expectCode(() => importOnnx(big([4, -3, 1, 1])), 'E_ONNX_PARSE', '"w"', '-3');
  expectCode(() => importOnnx(big([2 ** 20, 2 ** 9, 1, 1])), 'E_LIMIT', '"w"', 'elements');
  // each tensor under the per-tensor limit, all of them together over the total
  const many = [0, 1, 2, 3, 4].map((i) => ({ name: `w${i}`, dims: [2 ** 22, 1], data_type: 1 }));
  expectCode(() => importOnnx(classifier(body, 'y', 4, [convInit('w', 4, 3), ...many])), 'E_LIMIT', 'initializers', String(MAX_WEIGHT_ELEMENTS));
  // and none of this allocated the declared sizes
  assert.ok(heapGrowthDuring(() => { try { importOnnx(big([2 ** 20, 2 ** 9, 1, 1])); } catch { /* expected */ } }) < 16 << 20);
});

test('limits: declared sizes that disagree with the bytes present', () => {
  const body = [conv('c', 'input', 'w', 'y')];
  const w = convInit('w', 4, 3);
  expectCode(() => importOnnx(classifier(body, 'y', 4, [{ ...w, raw_data: w.raw_data.subarray(0, 44) }])), 'E_ONNX_PARSE', '"w"', '44 bytes');
  expectCode(() => importOnnx(classifier(body, 'y', 4, [{ ...w, dims: [4, 3, 1, 2] }])), 'E_ONNX_PARSE', '"w"');
  expectCode(() => importOnnx(classifier(body, 'y', 4, [{ name: 'w', dims: [4, 3, 1, 1], data_type: 1, float_data: [1, 2, 3] }])), 'E_ONNX_PARSE', '"w"', '3 are present');
  expectCode(() => importOnnx(classifier(body, 'y', 4, [{ ...w, float_data: [1] }])), 'E_ONNX_PARSE', '"w"', 'both raw_data');
  // a Reshape of a constant to a shape with another element count
  const reshape = [
    { name: 'r', op_type: 'Reshape', input: ['w0', 'shape'], output: ['w'] },
    conv('c', 'input', 'w', 'y'),
  ];
  const shape = { name: 'shape', dims: [4], data_type: 7, int64_data: [4, 3, 2, 1] };
  expectCode(() => importOnnx(classifier(reshape, 'y', 4, [{ ...w, name: 'w0' }, shape])), 'E_SHAPE', 'Reshape', '12 values');
  // a truncated file
  expectCode(() => importOnnx(V2.subarray(0, V2.length - 1000)), 'E_ONNX_PARSE');
});

test('limits: external data is rejected, even for a tensor nothing reads', () => {
  const ext = { name: 'unused', dims: [4], data_type: 1, data_location: 1, external_data: [{ key: 'location', value: '/etc/passwd' }] };
  const model = classifier([conv('c', 'input', 'w', 'y')], 'y', 4, [convInit('w', 4, 3), ext]);
  expectCode(() => importOnnx(model), 'E_UNSUPPORTED_OP', '"unused"', 'externally', '/etc/passwd');
  const ext2 = { ...convInit('w', 4, 3), external_data: [{ key: 'location', value: 'w.bin' }] };
  expectCode(() => importOnnx(classifier([conv('c', 'input', 'w', 'y')], 'y', 4, [ext2])), 'E_UNSUPPORTED_OP', '"w"');
});

test('limits: node count, checked on the wire before decoding', () => {
  const nodes = repeatField(1, Uint8Array.of(0x22, 4, 0x52, 0x65, 0x6c, 0x75), MAX_NODES + 1); // op_type "Relu"
  const t0 = performance.now();
  expectCode(() => parseOnnx(withGraph(nodes)), 'E_LIMIT', 'nodes', String(MAX_NODES));
  assert.ok(performance.now() - t0 < 1000);
});

test('limits: a few MB that would decode into GBs of objects -> E_LIMIT, little heap used', () => {
  // 1M empty value_info messages (2 MB): ~330 MB of heap if decoded
  const empties = withGraph(repeatField(13, new Uint8Array(0), 1 << 20));
  let growth = heapGrowthDuring(() => expectCode(() => parseOnnx(empties), 'E_LIMIT', 'protobuf objects'));
  assert.ok(growth < 32 << 20, `heap grew ${growth} bytes`);
  // one initializer with a packed int64_data of 1M one-byte varints (1 MB): 1M Long objects
  const packed = new Uint8Array(1 << 20).fill(1);
  const longs = withGraph(field(5, field(7, packed)));
  growth = heapGrowthDuring(() => expectCode(() => parseOnnx(longs), 'E_LIMIT', 'protobuf objects'));
  assert.ok(growth < 32 << 20, `heap grew ${growth} bytes`);
  // int32_data of 2^24 + 1 one-byte varints: JS numbers
  const ints = new Uint8Array(MAX_DECODED_NUMBERS + 1).fill(1);
  expectCode(() => parseOnnx(withGraph(field(5, field(5, ints)))), 'E_LIMIT', 'numeric');
  // more than 64 MiB of text
  const doc = new Uint8Array(MAX_STRING_BYTES + 1).fill(0x41);
  expectCode(() => parseOnnx(withGraph(field(10, doc))), 'E_LIMIT', 'text');
  // messages nested deeper than the limit: node -> attribute -> graph -> node -> ...
  let inner = new Uint8Array(0);
  for (let d = 0; d < MAX_NESTING; d++) inner = field(1, field(5, field(6, inner))); // node(1) { attribute(5) { g(6) { ... } } }
  expectCode(() => parseOnnx(withGraph(inner)), 'E_LIMIT', 'nested');
  // lengths that run past their message
  expectCode(() => parseOnnx(Uint8Array.of(0x3a, 0x7f, 0x0a, 0x02)), 'E_ONNX_PARSE');
});

test('limits: constants materialized by the import (fan-out of one big initializer) -> E_LIMIT', () => {
  const n = 1 << 22;
  const big = { name: 'big', dims: [n], data_type: 1, raw_data: new Uint8Array(4 * n) };
  const casts = Array.from({ length: 16 }, (_, i) => ({ name: `cast${i}`, op_type: 'Cast', input: ['big'], output: [`c${i}`], attribute: [aInt('to', 1)] }));
  const model = classifier([...casts, conv('c', 'input', 'w', 'y')], 'y', 4, [convInit('w', 4, 3), big]);
  expectCode(() => importOnnx(model), 'E_LIMIT', 'cast', 'constant values');
});

test('limits: feature-map channels — Concat(x, x) doubling, and channels summed over the graph', () => {
  const body = [];
  let x = 'input';
  for (let k = 0; k < 20; k++) { body.push({ name: `cat${k}`, op_type: 'Concat', input: [x, x], output: [`cat${k}`], attribute: [aInt('axis', 1)] }); x = `cat${k}`; }
  expectCode(() => importOnnx(classifier(body, x, 3 * 2 ** 20)), 'E_LIMIT', 'channels', String(MAX_CHANNELS));
  // 9 tensors of 65535 channels each: under the per-tensor limit, over the total
  const wide = [{ name: 'cat', op_type: 'Concat', input: new Array(21845).fill('input'), output: ['r0'], attribute: [aInt('axis', 1)] }];
  for (let k = 0; k < 8; k++) wide.push({ name: `relu${k}`, op_type: 'Relu', input: [`r${k}`], output: [`r${k + 1}`] });
  expectCode(() => importOnnx(classifier(wide, 'r8', 65535)), 'E_LIMIT', 'channels in all');
});

test('limits: shape vectors — long, non-integer, symbolic products that double', () => {
  const reshapeOf = (shape) => [{ name: 'r', op_type: 'Reshape', input: ['y', 'shape'], output: ['z'] }];
  const base = [conv('c', 'input', 'w', 'y')];
  const long = { name: 'shape', dims: [100], data_type: 7, int64_data: new Array(100).fill(1) };
  expectCode(() => importOnnx(classifier([...base, ...reshapeOf()], 'z', 4, [convInit('w', 4, 3), long])), 'E_UNSUPPORTED_OP', '100 values');
  const frac = { name: 'shape', dims: [5], data_type: 1, float_data: [1, 0.5, 8, 0, 0] };
  expectCode(() => importOnnx(classifier([...base, ...reshapeOf()], 'z', 4, [convInit('w', 4, 3), frac])), 'E_UNSUPPORTED_OP', 'not integers');
  // Shape -> Mul(s, s) -> Mul ... : symbolic products with 2^k factors
  const muls = [...base, { name: 's', op_type: 'Shape', input: ['y'], output: ['s0'] }];
  for (let k = 0; k < 30; k++) muls.push({ name: `m${k}`, op_type: 'Mul', input: [`s${k}`, `s${k}`], output: [`s${k + 1}`] });
  muls.push({ name: 'r', op_type: 'Reshape', input: ['y', 's30'], output: ['z'] });
  expectCode(() => importOnnx(classifier(muls, 'z', 4, [convInit('w', 4, 3)])), 'E_LIMIT', 'factors');
});

test('limits: non-finite weights are rejected at load (after dequantization and BatchNorm folding)', async () => {
  const body = [conv('c', 'input', 'w', 'y')];
  const nan = convInit('w', 4, 3, 1, (i) => (i === 5 ? NaN : 0.1));
  expectCode(() => importOnnx(classifier(body, 'y', 4, [nan])), 'E_ONNX_PARSE', 'NaN', 'finite');
  // BatchNormalization with a negative variance: sqrt(var + eps) is NaN
  const bn = [conv('c', 'input', 'w', 'y0'), { name: 'bn', op_type: 'BatchNormalization', input: ['y0', 's', 'b', 'm', 'v'], output: ['y'], attribute: [] }];
  const p = (name, vals) => ({ name, dims: [4], data_type: 1, float_data: vals });
  const bnInits = [convInit('w', 4, 3), p('s', [1, 1, 1, 1]), p('b', [0, 0, 0, 0]), p('m', [0, 0, 0, 0]), p('v', [1, -2, 1, 1])];
  await expectCodeAsync(() => loadModel(classifier(bn, 'y', 4, bnInits)), 'E_ONNX_PARSE', 'finite');
  // huge but finite weights load; float32 overflow then gives non-finite logits (a correct result)
  const huge = convInit('w', 4, 3, 1, () => 3e38);
  const m = await loadModel(classifier(body, 'y', 4, [huge, { name: 'unused', dims: [1], data_type: 1, float_data: [0] }]), { warmup: 0 });
  m.dispose();
});

test('limits: input size — run() over 4096, classify() over 2^26 pixels, inputSize out of range', async () => {
  const m = await loadModel(V2, { warmup: 0, inputSize: 32 });
  expectCode(() => m.run(new Float32Array(3 * 16 * 4097), [1, 3, 16, 4097]), 'E_LIMIT', '4096');
  expectCode(() => m.run(new Float32Array(3), [1, 3, 5000, 5000]), 'E_LIMIT');
  expectCode(() => m.classify({ data: new Uint8Array(3), width: 8193, height: 8193, channels: 3 }), 'E_LIMIT', '2^26');
  m.dispose();
  await expectCodeAsync(() => loadModel(V2, { inputSize: 4097 }), 'E_LIMIT', 'inputSize');
  await expectCodeAsync(() => loadModel(V2, { inputSize: 1e9 }), 'E_LIMIT', 'inputSize');
  await expectCodeAsync(() => loadModel(V2, { inputSize: 8 }), 'E_ARGUMENT', 'inputSize');
  await expectCodeAsync(() => loadModel(V2, { inputSize: 2.5 }), 'E_ARGUMENT', 'inputSize');
  await expectCodeAsync(() => loadModel(V2, { warmup: -1 }), 'E_ARGUMENT', 'warmup');
  await expectCodeAsync(() => loadModel(V2, { flavor: 'bogus' }), 'E_ARGUMENT', 'flavor');
  await expectCodeAsync(() => loadModel('model.onnx'), 'E_ARGUMENT');
});

// ---------- time: crafted graphs that used to be quadratic ----------

function chainModel(nodesPerLink, links) {
  const body = [conv('c', 'input', 'w', 'x0')];
  for (let k = 0; k < links; k++) body.push(...nodesPerLink(k));
  return body;
}

test('time: 9,000-node Relu and Identity chains, a 4,000-way Add fan-in, 5,000 Slices of one tensor load in < 3 s each', async () => {
  const inits = [convInit('w', 4, 3), convInit('w0', 4, 4, 1, () => 0)];
  const cases = {
    relu: chainModel((k) => [{ name: `r${k}`, op_type: 'Relu', input: [`x${k}`], output: [`x${k + 1}`] }], 9000),
    identity: chainModel((k) => [{ name: `i${k}`, op_type: 'Identity', input: [`x${k}`], output: [`x${k + 1}`] }], 9000),
    // conv + Add pairs: each Add is fused into the conv (the fuse pass used to be quadratic)
    residual: chainModel((k) => [conv(`c${k}`, `x${k}`, 'w0', `y${k}`), { name: `a${k}`, op_type: 'Add', input: [`x${k}`, `y${k}`], output: [`x${k + 1}`] }], 4500),
  };
  // fan-in: 4000 Relus of one tensor, all alive until a chain of Adds joins them
  const fan = [conv('c', 'input', 'w', 'x')];
  for (let k = 0; k < 4000; k++) fan.push({ name: `r${k}`, op_type: 'Relu', input: ['x'], output: [`r${k}`] });
  fan.push({ name: 'a1', op_type: 'Add', input: ['r0', 'r1'], output: ['a1'] });
  for (let k = 2; k < 4000; k++) fan.push({ name: `a${k}`, op_type: 'Add', input: [`a${k - 1}`, `r${k}`], output: [`a${k}`] });
  // 5000 Slices of one tensor (grouped into one split: the grouping used to be quadratic)
  const slices = [conv('c', 'input', 'w', 'x')];
  const sInits = [];
  for (let k = 0; k < 4999; k++) slices.push({ name: `s${k}`, op_type: 'Slice', input: ['x', 'st', 'en', 'ax'], output: [`s${k}`] });
  slices.push({ name: 'sl', op_type: 'Slice', input: ['x', 'st', 'en', 'ax'], output: ['z'] });
  sInits.push({ name: 'st', dims: [1], data_type: 7, int64_data: [0] }, { name: 'en', dims: [1], data_type: 7, int64_data: [2] }, { name: 'ax', dims: [1], data_type: 7, int64_data: [1] });
  const models = [
    ['relu', classifier(cases.relu, 'x9000', 4, inits)],
    ['identity', classifier(cases.identity, 'x9000', 4, inits)],
    ['residual', classifier(cases.residual, 'x4500', 4, inits)],
    ['fan-in', classifier(fan, 'a3999', 4, inits)],
    ['slices', classifier(slices, 'z', 2, [...inits, ...sInits])],
  ];
  const times = [];
  for (const [name, bytes] of models) {
    const t0 = performance.now();
    const m = await loadModel(bytes, { inputSize: 32 }); // the plan for inputSize is made at load
    const out = m.run(inputOf(32, 32), [1, 3, 32, 32]);
    const ms = performance.now() - t0;
    m.dispose();
    assert.is(out.length, 2);
    assert.ok(out.every(Number.isFinite), name);
    assert.ok(ms < 3000, `${name}: ${ms.toFixed(0)} ms`);
    times.push(`${name} ${ms.toFixed(0)} ms`);
  }
  console.log(`    load + first inference: ${times.join(', ')}`);
});

// ---------- inputs ----------

test('inputs: wrong type, length, rank, channels, batch, sizes -> E_ARGUMENT / E_SHAPE', async () => {
  const m = await loadModel(V2, { warmup: 0, inputSize: 32 });
  const x = inputOf(32, 32);
  expectCode(() => m.run(Array.from(x), [1, 3, 32, 32]), 'E_ARGUMENT', 'Float32Array');
  expectCode(() => m.run(new Float64Array(x), [1, 3, 32, 32]), 'E_ARGUMENT');
  expectCode(() => m.run(null), 'E_ARGUMENT');
  expectCode(() => m.run(x.subarray(1), [1, 3, 32, 32]), 'E_SHAPE', '3071');
  expectCode(() => m.run(x.subarray(1)), 'E_SHAPE', 'pass shape');
  expectCode(() => m.run(x, [3, 32, 32]), 'E_SHAPE', 'shape must be');
  expectCode(() => m.run(x, [1, 1, 3, 32, 32]), 'E_SHAPE');
  expectCode(() => m.run(x, [1, 4, 32, 24]), 'E_SHAPE', 'channels');
  expectCode(() => m.run(new Float32Array(0), [0, 3, 32, 32]), 'E_SHAPE', 'batch');
  expectCode(() => m.run(x, [0.5, 3, 64, 64]), 'E_SHAPE');
  expectCode(() => m.run(x, [1, 3, NaN, 32]), 'E_SHAPE');
  expectCode(() => m.run(new Float32Array(3 * 15 * 15), [1, 3, 15, 15]), 'E_SHAPE', '16x16');
  const two = new Float32Array(2 * x.length); two.set(x); two.set(x, x.length);
  const out2 = m.run(two, [2, 3, 32, 32]);
  assert.ok(sameBits(out2.subarray(0, 1000), m.run(x, [1, 3, 32, 32])));
  assert.ok(sameBits(out2.subarray(1000), out2.subarray(0, 1000)));
  // summary() and profile() take sizes too: a NaN or fractional size once poisoned the
  // allocator (every later address NaN, i.e. 0 inside wasm)
  const before = m.run(x, [1, 3, 32, 32]);
  for (const bad of [NaN, 2.5, '32', -1, 15, Infinity]) {
    expectCode(() => m.summary({ height: bad, width: 32 }), 'E_SHAPE', 'height');
    expectCode(() => m.profile({ height: 32, width: bad, runs: 1 }), 'E_SHAPE', 'width');
  }
  expectCode(() => m.summary({ height: 4097, width: 32 }), 'E_LIMIT');
  for (const runs of [0, -1, NaN, 1.5]) expectCode(() => m.profile({ runs }), 'E_ARGUMENT', 'runs');
  assert.ok(sameBits(m.run(x, [1, 3, 32, 32]), before), 'the model still runs, with the same bits');
  m.dispose();
});

test('inputs: non-finite values are rejected (E_ARGUMENT naming the position)', async () => {
  // Unchecked, an isolated NaN would be dropped by ReLU / max pooling (finite but changed
  // logits: a silently wrong answer) and an infinity would turn every logit NaN.
  const m = await loadModel(V2, { warmup: 0, inputSize: 32 });
  const x = inputOf(32, 32);
  const before = m.run(x, [1, 3, 32, 32]);
  for (const v of [NaN, Infinity, -Infinity]) {
    const y = x.slice(); y[1024 + 5 * 32 + 7] = v;
    expectCode(() => m.run(y, [1, 3, 32, 32]), 'E_ARGUMENT', String(v), 'channel 1, y 5, x 7', 'finite');
  }
  const batch = new Float32Array(2 * x.length); batch.set(x); batch.set(x, x.length); batch[x.length + 3] = NaN;
  expectCode(() => m.run(batch, [2, 3, 32, 32]), 'E_ARGUMENT', 'image 1');
  expectCode(() => m.run(new Float32Array(3 * 32 * 32).fill(NaN), [1, 3, 32, 32]), 'E_ARGUMENT');
  // every lane position and the scalar tail (3 x 17 x 19 = 969 values, not a multiple of 4)
  const odd = inputOf(17, 19);
  for (const i of [0, 1, 2, 3, 4, 5, 6, 7, 963, 964, 965, 966, 967, 968]) {
    const y = odd.slice(); y[i] = i % 2 ? -Infinity : NaN;
    expectCode(() => m.run(y, [1, 3, 17, 19]), 'E_ARGUMENT', `at index ${i} `);
  }
  // 3.4e38 is finite: accepted (the logits may overflow, which is that network's answer)
  const big = x.slice(); big[0] = 3.4e38;
  assert.is(m.run(big, [1, 3, 32, 32]).length, 1000);
  assert.ok(sameBits(before, m.run(x, [1, 3, 32, 32])), 'the model is unaffected');
  m.dispose();
});

test('inputs: classify() — zero-sized and huge images, 1-, 3- and 4-channel images', async () => {
  const m = await loadModel(V2, { warmup: 0, inputSize: 32 });
  expectCode(() => m.classify({ data: new Uint8Array(0), width: 0, height: 0 }), 'E_SHAPE', 'empty');
  expectCode(() => m.classify({ data: new Uint8Array(0), width: 10, height: 0, channels: 3 }), 'E_SHAPE');
  expectCode(() => m.classify({ data: new Uint8Array(10), width: 100000, height: 100000, channels: 1 }), 'E_LIMIT');
  expectCode(() => m.classify({ data: new Uint8Array(10), width: 3, height: 3, channels: 2 }), 'E_ARGUMENT', 'channels');
  expectCode(() => m.classify({ data: new Uint8Array(10), width: 3, height: 3, channels: 3 }), 'E_SHAPE', 'length');
  expectCode(() => m.classify({ data: new Float32Array(27), width: 3, height: 3 }), 'E_ARGUMENT');
  expectCode(() => m.classify(null), 'E_ARGUMENT');
  const w = 61, h = 47;
  const grey = new Uint8Array(w * h), rgb = new Uint8Array(w * h * 3), rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const v = (i * 37 + (i >> 5) * 11) & 255;
    grey[i] = v; rgb.set([v, v, v], 3 * i); rgba.set([v, v, v, (i * 13) & 255], 4 * i);
  }
  const a = m.classify({ data: grey, width: w, height: h, channels: 1 }, { topk: 5 });
  const b = m.classify({ data: rgb, width: w, height: h }, { topk: 5 });
  const c = m.classify({ data: rgba, width: w, height: h }, { topk: 5 });
  assert.equal(a, b, 'grey = the same image as RGB');
  assert.equal(c, b, 'RGBA with any alpha = RGB');
  assert.is(a.length, 5);
  assert.ok(a.every((r) => Number.isFinite(r.probability) && r.probability >= 0 && r.probability <= 1));
  // a 1x1 image is upscaled, not rejected
  assert.is(m.classify({ data: Uint8Array.of(1, 2, 3), width: 1, height: 1 }, { topk: 1 }).length, 1);
  m.dispose();
});

test('dispose: every later call throws E_DISPOSED; the wasm memory and the weights are released', async () => {
  const m = await loadModel(V2, { warmup: 0, inputSize: 32 });
  const x = inputOf(32, 32);
  m.run(x, [1, 3, 32, 32]);
  assert.ok(m.memoryBytes > 0);
  const memory = new WeakRef(m.kernels.memory); // TypeScript-private, reachable in JS
  const weight = new WeakRef(m.graph.nodes.find((n) => n.op === 'conv').weight);
  m.dispose();
  m.dispose(); // twice is fine
  expectCode(() => m.run(x, [1, 3, 32, 32]), 'E_DISPOSED');
  expectCode(() => m.run(new Float32Array(1)), 'E_DISPOSED'); // before the shape check
  expectCode(() => m.classify({ data: new Uint8Array(3 * 32 * 32), width: 32, height: 32 }), 'E_DISPOSED');
  expectCode(() => m.summary(), 'E_DISPOSED');
  expectCode(() => m.profile({ runs: 1 }), 'E_DISPOSED');
  expectCode(() => m.flavor, 'E_DISPOSED');
  assert.is(m.memoryBytes, 0);
  assert.is(m.classes, 1000);
  for (let i = 0; i < 5 && (memory.deref() || weight.deref()); i++) {
    await new Promise((r) => setTimeout(r, 10));
    gc();
  }
  assert.is(memory.deref(), undefined, 'the wasm memory was collected');
  assert.is(weight.deref(), undefined, 'the layer weights were collected');
});

// ---------- memory over many inferences ----------

test('memory: 10,000 inferences (v2 0.5x, 32x32) keep wasm memory and the JS heap flat, in < 30 s', async () => {
  const m = await buildModel({ arch: 'v2', width: 0.5, warmup: 0, inputSize: 32 });
  const xs = [inputOf(32, 32, 1), inputOf(32, 32, 2)];
  const first = m.run(xs[0], [1, 3, 32, 32]);
  const wasm0 = m.memoryBytes;
  for (let i = 0; i < 200; i++) m.run(xs[i & 1], [1, 3, 32, 32]); // let the JIT settle
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  let last;
  for (let i = 0; i < 10000; i++) last = m.run(xs[i & 1], [1, 3, 32, 32]);
  const seconds = (performance.now() - t0) / 1000;
  gc();
  const heapGrowth = process.memoryUsage().heapUsed - heap0;
  assert.is(m.memoryBytes, wasm0, 'wasm memory unchanged');
  assert.ok(heapGrowth < 1 << 20, `JS heap grew ${heapGrowth} bytes`);
  assert.ok(sameBits(last, m.run(xs[1], [1, 3, 32, 32])));
  assert.ok(sameBits(first, m.run(xs[0], [1, 3, 32, 32])), 'the 10,001st result equals the first');
  assert.ok(seconds < 30, `${seconds.toFixed(1)} s`);
  console.log(`    10,000 inferences in ${seconds.toFixed(1)} s, wasm ${wasm0} bytes, heap growth ${heapGrowth} bytes`);
  m.dispose();
});

test('memory: input sizes beyond the plan cache reuse the arena (wasm memory stops growing)', async () => {
  // the cache keeps 4 plans; cycling through 6 sizes settles at the largest 4-plan set
  const m = await buildModel({ arch: 'v2', width: 0.5, warmup: 0, inputSize: 32 });
  const sizes = [16, 24, 32, 40, 48, 56];
  for (let r = 0; r < 2; r++) for (const s of sizes) m.run(inputOf(s, s), [1, 3, s, s]);
  const after = m.memoryBytes;
  for (let r = 0; r < 10; r++) for (const s of r & 1 ? [...sizes].reverse() : sizes) m.run(inputOf(s, s), [1, 3, s, s]);
  assert.is(m.memoryBytes, after);
  m.dispose();
});

// ---------- isolation and determinism ----------

test('isolation: several models alive and interleaved give the same bits as each alone', async () => {
  const specs = [
    ['qdq', () => loadModel(QDQ, { warmup: 0, inputSize: 32 })],
    ['v2', () => loadModel(V2, { warmup: 0, inputSize: 32 })],
    ['v1', () => buildModel({ arch: 'v1', width: 0.25, groups: 3, warmup: 0, inputSize: 32 })],
    ['v2 seed 7', () => buildModel({ arch: 'v2', width: 0.5, seed: 7, warmup: 0, inputSize: 32 })],
  ];
  const sizes = [[32, 32], [17, 40], [48, 24]];
  const alone = new Map();
  for (const [name, make] of specs) {
    const m = await make();
    for (const [h, w] of sizes) alone.set(`${name} ${h}x${w}`, m.run(inputOf(h, w, h), [1, 3, h, w]));
    m.dispose();
  }
  const models = await Promise.all(specs.map(([, make]) => make()));
  for (let r = 0; r < 3; r++) {
    for (const [h, w] of r === 1 ? [...sizes].reverse() : sizes) {
      models.forEach((m, i) => {
        const got = m.run(inputOf(h, w, h), [1, 3, h, w]);
        assert.ok(sameBits(got, alone.get(`${specs[i][0]} ${h}x${w}`)), `${specs[i][0]} at ${h}x${w}, round ${r}`);
      });
    }
  }
  for (const m of models) m.dispose();
});

test('determinism: the same input gives bit-identical logits, across runs, sizes and fresh models', async () => {
  const x = inputOf(40, 40, 9);
  const a = await loadModel(QDQ, { warmup: 0, inputSize: 40 });
  const r1 = a.run(x, [1, 3, 40, 40]);
  a.run(inputOf(64, 48, 3), [1, 3, 64, 48]);
  a.profile({ height: 24, width: 24, runs: 2 });
  const r2 = a.run(x, [1, 3, 40, 40]);
  a.dispose();
  const b = await loadModel(QDQ, { warmup: 3, inputSize: 40 });
  const r3 = b.run(x, [1, 3, 40, 40]);
  b.dispose();
  assert.ok(sameBits(r1, r2));
  assert.ok(sameBits(r1, r3));
});

test('determinism: simd vs relaxed-simd builds (child process with --experimental-wasm-relaxed-simd)', () => {
  const script = `
    import { buildModel, loadModel } from ${JSON.stringify(new URL('../dist/esm/src/index.js', import.meta.url).href)};
    import { readFileSync } from 'node:fs';
    const qdq = readFileSync(${JSON.stringify(dataPath('models/shufflenet-v2-12-qdq.onnx'))});
    const out = {};
    for (const [name, make] of [
      ['v2 1.0x', (flavor) => buildModel({ arch: 'v2', width: 1, flavor, warmup: 0 })],
      ['v1 1.0x g3', (flavor) => buildModel({ arch: 'v1', width: 1, groups: 3, flavor, warmup: 0 })],
      ['zoo qdq', (flavor) => loadModel(qdq, { flavor, warmup: 0 })],
    ]) {
      const s = await make('simd'), r = await make('relaxed');
      let maxDiff = 0, maxAbs = 0, same = 0, top1 = 0;
      for (let k = 0; k < 4; k++) {
        let a = 1 + k;
        const x = new Float32Array(3 * 224 * 224).map(() => { a = (Math.imul(a, 1664525) + 1013904223) >>> 0; return a / 2 ** 31 - 1; });
        const ys = s.run(x), yr = r.run(x);
        for (let i = 0; i < ys.length; i++) { maxDiff = Math.max(maxDiff, Math.abs(ys[i] - yr[i])); maxAbs = Math.max(maxAbs, Math.abs(ys[i])); if (ys[i] === yr[i]) same++; }
        const arg = (y) => y.indexOf(Math.max(...y));
        if (arg(ys) === arg(yr)) top1++;
      }
      out[name] = { flavors: [s.flavor, r.flavor], maxDiff, maxAbs, relative: maxDiff / maxAbs, identical: same / 4000, top1Agree: top1 / 4 };
      s.dispose(); r.dispose();
    }
    console.log(JSON.stringify(out));
  `;
  const res = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120000 });
  assert.is(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout.trim().split('\n').pop());
  for (const [name, r] of Object.entries(out)) {
    console.log(`    ${name}: simd vs relaxed max |diff| ${r.maxDiff.toExponential(2)} (relative ${r.relative.toExponential(2)} of max |logit| ${r.maxAbs.toFixed(2)}), identical ${(100 * r.identical).toFixed(1)}%, top-1 agree ${r.top1Agree * 4}/4`);
    assert.equal(r.flavors, ['simd', 'relaxed']);
    assert.ok(r.relative < 1e-4, `${name}: relative difference ${r.relative}`);
    assert.is(r.top1Agree, 1);
  }
});

test.run();
