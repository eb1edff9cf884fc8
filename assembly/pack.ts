// Weight packing for conv1x1 and gemv: [M][K] weights (ONNX order, K inputs per group) and M
// biases into the layout gemm.ts reads, per group, per block of 4 output channels:
// [4 biases][K x 4 weights]. Done here, not in JavaScript, because a model packs millions of
// weights at load (2.3M for v2 1.0x) and this is on the path to the first result: four
// channels at a time, 4x4 blocks transposed in registers.

/** Transposes the 4x4 block whose rows start at r0..r3 and stores its columns at d, d+16, d+32, d+48. */
@inline
function transpose4(r0: usize, r1: usize, r2: usize, r3: usize, d: usize): void {
  const a = v128.load(r0), b = v128.load(r1), c = v128.load(r2), e = v128.load(r3);
  const ab01 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), ce01 = v128.shuffle<f32>(c, e, 0, 4, 1, 5);
  const ab23 = v128.shuffle<f32>(a, b, 2, 6, 3, 7), ce23 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<f32>(ab01, ce01, 0, 1, 4, 5));
  v128.store(d + 16, v128.shuffle<f32>(ab01, ce01, 2, 3, 6, 7));
  v128.store(d + 32, v128.shuffle<f32>(ab23, ce23, 0, 1, 4, 5));
  v128.store(d + 48, v128.shuffle<f32>(ab23, ce23, 2, 3, 6, 7));
}

/**
 * @param weights  M x K floats, output channel major
 * @param bias     M floats
 * @param dst      groups * (Mpad / 4) * (4 + 4K) floats, Mpad = M / groups rounded up to 4;
 *                 lanes of padding channels are written as zeros
 */
export function packGemm(weights: usize, bias: usize, dst: usize, M: i32, K: i32, groups: i32): void {
  const Mg = M / groups;
  const blocks = (Mg + 3) >> 2;
  const blockBytes = <usize>(4 + 4 * K) << 2;
  const rowBytes = <usize>K << 2;
  const K4 = K & ~3;
  for (let g = 0; g < groups; g++) {
    for (let b = 0; b < blocks; b++) {
      const m0 = b << 2;
      const d = dst + <usize>(g * blocks + b) * blockBytes;
      const o = g * Mg + m0; // first output channel of the block
      if (m0 + 4 <= Mg) {
        v128.store(d, v128.load(bias + (<usize>o << 2)));
        const r0 = weights + <usize>o * rowBytes;
        const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
        let k = 0;
        for (; k < K4; k += 4) {
          const kb = <usize>k << 2;
          transpose4(r0 + kb, r1 + kb, r2 + kb, r3 + kb, d + 16 + (kb << 2));
        }
        for (; k < K; k++) {
          const kb = <usize>k << 2;
          v128.store(d + 16 + (kb << 2), f32x4(load<f32>(r0 + kb), load<f32>(r1 + kb), load<f32>(r2 + kb), load<f32>(r3 + kb)));
        }
      } else {
        // the group's last, partial block: padding lanes are zero
        memory.fill(d, 0, blockBytes);
        for (let m = m0; m < Mg; m++) {
          const lane = <usize>(m - m0) << 2;
          store<f32>(d + lane, load<f32>(bias + (<usize>(o + m - m0) << 2)));
          const r = weights + <usize>(o + m - m0) * rowBytes;
          for (let k = 0; k < K; k++) store<f32>(d + 16 + (<usize>k << 4) + lane, load<f32>(r + (<usize>k << 2)));
        }
      }
    }
  }
}
