// Cuts a plan's kernel calls into per-thread shares, with no change to the kernel ABI: every
// kernel works on channel planes reached through offset tables, so a share is the same call
// with its tables (and weights) offset to a channel range and a smaller count.
//
//   dwconv3x3, maxpool3x3s2, globalAvgPool, addPlanes, reluPlanes: channel ranges
//   im2col3x3: output row ranges (the stem has only 3 input channels: 2:1 with 2 threads)
//   conv1x1, gemv: ranges of 4-output-channel blocks (whole groups where a range covers them)
//   large conv1x1: pixel ranges, through copies of its tables shifted to the range's start
//
// Every output value is computed by exactly one thread with the same code as with one thread,
// so the results are bit-identical. The result is one program per thread: a flat Int32 list
// of kernel calls separated by barriers (every thread has the same number of barriers).
import type { KernelCall, KernelName } from '../plan.js';
import { DW_WEIGHT_FLOATS } from '../../bindings/kernels-abi.js';

/** Program opcodes; a kernel call is [OP_CALL + index in KERNEL_ORDER, argc, ...args]. */
export const OP_END = 0, OP_BARRIER = 1, OP_CALL = 2;
export const KERNEL_ORDER: readonly KernelName[] = [
  'conv1x1', 'gemv', 'dwconv3x3', 'maxpool3x3s2', 'globalAvgPool', 'im2col3x3', 'addPlanes', 'reluPlanes',
  'copyPlanes', 'channelShuffleCopy',
];

/**
 * [start, end) of share t when n units are split over T threads as evenly as possible; the
 * larger shares go to the first threads (thread 0, the caller, starts at once, while a worker
 * may first have to wake up).
 */
function share(n: number, T: number, t: number): [number, number] {
  return [n - Math.floor((n * (T - t)) / T), n - Math.floor((n * (T - t - 1)) / T)];
}

/** Makes (once) a copy of the u32 table at `ptr` (`count` entries) with `bytes` added to every entry. */
export type ShiftTable = (ptr: number, count: number, bytes: number) => number;

/** The calls thread t makes for its share of `c` (often one call, none when its share is empty). */
export function splitCall(c: KernelCall, T: number, t: number, shift?: ShiftTable): KernelCall[] {
  const a = c.args;
  const part = (...args: number[]): KernelCall => ({ kernel: c.kernel, args });
  switch (c.kernel) {
    case 'dwconv3x3': { // (in, out, C, H, W, stride, weights, zeroRow, flags)
      const [c0, c1] = share(a[2], T, t);
      return c1 > c0 ? [part(a[0] + 4 * c0, a[1] + 4 * c0, c1 - c0, a[3], a[4], a[5], a[6] + 4 * DW_WEIGHT_FLOATS * c0, a[7], a[8])] : [];
    }
    case 'maxpool3x3s2': { // (in, out, C, H, W, ninfRow)
      const [c0, c1] = share(a[2], T, t);
      return c1 > c0 ? [part(a[0] + 4 * c0, a[1] + 4 * c0, c1 - c0, a[3], a[4], a[5])] : [];
    }
    case 'globalAvgPool': { // (in, C, pixels, out)
      const [c0, c1] = share(a[1], T, t);
      return c1 > c0 ? [part(a[0] + 4 * c0, c1 - c0, a[2], a[3] + 4 * c0)] : [];
    }
    case 'im2col3x3': { // (in, Cin, H, W, stride, out, zeroRow, row0, row1)
      const [r0, r1] = share(a[8] - a[7], T, t);
      return r1 > r0 ? [part(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7] + r0, a[7] + r1)] : [];
    }
    case 'addPlanes': { // (a, b, out, count, pixels, flags)
      const [c0, c1] = share(a[3], T, t);
      return c1 > c0 ? [part(a[0] + 4 * c0, a[1] + 4 * c0, a[2] + 4 * c0, c1 - c0, a[4], a[5])] : [];
    }
    case 'reluPlanes': { // (in, out, count, pixels)
      const [c0, c1] = share(a[2], T, t);
      return c1 > c0 ? [part(a[0] + 4 * c0, a[1] + 4 * c0, c1 - c0, a[3])] : [];
    }
    case 'gemv': { // (x, K, weights, out, Mpad, flags)
      const [b0, b1] = share(a[4] / 4, T, t);
      const blockBytes = (4 + 4 * a[1]) * 4;
      return b1 > b0 ? [part(a[0], a[1], a[2] + b0 * blockBytes, a[3] + 16 * b0, 4 * (b1 - b0), a[5])] : [];
    }
    case 'conv1x1':
      return shift && a[6] >= PIXEL_SPLIT_MIN * T ? splitConvPixels(a, T, t, shift) : splitConv(a, T, t);
    default: // copies are never planned; if one appears, thread 0 does all of it
      return t === 0 ? [c] : [];
  }
}

// conv1x1(inTable, K, outTable, M, groups, weights, pixels, resTable, flags): the groups x
// Mpad/4 blocks of 4 output channels (Mpad = M rounded up to 4) are numbered group-major and
// split into T ranges. A range becomes one call for the whole groups it covers plus one call
// per partly covered group, whose channel count stops at the group's M.
function splitConv(a: number[], T: number, t: number): KernelCall[] {
  const [inT, K, outT, M, G, w, pixels, resT, flags] = a;
  const Mpad = Math.ceil(M / 4) * 4, nb = Mpad / 4, blockBytes = (4 + 4 * K) * 4;
  const [b0, b1] = share(G * nb, T, t);
  const calls: KernelCall[] = [];
  for (let b = b0; b < b1;) {
    const g = Math.floor(b / nb), mb = b % nb;
    const whole = mb === 0 ? Math.floor((b1 - b) / nb) : 0;
    const groups = whole > 0 ? whole : 1;
    const blocks = whole > 0 ? nb : Math.min(b1, (g + 1) * nb) - b;
    const out = g * Mpad + 4 * mb; // first output-table entry
    calls.push({
      kernel: 'conv1x1',
      args: [inT + 4 * g * K, K, outT + 4 * out, whole > 0 ? M : Math.min(4 * blocks, M - 4 * mb), groups,
        w + (g * nb + mb) * blockBytes, pixels, resT ? resT + 4 * out : 0, flags],
    });
    b += groups * blocks;
  }
  return calls;
}

/**
 * conv1x1 with at least this many pixels per thread splits pixels rather than output channels
 * (224x224 input: the stem and the 28x28 stage with 2 threads). Then a thread reads only its
 * pixel range of the input, mostly written by itself in the previous step; split by output
 * channels, every thread reads all input planes, half of them from the other core's cache.
 * Measured with 2 threads, v2 1.0x: 1.65x -> 1.80x over 1 thread.
 */
const PIXEL_SPLIT_MIN = 256;

// conv1x1 over a pixel range: the same call on tables shifted to the range's first pixel. Ranges
// start at multiples of 8 (the kernel's tile), so every pixel takes the same code path as with
// one thread; the last range keeps the plane's tail.
function splitConvPixels(a: number[], T: number, t: number, shift: ShiftTable): KernelCall[] {
  const [inT, K, outT, M, G, w, pixels, resT, flags] = a;
  const Mpad = Math.ceil(M / 4) * 4;
  const [t0, t1] = share(Math.ceil(pixels / 8), T, t);
  const p0 = 8 * t0, p1 = Math.min(8 * t1, pixels);
  if (p1 <= p0) return [];
  if (p0 === 0 && p1 === pixels) return [{ kernel: 'conv1x1', args: a }];
  const d = 4 * p0;
  return [{
    kernel: 'conv1x1',
    args: [shift(inT, G * K, d), K, shift(outT, G * Mpad, d), M, G, w, p1 - p0, resT ? shift(resT, G * Mpad, d) : 0, flags],
  }];
}

/**
 * One program per thread for a plan's steps: each kernel call of a step is a phase (an im2col
 * must finish before the conv that reads it), every phase ends with a barrier and the last
 * with OP_END (all threads arrive, the main thread waits for them).
 */
export function threadPrograms(steps: KernelCall[][], T: number, shift?: ShiftTable): Int32Array[] {
  const progs: number[][] = Array.from({ length: T }, () => []);
  const phases = steps.flat();
  phases.forEach((c, i) => {
    for (let t = 0; t < T; t++) {
      for (const s of splitCall(c, T, t, shift)) progs[t].push(OP_CALL + KERNEL_ORDER.indexOf(s.kernel), s.args.length, ...s.args);
      progs[t].push(i === phases.length - 1 ? OP_END : OP_BARRIER);
    }
  });
  return progs.map((p) => Int32Array.from(p.length ? p : [OP_END], (x) => x | 0));
}
