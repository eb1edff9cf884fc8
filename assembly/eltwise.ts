// Data movement and element-wise kernels on channel planes. The network plan never needs
// copyPlanes or channelShuffleCopy (shuffle, split and concat are table edits); they exist as the
// baseline the zero-copy design is measured against, and for graphs the planner cannot fold.
import { relu } from "./simd";
import { FLAG_RELU } from "./gemm";

/** Copies count planes of `bytes` bytes each, dst[i] <- src[i], through two offset tables. */
export function copyPlanes(srcTable: usize, dstTable: usize, count: i32, bytes: i32): void {
  for (let i = 0; i < count; i++) {
    memory.copy(<usize>load<u32>(dstTable + (i << 2)), <usize>load<u32>(srcTable + (i << 2)), bytes);
  }
}

/**
 * Physical channel shuffle of a contiguous CHW tensor (the way other engines do it):
 * dst channel j*groups + i <- src channel i*(C/groups) + j.
 */
export function channelShuffleCopy(src: usize, dst: usize, C: i32, groups: i32, planeBytes: i32): void {
  const n = C / groups;
  for (let i = 0; i < groups; i++) {
    for (let j = 0; j < n; j++) {
      memory.copy(dst + <usize>((j * groups + i) * planeBytes), src + <usize>((i * n + j) * planeBytes), planeBytes);
    }
  }
}

/** out = act(a + b) over count planes of `pixels` floats (rounded up to 4). */
export function addPlanes(aTable: usize, bTable: usize, outTable: usize, count: i32, pixels: i32, flags: i32): void {
  const doRelu = (flags & FLAG_RELU) != 0;
  for (let i = 0; i < count; i++) {
    const a = <usize>load<u32>(aTable + (i << 2));
    const b = <usize>load<u32>(bTable + (i << 2));
    const o = <usize>load<u32>(outTable + (i << 2));
    for (let p = 0; p < pixels; p += 4) {
      const off = <usize>(p << 2);
      let v = f32x4.add(v128.load(a + off), v128.load(b + off));
      if (doRelu) v = relu(v);
      v128.store(o + off, v);
    }
  }
}

/** out = max(in, 0) over count planes. */
export function reluPlanes(inTable: usize, outTable: usize, count: i32, pixels: i32): void {
  for (let i = 0; i < count; i++) {
    const a = <usize>load<u32>(inTable + (i << 2));
    const o = <usize>load<u32>(outTable + (i << 2));
    for (let p = 0; p < pixels; p += 4) {
      const off = <usize>(p << 2);
      v128.store(o + off, relu(v128.load(a + off)));
    }
  }
}
