// The numbers-only ABI of the kernel module (assembly/index.ts). Pointers are byte offsets
// into the instance's linear memory; tables are arrays of u32 plane offsets.
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  relaxedBuild(): number;
  heapBase(): number;
  /** M output channels per group; the tables hold M rounded up to a multiple of 4 per group. */
  conv1x1(inTable: number, K: number, outTable: number, M: number, groups: number,
    weights: number, pixels: number, resTable: number, flags: number): void;
  gemv(x: number, K: number, weights: number, out: number, Mpad: number, flags: number): void;
  dwconv3x3(inTable: number, outTable: number, C: number, H: number, W: number, stride: number,
    weights: number, zeroRow: number, flags: number): void;
  maxpool3x3s2(inTable: number, outTable: number, C: number, H: number, W: number, ninfRow: number): void;
  globalAvgPool(inTable: number, C: number, pixels: number, out: number): void;
  /** Output rows [row0, row1) of the Cin*9 column planes. */
  im2col3x3(inTable: number, Cin: number, H: number, W: number, stride: number, outTable: number,
    zeroRow: number, row0: number, row1: number): void;
  copyPlanes(srcTable: number, dstTable: number, count: number, bytes: number): void;
  channelShuffleCopy(src: number, dst: number, C: number, groups: number, planeBytes: number): void;
  addPlanes(aTable: number, bTable: number, outTable: number, count: number, pixels: number, flags: number): void;
  reluPlanes(inTable: number, outTable: number, count: number, pixels: number): void;
  /** Load-time weight packing for conv1x1 / gemv (not a compute step). */
  packGemm(weights: number, bias: number, dst: number, M: number, K: number, groups: number): void;
  /** Load-time synthetic weights: src/random.ts's stream; returns the new generator state. */
  fillUniform(out: number, n: number, state: number, bound: number): number;
  /** Index of the first NaN or infinity among n floats, or -1 (run() checks each input image). */
  firstNonFinite(ptr: number, n: number): number;
}

/** Flag bits shared by the kernels. */
export const FLAG_RELU = 1;
/** Floats per channel in packed depthwise weights: 9 taps, bias, 2 pad. */
export const DW_WEIGHT_FLOATS = 12;
