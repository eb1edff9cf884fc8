// Pointwise (1x1) convolution as a grouped GEMM over channel planes.
//
// Layout: every activation channel is a plane of `pixels` floats; a tensor is a table of
// u32 byte offsets, one per channel. Reading inputs and writing outputs through tables is
// what makes channel shuffle, split and concat free: they only permute or slice tables.
//
// Register tiles (V8 gives wasm 15 xmm registers; TurboFan schedules every load of a loop
// body before its arithmetic, so accumulators + all vectors loaded per k must stay <= 15):
// - 4 output channels x 8 pixels: 8 accumulators + 2 activation vectors + 4 splatted weights.
//   Enough for mul+add (the plain SIMD build reaches the mul+add port limit with it).
// - relaxed SIMD: 5 channels x 8 pixels, 10 accumulators. Eight FMA chains are exactly what
//   2 ports x 4 cycles of latency need, so 4x8 stalls on any hiccup (about 78% of the FMA
//   peak); ten leave slack. Loading 5 weights + 2 vectors at the top would make 17 live
//   values, so the k loop tests its exit after 3 rows: the 3 rows' FMAs must happen before
//   the branch (their results are live on the exit path) and the last 2 rows' weights are
//   loaded after it, 15 live at most; a second, never-taken test ends the step (see tile()).
//   Five-channel tiles run in fours over 20 channels (5 blocks of 4), after the 4x8 tiles
//   that make up the rest of the channels (see conv1x1). To check for spills: `node
//   --perf-prof` writes the TurboFan code into jit-<pid>.dump (code bytes follow each
//   JIT_CODE_LOAD record).
// Every output value is bias + sum over k in order (+ residual, ReLU) whatever tile computes
// it, so results do not depend on the tiling or on how a call is split over threads.
//
// Packed weights, per group, per block of 4 output channels: [4 biases][K x 4 weights]
// (k-major: the 4 weights of input channel k are adjacent). Output channel counts are
// padded to a multiple of 4 with zero rows whose out-table entries point at a scratch plane.
import { madd, relu } from "./simd";

export const FLAG_RELU: i32 = 1;

/**
 * out[g][m] = act(bias[m] + sum_k w[m][k] * in[g][k] (+ res[g][m]))
 * @param inTable   u32 offsets of groups*K input planes
 * @param K         input channels per group
 * @param outTable  u32 offsets of groups*Mpad output planes, Mpad = M rounded up to a multiple
 *                  of 4 (the entries past M may point at a scratch plane)
 * @param M         output channels per group
 * @param groups    number of groups
 * @param weights   packed weights, groups * (Mpad/4) * (4 + 4K) floats
 * @param pixels    pixels per plane; computed in tiles of 8, so planes hold roundUp(pixels, 8)
 * @param resTable  0, or u32 offsets of groups*Mpad planes added before the activation
 * @param flags     FLAG_RELU
 */
export function conv1x1(
  inTable: usize, K: i32, outTable: usize, M: i32, groups: i32,
  weights: usize, pixels: i32, resTable: usize, flags: i32,
): void {
  const Mpad = (M + 3) & ~3;
  const bb = <usize>((4 + 4 * K) << 2); // bytes per block of 4 output channels
  const groupBytes = (Mpad >> 2) * <i32>bb;
  // Pixel chunk: keep K x chunk input floats (about 24 KiB) in L1 while all output blocks pass.
  let chunk = (6144 / K) & ~7;
  if (chunk < 8) chunk = 8;
  // Small maps with many outputs (7x7 stage 4, conv5): the weights outweigh the input, so
  // take all pixels in one chunk and read every block of weights once, not once per chunk.
  if (Mpad > pixels && K * pixels <= 131072) chunk = pixels;
  const doRelu = (flags & FLAG_RELU) != 0;
  // 1 or 2 pixels past the last full tile of 8 (7x7 = 6 x 8 + 1) go through a 1-pixel path
  // instead of a mostly wasted tile (stage 4 and conv5 of every ShuffleNet run at 7x7).
  const tail = pixels & 7;
  const tiled = tail <= 2 ? pixels - tail : pixels;
  // Channels [0, m4) in 4x8 tiles, then n5 5x8 tiles (relaxed SIMD only): the most 5s with
  // 4 * n4 + 5 * n5 = M, so no tile computes a padding channel (58 = 4*2 + 5*10, 45 = 5*9).
  // M in {1, 2, 3, 6, 7, 11} has no such sum: 4x8 tiles over Mpad.
  let n5 = 0;
  if (ASC_FEATURE_RELAXED_SIMD) {
    n5 = M / 5;
    while (n5 > 0 && (M - 5 * n5) % 4 != 0) n5--;
  }
  const m4 = n5 > 0 ? M - 5 * n5 : Mpad;
  for (let g = 0; g < groups; g++) {
    const inT = inTable + <usize>(g * K * 4);
    const outT = outTable + <usize>(g * Mpad * 4);
    const resT = resTable ? resTable + <usize>(g * Mpad * 4) : 0;
    const wg = weights + <usize>(g * groupBytes);
    for (let p0 = 0; p0 < tiled; p0 += chunk) {
      const pEnd = min(p0 + chunk, tiled);
      // the 1-2 tail pixels go with the last chunk, channel run by channel run, while the
      // run's weights are still in cache (7x7 layers read their weights once per call)
      const tails = pEnd == tiled;
      for (let mb = 0; mb < m4; mb += 4) {
        const w0 = wg + <usize>(mb >> 2) * bb;
        // the 4 output planes stay in registers over the pixels (a 4x8 tile has GPRs to spare)
        const ot = outT + (mb << 2);
        const o0 = <usize>load<u32>(ot), o1 = <usize>load<u32>(ot, 4), o2 = <usize>load<u32>(ot, 8), o3 = <usize>load<u32>(ot, 12);
        for (let p = p0; p < pEnd; p += 8) {
          tile(4, 4, 0, w0, w0, inT, K, ot, o0, o1, o2, o3, resT ? resT + (mb << 2) : 0, <usize>(p << 2), doRelu);
        }
      }
      if (tails) for (let p = tiled; p < pixels; p++) onePixel(inT, K, outT, 0, m4, wg, bb, p, resT, doRelu);
      if (ASC_FEATURE_RELAXED_SIMD) for (let mb = m4; mb < M; mb += 20) {
        // channels mb..mb+19 = blocks w0..w4; tile t takes 5 channels from lane t of block t
        // on; the last run may have fewer than 4 tiles
        const nt = min(4, (M - mb) / 5);
        const w0 = wg + <usize>(mb >> 2) * bb;
        // tile by tile over the chunk's pixels: 5 output planes written at a time (all 20 at
        // once would need more lines in flight than L1 has fill buffers)
        fiveOverPixels(0, w0, bb, inT, K, outT, resT, mb, p0, pEnd, doRelu);
        if (nt > 1) fiveOverPixels(1, w0, bb, inT, K, outT, resT, mb, p0, pEnd, doRelu);
        if (nt > 2) fiveOverPixels(2, w0, bb, inT, K, outT, resT, mb, p0, pEnd, doRelu);
        if (nt > 3) fiveOverPixels(3, w0, bb, inT, K, outT, resT, mb, p0, pEnd, doRelu);
        if (tails) for (let p = tiled; p < pixels; p++) onePixel(inT, K, outT, mb, min(mb + 20, Mpad), wg, bb, p, resT, doRelu);
      }
    }
    // (no full tile at all: pixels = 1 or 2)
    if (tiled == 0) for (let p = 0; p < pixels; p++) onePixel(inT, K, outT, 0, Mpad, wg, bb, p, resT, doRelu);
  }
}

/**
 * Tile t (a constant, 0..3) of the 20-channel run at channel mb over pixels [p0, pEnd): output
 * channels mb + 5t .. mb + 5t + 4, from lane t of weight block t of the run on.
 */
@inline
function fiveOverPixels(
  t: i32, w0: usize, bb: usize, inT: usize, K: i32, outT: usize, resT: usize, mb: i32, p0: i32, pEnd: i32, doRelu: bool,
): void {
  const wA = w0 + <usize>t * bb, e = <usize>((mb + 5 * t) << 2);
  for (let p = p0; p < pEnd; p += 8) {
    tile(5, 4 - t, t, wA, wA + bb, inT, K, outT + e, 0, 0, 0, 0, resT ? resT + e : 0, <usize>(p << 2), doRelu);
  }
}

/** v128.load32_splat(p + 4 * lane) with the lane (a constant) in the instruction's offset. */
@inline
function splatLane(p: usize, lane: i32): v128 {
  if (lane == 0) return v128.load32_splat(p);
  if (lane == 1) return v128.load32_splat(p, 4);
  if (lane == 2) return v128.load32_splat(p, 8);
  return v128.load32_splat(p, 12);
}

/**
 * One R x 8 tile (R = 4 or 5, a constant): output channels j < nA are lanes laneA + j of the
 * weight block at wA, channels j >= nA lanes j - nA of the block at wB. outT / resT point at
 * the tile's first table entry; off is the byte offset of its first pixel.
 */
@inline
function tile(
  R: i32, nA: i32, laneA: i32, wA: usize, wB: usize,
  inT: usize, K: i32, outT: usize, o0: usize, o1: usize, o2: usize, o3: usize, resT: usize, off: usize, doRelu: bool,
): void {
  // rows 0..S-1 before the k loop's exit test, rows S..R-1 after it (see the file header)
  const S = R > 4 ? 3 : R;
  const l0 = nA > 0 ? laneA : 0;
  const l1 = nA > 1 ? laneA + 1 : 1 - nA;
  const l2 = nA > 2 ? laneA + 2 : 2 - nA;
  const l3 = nA > 3 ? laneA + 3 : 3 - nA;
  const l4 = nA > 4 ? laneA + 4 : 4 - nA;
  let c00 = splatLane(nA > 0 ? wA : wB, l0), c01 = c00;
  let c10 = splatLane(nA > 1 ? wA : wB, l1), c11 = c10;
  let c20 = splatLane(nA > 2 ? wA : wB, l2), c21 = c20;
  let c30 = splatLane(nA > 3 ? wA : wB, l3), c31 = c30;
  let c40 = c00, c41 = c00;
  if (R > 4) { c40 = splatLane(nA > 4 ? wA : wB, l4); c41 = c40; }
  let pA = wA + 16, pB = wB + 16;
  let tp = inT;
  const tpEnd = inT + <usize>(K << 2);
  let k = K;
  let x0 = f32x4.splat(0), x1 = x0;
  if (R == 4 && nA == 4 && K > 0) {
    // A 4x8 tile on one block: two k steps per iteration, each with its exit test. As a
    // one-step loop V8 (Node 20) unrolls it 4x in a module with its own memory but 3x with a
    // shared memory (threads), which made every thread's 1x1 convs 3-5% slower; written as
    // two steps it gets the same code both ways, and is no slower alone (A/B, plain SIMD).
    while (true) {
      let a = <usize>load<u32>(tp) + off, y0 = v128.load(a), y1 = v128.load(a, 16);
      let s = splatLane(pA, 0); c00 = madd(s, y0, c00); c01 = madd(s, y1, c01);
      s = splatLane(pA, 1); c10 = madd(s, y0, c10); c11 = madd(s, y1, c11);
      s = splatLane(pA, 2); c20 = madd(s, y0, c20); c21 = madd(s, y1, c21);
      s = splatLane(pA, 3); c30 = madd(s, y0, c30); c31 = madd(s, y1, c31);
      pA += 16; tp += 4;
      if (tp == tpEnd) break;
      a = <usize>load<u32>(tp) + off; y0 = v128.load(a); y1 = v128.load(a, 16);
      s = splatLane(pA, 0); c00 = madd(s, y0, c00); c01 = madd(s, y1, c01);
      s = splatLane(pA, 1); c10 = madd(s, y0, c10); c11 = madd(s, y1, c11);
      s = splatLane(pA, 2); c20 = madd(s, y0, c20); c21 = madd(s, y1, c21);
      s = splatLane(pA, 3); c30 = madd(s, y0, c30); c31 = madd(s, y1, c31);
      pA += 16; tp += 4;
      if (tp == tpEnd) break;
    }
    k = 0;
  }
  if (k > 0) while (true) {
    const a = <usize>load<u32>(tp) + off;
    x0 = v128.load(a);
    x1 = v128.load(a, 16);
    if (S > 0) { const s = splatLane(nA > 0 ? pA : pB, l0); c00 = madd(s, x0, c00); c01 = madd(s, x1, c01); }
    if (S > 1) { const s = splatLane(nA > 1 ? pA : pB, l1); c10 = madd(s, x0, c10); c11 = madd(s, x1, c11); }
    if (S > 2) { const s = splatLane(nA > 2 ? pA : pB, l2); c20 = madd(s, x0, c20); c21 = madd(s, x1, c21); }
    if (S > 3) { const s = splatLane(nA > 3 ? pA : pB, l3); c30 = madd(s, x0, c30); c31 = madd(s, x1, c31); }
    if (--k == 0) break;
    if (R > S) {
      if (S <= 3) { const s = splatLane(nA > 3 ? pA : pB, l3); c30 = madd(s, x0, c30); c31 = madd(s, x1, c31); }
      if (R > 4) { const s = splatLane(nA > 4 ? pA : pB, l4); c40 = madd(s, x0, c40); c41 = madd(s, x1, c41); }
    }
    pA += 16; tp += 4;
    if (nA < R) pB += 16; // (a 4x8 tile reads one block: no second pointer to keep)
    // Never true (the test above exits first), but a second branch keeps V8's loop unrolling
    // from fusing the rows after the exit test with the next step's loads into one block.
    if (R > S) { if (tp == tpEnd) break; }
  }
  if (R > S && K > 0) { // the last k of rows S..R-1
    if (S <= 3) { const s = splatLane(nA > 3 ? pA : pB, l3); c30 = madd(s, x0, c30); c31 = madd(s, x1, c31); }
    if (R > 4) { const s = splatLane(nA > 4 ? pA : pB, l4); c40 = madd(s, x0, c40); c41 = madd(s, x1, c41); }
  }
  // output planes: passed in by a 4x8 tile's caller, else read from the table here
  storeRow(R > 4 ? <usize>load<u32>(outT) : o0, 0, resT, off, c00, c01, doRelu);
  storeRow(R > 4 ? <usize>load<u32>(outT, 4) : o1, 4, resT, off, c10, c11, doRelu);
  storeRow(R > 4 ? <usize>load<u32>(outT, 8) : o2, 8, resT, off, c20, c21, doRelu);
  storeRow(R > 4 ? <usize>load<u32>(outT, 12) : o3, 12, resT, off, c30, c31, doRelu);
  if (R > 4) storeRow(<usize>load<u32>(outT, 16), 16, resT, off, c40, c41, doRelu);
}

/** Epilogue of one tile row: (+ residual plane at table entry e) (ReLU), store 8 pixels into plane o. */
@inline
function storeRow(o: usize, e: usize, resT: usize, off: usize, v0: v128, v1: v128, doRelu: bool): void {
  if (resT) {
    const r = <usize>load<u32>(resT + e) + off;
    v0 = f32x4.add(v0, v128.load(r)); v1 = f32x4.add(v1, v128.load(r, 16));
  }
  if (doRelu) { v0 = relu(v0); v1 = relu(v1); }
  v128.store(o + off, v0); v128.store(o + off, v1, 16);
}

/** Stores the 4 lanes of v (4 output channels, one pixel) into their planes (not inlined: size). */
function storePixel(outT: usize, mb: i32, off: usize, v: v128, resT: usize, doRelu: bool): void {
  if (resT) {
    const r = resT + (mb << 2);
    v = f32x4.add(v, f32x4(
      load<f32>(<usize>load<u32>(r) + off), load<f32>(<usize>load<u32>(r, 4) + off),
      load<f32>(<usize>load<u32>(r, 8) + off), load<f32>(<usize>load<u32>(r, 12) + off)));
  }
  if (doRelu) v = relu(v);
  const o = outT + (mb << 2);
  store<f32>(<usize>load<u32>(o) + off, f32x4.extract_lane(v, 0));
  store<f32>(<usize>load<u32>(o, 4) + off, f32x4.extract_lane(v, 1));
  store<f32>(<usize>load<u32>(o, 8) + off, f32x4.extract_lane(v, 2));
  store<f32>(<usize>load<u32>(o, 12) + off, f32x4.extract_lane(v, 3));
}

/**
 * Output channels [mb0, mb1) of one pixel: the packed weights already hold 4 channels per k,
 * so a vector of weights times the splatted input value updates 4 channels. Five (or four)
 * blocks at once give five (four) independent accumulator chains.
 */
function onePixel(inT: usize, K: i32, outT: usize, mb0: i32, mb1: i32, wg: usize, bb: usize, p: i32, resT: usize, doRelu: bool): void {
  const off = <usize>(p << 2);
  let mb = mb0;
  for (; mb + 20 <= mb1; mb += 20) pixelBlocks(5, inT, K, outT, mb, wg + <usize>(mb >> 2) * bb, bb, off, resT, doRelu);
  for (; mb + 16 <= mb1; mb += 16) pixelBlocks(4, inT, K, outT, mb, wg + <usize>(mb >> 2) * bb, bb, off, resT, doRelu);
  for (; mb < mb1; mb += 4) pixelBlocks(1, inT, K, outT, mb, wg + <usize>(mb >> 2) * bb, bb, off, resT, doRelu);
}

/** N (constant, 1..5) consecutive blocks of 4 output channels at one pixel, from weights w0. */
@inline
function pixelBlocks(N: i32, inT: usize, K: i32, outT: usize, mb: i32, w0: usize, bb: usize, off: usize, resT: usize, doRelu: bool): void {
  const w1 = w0 + bb, w2 = w1 + bb, w3 = w2 + bb, w4 = w3 + bb;
  let a0 = v128.load(w0), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
  if (N > 1) { a1 = v128.load(w1); a2 = v128.load(w2); a3 = v128.load(w3); }
  if (N > 4) a4 = v128.load(w4);
  let kOff: usize = 16, tp = inT;
  for (let k = 0; k < K; k++) {
    const x = v128.load32_splat(<usize>load<u32>(tp) + off);
    a0 = madd(x, v128.load(w0 + kOff), a0);
    if (N > 1) {
      a1 = madd(x, v128.load(w1 + kOff), a1);
      a2 = madd(x, v128.load(w2 + kOff), a2);
      a3 = madd(x, v128.load(w3 + kOff), a3);
    }
    if (N > 4) a4 = madd(x, v128.load(w4 + kOff), a4);
    kOff += 16; tp += 4;
  }
  storePixel(outT, mb, off, a0, resT, doRelu);
  if (N > 1) {
    storePixel(outT, mb + 4, off, a1, resT, doRelu);
    storePixel(outT, mb + 8, off, a2, resT, doRelu);
    storePixel(outT, mb + 12, off, a3, resT, doRelu);
  }
  if (N > 4) storePixel(outT, mb + 16, off, a4, resT, doRelu);
}

/**
 * Fully connected layer on one vector: out[m] = act(bias[m] + sum_k w[m][k] * x[k]).
 * Uses the same packed weights as conv1x1 (one group). Writes Mpad floats.
 */
export function gemv(x: usize, K: i32, weights: usize, out: usize, Mpad: i32, flags: i32): void {
  const blockBytes = (4 + 4 * K) << 2;
  const K4 = K & ~3;
  for (let mb = 0; mb < Mpad; mb += 4) {
    const wb = weights + <usize>((mb >> 2) * blockBytes);
    // Four independent chains hide the multiply-add latency.
    let a0 = v128.load(wb), a1 = f32x4.splat(0), a2 = a1, a3 = a1;
    let wp = wb + 16, xp = x;
    let k = 0;
    for (; k < K4; k += 4) {
      a0 = madd(v128.load32_splat(xp), v128.load(wp), a0);
      a1 = madd(v128.load32_splat(xp, 4), v128.load(wp, 16), a1);
      a2 = madd(v128.load32_splat(xp, 8), v128.load(wp, 32), a2);
      a3 = madd(v128.load32_splat(xp, 12), v128.load(wp, 48), a3);
      wp += 64; xp += 16;
    }
    for (; k < K; k++) {
      a0 = madd(v128.load32_splat(xp), v128.load(wp), a0);
      wp += 16; xp += 4;
    }
    let acc = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
    if (flags & FLAG_RELU) acc = relu(acc);
    v128.store(out + (mb << 2), acc);
  }
}
