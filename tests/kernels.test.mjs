// Kernel tests: every export of the wasm kernel module against the plain-JS references in
// reference.mjs, over a generated matrix of shapes. tests/run.mjs runs this file twice, once
// with the plain SIMD128 binary and once with the relaxed-SIMD binary (fused multiply-add).
//
// Memory discipline is checked too. Every buffer a case uses is carved from one arena with
// garbage (NaN bit patterns) in front of it, behind it and in its padding; after the call the
// whole arena (and everything below it) must be unchanged except inside the regions the kernel
// may write: an output plane's slot [start, start + roundUp(H*W, 8) + 8 floats), or exactly the
// dense outputs (gemv, globalAvgPool, copies). The valid part of every output must match the
// reference, so a read of padding garbage into a valid output shows up as NaN. In about half
// the cases one input buffer (a plane, a vector, the border row or the weights) ends exactly
// where linear memory ends, so reading past what the ABI promises traps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../dist/esm/bindings/inline-wasm.js'; // the default entries register the inlined bytes this way
import { createKernels, chooseFlavor } from '../dist/esm/bindings/wasm.js';
import { hasSimd, hasRelaxedSimd } from '../dist/esm/bindings/features.js';
import { ShuffleNetError } from '../dist/esm/bindings/errors.js';
import * as ref from './reference.mjs';
import { rng, kernelUniformFill } from '../dist/esm/src/random.js';
import { buildGraph } from '../dist/esm/src/builders.js';

const { roundUp, outSize } = ref;
const EXPECT_FLAVOR = process.env.SHUFFLENET_EXPECT_FLAVOR ?? 'simd';
const FLAG_RELU = 1;

// ---------------------------------------------------------------------------------------------
// Harness

/** n float32 values uniform in [lo, hi). */
function randF32(rand, n, lo = -1, hi = 1) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

/** A shuffled copy (Fisher-Yates). */
function shuffled(rand, arr) {
  const a = arr.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// Garbage is a quiet NaN whose payload is the word's own address, so a word copied from
// anywhere else (even garbage onto garbage) changes its bits.
const garbage = (w) => (0x7fc00000 | (w & 0x3fffff)) >>> 0;
const GUARD = 16;                // garbage words around every buffer
const TAIL_GUARD = 256;          // garbage words after the last buffer
const ARENA_BYTES = 48 << 20;

function fillGarbage(u32, from, to) {
  for (let w = from; w < to; w++) u32[w] = garbage(w);
}

/** Floats in the slot of a plane of n pixels: tiles of 8 plus over-read/write room. */
const slotWords = (n) => roundUp(n, 8) + 8;

/**
 * One test case's memory: a bump allocator over the rest of linear memory; everything allocated
 * is garbage-filled (payload and guards) until written. One buffer per case may instead sit
 * flush against the end of linear memory, so that any read past its end traps. snapshot()
 * freezes the state before the kernel call; check() then verifies that nothing outside the
 * allow()ed regions changed.
 */
class Mem {
  constructor(k) {
    this.k = k;
    this.base = k.alloc(ARENA_BYTES, 64);
    this.memEnd = k.memory.buffer.byteLength; // nothing else allocates from this instance
  }

  /** Starts a case; `align` is the alignment of every buffer (4, 16 or 64 bytes). */
  begin(align = 16) {
    this.top = this.base;
    this.align = align;
    this.limit = this.memEnd;   // start of the end buffer's guard, once there is one
    this.allowed = [];
    this.snaps = null;
  }

  /**
   * nWords garbage-filled words with garbage guards around them; returns the byte offset.
   * atEnd: the words end exactly where linear memory ends (guard in front only).
   */
  raw(nWords, atEnd = false) {
    if (atEnd) {
      if (this.limit !== this.memEnd) throw new Error('only one buffer per case can sit at the end of memory');
      const p = this.memEnd - nWords * 4;
      this.limit = p - GUARD * 4;
      fillGarbage(this.k.u32, this.limit >>> 2, this.memEnd >>> 2);
      return p;
    }
    const start = this.top;
    const p = roundUp(start + GUARD * 4, this.align);
    const end = p + nWords * 4 + GUARD * 4;
    if (end + TAIL_GUARD * 4 > this.limit) throw new Error(`test arena too small (${end - this.base} bytes)`);
    fillGarbage(this.k.u32, start >>> 2, end >>> 2);
    this.top = end;
    return p;
  }

  f32(data, atEnd = false) {
    const p = this.raw(data.length, atEnd);
    this.k.f32.set(data, p >>> 2);
    return p;
  }

  u32(data) {
    const p = this.raw(data.length);
    this.k.u32.set(data, p >>> 2);
    return p;
  }

  /** A plane slot for n pixels; the first n floats are `data` when given, the rest garbage. */
  plane(n, data, atEnd = false) {
    const p = this.raw(slotWords(n), atEnd);
    if (data) this.k.f32.set(data.subarray(0, n), p >>> 2);
    return p;
  }

  /** An output plane slot: the kernel may write all of it. */
  outPlane(n) {
    const p = this.plane(n);
    this.allow(p, slotWords(n));
    return p;
  }

  /**
   * Planes for the given data, allocated in random order so tables really indirect;
   * lastAtEnd puts the last one flush against the end of memory.
   */
  planes(rand, datas, n, lastAtEnd = false) {
    const ptrs = new Array(datas.length);
    for (const i of shuffled(rand, [...datas.keys()])) ptrs[i] = this.plane(n, datas[i], lastAtEnd && i === datas.length - 1);
    return ptrs;
  }

  outPlanes(rand, count, n) {
    const ptrs = new Array(count);
    for (const i of shuffled(rand, [...Array(count).keys()])) ptrs[i] = this.outPlane(n);
    return ptrs;
  }

  /**
   * A border row (zeroRow / ninfRow): `before` filled floats in front of the pointer and
   * `after` from it (atEnd: the row ends where memory ends).
   */
  fillRow(value, before, after, atEnd = false) {
    const p = this.raw(before + after, atEnd) + before * 4;
    this.k.f32.fill(value, (p >>> 2) - before, (p >>> 2) + after);
    return p;
  }

  allow(ptr, words) {
    this.allowed.push([ptr >>> 2, (ptr >>> 2) + words]);
  }

  snapshot() {
    this.raw(0); // pushes one more guard
    const end = this.top + TAIL_GUARD * 4;
    fillGarbage(this.k.u32, this.top >>> 2, end >>> 2);
    this.snaps = [[0, this.k.u32.slice(0, end >>> 2)]]; // everything from address 0
    if (this.limit !== this.memEnd) this.snaps.push([this.limit >>> 2, this.k.u32.slice(this.limit >>> 2, this.memEnd >>> 2)]);
  }

  /** Returns null, or where memory outside the allowed regions changed. */
  check() {
    const u = this.k.u32;
    const regs = this.allowed.slice().sort((a, b) => a[0] - b[0]);
    for (const [from, s] of this.snaps) {
      const n = from + s.length;
      let ri = 0;
      for (let w = from; w < n;) {
        if (ri < regs.length && w >= regs[ri][0]) {
          w = Math.max(w, regs[ri][1]);
          ri++;
          continue;
        }
        const stop = ri < regs.length ? Math.min(Math.max(regs[ri][0], w), n) : n;
        for (; w < stop; w++) {
          if (u[w] !== s[w - from]) {
            const near = regs.filter(([a, b]) => b >= w - 64 && a <= w + 64).map(([a, b]) => `[${a * 4},${b * 4})`).join(' ');
            return `write outside the allowed regions at byte ${w * 4} (arena +${w * 4 - this.base}): ` +
              `0x${s[w - from].toString(16)} -> 0x${u[w].toString(16)}; allowed nearby: ${near || 'none'}`;
          }
        }
      }
    }
    return null;
  }

  /** Floats at a byte offset. */
  read(ptr, n) {
    return this.k.f32.subarray(ptr >>> 2, (ptr >>> 2) + n);
  }
}

/** Max |v| over a list of planes (for the relative tolerance). */
function maxAbs(refPlanes) {
  let m = 0;
  for (const p of refPlanes) for (let i = 0; i < p.length; i++) m = Math.max(m, Math.abs(p[i]));
  return m;
}

/**
 * Compares outputs with references: |got - want| <= 1e-5 * max|ref| + 1e-6 (tol = 'exact' for
 * kernels that only move, compare or add once). Returns null or a description of the first miss.
 */
function compare(mem, ptrs, refPlanes, n, tol = 'approx') {
  const t = tol === 'exact' ? 0 : 1e-5 * maxAbs(refPlanes) + 1e-6;
  for (let c = 0; c < refPlanes.length; c++) {
    const got = mem.read(ptrs[c], n), want = refPlanes[c];
    for (let i = 0; i < n; i++) {
      const g = got[i], w = want[i];
      if (!(Math.abs(g - w) <= t) && !(tol === 'exact' && Object.is(g, w))) {
        return `output ${c} element ${i}: got ${g}, want ${w} (tolerance ${t})`;
      }
    }
  }
  return null;
}

/** Runs a list of cases, collecting failures so one bad shape does not hide the others. */
function runCases(name, cases, fn) {
  const failures = [];
  for (let c of cases) {
    c = withEnd(c);
    let err;
    try {
      err = fn(c);
    } catch (e) {
      err = `threw ${e && e.stack ? e.stack : e}`;
    }
    if (err) failures.push(`${JSON.stringify(c)}: ${err}`);
  }
  assert.ok(cases.length > 0, `${name}: no cases`);
  if (failures.length) {
    assert.unreachable(`${name}: ${failures.length} of ${cases.length} cases failed:\n  ` +
      failures.slice(0, 12).join('\n  ') + (failures.length > 12 ? '\n  ...' : ''));
  }
}

/**
 * Which buffer of a case sits flush against the end of linear memory, so that reading past its
 * end traps: 'in' (an input plane or vector), 'row' (the zero / -inf row, or the weights), or
 * none. Drawn from the case's seed, so it does not correlate with the shape dimensions.
 */
function withEnd(c) {
  if ('atEnd' in c) return c;
  return { ...c, atEnd: [null, 'in', null, 'row'][Math.floor(rng(c.seed ^ 0x5bd1e995)() * 4)] };
}

/** Cartesian product of named value lists. */
function product(dims) {
  let out = [{}];
  for (const [key, values] of Object.entries(dims)) {
    out = out.flatMap((o) => values.map((v) => ({ ...o, [key]: v })));
  }
  return out;
}

const ALIGNS = [16, 64, 4];

// ---------------------------------------------------------------------------------------------
// Kernel runners: set up one case, call the kernel, return null or what went wrong.

function runConv1x1(k, mem, c) {
  const { groups, K, M, pixels, relu, res } = c;
  const rand = rng(c.seed);
  mem.begin(c.align);
  const Mpad = roundUp(M, 4);
  const inData = Array.from({ length: groups * K }, () => randF32(rand, pixels));
  const w = randF32(rand, groups * M * K);
  const b = randF32(rand, groups * M);
  const resData = res ? Array.from({ length: groups * M }, () => randF32(rand, pixels)) : null;
  const { packed, Mpad: mp } = ref.packConv1x1(w, b, groups, K, M);
  assert.is(mp, Mpad);

  const inPtrs = mem.planes(rand, inData, pixels, c.atEnd === 'in');
  const scratch = mem.outPlane(pixels);                 // the padded rows' outputs
  const outPtrs = mem.outPlanes(rand, groups * M, pixels);
  let resPtrs = null, resScratch = 0;
  if (c.inPlace) {
    // out == residual: the kernel reads each residual tile before writing that output tile
    for (let i = 0; i < outPtrs.length; i++) mem.k.f32.set(resData[i], outPtrs[i] >>> 2);
    resPtrs = outPtrs;
    resScratch = scratch;
  } else if (res) {
    resPtrs = mem.planes(rand, resData, pixels);
    resScratch = mem.plane(pixels);                      // garbage: feeds only padded rows
  }
  const outTable = [], resTable = [];
  for (let g = 0; g < groups; g++) {
    for (let m = 0; m < Mpad; m++) {
      outTable.push(m < M ? outPtrs[g * M + m] : scratch);
      if (res) resTable.push(m < M ? resPtrs[g * M + m] : resScratch);
    }
  }
  const inT = mem.u32(inPtrs);
  const outT = mem.u32(outTable);
  const resT = res ? mem.u32(resTable) : 0;
  const wp = mem.f32(packed, c.atEnd === 'row');
  mem.snapshot();
  k.exports.conv1x1(inT, K, outT, M, groups, wp, pixels, resT, relu ? FLAG_RELU : 0);
  const want = ref.conv1x1(inData, groups, K, M, w, b, pixels, resData, relu);
  return mem.check() ?? compare(mem, outPtrs, want, pixels);
}

/** packGemm (load-time weight packing) against the reference packer, bit for bit, padding lanes zero. */
function runPackGemm(k, mem, c) {
  const { groups, K, M } = c; // M per group
  const rand = rng(c.seed);
  mem.begin(c.align);
  const w = randF32(rand, groups * M * K), b = randF32(rand, groups * M);
  const { packed } = ref.packConv1x1(w, b, groups, K, M);
  const wp = mem.f32(w, c.atEnd === 'in'), bp = mem.f32(b, c.atEnd === 'row');
  const dst = mem.raw(packed.length);
  mem.allow(dst, packed.length);
  mem.snapshot();
  k.exports.packGemm(wp, bp, dst, groups * M, K, groups);
  return mem.check() ?? compare(mem, [dst], [packed], packed.length, 'exact');
}

function runGemv(k, mem, c) {
  const { K, M, relu } = c;
  const rand = rng(c.seed);
  mem.begin(c.align);
  const x = randF32(rand, K), w = randF32(rand, M * K), b = randF32(rand, M);
  const { packed, Mpad } = ref.packConv1x1(w, b, 1, K, M);
  const xp = mem.f32(x, c.atEnd === 'in');
  const wp = mem.f32(packed, c.atEnd === 'row');
  const out = mem.raw(Mpad);
  mem.allow(out, Mpad);
  mem.snapshot();
  k.exports.gemv(xp, K, wp, out, Mpad, relu ? FLAG_RELU : 0);
  return mem.check() ?? compare(mem, [out], [ref.gemv(x, K, M, w, b, relu)], M);
}

function runDwconv(k, mem, c) {
  const { C, H, W, stride, relu } = c;
  const rand = rng(c.seed);
  mem.begin(c.align);
  const Ho = outSize(H, stride), Wo = outSize(W, stride);
  const inData = Array.from({ length: C }, () => randF32(rand, H * W));
  let w, b;
  if (c.avg) {
    w = new Float32Array(C * 9).fill(1 / 9);
    b = new Float32Array(C);
  } else {
    w = randF32(rand, C * 9);
    b = randF32(rand, C);
  }
  const inPtrs = mem.planes(rand, inData, H * W, c.atEnd === 'in');
  const outPtrs = mem.outPlanes(rand, C, Ho * Wo);
  const inT = mem.u32(inPtrs), outT = mem.u32(outPtrs);
  const wp = mem.f32(ref.packDwconv(w, b, C));
  const zeroRow = mem.fillRow(0, 4, 2 * W + 16, c.atEnd === 'row');
  mem.snapshot();
  k.exports.dwconv3x3(inT, outT, C, H, W, stride, wp, zeroRow, relu ? FLAG_RELU : 0);
  const want = c.avg ? ref.avgpool3x3(inData, C, H, W, stride) : ref.dwconv3x3(inData, C, H, W, stride, w, b, relu);
  return mem.check() ?? compare(mem, outPtrs, want, Ho * Wo);
}

function runMaxpool(k, mem, c) {
  const { C, H, W } = c;
  const rand = rng(c.seed);
  mem.begin(c.align);
  const Ho = outSize(H, 2), Wo = outSize(W, 2);
  // all-negative inputs in half the cases: a zero (not -inf) border would then win
  const [lo, hi] = c.negative ? [-3, -1] : [-1, 1];
  const inData = Array.from({ length: C }, () => randF32(rand, H * W, lo, hi));
  const inPtrs = mem.planes(rand, inData, H * W, c.atEnd === 'in');
  const outPtrs = mem.outPlanes(rand, C, Ho * Wo);
  const inT = mem.u32(inPtrs), outT = mem.u32(outPtrs);
  const ninfRow = mem.fillRow(-Infinity, 4, 2 * W + 16, c.atEnd === 'row');
  mem.snapshot();
  k.exports.maxpool3x3s2(inT, outT, C, H, W, ninfRow);
  return mem.check() ?? compare(mem, outPtrs, ref.maxpool3x3s2(inData, C, H, W), Ho * Wo, 'exact');
}

function runGlobalAvgPool(k, mem, c) {
  const { C, pixels } = c;
  const rand = rng(c.seed);
  mem.begin(c.align);
  // a non-zero mean keeps the relative tolerance meaningful for long planes
  const inData = Array.from({ length: C }, () => randF32(rand, pixels, -0.5, 1.5));
  const inPtrs = mem.planes(rand, inData, pixels, c.atEnd === 'in');
  const inT = mem.u32(inPtrs);
  const out = mem.raw(C);
  mem.allow(out, C);
  mem.snapshot();
  k.exports.globalAvgPool(inT, C, pixels, out);
  return mem.check() ?? compare(mem, [out], [ref.globalAvgPool(inData, C, pixels)], C);
}

function runIm2col(k, mem, c) {
  const { Cin, H, W, stride } = c;
  const rand = rng(c.seed);
  mem.begin(c.align);
  const Ho = outSize(H, stride), Wo = outSize(W, stride);
  const inData = Array.from({ length: Cin }, () => randF32(rand, H * W));
  const inPtrs = mem.planes(rand, inData, H * W, c.atEnd === 'in');
  // rows [r0, r1) only (thread shares): each plane's allowed region is those rows, plus the
  // plane's padding after its last row (a row's last vector may spill there, never into a row
  // outside the range: that row may be another thread's)
  const [r0, r1] = c.rows ?? [0, Ho];
  const planeWords = slotWords(Ho * Wo);
  const outPtrs = Array.from({ length: Cin * 9 }, () => mem.raw(planeWords));
  for (const p of outPtrs) if (r1 > r0) mem.allow(p + r0 * Wo * 4, (r1 === Ho ? planeWords : r1 * Wo) - r0 * Wo);
  const inT = mem.u32(inPtrs), outT = mem.u32(outPtrs);
  const zeroRow = mem.fillRow(0, 4, 2 * W + 16, c.atEnd === 'row');
  mem.snapshot();
  k.exports.im2col3x3(inT, Cin, H, W, stride, outT, zeroRow, r0, r1);
  const want = ref.im2col3x3(inData, Cin, H, W, stride).map((pl) => pl.subarray(r0 * Wo, r1 * Wo));
  return mem.check() ?? compare(mem, outPtrs.map((p) => p + r0 * Wo * 4), want, (r1 - r0) * Wo, 'exact');
}

/** The stem as the engine runs it: im2col3x3 then conv1x1 with K = Cin*9, vs a direct conv. */
function runStem(k, mem, c) {
  const { Cin, H, W, stride, Cout, relu } = c;
  const rand = rng(c.seed);
  mem.begin(c.align);
  const Ho = outSize(H, stride), Wo = outSize(W, stride), n = Ho * Wo, K = Cin * 9;
  const inData = Array.from({ length: Cin }, () => randF32(rand, H * W));
  const w = randF32(rand, Cout * K), b = randF32(rand, Cout);
  const { packed, Mpad } = ref.packConv1x1(w, b, 1, K, Cout); // OIHW flattens to (co, ci*9+ky*3+kx)
  const inPtrs = mem.planes(rand, inData, H * W, c.atEnd === 'in');
  const colPtrs = mem.outPlanes(rand, K, n);
  const scratch = mem.outPlane(n);
  const outPtrs = mem.outPlanes(rand, Cout, n);
  const inT = mem.u32(inPtrs), colT = mem.u32(colPtrs);
  const outT = mem.u32([...outPtrs, ...Array(Mpad - Cout).fill(scratch)]);
  const wp = mem.f32(packed);
  const zeroRow = mem.fillRow(0, 4, 2 * W + 16, c.atEnd === 'row');
  mem.snapshot();
  k.exports.im2col3x3(inT, Cin, H, W, stride, colT, zeroRow, 0, Ho);
  k.exports.conv1x1(colT, K, outT, Cout, 1, wp, n, 0, relu ? FLAG_RELU : 0);
  return mem.check() ?? compare(mem, outPtrs, ref.conv3x3(inData, Cin, H, W, stride, Cout, w, b, relu), n);
}

function runCopyPlanes(k, mem, c) {
  const { count, pixels } = c;
  const rand = rng(c.seed);
  mem.begin(c.align);
  const data = Array.from({ length: count }, () => randF32(rand, pixels));
  const src = mem.planes(rand, data, pixels, c.atEnd === 'in');
  const dst = new Array(count);
  for (const i of shuffled(rand, [...Array(count).keys()])) {
    dst[i] = mem.plane(pixels);
    mem.allow(dst[i], pixels); // exactly `bytes`
  }
  const srcT = mem.u32(src), dstT = mem.u32(dst);
  mem.snapshot();
  k.exports.copyPlanes(srcT, dstT, count, pixels * 4);
  return mem.check() ?? compare(mem, dst, data, pixels, 'exact');
}

function runChannelShuffleCopy(k, mem, c) {
  const { C, groups, pixels } = c;
  const rand = rng(c.seed);
  mem.begin(c.align);
  const data = Array.from({ length: C }, () => randF32(rand, pixels));
  const src = mem.raw(C * pixels, c.atEnd === 'in');
  for (let i = 0; i < C; i++) mem.k.f32.set(data[i], (src >>> 2) + i * pixels);
  const dst = mem.raw(C * pixels);
  mem.allow(dst, C * pixels);
  mem.snapshot();
  k.exports.channelShuffleCopy(src, dst, C, groups, pixels * 4);
  const dstPlanes = Array.from({ length: C }, (_, i) => dst + i * pixels * 4);
  return mem.check() ?? compare(mem, dstPlanes, ref.channelShuffle(data, groups), pixels, 'exact');
}

function runAddPlanes(k, mem, c) {
  const { count, pixels, relu } = c;
  const rand = rng(c.seed);
  mem.begin(c.align);
  const a = Array.from({ length: count }, () => randF32(rand, pixels));
  const b = Array.from({ length: count }, () => randF32(rand, pixels));
  const aPtrs = mem.planes(rand, a, pixels), bPtrs = mem.planes(rand, b, pixels, c.atEnd === 'in');
  let outPtrs;
  if (c.inPlace) {
    outPtrs = aPtrs;
    for (const p of aPtrs) mem.allow(p, slotWords(pixels));
  } else {
    outPtrs = mem.outPlanes(rand, count, pixels);
  }
  const aT = mem.u32(aPtrs), bT = mem.u32(bPtrs), oT = mem.u32(outPtrs);
  mem.snapshot();
  k.exports.addPlanes(aT, bT, oT, count, pixels, relu ? FLAG_RELU : 0);
  const want = a.map((ai, i) => ref.addF32(ai, b[i], pixels, relu));
  return mem.check() ?? compare(mem, outPtrs, want, pixels, 'exact');
}

function runReluPlanes(k, mem, c) {
  const { count, pixels } = c;
  const rand = rng(c.seed);
  mem.begin(c.align);
  const a = Array.from({ length: count }, () => randF32(rand, pixels));
  const aPtrs = mem.planes(rand, a, pixels, c.atEnd === 'in');
  let outPtrs;
  if (c.inPlace) {
    outPtrs = aPtrs;
    for (const p of aPtrs) mem.allow(p, slotWords(pixels));
  } else {
    outPtrs = mem.outPlanes(rand, count, pixels);
  }
  const aT = mem.u32(aPtrs), oT = mem.u32(outPtrs);
  mem.snapshot();
  k.exports.reluPlanes(aT, oT, count, pixels);
  return mem.check() ?? compare(mem, outPtrs, a.map((ai) => ref.relu(ai, pixels)), pixels, 'exact');
}

// ---------------------------------------------------------------------------------------------
// The case matrix.

const CONV_GROUPS = [1, 2, 3, 4, 8];
const CONV_K = [1, 3, 4, 5, 20, 27, 58, 122];
const CONV_M = [1, 2, 3, 4, 5, 12, 20, 58];
const CONV_PIXELS = [1, 7, 8, 9, 49, 196, 784, 15 * 13];

/**
 * conv1x1: the full groups x K x M x pixels product (2560 shapes); ReLU and residual rotate
 * through it so that each of their four combinations meets every value of every dimension.
 */
function conv1x1Cases() {
  const cases = [];
  let i = 0;
  CONV_GROUPS.forEach((groups, iG) => CONV_K.forEach((K, iK) => CONV_M.forEach((M, iM) => CONV_PIXELS.forEach((pixels, iP) => {
    const mode = (iG + iK + 2 * iM + 3 * iP) % 4; // bit 0: ReLU, bit 1: residual
    cases.push({ groups, K, M, pixels, relu: (mode & 1) === 1, res: (mode & 2) === 2, align: ALIGNS[i % 3], seed: 100000 + i });
    i++;
  }))));
  // corners and pixel-chunk boundaries (chunk = (6144 / K) & ~7, at least 8)
  const extra = [
    { groups: 8, K: 122, M: 58, pixels: 784, relu: true, res: true },
    { groups: 1, K: 776, M: 5, pixels: 49, relu: false, res: true },   // chunk clamps to 8
    { groups: 2, K: 58, M: 12, pixels: 105 * 8 + 1, relu: true, res: false }, // chunk 104: many chunks, partial tail
    { groups: 1, K: 3, M: 4, pixels: 56 * 56, relu: true, res: true }, // chunk 2048: two chunks
    { groups: 1, K: 1, M: 3, pixels: 6144 + 9, relu: false, res: false },
    { groups: 3, K: 20, M: 20, pixels: 28 * 28, relu: true, res: true, inPlace: true }, // out == residual
    { groups: 1, K: 5, M: 7, pixels: 9, relu: false, res: true, inPlace: true },
    // relaxed SIMD: 4-channel tiles, then 5-channel tiles in runs of up to 4 (4*n4 + 5*n5 = M)
    { groups: 2, K: 7, M: 36, pixels: 75, relu: true, res: true },       // 4*4 + 5*4
    { groups: 1, K: 58, M: 116, pixels: 49, relu: true, res: false },    // 4*4 + 5*20
    { groups: 3, K: 2, M: 44, pixels: 17, relu: false, res: true, inPlace: true }, // 4*1 + 5*8
    { groups: 1, K: 13, M: 46, pixels: 28 * 28, relu: false, res: false }, // 4*4 + 5*6
    { groups: 8, K: 12, M: 45, pixels: 28 * 28, relu: true, res: false }, // 5*9: v1 g=8's 360 outputs
    { groups: 1, K: 24, M: 58, pixels: 28 * 28, relu: true, res: true, inPlace: true }, // 4*2 + 5*10
  ];
  // every M up to 45: each split into 4- and 5-channel tiles (none for 1-3, 6, 7, 11)
  for (let M = 1; M <= 45; M++) {
    extra.push({ groups: 1 + (M % 2), K: 3, M, pixels: M % 3 ? 19 : 17, relu: M % 4 < 2, res: M % 3 === 0 });
  }
  extra.forEach((e, j) => cases.push({ ...e, extra: true, align: ALIGNS[j % 3], seed: 5000 + j }));
  return cases;
}

const SIZES = [[1, 1], [2, 2], [3, 3], [7, 7], [14, 14], [28, 28], [56, 56], [5, 9], [9, 5], [13, 7], [1, 8], [8, 1]];
const DW_C = [1, 3, 4, 20, 58];

/** Every width 1..20 at heights 1..3: all lane-mask and vector-count combinations. */
const WIDTH_SWEEP = [];
for (let H = 1; H <= 3; H++) for (let W = 1; W <= 20; W++) WIDTH_SWEEP.push([H, W]);

function dwCases(stride) {
  const cases = [];
  let i = 0;
  for (const C of DW_C) {
    for (const [H, W] of SIZES) {
      for (const relu of [false, true]) cases.push({ C, H, W, stride, relu, align: ALIGNS[i % 3], seed: 2000 + stride * 1000 + i++ });
    }
  }
  for (const [H, W] of WIDTH_SWEEP) cases.push({ C: 2, H, W, stride, relu: (W & 1) === 0, align: ALIGNS[i % 3], seed: 2000 + stride * 1000 + i++ });
  return cases;
}

function poolCases(seedBase, extra = {}) {
  const cases = [];
  let i = 0;
  for (const C of DW_C) {
    for (const [H, W] of SIZES) cases.push({ C, H, W, negative: (i & 1) === 1, ...extra, align: ALIGNS[i % 3], seed: seedBase + i++ });
  }
  for (const [H, W] of WIDTH_SWEEP) cases.push({ C: 2, H, W, negative: (i & 1) === 1, ...extra, align: ALIGNS[i % 3], seed: seedBase + i++ });
  cases.push({ C: 24, H: 112, W: 112, negative: true, ...extra, align: 64, seed: seedBase + i++ }); // the ShuffleNet stem output
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Tests

let k, mem;

test.before(async () => {
  k = await createKernels({ flavor: EXPECT_FLAVOR });
  mem = new Mem(k);
});

test('the expected binary is loaded (plain SIMD128, or relaxed SIMD in the relaxed run)', () => {
  assert.is(k.flavor, EXPECT_FLAVOR);
  assert.is(k.exports.relaxedBuild(), EXPECT_FLAVOR === 'relaxed' ? 1 : 0);
});

test('flavor "auto" picks relaxed SIMD exactly when the engine validates the relaxed binary', async () => {
  const { RELAXED_WASM_BASE64 } = await import('../dist/esm/bindings/generated/wasm-bytes.js');
  const relaxedValidates = WebAssembly.validate(Buffer.from(RELAXED_WASM_BASE64, 'base64'));
  if (EXPECT_FLAVOR === 'relaxed') assert.ok(relaxedValidates, 'the relaxed run must have relaxed SIMD');
  assert.is(hasSimd(), true);
  assert.is(hasRelaxedSimd(), relaxedValidates);
  const auto = await createKernels();
  assert.is(auto.flavor, relaxedValidates ? 'relaxed' : 'simd');
  const plain = await createKernels({ flavor: 'simd' });
  assert.is(plain.flavor, 'simd');
});

test('chooseFlavor: E_NO_SIMD without SIMD, E_WASM for relaxed without relaxed SIMD', () => {
  const det = (simd, relaxed) => ({ hasSimd: () => simd, hasRelaxedSimd: () => relaxed });
  for (const requested of ['auto', 'simd', 'relaxed']) {
    for (const relaxed of [false, true]) {
      try {
        chooseFlavor(requested, det(false, relaxed));
        assert.unreachable(`chooseFlavor(${requested}) without SIMD must throw`);
      } catch (e) {
        assert.instance(e, ShuffleNetError);
        assert.is(e.code, 'E_NO_SIMD');
        assert.match(e.message, /SIMD/);
      }
    }
  }
  assert.is(chooseFlavor('auto', det(true, false)), 'simd');
  assert.is(chooseFlavor('auto', det(true, true)), 'relaxed');
  assert.is(chooseFlavor('simd', det(true, true)), 'simd');
  assert.is(chooseFlavor('relaxed', det(true, true)), 'relaxed');
  try {
    chooseFlavor('relaxed', det(true, false));
    assert.unreachable('relaxed without relaxed SIMD must throw');
  } catch (e) {
    assert.instance(e, ShuffleNetError);
    assert.is(e.code, 'E_WASM');
    assert.match(e.message, /relaxed/);
  }
});

if (EXPECT_FLAVOR !== 'relaxed') {
  test('createKernels({ flavor: "relaxed" }) fails clearly when the engine lacks relaxed SIMD', async () => {
    if (hasRelaxedSimd()) {
      // newer engines ship relaxed SIMD by default: then the request must simply work
      assert.is((await createKernels({ flavor: 'relaxed' })).flavor, 'relaxed');
      return;
    }
    try {
      await createKernels({ flavor: 'relaxed' });
      assert.unreachable('must reject');
    } catch (e) {
      assert.instance(e, ShuffleNetError);
      assert.is(e.code, 'E_WASM');
      assert.match(e.message, /relaxed/);
      assert.match(e.message, /--experimental-wasm-relaxed-simd/);
    }
  });
}

test('harness: a write outside the allowed regions is caught', () => {
  mem.begin();
  const a = mem.outPlane(9);
  const b = mem.plane(9);
  mem.snapshot();
  k.f32[(a >>> 2) + slotWords(9) - 1] = 1; // last word of the slot: allowed
  assert.is(mem.check(), null);
  k.f32[(a >>> 2) + slotWords(9)] = 1; // one past the slot
  assert.ok(mem.check());
  k.u32[(a >>> 2) + slotWords(9)] = garbage((a >>> 2) + slotWords(9));
  k.f32[(b >>> 2) - 1] = 1; // guard in front of a read-only plane
  assert.ok(mem.check());

  // a buffer at the end of memory: reading its last word works, one word more traps
  mem.begin();
  const src = mem.plane(9, new Float32Array(9), true);
  assert.is(src + slotWords(9) * 4, k.memory.buffer.byteLength);
  const dst = mem.outPlane(9);
  const srcT = mem.u32([src]), dstT = mem.u32([dst]);
  mem.snapshot();
  k.exports.copyPlanes(srcT, dstT, 1, slotWords(9) * 4);
  assert.is(mem.check(), null);
  assert.throws(() => k.exports.copyPlanes(srcT, dstT, 1, slotWords(9) * 4 + 4), /out of bounds/);
});

const convCases = conv1x1Cases();
for (const K of CONV_K) {
  test(`conv1x1 K=${K}: groups x M x pixels, ReLU / residual`, () => {
    runCases(`conv1x1 K=${K}`, convCases.filter((c) => c.K === K && !c.extra), (c) => runConv1x1(k, mem, c));
  });
}
test('conv1x1: corner shapes, pixel chunk boundaries, residual in place', () => {
  runCases('conv1x1 extra', convCases.filter((c) => c.extra), (c) => runConv1x1(k, mem, c));
});

test('fillUniform: the same values and generator state as random.ts, across chunk boundaries', () => {
  const fill = kernelUniformFill(k);
  const used = k.used;
  for (const seed of [1, 7, 0x7fffffff, -3, 2 ** 32 + 5]) {
    for (const n of [0, 1, 5, 4096, (1 << 18) + 3, 600000]) {
      for (const bound of [0.1, Math.sqrt(6 / 27), 2]) {
        const js = rng(seed), wasm = rng(seed, fill);
        js(); wasm(); // a state that has moved
        const a = js.fillUniform(new Float32Array(n), bound), b = wasm.fillUniform(new Float32Array(n), bound);
        for (let i = 0; i < n; i++) if (!Object.is(a[i], b[i])) assert.unreachable(`seed ${seed} n ${n} bound ${bound}: value ${i} is ${b[i]}, want ${a[i]}`);
        assert.is(wasm(), js(), `state after seed ${seed} n ${n}`);
      }
    }
  }
  assert.is(k.used, used, 'the scratch memory is released');
  // and whole networks: every weight equal
  for (const o of [{ arch: 'v2', width: 0.5, seed: 4 }, { arch: 'v1', width: 0.25, groups: 8, seed: 9 }]) {
    const a = buildGraph(o), b = buildGraph(o, fill);
    a.nodes.forEach((n, i) => {
      for (const key of ['weight', 'bias']) {
        if (!n[key]) continue;
        assert.ok(n[key].every((v, j) => Object.is(v, b.nodes[i][key][j])), `${o.arch} ${n.name} ${key}`);
      }
    });
  }
});

test('packGemm: every conv1x1 shape (groups x K x M per group) and the fc shape', () => {
  const seen = new Set();
  const cases = [];
  for (const c of convCases.concat([{ groups: 1, K: 1024, M: 1000 }, { groups: 1, K: 1023, M: 1001 }])) {
    const key = `${c.groups}/${c.K}/${c.M}`;
    if (seen.has(key)) continue;
    seen.add(key);
    cases.push({ groups: c.groups, K: c.K, M: c.M, align: ALIGNS[cases.length % 3], seed: 9000 + cases.length });
  }
  runCases('packGemm', cases, (c) => runPackGemm(k, mem, c));
});

test('public kernels API: a bias of the wrong length or type is E_SHAPE, before anything runs', async () => {
  const { loadKernels } = await import('../dist/esm/src/kernels.js');
  const lib = await loadKernels();
  const x = lib.planes(8, 4, 4), y = lib.planes(4, 4, 4);
  const code = (f) => { try { f(); } catch (e) { return `${e.code}: ${e.message}`; } return 'no error'; };
  assert.match(code(() => lib.conv1x1(x, y, { weight: new Float32Array(32), bias: new Float32Array(3) })), /^E_SHAPE: .*bias must be a Float32Array of 4 values, got Float32Array\(3\)/);
  assert.match(code(() => lib.conv1x1(x, y, { weight: new Float32Array(32), bias: [1, 2, 3, 4] })), /^E_SHAPE: .*bias/);
  assert.match(code(() => lib.depthwise3x3(x, lib.planes(8, 4, 4), { weight: new Float32Array(72), bias: new Float64Array(8) })), /^E_SHAPE: .*bias .* Float64Array\(8\)/);
  assert.is(code(() => lib.conv1x1(x, y, { weight: new Float32Array(32), bias: new Float32Array(4) })), 'no error');
});

test('gemv: K = 1..9, 464, 1024 and M around 1000', () => {
  const cases = [];
  let i = 0;
  for (const K of [1, 2, 3, 4, 5, 6, 7, 8, 9, 464, 1024]) {
    for (const M of [1, 3, 4, 5, 999, 1000, 1001]) {
      if (K > 9 && M < 999 && M !== 5) continue;
      cases.push({ K, M, relu: (i & 1) === 1, align: ALIGNS[i % 3], seed: 7000 + i++ });
    }
  }
  runCases('gemv', cases, (c) => runGemv(k, mem, c));
});

for (const stride of [1, 2]) {
  test(`dwconv3x3 stride ${stride}: channels x sizes x ReLU, widths 1..20`, () => {
    runCases(`dwconv3x3 s${stride}`, dwCases(stride), (c) => runDwconv(k, mem, c));
  });
  test(`avgpool3x3 stride ${stride} (dwconv3x3 with 1/9 weights, count_include_pad)`, () => {
    runCases(`avgpool s${stride}`, poolCases(9000 + stride * 1000, { stride, relu: false, avg: true }), (c) => runDwconv(k, mem, c));
  });
}

test('maxpool3x3s2: channels x sizes, negative inputs (the -inf border must never win)', () => {
  runCases('maxpool', poolCases(12000), (c) => runMaxpool(k, mem, c));
});

test('globalAvgPool: odd and even pixel counts', () => {
  const cases = [];
  let i = 0;
  for (const pixels of [1, 3, 5, 7, 9, 15, 49, 91, 195, 3137, 8, 16, 784, 3136]) {
    for (const C of [1, 3, 58]) cases.push({ C, pixels, align: ALIGNS[i % 3], seed: 13000 + i++ });
  }
  cases.push({ C: 1024, pixels: 49, align: 64, seed: 13999 });
  runCases('globalAvgPool', cases, (c) => runGlobalAvgPool(k, mem, c));
});

test('im2col3x3: Cin=3, stride 1 and 2', () => {
  const cases = [];
  let i = 0;
  for (const stride of [1, 2]) {
    for (const [H, W] of [[32, 32], [33, 31], [224, 224], [1, 1], [2, 2], [7, 7], [5, 9], [9, 5], [1, 8], [8, 1], [3, 17], [17, 3]]) {
      cases.push({ Cin: 3, H, W, stride, align: ALIGNS[i % 3], seed: 14000 + i++ });
    }
  }
  cases.push({ Cin: 1, H: 4, W: 6, stride: 1, align: 16, seed: 14998 }, { Cin: 5, H: 6, W: 4, stride: 2, align: 4, seed: 14999 });
  // row ranges, as threads share the stem: first, middle, last and empty ranges
  for (const [H, W, stride, rows] of [[32, 32, 2, [0, 8]], [32, 32, 2, [8, 16]], [33, 31, 1, [1, 2]], [33, 31, 1, [32, 33]], [224, 224, 2, [56, 112]], [7, 7, 2, [2, 4]], [9, 5, 1, [3, 3]]]) {
    cases.push({ Cin: 3, H, W, stride, rows, align: ALIGNS[i % 3], seed: 14000 + i++ });
  }
  runCases('im2col3x3', cases, (c) => runIm2col(k, mem, c));
});

test('stem: im2col3x3 + conv1x1 equals a direct 3x3 convolution', () => {
  const cases = [
    { Cin: 3, H: 32, W: 32, stride: 2, Cout: 24, relu: true },
    { Cin: 3, H: 33, W: 31, stride: 2, Cout: 24, relu: false },
    { Cin: 3, H: 33, W: 31, stride: 1, Cout: 5, relu: true },
    { Cin: 3, H: 1, W: 1, stride: 2, Cout: 24, relu: true },
    { Cin: 3, H: 224, W: 224, stride: 2, Cout: 24, relu: true },
  ].map((c, i) => ({ ...c, align: ALIGNS[i % 3], seed: 15000 + i }));
  runCases('stem', cases, (c) => runStem(k, mem, c));
});

test('copyPlanes', () => {
  const cases = product({ count: [1, 3, 20], pixels: [1, 7, 8, 9, 49, 196] }).map((c, i) => ({ ...c, align: ALIGNS[i % 3], seed: 16000 + i }));
  runCases('copyPlanes', cases, (c) => runCopyPlanes(k, mem, c));
});

test('channelShuffleCopy', () => {
  const cases = [];
  let i = 0;
  for (const [C, groups] of [[1, 1], [6, 2], [6, 3], [24, 2], [24, 3], [24, 4], [24, 8], [24, 24], [116, 2], [240, 3]]) {
    for (const pixels of [1, 7, 49, 196]) cases.push({ C, groups, pixels, align: ALIGNS[i % 3], seed: 17000 + i++ });
  }
  runCases('channelShuffleCopy', cases, (c) => runChannelShuffleCopy(k, mem, c));
});

test('addPlanes (with and without ReLU, in place)', () => {
  const cases = product({ count: [1, 3, 20], pixels: [1, 3, 4, 5, 7, 8, 9, 49, 195], relu: [false, true], inPlace: [false, true] })
    .map((c, i) => ({ ...c, align: ALIGNS[i % 3], seed: 18000 + i }));
  runCases('addPlanes', cases, (c) => runAddPlanes(k, mem, c));
});

test('reluPlanes (in place too)', () => {
  const cases = product({ count: [1, 3, 20], pixels: [1, 3, 4, 5, 7, 8, 9, 49, 195], inPlace: [false, true] })
    .map((c, i) => ({ ...c, align: ALIGNS[i % 3], seed: 19000 + i }));
  runCases('reluPlanes', cases, (c) => runReluPlanes(k, mem, c));
});

test.run();
