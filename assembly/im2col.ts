// im2col for the 3x3 stem convolution (pad 1, stride 1 or 2): writes Cin*9 planes of
// Ho x Wo pixels, plane index ci*9 + ky*3 + kx (the ONNX weight order), so the stem runs
// as conv1x1 with K = Cin*9. The deinterleave for stride 2 is done once per tap here,
// not once per output channel.
import { laneMask, notFirstLane } from "./simd";
import { evenLanes, oddLanes, leftLanes } from "./dwconv";

export function im2col3x3(
  inTable: usize, Cin: i32, H: i32, W: i32, stride: i32, outTable: usize, zeroRow: usize,
): void {
  const Ho = (H - 1) / stride + 1;
  const Wo = (W - 1) / stride + 1;
  const rowBytes = <usize>(W << 2);
  const nv = (Wo + 3) >> 2;
  const xl = (nv - 1) << 2;
  const ones = i32x4.splat(-1);
  const mFirst = notFirstLane();
  const mLast = stride == 1 ? laneMask(W - 1 - xl) : laneMask((W >> 1) - xl);
  for (let ci = 0; ci < Cin; ci++) {
    const inP = <usize>load<u32>(inTable + (ci << 2));
    for (let ky = 0; ky < 3; ky++) {
      for (let kx = 0; kx < 3; kx++) {
        const outP = <usize>load<u32>(outTable + (((ci * 9 + ky * 3 + kx)) << 2));
        for (let yo = 0; yo < Ho; yo++) {
          const iy = yo * stride + ky - 1;
          const r = iy >= 0 && iy < H ? inP + <usize>iy * rowBytes : zeroRow;
          const o = outP + <usize>(yo * Wo * 4);
          for (let v = 0; v < nv; v++) {
            const x4 = <usize>(v << 4);
            let val: v128;
            if (stride == 1) {
              const p = r + x4;
              if (kx == 0) val = v128.and(v128.load(p - 4), v == 0 ? mFirst : ones);
              else if (kx == 1) val = v128.load(p);
              else val = v128.and(v128.load(p + 4), v == nv - 1 ? mLast : ones);
            } else {
              const p = r + (x4 << 1);
              if (kx == 0) val = v128.and(leftLanes(p), v == 0 ? mFirst : ones);
              else if (kx == 1) val = evenLanes(p);
              else val = v128.and(oddLanes(p), v == nv - 1 ? mLast : ones);
            }
            v128.store(o + x4, val);
          }
        }
      }
    }
  }
}
