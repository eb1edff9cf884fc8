// Pointwise (1x1) convolution as a grouped GEMM over channel planes.
//
// Layout: every activation channel is a plane of `pixels` floats; a tensor is a table of
// u32 byte offsets, one per channel. Reading inputs and writing outputs through tables is
// what makes channel shuffle, split and concat free: they only permute or slice tables.
//
// Register tile: 4 output channels x 8 pixels = 8 accumulators + 2 activation vectors +
// 4 splatted weights = 14 v128 values, the most V8's 15 xmm registers hold without spills.
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
 * @param outTable  u32 offsets of groups*Mpad output planes
 * @param Mpad      output channels per group, a multiple of 4
 * @param groups    number of groups
 * @param weights   packed weights, groups * (Mpad/4) * (4 + 4K) floats
 * @param pixels    pixels per plane; computed in tiles of 8, so planes hold roundUp(pixels, 8)
 * @param resTable  0, or u32 offsets of groups*Mpad planes added before the activation
 * @param flags     FLAG_RELU
 */
export function conv1x1(
  inTable: usize, K: i32, outTable: usize, Mpad: i32, groups: i32,
  weights: usize, pixels: i32, resTable: usize, flags: i32,
): void {
  const blockBytes = (4 + 4 * K) << 2;
  const groupBytes = (Mpad >> 2) * blockBytes;
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
  for (let g = 0; g < groups; g++) {
    const inT = inTable + <usize>(g * K * 4);
    const outT = outTable + <usize>(g * Mpad * 4);
    const resT = resTable ? resTable + <usize>(g * Mpad * 4) : 0;
    const wg = weights + <usize>(g * groupBytes);
    for (let p0 = 0; p0 < tiled; p0 += chunk) {
      const pEnd = min(p0 + chunk, tiled);
      for (let mb = 0; mb < Mpad; mb += 4) {
        const wb = wg + <usize>((mb >> 2) * blockBytes);
        const o0 = <usize>load<u32>(outT + (mb << 2));
        const o1 = <usize>load<u32>(outT + (mb << 2), 4);
        const o2 = <usize>load<u32>(outT + (mb << 2), 8);
        const o3 = <usize>load<u32>(outT + (mb << 2), 12);
        for (let p = p0; p < pEnd; p += 8) {
          const off = <usize>(p << 2);
          let c00 = v128.load32_splat(wb), c01 = c00;
          let c10 = v128.load32_splat(wb, 4), c11 = c10;
          let c20 = v128.load32_splat(wb, 8), c21 = c20;
          let c30 = v128.load32_splat(wb, 12), c31 = c30;
          let wp = wb + 16;
          let tp = inT;
          let k = K;
          while (k > 0) {
            const a = <usize>load<u32>(tp) + off;
            const x0 = v128.load(a);
            const x1 = v128.load(a, 16);
            const s0 = v128.load32_splat(wp);
            c00 = madd(s0, x0, c00); c01 = madd(s0, x1, c01);
            const s1 = v128.load32_splat(wp, 4);
            c10 = madd(s1, x0, c10); c11 = madd(s1, x1, c11);
            const s2 = v128.load32_splat(wp, 8);
            c20 = madd(s2, x0, c20); c21 = madd(s2, x1, c21);
            const s3 = v128.load32_splat(wp, 12);
            c30 = madd(s3, x0, c30); c31 = madd(s3, x1, c31);
            wp += 16; tp += 4; k--;
          }
          if (resT) {
            const r = resT + (mb << 2);
            const r0 = <usize>load<u32>(r) + off, r1 = <usize>load<u32>(r, 4) + off;
            const r2 = <usize>load<u32>(r, 8) + off, r3 = <usize>load<u32>(r, 12) + off;
            c00 = f32x4.add(c00, v128.load(r0)); c01 = f32x4.add(c01, v128.load(r0, 16));
            c10 = f32x4.add(c10, v128.load(r1)); c11 = f32x4.add(c11, v128.load(r1, 16));
            c20 = f32x4.add(c20, v128.load(r2)); c21 = f32x4.add(c21, v128.load(r2, 16));
            c30 = f32x4.add(c30, v128.load(r3)); c31 = f32x4.add(c31, v128.load(r3, 16));
          }
          if (doRelu) {
            c00 = relu(c00); c01 = relu(c01); c10 = relu(c10); c11 = relu(c11);
            c20 = relu(c20); c21 = relu(c21); c30 = relu(c30); c31 = relu(c31);
          }
          v128.store(o0 + off, c00); v128.store(o0 + off, c01, 16);
          v128.store(o1 + off, c10); v128.store(o1 + off, c11, 16);
          v128.store(o2 + off, c20); v128.store(o2 + off, c21, 16);
          v128.store(o3 + off, c30); v128.store(o3 + off, c31, 16);
        }
      }
    }
    for (let p = tiled; p < pixels; p++) onePixel(inT, K, outT, Mpad, wg, blockBytes, p, resT, doRelu);
  }
}

/** Stores the 4 lanes of v (4 output channels, one pixel) into their planes. */
@inline
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
 * All output channels of one pixel: the packed weights already hold 4 channels per k, so a
 * vector of weights times the splatted input value updates 4 channels. Four blocks at once
 * give four independent accumulator chains.
 */
function onePixel(inT: usize, K: i32, outT: usize, Mpad: i32, wg: usize, blockBytes: i32, p: i32, resT: usize, doRelu: bool): void {
  const off = <usize>(p << 2);
  const bb = <usize>blockBytes;
  let mb = 0;
  for (; mb + 16 <= Mpad; mb += 16) {
    const w0 = wg + <usize>(mb >> 2) * bb, w1 = w0 + bb, w2 = w1 + bb, w3 = w2 + bb;
    let a0 = v128.load(w0), a1 = v128.load(w1), a2 = v128.load(w2), a3 = v128.load(w3);
    let kOff: usize = 16, tp = inT;
    for (let k = 0; k < K; k++) {
      const x = v128.load32_splat(<usize>load<u32>(tp) + off);
      a0 = madd(x, v128.load(w0 + kOff), a0);
      a1 = madd(x, v128.load(w1 + kOff), a1);
      a2 = madd(x, v128.load(w2 + kOff), a2);
      a3 = madd(x, v128.load(w3 + kOff), a3);
      kOff += 16; tp += 4;
    }
    storePixel(outT, mb, off, a0, resT, doRelu);
    storePixel(outT, mb + 4, off, a1, resT, doRelu);
    storePixel(outT, mb + 8, off, a2, resT, doRelu);
    storePixel(outT, mb + 12, off, a3, resT, doRelu);
  }
  for (; mb < Mpad; mb += 4) {
    const w0 = wg + <usize>(mb >> 2) * bb;
    let a0 = v128.load(w0);
    let kOff: usize = 16, tp = inT;
    for (let k = 0; k < K; k++) {
      a0 = madd(v128.load32_splat(<usize>load<u32>(tp) + off), v128.load(w0 + kOff), a0);
      kOff += 16; tp += 4;
    }
    storePixel(outT, mb, off, a0, resT, doRelu);
  }
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
