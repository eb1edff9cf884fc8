// Bundlers: a new user's web page that does `import { buildModel, loadModel } from 'shufflenet-wasm'`,
// built with Vite (production build and dev server) and with webpack 5 (production mode, the
// default entry ./src/index.js), with no configuration about wasm and no plugins. The package
// is packed with `npm pack` and installed from the tarball into an empty project, as in
// tests/packaging.test.mjs. Each bundle is checked for what a user would have to configure
// (an emitted .wasm asset or wasm URL, a Node builtin), then loaded in headless Chromium (as in
// tests/browser.test.mjs). The page writes its logits into the DOM and they must equal, value
// for value, what Node computes with the same package for the same seed and input.
// Needs /usr/bin/chromium (.ci/run installs it), npm run build, and the shared zoo int8 model.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { build as viteBuild, createServer as viteServer } from 'vite';
import webpack from 'webpack';
import { dataPath } from './data.mjs';

import { ok, packAndInstall, repo } from './packed.mjs';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
for (const f of ['dist/bundle/index.js', 'build/kernels.simd.wasm']) {
  if (!existsSync(path.join(repo, f))) throw new Error(`${f} is missing: run npm run build first`);
}


const t0 = Date.now();
const { tmp, tarball, project } = packAndInstall('shufflenet-bundlers-', { type: 'module' });
console.log(`packed and installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const zooQdq = dataPath('models/shufflenet-v2-12-qdq.onnx');

// The input both sides use: exact in float32, no Math.sin (whose last bit may differ between engines).
const INPUT = 'new Float32Array(3 * 224 * 224).map((_, i) => ((i * 7919) % 255) / 127.5 - 1)';

// The page's script: v2 0.5x with the default kernel flavor and with plain SIMD, and the zoo int8
// model fetched from the server; top-1, a logit checksum and the logits go into the DOM.
const PAGE_JS = `import { buildModel, loadModel } from 'shufflenet-wasm';
const out = document.getElementById('out');
function summary(m, y) {
  let top = 0, sum = 0;
  for (let i = 0; i < y.length; i++) { sum += y[i]; if (y[i] > y[top]) top = i; }
  return { flavor: m.flavor, top, sum, logits: Array.from(y) };
}
try {
  const x = ${INPUT};
  const res = {};
  for (const flavor of ['auto', 'simd']) {
    const m = await buildModel({ arch: 'v2', width: 0.5, seed: 3, flavor });
    res[flavor] = summary(m, m.run(x));
  }
  const bytes = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
  const zoo = await loadModel(bytes, { flavor: 'simd' });
  res.zoo = summary(zoo, zoo.run(x));
  out.textContent = JSON.stringify(res);
  document.body.dataset.state = 'done';
} catch (e) {
  out.textContent = String(e && e.stack || e);
  document.body.dataset.state = 'error';
}
`;
const PAGE_HTML = (script) => `<!doctype html>
<html><head><meta charset="utf-8"><title>shufflenet-wasm</title></head>
<body><pre id="out">loading</pre>${script}</body></html>
`;

// What Node computes with the same installed package. The relaxed flavor needs the flag on Node 20.
function nodeLogits(flavors, extraArgs = []) {
  writeFileSync(path.join(project, 'node-ref.mjs'), `
    import { buildModel, loadModel } from 'shufflenet-wasm';
    import { readFileSync } from 'node:fs';
    const x = ${INPUT};
    const res = {};
    for (const flavor of ${JSON.stringify(flavors)}) {
      const m = await buildModel({ arch: 'v2', width: 0.5, seed: 3, flavor });
      res[m.flavor] = Array.from(m.run(x));
    }
    const zoo = await loadModel(readFileSync(${JSON.stringify(zooQdq)}), { flavor: 'simd' });
    res.zoo = Array.from(zoo.run(x));
    console.log(JSON.stringify(res));
  `);
  return JSON.parse(ok(process.execPath, [...extraArgs, 'node-ref.mjs'], { cwd: project }).trim().split('\n').pop());
}
const fromNode = nodeLogits(['simd']);
const fromNodeRelaxed = nodeLogits(['relaxed'], ['--experimental-wasm-relaxed-simd']);

/** What a user would have to configure or polyfill, found in emitted files. */
function checkBundle(name, dir) {
  const files = readdirSync(dir, { recursive: true }).map(String);
  assert.equal(files.filter((f) => f.endsWith('.wasm')), [], `${name}: no .wasm asset emitted`);
  const js = files.filter((f) => /\.m?js$/.test(f));
  assert.ok(js.length > 0, `${name}: emitted JavaScript`);
  const code = js.map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
  assert.match(code, /AGFzbQ/, `${name}: the kernels travel inline (base64)`);
  assert.not.match(code, /new URL\([^)]*\.wasm/, `${name}: a wasm URL`);
  assert.not.match(code, /require\(\s*["'`](fs|path|os|crypto|node:[^"'`]*)["'`]\s*\)/, `${name}: require of a Node builtin`);
  assert.not.match(code, /(from\s*|import\s*)["'`]node:/, `${name}: a static node: import`);
  // The one Node builtin the package names: node:worker_threads, loaded lazily by the thread
  // pool only where process.versions.node exists (never reached in a browser).
  const builtins = [...new Set(code.match(/node:[a-z_/]+/g) ?? [])];
  assert.ok(builtins.every((b) => b === 'node:worker_threads'), `${name}: Node builtins named: ${builtins.join(', ')}`);
  const gz = js.reduce((n, f) => n + zlib.gzipSync(readFileSync(path.join(dir, f)), { level: 9 }).length, 0);
  return { files: js.length, kib: (code.length / 1024).toFixed(1), gzKib: (gz / 1024).toFixed(1) };
}

/** A static file server for a build folder, plus the zoo model at /model.onnx. */
function serve(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript' };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/model.onnx') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(readFileSync(zooQdq));
    }
    const file = path.join(dir, url.pathname === '/' ? 'index.html' : path.normalize(url.pathname));
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)),
  })));
}

let browser;
async function runPage(url) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e?.message ?? e)));
  page.on('console', (m) => m.type() === 'error' && !/favicon|404 \(Not Found\)/.test(m.text()) && errors.push(m.text()));
  const t = Date.now();
  await page.goto(url);
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 60_000 });
  const text = await page.textContent('#out');
  const state = await page.getAttribute('body', 'data-state');
  const ms = Date.now() - t;
  await page.close();
  assert.is(state, 'done', text);
  assert.equal(errors, []);
  return { ...JSON.parse(text), ms };
}

function checkLogits(name, r) {
  assert.is(r.simd.flavor, 'simd');
  assert.is(r.simd.logits.length, 1000);
  assert.ok(r.simd.logits.every(Number.isFinite));
  assert.equal(r.simd.logits, fromNode.simd, `${name}: Chromium's simd logits equal Node's`);
  // Chromium has relaxed SIMD on by default; the default flavor picks it where the engine has it.
  const expected = r.auto.flavor === 'relaxed' ? fromNodeRelaxed.relaxed : fromNode.simd;
  assert.equal(r.auto.logits, expected, `${name}: Chromium's ${r.auto.flavor} logits equal Node's`);
  assert.equal(r.zoo.logits, fromNode.zoo, `${name}: the zoo int8 model's logits equal Node's`);
  console.log(`${name} in Chromium: ${r.ms} ms to results; v2 0.5x top-1 ${r.auto.top} (default flavor ${r.auto.flavor}, ` +
    `checksum ${r.auto.sum.toFixed(4)}), zoo int8 top-1 ${r.zoo.top}; logits equal Node's`);
}

test.before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 });
});

test.after(async () => {
  await browser?.close();
  if (!process.env.KEEP_PACK_TMP) rmSync(tmp, { recursive: true, force: true });
});

// ---- Vite: index.html + main.js, `vite build` with no config file

const viteApp = path.join(project, 'vite-app');
mkdirSync(viteApp);
writeFileSync(path.join(viteApp, 'index.html'), PAGE_HTML('<script type="module" src="./main.js"></script>'));
writeFileSync(path.join(viteApp, 'main.js'), PAGE_JS);

test('Vite: production build with no configuration, no wasm asset or Node builtin in it', async () => {
  const warnings = [];
  const logger = { info() {}, warn: (m) => warnings.push(m), warnOnce: (m) => warnings.push(m), error: (m) => warnings.push(m),
    clearScreen() {}, hasErrorLogged: () => false, hasWarned: false };
  const t = Date.now();
  const out = await viteBuild({ root: viteApp, configFile: false, logLevel: 'warn', customLogger: logger });
  const ms = Date.now() - t;
  const names = [out].flat().flatMap((o) => o.output.map((c) => c.fileName));
  assert.ok(names.includes('index.html'));
  assert.equal(warnings, [], 'Vite printed no warning');
  const s = checkBundle('Vite', path.join(viteApp, 'dist'));
  console.log(`vite build: ${ms} ms, ${s.files} JS files, ${s.kib} KiB (gzip ${s.gzKib} KiB): ${names.join(', ')}`);
});

test('Vite build in Chromium: logits equal Node\'s for the same seed', async () => {
  const server = await serve(path.join(viteApp, 'dist'));
  try {
    checkLogits('vite build', await runPage(server.url));
  } finally {
    await server.close();
  }
});

test('Vite dev server (dependency pre-bundling) in Chromium: logits equal Node\'s', async () => {
  const dev = await viteServer({ root: viteApp, configFile: false, logLevel: 'silent', server: { port: 0, host: '127.0.0.1', watch: null },
    plugins: [{ name: 'model', configureServer(s) { s.middlewares.use('/model.onnx', (req, res) => res.end(readFileSync(zooQdq))); } }] });
  await dev.listen();
  try {
    checkLogits('vite dev', await runPage(dev.resolvedUrls.local[0]));
  } finally {
    await dev.close();
  }
});

// ---- webpack 5: production mode, default entry ./src/index.js, default output dist/main.js

const webpackApp = path.join(project, 'webpack-app');
mkdirSync(path.join(webpackApp, 'src'), { recursive: true });
writeFileSync(path.join(webpackApp, 'src', 'index.js'), PAGE_JS);

test('webpack 5: production build with the default config, no wasm asset or Node builtin in it', async () => {
  const t = Date.now();
  // context + output.path are what `npx webpack --mode production` uses when run in webpackApp.
  const stats = await new Promise((resolve, reject) => webpack({ mode: 'production', context: webpackApp, output: { path: path.join(webpackApp, 'dist') } },
    (err, s) => (err ? reject(err) : resolve(s))));
  const ms = Date.now() - t;
  const info = stats.toJson({ all: false, errors: true, warnings: true, assets: true });
  assert.equal(info.errors.map((e) => e.message), []);
  assert.equal(info.warnings.map((w) => w.message), [], 'webpack printed no warning');
  writeFileSync(path.join(webpackApp, 'dist', 'index.html'), PAGE_HTML('<script src="main.js"></script>'));
  const s = checkBundle('webpack', path.join(webpackApp, 'dist'));
  console.log(`webpack build: ${ms} ms, ${s.files} JS files, ${s.kib} KiB (gzip ${s.gzKib} KiB): ${info.assets.map((a) => a.name).join(', ')}`);
});

test('webpack build in Chromium: logits equal Node\'s for the same seed', async () => {
  const server = await serve(path.join(webpackApp, 'dist'));
  try {
    checkLogits('webpack', await runPage(server.url));
  } finally {
    await server.close();
  }
});

test.run();
