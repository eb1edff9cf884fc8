// The real model: the ONNX model zoo ShuffleNet v2 1.0x (int8 QDQ and its fp32 copy) on the
// shared photos, through the package's own import, decoding and preprocessing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { loadModel, parseLabels } from '../dist/esm/src/index.js';
import { decodeImageFile } from '../dist/esm/src/image-node.js';
import { dataPath } from './data.mjs';

const expected = JSON.parse(readFileSync(dataPath('reference/expected_outputs.json'), 'utf8')).models;
const FP32 = 'shufflenet_v2_x1_0_dequant_fp32.onnx', QDQ = 'shufflenet-v2-12-qdq.onnx';
const names = Object.keys(expected[FP32]);
const labels = parseLabels(readFileSync(dataPath('imagenet-labels.txt'), 'utf8'));
const models = {};

/** Crop PNG -> normalized NCHW exactly as the reference was made (x/255, ImageNet mean/std). */
function cropTensor(name) {
  const png = PNG.sync.read(readFileSync(dataPath(`reference/crops224/${name}.png`)));
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const x = new Float32Array(3 * 224 * 224);
  for (let i = 0; i < 224 * 224; i++) {
    for (let c = 0; c < 3; c++) x[c * 224 * 224 + i] = (png.data[i * 4 + c] / 255 - mean[c]) / std[c];
  }
  return x;
}

const argmax = (a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);

test.before(async () => {
  for (const f of [FP32, QDQ]) models[f] = await loadModel(readFileSync(dataPath(`models/${f}`)));
});

test('fp32 zoo model: logits on the reference crops within 1e-4 x max |logit| of onnxruntime', () => {
  for (const name of names) {
    const ref = expected[FP32][name].logits;
    const ours = models[FP32].run(cropTensor(name));
    const maxRef = Math.max(...ref.map(Math.abs));
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref[i]));
    console.log(`  ${name}: max |diff| ${maxDiff.toExponential(2)} of max |logit| ${maxRef.toFixed(2)}`);
    assert.ok(maxDiff <= 1e-4 * maxRef, `${name}: ${maxDiff} > 1e-4 x ${maxRef}`);
    assert.is(argmax(ours), expected[FP32][name].top5[0].index, `${name} top-1`);
  }
});

test('int8 QDQ zoo model: top-1 on the reference crops equals the reference', () => {
  for (const name of names) {
    const ours = models[QDQ].run(cropTensor(name));
    assert.is(argmax(ours), expected[QDQ][name].top5[0].index, `${name} top-1`);
  }
});

test('photos through our decoder and preprocessing: expected class at top-1 (vulture, grace_hopper: top-5)', () => {
  const files = { cat: 'cat.jpg', chelsea: 'chelsea.png', grace_hopper: 'grace_hopper.jpg', orange: 'orange.jpg', squirrel_cls: 'squirrel_cls.jpg', vulture: 'vulture.jpg' };
  const topFive = { vulture: 23, grace_hopper: 652 };
  for (const f of [FP32, QDQ]) {
    for (const [name, file] of Object.entries(files)) {
      const top = models[f].classify(decodeImageFile(dataPath(`images/${file}`)), { topk: 5, labels });
      const ref = expected[f][name].top5[0].index;
      assert.is(top[0].index, ref, `${f} ${name}: top-1 ${top[0].index} (${top[0].label}), reference ${ref}`);
      if (name in topFive) assert.ok(top.some((c) => c.index === topFive[name]), `${name}: class ${topFive[name]} in the top 5`);
      assert.ok(Math.abs(top.reduce((s, c) => s + c.probability, 0)) <= 1 + 1e-6);
      assert.type(top[0].label, 'string');
    }
  }
});

test.run();
