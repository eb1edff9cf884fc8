// ONNX import / export: the zoo files, round trips through the writer, onnxruntime-node as an
// independent reference for the writer, the plain-JS IR evaluator for the importer, and errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import * as ort from 'onnxruntime-node';
import { dataPath } from './data.mjs';
import { evaluateGraph } from './ir-reference.mjs';
import { GraphBuilder } from '../dist/esm/src/ir.js';
import { importOnnx } from '../dist/esm/src/onnx/import.js';
import { writeOnnx } from '../dist/esm/src/onnx/write.js';
import { parseOnnx, tensorToFloat32 } from '../dist/esm/src/onnx/read.js';
import { encodeModelProto } from '../dist/esm/src/onnx/schema.js';
import { rng } from '../dist/esm/src/random.js';

const FP32 = 'models/shufflenet_v2_x1_0_dequant_fp32.onnx';
const QDQ = 'models/shufflenet-v2-12-qdq.onnx';

// ---------- helpers ----------

const randArr = (r, n, scale = 1) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);

function convW(r, b, x, cout, kernel, groups = 1) {
  const cin = b.channels(x);
  return randArr(r, cout * (cin / groups) * kernel * kernel, Math.sqrt(2 / ((cin / groups) * kernel * kernel)));
}
function conv(r, b, x, cout, { kernel = 1, stride = 1, groups = 1, relu = false, name } = {}) {
  return b.conv(x, { outChannels: cout, kernel, stride, groups, relu, name, weight: convW(r, b, x, cout, kernel, groups), bias: randArr(r, cout, 0.1) });
}
const dw = (r, b, x, stride, name) => conv(r, b, x, b.channels(x), { kernel: 3, stride, groups: b.channels(x), name });

/** a tiny ShuffleNet v2: stem, maxpool, a downsampling unit, a basic unit, conv5, gap, fc */
function tinyV2(seed = 1) {
  const r = rng(seed);
  const b = new GraphBuilder(3);
  const x0 = b.input();
  let x = conv(r, b, x0, 8, { kernel: 3, stride: 2, relu: true, name: 'conv1' });
  x = b.pool('maxpool', x);
  // downsampling unit
  let b1 = dw(r, b, x, 2);
  b1 = conv(r, b, b1, 8, { relu: true });
  let b2 = conv(r, b, x, 8, { relu: true });
  b2 = dw(r, b, b2, 2);
  b2 = conv(r, b, b2, 8, { relu: true });
  x = b.shuffle(b.concat([b1, b2]), 2);
  // basic unit
  const [s1, s2] = b.split(x, [8, 8]);
  let y = conv(r, b, s2, 8, { relu: true });
  y = dw(r, b, y, 1);
  y = conv(r, b, y, 8, { relu: true });
  x = b.shuffle(b.concat([s1, y]), 2);
  x = conv(r, b, x, 24, { relu: true, name: 'conv5' });
  x = b.gap(x);
  x = b.fc(x, { outFeatures: 10, weight: randArr(r, 240, 0.3), bias: randArr(r, 10, 0.1) });
  return b.finish(x0, x);
}

/** a tiny ShuffleNet v1 (groups 3): avgpool shortcut + concat + relu, residual add + relu */
function tinyV1(seed = 2, { residualConv = false } = {}) {
  const r = rng(seed);
  const b = new GraphBuilder(3);
  const x0 = b.input();
  let x = conv(r, b, x0, 12, { kernel: 3, stride: 2, relu: true });
  x = b.pool('maxpool', x);
  // stride-2 unit
  const sc = b.pool('avgpool', x);
  let y = conv(r, b, x, 12, { groups: 3, relu: true });
  y = b.shuffle(y, 3);
  y = dw(r, b, y, 2);
  y = conv(r, b, y, 12, { groups: 3 });
  x = b.relu(b.concat([sc, y]));
  // stride-1 unit
  y = conv(r, b, x, 6, { groups: 3, relu: true });
  y = b.shuffle(y, 3);
  y = dw(r, b, y, 1);
  if (residualConv) {
    // the form passes produce: out = relu(conv + residual)
    y = conv(r, b, y, 24, { groups: 3 });
    const node = b.nodes[b.nodes.length - 1];
    node.residual = x;
    node.relu = true;
    x = y;
  } else {
    y = conv(r, b, y, 24, { groups: 3 });
    x = b.relu(b.add(x, y));
  }
  x = b.gap(x);
  x = b.fc(x, { outFeatures: 7, weight: randArr(r, 7 * 24, 0.3), bias: randArr(r, 7, 0.1) });
  return b.finish(x0, x);
}

function maxAbs(a) { let m = 0; for (const v of a) m = Math.max(m, Math.abs(v)); return m; }
function maxDiff(a, b) { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; }

function expectError(fn, code, ...parts) {
  try {
    fn();
  } catch (e) {
    assert.is(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    for (const p of parts) assert.ok(e.message.includes(p), `message "${e.message}" should mention "${p}"`);
    return e;
  }
  assert.unreachable(`expected ${code}`);
}

/**
 * Canonical form of a graph for comparison: conv residuals expanded into add, relu nodes folded
 * into a single-consumer producer, tensors renumbered in order of appearance.
 */
function canonical(graph) {
  let nodes = [];
  let next = graph.tensors.length;
  for (const n of graph.nodes) {
    if (n.op === 'conv' && n.residual !== undefined) {
      const mid = next++;
      nodes.push({ ...n, residual: undefined, relu: false, output: mid });
      nodes.push({ op: 'add', name: n.name + '/residual', inputs: [mid, n.residual], output: n.output, relu: n.relu });
    } else nodes.push({ ...n });
  }
  const ins = (n) => (n.op === 'add' || n.op === 'concat' ? n.inputs : [n.input]);
  const outs = (n) => (n.op === 'split' ? n.outputs : [n.output]);
  const uses = new Map();
  for (const n of nodes) for (const t of ins(n)) uses.set(t, (uses.get(t) ?? 0) + 1);
  const prod = new Map();
  for (const n of nodes) for (const t of outs(n)) prod.set(t, n);
  const drop = new Set();
  for (const n of nodes) {
    if (n.op !== 'relu') continue;
    const p = prod.get(n.input);
    if (p && uses.get(n.input) === 1 && n.input !== graph.output && 'relu' in p && !p.relu && p.op !== 'gap') {
      p.relu = true; p.output = n.output; prod.set(n.output, p); drop.add(n);
    }
  }
  nodes = nodes.filter((n) => !drop.has(n));
  const ids = new Map([[graph.input, 0]]);
  const id = (t) => { if (!ids.has(t)) ids.set(t, ids.size); return ids.get(t); };
  return nodes.map((n) => {
    const d = { op: n.op, in: ins(n).map(id), out: outs(n).map(id), relu: !!n.relu };
    if (n.op === 'conv') Object.assign(d, { kernel: n.kernel, stride: n.stride, pad: n.pad, groups: n.groups, weight: n.weight, bias: n.bias });
    if (n.op === 'fc') Object.assign(d, { weight: n.weight, bias: n.bias });
    if (n.op === 'split') d.sizes = n.sizes;
    if (n.op === 'shuffle') d.groups = n.groups;
    return d;
  });
}

function assertSameGraph(a, b, tol, label) {
  const ca = canonical(a), cb = canonical(b);
  const sig = (c) => c.map((d) => `${d.op}${d.relu ? '+relu' : ''}(${d.in})->(${d.out})${d.groups ? ' g' + d.groups : ''}${d.sizes ? ' [' + d.sizes + ']' : ''}${d.kernel ? ` k${d.kernel}s${d.stride}p${d.pad}` : ''}`);
  assert.equal(sig(cb), sig(ca), `${label}: structure`);
  assert.is(b.tensors.map((t) => t.channels)[b.output], a.tensors[a.output].channels, `${label}: output channels`);
  ca.forEach((d, i) => {
    if (!d.weight) return;
    const e = cb[i];
    const scale = Math.max(maxAbs(d.weight), 1e-12);
    assert.ok(maxDiff(d.weight, e.weight) <= tol * scale, `${label}: ${d.op} #${i} weights differ by ${maxDiff(d.weight, e.weight)}`);
    assert.ok(maxDiff(d.bias, e.bias) <= tol * Math.max(maxAbs(d.bias), 1), `${label}: ${d.op} #${i} bias differs by ${maxDiff(d.bias, e.bias)}`);
  });
}

const encodeModel = encodeModelProto;
function f32raw(arr) { return new Uint8Array(Float32Array.from(arr).buffer); }
function vi(name, dims) {
  return { name, type: { tensor_type: { elem_type: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } } };
}
/** a small hand-written model: input [1,3,8,8] -> nodes -> output */
function handModel(nodes, initializer, { opset = 13, output = 'output' } = {}) {
  return encodeModel({
    ir_version: 7, opset_import: [{ domain: '', version: opset }], producer_name: 'test',
    graph: { name: 'g', node: nodes, initializer, input: [vi('input', [1, 3, 8, 8])], output: [vi(output, [1, 4, 8, 8])] },
  });
}
const convInits = (cout = 4) => [
  { name: 'w', dims: [cout, 3, 1, 1], data_type: 1, raw_data: f32raw(Array.from({ length: cout * 3 }, (_, i) => i / 10)) },
  { name: 'b', dims: [cout], data_type: 1, float_data: Array.from({ length: cout }, (_, i) => i) },
];
const convNode = (out = 'c', w = 'w') => ({ name: 'conv0', op_type: 'Conv', input: ['input', w, 'b'], output: [out], attribute: [{ name: 'kernel_shape', type: 7, ints: [1, 1] }] });

function loadImage(rel) {
  const png = PNG.sync.read(readFileSync(dataPath(rel)));
  const { width: w, height: h, data } = png;
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const x = new Float32Array(3 * h * w);
  for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) x[c * h * w + i] = (data[i * 4 + c] / 255 - mean[c]) / std[c];
  return { x, h, w };
}

// ---------- (a) the zoo files ----------

const zoo = {};
function zooGraph(rel) {
  zoo[rel] ??= importOnnx(readFileSync(dataPath(rel)));
  return zoo[rel];
}

function checkZooStructure(graph, info, label) {
  const convs = graph.nodes.filter((n) => n.op === 'conv');
  assert.is(convs.length, 56, `${label}: convs`);
  const dwc = convs.filter((n) => n.groups > 1);
  assert.is(dwc.length, 19, `${label}: depthwise convs`);
  assert.ok(dwc.every((n) => n.kernel === 3 && n.groups === graph.tensors[n.input].channels && n.bias.length === n.groups), `${label}: depthwise shape`);
  const dense = convs.filter((n) => n.groups === 1);
  assert.is(dense.length, 37, `${label}: dense convs`);
  assert.is(dense.filter((n) => n.relu).length, 37, `${label}: every dense conv has a relu`);
  assert.is(dwc.filter((n) => n.relu).length, 0, `${label}: no depthwise conv has a relu`);
  assert.is(dense.filter((n) => n.kernel === 3).length, 1, `${label}: one 3x3 dense conv (the stem)`);
  assert.is(convs[0].kernel, 3); assert.is(convs[0].stride, 2); assert.is(convs[0].bias.length, 24);
  assert.is(dwc.filter((n) => n.stride === 2).length, 6, `${label}: stride-2 depthwise convs`);
  const count = (op) => graph.nodes.filter((n) => n.op === op).length;
  assert.is(count('shuffle'), 16); assert.is(count('split'), 13); assert.is(count('concat'), 16);
  assert.is(count('maxpool'), 1); assert.is(count('gap'), 1); assert.is(count('fc'), 1); assert.is(count('relu'), 0);
  assert.ok(graph.nodes.filter((n) => n.op === 'shuffle').every((n) => n.groups === 2));
  assert.equal([...new Set(graph.nodes.filter((n) => n.op === 'split').map((n) => n.sizes.join('/')))], ['58/58', '116/116', '232/232']);
  const concatCh = graph.nodes.filter((n) => n.op === 'concat').map((n) => graph.tensors[n.output].channels);
  assert.equal(concatCh, [...Array(4).fill(116), ...Array(8).fill(232), ...Array(4).fill(464)]);
  const conv5 = convs[convs.length - 1];
  assert.is(conv5.bias.length, 1024); assert.is(graph.tensors[conv5.input].channels, 464);
  const fc = graph.nodes.find((n) => n.op === 'fc');
  assert.is(graph.tensors[fc.input].channels, 1024); assert.is(fc.bias.length, 1000); assert.is(fc.weight.length, 1024000);
  assert.is(graph.output, fc.output);
  assert.is(info.opset, 12);
  assert.is(info.inputName, 'input'); assert.is(info.outputName, 'output');
  assert.equal(info.inputShape, [1, 3, 224, 224]);
}

test('zoo fp32 file imports as ShuffleNet v2 x1.0', () => {
  const { graph, info } = zooGraph(FP32);
  checkZooStructure(graph, info, 'fp32');
});

test('zoo QDQ file imports as ShuffleNet v2 x1.0 with the fp32 weights', () => {
  const { graph, info } = zooGraph(QDQ);
  checkZooStructure(graph, info, 'qdq');
  const ref = zooGraph(FP32).graph;
  const wa = graph.nodes.filter((n) => n.op === 'conv' || n.op === 'fc');
  const wb = ref.nodes.filter((n) => n.op === 'conv' || n.op === 'fc');
  assert.is(wa.length, wb.length);
  let worst = 0;
  wa.forEach((n, i) => {
    assert.is(n.weight.length, wb[i].weight.length);
    worst = Math.max(worst, maxDiff(n.weight, wb[i].weight), maxDiff(n.bias, wb[i].bias));
  });
  assert.ok(worst <= 1e-6, `dequantized weights differ from the fp32 file by ${worst}`);
  assertSameGraph(ref, graph, 1e-6, 'qdq vs fp32');
});

// ---------- (d) the zoo fp32 graph through the reference evaluator ----------

test('zoo fp32 graph on cat.png matches the expected logits (reference evaluator)', () => {
  const { graph } = zooGraph(FP32);
  const { x, h, w } = loadImage('reference/crops224/cat.png');
  assert.is(h, 224);
  const out = evaluateGraph(graph, x, h, w).data;
  const expected = JSON.parse(readFileSync(dataPath('reference/expected_outputs.json'), 'utf8'));
  const logits = expected.models['shufflenet_v2_x1_0_dequant_fp32.onnx'].cat.logits;
  assert.is(out.length, 1000);
  const d = maxDiff(out, logits), m = maxAbs(logits);
  assert.ok(d <= 1e-4 * m, `logits differ by ${d} (max |logit| ${m})`);
  const top = [...out.keys()].sort((a, b) => out[b] - out[a])[0];
  assert.is(top, 281);
});

test('zoo QDQ graph (fp32 activations) gives the same top-1 as the int8 reference', () => {
  const { graph } = zooGraph(QDQ);
  const { x } = loadImage('reference/crops224/cat.png');
  const out = evaluateGraph(graph, x, 224, 224).data;
  const expected = JSON.parse(readFileSync(dataPath('reference/expected_outputs.json'), 'utf8'));
  const top5 = expected.models['shufflenet-v2-12-qdq.onnx'].cat.top5.map((t) => t.index);
  const ours = [...out.keys()].sort((a, b) => out[b] - out[a]).slice(0, 3);
  assert.is(ours[0], top5[0]);
  assert.equal([...ours].sort(), [...top5.slice(0, 3)].sort());
});

// ---------- (b) writer vs onnxruntime, (c) round trips ----------

const NETS = { v2: () => tinyV2(1), v1: () => tinyV1(2), v1res: () => tinyV1(3, { residualConv: true }) };
const COMBOS = [];
{
  let k = 0;
  const opsets = [13, 11, 17, 18, 9, 21, 12, 15];
  for (const unfoldBatchNorm of [false, true]) {
    for (const splitAs of ['Split', 'Slice']) {
      for (const headAs of ['Gemm', 'MatMul']) {
        for (const poolAs of ['GlobalAveragePool', 'ReduceMean', 'ReduceMeanKeepDims']) {
          const staticDims = k % 3 === 0;
          const batch = k % 4 === 1 ? 2 : 'N';
          COMBOS.push({
            opset: opsets[k % opsets.length], unfoldBatchNorm, splitAs, headAs, poolAs, batch,
            ...(staticDims ? { height: 32, width: 32 } : {}), seed: k + 1,
          });
          k++;
        }
      }
    }
  }
}
const label = (o) => JSON.stringify(o);

async function ortRun(bytes, input, batch, h, w) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const res = await session.run({ input: new ort.Tensor('float32', input, [batch, 3, h, w]) });
  await session.release?.();
  return res.output.data;
}

test('writeOnnx: onnxruntime-node agrees with the reference evaluator for every writer form', async () => {
  const H = 32, W = 32;
  const r = rng(99);
  let runs = 0;
  for (const [netName, make] of Object.entries(NETS)) {
    const graph = make();
    const imgs = [randArr(r, 3 * H * W), randArr(r, 3 * H * W)];
    const refs = imgs.map((x) => evaluateGraph(graph, x, H, W).data);
    for (const opts of COMBOS) {
      const batch = typeof opts.batch === 'number' ? opts.batch : 2;
      const input = new Float32Array(batch * 3 * H * W);
      for (let i = 0; i < batch; i++) input.set(imgs[i], i * 3 * H * W);
      const out = await ortRun(writeOnnx(graph, opts), input, batch, H, W);
      const m = refs[0].length;
      assert.is(out.length, batch * m, `${netName} ${label(opts)}: output size`);
      for (let i = 0; i < batch; i++) {
        const got = out.subarray(i * m, (i + 1) * m);
        const d = maxDiff(got, refs[i]), mx = maxAbs(refs[i]);
        assert.ok(d <= 1e-4 * mx, `${netName} ${label(opts)} image ${i}: differs by ${d} (max |logit| ${mx})`);
      }
      runs++;
    }
  }
  assert.is(runs, 3 * COMBOS.length);
});

test('writeOnnx -> importOnnx reproduces the graph for every writer form', () => {
  for (const [netName, make] of Object.entries(NETS)) {
    const graph = make();
    for (const opts of COMBOS) {
      const { graph: back, info } = importOnnx(writeOnnx(graph, opts));
      assert.is(info.opset, opts.opset);
      assertSameGraph(graph, back, opts.unfoldBatchNorm ? 2e-5 : 0, `${netName} ${label(opts)}`);
      assert.equal(info.inputShape, [typeof opts.batch === 'number' ? opts.batch : 'N', 3, opts.height ?? 'H', opts.width ?? 'W']);
    }
  }
});

test('imported graphs evaluate like the originals (reference evaluator, non-square input)', () => {
  const r = rng(5);
  for (const [netName, make] of Object.entries(NETS)) {
    const graph = make();
    const x = randArr(r, 3 * 40 * 24);
    const ref = evaluateGraph(graph, x, 40, 24).data;
    for (const opts of [COMBOS[1], COMBOS[14], COMBOS[23]]) {
      const back = importOnnx(writeOnnx(graph, opts)).graph;
      const out = evaluateGraph(back, x, 40, 24).data;
      assert.ok(maxDiff(out, ref) <= 1e-4 * maxAbs(ref), `${netName} ${label(opts)}`);
    }
  }
});

test('zoo fp32 graph: writeOnnx -> importOnnx round trip', () => {
  const { graph } = zooGraph(FP32);
  for (const opts of [{}, { splitAs: 'Slice', headAs: 'MatMul', poolAs: 'ReduceMean', height: 224, width: 224, batch: 1, opset: 12 }]) {
    assertSameGraph(graph, importOnnx(writeOnnx(graph, opts)).graph, 0, `zoo ${label(opts)}`);
  }
});

// ---------- QDQ details on small hand-made models ----------

test('QDQ: per-axis int8 weights are dequantized; a uint8 zero-point-0 activation becomes a relu', () => {
  const q = [1, -2, 3, 4, -5, 6, 7, 8, -9, 10, 11, -12];
  const scales = [0.5, 0.25, 2, 1];
  const zps = [0, 1, -1, 2];
  const nodes = [
    { name: 'dqw', op_type: 'DequantizeLinear', input: ['wq', 'ws', 'wz'], output: ['w'], attribute: [{ name: 'axis', type: 2, i: 0 }] },
    convNode('c'),
    { name: 'q', op_type: 'QuantizeLinear', input: ['c', 'as', 'az'], output: ['cq'] },
    { name: 'dq', op_type: 'DequantizeLinear', input: ['cq', 'as', 'az'], output: ['output'] },
  ];
  const inits = [
    { name: 'wq', dims: [4, 3, 1, 1], data_type: 3, raw_data: Uint8Array.from(q.map((v) => v & 255)) },
    { name: 'ws', dims: [4], data_type: 1, float_data: scales },
    { name: 'wz', dims: [4], data_type: 3, int32_data: zps },
    convInits()[1],
    { name: 'as', dims: [], data_type: 1, float_data: [0.05] },
    { name: 'az', dims: [], data_type: 2, int32_data: [0] },
  ];
  const { graph } = importOnnx(handModel(nodes, inits));
  const c = graph.nodes.find((n) => n.op === 'conv');
  assert.equal(Array.from(c.weight), q.map((v, i) => (v - zps[Math.floor(i / 3)]) * scales[Math.floor(i / 3)]));
  assert.ok(c.relu, 'zero point 0 uint8 -> relu');
  assert.is(graph.nodes.length, 1);
  // a non-zero zero point keeps negative values: no relu
  inits[5] = { name: 'az', dims: [], data_type: 2, int32_data: [128] };
  const g2 = importOnnx(handModel(nodes, inits)).graph;
  assert.is(g2.nodes.filter((n) => n.relu || n.op === 'relu').length, 0);
  // int8 with zero point -128 is also a folded relu
  inits[5] = { name: 'az', dims: [], data_type: 3, int32_data: [-128] };
  assert.ok(importOnnx(handModel(nodes, inits)).graph.nodes[0].relu);
});

test('BatchNormalization after a non-conv, and a conv output with two consumers, are unsupported', () => {
  const bn = (inp) => ({ name: 'bn', op_type: 'BatchNormalization', input: [inp, 's', 'bb', 'm', 'v'], output: ['output'] });
  const bnInits = ['s', 'bb', 'm', 'v'].map((name) => ({ name, dims: [4], data_type: 1, float_data: [1, 1, 1, 1] }));
  const relu = { name: 'r', op_type: 'Relu', input: ['c'], output: ['cr'] };
  expectError(() => importOnnx(handModel([convNode('c'), relu, bn('cr')], [...convInits(), ...bnInits])), 'E_UNSUPPORTED_OP', 'bn', 'BatchNormalization');
  // folded: conv -> bn
  const { graph } = importOnnx(handModel([convNode('c'), bn('c')], [...convInits(), ...bnInits]));
  assert.is(graph.nodes.length, 1);
  const k = 1 / Math.sqrt(1 + 1e-5);
  assert.ok(Math.abs(graph.nodes[0].bias[2] - ((2 - 1) * k + 1)) < 1e-6);
});

test('torch dynamic-axes form: Shape/Gather/Div/Unsqueeze/Concat shapes from Constant nodes, Identity, Dropout', async () => {
  const i64c = (name, vals, scalar = false) => {
    const raw = new Uint8Array(vals.length * 8);
    vals.forEach((v, i) => new DataView(raw.buffer).setBigInt64(i * 8, BigInt(v), true));
    return { name: name + '_node', op_type: 'Constant', input: [], output: [name], attribute: [{ name: 'value', type: 4, t: { dims: scalar ? [] : [vals.length], data_type: 7, raw_data: raw } }] };
  };
  const n = (op_type, input, output, attribute = []) => ({ name: `${op_type}_${output[0]}`, op_type, input, output, attribute });
  const nodes = [
    convNode('c'),
    n('Shape', ['c'], ['s']),
    i64c('i0', [0], true), i64c('i1', [1], true), i64c('i2', [2], true), i64c('i3', [3], true), i64c('two', [2], true),
    i64c('ax0', [0]), i64c('g1', [2]), i64c('m1', [-1]),
    n('Gather', ['s', 'i0'], ['nb'], [{ name: 'axis', type: 2, i: 0 }]),
    n('Gather', ['s', 'i1'], ['ch']), n('Gather', ['s', 'i2'], ['hh']), n('Gather', ['s', 'i3'], ['ww']),
    n('Div', ['ch', 'two'], ['cpg']),
    n('Unsqueeze', ['nb', 'ax0'], ['nb1']), n('Unsqueeze', ['cpg', 'ax0'], ['cpg1']),
    n('Unsqueeze', ['hh', 'ax0'], ['hh1']), n('Unsqueeze', ['ww', 'ax0'], ['ww1']),
    n('Concat', ['nb1', 'g1', 'cpg1', 'hh1', 'ww1'], ['shape5'], [{ name: 'axis', type: 2, i: 0 }]),
    n('Reshape', ['c', 'shape5'], ['r5']),
    n('Transpose', ['r5'], ['t5'], [{ name: 'perm', type: 7, ints: [0, 2, 1, 3, 4] }]),
    n('Concat', ['nb1', 'm1', 'hh1', 'ww1'], ['shape4'], [{ name: 'axis', type: 2, i: 0 }]),
    n('Reshape', ['t5', 'shape4'], ['sh']),
    n('Identity', ['sh'], ['id']),
    n('Dropout', ['id'], ['output']),
  ];
  const bytes = encodeModel({
    ir_version: 7, opset_import: [{ domain: '', version: 13 }],
    graph: { name: 'g', node: nodes, initializer: convInits(), input: [vi('input', ['N', 3, 'H', 'W'])], output: [vi('output', ['N', 4, 'H', 'W'])] },
  });
  const { graph, info } = importOnnx(bytes);
  assert.equal(graph.nodes.map((x) => x.op), ['conv', 'shuffle']);
  assert.is(graph.nodes[1].groups, 2);
  assert.equal(info.inputShape, ['N', 3, 'H', 'W']);
  const x = randArr(rng(7), 3 * 6 * 10);
  const ref = evaluateGraph(graph, x, 6, 10).data;
  const got = await ortRun(bytes, x, 1, 6, 10);
  assert.ok(maxDiff(got, ref) <= 1e-5 * maxAbs(ref));
});

test('a v1-style head: AveragePool over the whole (known) map, Flatten, Gemm transB=0', () => {
  const nodes = [
    convNode('c'),
    { name: 'pool', op_type: 'AveragePool', input: ['c'], output: ['p'], attribute: [{ name: 'kernel_shape', type: 7, ints: [8, 8] }] },
    { name: 'flat', op_type: 'Flatten', input: ['p'], output: ['f'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
    { name: 'fc', op_type: 'Gemm', input: ['f', 'fw', 'fb'], output: ['output'], attribute: [] },
  ];
  const fw = Array.from({ length: 4 * 5 }, (_, i) => i - 10);
  const inits = [...convInits(), { name: 'fw', dims: [4, 5], data_type: 1, float_data: fw }, { name: 'fb', dims: [5], data_type: 1, float_data: [1, 2, 3, 4, 5] }];
  const { graph } = importOnnx(handModel(nodes, inits));
  assert.equal(graph.nodes.map((x) => x.op), ['conv', 'gap', 'fc']);
  const fc = graph.nodes[2];
  // IR fc weight is [out][in]: transposed from Gemm's B [in][out]
  assert.is(fc.weight[1 * 4 + 2], fw[2 * 5 + 1]);
});

// ---------- (e) errors ----------

test('errors: unsupported op names the node and the op', () => {
  const bytes = handModel([convNode('c'), { name: 'my_sigmoid', op_type: 'Sigmoid', input: ['c'], output: ['output'] }], convInits());
  const e = expectError(() => importOnnx(bytes), 'E_UNSUPPORTED_OP', 'my_sigmoid', 'Sigmoid', 'supported ops');
  assert.ok(e.message.includes('Conv'));
});

test('errors: truncated or garbage bytes -> E_ONNX_PARSE', () => {
  const bytes = writeOnnx(tinyV2(), { height: 32, width: 32 });
  for (const cut of [bytes.length >> 1, bytes.length - 3, 17]) {
    expectError(() => importOnnx(bytes.subarray(0, cut)), 'E_ONNX_PARSE');
  }
  expectError(() => importOnnx(new Uint8Array(0)), 'E_ONNX_PARSE');
  expectError(() => importOnnx(Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 255)), 'E_ONNX_PARSE');
});

test('errors: external data -> E_UNSUPPORTED_OP naming the tensor', () => {
  const inits = convInits();
  inits[0] = { name: 'w', dims: [4, 3, 1, 1], data_type: 1, data_location: 1, external_data: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '0' }] };
  expectError(() => importOnnx(handModel([convNode('output')], inits)), 'E_UNSUPPORTED_OP', '"w"', 'weights.bin');
});

test('errors: a Conv with a missing initializer -> E_ONNX_PARSE naming the tensor', () => {
  expectError(() => importOnnx(handModel([convNode('output', 'missing_weight')], convInits())), 'E_ONNX_PARSE', 'missing_weight', 'conv0');
});

test('errors: tensor size mismatch, limits, cycles, unsupported conv and pool forms', () => {
  const inits = convInits();
  inits[0] = { ...inits[0], raw_data: inits[0].raw_data.subarray(0, 40) };
  expectError(() => importOnnx(handModel([convNode('output')], inits)), 'E_ONNX_PARSE', '"w"', '48 bytes');
  const inits2 = convInits();
  inits2[1] = { name: 'b', dims: [5], data_type: 1, float_data: [1, 2, 3, 4] };
  expectError(() => importOnnx(handModel([convNode('output')], inits2)), 'E_ONNX_PARSE', '"b"');
  const inits3 = convInits();
  inits3[0] = { name: 'w', dims: [1 << 25, 3, 1, 1], data_type: 1 };
  expectError(() => importOnnx(handModel([convNode('output')], inits3)), 'E_LIMIT', '"w"');
  expectError(() => parseOnnx(new Uint8Array(512 * 1024 * 1024 + 1)), 'E_LIMIT');
  // a cycle
  const cyc = [
    { name: 'a1', op_type: 'Add', input: ['input', 'y'], output: ['x'] },
    { name: 'a2', op_type: 'Relu', input: ['x'], output: ['y'] },
    { name: 'a3', op_type: 'Relu', input: ['y'], output: ['output'] },
  ];
  expectError(() => importOnnx(handModel(cyc, [])), 'E_ONNX_PARSE', 'cycle');
  // 5x5 conv
  const c5 = convInits();
  c5[0] = { name: 'w', dims: [4, 3, 5, 5], data_type: 1, raw_data: f32raw(new Array(300).fill(0.1)) };
  const n5 = { ...convNode('output'), attribute: [{ name: 'pads', type: 7, ints: [2, 2, 2, 2] }] };
  expectError(() => importOnnx(handModel([n5], c5)), 'E_UNSUPPORTED_OP', 'conv0', 'kernel 5x5', 'supported: 1x1');
  // average pool that does not count padding (the ONNX default)
  const ap = { name: 'ap', op_type: 'AveragePool', input: ['input'], output: ['output'], attribute: [
    { name: 'kernel_shape', type: 7, ints: [3, 3] }, { name: 'strides', type: 7, ints: [2, 2] }, { name: 'pads', type: 7, ints: [1, 1, 1, 1] }] };
  expectError(() => importOnnx(handModel([ap], [])), 'E_UNSUPPORTED_OP', 'ap', 'count_include_pad');
  // opset out of range
  expectError(() => importOnnx(handModel([convNode('output')], convInits(), { opset: 7 })), 'E_UNSUPPORTED_OP', 'opset 7');
});

test('read: tensor helpers decode raw_data and typed fields', () => {
  const t = (o) => ({ dims: [], float_data: [], int32_data: [], string_data: [], int64_data: [], external_data: [], double_data: [], uint64_data: [], ...o });
  assert.equal(Array.from(tensorToFloat32(t({ dims: [3], data_type: 7, int64_data: [-1, 5, 2 ** 40] }))), [-1, 5, 2 ** 40]);
  const raw = new Uint8Array(16);
  new DataView(raw.buffer).setBigInt64(0, -3n, true);
  new DataView(raw.buffer).setBigInt64(8, 9223372036854775807n, true);
  const v = tensorToFloat32(t({ dims: [2], data_type: 7, raw_data: raw }));
  assert.is(v[0], -3); assert.ok(v[1] > 9e18);
  assert.equal(Array.from(tensorToFloat32(t({ dims: [2, 2], data_type: 3, raw_data: Uint8Array.of(255, 1, 128, 0) }))), [-1, 1, -128, 0]);
  assert.equal(Array.from(tensorToFloat32(t({ dims: [2], data_type: 2, int32_data: [200, 3] }))), [200, 3]);
  assert.equal(Array.from(tensorToFloat32(t({ dims: [2], data_type: 1, raw_data: f32raw([1.5, -2]) }))), [1.5, -2]);
  expectError(() => tensorToFloat32(t({ name: 'bad', dims: [3], data_type: 1, float_data: [1, 2] })), 'E_ONNX_PARSE', '"bad"');
});

test.run();
