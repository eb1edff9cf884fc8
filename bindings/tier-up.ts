// Gets the kernels' optimized machine code compiled while a model loads instead of during its
// first inference (and fillUniform's, before buildModel makes its synthetic weights).
//
// V8 first runs a wasm module on baseline code (Liftoff) and recompiles a function with its
// optimizing compiler (TurboFan, on a background thread) once the function has executed about
// 1.8 MB worth of its code (--wasm-tiering-budget). There is no on-stack replacement, and the
// budget ran out only part-way through the first inference: measured on v2 1.0x, a first
// inference took ~25 ms of CPU, as slow as a baseline-only run, against ~10 ms once optimized.
// Running every kernel on a small all-zero block here (well under a millisecond on baseline
// code) uses the budgets up, so the recompiles overlap with weight packing and planning.
// Engines that tier differently lose nothing but that millisecond.
import type { Kernels } from './wasm.js';
import { DW_WEIGHT_FLOATS } from './kernels-abi.js';

const C = 8, H = 16, W = 16, PIXELS = H * W;
const M = 24; // conv outputs: runs of 20 channels (the relaxed build's 5x8 tiles) plus a 4-channel block
const PLANE = PIXELS + 16; // floats per plane, with the kernels' over-read margin
const CALLS = 8; // measured: 5-10 calls give the fastest build + first inference (40 cost ~3 ms more on baseline code)

/** Runs each compute kernel CALLS times on zeros in scratch memory, then frees the scratch. */
export function primeTierUp(k: Kernels): void {
  const mark = k.used;
  const floats = {
    planes: 3 * M * PLANE,                 // input, output and residual planes
    rows: 2 * (2 * W + 64 + 32),           // zero row and -inf row stand-ins (zeros here)
    gemm: (M / 4) * (4 + 4 * 27),          // packed weights for K up to 27 (the stem)
    dw: C * DW_WEIGHT_FLOATS,
    cols: 27 * PLANE,                      // im2col output for 3 channels
    vec: 64,
  };
  const total = Object.values(floats).reduce((a, b) => a + b, 0) * 4 + 4 * 64 + 64 * 4 * 4;
  k.reserve(total);
  const block = k.alloc(total);
  k.f32.fill(0, block >> 2, (block + total) >> 2);
  let at = block;
  const take = (n: number) => { const p = at; at += Math.ceil((n * 4) / 64) * 64; return p; };
  const inPlanes = take(M * PLANE), outPlanes = take(M * PLANE), resPlanes = take(M * PLANE);
  const zeroRow = take(floats.rows / 2) + 64, ninfRow = take(floats.rows / 2) + 64;
  const gemmW = take(floats.gemm), dwW = take(floats.dw), cols = take(floats.cols), vec = take(floats.vec);
  const table = (base: number, n: number) => {
    const t = take(64);
    k.writeU32(t, Array.from({ length: n }, (_, i) => base + i * PLANE * 4));
    return t;
  };
  const tIn = table(inPlanes, M), tOut = table(outPlanes, M), tRes = table(resPlanes, M), tCols = table(cols, 27);
  const x = k.exports;
  for (let i = 0; i < CALLS; i++) {
    // pixel counts with no tail, a 1-pixel tail (7x7 maps) and a longer one; with and without residual
    x.conv1x1(tIn, C, tOut, M, 1, gemmW, [PIXELS, 49, 196][i % 3], i & 1 ? tRes : 0, i & 1);
    x.conv1x1(tCols, 27, tOut, M, 1, gemmW, PIXELS - 3, 0, 1);
    x.dwconv3x3(tIn, tOut, C, H, W, 1 + ((i >> 1) & 1), dwW, zeroRow, i & 1); // both strides, with and without ReLU
    x.maxpool3x3s2(tIn, tOut, C, H, W, ninfRow);
    x.globalAvgPool(tIn, C, PIXELS, vec);
    x.im2col3x3(tIn, 3, H, W, 2, tCols, zeroRow, 0, H / 2);
    x.gemv(vec, C, gemmW, vec + 32 * 4, C, i & 1);
    x.addPlanes(tIn, tRes, tOut, C, PIXELS, i & 1);
    x.reluPlanes(tIn, tOut, C, PIXELS);
    x.fillUniform(outPlanes, C * PIXELS, i, 1);
    x.firstNonFinite(inPlanes, C * PIXELS + (i & 3));
  }
  k.release(mark);
}
