// Preprocessing, image decoding and label parsing.
// The fixture check runs the full path a user runs (decode file -> shorter side 256 -> center crop
// 224) on every photo in images/ and compares with reference/crops224/*.png (Pillow 9.4 output).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import * as jpegjs from 'jpeg-js';
import { PNG } from 'pngjs';
import { dataPath } from './data.mjs';
import {
  preprocess, resizeShorterSide, resizeBilinear, centerCrop, toTensor, toRGB, validateImage, shorterSideSize,
  MAX_PIXELS,
} from '../dist/esm/src/preprocess.js';
import { decodeImage, decodeImageFile, sniffImageFormat } from '../dist/esm/src/image-node.js';
import { decodeJpegRGB } from '../dist/esm/src/jpeg-decode.js';
import { parseLabels, parseLabelEntries, parseShortLabels, shortLabel } from '../dist/esm/src/labels.js';
import { ShuffleNetError } from '../dist/esm/bindings/errors.js';

const PHOTOS = ['cat.jpg', 'chelsea.png', 'grace_hopper.jpg', 'orange.jpg', 'squirrel_cls.jpg', 'vulture.jpg'];
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** Asserts fn throws a ShuffleNetError with the given code and a message matching re. */
function throwsCode(fn, code, re) {
  let err;
  try { fn(); } catch (e) { err = e; }
  assert.ok(err, `expected ${code} to be thrown`);
  assert.instance(err, ShuffleNetError, `expected a ShuffleNetError, got ${err}`);
  assert.is(err.code, code, `wrong code in: ${err.message}`);
  if (re) assert.match(err.message, re);
  return err;
}

function readRefCrop(name) {
  const png = PNG.sync.read(readFileSync(dataPath(`reference/crops224/${name.replace(/\.\w+$/, '.png')}`)));
  assert.is(png.width, 224);
  assert.is(png.height, 224);
  return toRGB({ data: png.data, width: 224, height: 224, channels: 4 });
}

function compare(a, b) {
  assert.is(a.length, b.length);
  let within1 = 0, exact = 0, max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d <= 1) within1++;
    if (d === 0) exact++;
    if (d > max) max = d;
  }
  return { within1: within1 / a.length, exact: exact / a.length, max, n: a.length };
}

function rgbImage(w, h, f) {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 3);
  return { data, width: w, height: h };
}

// ---------------------------------------------------------------------------------------------
// Fixture photos against the Pillow reference crops

const fixtureStats = {};
for (const name of PHOTOS) {
  test(`fixture ${name}: decode + resize 256 + crop 224 matches the Pillow crop (>= 99% within ±1)`, () => {
    const img = decodeImageFile(dataPath(`images/${name}`));
    const crop = centerCrop(resizeShorterSide(img, 256), 224);
    assert.is(crop.width, 224);
    assert.is(crop.height, 224);
    const s = compare(crop.data, readRefCrop(name).data);
    fixtureStats[name] = s;
    console.log(`  ${name} (${img.width}x${img.height} ${img.format}): within ±1 ${(s.within1 * 100).toFixed(4)}%, ` +
      `exact ${(s.exact * 100).toFixed(4)}%, max |diff| ${s.max} over ${s.n} values`);
    assert.ok(s.within1 >= 0.99, `${name}: only ${(s.within1 * 100).toFixed(3)}% within ±1 (max diff ${s.max})`);
    if (name.endsWith('.png')) assert.is(s.max, 0, `${name}: PNG input must match the reference exactly`);
  });
}

test('fixtures: decoder + resize are bit-exact with Pillow 9.4 / libjpeg-turbo on all six photos', () => {
  for (const name of PHOTOS) {
    const s = fixtureStats[name] ?? compare(centerCrop(resizeShorterSide(decodeImageFile(dataPath(`images/${name}`))), 224).data, readRefCrop(name).data);
    assert.is(s.max, 0, `${name}: max diff ${s.max}, exact ${(s.exact * 100).toFixed(3)}%`);
  }
});

test('fixtures: preprocess() equals the README normalization of the reference crop', () => {
  for (const name of ['chelsea.png', 'vulture.jpg']) {
    const t = preprocess(decodeImageFile(dataPath(`images/${name}`)));
    assert.equal(t.shape, [1, 3, 224, 224]);
    assert.is(t.data.length, 3 * 224 * 224);
    const ref = readRefCrop(name);
    let max = 0;
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 224 * 224; i += 97) {
        const want = Math.fround((ref.data[i * 3 + c] / 255 - MEAN[c]) / STD[c]);
        max = Math.max(max, Math.abs(t.data[c * 224 * 224 + i] - want));
      }
    }
    assert.ok(max < 1e-6, `${name}: normalized values differ by ${max}`);
  }
});

test('fixtures: the longer side is rounded (the reference crops rule out truncation)', () => {
  assert.equal(shorterSideSize(451, 300, 256), [385, 256]); // chelsea: 384.85
  assert.equal(shorterSideSize(535, 426, 256), [322, 256]); // squirrel: 321.50
  assert.equal(shorterSideSize(251, 201, 256), [320, 256]); // vulture: 319.68
  assert.equal(shorterSideSize(512, 600, 256), [256, 300]);
  assert.equal(shorterSideSize(451, 300, 256, 'floor'), [384, 256]);
  // truncation gives a visibly different crop on the PNG
  const img = decodeImageFile(dataPath('images/chelsea.png'));
  const s = compare(centerCrop(resizeShorterSide(img, 256, 'floor'), 224).data, readRefCrop('chelsea.png').data);
  assert.ok(s.within1 < 0.9, `truncation unexpectedly matches (${s.within1})`);
});

// ---------------------------------------------------------------------------------------------
// Resize on synthetic images (expected values produced by Pillow Image.resize(..., BILINEAR))

test('resize: 2x2 upscale to 4x4 equals Pillow', () => {
  const px = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]];
  const img = rgbImage(2, 2, (x, y) => px[y * 2 + x]);
  const out = resizeShorterSide(img, 4);
  assert.is(out.width, 4);
  assert.is(out.height, 4);
  assert.equal(Array.from(out.data), [0, 0, 0, 64, 0, 0, 191, 0, 0, 255, 0, 0, 0, 64, 0, 48, 48, 16, 143, 16, 48, 191, 0, 64, 0,
    191, 0, 16, 143, 48, 48, 48, 143, 64, 0, 191, 0, 255, 0, 0, 191, 64, 0, 64, 191, 0, 0, 255]);
});

test('resize: 8x4 downscale to 4x2 (antialiased) equals Pillow', () => {
  const img = rgbImage(8, 4, (x, y) => [(x * 32 + y * 8) % 256, 255 - x * 30, (x * y * 17) % 256]);
  const out = resizeShorterSide(img, 2);
  assert.is(out.width, 4);
  assert.is(out.height, 2);
  assert.equal(Array.from(out.data), [29, 234, 9, 86, 180, 31, 150, 120, 55, 207, 66, 76, 41, 234, 27, 98, 180, 97, 162, 120, 161,
    219, 66, 150]);
});

test('resize: 7x5 to 4x3 (non-integer factors) equals Pillow', () => {
  const img = rgbImage(7, 5, (x, y) => [(x * 41 + y * 13) % 256, (x * x * 9 + y * 50) % 256, (255 - (x + y) * 20 + 256) % 256]);
  const out = resizeShorterSide(img, 3);
  assert.is(out.width, 4);
  assert.is(out.height, 3);
  assert.equal(Array.from(out.data), [27, 27, 236, 91, 64, 204, 167, 142, 168, 173, 113, 136, 47, 106, 205, 111, 143, 173, 187, 161,
    137, 116, 126, 105, 67, 185, 174, 131, 181, 142, 178, 96, 106, 74, 119, 74]);
});

test('resize: 1xN grey column upscales as Pillow does (width 1 -> 3, height 5 -> 15)', () => {
  const img = { data: new Uint8Array([0, 50, 200, 255, 10]), width: 1, height: 5, channels: 1 };
  const out = resizeShorterSide(img, 3);
  assert.is(out.width, 3);
  assert.is(out.height, 15);
  const col = [0, 0, 17, 33, 50, 100, 150, 200, 218, 237, 255, 173, 92, 10, 10];
  const want = col.flatMap((v) => [v, v, v, v, v, v, v, v, v]);
  assert.equal(Array.from(out.data), want);
});

test('resize: 1xN and Nx1 images go through preprocess', () => {
  const tall = { data: new Uint8Array(1 * 3 * 3).fill(77), width: 1, height: 3 };
  const r = resizeShorterSide(tall, 256);
  assert.is(r.width, 256);
  assert.is(r.height, 768);
  const t = preprocess({ data: new Uint8Array(5 * 1 * 4).fill(200), width: 5, height: 1 });
  assert.equal(t.shape, [1, 3, 224, 224]);
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(t.data[c * 224 * 224 + 1000] - (200 / 255 - MEAN[c]) / STD[c]) < 1e-6);
  }
});

test('resize: constant images stay constant; same size is a copy', () => {
  const img = rgbImage(37, 23, () => [12, 130, 251]);
  for (const [w, h] of [[256, 159], [5, 3], [37, 4], [90, 23]]) {
    const out = resizeBilinear(img, w, h);
    for (let i = 0; i < out.data.length; i += 3) {
      assert.equal([out.data[i], out.data[i + 1], out.data[i + 2]], [12, 130, 251], `${w}x${h} at ${i / 3}`);
    }
  }
  const same = resizeBilinear(img, 37, 23);
  assert.equal(same.data, img.data);
  assert.ok(same.data !== img.data);
});

test('resize: grey and RGBA inputs equal the RGB-expanded image (alpha ignored)', () => {
  const w = 13, h = 9;
  const grey = new Uint8Array(w * h).map((_, i) => (i * 37) % 256);
  const rgba = new Uint8ClampedArray(w * h * 4);
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    rgb[i * 3] = grey[i]; rgb[i * 3 + 1] = 255 - grey[i]; rgb[i * 3 + 2] = (grey[i] * 3) % 256;
    rgba.set([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], (i * 91) % 256], i * 4);
  }
  assert.is(validateImage({ data: grey, width: w, height: h }), 1);
  assert.is(validateImage({ data: rgba, width: w, height: h }), 4);
  const a = resizeShorterSide({ data: rgba, width: w, height: h }, 6);
  const b = resizeShorterSide({ data: rgb, width: w, height: h }, 6);
  assert.equal(a, b);
  const g = resizeShorterSide({ data: grey, width: w, height: h, channels: 1 }, 20);
  const gRGB = resizeShorterSide({ data: toRGB({ data: grey, width: w, height: h }).data, width: w, height: h }, 20);
  assert.equal(g, gRGB);
  for (let i = 0; i < g.data.length; i += 3) assert.ok(g.data[i] === g.data[i + 1] && g.data[i] === g.data[i + 2]);
  // ImageData-like (Uint8ClampedArray RGBA) through the whole pipeline
  const t = preprocess({ data: rgba, width: w, height: h }, { resize: 8, crop: 6 });
  assert.equal(t.shape, [1, 3, 6, 6]);
});

// ---------------------------------------------------------------------------------------------
// Crop and tensor layout

test('centerCrop: offsets floor((W-c)/2), floor((H-c)/2)', () => {
  const img = rgbImage(7, 6, (x, y) => [x, y, 0]);
  const c = centerCrop(img, 2);
  assert.equal(Array.from(c.data), [2, 2, 0, 3, 2, 0, 2, 3, 0, 3, 3, 0]);
  const c2 = centerCrop(img, 4, 3); // x0 = 1, y0 = 1
  assert.is(c2.data[0], 1);
  assert.is(c2.data[1], 1);
  throwsCode(() => centerCrop(img, 8), 'E_SHAPE', /8x8.*7x6/);
});

test('toTensor: NCHW planes of (x/255 - mean)/std, custom mean/std', () => {
  const img = rgbImage(3, 2, (x, y) => [x * 100, y * 200, 255]);
  const t = toTensor(img);
  assert.is(t.length, 18);
  for (let y = 0; y < 2; y++) {
    for (let x = 0; x < 3; x++) {
      const i = y * 3 + x;
      assert.ok(Math.abs(t[i] - (x * 100 / 255 - MEAN[0]) / STD[0]) < 1e-6);
      assert.ok(Math.abs(t[6 + i] - (y * 200 / 255 - MEAN[1]) / STD[1]) < 1e-6);
      assert.ok(Math.abs(t[12 + i] - (1 - MEAN[2]) / STD[2]) < 1e-6);
    }
  }
  const u = toTensor(img, { mean: [0, 0, 0], std: [1, 1, 1] });
  assert.ok(Math.abs(u[1] - 100 / 255) < 1e-7);
  throwsCode(() => toTensor(img, { std: [1, 0, 1] }), 'E_ARGUMENT', /std\[1\]/);
  throwsCode(() => toTensor(img, { mean: [0.5, 0.5] }), 'E_ARGUMENT', /mean/);
});

test('preprocess: options resize/crop and shape', () => {
  const img = rgbImage(40, 30, (x, y) => [x * 6, y * 8, 100]);
  const t = preprocess(img, { resize: 32, crop: 16 });
  assert.equal(t.shape, [1, 3, 16, 16]);
  assert.is(t.data.length, 3 * 16 * 16);
  const manual = toTensor(centerCrop(resizeShorterSide(img, 32), 16));
  assert.equal(Array.from(t.data), Array.from(manual));
  throwsCode(() => preprocess(img, { resize: 16, crop: 32 }), 'E_ARGUMENT', /crop/);
  throwsCode(() => preprocess(img, { resize: 0 }), 'E_ARGUMENT', /resize/);
});

// ---------------------------------------------------------------------------------------------
// Validation

test('validation: wrong data length -> E_SHAPE naming expected vs got', () => {
  throwsCode(() => preprocess({ data: new Uint8Array(10), width: 2, height: 2 }), 'E_SHAPE', /16 \(RGBA\), 12 \(RGB\) or 4 \(grey\).*got 10/);
  throwsCode(() => resizeShorterSide({ data: new Uint8Array(16), width: 2, height: 2, channels: 3 }), 'E_SHAPE', /expected 2x2x3 = 12 bytes, got 16/);
  throwsCode(() => toRGB({ data: new Uint8Array(0), width: 1, height: 1 }), 'E_SHAPE', /got 0/);
});

test('validation: zero-sized images -> E_SHAPE', () => {
  throwsCode(() => preprocess({ data: new Uint8Array(0), width: 0, height: 0 }), 'E_SHAPE', /0x0/);
  throwsCode(() => preprocess({ data: new Uint8Array(0), width: 5, height: 0 }), 'E_SHAPE', /5x0/);
  throwsCode(() => validateImage({ data: new Uint8Array(0), width: 0, height: 7 }), 'E_SHAPE');
});

test('validation: over 2^26 pixels -> E_LIMIT; bad arguments -> E_ARGUMENT', () => {
  assert.is(MAX_PIXELS, 2 ** 26);
  throwsCode(() => preprocess({ data: new Uint8Array(3), width: 8193, height: 8192 }), 'E_LIMIT', /2\^26/);
  throwsCode(() => resizeBilinear({ data: new Uint8Array(3), width: 1, height: 1 }, 10000, 10000), 'E_LIMIT');
  throwsCode(() => preprocess({ data: [1, 2, 3], width: 1, height: 1 }), 'E_ARGUMENT', /Uint8Array/);
  throwsCode(() => preprocess({ data: new Uint8Array(3), width: 1.5, height: 2 }), 'E_SHAPE');
  throwsCode(() => preprocess({ data: new Uint8Array(6), width: 1, height: 3, channels: 2 }), 'E_ARGUMENT', /channels/);
  throwsCode(() => preprocess(null), 'E_ARGUMENT');
  throwsCode(() => resizeShorterSide({ data: new Uint8Array(3), width: 1, height: 1 }, -1), 'E_ARGUMENT');
});

// ---------------------------------------------------------------------------------------------
// Decoding

// Small synthetic JPEGs written by libjpeg-turbo 2.1.5; sha256 is that of the RGB pixels that
// libjpeg-turbo's default decompression (islow IDCT, fancy upsampling) returns, which is also what
// Pillow's Image.open(...).convert('RGB') returns (checked with Pillow 11.3).
const LIBJPEG_CASES = [
  { name: 'progressive 4:2:0, restart every MCU row', width: 19, height: 13, sha256: '07b325b6697b98423f2f29d1806df82c86dbe995991f0f1a6cac145a41f84116',
    jpeg: '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wgARCAANABMDASIAAhEBAxEB/8QAGAAAAwEBAAAAAAAAAAAAAAAAAAYIBQf/xAAWAQEBAQAAAAAAAAAAAAAAAAAEAwf/3QAEAAL/2gAMAwEAAhADEAAAAUZu6HpjjM5QA/Pv/8QAGhAAAwADAQAAAAAAAAAAAAAAAwQFAAECEv/dAAQAA//aAAgBAQABBQJWNpXBzzGGxHMU/wD/0EJ/GsT91Svh4E5//8QAHxEAAQMDBQAAAAAAAAAAAAAAAQACAwURMQYhI0Gh/90ABAAC/9oACAEDAQE/AaFXpJGF9rkZz4p9S8r9uyv/xAAgEQACAQQBBQAAAAAAAAAAAAABAgMABRIxITIzQVFi/9oACAECAQE/AZ7yziKVYxz2lOh9t7NG/wAaHGW4vkN9W/Nf/8QAJBAAAgEDAgYDAAAAAAAAAAAAAQIDABESITEEEyIyQVKRobH/3QAEAAP/2gAIAQEABj8CDLHlINcV803O4JkB9tvyncLjkb2tt9V//9Bpgesaj4oRzvlGw7cRUyWLYta5r//EABwQAQACAwEBAQAAAAAAAAAAAAEAESExQVGRof/aAAgBAQABPyEzG4Bxw3upXkd4tnx+ZSvL7rszxqf/0AKAVEuktDcfLx+pz0GJxKYWfyf/3QAEAAL/2gAMAwEAAgADAAAAELgv/8QAHREBAQABBAMAAAAAAAAAAAAAAREAITFBcVGRsf/aAAgBAwEBPxAXErSh2sAT2TyTTJ2b0HL39z//xAAYEQEBAQEBAAAAAAAAAAAAAAABESExAP/aAAgBAgEBPxCP40U4ossHoWnDqjc1oAkGAhINkyc9/8QAGxABAQEBAQEBAQAAAAAAAAAAAREhMQBBUWH/3QAEAAP/2gAIAQEAAT8QZXRY1E6Cg/auEAHfprSDLxFBDmd4WM/Fqiq0qVf0Znv/0FoAEgwsezA+E8JOonUOjsoJ0/IAR0KFBhmTIQwmAZ7/2Q==' },
  { name: 'progressive greyscale, optimized Huffman', width: 11, height: 7, sha256: 'ca48f5e673d276c44882c15ee341b137884c2edee238dffd60515999d16e0dc1',
    jpeg: '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAUDBAQEAwUEBAQFBQUGBwwIBwcHBw8LCwkMEQ8SEhEPERETFhwXExQaFRERGCEYGh0dHx8fExciJCIeJBweHx7/wgALCAAHAAsBAREA/8QAFQABAQAAAAAAAAAAAAAAAAAAAwX/2gAIAQEAAAABWP8A/8QAGBAAAwEBAAAAAAAAAAAAAAAAAgMFAQT/2gAIAQEAAQUC5I4pB0stb//EABsQAAICAwEAAAAAAAAAAAAAAAECABITIVFx/9oACAEBAAY/Arat2McpHiLP/8QAGhAAAgIDAAAAAAAAAAAAAAAAAREAITFBof/aAAgBAQABPyEKAbgjUEi/hIdn/9oACAEBAAAAED//xAAaEAEAAgMBAAAAAAAAAAAAAAABESEAQVEx/9oACAEBAAE/EEjAIioxYKFc33DNDdpNxIqZqAPCs//Z' },
  { name: 'baseline 4:2:2 (h2v1), restart every MCU row', width: 21, height: 10, sha256: '45c80173a5e17aabd0e122c17cdb170a1a674ff12ca3bab958b29ae1e683b4c0',
    jpeg: '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAAKABUDASEAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/90ABAAC/9oADAMBAAIRAxEAPwDAs/B66cEcCJZtw2tJwg5GMnsK6O28M3IiMt7Nprhhu8u3dmkOCOi9+3TpXVXxFL2sKEr+zoe9JrZz31b7fldM68mzLnanZtva2yt3f5+RzWreDLi81BnaJwAPlSQjKAknHy59e/bFFZwo4zMIrFuUVz62d9unTa23keJjc95cROLu7N7tX+dna62Z/9DsIIo/Nnby0ydxJ298GpkVV1nTlVQA0hBAHX93If6Cvn+eU8txLm7tynv5Quvu6djxuGJOV+Z391/+kv8AyLF9DENe1OMRoEjljVF2jCjyY+AOwor7WLahFLsvyR8hnVOEMfUUVZafkj//2Q==' },
  { name: 'baseline 4:4:0 (h1v2)', width: 10, height: 9, sha256: '6aad8aea0da8330c9ac2a61abb8e75b1c7513125e2a817295679a447bf2ab017',
    jpeg: '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/2wBDAQICAgICAgUDAwUKBwYHCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgr/wAARCAAJAAoDARIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDnP2dP+CW9p8LPD8d/p/hDS7/WDbOyWurRJ9m8vJYCbeQPIyAGyQDzkjHyfpT8Iv8AkPT/APYOj/8AQa/IvEP6QfF3A/iNT8PODaNPAqrWw9CpimnWrz9uqT5ryaaUfafBzbq9OVO9l+UfR28eeOeKMHSpYyq7VYNWunFKcpRa5ZJxkvJqzWkk1e/4/wCo/sAftZWuoT21n49+DckMczLE/wDwkzJuUEgHalwyrx2ViB2JHNfXM/8Ar3/3z/Ov7Ah4T4irBTxWe42pVes5e0guaT+KVnCTV3d6tvXd7n8m4vxu4ujiqiw8acKfM+WPLfljfSN3vZaX6n//2Q==' },
  { name: 'progressive 4:4:4', width: 9, height: 9, sha256: 'd0dee9bc4aa8fe2ffe5cfbebe4e72d4a5d3116801de1a76b4fad9659c5e34b56',
    jpeg: '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAoHBwgHBgoICAgLCgoLDhgQDg0NDh0VFhEYIx8lJCIfIiEmKzcvJik0KSEiMEExNDk7Pj4+JS5ESUM8SDc9Pjv/2wBDAQoLCw4NDhwQEBw7KCIoOzs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozv/wgARCAAJAAkDAREAAhEBAxEB/8QAFwAAAwEAAAAAAAAAAAAAAAAAAwQFBv/EABgBAAMBAQAAAAAAAAAAAAAAAAIDBQQG/9oADAMBAAIQAxAAAAETSXVL1Ug5vUYv/8QAGhAAAgIDAAAAAAAAAAAAAAAAAgMABBASE//aAAgBAQABBQIKeocGxeP/xAAeEQAABAcAAAAAAAAAAAAAAAAAAQIDBAUQEzFRYf/aAAgBAwEBPwFiJJaT0L7fRLsFT//EACARAAIBAQkAAAAAAAAAAAAAAAEEAAIDEBQ0UWFxkeH/2gAIAQIBAT8BqYs09yZi2dKuvIznRyLv/8QAGhAAAQUBAAAAAAAAAAAAAAAAIQABAxARMf/aAAgBAQAGPwJwcXY7/8QAGxAAAgEFAAAAAAAAAAAAAAAAAAEQITFxgfH/2gAIAQEAAT8hpjSOuy54j//aAAwDAQACAAMAAAAQqo//xAAdEQEAAQUAAwAAAAAAAAAAAAABEQAhMUFREGGh/9oACAEDAQE/EDllg6unIHLwc2ndeqnxeP/EAB8RAAIABQUAAAAAAAAAAAAAAAERABAhUWExQYHw8f/aAAgBAgEBPxBcCWuU7PTDqd7eZh0OJf/EABwQAQACAQUAAAAAAAAAAAAAAAEQESFBUWHR8P/aAAgBAQABPxAmBZUuA6Y26jTy8R//2Q==' },
  { name: 'Adobe YCCK (CMYK) 4:2:0, hash of Pillow 11.3 convert(\'RGB\')', width: 11, height: 7, sha256: 'c90b940766db636108cd3e00305cde5f0bf6fbd88513b51160de10bcae9cf522',
    jpeg: '/9j/7gAOQWRvYmUAZAAAAAAC/9sAQwADAgIDAgIDAwMDBAMDBAUIBQUEBAUKBwcGCAwKDAwLCgsLDQ4SEA0OEQ4LCxAWEBETFBUVFQwPFxgWFBgSFBUU/9sAQwEDBAQFBAUJBQUJFA0LDRQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU/8AAFAgABwALBAEiAAIRAQMRAQQiAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/EAB8BAAMBAQEBAQEBAQEAAAAAAAABAgMEBQYHCAkKC//EALURAAIBAgQEAwQHBQQEAAECdwABAgMRBAUhMQYSQVEHYXETIjKBCBRCkaGxwQkjM1LwFWJy0QoWJDThJfEXGBkaJicoKSo1Njc4OTpDREVGR0hJSlNUVVZXWFlaY2RlZmdoaWpzdHV2d3h5eoKDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uLj5OXm5+jp6vLz9PX29/j5+v/aAA4EAQACEQMRBAAAPwDb+J/isXAmdeQqYQHJ5OSc56dOwP8ASvHIkkvEExNsC+T86SFuvfDgfpRRXT4V5Bl2eZjiYZjSVSMIKye121r69F6s/Qs5xFTCWjSf9amr+3b+0xq/hu21L4eeEdPMkGjDTI9R8Sw30sE+maxciS5tESFsJLttLa4kV/m2TPDKjxTW6bvgK18KWE9rBJPcq8rxqxLRuTggY5DDtjtRRX//2Q==' },
];

for (const c of LIBJPEG_CASES) {
  test(`jpeg decoder: ${c.name} is bit-exact with libjpeg-turbo / Pillow`, () => {
    const img = decodeImage(Buffer.from(c.jpeg, 'base64'), c.name);
    assert.is(img.width, c.width);
    assert.is(img.height, c.height);
    assert.is(img.channels, 3);
    assert.is(createHash('sha256').update(img.data).digest('hex'), c.sha256);
  });
}

test('jpeg decoder: a jpeg-js encoded 4:4:4 JPEG decodes close to jpeg-js', () => {
  const w = 33, h = 17;
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([(i * 7) % 256, (i * 13) % 256, 128 + (i % 50), 255], i * 4);
  const jpg = jpegjs.encode({ data: rgba, width: w, height: h }, 90).data;
  assert.is(sniffImageFormat(jpg), 'jpeg');
  const ours = decodeImage(jpg, 'synthetic.jpg');
  const theirs = jpegjs.decode(jpg, { useTArray: true, formatAsRGBA: false });
  const s = compare(ours.data, theirs.data);
  assert.ok(s.max <= 3, `max diff ${s.max}`);
});

test('jpeg decoder: truncated, corrupt or huge JPEGs give clear errors naming the file', () => {
  const bytes = new Uint8Array(readFileSync(dataPath('images/cat.jpg')));
  throwsCode(() => decodeImage(bytes.subarray(0, 12000), 'cut.jpg'), 'E_ARGUMENT', /cut\.jpg.*truncated/);
  throwsCode(() => decodeImage(bytes.subarray(0, 300), 'head.jpg'), 'E_ARGUMENT', /head\.jpg/);
  throwsCode(() => decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), 'empty.jpg'), 'E_ARGUMENT', /empty\.jpg.*no frame/);
  // patch the SOF0 frame size to 30000 x 30000
  const big = bytes.slice();
  let p = 2;
  while (!(big[p] === 0xff && big[p + 1] === 0xc0)) p += 2 + ((big[p + 2] << 8) | big[p + 3]);
  big[p + 5] = 30000 >> 8; big[p + 6] = 30000 & 255; big[p + 7] = 30000 >> 8; big[p + 8] = 30000 & 255;
  throwsCode(() => decodeImage(big, 'huge.jpg'), 'E_LIMIT', /huge\.jpg.*30000x30000/);
});

// Minimal PNG writer for test images (pngjs's packer composites alpha and cannot write tRNS).
const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
function makePng(w, h, colorType, depth, samples, extra = []) {
  const spp = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  const bps = depth / 8;
  const raw = Buffer.alloc(h * (1 + w * spp * bps));
  let o = 0, i = 0;
  for (let y = 0; y < h; y++) {
    raw[o++] = 0;
    for (let k = 0; k < w * spp; k++) {
      if (bps === 2) { raw.writeUInt16BE(samples[i++], o); o += 2; } else raw[o++] = samples[i++];
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = depth; ihdr[9] = colorType;
  return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    ...extra, chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]));
}

test('png decoder: RGB, grey, grey+alpha, RGBA, 16-bit, palette and colour-key PNGs', () => {
  const rgb = decodeImage(makePng(2, 1, 2, 8, [1, 2, 3, 250, 251, 252]), 'rgb.png');
  assert.equal([rgb.width, rgb.height, rgb.channels, rgb.format], [2, 1, 3, 'png']);
  assert.equal(Array.from(rgb.data), [1, 2, 3, 250, 251, 252]);

  const grey = decodeImage(makePng(3, 1, 0, 8, [0, 128, 255]), 'grey.png');
  assert.equal(Array.from(grey.data), [0, 0, 0, 128, 128, 128, 255, 255, 255]);

  const ga = decodeImage(makePng(2, 1, 4, 8, [10, 0, 200, 255]), 'ga.png');
  assert.equal(Array.from(ga.data), [10, 10, 10, 200, 200, 200]);

  const rgba = decodeImage(makePng(2, 1, 6, 8, [9, 8, 7, 0, 90, 80, 70, 128]), 'rgba.png');
  assert.equal(Array.from(rgba.data), [9, 8, 7, 90, 80, 70], 'alpha must be dropped, not composited');

  const rgb16 = decodeImage(makePng(2, 1, 2, 16, [0x1234, 0xffff, 0x8080, 0, 0x00ff, 0x7fff]), 'rgb16.png');
  assert.equal(Array.from(rgb16.data), [18, 255, 128, 0, 1, 127]); // round(v * 255 / 65535)

  const grey16 = decodeImage(makePng(2, 1, 0, 16, [0xfeff, 0x0101]), 'grey16.png');
  assert.equal(Array.from(grey16.data), [254, 254, 254, 1, 1, 1]);

  const plte = chunk('PLTE', Buffer.from([255, 0, 0, 0, 0, 255]));
  const trnsPal = chunk('tRNS', Buffer.from([0]));
  const pal = decodeImage(makePng(3, 1, 3, 8, [1, 0, 1], [plte, trnsPal]), 'pal.png');
  assert.equal(Array.from(pal.data), [0, 0, 255, 255, 0, 0, 0, 0, 255]);

  const key = chunk('tRNS', Buffer.from([0, 10, 0, 20, 0, 30]));
  const keyed = decodeImage(makePng(2, 1, 2, 8, [10, 20, 30, 40, 50, 60], [key]), 'key.png');
  assert.equal(Array.from(keyed.data), [10, 20, 30, 40, 50, 60], 'colour-keyed pixels keep their colour');
});

test('png decoder: the fixture PNG decodes to RGB; corrupt and huge PNGs give clear errors', () => {
  const img = decodeImageFile(dataPath('images/chelsea.png'));
  assert.equal([img.width, img.height, img.channels], [451, 300, 3]);
  const bytes = new Uint8Array(readFileSync(dataPath('images/chelsea.png')));
  throwsCode(() => decodeImage(bytes.subarray(0, 5000), 'cut.png'), 'E_ARGUMENT', /cut\.png/);
  throwsCode(() => decodeImage(bytes.subarray(0, 20), 'tiny.png'), 'E_ARGUMENT', /tiny\.png/);
  const big = makePng(1, 1, 2, 8, [1, 2, 3]);
  new DataView(big.buffer, big.byteOffset).setUint32(16, 100000); // IHDR width (CRC is not checked first)
  new DataView(big.buffer, big.byteOffset).setUint32(20, 100000);
  throwsCode(() => decodeImage(big, 'huge.png'), 'E_LIMIT', /huge\.png.*100000x100000/);
});

test('decodeImage: unknown formats, empty input and missing files -> E_ARGUMENT naming the file', () => {
  throwsCode(() => decodeImage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), 'data.bin'), 'E_ARGUMENT', /data\.bin.*not a JPEG or PNG/);
  throwsCode(() => decodeImage(new Uint8Array(0), 'nothing.jpg'), 'E_ARGUMENT', /nothing\.jpg.*empty/);
  throwsCode(() => decodeImage(new TextEncoder().encode('GIF89a......'), 'anim.gif'), 'E_ARGUMENT', /anim\.gif.*GIF/);
  throwsCode(() => decodeImage(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '), 'x.webp'), 'E_ARGUMENT', /WebP/);
  throwsCode(() => decodeImageFile('/nonexistent/dir/photo.jpg'), 'E_ARGUMENT', /photo\.jpg/);
  assert.is(sniffImageFormat(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'png');
  assert.is(sniffImageFormat(new Uint8Array([0xff, 0xd8])), null);
});

test('decodeJpegRGB is usable directly (browser-safe module)', () => {
  const img = decodeJpegRGB(new Uint8Array(readFileSync(dataPath('images/vulture.jpg'))));
  assert.equal([img.width, img.height, img.data.length], [251, 201, 251 * 201 * 3]);
});

// ---------------------------------------------------------------------------------------------
// Labels

test('labels: the real imagenet-labels.txt gives 1000 labels in class order', () => {
  const text = readFileSync(dataPath('imagenet-labels.txt'), 'utf8');
  const labels = parseLabels(text);
  assert.is(labels.length, 1000);
  assert.is(labels[0], 'tench, Tinca tinca');
  assert.is(labels[999], 'toilet tissue, toilet paper, bathroom tissue');
  assert.is(labels[281], 'tabby, tabby cat');
  const short = parseShortLabels(text);
  assert.is(short[0], 'tench');
  assert.is(short[285], 'Egyptian cat');
  const entries = parseLabelEntries(text);
  assert.equal(entries[1], { wnid: 'n01443537', label: 'goldfish, Carassius auratus', short: 'goldfish' });
  assert.ok(labels.every((l) => l.length > 0 && !/^n\d{8}/.test(l)));
});

test('labels: plain one-per-line, CRLF, BOM and trailing empty lines', () => {
  assert.equal(parseLabels('cat\ndog\ngreat white shark\n\n\n'), ['cat', 'dog', 'great white shark']);
  assert.equal(parseLabels('\ufeffn00000001 a, b\r\nn00000002 c\r\n'), ['a, b', 'c']);
  assert.equal(parseLabels('one\n\nthree\n'), ['one', '', 'three'], 'inner empty lines keep indices aligned');
  assert.equal(parseLabels(''), []);
  assert.is(shortLabel('tench, Tinca tinca'), 'tench');
  assert.is(shortLabel('plain'), 'plain');
});

test.run();
