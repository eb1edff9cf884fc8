// Image preprocessing for ImageNet classifiers: shorter-side resize (bit-exact with Pillow 9.4
// `Image.resize(size, Image.BILINEAR)`), center crop, and normalization into an NCHW float tensor.
// Browser-safe: no Node imports; works on ImageData-like objects ({ data, width, height }).

import { ShuffleNetError } from '../bindings/errors.js';

/** Interleaved 8-bit pixels: grey (1), RGB (3) or RGBA (4; alpha is ignored). `ImageData` fits. */
export type ImageInput = {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** Channels per pixel; inferred from `data.length / (width * height)` when omitted. */
  channels?: 1 | 3 | 4;
};

/** Interleaved 8-bit RGB image, the form every step here returns. */
export type RGBImage = { data: Uint8Array; width: number; height: number; channels: 3 };

export type NormalizeOptions = {
  /** Per-channel mean on the 0..1 scale (RGB order). Default: ImageNet [0.485, 0.456, 0.406]. */
  mean?: readonly number[];
  /** Per-channel standard deviation on the 0..1 scale. Default: ImageNet [0.229, 0.224, 0.225]. */
  std?: readonly number[];
};

export type PreprocessOptions = NormalizeOptions & {
  /** Target length of the shorter side before cropping (default 256). */
  resize?: number;
  /** Side of the square center crop (default 224). */
  crop?: number;
  /** Rounding of the longer side after the resize (default 'round', as the reference crops). */
  rounding?: LongSideRounding;
};

export type Tensor4 = { data: Float32Array; shape: [1, 3, number, number] };

/** Largest accepted image, in pixels (2^26 = 67,108,864, e.g. 8192 x 8192). */
export const MAX_PIXELS = 2 ** 26;

export const IMAGENET_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);
export const IMAGENET_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);

function isPositiveInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0;
}

/** Checks an ImageInput and returns its channel count; throws E_ARGUMENT / E_SHAPE / E_LIMIT. */
export function validateImage(img: ImageInput): 1 | 3 | 4 {
  if (img === null || typeof img !== 'object') {
    throw new ShuffleNetError('E_ARGUMENT', `image must be an object { data, width, height }, got ${img === null ? 'null' : typeof img}`);
  }
  const { data, width, height } = img;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    const got = data === null || data === undefined ? String(data) : (data as object).constructor?.name ?? typeof data;
    throw new ShuffleNetError('E_ARGUMENT', `image.data must be a Uint8Array or Uint8ClampedArray, got ${got}`);
  }
  if (typeof width !== 'number' || typeof height !== 'number' || !Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new ShuffleNetError('E_SHAPE', `image width and height must be non-negative integers, got ${String(width)}x${String(height)}`);
  }
  if (width === 0 || height === 0) {
    throw new ShuffleNetError('E_SHAPE', `image is empty: expected width and height >= 1, got ${width}x${height}`);
  }
  const pixels = width * height;
  if (pixels > MAX_PIXELS) {
    throw new ShuffleNetError('E_LIMIT', `image is ${width}x${height} = ${pixels} pixels, over the limit of ${MAX_PIXELS} (2^26) pixels`);
  }
  const ch = img.channels;
  if (ch !== undefined) {
    if (ch !== 1 && ch !== 3 && ch !== 4) {
      throw new ShuffleNetError('E_ARGUMENT', `image.channels must be 1, 3 or 4, got ${String(ch)}`);
    }
    if (data.length !== pixels * ch) {
      throw new ShuffleNetError('E_SHAPE',
        `image data length: expected ${width}x${height}x${ch} = ${pixels * ch} bytes, got ${data.length}`);
    }
    return ch;
  }
  if (data.length === pixels * 4) return 4;
  if (data.length === pixels * 3) return 3;
  if (data.length === pixels) return 1;
  throw new ShuffleNetError('E_SHAPE',
    `image data length: expected ${pixels * 4} (RGBA), ${pixels * 3} (RGB) or ${pixels} (grey) bytes for ${width}x${height}, got ${data.length}`);
}

/** Converts any ImageInput to interleaved RGB (grey replicated, alpha dropped). No copy when already RGB Uint8Array. */
export function toRGB(img: ImageInput): RGBImage {
  const ch = validateImage(img);
  const { width, height } = img;
  const n = width * height;
  const src = img.data;
  if (ch === 3) {
    const data = src instanceof Uint8Array ? src : new Uint8Array(src.buffer, src.byteOffset, src.length);
    return { data, width, height, channels: 3 };
  }
  const out = new Uint8Array(n * 3);
  if (ch === 4) {
    for (let i = 0, j = 0, o = 0; i < n; i++, j += 4, o += 3) {
      out[o] = src[j]; out[o + 1] = src[j + 1]; out[o + 2] = src[j + 2];
    }
  } else {
    for (let i = 0, o = 0; i < n; i++, o += 3) {
      const v = src[i];
      out[o] = v; out[o + 1] = v; out[o + 2] = v;
    }
  }
  return { data: out, width, height, channels: 3 };
}

// ---------------------------------------------------------------------------------------------
// Pillow-exact bilinear resampling (Pillow 9.4 libImaging/Resample.c, 8 bits per channel).
// Each output sample is a normalized triangle-filter average whose support widens by the
// downscale factor (so shrinking antialiases); the weights are turned into 22-bit fixed point
// and each pass rounds and clips to uint8. Horizontal pass first, then vertical, and a pass is
// skipped when that dimension does not change.

const PRECISION_BITS = 32 - 8 - 2; // 22
const HALF = 1 << (PRECISION_BITS - 1);

type Coeffs = { ksize: number; bounds: Int32Array; kk: Int32Array };

function bilinearFilter(x: number): number {
  if (x < 0) x = -x;
  if (x < 1) return 1 - x;
  return 0;
}

function precomputeCoeffs(inSize: number, outSize: number): Coeffs {
  const support0 = 1; // bilinear filter support
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = support0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bilinearFilter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? k[x] / ww : k[x];
      kk[base + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function clip8(v: number): number {
  const s = v >> PRECISION_BITS;
  return s < 0 ? 0 : s > 255 ? 255 : s;
}

/** Horizontal pass over rows [y0, y0 + rows) of `src` (RGB, width srcW) into `rows` rows of width outW. */
function resampleHorizontal(src: Uint8Array, srcW: number, y0: number, rows: number, outW: number, c: Coeffs): Uint8Array {
  const out = new Uint8Array(outW * rows * 3);
  const { ksize, bounds, kk } = c;
  for (let yy = 0; yy < rows; yy++) {
    const rowIn = (yy + y0) * srcW * 3;
    const rowOut = yy * outW * 3;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[xx * 2];
      const xmax = bounds[xx * 2 + 1];
      const kb = xx * ksize;
      let s0 = HALF, s1 = HALF, s2 = HALF;
      let p = rowIn + xmin * 3;
      for (let x = 0; x < xmax; x++, p += 3) {
        const w = kk[kb + x];
        s0 += src[p] * w;
        s1 += src[p + 1] * w;
        s2 += src[p + 2] * w;
      }
      const o = rowOut + xx * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

/** Vertical pass: `src` is RGB with width w; bounds are relative to src row 0. */
function resampleVertical(src: Uint8Array, w: number, outH: number, c: Coeffs, boundsShift: number): Uint8Array {
  const out = new Uint8Array(w * outH * 3);
  const { ksize, bounds, kk } = c;
  const stride = w * 3;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2] - boundsShift;
    const ymax = bounds[yy * 2 + 1];
    const kb = yy * ksize;
    const rowOut = yy * stride;
    for (let i = 0; i < stride; i++) {
      let s = HALF;
      let p = ymin * stride + i;
      for (let y = 0; y < ymax; y++, p += stride) s += src[p] * kk[kb + y];
      out[rowOut + i] = clip8(s);
    }
  }
  return out;
}

/**
 * Resizes to exactly outWidth x outHeight with Pillow 9.4's BILINEAR filter (antialiasing when
 * shrinking). Output matches `Image.resize((w, h), Image.BILINEAR)` on an RGB image bit for bit.
 */
export function resizeBilinear(img: ImageInput, outWidth: number, outHeight: number): RGBImage {
  const rgb = toRGB(img);
  if (!isPositiveInt(outWidth) || !isPositiveInt(outHeight)) {
    throw new ShuffleNetError('E_ARGUMENT', `resize target must be positive integers, got ${String(outWidth)}x${String(outHeight)}`);
  }
  if (outWidth * outHeight > MAX_PIXELS) {
    throw new ShuffleNetError('E_LIMIT', `resize target ${outWidth}x${outHeight} is over the limit of ${MAX_PIXELS} (2^26) pixels`);
  }
  const { width: inW, height: inH } = rgb;
  if (inW === outWidth && inH === outHeight) {
    return { data: rgb.data.slice(), width: inW, height: inH, channels: 3 };
  }
  const needH = inW !== outWidth;
  const needV = inH !== outHeight;
  const ch = precomputeCoeffs(inW, outWidth);
  const cv = precomputeCoeffs(inH, outHeight);
  let data = rgb.data;
  let shift = 0;
  if (needH) {
    // Only the source rows the vertical pass reads (all rows when it is skipped).
    const yFirst = needV ? cv.bounds[0] : 0;
    const yLast = needV ? cv.bounds[outHeight * 2 - 2] + cv.bounds[outHeight * 2 - 1] : inH;
    data = resampleHorizontal(data, inW, yFirst, yLast - yFirst, outWidth, ch);
    shift = yFirst;
  }
  if (needV) {
    data = resampleVertical(data, outWidth, outHeight, cv, shift);
  }
  return { data, width: outWidth, height: outHeight, channels: 3 };
}

/**
 * How the longer side is rounded in a shorter-side resize: 'round' (nearest, ties to even, as
 * Python's round(); this is what the reference crops use) or 'floor' (torchvision's
 * int(size * long / short)).
 */
export type LongSideRounding = 'round' | 'floor';

/** Output [width, height] for a shorter-side resize: the shorter side becomes `size`, the other keeps the aspect ratio. */
export function shorterSideSize(width: number, height: number, size: number, rounding: LongSideRounding = 'round'): [number, number] {
  if (rounding !== 'round' && rounding !== 'floor') {
    throw new ShuffleNetError('E_ARGUMENT', `rounding must be 'round' or 'floor', got ${String(rounding)}`);
  }
  const other = (long: number, short: number): number => {
    // long * size / short in exact integer arithmetic (all values < 2^53)
    const num = long * size;
    const q = Math.floor(num / short);
    const r = num - q * short;
    if (rounding === 'floor') return q;
    if (2 * r > short) return q + 1;
    if (2 * r === short) return q + (q & 1); // tie: to even
    return q;
  };
  return width <= height ? [size, other(height, width)] : [other(width, height), size];
}

/**
 * Resizes so that the shorter side is `size` (default 256) and the longer side keeps the aspect
 * ratio (rounded, see LongSideRounding); Pillow-exact bilinear with antialiasing.
 */
export function resizeShorterSide(img: ImageInput, size = 256, rounding: LongSideRounding = 'round'): RGBImage {
  validateImage(img);
  if (!isPositiveInt(size)) {
    throw new ShuffleNetError('E_ARGUMENT', `resize size must be a positive integer, got ${String(size)}`);
  }
  const [w, h] = shorterSideSize(img.width, img.height, size, rounding);
  return resizeBilinear(img, w, h);
}

/**
 * Crops the central `width` x `height` region (default square 224), with offsets
 * floor((W - width) / 2) and floor((H - height) / 2) as torchvision/Pillow compute them.
 */
export function centerCrop(img: ImageInput, width = 224, height = width): RGBImage {
  const rgb = toRGB(img);
  if (!isPositiveInt(width) || !isPositiveInt(height)) {
    throw new ShuffleNetError('E_ARGUMENT', `crop size must be positive integers, got ${String(width)}x${String(height)}`);
  }
  if (width > rgb.width || height > rgb.height) {
    throw new ShuffleNetError('E_SHAPE', `center crop ${width}x${height} is larger than the image ${rgb.width}x${rgb.height}`);
  }
  const x0 = Math.floor((rgb.width - width) / 2);
  const y0 = Math.floor((rgb.height - height) / 2);
  const out = new Uint8Array(width * height * 3);
  const rowBytes = width * 3;
  for (let y = 0; y < height; y++) {
    const s = ((y + y0) * rgb.width + x0) * 3;
    out.set(rgb.data.subarray(s, s + rowBytes), y * rowBytes);
  }
  return { data: out, width, height, channels: 3 };
}

function checkTriple(name: string, v: readonly number[], nonZero: boolean): void {
  if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView))) {
    throw new ShuffleNetError('E_ARGUMENT', `${name} must be an array of 3 numbers, got ${typeof v}`);
  }
  if (v.length !== 3) {
    throw new ShuffleNetError('E_ARGUMENT', `${name} must have 3 values (R, G, B), got ${v.length}`);
  }
  for (let i = 0; i < 3; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x) || (nonZero && x === 0)) {
      throw new ShuffleNetError('E_ARGUMENT', `${name}[${i}] must be a finite${nonZero ? ' non-zero' : ''} number, got ${String(x)}`);
    }
  }
}

/**
 * Converts an image to a 1x3xHxW Float32Array (NCHW, RGB planes) of (x / 255 - mean) / std.
 */
export function toTensor(img: ImageInput, opts: NormalizeOptions = {}): Float32Array {
  const rgb = toRGB(img);
  const mean = opts.mean ?? IMAGENET_MEAN;
  const std = opts.std ?? IMAGENET_STD;
  checkTriple('mean', mean, false);
  checkTriple('std', std, true);
  const n = rgb.width * rgb.height;
  const out = new Float32Array(3 * n);
  const lut = new Float32Array(256);
  const src = rgb.data;
  for (let c = 0; c < 3; c++) {
    const m = mean[c], s = std[c];
    for (let v = 0; v < 256; v++) lut[v] = (v / 255 - m) / s;
    const plane = c * n;
    for (let i = 0, p = c; i < n; i++, p += 3) out[plane + i] = lut[src[p]];
  }
  return out;
}

/**
 * Standard ImageNet preprocessing: shorter side to `resize` (Pillow-exact bilinear), center crop
 * `crop` x `crop`, normalize with mean/std, NCHW float32.
 */
export function preprocess(img: ImageInput, opts: PreprocessOptions = {}): Tensor4 {
  const resize = opts.resize ?? 256;
  const crop = opts.crop ?? 224;
  if (!isPositiveInt(crop)) {
    throw new ShuffleNetError('E_ARGUMENT', `crop must be a positive integer, got ${String(crop)}`);
  }
  if (!isPositiveInt(resize)) {
    throw new ShuffleNetError('E_ARGUMENT', `resize must be a positive integer, got ${String(resize)}`);
  }
  if (crop > resize) {
    throw new ShuffleNetError('E_ARGUMENT', `crop (${crop}) must not exceed resize (${resize})`);
  }
  const resized = resizeShorterSide(img, resize, opts.rounding ?? 'round');
  const cropped = centerCrop(resized, crop, crop);
  const data = toTensor(cropped, { mean: opts.mean, std: opts.std });
  return { data, shape: [1, 3, crop, crop] };
}
