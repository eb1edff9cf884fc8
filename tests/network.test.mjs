// Whole networks against an independent engine: each variant is written as an ONNX file with
// the same weights and run in onnxruntime-node; logits must agree to 1e-4 x max |logit|.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ort from 'onnxruntime-node';
import { buildGraph, loadModel, Model } from '../dist/esm/src/index.js';
import { writeOnnx } from '../dist/esm/src/onnx/write.js';
import { randomInput } from './data.mjs';


async function runOrt(bytes, x, shape) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const out = await session.run({ input: new ort.Tensor('float32', x, shape) });
  await session.release();
  return out.output.data;
}

function compare(ours, ref, label) {
  assert.is(ours.length, ref.length, `${label}: output length`);
  let maxRef = 0, maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref[i]));
  }
  assert.ok(Number.isFinite(maxDiff) && maxRef > 0, `${label}: finite, non-zero logits`);
  assert.ok(maxDiff <= 1e-4 * maxRef, `${label}: max |diff| ${maxDiff} > 1e-4 x ${maxRef}`);
  return { maxDiff, maxRef };
}

const variants = [
  { arch: 'v2', width: 0.5 }, { arch: 'v2', width: 1 }, { arch: 'v2', width: 1.5 }, { arch: 'v2', width: 2 },
  ...[1, 2, 3, 4, 8].map((groups) => ({ arch: 'v1', width: 1, groups })),
  { arch: 'v1', width: 0.25, groups: 3 }, { arch: 'v1', width: 2, groups: 3 },
  { arch: 'v1', width: 0.5, groups: 8 }, { arch: 'v1', width: 0.25, groups: 4 },
];

for (const v of variants) {
  const label = `${v.arch} ${v.width}x${v.groups ? ` g=${v.groups}` : ''}`;
  test(`${label} matches onnxruntime-node (batch 2, 224x224), built and imported from ONNX`, async () => {
    const graph = buildGraph({ ...v, seed: 11 });
    const onnx = writeOnnx(graph);
    const shape = [2, 3, 224, 224];
    const x = await randomInput(2, 224, 224, 5);
    const ref = await runOrt(onnx, x, shape);
    const built = await Model.fromGraph(graph, { warmup: 0 });
    const { maxDiff, maxRef } = compare(built.run(x, shape), ref, label);
    built.dispose();
    // The same network through the ONNX importer: the file onnxruntime ran.
    const imported = await loadModel(onnx, { warmup: 0 });
    const viaOnnx = compare(imported.run(x, shape), ref, `${label} (imported)`);
    imported.dispose();
    console.log(`  ${label}: max |diff| ${maxDiff.toExponential(2)}, imported ${viaOnnx.maxDiff.toExponential(2)} (max |logit| ${maxRef.toFixed(2)})`);
  });
}

for (const [v, h, w] of [[{ arch: 'v2', width: 1 }, 97, 131], [{ arch: 'v1', width: 1, groups: 3 }, 161, 67], [{ arch: 'v2', width: 0.5 }, 32, 32]]) {
  test(`${v.arch} non-square ${h}x${w} input matches onnxruntime-node`, async () => {
    const graph = buildGraph({ ...v, seed: 3 });
    const model = await Model.fromGraph(graph, { warmup: 0 });
    const shape = [2, 3, h, w];
    const x = await randomInput(2, h, w, 9);
    compare(model.run(x, shape), await runOrt(writeOnnx(graph), x, shape), `${v.arch} ${h}x${w}`);
  });
}

test('summary: shuffle, split and concat copy 0 bytes in every variant; MACs and params match the papers', async () => {
  for (const v of variants) {
    const model = await Model.fromGraph(buildGraph(v), { warmup: 0 });
    const s = model.summary();
    assert.is(s.totals.bytesCopied, 0, `${v.arch} ${v.width} ${v.groups}`);
    const views = s.steps.filter((st) => ['shuffle', 'split', 'concat'].includes(st.op));
    assert.ok(views.length > 0 && views.every((st) => st.kernel === 'view' && st.bytesCopied === 0));
    if (v.arch === 'v2' && v.width === 1) {
      assert.ok(Math.abs(s.totals.macs / 146e6 - 1) < 0.01, `v2 1.0x MACs ${s.totals.macs}`);
      assert.is(s.totals.params, 2270514); // torchvision 2,278,604 with BN unfolded
    }
    if (v.arch === 'v2' && v.width === 0.5) assert.ok(Math.abs(s.totals.macs / 41e6 - 1) < 0.02, `v2 0.5x MACs ${s.totals.macs}`);
    if (v.arch === 'v1' && v.width === 1 && v.groups === 3) assert.ok(Math.abs(s.totals.macs / 137e6 - 1) < 0.01, `v1 g3 MACs ${s.totals.macs}`);
    model.dispose();
  }
});

test('the same input gives bit-identical logits; interleaved models do not disturb each other', async () => {
  const a = await Model.fromGraph(buildGraph({ arch: 'v2', width: 0.5, seed: 1 }), { warmup: 0 });
  const b = await Model.fromGraph(buildGraph({ arch: 'v1', width: 0.5, groups: 3, seed: 2 }), { warmup: 0 });
  const x = await randomInput(1, 224, 224, 1), y = await randomInput(1, 160, 192, 2);
  const a1 = a.run(x), b1 = b.run(y, [1, 3, 160, 192]);
  for (let i = 0; i < 3; i++) {
    assert.equal(b.run(y, [1, 3, 160, 192]), b1);
    assert.equal(a.run(x), a1);
    a.run(y, [1, 3, 160, 192]); // another size in between
  }
});

test('v1 residual convs write their output over the residual (nothing reads it later)', async () => {
  // The ORT comparisons above check the values; this checks that the plan really does it.
  for (const groups of [1, 3, 8]) {
    const m = await Model.fromGraph(buildGraph({ arch: 'v1', width: 0.5, groups }), { warmup: 0, inputSize: 64 });
    const p = [...m.plans.values()][0], u32 = m.kernels.u32;
    const residual = p.calls.flat().filter((c) => c.kernel === 'conv1x1' && c.args[7] !== 0);
    assert.is(residual.length, 13, `v1 g=${groups}: 13 stride-1 units`);
    for (const c of residual) {
      const n = c.args[3] * c.args[4]; // Mpad x groups table entries
      const out = u32.subarray(c.args[2] >>> 2, (c.args[2] >>> 2) + n), res = u32.subarray(c.args[7] >>> 2, (c.args[7] >>> 2) + n);
      assert.ok(out.every((v, i) => v === res[i]), `v1 g=${groups}: a residual conv writes elsewhere`);
    }
    m.dispose();
  }
});

test('bad inputs give typed errors', async () => {
  const m = await Model.fromGraph(buildGraph({ arch: 'v2', width: 0.5 }), { warmup: 0 });
  const code = (f) => { try { f(); } catch (e) { return e.code; } return 'no error'; };
  assert.is(code(() => m.run(new Float32Array(10))), 'E_SHAPE');
  assert.is(code(() => m.run(new Float32Array(3 * 64 * 64), [1, 3, 64, 65])), 'E_SHAPE');
  assert.is(code(() => m.run(new Float32Array(4 * 64 * 64), [1, 4, 64, 64])), 'E_SHAPE');
  assert.is(code(() => m.run(new Float32Array(3 * 8 * 8), [1, 3, 8, 8])), 'E_SHAPE');
  assert.is(code(() => m.run([1, 2, 3])), 'E_ARGUMENT');
  m.dispose();
  assert.is(code(() => m.run(new Float32Array(3 * 224 * 224))), 'E_DISPOSED');
});

test.run();
