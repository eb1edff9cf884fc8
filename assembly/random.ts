// Synthetic weights: the mulberry32 stream of src/random.ts, value for value (the same integer
// steps, the same double arithmetic rounded once to f32). buildModel generates its millions of
// weights here because this loop, once optimized, runs ~2.5x faster than the JavaScript one.
const TWO_POW_M31: f64 = 2.0 / 4294967296.0;

/** Writes n values in [-bound, bound) at `out` from generator state `state`; returns the new state. */
export function fillUniform(out: usize, n: i32, state: u32, bound: f64): u32 {
  let s = state;
  for (let i = 0; i < n; i++) {
    s += 0x6d2b79f5;
    let t = (s ^ (s >>> 15)) * (s | 1);
    t ^= t + (t ^ (t >>> 7)) * (t | 61);
    store<f32>(out + (<usize>i << 2), <f32>((<f64>(t ^ (t >>> 14)) * TWO_POW_M31 - 1.0) * bound));
  }
  return s;
}
