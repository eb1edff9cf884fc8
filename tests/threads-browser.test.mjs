// `threads: 2` in headless Chromium (Web Workers from a blob: URL, shared WebAssembly.Memory):
// on a cross-origin isolated page (COOP/COEP headers) the model runs on 2 threads with the
// same logits as 1 thread; without isolation it warns once and runs on 1 thread.
// The page script is the esbuild browser bundle of dist/esm/src/index.js.
// Needs /usr/bin/chromium (or CHROMIUM_PATH) and npm run build, like tests/browser.test.mjs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';

const repo = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);

const pageScript = `
import { buildModel } from ${JSON.stringify(repo + 'dist/esm/src/index.js')};
window.check = async () => {
  const warnings = [];
  console.warn = (...a) => warnings.push(a.join(' '));
  const x = new Float32Array(3 * 96 * 96).map((_, i) => Math.sin(i * 0.37));
  const one = await buildModel({ arch: 'v1', width: 1, groups: 3, inputSize: 96 });
  const two = await buildModel({ arch: 'v1', width: 1, groups: 3, inputSize: 96, threads: 2 });
  const a = one.run(x), b = two.run(x), c = two.run(x);
  const same = a.every((v, i) => Object.is(v, b[i]) && Object.is(v, c[i]));
  const result = { isolated: self.crossOriginIsolated, threads: two.threads, same, warnings };
  one.dispose();
  two.dispose();
  return result;
};`;

let browser, bundle;
const servers = [];

function serve(isolated) {
  const headers = isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
  return new Promise((resolve) => {
    const s = http.createServer((req, res) => {
      const js = req.url === '/page.js';
      res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html', ...headers });
      res.end(js ? bundle : '<!doctype html><script type="module" src="/page.js"></script>');
    }).listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${s.address().port}/`));
    servers.push(s);
  });
}

async function check(url) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e?.message ?? e)));
  await page.goto(url);
  await page.waitForFunction(() => typeof window.check === 'function', null, { timeout: 60_000 });
  const r = await page.evaluate(() => window.check());
  await page.close();
  assert.equal(errors, [], 'page errors');
  return r;
}

test.before(async () => {
  const r = await esbuild.build({
    stdin: { contents: pageScript, resolveDir: repo, loader: 'js' },
    bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent',
  });
  bundle = r.outputFiles[0].text;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'], timeout: 60_000 });
});

test.after(async () => {
  await browser?.close();
  for (const s of servers) s.close();
});

test('cross-origin isolated page: 2 threads (Web Workers), logits identical to 1 thread, no warning', async () => {
  const r = await check(await serve(true));
  assert.is(r.isolated, true);
  assert.is(r.threads, 2);
  assert.ok(r.same, '2-thread logits differ from 1 thread');
  assert.equal(r.warnings, []);
});

test('page without cross-origin isolation: one warning naming the headers, then 1 thread', async () => {
  const r = await check(await serve(false));
  assert.is(r.isolated, false);
  assert.is(r.threads, 1);
  assert.ok(r.same);
  assert.is(r.warnings.length, 1);
  assert.match(r.warnings[0], /Cross-Origin-Embedder-Policy: require-corp/);
});

test.run();
