#!/usr/bin/env node
// Cold start of shufflenet-wasm: fresh `node` processes (5 by default) that import the package,
// build ShuffleNet v2 1.0x with synthetic weights (buildModel) and run inferences on one image.
// Reports medians of:
//   node+script start   performance.now() at the top of the child script (Node bootstrap + ESM load;
//                       performance.now() is hrtime relative to performance.timeOrigin, the process start)
//   import+init         await import('shufflenet-wasm')
//   model build         await buildModel({ arch: 'v2', width: 1, ... }) (graph + weights + wasm compile + pack)
//   1st / 2nd inference model.run(image)
//   start → 1st result  performance.now() when the first logits are back
//   spawn → exit        measured by the parent (includes process teardown)
// in two configurations: buildModel with the defaults (warmup: 0, so the 1st inference really is
// the first; the memory plan is made inside buildModel) and with warmup: 1 (one inference on zeros
// inside buildModel, so the 1st real one runs on warm code and caches).
// Then the size of the package code: `npm pack --dry-run --json` (scripts ignored), summed over
// dist/**/*.js and build/*.wasm (fixtures excluded), plus the ESM import closure of the main entry.
//
//   node bench/cold-start.mjs [--runs 5] [--json FILE | --no-json]
//
// Needs the package built (npm run build).

if (process.argv[2] === '--child') {
  // Child: nothing may be imported before this line is timed.
  const tScript = performance.now();
  const warmup = process.argv[3] === 'default' ? undefined : Number(process.argv[3]);
  const { buildModel } = await import('shufflenet-wasm');
  const tImport = performance.now();
  const model = await buildModel({ arch: 'v2', width: 1, ...(warmup === undefined ? {} : { warmup }) });
  const tBuild = performance.now();
  // The image is made with native fills, not a JavaScript loop: 150K iterations of cold
  // JavaScript here took ~4 ms, which is the benchmark's work, not the package's.
  const x = new Float32Array(3 * 224 * 224);
  for (let c = 0; c < 3; c++) x.fill(0.5 - 0.4 * c, c * 224 * 224, c * 224 * 224 + 112 * 224).fill(-0.3 * c, c * 224 * 224 + 112 * 224, (c + 1) * 224 * 224);
  const y1 = model.run(x);
  const tFirst = performance.now();
  const y2 = model.run(x);
  const tSecond = performance.now();
  let top = 0;
  for (let i = 1; i < y1.length; i++) if (y1[i] > y1[top]) top = i;
  process.stdout.write(`${JSON.stringify({
    scriptStart: tScript, importInit: tImport - tScript, modelBuild: tBuild - tImport,
    firstInference: tFirst - tBuild, secondInference: tSecond - tFirst, startToFirstResult: tFirst,
    flavor: model.flavor, top1: top, same: y1.every((v, i) => v === y2[i]),
  })}\n`);
} else {
  await parent();
}

async function parent() {
  const { spawn, execFileSync } = await import('node:child_process');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const os = await import('node:os');
  const zlib = await import('node:zlib');
  const { fileURLToPath } = await import('node:url');

  const self = fileURLToPath(import.meta.url);
  const root = path.resolve(path.dirname(self), '..');
  const args = process.argv.slice(2);
  let runs = 5, json;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--runs') runs = Math.max(1, Number(args[++i]) | 0);
    else if (args[i] === '--json') json = args[++i];
    else if (args[i] === '--no-json') json = null;
    else { process.stderr.write('usage: node bench/cold-start.mjs [--runs 5] [--json FILE | --no-json]\n'); process.exit(2); }
  }
  const log = (s) => process.stderr.write(`${s}\n`);
  if (!fs.existsSync(path.join(root, 'dist/bundle/index.js'))) {
    log('dist/ is missing: run npm run build first');
    process.exit(1);
  }

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const child = (warmup) => new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(process.execPath, [self, '--child', String(warmup)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      const spawnToExit = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) return reject(new Error(`child exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      try { resolve({ ...JSON.parse(out.trim().split('\n').pop()), spawnToExit }); } catch (e) { reject(e); }
    });
  });

  const loadBefore = os.loadavg();
  const configs = [
    { name: 'buildModel() defaults (warmup: 0)', warmup: 'default' },
    { name: 'buildModel({ warmup: 1 })', warmup: 1 },
  ];
  const cols = ['scriptStart', 'importInit', 'modelBuild', 'firstInference', 'secondInference', 'startToFirstResult', 'spawnToExit'];
  const results = [];
  for (const c of configs) {
    const samples = [];
    // One unmeasured spawn first so the page cache holds node, the package and its wasm.
    await child(c.warmup);
    for (let i = 0; i < runs; i++) {
      const s = await child(c.warmup);
      samples.push(s);
      log(`[${c.name}] run ${i + 1}/${runs}: start→1st result ${s.startToFirstResult.toFixed(1)} ms (build ${s.modelBuild.toFixed(1)}, 1st ${s.firstInference.toFixed(1)})`);
    }
    const med = Object.fromEntries(cols.map((k) => [k, median(samples.map((s) => s[k]))]));
    results.push({ ...c, flavor: samples[0].flavor, median: med, samples });
  }
  const loadAfter = os.loadavg();

  // Package size.
  let size;
  try {
    const raw = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const info = JSON.parse(raw.slice(raw.indexOf('[')))[0];
    const files = info.files.filter((f) => !/(^|\/)(fixtures?|__fixtures__)\//.test(f.path));
    const sum = (re) => files.filter((f) => re.test(f.path)).reduce((a, f) => a + f.size, 0);
    const gz = (re) => files.filter((f) => re.test(f.path))
      .reduce((a, f) => a + zlib.gzipSync(fs.readFileSync(path.join(root, f.path)), { level: 9 }).length, 0);
    // ESM import closure of the main entry (relative specifiers only).
    const closure = new Set();
    const visit = (file) => {
      if (closure.has(file) || !fs.existsSync(file)) return;
      closure.add(file);
      const src = fs.readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:from\s*|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) visit(path.resolve(path.dirname(file), m[1]));
    };
    visit(path.join(root, 'dist/bundle/index.js'));
    const closureBytes = [...closure].reduce((a, f) => a + fs.statSync(f).size, 0);
    const closureGz = [...closure].reduce((a, f) => a + zlib.gzipSync(fs.readFileSync(f), { level: 9 }).length, 0);
    size = {
      tarball: info.size, unpacked: info.unpackedSize, entryCount: info.entryCount,
      code: sum(/^dist\/.*\.js$/) + sum(/^build\/[^/]*\.wasm$/),
      distJs: sum(/^dist\/.*\.js$/), esmJs: sum(/^dist\/bundle\/.*\.js$/), cjsJs: sum(/^dist\/cjs\/.*\.js$/),
      buildWasm: sum(/^build\/[^/]*\.wasm$/), buildWasmGzip: gz(/^build\/[^/]*\.wasm$/),
      dts: sum(/\.d\.ts$/), other: files.filter((f) => !/\.(js|wasm)$/.test(f.path) && !/\.d\.ts$/.test(f.path)).reduce((a, f) => a + f.size, 0),
      esmEntryClosure: { files: closure.size, bytes: closureBytes, gzip: closureGz },
      excludedFixtures: info.files.length - files.length,
    };
  } catch (e) {
    size = { error: String(e?.message ?? e).split('\n')[0] };
  }

  const f1 = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;
  const lines = [];
  lines.push(`Cold start, shufflenet-wasm v2 1.0x (synthetic weights, 224x224), median of ${runs} fresh processes (page cache warm; ms)`);
  lines.push(`${process.version}, ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}; loadavg before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`);
  lines.push('');
  lines.push('| configuration | kernels | node+script start | import+init | model build | 1st inference | 2nd inference | process start → 1st result | spawn → exit |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) lines.push(`| ${r.name} | ${r.flavor} | ${cols.map((k) => f1(r.median[k])).join(' | ')} |`);
  lines.push('');
  if (size.error) lines.push(`package size: error: ${size.error}`);
  else {
    lines.push('Package code (npm pack --dry-run, fixtures excluded):');
    lines.push('');
    lines.push('| part | bytes |');
    lines.push('|---|---:|');
    lines.push(`| dist/**/*.js + build/*.wasm (the package code) | ${kb(size.code)} |`);
    lines.push(`| of which dist/bundle/**/*.js (ESM) | ${kb(size.esmJs)} |`);
    lines.push(`| of which dist/cjs/**/*.js | ${kb(size.cjsJs)} |`);
    lines.push(`| of which build/*.wasm (gzip -9: ${kb(size.buildWasmGzip)}) | ${kb(size.buildWasm)} |`);
    lines.push(`| ESM import closure of the main entry, ${size.esmEntryClosure.files} files (what \`import 'shufflenet-wasm'\` loads; wasm inlined) | ${kb(size.esmEntryClosure.bytes)} (gzip -9: ${kb(size.esmEntryClosure.gzip)}) |`);
    lines.push(`| .d.ts | ${kb(size.dts)} |`);
    lines.push(`| tarball (${size.entryCount} files) / unpacked | ${kb(size.tarball)} / ${kb(size.unpacked)} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (json !== null) {
    const file = json ?? path.join(root, 'bench', 'results', `cold-start-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify({ node: process.version, loadBefore, loadAfter, runs, results, size }, null, 2)}\n`);
    log(`wrote ${path.relative(process.cwd(), file) || file}`);
  }
}
