// Build step for dist/bundle, the ESM code the package's exports point to: the tsc output of
// every public entry bundled by esbuild with code splitting, so the entries share chunks (one
// ShuffleNetError class, one Model class across 'shufflenet-wasm', '/kernels', '/onnx').
// Why: Node's ESM loader resolves and reads each module separately, and the ~25 files of the
// main entry cost ~13 ms of start-up (one bundle: ~5 ms). Dependencies stay external.
// dist/esm keeps the per-file build with its .d.ts files (the types the exports name).
import { buildSync } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = path.join(root, 'dist/esm/src');
const out = path.join(root, 'dist/bundle');
rmSync(out, { recursive: true, force: true });
buildSync({
  entryPoints: {
    index: path.join(src, 'index.js'),
    kernels: path.join(src, 'kernels.js'),
    'onnx/index': path.join(src, 'onnx/index.js'),
    workerd: path.join(src, 'workerd.js'),
    cli: path.join(src, 'cli.js'),
  },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  packages: 'external',
  external: ['node:*'],
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync(path.join(out, 'cli.js'), 0o755);
