// Node-only image decoding: JPEG and PNG files or bytes to an RGB ImageInput, matching what
// Pillow's Image.open(...).convert('RGB') gives. JPEG goes through src/jpeg-decode.ts (bit-exact
// with libjpeg-turbo's defaults, as Pillow uses), with jpeg-js as the fallback for the rare kinds it
// does not cover (arithmetic/lossless/12-bit); PNG goes through pngjs. The format is sniffed from the magic
// bytes, never from the file name.

import { readFileSync } from 'node:fs';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ShuffleNetError } from '../bindings/errors.js';
import { MAX_PIXELS, type ImageInput } from './preprocess.js';
import { decodeJpegRGB, JpegCorruptError, JpegLimitError, JpegUnsupportedError } from './jpeg-decode.js';

export type ImageFormat = 'jpeg' | 'png';

/** Decoded image: interleaved 8-bit RGB (grey replicated, alpha dropped). */
export type DecodedImage = ImageInput & { data: Uint8Array; channels: 3; format: ImageFormat };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(b: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}

function ascii(b: Uint8Array, at: number, n: number): string {
  let s = '';
  for (let i = at; i < at + n && i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** Identifies the image format from its first bytes; null when not JPEG or PNG. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  return null;
}

/** Names formats we recognise but do not decode, for a more useful error. */
function describeUnknown(b: Uint8Array): string {
  if (b.length === 0) return 'the file is empty';
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'it is a WebP image, which is not supported';
  if (ascii(b, 0, 4) === 'GIF8') return 'it is a GIF image, which is not supported';
  if (ascii(b, 0, 2) === 'BM') return 'it looks like a BMP image, which is not supported';
  if (ascii(b, 4, 4) === 'ftyp') return 'it looks like an HEIF/AVIF (ISO-BMFF) file, which is not supported';
  if ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a) || (b[0] === 0x4d && b[1] === 0x4d && b[3] === 0x2a)) {
    return 'it looks like a TIFF image, which is not supported';
  }
  const head = Array.from(b.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return `its first bytes (${head}) are neither a JPEG (ff d8 ff) nor a PNG signature`;
}

function limitError(name: string, width: number, height: number): ShuffleNetError {
  return new ShuffleNetError('E_LIMIT',
    `${name}: image is ${width}x${height} = ${width * height} pixels, over the limit of ${MAX_PIXELS} (2^26) pixels`);
}

function rgbaToRgb(src: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0, o = 0; i < n; i++, j += 4, o += 3) {
    out[o] = src[j]; out[o + 1] = src[j + 1]; out[o + 2] = src[j + 2];
  }
  return out;
}

/**
 * JPEG: our libjpeg-compatible decoder (bit-exact with Pillow/libjpeg-turbo defaults) for
 * baseline/progressive grey, YCbCr, RGB, CMYK and YCCK files; jpeg-js for what it does not cover.
 */
function decodeJpeg(bytes: Uint8Array, name: string): DecodedImage {
  try {
    const img = decodeJpegRGB(bytes, { maxPixels: MAX_PIXELS });
    return { data: img.data, width: img.width, height: img.height, channels: 3, format: 'jpeg' };
  } catch (e) {
    if (e instanceof JpegLimitError) throw limitError(name, e.width, e.height);
    if (e instanceof JpegCorruptError) throw new ShuffleNetError('E_ARGUMENT', `${name}: corrupt JPEG: ${e.message}`);
    if (!(e instanceof JpegUnsupportedError)) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new ShuffleNetError('E_ARGUMENT', `${name}: corrupt JPEG: ${msg}`);
    }
    return decodeJpegFallback(bytes, name, e.message);
  }
}

function decodeJpegFallback(bytes: Uint8Array, name: string, why: string): DecodedImage {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: true,
      maxResolutionInMP: MAX_PIXELS / 1e6,
      maxMemoryUsageInMB: 2048,
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/maxResolutionInMP|maxMemoryUsageInMB|allocate enough memory/.test(msg)) {
      throw new ShuffleNetError('E_LIMIT', `${name}: JPEG is too large to decode (${msg}); the limit is ${MAX_PIXELS} (2^26) pixels`);
    }
    throw new ShuffleNetError('E_ARGUMENT', `${name}: unsupported JPEG (${why}): ${msg}`);
  }
  const { width, height, data } = img;
  if (!(width > 0 && height > 0) || data.length !== width * height * 3) {
    throw new ShuffleNetError('E_ARGUMENT', `${name}: unsupported JPEG (${why}): no image frame could be decoded`);
  }
  if (width * height > MAX_PIXELS) throw limitError(name, width, height);
  return { data, width, height, channels: 3, format: 'jpeg' };
}

/**
 * pngjs zeroes all four channels of pixels that match a tRNS colour key (grey or RGB images).
 * Alpha is ignored here, so drop tRNS chunks for those colour types to keep the real colours.
 */
function stripColorKeyTransparency(b: Uint8Array, colorType: number): Uint8Array {
  if (colorType !== 0 && colorType !== 2) return b;
  const parts: Uint8Array[] = [b.subarray(0, 8)];
  let pos = 8;
  let dropped = false;
  while (pos + 8 <= b.length) {
    const len = ((b[pos] << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3]) >>> 0;
    const type = ascii(b, pos + 4, 4);
    const end = pos + 12 + len;
    if (end > b.length) break; // truncated: let pngjs report it
    if (type === 'tRNS') dropped = true;
    else parts.push(b.subarray(pos, end));
    pos = end;
    if (type === 'IEND') break;
  }
  if (!dropped) return b;
  if (pos < b.length) parts.push(b.subarray(pos));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function decodePng(bytes: Uint8Array, name: string): DecodedImage {
  // IHDR must come first: length 13, 'IHDR', width, height, depth, colour type, ...
  if (bytes.length < 33 || ascii(bytes, 12, 4) !== 'IHDR') {
    throw new ShuffleNetError('E_ARGUMENT', `${name}: corrupt PNG: missing IHDR header`);
  }
  const u32 = (at: number): number => ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
  const hw = u32(16), hh = u32(20), colorType = bytes[25];
  if (hw === 0 || hh === 0) {
    throw new ShuffleNetError('E_ARGUMENT', `${name}: corrupt PNG: IHDR gives size ${hw}x${hh}`);
  }
  if (hw * hh > MAX_PIXELS) throw limitError(name, hw, hh);
  const src = stripColorKeyTransparency(bytes, colorType);
  let png: { width: number; height: number; data: Uint8Array };
  try {
    png = PNG.sync.read(Buffer.from(src.buffer, src.byteOffset, src.byteLength));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ShuffleNetError('E_ARGUMENT', `${name}: corrupt or unsupported PNG: ${msg}`);
  }
  const { width, height, data } = png;
  const n = width * height;
  if (!(width > 0 && height > 0) || data.length !== n * 4) {
    throw new ShuffleNetError('E_ARGUMENT', `${name}: corrupt PNG: decoded ${data.length} bytes for ${width}x${height}`);
  }
  // pngjs returns RGBA 8-bit for every colour type and depth (grey replicated, palettes expanded,
  // 16-bit rescaled as round(v * 255 / 65535)).
  return { data: rgbaToRgb(data, n), width, height, channels: 3, format: 'png' };
}

/**
 * Decodes JPEG or PNG bytes to interleaved RGB. `nameForErrors` (a file name) is put in every
 * error message. Throws ShuffleNetError E_ARGUMENT for unknown formats and corrupt data,
 * E_LIMIT for images over 2^26 pixels.
 */
export function decodeImage(bytes: Uint8Array, nameForErrors = 'image'): DecodedImage {
  if (!(bytes instanceof Uint8Array)) {
    throw new ShuffleNetError('E_ARGUMENT', `${nameForErrors}: expected the file's bytes as a Uint8Array or Buffer, got ${typeof bytes}`);
  }
  const format = sniffImageFormat(bytes);
  if (format === 'jpeg') return decodeJpeg(bytes, nameForErrors);
  if (format === 'png') return decodePng(bytes, nameForErrors);
  throw new ShuffleNetError('E_ARGUMENT', `${nameForErrors}: not a JPEG or PNG image: ${describeUnknown(bytes)}`);
}

/** Reads and decodes a JPEG or PNG file (synchronously; awaiting the result also works). */
export function decodeImageFile(path: string): DecodedImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ShuffleNetError('E_ARGUMENT', `cannot read image file ${path}: ${msg}`);
  }
  return decodeImage(bytes, path);
}
