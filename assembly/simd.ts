// Shared SIMD helpers. One source builds two binaries: with `--enable relaxed-simd` the
// multiply-add is a fused f32x4.relaxed_madd, otherwise a mul followed by an add.
// The unused branch is removed at compile time, so the simd build validates on engines
// without relaxed SIMD.

@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(c, f32x4.mul(a, b));
  }
}

// pmax (a < b ? b : a) is one maxps on x86; f32x4.max must propagate NaN and order -0/+0,
// which V8 lowers to a sequence several times longer.
@inline
export function relu(v: v128): v128 {
  return f32x4.pmax(v, f32x4.splat(0));
}

@inline
export function fastMax(a: v128, b: v128): v128 {
  return f32x4.pmax(a, b);
}

/** Lanes j < n are all ones, the rest zero (n clamped to 0..4). */
@inline
export function laneMask(n: i32): v128 {
  return i32x4(
    n > 0 ? -1 : 0,
    n > 1 ? -1 : 0,
    n > 2 ? -1 : 0,
    n > 3 ? -1 : 0,
  );
}

/** Mask that clears lane 0 only: the left neighbour of a row's first pixel is padding. */
@inline
export function notFirstLane(): v128 {
  return i32x4(0, -1, -1, -1);
}

/** Which binary this is: 1 = relaxed SIMD, 0 = plain SIMD128. */
export function relaxedBuild(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

/** First byte of linear memory that the compiler does not use; the JS arena starts here. */
export function heapBase(): usize {
  return __heap_base;
}
