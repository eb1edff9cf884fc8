// Weight packing: the layouts the kernels read (see assembly/gemm.ts and assembly/dwconv.ts).
// The GEMM weights (almost all of a model's) are packed by the kernel module (assembly/pack.ts);
// the depthwise packers here write straight into wasm memory (`dst` = the memory's Float32Array
// view, `at` = a float index): a model packs millions of weights at load, and an intermediate
// array per layer cost a copy and garbage-collection time at start-up.
import { DW_WEIGHT_FLOATS } from '../bindings/kernels-abi.js';
import type { Kernels } from '../bindings/wasm.js';

export const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;

/** Floats packGemm writes: per group, per block of 4 output channels, 4 biases + K x 4 weights. */
export const gemmPackedFloats = (M: number, K: number, groups: number): number => groups * (roundUp(M / groups, 4) / 4) * (4 + 4 * K);

/**
 * Grouped 1x1 conv / fc: per group, per block of 4 output channels, [4 biases][K x 4 weights],
 * written at byte offset `dst` (gemmPackedFloats(M, K, groups) floats) by the kernel module's
 * packGemm. `weight` is [M][K] per output channel with K inputs per group (ONNX [O][I/g][1][1]
 * order); it and `bias` are copied to scratch memory above the arena's top first, so the caller
 * reserves gemmScratchBytes(M, K) beyond its own allocations to keep memory from growing.
 */
export function packGemm(k: Kernels, weight: Float32Array, bias: Float32Array, M: number, K: number, groups: number, dst: number): void {
  const mark = k.used;
  const w = k.alloc(weight.length * 4);
  const b = k.alloc(M * 4 + 16);
  k.writeF32(w, weight);
  k.writeF32(b, bias);
  k.exports.packGemm(w, b, dst, M, K, groups);
  k.release(mark);
}

/** Scratch bytes packGemm takes above the arena's top. */
export const gemmScratchBytes = (M: number, K: number): number => M * K * 4 + M * 4 + 256;

/** Depthwise 3x3: per channel [9 taps][bias][0][0]. */
export function packDepthwise(weight: Float32Array, bias: Float32Array, C: number,
  dst: Float32Array = new Float32Array(C * DW_WEIGHT_FLOATS), at = 0): Float32Array {
  for (let c = 0; c < C; c++) {
    const d = at + c * DW_WEIGHT_FLOATS;
    for (let t = 0; t < 9; t++) dst[d + t] = weight[c * 9 + t];
    dst[d + 9] = bias[c];
    for (let t = 10; t < DW_WEIGHT_FLOATS; t++) dst[d + t] = 0;
  }
  return dst;
}

/** 3x3 average pooling with padding counted (PyTorch's default) as a depthwise conv. */
export function avgPoolWeights(C: number, dst: Float32Array = new Float32Array(C * DW_WEIGHT_FLOATS), at = 0): Float32Array {
  dst.fill(0, at, at + C * DW_WEIGHT_FLOATS);
  for (let c = 0; c < C; c++) dst.fill(1 / 9, at + c * DW_WEIGHT_FLOATS, at + c * DW_WEIGHT_FLOATS + 9);
  return dst;
}
