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

/**
 * One kernel row's three taps for the output vector at byte offset x4 of a row.
 * `masked` (a constant after inlining) applies the border masks of the first/last vector.
 */
@inline
function taps(stride: i32, masked: bool, r: usize, x4: usize, wl: v128, wc: v128, wr: v128, acc: v128, mL: v128, mR: v128): v128 {
  let l: v128, c: v128, rr: v128;
  if (stride == 1) {
    const p = r + x4;
    l = v128.load(p - 4); c = v128.load(p); rr = v128.load(p + 4);
  } else {
    const p = r + (x4 << 1);
    l = leftLanes(p); c = evenLanes(p); rr = oddLanes(p);
  }
  if (masked) {
    l = v128.and(l, mL);
    rr = v128.and(rr, mR);
  }
  return madd(wr, rr, madd(wc, c, madd(wl, l, acc)));
}

/** Kernel row by kernel row, storing the partial sum after each (keeps TurboFan from spilling). */
@inline
function outputVector(
  stride: i32, masked: bool, r0: usize, r1: usize, r2: usize, o: usize, x4: usize,
  w0: v128, w1: v128, w2: v128, w3: v128, w4: v128, w5: v128, w6: v128, w7: v128, w8: v128,
  bias: v128, mL: v128, mR: v128, doRelu: bool,
): void {
  let a = taps(stride, masked, r0, x4, w0, w1, w2, bias, mL, mR);
  v128.store(o + x4, a);
  a = taps(stride, masked, r1, x4, w3, w4, w5, a, mL, mR);
  v128.store(o + x4, a);
  a = taps(stride, masked, r2, x4, w6, w7, w8, a, mL, mR);
  v128.store(o + x4, doRelu ? relu(a) : a);
}

@inline
function dwconvPlanes(
  stride: i32, inTable: usize, outTable: usize, C: i32, H: i32, W: i32,
  weights: usize, zeroRow: usize, doRelu: bool,
): void {
  const Ho = (H - 1) / stride + 1;
  const Wo = (W - 1) / stride + 1;
  const rowBytes = <usize>(W << 2);
  const nv = (Wo + 3) >> 2;            // vectors per output row
  const xl = (nv - 1) << 2;            // first pixel of the last vector
  const xEnd = <usize>(xl << 2);
  const ones = i32x4.splat(-1);
  const mFirst = notFirstLane();
  // Right neighbour valid for lanes whose input column + 1 < W.
  const mLast = stride == 1 ? laneMask(W - 1 - xl) : laneMask((W >> 1) - xl);
  const mFirstR = nv == 1 ? mLast : ones;
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
      outputVector(stride, true, r0, r1, r2, o, 0, w0, w1, w2, w3, w4, w5, w6, w7, w8, bias, mFirst, mFirstR, doRelu);
      for (let x4: usize = 16; x4 < xEnd; x4 += 16) {
        outputVector(stride, false, r0, r1, r2, o, x4, w0, w1, w2, w3, w4, w5, w6, w7, w8, bias, ones, ones, doRelu);
      }
      if (nv > 1) {
        outputVector(stride, true, r0, r1, r2, o, xEnd, w0, w1, w2, w3, w4, w5, w6, w7, w8, bias, ones, mLast, doRelu);
      }
    }
  }
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
  // One specialised copy per stride, so no stride test runs in the inner loop.
  const doRelu = (flags & FLAG_RELU) != 0;
  if (stride == 1) dwconvPlanes(1, inTable, outTable, C, H, W, weights, zeroRow, doRelu);
  else dwconvPlanes(2, inTable, outTable, C, H, W, weights, zeroRow, doRelu);
}
