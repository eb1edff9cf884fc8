// Deterministic pseudo-random numbers for synthetic weights (mulberry32), so a seed gives
// the same network everywhere and a benchmark or test needs no weight file.

import type { Kernels } from '../bindings/wasm.js';

/** A mulberry32 stream: call it for the next number in [0, 1). */
export interface Rng {
  (): number;
  /** Fills `out` with uniform values in [-bound, bound): the same stream as calling rng(). */
  fillUniform(out: Float32Array, bound: number): Float32Array;
}

// The state is kept as an int32 (`| 0`): as a uint32 (`>>> 0`) values past 2^30 leave V8's
// small-integer range and the loop slows down. 2^-31 scaling is exact, so the values are the
// same as computing u / 2^32 * 2 - 1.
const TWO_POW_M32 = 1 / 4294967296;
const TWO_POW_M31 = 2 / 4294967296;

/**
 * Fills `out` with the stream's next out.length values in [-bound, bound), starting from
 * generator state `state`, and returns the new state: the same arithmetic as rng's own loop,
 * done elsewhere (the kernel module's fillUniform, see kernelUniformFill).
 */
export type UniformFill = (out: Float32Array, bound: number, state: number) => number;

export function rng(seed: number, fill?: UniformFill): Rng {
  let a = seed | 0;
  const next = (() => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) * TWO_POW_M32;
  }) as Rng;
  // The same arithmetic in one loop: synthetic v2 2.0x has 7.4M weights, and a call per
  // value made building the network most of its start-up time.
  next.fillUniform = (out, bound) => {
    if (fill) {
      a = fill(out, bound, a) | 0;
      return out;
    }
    let s = a;
    const n = out.length;
    for (let i = 0; i < n; i++) {
      s = (s + 0x6d2b79f5) | 0;
      let t = Math.imul(s ^ (s >>> 15), s | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = (((t ^ (t >>> 14)) >>> 0) * TWO_POW_M31 - 1) * bound;
    }
    a = s;
    return out;
  };
  return next;
}

/** Uniform weights scaled like He init (variance 2 / fanIn), so activations keep their size. */
export function heWeights(next: Rng, count: number, fanIn: number): Float32Array {
  // uniform(-b, b) has variance b^2 / 3 = 2 / fanIn
  return next.fillUniform(new Float32Array(count), Math.sqrt(6 / fanIn));
}

export function smallBias(next: Rng, count: number): Float32Array {
  return next.fillUniform(new Float32Array(count), 0.1);
}

/** A UniformFill by the kernel module: chunks of up to 1 MiB in scratch memory above the arena's top. */
export function kernelUniformFill(k: Kernels): UniformFill {
  const CHUNK = 1 << 18;
  return (out, bound, state) => {
    const mark = k.used;
    const size = Math.min(out.length, CHUNK);
    k.reserve(size * 4 + 64);
    const p = k.alloc(size * 4);
    let s = state;
    for (let at = 0; at < out.length; at += CHUNK) {
      const n = Math.min(CHUNK, out.length - at);
      s = k.exports.fillUniform(p, n, s, bound);
      out.set(k.f32.subarray(p >>> 2, (p >>> 2) + n), at);
    }
    k.release(mark);
    return s | 0;
  };
}
