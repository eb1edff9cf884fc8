// Packaging: what a user gets from `npm install shufflenet-wasm`. The package is packed with
// `npm pack` (after `npm run build`), installed from the tarball into an empty temporary
// project, and used from there exactly as a user would: ESM import, CommonJS require, the
// kernels subpath, the CLI through npx, the workerd / edge-light entry (Node with
// --conditions=workerd, WebAssembly compilation from bytes made to throw) and bundling with
// esbuild for browsers and for Workers. Also: the packed size of the code, an Electron stand-in
// (no file reads or sync compiles) and an AWS-Lambda-style function (installed and bundled).
// Needs: the built package (npm run build), the shared fixtures, and npm able to install the
// three runtime dependencies (cache or registry).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';
import { dataPath } from './data.mjs';

import { ok, packAndInstall, repo } from './packed.mjs';
const CODE_LIMIT = 150_000; // bytes, gzip -9 of dist/**/*.js + build/*.wasm as packed

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', timeout: 240_000, maxBuffer: 64 << 20, ...opts });
  if (res.error) throw res.error;
  return res;
}


for (const f of ['dist/bundle/index.js', 'dist/cjs/src/index.js', 'dist/bundle/workerd.js', 'build/kernels.simd.wasm']) {
  if (!existsSync(path.join(repo, f))) throw new Error(`${f} is missing: run npm run build first`);
}

// ---- pack and install once for all tests
const { tmp, tarball, packInfo, project, installed } = packAndInstall('shufflenet-pack-');
const extracted = path.join(tmp, 'extracted');
mkdirSync(extracted);
ok('tar', ['-xzf', tarball, '-C', extracted]);
const pkgDir = path.join(extracted, 'package');
console.log(`packed ${packInfo.filename}: ${packInfo.entryCount} files, tarball ${(packInfo.size / 1024).toFixed(1)} KiB; installed in ${project}`);

const catJpg = dataPath('images/cat.jpg');
const zooQdq = dataPath('models/shufflenet-v2-12-qdq.onnx');
const labelsTxt = dataPath('imagenet-labels.txt');

/** Writes a script into the consumer project and runs it with node; returns its parsed JSON stdout. */
function inProject(name, source, nodeArgs = []) {
  writeFileSync(path.join(project, name), source);
  const out = ok(process.execPath, [...nodeArgs, name], { cwd: project });
  return JSON.parse(out.trim().split('\n').pop());
}

/** Relative-import closure of an ESM file (what Node loads from the package itself). */
function closure(entry) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:from\s*|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) visit(path.resolve(path.dirname(file), m[1]));
  };
  visit(entry);
  return [...seen].map((f) => path.relative(pkgDir, f));
}

// ---------------------------------------------------------------------------------------------

test('the tarball holds the built package and nothing else', () => {
  const files = packInfo.files.map((f) => f.path);
  for (const need of [
    'package.json', 'README.md', 'dist/cjs/package.json',
    'dist/bundle/index.js', 'dist/esm/src/index.d.ts', 'dist/cjs/src/index.js',
    'dist/bundle/kernels.js', 'dist/cjs/src/kernels.js', 'dist/bundle/workerd.js', 'dist/esm/src/workerd.d.ts',
    'dist/bundle/onnx/index.js', 'dist/bundle/cli.js', 'build/kernels.simd.wasm', 'build/kernels.relaxed.wasm',
  ]) assert.ok(files.includes(need), `missing from the tarball: ${need}`);
  // The ESM code ships bundled (dist/bundle); the per-file build only lends its .d.ts files.
  assert.equal(files.filter((f) => /^dist\/esm\/.*\.js$/.test(f)), [], 'per-file ESM JavaScript in the tarball');
  // bench/e2e.mjs and its peer adapters back the CLI's `bench` command.
  const stray = files.filter((f) => !/^(dist\/|build\/kernels\.(simd|relaxed)\.wasm$|bench\/e2e\.mjs$|bench\/peers\/[a-z-]+\.mjs$|package\.json$|README\.md$|ARCHITECTURE\.md$|LICENSE)/.test(f));
  assert.equal(stray, [], 'unexpected files in the tarball');
  assert.not.ok(files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), 'TypeScript sources are not shipped');
  // Every target of the exports map and the bin exists in the package.
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const targets = [];
  const walk = (v) => (typeof v === 'string' ? targets.push(v) : Object.values(v).forEach(walk));
  walk(pkg.exports);
  walk(pkg.bin);
  targets.push(pkg.main, pkg.module, pkg.types);
  for (const t of targets) assert.ok(existsSync(path.join(pkgDir, t)), `package.json points at ${t}, which is not in the tarball`);
  assert.ok(statSync(path.join(pkgDir, pkg.bin['shufflenet-wasm'])).mode & 0o111, 'the CLI is executable');
});

test('packed size of the code (dist/**/*.js + build/*.wasm) is within 150 KB', () => {
  const code = packInfo.files.filter((f) => /^dist\/.*\.js$/.test(f.path) || /^build\/[^/]+\.wasm$/.test(f.path));
  let raw = 0, gz = 0;
  const part = {};
  for (const f of code) {
    const bytes = readFileSync(path.join(pkgDir, f.path));
    const g = zlib.gzipSync(bytes, { level: 9 }).length;
    raw += bytes.length;
    gz += g;
    const key = f.path.startsWith('build/') ? 'build/*.wasm' : f.path.split('/').slice(0, 2).join('/') + '/**/*.js';
    part[key] = (part[key] ?? 0) + g;
  }
  const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
  console.log(`package code: ${code.length} files, ${kib(raw)} unpacked, ${kib(gz)} packed (gzip -9 per file; ` +
    `${Object.entries(part).map(([k, v]) => `${k} ${kib(v)}`).join(', ')}); whole tarball ${kib(packInfo.size)}`);
  assert.ok(gz <= CODE_LIMIT, `packed code is ${gz} bytes, over ${CODE_LIMIT}`);
});

test('ESM: import { buildModel } from "shufflenet-wasm" in a fresh project', () => {
  const r = inProject('esm.mjs', `
    import { buildModel, loadModel, hasSimd } from 'shufflenet-wasm';
    const m = await buildModel({ arch: 'v2', width: 0.5, seed: 3 });
    const x = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i));
    const y = m.run(x);
    console.log(JSON.stringify({ resolved: import.meta.resolve('shufflenet-wasm'), n: y.length, finite: y.every(Number.isFinite),
      nonzero: y.some((v) => v !== 0), simd: hasSimd(), loadModel: typeof loadModel }));
  `);
  assert.ok(r.resolved.endsWith('/node_modules/shufflenet-wasm/dist/bundle/index.js'), r.resolved);
  assert.is(r.n, 1000);
  assert.ok(r.finite && r.nonzero);
  assert.is(r.loadModel, 'function');
});

test('ESM: threads: 2 from the packed bundle gives the same logits as 1 thread', () => {
  // The workers run source text made from bundled functions: this is where bundling could break them.
  const r = inProject('esm-threads.mjs', `
    import { buildModel } from 'shufflenet-wasm';
    const x = new Float32Array(3 * 96 * 96).map((_, i) => Math.cos(i * 0.3));
    const one = await buildModel({ arch: 'v1', groups: 3, width: 0.5, inputSize: 96 });
    const two = await buildModel({ arch: 'v1', groups: 3, width: 0.5, inputSize: 96, threads: 2 });
    const a = one.run(x), b = two.run(x);
    console.log(JSON.stringify({ threads: two.threads, same: a.every((v, i) => Object.is(v, b[i])), nonzero: a.some((v) => v !== 0) }));
    two.dispose(); one.dispose();
  `);
  assert.is(r.threads, 2);
  assert.ok(r.same, '2-thread logits differ from 1-thread logits');
  assert.ok(r.nonzero);
});

test('CommonJS: require("shufflenet-wasm") in a fresh project', () => {
  const r = inProject('cjs.cjs', `
    const { buildModel, ShuffleNetError } = require('shufflenet-wasm');
    buildModel({ arch: 'v2', width: 0.5, seed: 3 }).then((m) => {
      const x = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i));
      const y = m.run(x);
      console.log(JSON.stringify({ resolved: require.resolve('shufflenet-wasm'), n: y.length, finite: y.every(Number.isFinite),
        first: Array.from(y.slice(0, 4)), err: typeof ShuffleNetError }));
    });
  `);
  assert.ok(r.resolved.endsWith('/node_modules/shufflenet-wasm/dist/cjs/src/index.js'), r.resolved);
  assert.is(r.n, 1000);
  assert.ok(r.finite);
  assert.is(r.err, 'function');
  // The same network from ESM gives the same logits.
  const e = inProject('esm-first.mjs', `
    import { buildModel } from 'shufflenet-wasm';
    const m = await buildModel({ arch: 'v2', width: 0.5, seed: 3 });
    const y = m.run(new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i)));
    console.log(JSON.stringify(Array.from(y.slice(0, 4))));
  `);
  assert.equal(e, r.first);
});

test('require("shufflenet-wasm/kernels") and import of it', () => {
  const src = (req) => `
    const lib = await loadKernels();
    const x = lib.planes(8, 4, 4).set(new Float32Array(128).fill(1)), y = lib.planes(4, 4, 4);
    lib.conv1x1(x, y, { weight: new Float32Array(32).fill(0.5), bias: new Float32Array(4).fill(1), groups: 1, relu: true }).run();
    console.log(JSON.stringify({ v: Array.from(y.get().slice(0, 2)), keys: Object.keys(${req}).sort() }));`;
  const c = inProject('kernels.cjs', `const { loadKernels } = require('shufflenet-wasm/kernels');
    (async () => { ${src("require('shufflenet-wasm/kernels')")} })();`);
  assert.ok(c.keys.includes('loadKernels'), c.keys.join());
  const e = inProject('kernels.mjs', `import * as K from 'shufflenet-wasm/kernels'; const { loadKernels } = K; ${src('K')}`);
  assert.ok(e.keys.includes('loadKernels'));
  assert.equal(c.v, [5, 5]); // 8 inputs x 1 x 0.5 + bias 1
  assert.equal(e.v, [5, 5]);
});

test('CLI through npx: --help, and classify cat.jpg with the zoo int8 model', () => {
  const help = run('npx', ['--no', '--', 'shufflenet-wasm', '--help'], { cwd: project });
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage:/);
  assert.match(help.stdout, /classify/);
  const res = run('npx', ['--no', '--', 'shufflenet-wasm', 'classify', catJpg, '--model', zooQdq, '--labels', labelsTxt, '--json'], { cwd: project });
  assert.is(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  assert.is(out.length, 1);
  assert.is(out[0].top[0].index, 281);
  assert.match(out[0].top[0].label, /tabby/);
  console.log(`npx shufflenet-wasm classify cat.jpg: ${out[0].top[0].index} ${out[0].top[0].label} ${(out[0].top[0].probability * 100).toFixed(1)}%`);
});

test('the main entry does not reach the Node-only modules; the workerd entry does not reach the inlined bytes', () => {
  // The entries are esbuild bundles sharing chunks, so what an entry reaches is its import
  // closure's text: the inlined kernels are base64 starting with the wasm magic ("\0asm" = AGFzbQ).
  const text = (entry) => closure(path.join(pkgDir, entry)).map((f) => readFileSync(path.join(pkgDir, f), 'utf8'));
  const INLINE = /"AGFzbQ[A-Za-z0-9+/]{1000}/;
  const main = text('dist/bundle/index.js');
  assert.ok(main.some((src) => INLINE.test(src)), 'the main entry carries the kernels inline');
  assert.ok(text('dist/bundle/kernels.js').some((src) => INLINE.test(src)), 'the kernels entry carries the kernels inline');
  const workerd = text('dist/bundle/workerd.js');
  assert.not.ok(workerd.some((src) => INLINE.test(src)), 'the workerd entry must not carry the bytes');
  for (const src of main.concat(workerd)) {
    assert.not.match(src, /from\s*['"](node:|fs['"]|path['"]|jpeg-js|pngjs)/, 'an entry other than the CLI imports a Node builtin or an image decoder');
    assert.not.match(src, /\bdecodeImageFile\b/, 'the CLI\'s image decoding in a library entry');
  }
  // ...and the CLI does reach them (the checks above can fail).
  assert.ok(text('dist/bundle/cli.js').some((src) => /from\s*['"]pngjs['"]/.test(src)));
});

test('esbuild, platform=browser, no wasm configuration: bundles with no Node builtins', async () => {
  const entry = path.join(project, 'browser-entry.mjs');
  writeFileSync(entry, `import { buildModel, loadModel } from 'shufflenet-wasm';
    export async function main() { const m = await buildModel({ arch: 'v2', width: 0.5 }); return m.run(new Float32Array(3 * 224 * 224)); }
    export { loadModel };\n`);
  const r = await esbuild.build({
    entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, minify: true, logLevel: 'silent',
  });
  const code = r.outputFiles[0].text;
  const inputs = Object.keys(r.metafile.inputs);
  const fromPkg = inputs.filter((f) => f.includes('node_modules/shufflenet-wasm/'));
  assert.ok(fromPkg.some((f) => f.endsWith('dist/bundle/index.js')), 'bundled the ESM build');
  for (const f of inputs) assert.not.match(f, /(cli|image-node|jpeg-decode)\.js$/, `${f} is in the browser bundle`);
  assert.not.match(code, /require\(\s*["'](fs|path|os|crypto|node:[^"']*)["']\s*\)/, 'require of a Node builtin in the bundle');
  assert.not.match(code, /(from|import\()\s*["']node:/, 'node: import in the bundle');
  assert.not.match(code, /new URL\([^)]*\.wasm/, 'no wasm URL to configure');
  assert.equal(r.warnings.map((w) => w.text), []);
  console.log(`browser bundle (minified): ${(code.length / 1024).toFixed(1)} KiB, gzip ${(zlib.gzipSync(code, { level: 9 }).length / 1024).toFixed(1)} KiB, ${inputs.length} modules`);
  // The bundle runs (Node standing in for a browser engine here; tests/browser.test.mjs runs the demo bundle in Chromium).
  const out = path.join(project, 'bundle.mjs');
  writeFileSync(out, code);
  const y = inProject('run-bundle.mjs', `import { main } from './bundle.mjs'; const y = await main(); console.log(JSON.stringify({ n: y.length, finite: y.every(Number.isFinite) }));`);
  assert.equal(y, { n: 1000, finite: true });
});

// A stand-in for Cloudflare Workers / Vercel Edge: the "workerd" condition selects the entry,
// every way of compiling WebAssembly from bytes throws, and (like workerd) so does eval.
const forbidCompile = `
  const Module = WebAssembly.Module;
  const bytes = readFileSync(createRequire(import.meta.url).resolve('shufflenet-wasm/kernels.simd.wasm'));
  const module = new Module(bytes);
  // calls: compiles from bytes made by shufflenet-wasm; depCalls: by its dependencies (none
  // since the ONNX parser is the package's own; kept so a new dependency doing it shows up).
  const calls = [], depCalls = [];
  const note = (name) => {
    const frames = new Error().stack.split('\\n').slice(3).map((l) => l.trim());
    const own = frames.find((l) => l.includes('/node_modules/'));
    if (!own || own.includes('/node_modules/shufflenet-wasm/')) calls.push(name);
    else depCalls.push(name + ' from ' + own.replace(/^.*\\/node_modules\\//, '').replace(/\\/.*$/, ''));
  };
  const forbid = (name) => function () { note(name); throw new Error('compile from bytes forbidden: ' + name); };
  WebAssembly.compile = forbid('compile');
  WebAssembly.compileStreaming = forbid('compileStreaming');
  WebAssembly.instantiateStreaming = forbid('instantiateStreaming');
  WebAssembly.Module = forbid('new Module');
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = function (m, imports) {
    if (!(m instanceof Module)) { note('instantiate(bytes)'); throw new Error('instantiate from bytes forbidden'); }
    return instantiate.call(WebAssembly, m, imports);
  };
  WebAssembly.Module.prototype = Module.prototype;
`;

test('workerd / edge-light entry: init({ module }) and never a compile from bytes', () => {
  const r = inProject('workerd.mjs', `
    import { readFileSync } from 'node:fs';
    import { createRequire } from 'node:module';
    ${forbidCompile}
    const pkg = await import('shufflenet-wasm');
    const out = { resolved: import.meta.resolve('shufflenet-wasm'), hasInit: typeof pkg.init };
    try { await pkg.buildModel({ arch: 'v2', width: 0.5 }); out.withoutInit = 'built'; } catch (e) { out.withoutInit = e.code + ' ' + e.message; }
    pkg.init({ module });
    const m = await pkg.buildModel({ arch: 'v2', width: 0.5, seed: 3 });
    const y = m.run(new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i)));
    out.n = y.length; out.finite = y.every(Number.isFinite); out.first = Array.from(y.slice(0, 4));
    const m2 = await pkg.buildModel({ arch: 'v1', width: 0.5, groups: 3, module });  // per call
    out.v1 = m2.run(new Float32Array(3 * 224 * 224)).length;
    out.calls = calls; out.depCalls = depCalls;
    console.log(JSON.stringify(out));
  `, ['--conditions=workerd', '--disallow-code-generation-from-strings']);
  assert.ok(r.resolved.endsWith('/dist/bundle/workerd.js'), r.resolved);
  assert.is(r.hasInit, 'function');
  assert.match(r.withoutInit, /^E_WASM .*never compiles from bytes/);
  assert.is(r.n, 1000);
  assert.ok(r.finite);
  assert.is(r.v1, 1000);
  assert.equal(r.calls, [], 'no compile from bytes');
  if (r.depCalls.length) console.log(`note: dependencies tried (and survived) a forbidden compile: ${[...new Set(r.depCalls)].join(', ')}`);
  // Same network, same logits as the default entry.
  const e = inProject('esm-first2.mjs', `
    import { buildModel } from 'shufflenet-wasm';
    const m = await buildModel({ arch: 'v2', width: 0.5, seed: 3, flavor: 'simd' });
    console.log(JSON.stringify(Array.from(m.run(new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i))).slice(0, 4))));
  `);
  assert.equal(r.first, e);
  // edge-light selects the same entry.
  const edge = inProject('edge.mjs', `console.log(JSON.stringify(import.meta.resolve('shufflenet-wasm')));`, ['--conditions=edge-light']);
  assert.ok(edge.endsWith('/dist/bundle/workerd.js'));
});

test('workerd entry: loadModel(zoo int8) with a precompiled module classifies a crop', () => {
  const r = inProject('workerd-zoo.mjs', `
    import { readFileSync } from 'node:fs';
    import { createRequire } from 'node:module';
    ${forbidCompile}
    const { init, loadModel } = await import('shufflenet-wasm');
    init({ module });
    const m = await loadModel(readFileSync(${JSON.stringify(zooQdq)}));
    // A flat mid-grey image: the test is about loading and running, not accuracy.
    const img = { data: new Uint8Array(300 * 260 * 3).fill(128), width: 300, height: 260, channels: 3 };
    const top = m.classify(img, { topk: 1 });
    console.log(JSON.stringify({ classes: m.classes, p: top[0].probability, calls, depCalls }));
  `, ['--conditions=workerd']);
  assert.is(r.classes, 1000);
  assert.ok(r.p > 0 && r.p <= 1);
  assert.equal(r.calls, []);
  // Workers also forbid eval / new Function: the same load with code generation from strings
  // disallowed must give the same answer (the ONNX parser generates no code).
  const noEval = run(process.execPath, ['--conditions=workerd', '--disallow-code-generation-from-strings', 'workerd-zoo.mjs'], { cwd: project });
  assert.is(noEval.status, 0, noEval.stderr);
  const r2 = JSON.parse(noEval.stdout.trim().split('\n').pop());
  assert.equal([r2.classes, r2.p, r2.calls], [r.classes, r.p, r.calls], 'loadModel without eval gives the same result');
});

test('workerd entry exports the default entry\'s API plus init', () => {
  const r = inProject('exports.mjs', `
    const main = Object.keys(await import(${JSON.stringify(path.join(installed, 'dist/bundle/index.js'))})).sort();
    const w = Object.keys(await import(${JSON.stringify(path.join(installed, 'dist/bundle/workerd.js'))})).sort();
    console.log(JSON.stringify({ main, w }));
  `);
  assert.equal(r.w.filter((k) => k !== 'init'), r.main, 'src/workerd.ts re-exports must match src/index.ts');
  assert.ok(r.w.includes('init'));
});

test('esbuild with the workerd condition (as wrangler bundles): no inlined bytes, .wasm imported as a module', async () => {
  const entry = path.join(project, 'worker.mjs');
  writeFileSync(entry, `import wasm from 'shufflenet-wasm/kernels.simd.wasm';
    import { init, buildModel } from 'shufflenet-wasm';
    init({ module: wasm });
    export default { async fetch() { const m = await buildModel({ arch: 'v2', width: 0.5 }); return new Response(String(m.run(new Float32Array(3 * 224 * 224))[0])); } };\n`);
  const r = await esbuild.build({
    entryPoints: [entry], bundle: true, platform: 'neutral', format: 'esm', write: false, metafile: true, logLevel: 'silent',
    conditions: ['workerd', 'worker', 'browser'], mainFields: ['browser', 'module', 'main'],
    plugins: [{ name: 'wasm-module', setup(b) { b.onResolve({ filter: /\.wasm$/ }, async (a) => {
      if (a.pluginData?.inner) return undefined;
      const res = await b.resolve(a.path, { kind: a.kind, resolveDir: a.resolveDir, pluginData: { inner: true } });
      return { path: res.path, external: true }; // wrangler ships it as a separate WebAssembly.Module
    }); } }],
  });
  const code = r.outputFiles[0].text;
  const inputs = Object.keys(r.metafile.inputs);
  assert.ok(inputs.some((f) => f.endsWith('shufflenet-wasm/dist/bundle/workerd.js')), 'the workerd entry was selected');
  assert.not.ok(inputs.some((f) => /wasm-bytes|inline-wasm/.test(f)), 'no inlined bytes');
  assert.not.match(code, /AGFzbQ/, 'no base64 wasm in the bundle');
  assert.match(code, /shufflenet-wasm\/build\/kernels\.simd\.wasm/, 'the .wasm subpath resolved to the shipped file');
  console.log(`workerd bundle (unminified): ${(code.length / 1024).toFixed(1)} KiB`);
});

// ---- Electron stand-in. No Electron binary can be installed here (the electron package
// downloads it in postinstall from a host this machine cannot reach), so what an asar archive
// and Chromium's renderer would object to is checked instead: after the script starts, every
// fs read, fetch and synchronous WebAssembly compile throws unless Node's own module loader
// makes it (a frame under node:internal). The package must load and run regardless.
const noFilesNoSyncCompile = `
  Error.stackTraceLimit = 50;
  const readCalls = [], syncWasm = [], depSyncWasm = [];
  let compiles = 0;
  const callerOf = () => new Error().stack.split('\\n').slice(3).map((l) => l.trim())[0] ?? '';
  const guard = (obj, name, label) => {
    const orig = obj[name];
    obj[name] = function (...args) {
      const caller = callerOf();
      if (/\\(node:|^at node:/.test(caller)) return orig.apply(this, args); // the module loader
      readCalls.push(label + ' from ' + caller.replace(/^.*node_modules\\//, '').replace(/:\\d+\\)?$/, ''));
      throw new Error(label + ' forbidden (as if inside an asar archive without fs support)');
    };
  };
  for (const name of ['readFileSync', 'readFile', 'openSync', 'open', 'createReadStream', 'existsSync', 'statSync', 'readdirSync', 'accessSync']) guard(fs, name, 'fs.' + name);
  for (const name of ['readFile', 'open', 'readdir', 'stat']) guard(fs.promises, name, 'fs.promises.' + name);
  syncBuiltinESMExports();
  globalThis.fetch = () => { readCalls.push('fetch'); throw new Error('fetch forbidden'); };
  const Module = WebAssembly.Module, compile = WebAssembly.compile;
  WebAssembly.Module = function () {
    const frames = new Error().stack.split('\\n').slice(2).map((l) => l.trim());
    const own = frames.find((l) => l.includes('/node_modules/')); // the innermost package on the stack
    (own && !own.includes('/node_modules/shufflenet-wasm/') ? depSyncWasm : syncWasm).push(own ?? frames[0]);
    throw new RangeError('synchronous WebAssembly compile forbidden (Chromium allows it on the main thread only up to 8 MiB)');
  };
  WebAssembly.Module.prototype = Module.prototype;
  WebAssembly.compile = function (...args) { compiles++; return compile.apply(WebAssembly, args); };
  const report = (y, zoo) => console.log(JSON.stringify({ first: Array.from(y.slice(0, 4)), zooTop: zoo.classify(img, { topk: 1 })[0].index,
    readCalls, syncWasm, depSyncWasm: [...new Set(depSyncWasm.map((l) => l.replace(/^.*node_modules\\//, '').replace(/\\/.*$/, '')))], compiles }));
  const img = { data: new Uint8Array(300 * 260 * 3).fill(128), width: 300, height: 260, channels: 3 };
  const x = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i));
`;

test('Electron stand-in: no file read, no fetch and no synchronous wasm compile by the package, ESM and CommonJS', () => {
  const esm = inProject('no-files.mjs', `
    import fs from 'node:fs';
    import { syncBuiltinESMExports } from 'node:module';
    const onnx = fs.readFileSync(${JSON.stringify(zooQdq)}); // the app's own read, before the guards
    ${noFilesNoSyncCompile}
    const { buildModel, loadModel } = await import('shufflenet-wasm');
    const m = await buildModel({ arch: 'v2', width: 0.5, seed: 3 });
    report(m.run(x), await loadModel(onnx));
  `);
  const cjs = inProject('no-files.cjs', `
    const fs = require('node:fs');
    const { syncBuiltinESMExports } = require('node:module');
    const onnx = fs.readFileSync(${JSON.stringify(zooQdq)});
    ${noFilesNoSyncCompile}
    const { buildModel, loadModel } = require('shufflenet-wasm');
    (async () => {
      const m = await buildModel({ arch: 'v2', width: 0.5, seed: 3 });
      report(m.run(x), await loadModel(onnx));
    })();
  `);
  const plain = inProject('plain-first.mjs', `
    import { buildModel } from 'shufflenet-wasm';
    const m = await buildModel({ arch: 'v2', width: 0.5, seed: 3 });
    console.log(JSON.stringify(Array.from(m.run(new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i))).slice(0, 4))));
  `);
  for (const [name, r] of [['ESM', esm], ['CommonJS', cjs]]) {
    assert.equal(r.readCalls, [], `${name}: files read or fetched`);
    assert.equal(r.syncWasm, [], `${name}: synchronous new WebAssembly.Module by the package`);
    assert.ok(r.compiles >= 1, `${name}: compiled with the asynchronous WebAssembly.compile`);
    assert.equal(r.first, plain, `${name}: same logits as without the guards`);
    assert.ok(Number.isInteger(r.zooTop));
  }
  if (esm.depSyncWasm.length) console.log(`note: dependencies tried (and survived) a synchronous compile: ${esm.depSyncWasm.join(', ')}`);
});

// ---- AWS-Lambda-style function: the function directory is installed with --omit=dev, then
// made read-only and run from another cwd with HOME unset and a minimal environment, as the
// Lambda runtime does (only /tmp is writable there). As root, the run drops to uid/gid 65534
// with setpriv so that the read-only bits are enforced (root ignores them). The same function
// is also run bundled into one file by esbuild, as many Lambda deployments are.

const lambda = path.join(tmp, 'lambda');
const fn = path.join(lambda, 'function');
const runtime = path.join(lambda, 'runtime.mjs');

/** The function directory as a user makes it: npm install --omit=dev, the model file, index.mjs. */
function makeFunction() {
  if (existsSync(path.join(fn, 'index.mjs'))) return;
  mkdirSync(fn, { recursive: true });
  const jpegRange = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).dependencies['jpeg-js'];
  writeFileSync(path.join(fn, 'package.json'), `${JSON.stringify({ name: 'classify-fn', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
  ok('npm', ['install', tarball, `jpeg-js@${jpegRange}`, '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: fn });
  writeFileSync(path.join(fn, 'model.onnx'), readFileSync(zooQdq));
  // The handler as a user writes it: the model is loaded once per container, during init.
  writeFileSync(path.join(fn, 'index.mjs'), `import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { loadModel, ShuffleNetError } from 'shufflenet-wasm';

const model = await loadModel(readFileSync(new URL('./model.onnx', import.meta.url)));

export const handler = async (event) => {
  const img = jpeg.decode(Buffer.from(event.image, 'base64'), { useTArray: true, formatAsRGBA: false });
  try {
    const top = model.classify({ data: img.data, width: img.width, height: img.height, channels: 3 }, { topk: 3 });
    return { statusCode: 200, body: JSON.stringify(top) };
  } catch (e) {
    if (e instanceof ShuffleNetError) return { statusCode: 400, body: JSON.stringify({ code: e.code, message: e.message }) };
    throw e;
  }
};
`);
  // The runtime's part: import the handler module (init), then invoke it twice.
  writeFileSync(runtime, `import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const t0 = performance.now();
const { handler } = await import(pathToFileURL(process.argv[2]).href);
const init = performance.now() - t0;
const event = JSON.parse(readFileSync(${JSON.stringify(path.join(lambda, 'event.json'))}, 'utf8'));
const t1 = performance.now();
const cold = await handler(event);
const t2 = performance.now();
const warm = await handler(event);
const t3 = performance.now();
console.log(JSON.stringify({ init, coldMs: t2 - t1, warmMs: t3 - t2, cold, warm, cwd: process.cwd(), home: process.env.HOME ?? null, uid: process.getuid() }));
`);
  writeFileSync(path.join(lambda, 'event.json'), JSON.stringify({ image: readFileSync(catJpg).toString('base64') }));
}

/** Makes dir read-only, runs dir/index.mjs the way the Lambda runtime does, checks both answers and that dir is unchanged. */
function invokeReadOnly(dir, label) {
  const snapshot = () => readdirSync(dir, { recursive: true }).map(String).sort().map((f) => {
    const s = statSync(path.join(dir, f));
    return `${f} ${s.size} ${s.mtimeMs} ${(s.mode & 0o777).toString(8)}`;
  });
  ok('chmod', ['-R', 'a-w', dir]);
  const before = snapshot();
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'en_US.UTF-8', TZ: ':UTC', LAMBDA_TASK_ROOT: dir,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x', AWS_LAMBDA_FUNCTION_NAME: 'classify-fn', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' };
  const asRoot = process.getuid?.() === 0;
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  const handlerFile = path.join(dir, 'index.mjs');
  let cmd = process.execPath, args = [runtime, handlerFile];
  if (asRoot && setpriv) {
    // Lambda runs the function as an unprivileged user; the temp folders above must be traversable for it.
    for (const d of [tmp, lambda]) ok('chmod', ['755', d]);
    ok('chmod', ['644', runtime, path.join(lambda, 'event.json')]);
    [cmd, args] = [setpriv, ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, runtime, handlerFile]];
  }
  const t = Date.now();
  const res = run(cmd, args, { cwd: '/', env });
  const wall = Date.now() - t;
  const after = snapshot();
  ok('chmod', ['-R', 'u+w', dir]); // so that the temp folder can be removed
  assert.is(res.status, 0, res.stderr);
  const r = JSON.parse(res.stdout.trim().split('\n').pop());
  assert.is(r.home, null);
  assert.is(r.cwd, '/');
  if (asRoot && setpriv) assert.is(r.uid, 65534);
  for (const out of [r.cold, r.warm]) {
    assert.is(out.statusCode, 200, out.body);
    const top = JSON.parse(out.body);
    assert.is(top[0].index, 281);
  }
  assert.is(r.warm.body, r.cold.body, 'the warm invocation gives the same answer');
  assert.equal(after, before, 'nothing was written inside the function dir');
  console.log(`${label} (${r.uid === 0 ? 'as root, read-only not enforced' : `uid ${r.uid}, read-only enforced`}): ` +
    `process ${wall} ms; init (import + loadModel of the zoo int8 model) ${r.init.toFixed(0)} ms; ` +
    `cold invoke ${r.coldMs.toFixed(0)} ms, warm invoke ${r.warmMs.toFixed(0)} ms; top-1 ${JSON.parse(r.cold.body)[0].index}`);
}

test('AWS-Lambda-style handler: read-only function dir, other cwd, no HOME; cold and warm invocations', () => {
  makeFunction();
  assert.ok(readdirSync(path.join(fn, 'node_modules')).includes('shufflenet-wasm'));
  invokeReadOnly(fn, 'Lambda-style, npm install --omit=dev');
});

test('AWS-Lambda-style handler bundled by esbuild (platform=node, one file, no node_modules)', async () => {
  makeFunction();
  const bundled = path.join(lambda, 'bundled');
  mkdirSync(bundled);
  const r = await esbuild.build({
    entryPoints: [path.join(fn, 'index.mjs')], bundle: true, platform: 'node', format: 'esm', target: 'node20',
    outfile: path.join(bundled, 'index.mjs'), metafile: true, logLevel: 'silent',
  });
  assert.equal(r.warnings.map((w) => w.text), []);
  assert.ok(Object.keys(r.metafile.inputs).some((f) => f.includes('node_modules/shufflenet-wasm/dist/bundle/index.js')));
  writeFileSync(path.join(bundled, 'model.onnx'), readFileSync(zooQdq));
  assert.equal(readdirSync(bundled).sort(), ['index.mjs', 'model.onnx']);
  invokeReadOnly(bundled, 'Lambda-style, esbuild bundle');
});

test.after(() => {
  if (!process.env.KEEP_PACK_TMP) rmSync(tmp, { recursive: true, force: true });
});

test.run();
