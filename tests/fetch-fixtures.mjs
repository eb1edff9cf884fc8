#!/usr/bin/env node
// Fetches the public test fixtures from their sources and checks each file's sha256, for
// users who want to run the tests without ../shared/data:
//
//   node tests/fetch-fixtures.mjs [dest]        (default: ./fixtures, git-ignored)
//   SHUFFLENET_DATA=./fixtures npm test
//
// Fetched: the ONNX model zoo ShuffleNet v2 int8 QDQ file, the ImageNet label list and the six
// photos. Derived here, not fetched: the fp32 model (the QDQ file imported and written back
// as plain fp32 by this package: the same weights, a different file than the shared copy),
// and reference/ (crops made with Pillow 9.4 and logits made with onnxruntime 1.30, which
// this script cannot reproduce; the tests that need them stay red until you provide them).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const GH = 'https://raw.githubusercontent.com';
const FILES = [
  ['models/shufflenet-v2-12-qdq.onnx', '7c536d02e2f6af9569e5f3c7a4d8282060072119524c93c8da71e63876b4722b',
    'https://media.githubusercontent.com/media/onnx/models/main/validated/vision/classification/shufflenet/model/shufflenet-v2-12-qdq.onnx'],
  ['imagenet-labels.txt', 'acf75ef0abe89694b19056e0796401068b459c457baa30335f240c7692857355',
    `${GH}/onnx/models/main/validated/vision/classification/synset.txt`],
  ['images/chelsea.png', '596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb',
    `${GH}/scikit-image/scikit-image/v0.19.3/skimage/data/chelsea.png`],
  ['images/squirrel_cls.jpg', '20bb6e8ae96918a36c9886b6d48e54eedeb3948591e1485c206bc1dc60c8dc8b',
    `${GH}/opencv/opencv/4.6.0/samples/data/squirrel_cls.jpg`],
  ['images/orange.jpg', '152c20d2f380ac985de25e474e1a5f06ed34b932191342099b8272a63a15a079',
    `${GH}/opencv/opencv/4.6.0/samples/data/orange.jpg`],
  ['images/cat.jpg', 'dc3606ea1f4cb2a0e64bb9b3b25bb60bffa1955a9a961adefab7d53eb6dfc89d',
    `${GH}/Qengineering/ShuffleNetV2-ncnn/main/cat.jpg`],
  ['images/vulture.jpg', '186050e5913d827b5ce7585ebf815e89c024097026179136dc8cf1001660db99',
    `${GH}/Qengineering/ShuffleNetV2-ncnn/main/vulture.jpg`],
  ['images/grace_hopper.jpg', 'a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130',
    `${GH}/matplotlib/matplotlib/v3.6.3/lib/matplotlib/mpl-data/sample_data/grace_hopper.jpg`],
];

const dest = path.resolve(process.argv[2] ?? 'fixtures');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
let bad = 0;

for (const [rel, want, url] of FILES) {
  const file = path.join(dest, rel);
  if (existsSync(file) && sha256(readFileSync(file)) === want) {
    console.log(`ok (already here)  ${rel}`);
    continue;
  }
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const got = sha256(bytes);
    if (got !== want) throw new Error(`sha256 ${got}, expected ${want}`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    console.log(`ok                 ${rel}`);
  } catch (e) {
    bad++;
    console.error(`FAILED             ${rel}: ${e.message} (${url})`);
  }
}

// The fp32 model: the QDQ file's weights dequantized and written as a plain fp32 graph.
const qdq = path.join(dest, 'models/shufflenet-v2-12-qdq.onnx');
if (existsSync(qdq)) {
  const { importOnnx, writeOnnx } = await import('../dist/esm/src/onnx/index.js');
  const { graph } = importOnnx(readFileSync(qdq));
  writeFileSync(path.join(dest, 'models/shufflenet_v2_x1_0_dequant_fp32.onnx'), writeOnnx(graph, { opset: 12 }));
  console.log('derived            models/shufflenet_v2_x1_0_dequant_fp32.onnx');
}
console.log(bad ? `${bad} file(s) failed` : `all fixtures in ${dest}; reference/ must come from ../shared/data`);
process.exit(bad ? 1 : 0);
