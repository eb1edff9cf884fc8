// Depthwise 3x3 convolution, pad 1, stride 1 or 2, on channel planes, fused bias and
// optional ReLU. Also serves 3x3 average pooling (count_include_pad): weights 1/9, bias 0.
//
// SIMD runs along the pixels of a row, 4 outputs per vector. Rows above and below the
// image read a shared zero row instead of branching; the left and right image borders
// are lane masks on the first and last vector of each row. The last vector of a row may
// spill past the row end: those lanes land in the next row (written again later, rows go
// in order) or in the plane's padding, which every plane has.
//
// Packed weights, per channel: [w00 w01 w02 w10 w11 w12 w20 w21 w22 bias 0 0] (48 bytes).
//
// Register budget: 9 weights + bias stay in registers; the partial sum is stored after
// each kernel row so TurboFan cannot hoist all nine loads to the top of the loop body
// (which spills). See ../../shared/notes/assemblyscript.md, depthwise v5.
import { madd, relu, laneMask, notFirstLane } from "./simd";
import { FLAG_RELU } from "./gemm";

export const DW_WEIGHT_FLOATS: i32 = 12;

// ---- one kernel row, stride 1: taps at x-1, x, x+1 ----
@inline
function tapsS1(r: usize, wl: v128, wc: v128, wr: v128, acc: v128): v128 {
  acc = madd(wl, v128.load(r - 4), acc);
  acc = madd(wc, v128.load(r), acc);
  return madd(wr, v128.load(r + 4), acc);
}

@inline
function tapsS1Masked(r: usize, wl: v128, wc: v128, wr: v128, acc: v128, mL: v128, mR: v128): v128 {
  acc = madd(wl, v128.and(v128.load(r - 4), mL), acc);
  acc = madd(wc, v128.load(r), acc);
  return madd(wr, v128.and(v128.load(r + 4), mR), acc);
}

// ---- stride 2: output x reads input 2x-1, 2x, 2x+1; deinterleave 8 inputs into even/odd lanes ----
@inline
export function evenLanes(p: usize): v128 {
  return i32x4.shuffle(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
}
@inline
export function oddLanes(p: usize): v128 {
  return i32x4.shuffle(v128.load(p), v128.load(p, 16), 1, 3, 5, 7);
}
@inline
export function leftLanes(p: usize): v128 {
  return i32x4.shuffle(v128.load(p - 4), v128.load(p, 12), 0, 2, 4, 6);
}

@inline
function tapsS2(p: usize, wl: v128, wc: v128, wr: v128, acc: v128, mL: v128, mR: v128): v128 {
  acc = madd(wl, v128.and(leftLanes(p), mL), acc);
  acc = madd(wc, evenLanes(p), acc);
  return madd(wr, v128.and(oddLanes(p), mR), acc);
}

/**
 * @param inTable  u32 offsets of C input planes (H x W)
 * @param outTable u32 offsets of C output planes (Ho x Wo), Ho = (H-1)/stride + 1
 * @param weights  C x 12 packed floats
 * @param zeroRow  a row of at least 2*W + 16 zero floats, with 4 zero floats before it
 */
export function dwconv3x3(
  inTable: usize, outTable: usize, C: i32, H: i32, W: i32, stride: i32,
  weights: usize, zeroRow: usize, flags: i32,
): void {
  const Ho = (H - 1) / stride + 1;
  const Wo = (W - 1) / stride + 1;
  const rowBytes = <usize>(W << 2);
  const nv = (Wo + 3) >> 2;            // vectors per output row
  const xl = (nv - 1) << 2;            // first pixel of the last vector
  const ones = i32x4.splat(-1);
  const mFirst = notFirstLane();
  // Right neighbour valid for lanes whose input column + 1 < W.
  const mLast = stride == 1 ? laneMask(W - 1 - xl) : laneMask((W >> 1) - xl);
  const doRelu = (flags & FLAG_RELU) != 0;
  for (let c = 0; c < C; c++) {
    const inP = <usize>load<u32>(inTable + (c << 2));
    const outP = <usize>load<u32>(outTable + (c << 2));
    const wp = weights + <usize>(c * DW_WEIGHT_FLOATS * 4);
    const w0 = v128.load32_splat(wp), w1 = v128.load32_splat(wp, 4), w2 = v128.load32_splat(wp, 8);
    const w3 = v128.load32_splat(wp, 12), w4 = v128.load32_splat(wp, 16), w5 = v128.load32_splat(wp, 20);
    const w6 = v128.load32_splat(wp, 24), w7 = v128.load32_splat(wp, 28), w8 = v128.load32_splat(wp, 32);
    const bias = v128.load32_splat(wp, 36);
    for (let yo = 0; yo < Ho; yo++) {
      const iy = yo * stride - 1;
      const r0 = iy >= 0 ? inP + <usize>iy * rowBytes : zeroRow;
      const r1 = inP + <usize>(iy + 1) * rowBytes;
      const r2 = iy + 2 < H ? inP + <usize>(iy + 2) * rowBytes : zeroRow;
      const o = outP + <usize>(yo * Wo * 4);
      if (stride == 1) {
        // first vector (left border; also the right border when the row has one vector)
        let mR = nv == 1 ? mLast : ones;
        let acc = tapsS1Masked(r0, w0, w1, w2, bias, mFirst, mR);
        acc = tapsS1Masked(r1, w3, w4, w5, acc, mFirst, mR);
        acc = tapsS1Masked(r2, w6, w7, w8, acc, mFirst, mR);
        v128.store(o, doRelu ? relu(acc) : acc);
        // interior vectors: no masks
        let x4: usize = 16;
        const xEnd = <usize>(xl << 2);
        for (; x4 < xEnd; x4 += 16) {
          let a = tapsS1(r0 + x4, w0, w1, w2, bias);
          v128.store(o + x4, a);
          a = tapsS1(r1 + x4, w3, w4, w5, a);
          v128.store(o + x4, a);
          a = tapsS1(r2 + x4, w6, w7, w8, a);
          v128.store(o + x4, doRelu ? relu(a) : a);
        }
        if (nv > 1) {
          let a = tapsS1Masked(r0 + xEnd, w0, w1, w2, bias, ones, mLast);
          a = tapsS1Masked(r1 + xEnd, w3, w4, w5, a, ones, mLast);
          a = tapsS1Masked(r2 + xEnd, w6, w7, w8, a, ones, mLast);
          v128.store(o + xEnd, doRelu ? relu(a) : a);
        }
      } else {
        for (let v = 0; v < nv; v++) {
          const x4 = <usize>(v << 4);   // output byte offset
          const i4 = x4 << 1;          // input byte offset of column 2x
          const mL = v == 0 ? mFirst : ones;
          const mR = v == nv - 1 ? mLast : ones;
          let a = tapsS2(r0 + i4, w0, w1, w2, bias, mL, mR);
          v128.store(o + x4, a);
          a = tapsS2(r1 + i4, w3, w4, w5, a, mL, mR);
          v128.store(o + x4, a);
          a = tapsS2(r2 + i4, w6, w7, w8, a, mL, mR);
          v128.store(o + x4, doRelu ? relu(a) : a);
        }
      }
    }
  }
}
