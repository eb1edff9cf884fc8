// Weight packing: the layouts the kernels read (see assembly/gemm.ts and assembly/dwconv.ts).
// Each packer can write straight into wasm memory (`dst` = the memory's Float32Array view,
// `at` = a float index): a model packs millions of weights at load, and an intermediate array
// per layer cost a copy and garbage-collection time at start-up.
import { DW_WEIGHT_FLOATS } from '../bindings/kernels-abi.js';

export const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;

/** Floats packGemm writes: per group, per block of 4 output channels, 4 biases + K x 4 weights. */
export const gemmPackedFloats = (M: number, K: number, groups: number): number => groups * (roundUp(M / groups, 4) / 4) * (4 + 4 * K);

/**
 * Grouped 1x1 conv / fc: per group, per block of 4 output channels, [4 biases][K x 4 weights].
 * `weight` is [M][K] per output channel with K inputs per group (ONNX [O][I/g][1][1] order).
 * Lanes of padding channels (M / groups not a multiple of 4) are written as zeros.
 */
export function packGemm(weight: Float32Array, bias: Float32Array, M: number, K: number, groups: number,
  dst: Float32Array = new Float32Array(gemmPackedFloats(M, K, groups)), at = 0): Float32Array {
  const Mg = M / groups;
  const Mpad = roundUp(Mg, 4);
  const block = 4 + 4 * K;
  for (let g = 0; g < groups; g++) {
    const groupAt = at + g * (Mpad / 4) * block;
    if (Mpad !== Mg) dst.fill(0, groupAt + (Mpad / 4 - 1) * block, groupAt + (Mpad / 4) * block);
    for (let m = 0; m < Mg; m++) {
      const o = g * Mg + m;
      const base = groupAt + (m >> 2) * block + (m & 3);
      dst[base] = bias[o];
      const src = o * K;
      for (let k = 0, d = base + 4; k < K; k++, d += 4) dst[d] = weight[src + k];
    }
  }
  return dst;
}

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
