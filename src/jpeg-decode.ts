// A JPEG decoder that reproduces libjpeg(-turbo)'s default decompression, so decoded pixels
// match what Pillow's Image.open(...).convert('RGB') produces: baseline and progressive Huffman
// JPEGs, 8-bit, grey / YCbCr / RGB / CMYK / YCCK, any integral sampling factors. The numeric
// stages follow libjpeg's defaults: the "islow" integer IDCT (jidctint.c), "fancy" triangle-filter
// chroma upsampling (jdsample.c) and fixed-point YCbCr->RGB tables (jdcolor.c); CMYK goes to RGB
// the way Pillow does it (Adobe-inverted "CMYK;I" raw mode, then cmyk2rgb). Browser-safe.
//
// Anything outside that set (arithmetic coding, lossless, hierarchical, 12-bit, fractional
// sampling) throws JpegUnsupportedError so a caller can fall back to another decoder.

export class JpegUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JpegUnsupportedError';
  }
}

/** Corrupt or truncated JPEG data. */
export class JpegCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JpegCorruptError';
  }
}

/** Frame size over the caller's limit (thrown before the pixels are allocated). */
export class JpegLimitError extends Error {
  constructor(readonly width: number, readonly height: number) {
    super(`JPEG frame is ${width}x${height}`);
    this.name = 'JpegLimitError';
  }
}

export type JpegImage = { width: number; height: number; data: Uint8Array; channels: 3 };

// Zig-zag position -> natural (row-major) position, padded with 63s so corrupt run lengths
// cannot index past the block (as libjpeg's jpeg_natural_order does).
const NATURAL_ORDER = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
  58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

type HuffTable = {
  /** lookup[peek9] = (length << 8) | symbol for codes up to 9 bits; 0 = use the slow path */
  lookup: Uint16Array;
  maxcode: Int32Array; // [17], -1 when no codes of that length
  valptr: Int32Array; // [17]
  mincode: Int32Array; // [17]
  values: Uint8Array;
};

const LOOKAHEAD = 9;

function buildHuffTable(counts: Uint8Array, values: Uint8Array): HuffTable {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  let code = 0;
  let p = 0;
  for (let l = 1; l <= 16; l++) {
    const n = counts[l - 1];
    if (n > 0) {
      valptr[l] = p;
      mincode[l] = code;
      for (let i = 0; i < n; i++, p++, code++) {
        if (l <= LOOKAHEAD) {
          const shift = LOOKAHEAD - l;
          const base = code << shift;
          for (let j = 0; j < 1 << shift; j++) lookup[base + j] = (l << 8) | values[p];
        }
      }
      maxcode[l] = code - 1;
    }
    if (code > 1 << l) throw new JpegCorruptError('bad Huffman table');
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff; // sentinel
  return { lookup, maxcode, valptr, mincode, values };
}

type Component = {
  id: number;
  h: number;
  v: number;
  tq: number;
  /** downsampled size in samples */
  width: number;
  height: number;
  /** size in blocks as a non-interleaved scan covers it */
  blocksW: number;
  blocksH: number;
  /** allocated blocks per row / column (whole MCUs) */
  allocW: number;
  allocH: number;
  coefs: Int16Array; // allocW * allocH * 64, natural order
  /** quantization table latched at the component's first scan (as libjpeg does) */
  q: Uint16Array | null;
  dcPred: number;
  dcTable: HuffTable | null;
  acTable: HuffTable | null;
};

type Frame = {
  progressive: boolean;
  width: number;
  height: number;
  comps: Component[];
  maxH: number;
  maxV: number;
  mcusX: number;
  mcusY: number;
};

/** Bit reader over entropy-coded data; stops at markers and feeds zeros past them (as libjpeg). */
class BitReader {
  pos: number;
  acc = 0;
  bits = 0;
  /** zero bits appended because the data ran out (end of buffer) */
  padBitsAtEof = 0;
  hitMarker = false;
  constructor(readonly data: Uint8Array, pos: number) {
    this.pos = pos;
  }

  private fill(): void {
    const d = this.data;
    while (this.bits <= 16) {
      let byte = 0;
      if (this.hitMarker) {
        byte = 0;
      } else if (this.pos >= d.length) {
        this.padBitsAtEof += 8;
      } else {
        byte = d[this.pos];
        if (byte === 0xff) {
          const next = this.pos + 1 < d.length ? d[this.pos + 1] : -1;
          if (next === 0x00) {
            this.pos += 2;
          } else if (next === -1) {
            this.pos += 1;
            this.padBitsAtEof += 8;
            byte = 0;
          } else {
            // A marker: leave pos on it, and read zeros from now on.
            this.hitMarker = true;
            byte = 0;
          }
        } else {
          this.pos++;
        }
      }
      this.acc = ((this.acc << 8) | byte) & 0xffffff;
      this.bits += 8;
    }
  }

  bit(): number {
    if (this.bits < 1) this.fill();
    this.bits--;
    return (this.acc >> this.bits) & 1;
  }

  get(n: number): number {
    if (n === 0) return 0;
    if (this.bits < n) this.fill();
    this.bits -= n;
    return (this.acc >> this.bits) & ((1 << n) - 1);
  }

  /** Reads n bits and sign-extends them as JPEG magnitude categories do. */
  receiveExtend(n: number): number {
    if (n === 0) return 0;
    const v = this.get(n);
    return v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
  }

  decode(t: HuffTable): number {
    if (this.bits < 16) this.fill();
    const peek = (this.acc >> (this.bits - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1);
    const e = t.lookup[peek];
    if (e !== 0) {
      this.bits -= e >> 8;
      return e & 0xff;
    }
    let l = LOOKAHEAD + 1;
    let code = (this.acc >> (this.bits - l)) & ((1 << l) - 1);
    while (l <= 16 && code > t.maxcode[l]) {
      l++;
      code = (this.acc >> (this.bits - l)) & ((1 << l) - 1);
    }
    if (l > 16) throw new JpegCorruptError('bad Huffman code');
    this.bits -= l;
    return t.values[t.valptr[l] + code - t.mincode[l]];
  }

  /** Drops buffered bits at a restart boundary and skips the RSTn marker that should be next. */
  restart(): void {
    this.acc = 0;
    this.bits = 0;
    this.hitMarker = false;
    const d = this.data;
    let p = this.pos;
    while (p + 1 < d.length) {
      if (d[p] === 0xff && d[p + 1] !== 0 && d[p + 1] !== 0xff) break; // a marker
      p++;
    }
    if (p + 1 < d.length && d[p + 1] >= 0xd0 && d[p + 1] <= 0xd7) p += 2; // the expected RSTn
    this.pos = p; // any other marker is left for the caller; reads return zeros until then
  }

  /** True when the decoder consumed zero bits that were invented past the end of the file. */
  consumedPastEof(): boolean {
    return this.padBitsAtEof > this.bits;
  }
}

type ScanParams = {
  comps: Component[];
  ss: number;
  se: number;
  ah: number;
  al: number;
  restartInterval: number;
};

function decodeScan(frame: Frame, data: Uint8Array, pos: number, sp: ScanParams): number {
  const reader = new BitReader(data, pos);
  const { comps, ss, se, ah, al } = sp;
  const progressive = frame.progressive;
  let eobrun = 0;

  type BlockFn = (c: Component, off: number) => void;
  let fn: BlockFn;

  if (!progressive) {
    fn = (c, off) => {
      const co = c.coefs;
      const s = reader.decode(c.dcTable!);
      const diff = s === 0 ? 0 : reader.receiveExtend(s);
      c.dcPred += diff;
      co[off] = c.dcPred;
      const ac = c.acTable!;
      for (let k = 1; k < 64; k++) {
        const rs = reader.decode(ac);
        const r = rs >> 4;
        const sz = rs & 15;
        if (sz !== 0) {
          k += r;
          co[off + NATURAL_ORDER[k]] = reader.receiveExtend(sz);
        } else {
          if (r !== 15) break;
          k += 15;
        }
      }
    };
  } else if (ss === 0) {
    if (ah === 0) {
      fn = (c, off) => {
        const s = reader.decode(c.dcTable!);
        const diff = s === 0 ? 0 : reader.receiveExtend(s);
        c.dcPred += diff;
        c.coefs[off] = c.dcPred * (1 << al);
      };
    } else {
      fn = (c, off) => {
        if (reader.bit()) c.coefs[off] |= 1 << al;
      };
    }
  } else if (ah === 0) {
    fn = (c, off) => {
      if (eobrun > 0) { eobrun--; return; }
      const co = c.coefs;
      const ac = c.acTable!;
      for (let k = ss; k <= se; k++) {
        const rs = reader.decode(ac);
        const r = rs >> 4;
        const s = rs & 15;
        if (s !== 0) {
          k += r;
          co[off + NATURAL_ORDER[k]] = reader.receiveExtend(s) * (1 << al);
        } else if (r === 15) {
          k += 15;
        } else {
          eobrun = (1 << r) - 1;
          if (r !== 0) eobrun += reader.get(r);
          break;
        }
      }
    };
  } else {
    const p1 = 1 << al;
    const m1 = -1 << al;
    fn = (c, off) => {
      const co = c.coefs;
      const ac = c.acTable!;
      let k = ss;
      if (eobrun === 0) {
        for (; k <= se; k++) {
          const rs = reader.decode(ac);
          let r = rs >> 4;
          let s = rs & 15;
          if (s !== 0) {
            s = reader.bit() ? p1 : m1;
          } else if (r !== 15) {
            eobrun = 1 << r;
            if (r !== 0) eobrun += reader.get(r);
            break;
          }
          do {
            const z = off + NATURAL_ORDER[k];
            const cur = co[z];
            if (cur !== 0) {
              if (reader.bit() && (cur & p1) === 0) co[z] = cur >= 0 ? cur + p1 : cur + m1;
            } else {
              if (--r < 0) break;
            }
            k++;
          } while (k <= se);
          if (s !== 0) co[off + NATURAL_ORDER[k]] = s;
        }
      }
      if (eobrun > 0) {
        for (; k <= se; k++) {
          const z = off + NATURAL_ORDER[k];
          const cur = co[z];
          if (cur !== 0 && reader.bit() && (cur & p1) === 0) co[z] = cur >= 0 ? cur + p1 : cur + m1;
        }
        eobrun--;
      }
    };
  }

  const ri = sp.restartInterval;
  let todo = ri;
  const resetPredictors = (): void => {
    for (const c of comps) c.dcPred = 0;
    eobrun = 0;
  };
  const truncated = (): JpegCorruptError => new JpegCorruptError('the file is truncated (entropy-coded data ends early)');
  const beforeUnit = (): void => {
    if (reader.padBitsAtEof > 0 && reader.consumedPastEof()) throw truncated();
    if (ri > 0) {
      if (todo === 0) {
        reader.restart();
        resetPredictors();
        todo = ri;
      }
      todo--;
    }
  };

  if (comps.length === 1) {
    const c = comps[0];
    for (let by = 0; by < c.blocksH; by++) {
      for (let bx = 0; bx < c.blocksW; bx++) {
        beforeUnit();
        fn(c, (by * c.allocW + bx) * 64);
      }
    }
  } else {
    for (let my = 0; my < frame.mcusY; my++) {
      for (let mx = 0; mx < frame.mcusX; mx++) {
        beforeUnit();
        for (const c of comps) {
          for (let v = 0; v < c.v; v++) {
            const row = my * c.v + v;
            for (let h = 0; h < c.h; h++) {
              fn(c, (row * c.allocW + mx * c.h + h) * 64);
            }
          }
        }
      }
    }
  }
  if (reader.consumedPastEof()) throw truncated();
  return reader.pos;
}

// ------------------------------------------------------------------------------------------
// libjpeg "islow" IDCT (jidctint.c): 13-bit fixed-point constants, 2 extra bits between passes.

const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/** (x + 2^(n-1)) >> n on exact integers held in doubles (values may exceed 32 bits). */
function descale(x: number, n: number): number {
  return Math.floor((x + 2 ** (n - 1)) / 2 ** n);
}

/** Output range limiting after the IDCT, as libjpeg's sample_range_limit table (index & 1023). */
const IDCT_LIMIT = (() => {
  const t = new Uint8Array(1024);
  for (let i = 0; i < 1024; i++) {
    const v = i < 512 ? i + 128 : i - 1024 + 128; // wraps like the C table
    t[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return t;
})();

function idctBlock(co: Int16Array, off: number, q: Uint16Array, ws: Float64Array, out: Uint8Array, outOff: number, stride: number): void {
  // Pass 1: columns -> workspace
  for (let c = 0; c < 8; c++) {
    const i0 = off + c;
    if (co[i0 + 8] === 0 && co[i0 + 16] === 0 && co[i0 + 24] === 0 && co[i0 + 32] === 0 &&
        co[i0 + 40] === 0 && co[i0 + 48] === 0 && co[i0 + 56] === 0) {
      const dc = co[i0] * q[c] * (1 << PASS1_BITS);
      for (let r = 0; r < 8; r++) ws[r * 8 + c] = dc;
      continue;
    }
    let z2 = co[i0 + 16] * q[16 + c];
    let z3 = co[i0 + 48] * q[48 + c];
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    z2 = co[i0] * q[c];
    z3 = co[i0 + 32] * q[32 + c];
    let tmp0 = (z2 + z3) * (1 << CONST_BITS);
    let tmp1 = (z2 - z3) * (1 << CONST_BITS);
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;

    tmp0 = co[i0 + 56] * q[56 + c];
    tmp1 = co[i0 + 40] * q[40 + c];
    tmp2 = co[i0 + 24] * q[24 + c];
    tmp3 = co[i0 + 8] * q[8 + c];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 *= -FIX_1_961570560;
    z4 *= -FIX_0_390180644;
    z3 += z5;
    z4 += z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;

    const sh = CONST_BITS - PASS1_BITS;
    ws[c] = descale(tmp10 + tmp3, sh);
    ws[56 + c] = descale(tmp10 - tmp3, sh);
    ws[8 + c] = descale(tmp11 + tmp2, sh);
    ws[48 + c] = descale(tmp11 - tmp2, sh);
    ws[16 + c] = descale(tmp12 + tmp1, sh);
    ws[40 + c] = descale(tmp12 - tmp1, sh);
    ws[24 + c] = descale(tmp13 + tmp0, sh);
    ws[32 + c] = descale(tmp13 - tmp0, sh);
  }
  // Pass 2: rows -> samples
  const sh2 = CONST_BITS + PASS1_BITS + 3;
  for (let r = 0; r < 8; r++) {
    const w = r * 8;
    const o = outOff + r * stride;
    if (ws[w + 1] === 0 && ws[w + 2] === 0 && ws[w + 3] === 0 && ws[w + 4] === 0 &&
        ws[w + 5] === 0 && ws[w + 6] === 0 && ws[w + 7] === 0) {
      const v = IDCT_LIMIT[descale(ws[w], PASS1_BITS + 3) & 1023];
      for (let i = 0; i < 8; i++) out[o + i] = v;
      continue;
    }
    let z2 = ws[w + 2];
    let z3 = ws[w + 6];
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    let tmp0 = (ws[w] + ws[w + 4]) * (1 << CONST_BITS);
    let tmp1 = (ws[w] - ws[w + 4]) * (1 << CONST_BITS);
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;

    tmp0 = ws[w + 7];
    tmp1 = ws[w + 5];
    tmp2 = ws[w + 3];
    tmp3 = ws[w + 1];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 *= -FIX_1_961570560;
    z4 *= -FIX_0_390180644;
    z3 += z5;
    z4 += z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;

    out[o] = IDCT_LIMIT[descale(tmp10 + tmp3, sh2) & 1023];
    out[o + 7] = IDCT_LIMIT[descale(tmp10 - tmp3, sh2) & 1023];
    out[o + 1] = IDCT_LIMIT[descale(tmp11 + tmp2, sh2) & 1023];
    out[o + 6] = IDCT_LIMIT[descale(tmp11 - tmp2, sh2) & 1023];
    out[o + 2] = IDCT_LIMIT[descale(tmp12 + tmp1, sh2) & 1023];
    out[o + 5] = IDCT_LIMIT[descale(tmp12 - tmp1, sh2) & 1023];
    out[o + 3] = IDCT_LIMIT[descale(tmp13 + tmp0, sh2) & 1023];
    out[o + 4] = IDCT_LIMIT[descale(tmp13 - tmp0, sh2) & 1023];
  }
}

/** Inverse-DCTs a component into a sample plane of blocksW*8 x blocksH*8 (stride blocksW*8). */
function componentPlane(c: Component, q: Uint16Array): { plane: Uint8Array; stride: number } {
  const stride = c.blocksW * 8;
  const plane = new Uint8Array(stride * c.blocksH * 8);
  const ws = new Float64Array(64);
  for (let by = 0; by < c.blocksH; by++) {
    for (let bx = 0; bx < c.blocksW; bx++) {
      idctBlock(c.coefs, (by * c.allocW + bx) * 64, q, ws, plane, by * 8 * stride + bx * 8, stride);
    }
  }
  return { plane, stride };
}

// ------------------------------------------------------------------------------------------
// Upsampling to full resolution (jdsample.c, do_fancy_upsampling = TRUE), cropped to W x H.

function upsample(c: Component, src: Uint8Array, stride: number, frame: Frame): Uint8Array {
  const W = frame.width, H = frame.height;
  const fh = frame.maxH / c.h, fv = frame.maxV / c.v;
  const out = new Uint8Array(W * H);
  const cw = c.width, ch = c.height;
  if (fh === 1 && fv === 1) {
    for (let y = 0; y < H; y++) out.set(src.subarray(y * stride, y * stride + W), y * W);
    return out;
  }
  const rowAt = (r: number): number => (r < 0 ? 0 : r >= ch ? ch - 1 : r) * stride;
  if (fh === 2 && fv === 1 && cw > 2) {
    for (let y = 0; y < H; y++) {
      const ri = rowAt(y), o = y * W;
      for (let x = 0; x < W; x++) {
        const j = x >> 1;
        const cur = src[ri + j] * 3;
        out[o + x] = (x & 1) === 0
          ? (cur + src[ri + (j > 0 ? j - 1 : 0)] + 1) >> 2
          : (cur + src[ri + (j < cw - 1 ? j + 1 : cw - 1)] + 2) >> 2;
      }
    }
    return out;
  }
  if (fh === 2 && fv === 2 && cw > 2) {
    const colsum = new Int32Array(cw);
    for (let y = 0; y < H; y++) {
      const i = y >> 1;
      const r0 = rowAt(i);
      const r1 = rowAt((y & 1) === 0 ? i - 1 : i + 1);
      for (let j = 0; j < cw; j++) colsum[j] = src[r0 + j] * 3 + src[r1 + j];
      const o = y * W;
      for (let x = 0; x < W; x++) {
        const j = x >> 1;
        const cur = colsum[j] * 3;
        out[o + x] = (x & 1) === 0
          ? (cur + colsum[j > 0 ? j - 1 : 0] + 8) >> 4
          : (cur + colsum[j < cw - 1 ? j + 1 : cw - 1] + 7) >> 4;
      }
    }
    return out;
  }
  if (fh === 1 && fv === 2) {
    for (let y = 0; y < H; y++) {
      const i = y >> 1;
      const r0 = rowAt(i);
      const above = (y & 1) === 0;
      const r1 = rowAt(above ? i - 1 : i + 1);
      const bias = above ? 1 : 2;
      const o = y * W;
      for (let x = 0; x < W; x++) out[o + x] = (src[r0 + x] * 3 + src[r1 + x] + bias) >> 2;
    }
    return out;
  }
  if (Number.isInteger(fh) && Number.isInteger(fv)) {
    // box replication (h2v1_upsample / h2v2_upsample / int_upsample)
    for (let y = 0; y < H; y++) {
      const ri = Math.floor(y / fv) * stride, o = y * W;
      for (let x = 0; x < W; x++) out[o + x] = src[ri + Math.floor(x / fh)];
    }
    return out;
  }
  throw new JpegUnsupportedError('fractional chroma sampling factors');
}

// ------------------------------------------------------------------------------------------
// YCbCr -> RGB (jdcolor.c ycc_rgb_convert, 16-bit fixed point).

const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const FIXC = (x: number): number => Math.floor(x * (1 << SCALEBITS) + 0.5);
const YCC = (() => {
  const crR = new Int32Array(256), cbB = new Int32Array(256), crG = new Int32Array(256), cbG = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    crR[i] = Math.floor((FIXC(1.402) * x + ONE_HALF) / (1 << SCALEBITS));
    cbB[i] = Math.floor((FIXC(1.772) * x + ONE_HALF) / (1 << SCALEBITS));
    crG[i] = -FIXC(0.71414) * x;
    cbG[i] = -FIXC(0.34414) * x + ONE_HALF;
  }
  return { crR, cbB, crG, cbG };
})();

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// ------------------------------------------------------------------------------------------

function u16(d: Uint8Array, p: number): number {
  if (p + 1 >= d.length) throw new JpegCorruptError('the file is truncated (inside a marker segment)');
  return (d[p] << 8) | d[p + 1];
}

export type JpegDecodeOptions = {
  /** Throw JpegLimitError when width * height exceeds this (checked before allocating). */
  maxPixels?: number;
};

/** Decodes a JPEG to interleaved RGB exactly as libjpeg-turbo's defaults (islow, fancy upsampling) do. */
export function decodeJpegRGB(data: Uint8Array, opts: JpegDecodeOptions = {}): JpegImage {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) throw new JpegCorruptError('missing SOI marker');
  const qt: (Uint16Array | null)[] = [null, null, null, null];
  const dcTables: (HuffTable | null)[] = [null, null, null, null];
  const acTables: (HuffTable | null)[] = [null, null, null, null];
  let frame: Frame | null = null;
  let restartInterval = 0;
  let sawJfif = false;
  let adobeTransform = -1;
  let scans = 0;
  let pos = 2;
  let done = false;

  while (!done) {
    // find the next marker
    while (pos < data.length && data[pos] !== 0xff) pos++;
    while (pos < data.length && data[pos] === 0xff) pos++;
    if (pos >= data.length) break;
    const marker = data[pos++];
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    if (marker === 0xd9) { done = true; break; }
    const len = u16(data, pos);
    const segEnd = pos + len;
    if (len < 2 || segEnd > data.length) throw new JpegCorruptError(`marker 0x${marker.toString(16)} runs past the end of the file`);
    const p0 = pos + 2;
    switch (marker) {
      case 0xc0: case 0xc1: case 0xc2: {
        if (frame) throw new JpegUnsupportedError('more than one frame');
        const precision = data[p0];
        if (precision !== 8) throw new JpegUnsupportedError(`${precision}-bit samples`);
        const height = u16(data, p0 + 1), width = u16(data, p0 + 3), nc = data[p0 + 5];
        if (width === 0 || height === 0) throw new JpegUnsupportedError(`frame size ${width}x${height} (DNL not supported)`);
        if (opts.maxPixels !== undefined && width * height > opts.maxPixels) throw new JpegLimitError(width, height);
        if (nc !== 1 && nc !== 3 && nc !== 4) throw new JpegUnsupportedError(`${nc} colour components`);
        if (p0 + 6 + nc * 3 > segEnd) throw new JpegCorruptError('SOF segment too short');
        const comps: Component[] = [];
        let maxH = 1, maxV = 1;
        for (let i = 0; i < nc; i++) {
          const b = p0 + 6 + i * 3;
          const h = data[b + 1] >> 4, v = data[b + 1] & 15;
          if (h < 1 || h > 4 || v < 1 || v > 4) throw new JpegCorruptError(`bad sampling factors ${h}x${v}`);
          maxH = Math.max(maxH, h); maxV = Math.max(maxV, v);
          comps.push({ id: data[b], h, v, tq: data[b + 2] & 3, width: 0, height: 0, blocksW: 0, blocksH: 0, allocW: 0, allocH: 0,
            coefs: new Int16Array(0), q: null, dcPred: 0, dcTable: null, acTable: null });
        }
        const mcusX = Math.ceil(width / (8 * maxH)), mcusY = Math.ceil(height / (8 * maxV));
        for (const c of comps) {
          c.width = Math.ceil((width * c.h) / maxH);
          c.height = Math.ceil((height * c.v) / maxV);
          c.blocksW = Math.ceil(c.width / 8);
          c.blocksH = Math.ceil(c.height / 8);
          c.allocW = Math.max(mcusX * c.h, c.blocksW);
          c.allocH = Math.max(mcusY * c.v, c.blocksH);
          c.coefs = new Int16Array(c.allocW * c.allocH * 64);
        }
        frame = { progressive: marker === 0xc2, width, height, comps, maxH, maxV, mcusX, mcusY };
        break;
      }
      case 0xc3: case 0xc5: case 0xc6: case 0xc7: case 0xc9: case 0xca: case 0xcb: case 0xcd: case 0xce: case 0xcf:
        throw new JpegUnsupportedError(`JPEG process SOF${marker - 0xc0} (lossless, hierarchical or arithmetic coding)`);
      case 0xc4: {
        let p = p0;
        while (p < segEnd) {
          const tc = data[p] >> 4, th = data[p] & 15;
          if (tc > 1 || th > 3) throw new JpegCorruptError('bad DHT table id');
          if (p + 17 > segEnd) throw new JpegCorruptError('DHT segment too short');
          const counts = data.subarray(p + 1, p + 17);
          let total = 0;
          for (let i = 0; i < 16; i++) total += counts[i];
          if (total > 256 || p + 17 + total > segEnd) throw new JpegCorruptError('bad DHT table');
          const t = buildHuffTable(counts, data.slice(p + 17, p + 17 + total));
          (tc === 0 ? dcTables : acTables)[th] = t;
          p += 17 + total;
        }
        break;
      }
      case 0xdb: {
        let p = p0;
        while (p < segEnd) {
          const pq = data[p] >> 4, tq = data[p] & 15;
          if (tq > 3 || pq > 1) throw new JpegCorruptError('bad DQT table');
          const t = new Uint16Array(64);
          p++;
          for (let k = 0; k < 64; k++) {
            t[NATURAL_ORDER[k]] = pq === 0 ? data[p + k] : (data[p + 2 * k] << 8) | data[p + 2 * k + 1];
          }
          p += pq === 0 ? 64 : 128;
          if (p > segEnd) throw new JpegCorruptError('DQT segment too short');
          qt[tq] = t;
        }
        break;
      }
      case 0xdd:
        restartInterval = u16(data, p0);
        break;
      case 0xe0:
        if (len >= 7 && data[p0] === 0x4a && data[p0 + 1] === 0x46 && data[p0 + 2] === 0x49 && data[p0 + 3] === 0x46 && data[p0 + 4] === 0) sawJfif = true;
        break;
      case 0xee:
        if (len >= 14 && String.fromCharCode(...data.subarray(p0, p0 + 5)) === 'Adobe') adobeTransform = data[p0 + 11];
        break;
      case 0xda: {
        if (!frame) throw new JpegCorruptError('scan before frame header');
        const ns = data[p0];
        if (ns < 1 || ns > 4 || p0 + 1 + ns * 2 + 3 > segEnd) throw new JpegCorruptError('bad SOS header');
        const comps: Component[] = [];
        for (let i = 0; i < ns; i++) {
          const id = data[p0 + 1 + i * 2], tables = data[p0 + 2 + i * 2];
          const c = frame.comps.find((x) => x.id === id);
          if (!c) throw new JpegCorruptError(`scan names unknown component ${id}`);
          c.dcTable = dcTables[(tables >> 4) & 3];
          c.acTable = acTables[tables & 3];
          comps.push(c);
        }
        const b = p0 + 1 + ns * 2;
        const ss = data[b], se = data[b + 1], ah = data[b + 2] >> 4, al = data[b + 2] & 15;
        if (frame.progressive) {
          if (ss > se || se > 63 || (ss === 0 && se !== 0) || (ss > 0 && ns !== 1) || al > 13) {
            throw new JpegCorruptError('bad progressive scan parameters');
          }
        }
        for (const c of comps) {
          const needDc = !frame.progressive || (ss === 0 && ah === 0);
          const needAc = !frame.progressive || ss > 0;
          if (needDc && !c.dcTable) throw new JpegCorruptError('scan uses an undefined DC Huffman table');
          if (needAc && !c.acTable) throw new JpegCorruptError('scan uses an undefined AC Huffman table');
          c.dcPred = 0;
          if (!c.q) {
            const q = qt[c.tq];
            if (!q) throw new JpegCorruptError('component uses an undefined quantization table');
            c.q = q.slice();
          }
        }
        pos = decodeScan(frame, data, segEnd, { comps, ss, se, ah, al, restartInterval });
        scans++;
        continue;
      }
      default:
        break; // APPn, COM, DNL, ...: skip
    }
    pos = segEnd;
  }

  if (!frame) throw new JpegCorruptError('no frame header (SOF) found');
  if (scans === 0) throw new JpegCorruptError('no image data (SOS) found');

  const { width: W, height: H, comps } = frame;
  const planes: Uint8Array[] = comps.map((c) => {
    // A component no scan reached keeps zero coefficients (mid-grey), as libjpeg leaves it.
    const { plane, stride } = componentPlane(c, c.q ?? new Uint16Array(64));
    return upsample(c, plane, stride, frame!);
  });
  const n = W * H;
  const out = new Uint8Array(n * 3);
  if (comps.length === 1) {
    const y = planes[0];
    for (let i = 0, o = 0; i < n; i++, o += 3) { const v = y[i]; out[o] = v; out[o + 1] = v; out[o + 2] = v; }
  } else if (comps.length === 3) {
    // libjpeg's default_decompress_parms colour-space guess for 3 components
    let rgb: boolean;
    if (sawJfif) rgb = false;
    else if (adobeTransform >= 0) rgb = adobeTransform === 0;
    else rgb = comps[0].id === 82 && comps[1].id === 71 && comps[2].id === 66;
    const [p0, p1, p2] = planes;
    if (rgb) {
      for (let i = 0, o = 0; i < n; i++, o += 3) { out[o] = p0[i]; out[o + 1] = p1[i]; out[o + 2] = p2[i]; }
    } else {
      const { crR, cbB, crG, cbG } = YCC;
      for (let i = 0, o = 0; i < n; i++, o += 3) {
        const y = p0[i], cb = p1[i], cr = p2[i];
        out[o] = clamp255(y + crR[cr]);
        out[o + 1] = clamp255(y + ((cbG[cb] + crG[cr]) >> SCALEBITS));
        out[o + 2] = clamp255(y + cbB[cb]);
      }
    }
  } else {
    // 4 components: libjpeg calls it YCCK when an Adobe marker says transform != 0, else CMYK,
    // and outputs CMYK (ycck_cmyk_convert). Pillow reads that as inverted "CMYK;I" and converts
    // with cmyk2rgb: nk = 255 - k; r = nk - muldiv255(c, nk), ...
    const ycck = adobeTransform > 0;
    const [p0, p1, p2, p3] = planes;
    const { crR, cbB, crG, cbG } = YCC;
    const muldiv255 = (a: number, b: number): number => { const t = a * b + 128; return ((t >> 8) + t) >> 8; };
    for (let i = 0, o = 0; i < n; i++, o += 3) {
      let c = p0[i], m = p1[i], yy = p2[i];
      if (ycck) {
        const y = p0[i], cb = p1[i], cr = p2[i];
        c = clamp255(255 - (y + crR[cr]));
        m = clamp255(255 - (y + ((cbG[cb] + crG[cr]) >> SCALEBITS)));
        yy = clamp255(255 - (y + cbB[cb]));
      }
      const nk = p3[i]; // 255 - (255 - k)
      out[o] = clamp255(nk - muldiv255(255 - c, nk));
      out[o + 1] = clamp255(nk - muldiv255(255 - m, nk));
      out[o + 2] = clamp255(nk - muldiv255(255 - yy, nk));
    }
  }
  return { width: W, height: H, data: out, channels: 3 };
}
