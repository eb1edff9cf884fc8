// Build step for dist/cjs, the CommonJS copy of the same sources: a nested package.json
// tells Node to read it as CommonJS even though the package is "type": "module", and each
// file is minified (the CommonJS build is a compatibility copy; the readable, typed build
// is dist/esm) to keep the shipped code small.
import { readFileSync, writeFileSync, chmodSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { transformSync } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const cjs = path.join(root, 'dist/cjs');
writeFileSync(path.join(cjs, 'package.json'), '{ "type": "commonjs" }\n');

const walk = (dir) => readdirSync(dir).flatMap((f) => {
  const p = path.join(dir, f);
  return statSync(p).isDirectory() ? walk(p) : p.endsWith('.js') ? [p] : [];
});
for (const file of walk(cjs)) {
  const { code } = transformSync(readFileSync(file, 'utf8'), { minify: true, format: 'cjs', target: 'es2022', loader: 'js' });
  writeFileSync(file, code);
}
try { chmodSync(path.join(root, 'dist/esm/src/cli.js'), 0o755); } catch { /* no CLI yet */ }
