// Weight packing: the layouts the kernels read (see assembly/gemm.ts and assembly/dwconv.ts).
import { DW_WEIGHT_FLOATS } from '../bindings/kernels-abi.js';

export const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;

/**
 * Grouped 1x1 conv / fc: per group, per block of 4 output channels, [4 biases][K x 4 weights].
 * `weight` is [M][K] per output channel with K inputs per group (ONNX [O][I/g][1][1] order).
 */
export function packGemm(weight: Float32Array, bias: Float32Array, M: number, K: number, groups: number): Float32Array {
  const Mg = M / groups;
  const Mpad = roundUp(Mg, 4);
  const block = 4 + 4 * K;
  const out = new Float32Array(groups * (Mpad / 4) * block);
  for (let g = 0; g < groups; g++) {
    for (let m = 0; m < Mg; m++) {
      const o = g * Mg + m;
      const base = (g * (Mpad / 4) + (m >> 2)) * block;
      const lane = m & 3;
      out[base + lane] = bias[o];
      for (let k = 0; k < K; k++) out[base + 4 + k * 4 + lane] = weight[o * K + k];
    }
  }
  return out;
}

/** Depthwise 3x3: per channel [9 taps][bias][0][0]. */
export function packDepthwise(weight: Float32Array, bias: Float32Array, C: number): Float32Array {
  const out = new Float32Array(C * DW_WEIGHT_FLOATS);
  for (let c = 0; c < C; c++) {
    for (let t = 0; t < 9; t++) out[c * DW_WEIGHT_FLOATS + t] = weight[c * 9 + t];
    out[c * DW_WEIGHT_FLOATS + 9] = bias[c];
  }
  return out;
}

/** 3x3 average pooling with padding counted (PyTorch's default) as a depthwise conv. */
export function avgPoolWeights(C: number): Float32Array {
  const out = new Float32Array(C * DW_WEIGHT_FLOATS);
  for (let c = 0; c < C; c++) for (let t = 0; t < 9; t++) out[c * DW_WEIGHT_FLOATS + t] = 1 / 9;
  return out;
}
