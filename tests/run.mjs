// Test runner: every tests/*.test.mjs runs in its own Node process under uvu; the kernel
// and thread tests run a second time with relaxed SIMD enabled (Node 20 needs the flag) so
// both binaries are checked (the relaxed build has its own conv tiles, and thread splits must
// stay bit-identical with them). Prints the closing line "N passed, N failed" that CI reads.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here).filter((f) => f.endsWith('.test.mjs') && (only.length === 0 || only.some((o) => f.includes(o)))).sort();

const runs = [];
for (const f of files) {
  runs.push({ label: f, args: [here + f] });
  if (f.startsWith('kernels') || f === 'threads.test.mjs') {
    runs.push({ label: `${f} (relaxed SIMD)`, args: ['--experimental-wasm-relaxed-simd', here + f], env: { SHUFFLENET_EXPECT_FLAVOR: 'relaxed' } });
  }
}

let passed = 0, failed = 0;
for (const r of runs) {
  console.log(`\n## ${r.label}`);
  const res = spawnSync(process.execPath, r.args, { encoding: 'utf8', env: { ...process.env, ...r.env }, maxBuffer: 64 << 20 });
  const out = (res.stdout ?? '') + (res.stderr ?? '');
  process.stdout.write(out);
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
  passed += ok;
  let bad = total - ok - skipped;
  if (res.status !== 0 && bad === 0) bad = 1; // a crash or a failure outside any test
  failed += bad;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
