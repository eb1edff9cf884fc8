// Builds the NHWC kernels of the layout study (build/ is git-ignored):
//   build/layout-nhwc.wasm          plain SIMD128 (mul + add)
//   build/layout-nhwc.relaxed.wasm  relaxed SIMD (FMA), only with --relaxed
// Usage: node bench/layout/build.mjs [--relaxed]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { mkdirSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NHWC_WASM = join(root, 'build', 'layout-nhwc.wasm');
export const NHWC_RELAXED_WASM = join(root, 'build', 'layout-nhwc.relaxed.wasm');

export function buildNhwc(relaxed = false) {
  mkdirSync(join(root, 'build'), { recursive: true });
  execFileSync(join(root, 'node_modules', '.bin', 'asc'), [
    'bench/layout/nhwc.ts', '-O3', '--noAssert', '--runtime', 'stub',
    '--enable', relaxed ? 'relaxed-simd' : 'simd',
    '-o', relaxed ? 'build/layout-nhwc.relaxed.wasm' : 'build/layout-nhwc.wasm',
  ], { cwd: root, stdio: 'inherit' });
  return relaxed ? NHWC_RELAXED_WASM : NHWC_WASM;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = buildNhwc(process.argv.includes('--relaxed'));
  console.log(`built ${out}`);
}
