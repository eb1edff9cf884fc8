// Fuzzer for the model-loading and inference path: a model file is untrusted input.
//
//   npm run fuzz -- [--cases N] [--seed S] [--workers W] [--timeout MS] [--size 32]
//                   [--bases qdq,v2,v2alt,v1,v1alt] [--mix bytes:30,fields:45,stress:5,neutral:10,api:10]
//                   [--case I] [--dump DIR] [--json FILE] [--quiet]
//
// Every case is generated from (seed, case index) alone, so any case can be replayed with
// `--case I` (same --seed), which runs it in this process and prints the mutation and the
// outcome with its stack (`--dump DIR` also writes the mutated file). Cases run in worker
// threads; the main thread holds a timer per case (--timeout, default 2000 ms) and terminates
// the worker when it expires, so a hang is detected, not suffered. A case that timed out is
// run again alone, at the end, with 5x the limit: still no result is a hang; a result makes
// it 'slow' (listed, not a failure: the machine was busy). A worker that dies (an uncaught
// error, the 2 GiB heap limit) counts as a crash.
//
// Base models: the ONNX zoo ShuffleNet v2 int8 QDQ file (tests' shared fixtures), and graphs
// from writeOnnx(buildGraph(...)): v2 0.5x and v1 g=3 0.25x, each in the default export form
// (opset 13, symbolic H/W, so Reshape targets come from Shape/Slice/Concat arithmetic) and in
// an alternative form (v2alt, v1alt: 100 classes, Slice splits, MatMul head, ReduceMean pool,
// unfolded BatchNorm, constant shapes, opsets 18 and 11). Inputs: 32x32 mostly, also 16x16,
// 17x29, 24x40, 33x33.
//
// Mutations:
//   bytes       bit flips (anywhere / outside weight payloads), byte overwrites with boundary
//               values, truncation, insertion, deletion, duplication of a chunk
//   fields      decode with the package's protobuf schema, change 1 to 6 fields, re-encode:
//               node op types, inputs (dangling, self-cycles, cycles), outputs (duplicate
//               producers), attributes (values, types, removal, foreign ones), initializer
//               dims (0, -1, huge, more/fewer), data types, data lengths (raw and typed, both
//               at once), names (missing / duplicate initializers), external data, non-finite
//               or huge weight values, graph inputs / outputs, opsets, domains, Constant nodes
//               with huge tensors, shape vectors; and changes that keep the model well-formed
//               with layouts the base never had: another group count for a Conv (with weights
//               to match), another channel-shuffle group count, other strides
//   stress      up to 12,000 added nodes: Relu / Identity chains, wide fan-outs joined by Add,
//               Concat(x, x) doubling chains, shape-arithmetic doubling chains, 12,000
//               initializers
//   neutral     rename every tensor, shuffle the node order, insert Identity nodes, add dead
//               nodes / unused initializers / metadata: the model must load and give the
//               same logits as the unmutated base (|diff| <= 1e-4 x max|logit|)
//   api         the loaded base model called with bad shapes, types, images and options
//
// Each case must end, within the time limit, in a ShuffleNetError or in a result:
//   - logits: N x classes values, bit-identical when the same input is run again after
//     another input (no state leaks between inferences);
//   - equal to the plain-JS reference evaluator (tests/ir-reference.mjs, float64 sums) run on
//     the same graph, within 1e-3 x max(1, max |logit|), whenever the weights are moderate
//     (max |w| < 1e3);
//   - non-finite logits are accepted only when the loaded model has extreme weights
//     (max |w| >= 1e6, e.g. a bit flip in an exponent): float32 then overflows, which is the
//     correct result of that network. Non-finite weights themselves are rejected at load
//     (E_ONNX_PARSE), so NaN never enters silently from the file.
// Failures (the exit status is 1 if any): crash, hang, untyped (any exception that is not a
// ShuffleNetError: TypeError, RangeError, WebAssembly.RuntimeError...), wrong (an oracle
// above violated, or a neutral mutation rejected), memory (a case that held > 1 GiB of wasm
// memory or JS heap).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import v8 from 'node:v8';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'dist', 'esm');

// ---------------------------------------------------------------- options

function parseArgs(argv) {
  const o = { cases: 1000, seed: 1, workers: Math.max(1, Math.min(2, availableParallelism?.() ?? cpus().length)), timeout: 2000, size: 32, bases: 'qdq,v2,v2alt,v1,v1alt', case: undefined, dump: undefined, json: undefined, quiet: false, mix: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    if (a === '--cases') o.cases = Number(val());
    else if (a === '--seed') o.seed = Number(val());
    else if (a === '--workers') o.workers = Number(val());
    else if (a === '--timeout') o.timeout = Number(val());
    else if (a === '--size') o.size = Number(val());
    else if (a === '--bases') o.bases = val();
    else if (a === '--case') o.case = Number(val());
    else if (a === '--dump') o.dump = val();
    else if (a === '--json') o.json = val();
    else if (a === '--mix') o.mix = val();
    else if (a === '--quiet') o.quiet = true;
    else if (a === '--help' || a === '-h') { console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(0, 14).join('\n')); process.exit(0); }
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['cases', 'seed', 'workers', 'timeout', 'size']) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new Error(`--${k} must be a non-negative integer`);
  }
  return o;
}

// ---------------------------------------------------------------- random

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function caseRng(seed, i) {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  const r = mulberry32(h);
  const R = {
    f: r,
    int: (n) => Math.floor(r() * n),
    range: (a, b) => a + Math.floor(r() * (b - a + 1)),
    pick: (arr) => arr[Math.floor(r() * arr.length)],
    chance: (p) => r() < p,
    weighted: (table) => {
      const total = table.reduce((s, [, w]) => s + w, 0);
      let x = r() * total;
      for (const [v, w] of table) { if ((x -= w) < 0) return v; }
      return table[table.length - 1][0];
    },
  };
  return R;
}

const INTS = [0, 1, -1, 2, 3, 4, 5, 7, 8, 16, 24, 255, 256, 1023, 1024, 65535, 65536, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 2 ** 40, 2 ** 53, -(2 ** 53), 2 ** 62, -(2 ** 62)];
const FLOATS = [0, -0, 1, -1, 0.5, 2, 1e-5, 1e-45, 1e-38, 1e30, 3.4e38, -3.4e38, NaN, Infinity, -Infinity];
const OPS = ['Conv', 'BatchNormalization', 'Relu', 'Clip', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'ReduceMean', 'Flatten',
  'Reshape', 'Squeeze', 'Unsqueeze', 'Transpose', 'Gemm', 'MatMul', 'Add', 'Concat', 'Split', 'Slice', 'Identity', 'Dropout',
  'Cast', 'Constant', 'Shape', 'Gather', 'Mul', 'Div', 'Sub', 'QuantizeLinear', 'DequantizeLinear',
  'Sigmoid', 'Loop', 'If', 'Softmax', '', 'conv', 'Conv '];
const ATTR_NAMES = ['group', 'axis', 'kernel_shape', 'strides', 'pads', 'dilations', 'perm', 'split', 'num_outputs', 'epsilon', 'transA',
  'transB', 'alpha', 'beta', 'keepdims', 'allowzero', 'to', 'auto_pad', 'ceil_mode', 'count_include_pad', 'start', 'end', 'value',
  'value_int', 'value_ints', 'value_float', 'value_floats', 'training_mode', 'block_size', 'min', 'max', 'axes', 'starts', 'ends'];
const DTYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 99, -1];
const A = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 };

// ---------------------------------------------------------------- the library (loaded lazily)

let lib;
async function loadLib() {
  if (lib) return lib;
  const index = await import(path.join(dist, 'src', 'index.js'));
  const read = await import(path.join(dist, 'src', 'onnx', 'read.js'));
  const schema = await import(path.join(dist, 'src', 'onnx', 'schema.js'));
  const write = await import(path.join(dist, 'src', 'onnx', 'write.js'));
  const data = await import(path.join(here, '..', 'tests', 'data.mjs'));
  const reference = await import(path.join(here, '..', 'tests', 'ir-reference.mjs'));
  lib = { ...index, writeOnnx: write.writeOnnx, parseOnnx: read.parseOnnx, encodeModelProto: schema.encodeModelProto, dataPath: data.dataPath, evaluateGraph: reference.evaluateGraph };
  return lib;
}

// ---------------------------------------------------------------- bases

const BASES = {
  qdq: (L) => new Uint8Array(readFileSync(L.dataPath('models/shufflenet-v2-12-qdq.onnx'))),
  v2: (L) => L.writeOnnx(L.buildGraph({ arch: 'v2', width: 0.5 })),
  v2alt: (L) => L.writeOnnx(L.buildGraph({ arch: 'v2', width: 0.5, classes: 100, seed: 2 }),
    { splitAs: 'Slice', headAs: 'MatMul', poolAs: 'ReduceMean', unfoldBatchNorm: true, height: 32, width: 32, opset: 18, batch: 1 }),
  v1: (L) => L.writeOnnx(L.buildGraph({ arch: 'v1', width: 0.25, groups: 3 })),
  v1alt: (L) => L.writeOnnx(L.buildGraph({ arch: 'v1', width: 0.25, groups: 3, classes: 100, seed: 3 }),
    { poolAs: 'ReduceMeanKeepDims', headAs: 'MatMul', opset: 11, height: 32, width: 32 }),
};

class Base {
  constructor(name, bytes, L) {
    this.name = name;
    this.bytes = bytes;
    this.proto = L.parseOnnx(bytes);
    // byte ranges of weight payloads (raw_data views into `bytes`): "structure" is the rest
    const payload = [];
    for (const t of this.proto.graph.initializer) {
      if (t.raw_data && t.raw_data.byteLength > 16 && t.raw_data.buffer === bytes.buffer) {
        payload.push([t.raw_data.byteOffset - bytes.byteOffset, t.raw_data.byteOffset - bytes.byteOffset + t.raw_data.byteLength]);
      }
    }
    payload.sort((a, b) => a[0] - b[0]);
    this.structure = [];
    let at = 0;
    for (const [s, e] of payload) { if (s > at) this.structure.push([at, s]); at = Math.max(at, e); }
    if (at < bytes.length) this.structure.push([at, bytes.length]);
    this.structureBytes = this.structure.reduce((s, [a, b]) => s + b - a, 0);
    this.logits = new Map(); // input size -> reference logits
    this.model = undefined; // loaded once, for api cases
  }
  structuralOffset(R) {
    let x = R.int(this.structureBytes);
    for (const [a, b] of this.structure) { if (x < b - a) return a + x; x -= b - a; }
    return R.int(this.bytes.length);
  }
  async reference(L, h, w) {
    const key = `${h}x${w}`;
    let r = this.logits.get(key);
    if (!r) {
      const m = await L.loadModel(this.bytes, { warmup: 0, inputSize: 32 });
      r = m.run(inputFor(h, w), [1, 3, h, w]);
      m.dispose();
      this.logits.set(key, r);
    }
    return r;
  }
}

const baseCache = new Map();
async function getBase(name) {
  const L = await loadLib();
  let b = baseCache.get(name);
  if (!b) {
    if (!BASES[name]) throw new Error(`unknown base ${name}`);
    b = new Base(name, BASES[name](L), L);
    baseCache.set(name, b);
  }
  return b;
}

const inputs = new Map();
function inputFor(h, w = h, salt = 0) {
  const key = `${h}x${w}:${salt}`;
  let x = inputs.get(key);
  if (!x) {
    const r = mulberry32(1234 + h * 7919 + w * 31 + salt);
    x = new Float32Array(3 * h * w);
    for (let i = 0; i < x.length; i++) x[i] = (r() + r() + r() - 1.5) * 1.5;
    inputs.set(key, x);
  }
  return x;
}

// ---------------------------------------------------------------- proto helpers (copy on write)

function editable(proto) {
  const g = proto.graph;
  return {
    ...proto,
    opset_import: proto.opset_import.map((o) => ({ ...o })),
    metadata_props: [...proto.metadata_props],
    graph: { ...g, node: [...g.node], initializer: [...g.initializer], input: [...g.input], output: [...g.output], value_info: [...g.value_info] },
  };
}
const cloneNode = (n) => ({ ...n, input: [...n.input], output: [...n.output], attribute: n.attribute.map((a) => ({ ...a, ints: [...a.ints], floats: [...a.floats] })) });
const cloneTensor = (t) => ({ ...t, dims: [...t.dims] });
const cloneVi = (v) => ({
  ...v,
  type: v.type && {
    ...v.type,
    tensor_type: v.type.tensor_type && {
      ...v.type.tensor_type,
      shape: v.type.tensor_type.shape && { dim: v.type.tensor_type.shape.dim.map((d) => ({ ...d })) },
    },
  },
});
function nodeAt(m, i) { m.graph.node[i] = cloneNode(m.graph.node[i]); return m.graph.node[i]; }
function initAt(m, i) { m.graph.initializer[i] = cloneTensor(m.graph.initializer[i]); return m.graph.initializer[i]; }

function encode(L, m) {
  return L.encodeModelProto(m);
}

function allTensorNames(m) {
  const s = new Set();
  for (const n of m.graph.node) { for (const x of n.input) if (x) s.add(x); for (const x of n.output) if (x) s.add(x); }
  for (const t of m.graph.initializer) if (t.name) s.add(t.name);
  for (const v of m.graph.input) if (v.name) s.add(v.name);
  return [...s];
}
/** Activation-like tensors: node outputs whose producer is not a Constant / shape op. */
function activationOutputs(m) {
  const out = [];
  m.graph.node.forEach((n, i) => {
    if (['Conv', 'Relu', 'MaxPool', 'Concat', 'Add', 'Reshape', 'AveragePool', 'DequantizeLinear'].includes(n.op_type) && n.output[0]) out.push([i, n.output[0]]);
  });
  return out;
}
function consumersOf(m, name) {
  const r = [];
  m.graph.node.forEach((n, i) => n.input.forEach((x, k) => { if (x === name) r.push([i, k]); }));
  return r;
}
function rewire(m, from, to, except) {
  m.graph.node.forEach((n, i) => {
    if (except?.has(i) || !n.input.includes(from)) return;
    const c = nodeAt(m, i);
    c.input = c.input.map((x) => (x === from ? to : x));
  });
  m.graph.output = m.graph.output.map((v) => (v.name === from ? { ...v, name: to } : v));
}
function randomAttr(R, name = R.pick(ATTR_NAMES)) {
  const t = R.pick([A.INT, A.INTS, A.FLOAT, A.FLOATS, A.STRING, A.TENSOR]);
  const a = { name, type: t, ints: [], floats: [] };
  if (t === A.INT) a.i = R.pick(INTS);
  else if (t === A.INTS) a.ints = Array.from({ length: R.range(0, 6) }, () => R.pick(INTS));
  else if (t === A.FLOAT) a.f = R.pick(FLOATS);
  else if (t === A.FLOATS) a.floats = Array.from({ length: R.range(0, 4) }, () => R.pick(FLOATS));
  else if (t === A.STRING) a.s = new TextEncoder().encode(R.pick(['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER', '', 'x'.repeat(R.range(1, 300))]));
  else a.t = randomTensor(R, `attr_${name}`);
  return a;
}
function randomTensor(R, name) {
  const dims = Array.from({ length: R.range(0, 4) }, () => (R.chance(0.8) ? R.range(0, 6) : R.pick(INTS)));
  const dt = R.pick([1, 1, 7, 7, 3, 2, 6, 11, R.pick(DTYPES)]);
  const t = { name, dims, data_type: dt, float_data: [], int32_data: [], int64_data: [], double_data: [], uint64_data: [], string_data: [], external_data: [] };
  const n = dims.every((d) => d >= 0 && d <= 64) ? dims.reduce((a, b) => a * b, 1) : R.range(0, 8);
  const size = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 11: 8 }[dt] ?? 4;
  if (R.chance(0.7)) {
    let len = n * size;
    if (R.chance(0.1)) len = Math.max(0, len + R.range(-3, 3));
    const raw = new Uint8Array(len);
    for (let i = 0; i < raw.length; i++) raw[i] = R.int(256);
    if (dt === 7) for (let i = 0; i + 8 <= len; i += 8) new DataView(raw.buffer).setBigInt64(i, BigInt(R.range(-4, 64)), true);
    t.raw_data = raw;
  } else if (dt === 1) t.float_data = Array.from({ length: n }, () => R.pick(FLOATS));
  else if (dt === 7) t.int64_data = Array.from({ length: n }, () => R.pick(INTS));
  else t.int32_data = Array.from({ length: n }, () => R.range(-3, 300));
  return t;
}

// ---------------------------------------------------------------- mutations

/** byte-level: returns new bytes */
function mutateBytes(R, base, notes) {
  const src = base.bytes;
  const kind = R.weighted([['bitflip', 3], ['bitflip-structure', 5], ['overwrite-structure', 3], ['truncate', 2], ['insert', 1], ['delete', 1], ['duplicate', 1]]);
  notes.kinds.push(`bytes:${kind}`);
  let out;
  switch (kind) {
    case 'bitflip':
    case 'bitflip-structure': {
      out = new Uint8Array(src);
      const k = R.pick([1, 1, 1, 2, 4, 8, 32]);
      for (let j = 0; j < k; j++) {
        const at = kind === 'bitflip' ? R.int(out.length) : base.structuralOffset(R);
        out[at] ^= 1 << R.int(8);
      }
      break;
    }
    case 'overwrite-structure': {
      out = new Uint8Array(src);
      const k = R.range(1, 4);
      for (let j = 0; j < k; j++) out[base.structuralOffset(R)] = R.pick([0, 0xff, 0x7f, 0x80, 0x01, R.int(256)]);
      break;
    }
    case 'truncate': {
      const at = R.chance(0.5) ? base.structuralOffset(R) : R.int(src.length);
      out = src.slice(0, at);
      break;
    }
    case 'insert': {
      const at = base.structuralOffset(R);
      const ins = Uint8Array.from({ length: R.range(1, 16) }, () => R.int(256));
      out = new Uint8Array(src.length + ins.length);
      out.set(src.subarray(0, at)); out.set(ins, at); out.set(src.subarray(at), at + ins.length);
      break;
    }
    case 'delete': {
      const at = base.structuralOffset(R), len = R.range(1, 64);
      out = new Uint8Array(src.length - Math.min(len, src.length - at));
      out.set(src.subarray(0, at)); out.set(src.subarray(at + len), at);
      break;
    }
    case 'duplicate': {
      const at = base.structuralOffset(R), len = R.range(1, 512);
      const chunk = src.subarray(at, Math.min(src.length, at + len));
      out = new Uint8Array(src.length + chunk.length);
      out.set(src.subarray(0, at + chunk.length)); out.set(chunk, at + chunk.length); out.set(src.subarray(at + chunk.length), at + 2 * chunk.length);
      break;
    }
  }
  return out;
}

/** field-level: mutates the editable proto m in place */
function mutateField(R, m, notes) {
  const g = m.graph;
  const kind = R.weighted([
    ['op_type', 3], ['node-input', 4], ['node-output', 2], ['cycle', 1], ['remove-node', 2], ['duplicate-node', 1], ['swap-nodes', 1],
    ['attr-value', 6], ['attr-remove', 2], ['attr-add', 3], ['attr-type', 1],
    ['init-dims', 5], ['init-dtype', 2], ['init-data', 3], ['init-values', 3], ['init-name', 2], ['init-remove', 2], ['external', 1],
    ['graph-input', 2], ['graph-output', 1], ['opset', 1], ['domain', 1], ['constant-node', 2], ['shape-values', 3],
    ['regroup', 4], ['reshuffle', 3], ['restride', 2],
  ]);
  notes.kinds.push(`field:${kind}`);
  const ni = () => R.int(g.node.length);
  const ii = () => R.int(g.initializer.length);
  const names = () => allTensorNames(m);
  switch (kind) {
    case 'op_type': { if (!g.node.length) break; nodeAt(m, ni()).op_type = R.pick(OPS); break; }
    case 'node-input': {
      if (!g.node.length) break;
      const n = nodeAt(m, ni());
      const choice = R.pick(['other', 'other', 'missing', 'empty', 'add', 'drop', 'self']);
      if (choice === 'add') n.input.push(R.pick(names()));
      else if (choice === 'drop' && n.input.length) n.input.splice(R.int(n.input.length), 1);
      else if (n.input.length) {
        const k = R.int(n.input.length);
        n.input[k] = choice === 'other' ? R.pick(names()) : choice === 'missing' ? `missing_${R.int(1000)}` : choice === 'self' ? (n.output[0] ?? '') : '';
      }
      break;
    }
    case 'node-output': {
      if (!g.node.length) break;
      const n = nodeAt(m, ni());
      const choice = R.pick(['dup', 'rename', 'empty', 'add', 'drop']);
      if (choice === 'add') n.output.push(R.chance(0.5) ? R.pick(names()) : `extra_${R.int(100)}`);
      else if (choice === 'drop' && n.output.length) n.output.splice(R.int(n.output.length), 1);
      else if (n.output.length) {
        const k = R.int(n.output.length);
        n.output[k] = choice === 'dup' ? R.pick(names()) : choice === 'rename' ? `renamed_${R.int(1000)}` : '';
      }
      break;
    }
    case 'cycle': {
      // a node reads the output of a node after it (or its own output)
      if (g.node.length < 2) break;
      const i = R.int(g.node.length - 1), j = R.range(i, g.node.length - 1);
      const src = g.node[j].output[0];
      const n = nodeAt(m, i);
      if (src && n.input.length) n.input[R.int(n.input.length)] = src;
      break;
    }
    case 'remove-node': { if (g.node.length) g.node.splice(ni(), R.chance(0.8) ? 1 : R.range(2, 20)); break; }
    case 'duplicate-node': { if (g.node.length) { const i = ni(); g.node.splice(R.int(g.node.length + 1), 0, cloneNode(g.node[i])); } break; }
    case 'swap-nodes': { if (g.node.length > 1) { const i = ni(), j = ni(); [g.node[i], g.node[j]] = [g.node[j], g.node[i]]; } break; }
    case 'attr-value': {
      const withAttrs = g.node.map((n, i) => i).filter((i) => g.node[i].attribute.length);
      if (!withAttrs.length) break;
      const n = nodeAt(m, R.pick(withAttrs));
      const a = n.attribute[R.int(n.attribute.length)];
      if (a.type === A.INT || a.i !== undefined) a.i = R.chance(0.5) ? R.pick(INTS) : (a.i ?? 0) + R.pick([-2, -1, 1, 2]);
      else if (a.type === A.INTS || a.ints.length) {
        const op = R.pick(['set', 'set', 'push', 'pop', 'empty', 'negate']);
        if (op === 'set' && a.ints.length) a.ints[R.int(a.ints.length)] = R.chance(0.5) ? R.pick(INTS) : a.ints[0] + R.pick([-1, 1]);
        else if (op === 'push') a.ints.push(R.pick(INTS));
        else if (op === 'pop') a.ints.pop();
        else if (op === 'empty') a.ints = [];
        else a.ints = a.ints.map((x) => -x);
      } else if (a.type === A.FLOAT || a.f !== undefined) a.f = R.pick(FLOATS);
      else if (a.type === A.FLOATS) a.floats = a.floats.map(() => R.pick(FLOATS));
      else if (a.type === A.STRING) a.s = new TextEncoder().encode(R.pick(['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER', '', 'bogus']));
      else if (a.t) { a.t = cloneTensor(a.t); a.t.dims = a.t.dims.map((d) => (R.chance(0.5) ? R.pick(INTS) : d)); }
      break;
    }
    case 'attr-remove': {
      const withAttrs = g.node.map((n, i) => i).filter((i) => g.node[i].attribute.length);
      if (!withAttrs.length) break;
      const n = nodeAt(m, R.pick(withAttrs));
      n.attribute.splice(R.int(n.attribute.length), 1);
      break;
    }
    case 'attr-add': {
      if (!g.node.length) break;
      const n = nodeAt(m, ni());
      const a = randomAttr(R);
      if (R.chance(0.5)) n.attribute = n.attribute.filter((x) => x.name !== a.name);
      n.attribute.push(a);
      break;
    }
    case 'attr-type': {
      const withAttrs = g.node.map((n, i) => i).filter((i) => g.node[i].attribute.length);
      if (!withAttrs.length) break;
      const n = nodeAt(m, R.pick(withAttrs));
      const k = R.int(n.attribute.length);
      n.attribute[k] = randomAttr(R, n.attribute[k].name);
      break;
    }
    case 'init-dims': {
      if (!g.initializer.length) break;
      const t = initAt(m, ii());
      const op = R.pick(['set', 'set', 'set', 'push', 'pop', 'empty', 'scale']);
      const d = R.int(Math.max(1, t.dims.length));
      if (op === 'set' && t.dims.length) t.dims[d] = R.chance(0.6) ? R.pick(INTS) : Math.max(0, t.dims[d] + R.pick([-1, 1]));
      else if (op === 'push') t.dims.push(R.pick([1, 1, 2, R.pick(INTS)]));
      else if (op === 'pop') t.dims.pop();
      else if (op === 'empty') t.dims = [];
      else if (t.dims.length >= 2) { const a = R.int(t.dims.length), b = R.int(t.dims.length); t.dims[a] *= 2; t.dims[b] = Math.floor(t.dims[b] / 2); }
      break;
    }
    case 'init-dtype': { if (g.initializer.length) initAt(m, ii()).data_type = R.pick(DTYPES); break; }
    case 'init-data': {
      if (!g.initializer.length) break;
      const t = initAt(m, ii());
      const op = R.pick(['truncate', 'extend', 'empty', 'to-typed', 'both']);
      const raw = t.raw_data ?? new Uint8Array(0);
      if (op === 'truncate') t.raw_data = raw.subarray(0, R.int(raw.length + 1));
      else if (op === 'extend') { const r = new Uint8Array(raw.length + R.range(1, 64)); r.set(raw); t.raw_data = r; }
      else if (op === 'empty') { t.raw_data = new Uint8Array(0); t.float_data = []; t.int32_data = []; t.int64_data = []; }
      else if (op === 'to-typed') { t.raw_data = new Uint8Array(0); t.float_data = Array.from({ length: Math.min(R.pick([0, 1, 7, raw.length >> 2]), 4096) }, () => R.f()); }
      else { t.float_data = [1, 2, 3]; t.int64_data = [1]; }
      break;
    }
    case 'init-values': {
      // non-finite or extreme weight values inside a float payload
      const floats = g.initializer.map((t, i) => i).filter((i) => g.initializer[i].data_type === 1 && g.initializer[i].raw_data?.length >= 4);
      if (!floats.length) break;
      const t = initAt(m, R.pick(floats));
      const raw = new Uint8Array(t.raw_data);
      const dv = new DataView(raw.buffer);
      const k = R.range(1, 3);
      for (let j = 0; j < k; j++) dv.setFloat32(4 * R.int(raw.length >> 2), R.pick([NaN, Infinity, -Infinity, 3.4e38, -1e30, 1e-45, 0]), true);
      t.raw_data = raw;
      break;
    }
    case 'init-name': {
      if (!g.initializer.length) break;
      const t = initAt(m, ii());
      t.name = R.pick([`renamed_${R.int(100)}`, '', g.initializer[ii()].name, R.pick(names())]);
      break;
    }
    case 'init-remove': { if (g.initializer.length) g.initializer.splice(ii(), 1); break; }
    case 'external': {
      if (!g.initializer.length) break;
      const t = initAt(m, ii());
      if (R.chance(0.5)) t.data_location = 1;
      if (R.chance(0.7)) t.external_data = [{ key: 'location', value: '../../etc/passwd' }, { key: 'offset', value: '0' }, { key: 'length', value: String(R.pick(INTS)) }];
      if (R.chance(0.5)) t.raw_data = new Uint8Array(0);
      break;
    }
    case 'graph-input': {
      const op = R.pick(['dims', 'dims', 'elem', 'remove', 'add', 'rename', 'rank']);
      if (!g.input.length) { g.input.push({ name: 'x' }); break; }
      const k = R.int(g.input.length);
      const v = g.input[k] = cloneVi(g.input[k]);
      const tt = v.type?.tensor_type;
      if (op === 'dims' && tt?.shape?.dim.length) {
        const d = tt.shape.dim[R.int(tt.shape.dim.length)];
        if (R.chance(0.7)) { delete d.dim_param; d.dim_value = R.pick(INTS); } else { delete d.dim_value; d.dim_param = R.pick(['N', 'H', '', 'x y']); }
      } else if (op === 'elem' && tt) tt.elem_type = R.pick(DTYPES);
      else if (op === 'remove') g.input.splice(k, 1);
      else if (op === 'add') g.input.push({ ...cloneVi(v), name: R.chance(0.5) ? `input_${R.int(9)}` : v.name });
      else if (op === 'rename') v.name = R.pick(['', 'renamed_input', R.pick(names())]);
      else if (op === 'rank' && tt?.shape) { if (R.chance(0.5)) tt.shape.dim.pop(); else tt.shape.dim.push({ dim_value: R.pick(INTS) }); }
      break;
    }
    case 'graph-output': {
      const op = R.pick(['rename', 'remove', 'add']);
      if (op === 'rename' && g.output.length) g.output[0] = { ...g.output[0], name: R.pick(['', 'nope', R.pick(names())]) };
      else if (op === 'remove' && g.output.length) g.output.splice(0, 1);
      else g.output.push({ name: R.pick(names()) });
      break;
    }
    case 'opset': {
      const op = R.pick(['version', 'version', 'domain', 'remove', 'add', 'ir']);
      if (op === 'version' && m.opset_import.length) m.opset_import[0].version = R.pick([1, 7, 8, 9, 10, 11, 12, 13, 14, 17, 18, 19, 21, 22, 100, -1, 2 ** 40]);
      else if (op === 'domain' && m.opset_import.length) m.opset_import[0].domain = R.pick(['com.microsoft', 'ai.onnx.ml', 'ai.onnx', '']);
      else if (op === 'remove') m.opset_import = [];
      else if (op === 'add') m.opset_import.push({ domain: '', version: R.pick([9, 13, 99]) });
      else m.ir_version = R.pick(INTS);
      break;
    }
    case 'domain': { if (g.node.length) nodeAt(m, ni()).domain = R.pick(['com.microsoft', 'ai.onnx', 'ai.onnx.ml', '']); break; }
    case 'constant-node': {
      const name = R.chance(0.5) ? R.pick(names()) : `const_${R.int(100)}`;
      const t = randomTensor(R, name);
      if (R.chance(0.3)) t.dims = [R.pick([1 << 20, 1 << 25, 2 ** 31, 2 ** 40]), R.pick([1, 64, 1024])];
      const attr = R.chance(0.8) ? { name: 'value', type: A.TENSOR, t, ints: [], floats: [] } : randomAttr(R, R.pick(['value_ints', 'value_int', 'value_float', 'value_floats', 'sparse_value']));
      g.node.splice(R.int(g.node.length + 1), 0, { name: `c${R.int(99)}`, op_type: 'Constant', input: [], output: [name], attribute: [attr] });
      break;
    }
    case 'regroup': {
      // a Conv with FLOAT initializer weights gets another group count, with weights of the
      // matching shape (1x1: any divisor of the channels; 3x3: depthwise <-> dense): still a
      // well-formed model, with channel layouts the base never had
      const inits = new Map(g.initializer.map((t, k) => [t.name, k]));
      const convs = g.node.map((n, k) => k).filter((k) => g.node[k].op_type === 'Conv' && inits.has(g.node[k].input[1])
        && g.initializer[inits.get(g.node[k].input[1])].data_type === 1 && g.initializer[inits.get(g.node[k].input[1])].dims.length === 4);
      if (!convs.length) break;
      const k = R.pick(convs);
      const n = nodeAt(m, k);
      const wi = inits.get(n.input[1]);
      const [cout, cinG, kh] = g.initializer[wi].dims;
      const group = n.attribute.find((a) => a.name === 'group')?.i ?? 1;
      const cin = cinG * group;
      let g2;
      if (kh === 1) {
        const divs = [];
        for (let d = 1; d <= Math.min(cin, cout); d++) if (cin % d === 0 && cout % d === 0 && d !== group) divs.push(d);
        if (!divs.length) break;
        g2 = R.pick(divs);
      } else if (group === 1 && cin === cout) g2 = cin;
      else if (group === cin && cin === cout) g2 = 1;
      else break;
      const fanIn = (cin / g2) * kh * kh;
      const scale = Math.sqrt(2 / fanIn);
      const w = new Float32Array(cout * fanIn).map(() => (R.f() * 2 - 1) * scale);
      // a new initializer: others may share the old one
      const t = { ...cloneTensor(g.initializer[wi]), name: `${g.initializer[wi].name}_g${g2}_${R.int(1e6)}`, dims: [cout, cin / g2, kh, kh], raw_data: new Uint8Array(w.buffer), float_data: [] };
      g.initializer.push(t);
      n.input[1] = t.name;
      n.attribute = n.attribute.filter((a) => a.name !== 'group');
      n.attribute.push({ name: 'group', type: A.INT, i: g2, ints: [], floats: [] });
      break;
    }
    case 'reshuffle': {
      // the 5-D Reshape of a channel shuffle [N, g, C/g, H, W] gets another divisor of C
      const inits = new Map(g.initializer.map((t, k) => [t.name, k]));
      const cands = g.node.map((n, k) => k).filter((k) => g.node[k].op_type === 'Reshape' && inits.has(g.node[k].input[1])
        && g.initializer[inits.get(g.node[k].input[1])].dims[0] === 5);
      if (!cands.length) break;
      const n = nodeAt(m, R.pick(cands));
      const src = g.initializer[inits.get(n.input[1])];
      const vals = src.raw_data?.length === 40 ? Array.from({ length: 5 }, (_, i) => Number(new DataView(src.raw_data.buffer, src.raw_data.byteOffset).getBigInt64(8 * i, true))) : [...src.int64_data];
      if (vals.length !== 5) break;
      const C = vals[1] * vals[2];
      const divs = [];
      for (let d = 1; d <= C; d++) if (C % d === 0 && d !== vals[1]) divs.push(d);
      if (!divs.length || !(C > 0)) break;
      const g2 = R.pick(divs);
      const name = `${src.name}_g${g2}_${R.int(1e6)}`;
      g.initializer.push({ ...cloneTensor(src), name, raw_data: new Uint8Array(0), int64_data: [vals[0], g2, C / g2, vals[3], vals[4]] });
      n.input[1] = name;
      break;
    }
    case 'restride': {
      const convs = g.node.map((n, k) => k).filter((k) => g.node[k].op_type === 'Conv' && g.node[k].attribute.some((a) => a.name === 'strides'));
      if (!convs.length) break;
      const n = nodeAt(m, R.pick(convs));
      const a = n.attribute.find((x) => x.name === 'strides');
      a.ints = a.ints[0] === 1 ? [2, 2] : [1, 1];
      break;
    }
    case 'shape-values': {
      // change the values of a small INT64 initializer (Reshape targets, Slice bounds, split sizes, axes)
      const ints = g.initializer.map((t, i) => i).filter((i) => g.initializer[i].data_type === 7);
      if (!ints.length) break;
      const t = initAt(m, R.pick(ints));
      const n = t.dims.reduce((a, b) => a * b, 1);
      const vals = t.raw_data?.length ? Array.from({ length: t.raw_data.length >> 3 }, (_, i) => Number(new DataView(t.raw_data.buffer, t.raw_data.byteOffset).getBigInt64(i * 8, true))) : [...t.int64_data];
      const k = vals.length ? R.int(vals.length) : 0;
      if (vals.length) vals[k] = R.chance(0.5) ? R.pick(INTS) : vals[k] + R.pick([-1, 1, 2, -2]);
      if (R.chance(0.2)) vals.push(R.pick(INTS));
      const raw = new Uint8Array(vals.length * 8);
      vals.forEach((v, i) => new DataView(raw.buffer).setBigInt64(i * 8, BigInt(Math.max(-(2 ** 63), Math.min(2 ** 63 - 1, Math.trunc(v)))), true));
      t.raw_data = raw;
      t.int64_data = [];
      if (vals.length !== n) t.dims = R.chance(0.5) ? [vals.length] : t.dims;
      break;
    }
  }
}

/** stress: large structures */
function mutateStress(R, m, notes) {
  const g = m.graph;
  const kind = R.weighted([['relu-chain', 2], ['identity-chain', 2], ['wide-add', 2], ['concat-doubling', 2], ['shape-doubling', 1], ['many-initializers', 1]]);
  notes.kinds.push(`stress:${kind}`);
  const acts = activationOutputs(m);
  if (!acts.length) return;
  const [pi, x] = R.pick(acts);
  const K = R.pick([10, 100, 1000, 3000, 6000, 9000, 12000]);
  notes.size = K;
  const uniq = `s${R.int(1e6)}_`;
  const insertAt = pi + 1;
  const newNodes = [];
  let end = x;
  switch (kind) {
    case 'relu-chain':
    case 'identity-chain': {
      const op = kind === 'relu-chain' ? 'Relu' : 'Identity';
      for (let k = 0; k < K; k++) { const o = `${uniq}${k}`; newNodes.push({ name: o, op_type: op, input: [end], output: [o], attribute: [] }); end = o; }
      if (kind === 'identity-chain') notes.neutral = true;
      break;
    }
    case 'wide-add': {
      const branches = Math.max(2, K >> 1);
      const rs = [];
      for (let k = 0; k < branches; k++) { const o = `${uniq}r${k}`; newNodes.push({ name: o, op_type: 'Relu', input: [x], output: [o], attribute: [] }); rs.push(o); }
      end = rs[0];
      for (let k = 1; k < branches; k++) { const o = `${uniq}a${k}`; newNodes.push({ name: o, op_type: 'Add', input: [end, rs[k]], output: [o], attribute: [] }); end = o; }
      break;
    }
    case 'concat-doubling': {
      const levels = R.range(8, 40);
      for (let k = 0; k < levels; k++) { const o = `${uniq}${k}`; newNodes.push({ name: o, op_type: 'Concat', input: [end, end], output: [o], attribute: [{ name: 'axis', type: A.INT, i: 1, ints: [], floats: [] }] }); end = o; }
      break;
    }
    case 'shape-doubling': {
      const s0 = `${uniq}shape`;
      newNodes.push({ name: s0, op_type: 'Shape', input: [x], output: [s0], attribute: [] });
      end = s0;
      const levels = R.range(8, 40);
      const op = R.pick(['Mul', 'Concat', 'Add']);
      for (let k = 0; k < levels; k++) {
        const o = `${uniq}${k}`;
        newNodes.push({ name: o, op_type: op, input: [end, end], output: [o], attribute: op === 'Concat' ? [{ name: 'axis', type: A.INT, i: 0, ints: [], floats: [] }] : [] });
        end = o;
      }
      // feed it to a Reshape of x whose output replaces x
      const r = `${uniq}reshaped`;
      newNodes.push({ name: r, op_type: 'Reshape', input: [x, end], output: [r], attribute: [] });
      end = r;
      break;
    }
    case 'many-initializers': {
      for (let k = 0; k < K; k++) g.initializer.push({ name: `${uniq}${k}`, dims: [1], data_type: 1, raw_data: new Uint8Array(4), float_data: [], int32_data: [], int64_data: [], double_data: [], uint64_data: [], string_data: [], external_data: [] });
      notes.neutral = true;
      return;
    }
  }
  const consumers = new Set(consumersOf(m, x).map(([i]) => i));
  g.node.splice(insertAt, 0, ...newNodes);
  const shifted = new Set([...consumers].map((i) => (i >= insertAt ? i + newNodes.length : i)));
  const mine = new Set(newNodes.map((_, k) => insertAt + k));
  for (const i of shifted) {
    if (mine.has(i)) continue;
    const c = nodeAt(m, i);
    c.input = c.input.map((v) => (v === x ? end : v));
  }
  g.output = g.output.map((v) => (v.name === x ? { ...v, name: end } : v));
}

/** neutral: the model means the same thing; logits must match the base */
function mutateNeutral(R, m, notes) {
  const g = m.graph;
  const kind = R.weighted([['rename-all', 2], ['shuffle-nodes', 3], ['identity-insert', 2], ['dead-nodes', 1], ['unused-initializers', 1], ['metadata', 1], ['shuffle-initializers', 1]]);
  notes.kinds.push(`neutral:${kind}`);
  notes.neutral = true;
  switch (kind) {
    case 'rename-all': {
      const map = new Map();
      const nm = (s) => { if (!s) return s; let r = map.get(s); if (!r) { r = `t${map.size}_${R.int(1000)}`; map.set(s, r); } return r; };
      g.node = g.node.map((n) => ({ ...n, name: n.name ? `n_${nm(n.name)}` : n.name, input: n.input.map(nm), output: n.output.map(nm) }));
      g.initializer = g.initializer.map((t) => ({ ...t, name: nm(t.name) }));
      g.input = g.input.map((v) => ({ ...v, name: nm(v.name) }));
      g.output = g.output.map((v) => ({ ...v, name: nm(v.name) }));
      g.value_info = g.value_info.map((v) => ({ ...v, name: nm(v.name) }));
      break;
    }
    case 'shuffle-nodes': {
      for (let i = g.node.length - 1; i > 0; i--) { const j = R.int(i + 1); [g.node[i], g.node[j]] = [g.node[j], g.node[i]]; }
      break;
    }
    case 'identity-insert': {
      const k = R.range(1, 8);
      for (let j = 0; j < k; j++) {
        const acts = activationOutputs(m).filter(([, name]) => !g.output.some((o) => o.name === name));
        if (!acts.length) break;
        const [pi, x] = R.pick(acts);
        const y = `${x}_id${j}_${R.int(1000)}`;
        rewire(m, x, y);
        g.node.splice(pi + 1, 0, { name: y, op_type: 'Identity', input: [x], output: [y], attribute: [] });
      }
      break;
    }
    case 'dead-nodes': {
      const k = R.range(1, 20);
      const inName = g.input.find((v) => !g.initializer.some((t) => t.name === v.name))?.name;
      for (let j = 0; j < k; j++) {
        const o = `dead_${j}_${R.int(1e6)}`;
        if (R.chance(0.5) && inName) g.node.splice(R.int(g.node.length + 1), 0, { name: o, op_type: 'Identity', input: [inName], output: [o], attribute: [] });
        else g.node.splice(R.int(g.node.length + 1), 0, { name: o, op_type: 'Constant', input: [], output: [o], attribute: [{ name: 'value_ints', type: A.INTS, ints: [1, 2, 3], floats: [] }] });
      }
      break;
    }
    case 'unused-initializers': {
      const k = R.range(1, 50);
      for (let j = 0; j < k; j++) {
        const t = randomTensor(R, `unused_${j}_${R.int(1e6)}`);
        t.dims = t.dims.map((d) => Math.min(8, Math.max(0, d)));
        const n = t.dims.reduce((a, b) => a * b, 1);
        const size = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 11: 8 }[t.data_type];
        if (!size) { t.data_type = 1; }
        t.raw_data = new Uint8Array(n * (size ?? 4)); t.float_data = []; t.int32_data = []; t.int64_data = [];
        g.initializer.push(t);
      }
      break;
    }
    case 'metadata': {
      m.doc_string = 'd'.repeat(R.range(0, 5000));
      m.producer_name = R.pick(['', 'pytorch', '\u0000\uffff', 'x'.repeat(1000)]);
      m.metadata_props = [{ key: 'k', value: 'v'.repeat(R.range(0, 100)) }];
      g.doc_string = 'graph doc';
      g.node = g.node.map((n) => ({ ...n, doc_string: R.chance(0.2) ? 'node doc' : n.doc_string }));
      break;
    }
    case 'shuffle-initializers': {
      for (let i = g.initializer.length - 1; i > 0; i--) { const j = R.int(i + 1); [g.initializer[i], g.initializer[j]] = [g.initializer[j], g.initializer[i]]; }
      break;
    }
  }
}

// ---------------------------------------------------------------- one case

class Wrong extends Error {}

function isTyped(e, L) {
  return e instanceof L.ShuffleNetError || (e && e.name === 'ShuffleNetError' && typeof e.code === 'string' && e.code.startsWith('E_'));
}

function sameBits(a, b) {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function maxAbsWeight(model) {
  let m = 0;
  const g = model.graph; // private field of Model (TypeScript-private only): the fused graph
  for (const n of g?.nodes ?? []) {
    if (n.op !== 'conv' && n.op !== 'fc') continue;
    for (const a of [n.weight, n.bias]) for (let i = 0; i < a.length; i++) { const v = Math.abs(a[i]); if (v !== v) return NaN; if (v > m) m = v; }
  }
  return m;
}

/** Builds case i: { bytes, notes, base, size } or an api case. */
async function makeCase(opts, i) {
  const R = caseRng(opts.seed, i);
  const names = opts.bases.split(',');
  const base = await getBase(R.pick(names));
  const L = await loadLib();
  const notes = { base: base.name, kinds: [], neutral: false };
  const family = opts.mix ? R.weighted(opts.mix.split(',').map((s) => s.split(':')).map(([k, w]) => [k, Number(w)]))
    : R.weighted([['bytes', 30], ['fields', 45], ['stress', 5], ['neutral', 10], ['api', 10]]);
  notes.family = family;
  const sizes = [[32, 32], [32, 32], [32, 32], [16, 16], [17, 29], [24, 40], [33, 33]];
  let [h, w] = family === 'neutral' ? [opts.size, opts.size] : R.pick(sizes);
  if (opts.size !== 32 && family !== 'neutral') [h, w] = [opts.size, opts.size];
  let bytes;
  if (family === 'bytes') {
    bytes = mutateBytes(R, base, notes);
  } else if (family === 'api') {
    return { api: true, R, base, notes, h, w };
  } else {
    const m = editable(base.proto);
    if (family === 'fields') {
      const k = R.weighted([[1, 6], [2, 3], [3, 2], [6, 1]]);
      for (let j = 0; j < k; j++) mutateField(R, m, notes);
    } else if (family === 'stress') {
      mutateStress(R, m, notes);
    } else {
      const k = R.weighted([[1, 3], [2, 2], [3, 1]]);
      for (let j = 0; j < k; j++) mutateNeutral(R, m, notes);
    }
    bytes = encode(L, m);
  }
  return { bytes, notes, base, h, w, R };
}

/** Runs case i; returns { status, code?, message?, notes, ms }. status: ok | nonfinite | error | wrong | untyped | memory */
async function runCase(opts, i, onGenerated) {
  const L = await loadLib();
  const t0 = performance.now();
  const c = await makeCase(opts, i);
  const { notes } = c;
  onGenerated?.(notes);
  const t1 = performance.now();
  let model;
  const result = { i, notes, genMs: t1 - t0 };
  try {
    if (c.api) {
      await apiCase(L, c);
      result.status = 'ok';
    } else {
      model = await L.loadModel(c.bytes, { warmup: 0, inputSize: c.h === c.w ? c.h : 32 });
      result.loaded = true;
      result.loadMs = performance.now() - t1;
      const x = inputFor(c.h, c.w), y = inputFor(c.h, c.w, 1);
      const out = model.run(x, [1, 3, c.h, c.w]);
      if (!(out instanceof Float32Array) || out.length !== model.classes) throw new Wrong(`logits: ${out?.length} values for ${model.classes} classes`);
      model.run(y, [1, 3, c.h, c.w]);
      const again = model.run(x, [1, 3, c.h, c.w]);
      if (!sameBits(out, again)) throw new Wrong('the same input gave different logits after another inference');
      if (c.R.chance(0.1)) { const s = model.summary({ height: c.h, width: c.w }); if (!s.toString().length) throw new Wrong('empty summary'); }
      const wasm = model.memoryBytes ?? 0;
      const heap = v8.getHeapStatistics().used_heap_size;
      result.wasmMB = wasm / 2 ** 20;
      if (wasm > 2 ** 30 || heap > 2 ** 30) { result.status = 'memory'; result.message = `wasm ${wasm} bytes, heap ${heap} bytes`; return result; }
      const finite = out.every(Number.isFinite);
      const mw = maxAbsWeight(model);
      if (!finite) {
        if (!(mw >= 1e6)) throw new Wrong(`non-finite logits with max |weight| ${mw}`);
        result.status = 'nonfinite';
      } else {
        result.status = 'ok';
        if (mw < 1e3) {
          // the plain-JS evaluator of the same graph (float64 accumulation) as the reference
          const tr = performance.now();
          const ref = L.evaluateGraph(model.graph, x, c.h, c.w).data;
          result.refMs = performance.now() - tr;
          let d = 0, mx = 0;
          for (let k = 0; k < ref.length; k++) { d = Math.max(d, Math.abs(ref[k] - out[k])); mx = Math.max(mx, Math.abs(ref[k])); }
          result.refDiff = d / Math.max(1, mx);
          if (ref.length !== out.length || !(result.refDiff <= 1e-3)) throw new Wrong(`logits differ from the reference evaluator: max |diff| ${d} (max |logit| ${mx})`);
        }
      }
      if (notes.neutral) {
        const ref = await c.base.reference(L, c.h, c.w);
        let d = 0, mx = 0;
        for (let k = 0; k < ref.length; k++) { d = Math.max(d, Math.abs(ref[k] - out[k])); mx = Math.max(mx, Math.abs(ref[k])); }
        if (out.length !== ref.length || !(d <= 1e-4 * Math.max(1, mx))) throw new Wrong(`neutral mutation changed the logits: max |diff| ${d} (max |logit| ${mx})`);
        result.neutralDiff = d;
      }
    }
  } catch (e) {
    if (e instanceof Wrong) { result.status = 'wrong'; result.message = e.message; }
    else if (isTyped(e, L)) {
      if (notes.neutral && !(notes.size && e.code === 'E_LIMIT')) { result.status = 'wrong'; result.message = `a neutral mutation was rejected: ${e.message}`; }
      else { result.status = 'error'; result.code = e.code; result.message = e.message; }
    } else {
      result.status = 'untyped';
      result.message = `${e?.constructor?.name ?? typeof e}: ${e?.message ?? String(e)}`;
      result.stack = e?.stack;
    }
  } finally {
    try { model?.dispose(); } catch (e) { result.status = 'untyped'; result.message = `dispose: ${e?.message}`; }
  }
  result.ms = performance.now() - t1;
  if (opts.dumpBytes) result.bytes = c.bytes;
  return result;
}

/** The loaded base model called with bad arguments; every call must return or throw a ShuffleNetError. */
async function apiCase(L, c) {
  const { R, base, notes } = c;
  if (!base.model) base.model = await L.loadModel(base.bytes, { warmup: 0, inputSize: 32 });
  const model = base.model;
  const kind = R.pick(['run-shape', 'run-input', 'classify', 'summary', 'options']);
  notes.kinds.push(`api:${kind}`);
  // (no valid size above 64: a 4096x4096 profile() is legitimately slow, not a hang)
  const weird = () => R.pick([0, -1, 1, 2, 3, 15, 16, 17, 32, 4097, 1e9, NaN, Infinity, 2.5, '3', null, undefined, 2 ** 53]);
  const expectTyped = (f) => {
    try { f(); } catch (e) { if (!isTyped(e, L)) throw e; }
  };
  if (kind === 'run-shape') {
    const shape = Array.from({ length: R.pick([4, 4, 4, 3, 5, 0]) }, () => (R.chance(0.6) ? R.pick([1, 3, 16, 32]) : weird()));
    const n = shape.every((v) => Number.isInteger(v) && v > 0 && v <= 64) ? shape.reduce((a, b) => a * b, 1) : R.range(0, 5000);
    const len = R.chance(0.8) ? n : Math.max(0, n + R.range(-3, 3));
    expectTyped(() => model.run(new Float32Array(len), shape));
  } else if (kind === 'run-input') {
    const input = R.pick([null, undefined, [1, 2, 3], new Float64Array(3 * 32 * 32), new Uint8Array(3 * 32 * 32), {}, 'x', new Float32Array(0), new Float32Array(3 * 32 * 32 + 1)]);
    expectTyped(() => model.run(input, R.chance(0.5) ? undefined : [1, 3, 32, 32]));
    const nf = new Float32Array(3 * 32 * 32).fill(R.pick([NaN, Infinity, -Infinity, 3.4e38]));
    expectTyped(() => model.run(nf, [1, 3, 32, 32]));
  } else if (kind === 'classify') {
    const wd = R.pick([0, 1, 2, 15, 16, 31, 300, 100000, -1, 2.5, NaN]), ht = R.pick([0, 1, 7, 16, 32, 100000, -3]);
    const ch = R.pick([1, 3, 4, 2, 0, undefined, 5]);
    const len = Number.isInteger(wd) && Number.isInteger(ht) && wd > 0 && ht > 0 && wd * ht <= 1e6 ? wd * ht * (ch ?? 3) + (R.chance(0.2) ? 1 : 0) : R.range(0, 100);
    const data = R.pick([new Uint8Array(Math.max(0, len)), new Uint8ClampedArray(Math.max(0, len)), new Float32Array(4), null, [1, 2]]);
    expectTyped(() => model.classify({ data, width: wd, height: ht, channels: ch }, { topk: R.pick([1, 5, 0, -1, 1.5, 10 ** 6, undefined]), labels: R.pick([undefined, [], ['a'], 'x\ny\n']) }));
  } else if (kind === 'summary') {
    expectTyped(() => model.summary({ height: weird(), width: weird() }));
    expectTyped(() => model.profile({ height: R.pick([16, 20, weird()]), width: R.pick([16, 20, weird()]), runs: R.pick([1, 2, 0, -5, NaN]) }));
  } else {
    // loadModel / buildModel options
    try {
      const m = await L.loadModel(R.pick([base.bytes, base.bytes.buffer.slice(base.bytes.byteOffset, base.bytes.byteOffset + base.bytes.byteLength), null, 'x', [1, 2], new Uint16Array(4)]), {
        warmup: R.pick([0, 0, 1, -1, NaN, 2.5]), inputSize: R.pick([32, 16, 8, 0, -1, NaN, 4097, 1e9, 2.5, '32']), flavor: R.pick(['simd', 'auto', 'bogus', undefined]),
      });
      m.dispose();
    } catch (e) { if (!isTyped(e, L)) throw e; }
    try {
      const m = await L.buildModel({ arch: R.pick(['v1', 'v2', 'v3', undefined]), width: R.pick([0.25, 0.5, 1, 0.3, -1, NaN]), groups: R.pick([1, 3, 8, 5, 0, undefined]), classes: R.pick([10, 1, 0, -1, 2.5, undefined]), warmup: 0, inputSize: R.pick([16, 32]) });
      m.dispose();
    } catch (e) { if (!isTyped(e, L)) throw e; }
  }
}

// ---------------------------------------------------------------- worker

async function prepare(opts) {
  const L = await loadLib();
  for (const name of opts.bases.split(',')) {
    const b = await getBase(name);
    await b.reference(L, opts.size, opts.size);
    b.model ??= await L.loadModel(b.bytes, { warmup: 0, inputSize: 32 });
  }
}

if (!isMainThread && workerData?.fuzzWorker) {
  const opts = workerData.opts;
  parentPort.on('message', async (i) => {
    let r;
    try {
      r = await runCase(opts, i, (notes) => parentPort.postMessage({ started: i, notes }));
    } catch (e) {
      r = { i, status: 'harness', message: `the fuzzer itself failed: ${e?.stack ?? e}` };
    }
    delete r.bytes;
    parentPort.postMessage(r);
  });
  prepare(opts).then(() => parentPort.postMessage({ ready: true }), (e) => { throw e; });
}

// ---------------------------------------------------------------- main

const FAILURES = new Set(['crash', 'hang', 'untyped', 'wrong', 'memory', 'harness', 'timeout']);

/** Runs case i in a fresh worker with the given time limit; resolves to its result or { status: 'hang' | 'crash' }. */
function recheck(opts, i, limit) {
  return new Promise((resolve) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: { fuzzWorker: true, opts }, resourceLimits: { maxOldGenerationSizeMb: 2048 } });
    let timer, settled = false;
    const done = (r) => { if (settled) return; settled = true; clearTimeout(timer); w.terminate().catch(() => {}); resolve(r); };
    w.on('message', (m) => {
      if (m.ready) { timer = setTimeout(() => done({ i, status: 'hang' }), limit); w.postMessage(i); return; }
      if (m.started !== undefined) return;
      done(m);
    });
    w.on('error', (e) => done({ i, status: 'crash', message: `worker died: ${e?.message ?? e}` }));
    w.on('exit', (code) => done({ i, status: 'crash', message: `worker exited with code ${code}` }));
  });
}

async function mainThread() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.case !== undefined) return replay(opts);
  const started = performance.now();
  const tally = new Map(), codes = new Map(), byKind = new Map();
  const failures = [];
  const times = [];
  let done = 0, next = 0, maxWasm = 0, nonfinite = 0, neutralChecked = 0, maxNeutralDiff = 0, refChecked = 0, maxRefDiff = 0;
  const record = (r) => {
    done++;
    tally.set(r.status, (tally.get(r.status) ?? 0) + 1);
    if (r.code) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
    for (const k of r.notes?.kinds ?? []) {
      const e = byKind.get(k) ?? { n: 0, ok: 0, err: 0, fail: 0 };
      e.n++;
      if (FAILURES.has(r.status)) e.fail++; else if (r.status === 'error') e.err++; else e.ok++;
      byKind.set(k, e);
    }
    if (r.ms !== undefined) times.push(r.ms + (r.genMs ?? 0));
    if (r.wasmMB) maxWasm = Math.max(maxWasm, r.wasmMB);
    if (r.status === 'nonfinite') nonfinite++;
    if (r.neutralDiff !== undefined) { neutralChecked++; maxNeutralDiff = Math.max(maxNeutralDiff, r.neutralDiff); }
    if (r.refDiff !== undefined) { refChecked++; maxRefDiff = Math.max(maxRefDiff, r.refDiff); }
    if (FAILURES.has(r.status)) {
      failures.push(r);
      if (!opts.quiet) console.log(`${r.status === 'timeout' ? 'TIMEOUT (rechecked alone at the end)' : 'FAIL'} case ${r.i} [${r.status}] ${r.notes ? `${r.notes.base} ${r.notes.kinds.join(' ')}` : ''}: ${r.message}`);
    }
    if (!opts.quiet && done % 1000 === 0) {
      const s = (performance.now() - started) / 1000;
      console.log(`${done}/${opts.cases} cases, ${(done / s).toFixed(1)}/s, failures ${failures.length}`);
    }
  };

  await new Promise((resolve) => {
    const slots = [];
    const spawn = (slot) => {
      const w = new Worker(fileURLToPath(import.meta.url), {
        workerData: { fuzzWorker: true, opts },
        resourceLimits: { maxOldGenerationSizeMb: 2048 },
        stdout: false, stderr: false,
      });
      const s = { w, busy: undefined, notes: undefined, timer: undefined, ready: false, dead: false };
      slots[slot] = s;
      const finish = (status, message) => {
        if (s.dead) return;
        if (!s.ready) {
          console.error(`a fuzz worker failed to start: ${message}`);
          process.exit(2);
        }
        s.dead = true;
        clearTimeout(s.timer);
        if (s.busy !== undefined) {
          const i = s.busy;
          s.busy = undefined;
          record({ i, status, message, notes: s.notes });
        }
        w.terminate().catch(() => {});
        if (done < opts.cases) spawn(slot); else maybeResolve();
      };
      w.on('message', (m) => {
        if (m.ready) { s.ready = true; feed(slot); return; }
        if (m.started !== undefined) { s.notes = m.notes; return; }
        clearTimeout(s.timer);
        s.busy = undefined;
        record(m);
        feed(slot);
      });
      w.on('error', (e) => finish('crash', `worker died: ${e?.code ?? ''} ${e?.message ?? e}`));
      w.on('exit', (code) => finish('crash', `worker exited with code ${code}`));
    };
    const feed = (slot) => {
      const s = slots[slot];
      if (next >= opts.cases) { maybeResolve(); return; }
      const i = next++;
      s.busy = i;
      s.timer = setTimeout(() => {
        const i2 = s.busy;
        s.busy = undefined;
        s.dead = true;
        // rechecked alone after the run (a loaded machine is not a hang): see recheck()
        record({ i: i2, status: 'timeout', message: `no result within ${opts.timeout} ms; the worker was terminated`, notes: s.notes });
        s.w.terminate().catch(() => {});
        if (done < opts.cases) spawn(slot); else maybeResolve();
      }, opts.timeout);
      s.notes = undefined;
      s.w.postMessage(i);
    };
    const maybeResolve = () => {
      if (done >= opts.cases) {
        for (const s of slots) { if (!s.dead) { s.dead = true; clearTimeout(s.timer); s.w.terminate().catch(() => {}); } }
        resolve();
      }
    };
    if (opts.cases === 0) resolve();
    for (let k = 0; k < opts.workers; k++) spawn(k);
  });

  // Cases that timed out ran next to another worker on a possibly busy machine: run each again
  // alone with 5x the limit. Still no result: a hang. A result: 'slow' (reported, not a failure).
  const slow = [];
  for (const r of failures.filter((f) => f.status === 'timeout')) {
    const again = await recheck(opts, r.i, 5 * opts.timeout);
    tally.set('timeout', tally.get('timeout') - 1);
    if (again.status === 'hang') {
      r.status = 'hang';
      r.message = `no result within ${opts.timeout} ms, nor within ${5 * opts.timeout} ms when run alone`;
      tally.set('hang', (tally.get('hang') ?? 0) + 1);
      if (!opts.quiet) console.log(`FAIL case ${r.i} [hang] ${r.message}`);
    } else {
      slow.push({ case: r.i, ms: Math.round(again.ms), status: again.status, base: r.notes?.base, kinds: r.notes?.kinds });
      tally.set('slow', (tally.get('slow') ?? 0) + 1);
      for (const k of r.notes?.kinds ?? []) { const e = byKind.get(k); if (e) { e.fail--; e.ok++; } }
      failures.splice(failures.indexOf(r), 1);
      if (FAILURES.has(again.status)) { failures.push({ ...again, notes: r.notes }); tally.set(again.status, (tally.get(again.status) ?? 0) + 1); }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const pct = (p) => (times.length ? times[Math.min(times.length - 1, Math.floor(p * times.length))] : 0);
  const count = (s) => tally.get(s) ?? 0;
  const summary = {
    cases: done, seed: opts.seed, workers: opts.workers, seconds: Number(seconds.toFixed(1)), rate: Number((done / seconds).toFixed(1)),
    ok: count('ok'), nonfinite: count('nonfinite'), errors: count('error'),
    slow: count('slow'), slowCases: slow.slice(0, 20),
    crashes: count('crash'), hangs: count('hang'), untyped: count('untyped'), wrong: count('wrong'), memory: count('memory'), harness: count('harness'),
    errorCodes: Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])),
    caseMs: { p50: Number(pct(0.5).toFixed(1)), p99: Number(pct(0.99).toFixed(1)), max: Number(pct(1).toFixed(1)) },
    maxWasmMB: Number(maxWasm.toFixed(1)), neutralChecked, maxNeutralDiff, refChecked, maxRefDiff,
    failures: failures.slice(0, 50).map((r) => ({ case: r.i, status: r.status, base: r.notes?.base, kinds: r.notes?.kinds, message: r.message })),
  };
  console.log(`\nfuzz: ${done} cases in ${summary.seconds} s (${summary.rate} cases/s, ${opts.workers} workers, seed ${opts.seed})`);
  console.log(`  loaded and ran: ${summary.ok} (finite logits) + ${summary.nonfinite} (non-finite logits from extreme weights)`);
  console.log(`  rejected with ShuffleNetError: ${summary.errors}  ${Object.entries(summary.errorCodes).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  neutral mutations checked against the base logits: ${neutralChecked} (max |diff| ${maxNeutralDiff.toExponential(2)})`);
  console.log(`  results checked against the plain-JS reference evaluator: ${refChecked} (max |diff| / max(1, max |logit|) ${maxRefDiff.toExponential(2)})`);
  console.log(`  per case: p50 ${summary.caseMs.p50} ms, p99 ${summary.caseMs.p99} ms, max ${summary.caseMs.max} ms; max wasm memory ${summary.maxWasmMB} MiB`);
  if (!opts.quiet) {
    console.log('  by mutation (cases: ok / error / FAIL):');
    for (const [k, e] of [...byKind].sort((a, b) => a[0].localeCompare(b[0]))) console.log(`    ${k.padEnd(34)} ${String(e.n).padStart(6)}: ${e.ok} / ${e.err} / ${e.fail}`);
  }
  if (slow.length) console.log(`  slow: ${slow.length} case(s) over ${opts.timeout} ms next to other work, finished alone: ${slow.map((x) => `${x.case} (${x.ms} ms, ${x.kinds?.join(' ')})`).join(', ')}`);
  console.log(`  crashes ${summary.crashes}, hangs ${summary.hangs}, untyped errors ${summary.untyped}, wrong results ${summary.wrong}, memory ${summary.memory}${summary.harness ? `, harness ${summary.harness}` : ''}`);
  if (failures.length) console.log(`  replay one: npm run fuzz -- --seed ${opts.seed} --case ${failures[0].i}`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify(summary, null, 2));
  if (opts.dump && failures.length) {
    mkdirSync(opts.dump, { recursive: true });
    for (const r of failures.slice(0, 20)) {
      const c = await makeCase(opts, r.i);
      if (c.bytes) writeFileSync(path.join(opts.dump, `case-${opts.seed}-${r.i}.onnx`), c.bytes);
    }
  }
  process.exitCode = failures.length ? 1 : 0;
  return summary;
}

async function replay(opts) {
  await prepare(opts);
  const r = await runCase({ ...opts, dumpBytes: !!opts.dump }, opts.case);
  const { bytes, ...rest } = r;
  console.log(JSON.stringify({ ...rest, stack: undefined }, null, 2));
  if (r.stack) console.log(r.stack);
  if (opts.dump && bytes) { mkdirSync(opts.dump, { recursive: true }); writeFileSync(path.join(opts.dump, `case-${opts.seed}-${opts.case}.onnx`), bytes); }
  process.exitCode = FAILURES.has(r.status) ? 1 : 0;
}

export { runCase, makeCase, parseArgs, loadLib };

if (isMainThread && process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  mainThread().catch((e) => { console.error(e); process.exitCode = 2; });
}
