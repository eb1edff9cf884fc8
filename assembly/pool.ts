// Pooling on channel planes: 3x3 stride-2 max pooling (pad 1, padding never wins) and
// global average pooling. 3x3 average pooling is dwconv3x3 with weights 1/9.
import { laneMask, notFirstLane, fastMax } from "./simd";
import { evenLanes, oddLanes, leftLanes } from "./dwconv";

@inline
function maxTaps(p: usize, acc: v128, mL: v128, mR: v128, ninf: v128): v128 {
  acc = fastMax(acc, v128.bitselect(leftLanes(p), ninf, mL));
  acc = fastMax(acc, evenLanes(p));
  return fastMax(acc, v128.bitselect(oddLanes(p), ninf, mR));
}

/**
 * @param ninfRow a row of at least 2*W + 16 floats of -Infinity, with 4 more before it
 */
export function maxpool3x3s2(
  inTable: usize, outTable: usize, C: i32, H: i32, W: i32, ninfRow: usize,
): void {
  const Ho = ((H - 1) >> 1) + 1;
  const Wo = ((W - 1) >> 1) + 1;
  const rowBytes = <usize>(W << 2);
  const nv = (Wo + 3) >> 2;
  const ones = i32x4.splat(-1);
  const mFirst = notFirstLane();
  const mLast = laneMask((W >> 1) - ((nv - 1) << 2));
  const ninf = f32x4.splat(-Infinity);
  for (let c = 0; c < C; c++) {
    const inP = <usize>load<u32>(inTable + (c << 2));
    const outP = <usize>load<u32>(outTable + (c << 2));
    for (let yo = 0; yo < Ho; yo++) {
      const iy = yo * 2 - 1;
      const r0 = iy >= 0 ? inP + <usize>iy * rowBytes : ninfRow;
      const r1 = inP + <usize>(iy + 1) * rowBytes;
      const r2 = iy + 2 < H ? inP + <usize>(iy + 2) * rowBytes : ninfRow;
      const o = outP + <usize>(yo * Wo * 4);
      for (let v = 0; v < nv; v++) {
        const x4 = <usize>(v << 4);
        const i4 = x4 << 1;
        const mL = v == 0 ? mFirst : ones;
        const mR = v == nv - 1 ? mLast : ones;
        let a = maxTaps(r0 + i4, ninf, mL, mR, ninf);
        a = maxTaps(r1 + i4, a, mL, mR, ninf);
        a = maxTaps(r2 + i4, a, mL, mR, ninf);
        v128.store(o + x4, a);
      }
    }
  }
}

/** out[c] = mean of plane c (pixels floats); out is a dense vector of C floats. */
export function globalAvgPool(inTable: usize, C: i32, pixels: i32, out: usize): void {
  const n8 = pixels & ~7;
  const tail = pixels - n8;
  const inv = <f32>1.0 / <f32>pixels;
  for (let c = 0; c < C; c++) {
    const p = <usize>load<u32>(inTable + (c << 2));
    let a0 = f32x4.splat(0), a1 = a0;
    let i = 0;
    for (; i < n8; i += 8) {
      a0 = f32x4.add(a0, v128.load(p + (i << 2)));
      a1 = f32x4.add(a1, v128.load(p + (i << 2), 16));
    }
    if (tail) {
      a0 = f32x4.add(a0, v128.and(v128.load(p + (i << 2)), laneMask(tail)));
      a1 = f32x4.add(a1, v128.and(v128.load(p + (i << 2), 16), laneMask(tail - 4)));
    }
    const s = f32x4.add(a0, a1);
    const sum = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) +
      f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
    store<f32>(out + (c << 2), sum * inv);
  }
}
