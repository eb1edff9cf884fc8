// Deterministic pseudo-random numbers for synthetic weights (mulberry32), so a seed gives
// the same network everywhere and a benchmark or test needs no weight file.

/** A mulberry32 stream: call it for the next number in [0, 1). */
export interface Rng {
  (): number;
  /** Fills `out` with uniform values in [-bound, bound): the same stream as calling rng(). */
  fillUniform(out: Float32Array, bound: number): Float32Array;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (() => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as Rng;
  // The same arithmetic in one loop: synthetic v2 2.0x has 7.4M weights, and a call per
  // value made building the network most of its start-up time.
  next.fillUniform = (out, bound) => {
    let s = a;
    for (let i = 0; i < out.length; i++) {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * bound;
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
