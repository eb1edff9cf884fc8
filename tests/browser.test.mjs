// Browser: the demo page (src/demo/) in Debian's headless Chromium, driven by playwright-core.
// The page's script is the esbuild bundle (platform=browser, no wasm configuration) of the
// package as packed by `npm pack` and installed from the tarball into an empty project, so
// this is what a user bundling shufflenet-wasm for the web gets. The test picks the zoo int8
// model, a label file and cat.jpg with the page's file inputs and expects 281 (tabby) on top,
// then checks the timing chart and takes a screenshot (its path is printed).
// Needs /usr/bin/chromium (.ci/run installs it), npm run build, and the shared fixtures.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startDemoServer, bundleDemo } from '../src/demo/serve.mjs';
import { dataPath } from './data.mjs';

import { ok, packAndInstall, repo } from './packed.mjs';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
if (!existsSync(path.join(repo, 'dist/bundle/index.js'))) throw new Error('dist/ is missing: run npm run build first');


// Pack and install into an empty project.
const { tmp, tarball, project } = packAndInstall('shufflenet-browser-');

const shotDir = mkdtempSync(path.join(os.tmpdir(), 'shufflenet-screenshot-'));
let server, context, page;
const pageErrors = [];

test.before(async () => {
  server = await startDemoServer({ port: 0, from: project, labelsFile: undefined });
  context = await chromium.launchPersistentContext(path.join(tmp, 'chromium-profile'), {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1200, height: 900 }, timeout: 60_000,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60_000);
  page.on('pageerror', (e) => pageErrors.push(String(e?.message ?? e)));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(`console: ${m.text()}`));
});

test.after(async () => {
  await context?.close();
  await server?.close();
  if (!process.env.KEEP_PACK_TMP) rmSync(tmp, { recursive: true, force: true });
});

test('the demo bundle comes from the packed install and has no Node-only code', async () => {
  const { code, metafile, warnings } = await bundleDemo({ from: project });
  const inputs = Object.keys(metafile.inputs);
  assert.ok(inputs.some((f) => f.includes('/project/node_modules/shufflenet-wasm/dist/bundle/index.js')), 'resolved from the packed install');
  for (const f of inputs) assert.not.match(f, /(cli|image-node|jpeg-decode)\.js$|generated\/.*\.wasm$/, f);
  assert.not.match(code, /require\(\s*["'](fs|path|os|node:[^"']*)["']\s*\)/);
  assert.not.match(code, /(from|import\()\s*["']node:/);
  assert.equal(warnings.map((w) => w.text), []);
});

test('the server sends the right MIME types', async () => {
  const base = server.url.replace(/\/(\?.*)?$/, '');
  for (const [p, type] of [['/', 'text/html'], ['/demo.js', 'text/javascript'], ['/nope', 'text/plain']]) {
    const r = await fetch(base + p);
    assert.ok(r.headers.get('content-type').startsWith(type), `${p}: ${r.headers.get('content-type')}`);
    assert.is(r.status, p === '/nope' ? 404 : 200, p);
  }
});

test('Chromium: zoo int8 model + labels + cat.jpg -> 281 tabby on top, timing chart drawn', async () => {
  await page.goto(server.url);
  await page.waitForFunction(() => document.getElementById('engine').textContent.length > 0);
  assert.match(await page.textContent('#engine'), /WebAssembly SIMD: yes/);
  await page.setInputFiles('#labels', dataPath('imagenet-labels.txt'));
  await page.setInputFiles('#model', dataPath('models/shufflenet-v2-12-qdq.onnx'));
  await page.waitForSelector('body[data-state="ready"], body[data-state="error"]');
  await page.setInputFiles('#photo', dataPath('images/cat.jpg'));
  await page.waitForSelector('body[data-profiled="true"], body[data-state="error"]');
  assert.is(await page.textContent('#error'), '', 'no error shown');
  const top = await page.$$eval('#top5 li', (lis) => lis.map((li) => ({ index: Number(li.dataset.index), text: li.textContent })));
  assert.is(top.length, 5);
  assert.is(top[0].index, 281);
  assert.match(top[0].text, /tabby/);
  const pct = Number(/([\d.]+)%/.exec(top[0].text)[1]);
  assert.ok(pct > 50 && pct <= 100, top[0].text);
  const bars = await page.$$eval('#chart rect', (r) => r.length);
  assert.ok(bars > 40, `${bars} bars in the timing chart`);
  const rows = await page.$$eval('#byKernel tr', (r) => r.length);
  assert.ok(rows >= 5, `${rows} rows in the per-kernel table`);
  const latency = await page.textContent('#latency');
  assert.match(latency, /\d ms/);
  const shot = path.join(shotDir, 'demo-cat.png');
  await page.screenshot({ path: shot, fullPage: true });
  const label = await page.$eval('#top5 li .label', (e) => e.lastChild.textContent);
  console.log(`top-1: ${top[0].index} ${label} ${pct}%; ${latency}`);
  console.log(`screenshot: ${shot}`);
  assert.equal(pageErrors, []);
});

test('Chromium: without labels the page shows class indices; a PNG photo works too', async () => {
  await page.goto(server.url);
  await page.setInputFiles('#model', dataPath('models/shufflenet-v2-12-qdq.onnx'));
  await page.waitForSelector('body[data-state="ready"], body[data-state="error"]');
  await page.setInputFiles('#photo', dataPath('images/chelsea.png'));
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]');
  assert.is(await page.textContent('#error'), '');
  const first = await page.$eval('#top5 li', (li) => ({ index: Number(li.dataset.index), text: li.textContent }));
  assert.match(first.text, new RegExp(`class ${first.index}`));
  assert.equal(pageErrors, []);
});

test('Chromium: dropping photo, model and labels together on the page', async () => {
  await page.goto(server.url);
  const files = [
    ['cat.jpg', 'image/jpeg', dataPath('images/cat.jpg')],
    ['shufflenet-v2-12-qdq.onnx', '', dataPath('models/shufflenet-v2-12-qdq.onnx')],
    ['imagenet-labels.txt', 'text/plain', dataPath('imagenet-labels.txt')],
  ].map(([name, type, file]) => ({ name, type, b64: readFileSync(file).toString('base64') }));
  const dt = await page.evaluateHandle((list) => {
    const t = new DataTransfer();
    for (const f of list) t.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
    return t;
  }, files);
  await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]');
  assert.is(await page.textContent('#error'), '');
  const first = await page.$eval('#top5 li', (li) => ({ index: Number(li.dataset.index), text: li.textContent }));
  assert.is(first.index, 281);
  assert.match(first.text, /tabby/);
  assert.equal(pageErrors, []);
});

test('Chromium: a file that is not an ONNX model shows a ShuffleNetError, no crash', async () => {
  await page.goto(server.url);
  const bogus = path.join(tmp, 'bogus.onnx');
  writeFileSync(bogus, 'this is not a protobuf');
  await page.setInputFiles('#model', bogus);
  await page.waitForSelector('body[data-state="error"]');
  assert.match(await page.textContent('#error'), /^E_[A-Z_]+: /);
  assert.equal(pageErrors, []);
});

test.run();
