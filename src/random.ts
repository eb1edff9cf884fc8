// Deterministic pseudo-random numbers for synthetic weights (mulberry32), so a seed gives
// the same network everywhere and a benchmark or test needs no weight file.
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform weights scaled like He init (variance 2 / fanIn), so activations keep their size. */
export function heWeights(next: () => number, count: number, fanIn: number): Float32Array {
  const w = new Float32Array(count);
  const bound = Math.sqrt(6 / fanIn); // uniform(-b, b) has variance b^2 / 3 = 2 / fanIn
  for (let i = 0; i < count; i++) w[i] = (next() * 2 - 1) * bound;
  return w;
}

export function smallBias(next: () => number, count: number): Float32Array {
  const b = new Float32Array(count);
  for (let i = 0; i < count; i++) b[i] = (next() * 2 - 1) * 0.1;
  return b;
}
