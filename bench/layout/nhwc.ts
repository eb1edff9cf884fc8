// NHWC (channels-last) kernels, used ONLY by the layout study in bench/layout.mjs.
// They are not part of the package. SIMD runs along channels, as in XNNPACK.
//
// Build: node bench/layout/build.mjs
//   (asc bench/layout/nhwc.ts -O3 --noAssert --runtime stub --enable simd -o build/layout-nhwc.wasm)
//
// All pointers are byte offsets into this module's linear memory; the JS side owns the memory.
// Multiply-add is `madd` from the package (mul + add in the simd build, FMA in a relaxed build),
// so both layouts use the same arithmetic.
import { madd } from "../../assembly/simd";

export const FLAG_RELU: i32 = 1;

export function heapBase(): usize {
  return __heap_base;
}

@inline
function act(v: v128, doRelu: bool): v128 {
  return doRelu ? f32x4.max(v, f32x4.splat(0)) : v;
}

/** Stores lanes 0..n-1 of v (n = 1..4) at p. */
@inline
function storePartial(p: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(p, v);
  } else if (n >= 2) {
    v128.store64_lane(p, v, 0);
    if (n == 3) v128.store32_lane(p, v, 2, 8);
  } else {
    v128.store32_lane(p, v, 0);
  }
}

// ----------------------------------------------------------------------------------------
// Grouped 1x1 convolution as GEMM: for each group g,
//   C[m][g*N + n] = act(bias_g[n] + sum_k A[m][g*K + k] * B_g[k][n])
// A is M x (row stride lda floats), C is M x (row stride ldc floats) (XNNPACK-style: a group is
// a column offset into rows that hold all channels).
//
// Packed B, per group, in column panels: first floor(N/8) panels of 8 columns, then a tail
// panel for the remaining r = N % 8 columns: 4 columns wide when r <= 4, else 8 wide (zero
// padded). Each panel is [NR biases][K x NR weights] (k-major). Floats per group:
//   packedGroupFloats(K, N) below.
//
// Register tile 4 rows x 8 columns: 8 accumulators + 2 B vectors + 4 splatted A values = 14
// live v128 (V8 exposes 15 xmm). M%4 tails reuse the same kernel with the missing row
// pointers aliased to the last valid row (identical values stored twice, XNNPACK's trick).
// ----------------------------------------------------------------------------------------

export function packedGroupFloats(K: i32, N: i32): i32 {
  const full = N >> 3;
  const r = N & 7;
  let f = full * (8 + 8 * K);
  if (r > 0) f += r <= 4 ? 4 + 4 * K : 8 + 8 * K;
  return f;
}

// 4 x 8 tile; `nr` valid columns (1..8).
@inline
function tile4x8(
  a0: usize, a1: usize, a2: usize, a3: usize, b: usize, K: i32,
  c0: usize, c1: usize, c2: usize, c3: usize, nr: i32, doRelu: bool,
): void {
  let c00 = v128.load(b), c01 = v128.load(b, 16);
  let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
  b += 32;
  let k = K;
  while (k > 0) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    const x0 = v128.load32_splat(a0);
    c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
    const x1 = v128.load32_splat(a1);
    c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
    const x2 = v128.load32_splat(a2);
    c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21);
    const x3 = v128.load32_splat(a3);
    c30 = madd(x3, b0, c30); c31 = madd(x3, b1, c31);
    a0 += 4; a1 += 4; a2 += 4; a3 += 4; b += 32; k--;
  }
  c00 = act(c00, doRelu); c01 = act(c01, doRelu); c10 = act(c10, doRelu); c11 = act(c11, doRelu);
  c20 = act(c20, doRelu); c21 = act(c21, doRelu); c30 = act(c30, doRelu); c31 = act(c31, doRelu);
  if (nr == 8) {
    // Highest row first: aliased tail rows then end with the true values (they are equal anyway).
    v128.store(c3, c30); v128.store(c3, c31, 16);
    v128.store(c2, c20); v128.store(c2, c21, 16);
    v128.store(c1, c10); v128.store(c1, c11, 16);
    v128.store(c0, c00); v128.store(c0, c01, 16);
  } else {
    // nr in 5..7
    const r = nr - 4;
    v128.store(c3, c30); storePartial(c3 + 16, c31, r);
    v128.store(c2, c20); storePartial(c2 + 16, c21, r);
    v128.store(c1, c10); storePartial(c1 + 16, c11, r);
    v128.store(c0, c00); storePartial(c0 + 16, c01, r);
  }
}

// 4 x 4 tile for a 4-wide tail panel; `nr` valid columns (1..4).
@inline
function tile4x4(
  a0: usize, a1: usize, a2: usize, a3: usize, b: usize, K: i32,
  c0: usize, c1: usize, c2: usize, c3: usize, nr: i32, doRelu: bool,
): void {
  let c00 = v128.load(b);
  let c10 = c00, c20 = c00, c30 = c00;
  b += 16;
  let k = K;
  while (k > 0) {
    const b0 = v128.load(b);
    c00 = madd(v128.load32_splat(a0), b0, c00);
    c10 = madd(v128.load32_splat(a1), b0, c10);
    c20 = madd(v128.load32_splat(a2), b0, c20);
    c30 = madd(v128.load32_splat(a3), b0, c30);
    a0 += 4; a1 += 4; a2 += 4; a3 += 4; b += 16; k--;
  }
  c00 = act(c00, doRelu); c10 = act(c10, doRelu); c20 = act(c20, doRelu); c30 = act(c30, doRelu);
  if (nr == 4) {
    v128.store(c3, c30); v128.store(c2, c20); v128.store(c1, c10); v128.store(c0, c00);
  } else {
    storePartial(c3, c30, nr); storePartial(c2, c20, nr); storePartial(c1, c10, nr); storePartial(c0, c00, nr);
  }
}

/**
 * @param a      A (M rows, row stride lda floats); group g reads columns g*K .. g*K+K-1
 * @param lda    A row stride in floats (>= groups*K)
 * @param c      C (M rows, row stride ldc floats); group g writes columns g*N .. g*N+N-1
 * @param ldc    C row stride in floats (>= groups*N)
 * @param M      rows (pixels)
 * @param K      input channels per group
 * @param N      output channels per group
 * @param groups number of groups
 * @param w      packed B, groups * packedGroupFloats(K, N) floats
 * @param flags  FLAG_RELU
 */
export function gemmNHWC(
  a: usize, lda: i32, c: usize, ldc: i32, M: i32, K: i32, N: i32, groups: i32, w: usize, flags: i32,
): void {
  const doRelu = (flags & FLAG_RELU) != 0;
  const lda4 = <usize>(lda << 2), ldc4 = <usize>(ldc << 2);
  const groupBytes = <usize>(packedGroupFloats(K, N) << 2);
  const panel8 = <usize>((8 + 8 * K) << 2);
  const full = N >> 3, r = N & 7;
  for (let g = 0; g < groups; g++) {
    const ag = a + <usize>(g * K * 4);
    const cg = c + <usize>(g * N * 4);
    let b = w + <usize>g * groupBytes;
    for (let j = 0; j < full; j++) {
      const cj = cg + <usize>(j << 5);
      for (let m = 0; m < M; m += 4) {
        const a0 = ag + <usize>m * lda4, c0 = cj + <usize>m * ldc4;
        const a1 = m + 1 < M ? a0 + lda4 : a0, c1 = m + 1 < M ? c0 + ldc4 : c0;
        const a2 = m + 2 < M ? a1 + lda4 : a1, c2 = m + 2 < M ? c1 + ldc4 : c1;
        const a3 = m + 3 < M ? a2 + lda4 : a2, c3 = m + 3 < M ? c2 + ldc4 : c2;
        tile4x8(a0, a1, a2, a3, b, K, c0, c1, c2, c3, 8, doRelu);
      }
      b += panel8;
    }
    if (r > 4) {
      const cj = cg + <usize>(full << 5);
      for (let m = 0; m < M; m += 4) {
        const a0 = ag + <usize>m * lda4, c0 = cj + <usize>m * ldc4;
        const a1 = m + 1 < M ? a0 + lda4 : a0, c1 = m + 1 < M ? c0 + ldc4 : c0;
        const a2 = m + 2 < M ? a1 + lda4 : a1, c2 = m + 2 < M ? c1 + ldc4 : c1;
        const a3 = m + 3 < M ? a2 + lda4 : a2, c3 = m + 3 < M ? c2 + ldc4 : c2;
        tile4x8(a0, a1, a2, a3, b, K, c0, c1, c2, c3, r, doRelu);
      }
    } else if (r > 0) {
      const cj = cg + <usize>(full << 5);
      for (let m = 0; m < M; m += 4) {
        const a0 = ag + <usize>m * lda4, c0 = cj + <usize>m * ldc4;
        const a1 = m + 1 < M ? a0 + lda4 : a0, c1 = m + 1 < M ? c0 + ldc4 : c0;
        const a2 = m + 2 < M ? a1 + lda4 : a1, c2 = m + 2 < M ? c1 + ldc4 : c1;
        const a3 = m + 3 < M ? a2 + lda4 : a2, c3 = m + 3 < M ? c2 + ldc4 : c2;
        tile4x4(a0, a1, a2, a3, b, K, c0, c1, c2, c3, r, doRelu);
      }
    }
  }
}

// ----------------------------------------------------------------------------------------
// Depthwise 3x3, pad 1, stride 1 or 2, NHWC.
// REQUIRES C % 4 == 0 (channel blocks of 4, no tail code); callers pad the channel count.
// Input is pre-padded: (H+2) x (W+2) x C with a zero border. Output Ho x Wo x C,
// Ho = (H-1)/stride + 1, Wo = (W-1)/stride + 1.
// Packed weights, per block of 4 channels: [4 biases][9 taps x 4] (tap-major, ky*3+kx),
// 40 floats per block.
// Loop order: output row, channel block (10 weight vectors loaded once), output column.
// ----------------------------------------------------------------------------------------

export const DW_BLOCK_FLOATS: i32 = 40;

/**
 * The depthwise loop; `pinRows` stores the partial sum after each kernel row (v5), which pins
 * TurboFan's load schedule. Inlined with a constant, so each export gets its own loop.
 */
@inline
function dwNHWCLoop(
  inp: usize, out: usize, H: i32, W: i32, C: i32, stride: i32, w: usize, flags: i32, pinRows: bool,
): void {
  const doRelu = (flags & FLAG_RELU) != 0;
  const Ho = (H - 1) / stride + 1;
  const Wo = (W - 1) / stride + 1;
  const C4 = <usize>(C << 2);
  const rowIn = <usize>(W + 2) * C4;
  const xStep = C4 * <usize>stride;
  for (let y = 0; y < Ho; y++) {
    const rowBase = inp + <usize>(y * stride) * rowIn;
    const oRow = out + <usize>(y * Wo) * C4;
    for (let cb = 0; cb < C; cb += 4) {
      const wb = w + <usize>((cb >> 2) * DW_BLOCK_FLOATS * 4);
      const bias = v128.load(wb);
      const w0 = v128.load(wb, 16), w1 = v128.load(wb, 32), w2 = v128.load(wb, 48);
      const w3 = v128.load(wb, 64), w4 = v128.load(wb, 80), w5 = v128.load(wb, 96);
      const w6 = v128.load(wb, 112), w7 = v128.load(wb, 128), w8 = v128.load(wb, 144);
      let r0 = rowBase + <usize>(cb << 2);
      let o = oRow + <usize>(cb << 2);
      for (let x = 0; x < Wo; x++) {
        const r1 = r0 + rowIn, r2 = r1 + rowIn;
        let acc = madd(w0, v128.load(r0), bias);
        acc = madd(w1, v128.load(r0 + C4), acc);
        acc = madd(w2, v128.load(r0 + 2 * C4), acc);
        if (pinRows) v128.store(o, acc);
        acc = madd(w3, v128.load(r1), acc);
        acc = madd(w4, v128.load(r1 + C4), acc);
        acc = madd(w5, v128.load(r1 + 2 * C4), acc);
        if (pinRows) v128.store(o, acc);
        acc = madd(w6, v128.load(r2), acc);
        acc = madd(w7, v128.load(r2 + C4), acc);
        acc = madd(w8, v128.load(r2 + 2 * C4), acc);
        v128.store(o, act(acc, doRelu));
        r0 += xStep; o += C4;
      }
    }
  }
}

/** v1: all nine taps accumulated in a register. */
export function dwNHWC(inp: usize, out: usize, H: i32, W: i32, C: i32, stride: i32, w: usize, flags: i32): void {
  dwNHWCLoop(inp, out, H, W, C, stride, w, flags, false);
}

/** v5: the partial sum is stored after each kernel row (pins TurboFan's load schedule). */
export function dwNHWCv5(inp: usize, out: usize, H: i32, W: i32, C: i32, stride: i32, w: usize, flags: i32): void {
  dwNHWCLoop(inp, out, H, W, C, stride, w, flags, true);
}
