// Input validation next to the data: run() copies an image into its planes and asks here for
// the first value that is not finite before any kernel reads it (ReLU and max pooling would
// drop an isolated NaN silently, an infinity turns every logit NaN). In wasm because it is on
// the path to a first result, where a JavaScript loop over 150K values still runs unoptimized.

/** Index of the first NaN or infinity among n floats at p, or -1. */
export function firstNonFinite(p: usize, n: i32): i32 {
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    const d = f32x4.sub(v, v); // 0 for finite lanes, NaN for NaN and infinities
    if (v128.any_true(f32x4.ne(d, d))) return i + scalarFirst(p, i, 4);
  }
  const t = scalarFirst(p, n4, n - n4);
  return t < 0 ? -1 : n4 + t;
}

function scalarFirst(p: usize, from: i32, count: i32): i32 {
  for (let j = 0; j < count; j++) {
    const x = load<f32>(p + (<usize>(from + j) << 2));
    if (x - x != 0) return j;
  }
  return -1;
}
