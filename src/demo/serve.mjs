#!/usr/bin/env node
// Serves the browser demo on localhost: index.html, and demo.js bundled on the fly by esbuild
// (platform=browser, no wasm path configuration: the kernels are inlined in the package).
//
//   npm run demo                       # http://127.0.0.1:8080/
//   node src/demo/serve.mjs --port 0 --labels ../shared/data/imagenet-labels.txt
//
// --labels FILE serves FILE at /labels.txt and the printed URL asks the page to fetch it.
// --from DIR resolves 'shufflenet-wasm' from DIR (e.g. a project where the packed tarball is
// installed) instead of this repository's own build (dist/, via the package self-reference).
// Used as a module by tests/browser.test.mjs: startDemoServer({ port: 0, from, labelsFile }).
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
};

/** esbuild bundle of src/demo/demo.js, resolving 'shufflenet-wasm' from `from`. */
export async function bundleDemo({ from = repo, minify = false } = {}) {
  const resolveFrom = {
    name: 'shufflenet-wasm-from',
    setup(build) {
      build.onResolve({ filter: /^shufflenet-wasm(\/|$)/ }, async (args) => {
        if (args.pluginData?.inner) return undefined;
        const r = await build.resolve(args.path, { kind: args.kind, resolveDir: from, pluginData: { inner: true } });
        return r.errors.length ? { errors: r.errors } : { path: r.path, external: r.external, sideEffects: r.sideEffects };
      });
    },
  };
  const result = await esbuild.build({
    entryPoints: [path.join(here, 'demo.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [resolveFrom],
  });
  return { code: result.outputFiles[0].text, metafile: result.metafile, warnings: result.warnings };
}

/**
 * Starts the demo server. Resolves to { url, port, close() }. `csp`, when given, is sent as the
 * Content-Security-Policy header of every response.
 */
export async function startDemoServer({ port = 8080, host = '127.0.0.1', from = repo, labelsFile, csp, log = () => {} } = {}) {
  const server = http.createServer(async (req, res) => {
    const url = { pathname: (req.url ?? '/').split('?')[0] };
    const send = (status, type, body) => {
      // COOP + COEP make the page cross-origin isolated, which gives performance.now() 5 us
      // resolution instead of 100 us: model.profile()'s per-step times need it.
      const headers = {
        'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff',
        'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
      };
      if (csp) headers['Content-Security-Policy'] = csp;
      res.writeHead(status, headers);
      res.end(body);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, MIME['.txt'], 'method not allowed\n');
      switch (url.pathname) {
        case '/':
        case '/index.html':
          return send(200, MIME['.html'], await readFile(path.join(here, 'index.html')));
        case '/demo.js': {
          const t0 = performance.now();
          const { code } = await bundleDemo({ from });
          log(`bundled demo.js (${(code.length / 1024).toFixed(0)} KiB) in ${(performance.now() - t0).toFixed(0)} ms`);
          return send(200, MIME['.js'], code);
        }
        case '/labels.txt':
          if (labelsFile) return send(200, MIME['.txt'], await readFile(labelsFile));
          break;
        case '/favicon.ico':
          res.writeHead(204);
          return res.end();
      }
      send(404, MIME['.txt'], `not found: ${url.pathname}\n`);
    } catch (e) {
      log(`error serving ${url.pathname}: ${e?.message ?? e}`);
      send(500, MIME['.txt'], `${e?.message ?? e}\n`);
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const actual = server.address().port;
  const url = `http://${host}:${actual}/${labelsFile ? '?labels=/labels.txt' : ''}`;
  return {
    url,
    port: actual,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
  };
  if (args.includes('--help') || args.includes('-h')) {
    console.log('usage: node src/demo/serve.mjs [--port 8080] [--host 127.0.0.1] [--labels FILE] [--from DIR]');
    process.exit(0);
  }
  const labelsFile = opt('labels') ? path.resolve(opt('labels')) : undefined;
  const from = path.resolve(opt('from', repo));
  try {
    await bundleDemo({ from }); // fail early (e.g. dist/ missing: run npm run build)
  } catch (e) {
    console.error(`cannot bundle the demo: ${e?.message ?? e}\n(run npm run build first)`);
    process.exit(1);
  }
  const s = await startDemoServer({ port: Number(opt('port', 8080)), host: opt('host', '127.0.0.1'), from, labelsFile, log: (m) => console.log(m) });
  console.log(`shufflenet-wasm demo: ${s.url}`);
  console.log('Drop a photo and an ONNX ShuffleNet (e.g. shufflenet-v2-12-qdq.onnx) on the page. Ctrl-C to stop.');
}
