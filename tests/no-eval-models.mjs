// Helper of tests/no-eval.test.mjs (not a test file itself): loads the two ONNX zoo models and
// two models written by writeOnnx (v1 and v2) through the public loadModel, runs each once and
// returns { name: { top1, logits } }. The test runs it in its own process and again in a child
// Node that forbids code generation from strings, and compares the two.
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { dataPath, randomInput } from './data.mjs';

export async function runAll(dist = new URL('../dist/esm/src/', import.meta.url).href) {
  const { loadModel, buildGraph } = await import(`${dist}index.js`);
  const { writeOnnx } = await import(`${dist}onnx/write.js`);
  const png = PNG.sync.read(readFileSync(dataPath('reference/crops224/cat.png')));
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const cat = new Float32Array(3 * 224 * 224);
  for (let i = 0; i < 224 * 224; i++) for (let c = 0; c < 3; c++) cat[c * 224 * 224 + i] = (png.data[i * 4 + c] / 255 - mean[c]) / std[c];
  const noise = await randomInput(1, 96, 96, 5);
  const cases = [
    ['zoo fp32', () => readFileSync(dataPath('models/shufflenet_v2_x1_0_dequant_fp32.onnx')), cat, 224],
    ['zoo int8 QDQ', () => readFileSync(dataPath('models/shufflenet-v2-12-qdq.onnx')), cat, 224],
    ['written v2 0.5x', () => writeOnnx(buildGraph({ arch: 'v2', width: 0.5, seed: 4 })), noise, 96],
    ['written v1 0.5x g3', () => writeOnnx(buildGraph({ arch: 'v1', width: 0.5, groups: 3, seed: 4 }), { splitAs: 'Slice', headAs: 'MatMul', poolAs: 'ReduceMean', opset: 18 }), noise, 96],
  ];
  const out = {};
  for (const [name, bytes, x, size] of cases) {
    const m = await loadModel(bytes(), { warmup: 0, inputSize: size });
    const logits = Array.from(m.run(x, [1, 3, size, size]));
    m.dispose();
    out[name] = { top1: logits.indexOf(Math.max(...logits)), logits };
  }
  return out;
}
