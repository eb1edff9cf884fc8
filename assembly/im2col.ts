// im2col for the 3x3 stem convolution (pad 1, stride 1 or 2): writes Cin*9 planes of
// Ho x Wo pixels, plane index ci*9 + ky*3 + kx (the ONNX weight order), so the stem runs
// as conv1x1 with K = Cin*9. Each input row is read once per output row and split into
// its three horizontal taps (for stride 2 the even/odd deinterleave happens here once,
// not once per output channel). Border masks apply only to a row's first and last vector.
import { laneMask, notFirstLane } from "./simd";
import { evenLanes, oddLanes, leftLanes } from "./dwconv";

@inline
function tapsRow(stride: i32, r: usize, x4: usize, o0: usize, o1: usize, o2: usize, mL: v128, mR: v128): void {
  if (stride == 1) {
    const p = r + x4;
    v128.store(o0 + x4, v128.and(v128.load(p - 4), mL));
    v128.store(o1 + x4, v128.load(p));
    v128.store(o2 + x4, v128.and(v128.load(p + 4), mR));
  } else {
    const p = r + (x4 << 1);
    v128.store(o0 + x4, v128.and(leftLanes(p), mL));
    v128.store(o1 + x4, evenLanes(p));
    v128.store(o2 + x4, v128.and(oddLanes(p), mR));
  }
}

@inline
function im2colRows(
  stride: i32, inP: usize, H: i32, W: i32, Ho: i32, Wo: i32, ky: i32,
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
  for (let yo = 0; yo < Ho; yo++) {
    const iy = yo * stride + ky - 1;
    const r = iy >= 0 && iy < H ? inP + <usize>iy * rowBytes : zeroRow;
    const off = <usize>yo * outRowBytes;
    const a = o0 + off, b = o1 + off, c = o2 + off;
    tapsRow(stride, r, 0, a, b, c, mFirst, nv == 1 ? mLast : ones);
    for (let x4: usize = 16; x4 < xEnd; x4 += 16) tapsRow(stride, r, x4, a, b, c, ones, ones);
    if (nv > 1) tapsRow(stride, r, xEnd, a, b, c, ones, mLast);
  }
}

export function im2col3x3(
  inTable: usize, Cin: i32, H: i32, W: i32, stride: i32, outTable: usize, zeroRow: usize,
): void {
  const Ho = (H - 1) / stride + 1;
  const Wo = (W - 1) / stride + 1;
  for (let ci = 0; ci < Cin; ci++) {
    const inP = <usize>load<u32>(inTable + (ci << 2));
    for (let ky = 0; ky < 3; ky++) {
      const t = outTable + <usize>((ci * 9 + ky * 3) << 2);
      const o0 = <usize>load<u32>(t), o1 = <usize>load<u32>(t, 4), o2 = <usize>load<u32>(t, 8);
      // Two copies of the loop so the stride test is not in the inner loop.
      if (stride == 1) im2colRows(1, inP, H, W, Ho, Wo, ky, o0, o1, o2, zeroRow);
      else im2colRows(2, inP, H, W, Ho, Wo, ky, o0, o1, o2, zeroRow);
    }
  }
}
