// im2col for the 3x3 stem convolution (pad 1, stride 1 or 2): writes Cin*9 planes of
// Ho x Wo pixels, plane index ci*9 + ky*3 + kx (the ONNX weight order), so the stem runs
// as conv1x1 with K = Cin*9. Each input row is read once per output row and split into
// its three horizontal taps (for stride 2 the even/odd deinterleave happens here once,
// not once per output channel). Border masks apply only to a row's first and last vector.
// A call covers output rows [row0, row1), so threads can share the stem by rows (it has only
// three input channels to share otherwise).
import { laneMask, notFirstLane } from "./simd";
import { evenLanes, oddLanes, leftLanes } from "./dwconv";

/** Stores the first `lanes` (1..4) lanes of v at p. */
@inline
function put(p: usize, v: v128, lanes: i32): void {
  if (lanes >= 4) {
    v128.store(p, v);
    return;
  }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (lanes > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (lanes > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

@inline
function tapsRow(stride: i32, r: usize, x4: usize, o0: usize, o1: usize, o2: usize, mL: v128, mR: v128, lanes: i32): void {
  if (stride == 1) {
    const p = r + x4;
    put(o0 + x4, v128.and(v128.load(p - 4), mL), lanes);
    put(o1 + x4, v128.load(p), lanes);
    put(o2 + x4, v128.and(v128.load(p + 4), mR), lanes);
  } else {
    const p = r + (x4 << 1);
    put(o0 + x4, v128.and(leftLanes(p), mL), lanes);
    put(o1 + x4, evenLanes(p), lanes);
    put(o2 + x4, v128.and(oddLanes(p), mR), lanes);
  }
}

@inline
function im2colRows(
  stride: i32, inP: usize, H: i32, W: i32, row0: i32, row1: i32, Ho: i32, Wo: i32, ky: i32,
  o0: usize, o1: usize, o2: usize, zeroRow: usize,
): void {
  const rowBytes = <usize>(W << 2);
  const outRowBytes = <usize>(Wo << 2);
  const nv = (Wo + 3) >> 2;
  const xl = (nv - 1) << 2;
  const ones = i32x4.splat(-1);
  const mFirst = notFirstLane();
  const mLast = stride == 1 ? laneMask(W - 1 - xl) : laneMask((W >> 1) - xl);
  const xEnd = <usize>(xl << 2);
  for (let yo = row0; yo < row1; yo++) {
    const iy = yo * stride + ky - 1;
    const r = iy >= 0 && iy < H ? inP + <usize>iy * rowBytes : zeroRow;
    const off = <usize>yo * outRowBytes;
    const a = o0 + off, b = o1 + off, c = o2 + off;
    // A row's last vector spills up to 3 floats into the next row, which the next row then
    // overwrites; at the end of a range that row may be another thread's: store only its lanes.
    const lastLanes = yo == row1 - 1 && row1 < Ho ? Wo - xl : 4;
    tapsRow(stride, r, 0, a, b, c, mFirst, nv == 1 ? mLast : ones, nv == 1 ? lastLanes : 4);
    for (let x4: usize = 16; x4 < xEnd; x4 += 16) tapsRow(stride, r, x4, a, b, c, ones, ones, 4);
    if (nv > 1) tapsRow(stride, r, xEnd, a, b, c, ones, mLast, lastLanes);
  }
}

export function im2col3x3(
  inTable: usize, Cin: i32, H: i32, W: i32, stride: i32, outTable: usize, zeroRow: usize,
  row0: i32, row1: i32,
): void {
  const Ho = (H - 1) / stride + 1;
  const Wo = (W - 1) / stride + 1;
  if (row1 > Ho) row1 = Ho;
  for (let ci = 0; ci < Cin; ci++) {
    const inP = <usize>load<u32>(inTable + (ci << 2));
    for (let ky = 0; ky < 3; ky++) {
      const t = outTable + <usize>((ci * 9 + ky * 3) << 2);
      const o0 = <usize>load<u32>(t), o1 = <usize>load<u32>(t, 4), o2 = <usize>load<u32>(t, 8);
      // Two copies of the loop so the stride test is not in the inner loop.
      if (stride == 1) im2colRows(1, inP, H, W, row0, row1, Ho, Wo, ky, o0, o1, o2, zeroRow);
      else im2colRows(2, inP, H, W, row0, row1, Ho, Wo, ky, o0, o1, o2, zeroRow);
    }
  }
}
