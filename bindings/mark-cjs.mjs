// Build step: dist/cjs holds CommonJS output of the same sources; a nested package.json
// tells Node to read it as CommonJS even though the package is "type": "module".
import { writeFileSync, chmodSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
writeFileSync(root + 'dist/cjs/package.json', '{ "type": "commonjs" }\n');
try { chmodSync(root + 'dist/esm/src/cli.js', 0o755); } catch { /* no CLI yet */ }
