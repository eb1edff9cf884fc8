// Feature detection by validating tiny modules (no compilation, no instantiation).

// (module (func (result v128) v128.const 0 ...)) with the given body opcodes.
function tinyModule(body: number[]): Uint8Array<ArrayBuffer> {
  const code = [0, ...body, 0x0b];
  return new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0,            // magic, version
    1, 5, 1, 0x60, 0, 1, 0x7b,              // type: () -> v128
    3, 2, 1, 0,                             // one function of type 0
    10, code.length + 2, 1, code.length, ...code,
  ]);
}

const V128_CONST = [0xfd, 0x0c, ...new Array(16).fill(0)];

/** WebAssembly SIMD128 (v128.const validates). */
export function hasSimd(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(tinyModule(V128_CONST));
  } catch {
    return false;
  }
}

/** Relaxed SIMD (f32x4.relaxed_madd validates). Off by default in Node 20. */
export function hasRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(tinyModule([...V128_CONST, ...V128_CONST, ...V128_CONST, 0xfd, 0x85, 0x02]));
  } catch {
    return false;
  }
}
