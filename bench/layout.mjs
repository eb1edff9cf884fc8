// Layout study: the package's channel-plane (CHW, SIMD along pixels) kernels against
// NHWC (channels-last, SIMD along channels, XNNPACK-style) kernels on ShuffleNet shapes.
//
//   node bench/layout.mjs [--json out.json] [--quick] [--relaxed] [--proto]
//
// Needs `npm run build` (dist/ and build/kernels.simd.wasm); builds build/layout-nhwc.wasm
// from bench/layout/nhwc.ts when missing or older than its source.
// Both layouts run the plain-SIMD128 build (mul + add), single-threaded. With --relaxed both
// run their relaxed-SIMD (FMA) builds instead (build/kernels.relaxed.wasm and
// build/layout-nhwc.relaxed.wasm); on Node 20 the script re-runs itself with
// --experimental-wasm-relaxed-simd. --proto adds columns for the prototype CHW depthwise
// kernel in bench/layout/chw-proto.ts (built to build/layout-chw-proto[.relaxed].wasm): the
// package kernel and the changed kernel, both compiled into that one module.
// Every shape is checked against a JS reference before it is timed. Timing: >= 50 warm-up
// calls, then batches of >= 10 ms, alternating between the kernels of one shape (so both see
// the same machine noise), 25 batches (>= 250 ms) each; the median batch gives time per call.
// GFLOP/s = 2 * MACs / time, MACs counting real channels only (padding channels are overhead).
import { existsSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadavg, cpus } from 'node:os';
import { buildNhwc, NHWC_WASM, NHWC_RELAXED_WASM } from './layout/build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;
const quick = args.includes('--quick');
const relaxed = args.includes('--relaxed');
const proto = args.includes('--proto');

// f32x4.relaxed_madd in a minimal module: does this engine run relaxed SIMD?
function engineHasRelaxed() {
  const z = new Array(16).fill(0), vc = [0xfd, 0x0c, ...z];
  const b = [0, ...vc, ...vc, ...vc, 0xfd, 0x85, 0x02, 0x0b];
  return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0, 10, b.length + 2, 1, b.length, ...b]));
}
if (relaxed && !engineHasRelaxed()) {
  if (process.execArgv.includes('--experimental-wasm-relaxed-simd')) throw new Error('this engine has no relaxed SIMD');
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', ...process.execArgv, fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const BATCH_MS = quick ? 5 : 10;
const MIN_BATCHES = quick ? 5 : 25;
const WARMUP_CALLS = 50;

// ---------- loading ----------
const distWasm = join(root, 'dist', 'esm', 'bindings', 'wasm.js');
const simdWasm = join(root, 'build', relaxed ? 'kernels.relaxed.wasm' : 'kernels.simd.wasm');
if (!existsSync(distWasm) || !existsSync(simdWasm)) {
  console.error('bench/layout.mjs needs `npm run build` first (dist/ and build/kernels.simd.wasm).');
  process.exit(1);
}
const src = join(root, 'bench', 'layout', 'nhwc.ts');
const nhwcWasm = relaxed ? NHWC_RELAXED_WASM : NHWC_WASM;
if (!existsSync(nhwcWasm) || statSync(nhwcWasm).mtimeMs < Math.max(statSync(src).mtimeMs,
  statSync(join(root, 'assembly', 'simd.ts')).mtimeMs)) buildNhwc(relaxed);

const { createKernels } = await import(distWasm);
// The package's CHW kernels, as last built by `npm run build` (build/ holds the bytes dist/ inlines).
const k = await createKernels({ bytes: readFileSync(simdWasm) });
if (k.exports.relaxedBuild() !== (relaxed ? 1 : 0)) throw new Error('unexpected kernel build flavor');

let kp = null; // prototype CHW depthwise kernels (same ABI as dwconv3x3)
if (proto) {
  // The prototype (loads shared between even/odd lanes) measured no gain and was removed;
  // its numbers stay in bench/layout/RESULTS.md.
  throw new Error('--proto: bench/layout/chw-proto.ts was removed after the study (see bench/layout/RESULTS.md)');
  const out = join(root, 'build', relaxed ? 'layout-chw-proto.relaxed.wasm' : 'layout-chw-proto.wasm');
  spawnSync(join(root, 'node_modules', '.bin', 'asc'), ['bench/layout/chw-proto.ts', '-O3', '--noAssert', '--runtime', 'stub',
    '--enable', relaxed ? 'relaxed-simd' : 'simd', '-o', out], { cwd: root, stdio: 'inherit' });
  kp = await createKernels({ bytes: readFileSync(out) });
}

const nhwcInst = (await WebAssembly.instantiate(readFileSync(nhwcWasm), {})).instance;
const nx = nhwcInst.exports;

/** Bump arena over the NHWC module's memory; reset() between shapes. */
const arena = {
  base: Math.ceil((nx.heapBase() + 64) / 64) * 64,
  top: 0,
  reset() { this.top = this.base; },
  alloc(bytes) {
    const p = Math.ceil(this.top / 64) * 64;
    this.top = p + bytes;
    const need = this.top + 1024 - nx.memory.buffer.byteLength;
    if (need > 0) nx.memory.grow(Math.ceil(need / 65536));
    return p;
  },
  get f32() { return new Float32Array(nx.memory.buffer); },
};
arena.reset();

// ---------- helpers ----------
let seed = 12345;
function rnd() { // deterministic, uniform in [-1, 1)
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2147483648 - 1;
}
function randArray(n) { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = rnd(); return a; }
const ru = (x, m) => Math.ceil(x / m) * m;
/** Plane stride in floats, as the package's planner (src/plan.ts) lays out activations. */
const planeStride = (pixels) => ru(pixels, 8) + 8;
const median = (a) => { const s = [...a].sort((x, y) => x - y); const n = s.length; return n % 2 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2; };

function maxErr(got, want) {
  let e = 0, scale = 0;
  for (let i = 0; i < want.length; i++) { e = Math.max(e, Math.abs(got[i] - want[i])); scale = Math.max(scale, Math.abs(want[i])); }
  return { abs: e, rel: e / Math.max(scale, 1e-30) };
}
function check(label, got, want) {
  const { abs, rel } = maxErr(got, want);
  if (!(rel < 1e-5)) throw new Error(`${label}: mismatch vs JS reference, max abs err ${abs}, rel ${rel}`);
  return abs;
}

/** Times several kernels of one shape, alternating batches. Returns median seconds per call for each. */
function timeAlternating(fns) {
  for (const f of fns) for (let i = 0; i < WARMUP_CALLS; i++) f();
  // Calibrate calls per batch so a batch takes >= BATCH_MS.
  const reps = fns.map((f) => {
    let n = 1;
    for (;;) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) f();
      const dt = performance.now() - t0;
      if (dt >= BATCH_MS) return n;
      n = Math.max(n * 2, Math.ceil(n * BATCH_MS * 1.2 / Math.max(dt, 1e-3)));
    }
  });
  const samples = fns.map(() => []);
  for (let b = 0; b < MIN_BATCHES; b++) {
    fns.forEach((f, j) => {
      const n = reps[j];
      const t0 = performance.now();
      for (let i = 0; i < n; i++) f();
      samples[j].push((performance.now() - t0) / 1000 / n);
    });
  }
  return samples.map(median);
}

// ---------- pointwise / grouped 1x1 ----------
// JS reference: A is M x Cin (NHWC), W[g][n][k] (N x K per group), bias[g*N+n]; returns M x Cout.
function pwRef(A, M, Cin, Cout, g, W, bias) {
  const K = Cin / g, N = Cout / g, C = new Float32Array(M * Cout);
  for (let m = 0; m < M; m++) {
    for (let gi = 0; gi < g; gi++) {
      for (let n = 0; n < N; n++) {
        const o = gi * N + n;
        let s = bias[o];
        const wr = (gi * N + n) * K;
        for (let kk = 0; kk < K; kk++) s += A[m * Cin + gi * K + kk] * W[wr + kk];
        C[m * Cout + o] = s;
      }
    }
  }
  return C;
}

function setupPwCHW(k, M, Cin, Cout, g, A, W, bias) {
  const K = Cin / g, N = Cout / g, Mpad = ru(N, 4);
  const stride = planeStride(M) * 4;                         // plane bytes, as src/plan.ts
  const inBase = k.alloc(Cin * stride);
  const outBase = k.alloc((Cout + 1) * stride);              // +1: scratch plane for padded output rows
  const scratch = outBase + Cout * stride;
  const inT = k.alloc(Cin * 4), outT = k.alloc(g * Mpad * 4);
  const wFloats = g * (Mpad / 4) * (4 + 4 * K);
  const wp = k.alloc(wFloats * 4);
  const f32 = k.f32, u32 = k.u32;                            // views re-read after the allocations
  for (let c = 0; c < Cin; c++) {
    u32[inT / 4 + c] = inBase + c * stride;
    for (let p = 0; p < M; p++) f32[(inBase + c * stride) / 4 + p] = A[p * Cin + c];
  }
  for (let gi = 0; gi < g; gi++) {
    for (let m = 0; m < Mpad; m++) u32[outT / 4 + gi * Mpad + m] = m < N ? outBase + (gi * N + m) * stride : scratch;
  }
  let q = wp / 4;
  for (let gi = 0; gi < g; gi++) {
    for (let mb = 0; mb < Mpad; mb += 4) {
      for (let j = 0; j < 4; j++) f32[q++] = mb + j < N ? bias[gi * N + mb + j] : 0;
      for (let kk = 0; kk < K; kk++) {
        for (let j = 0; j < 4; j++) f32[q++] = mb + j < N ? W[(gi * N + mb + j) * K + kk] : 0;
      }
    }
  }
  const run = () => k.exports.conv1x1(inT, K, outT, N, g, wp, M, 0, 0);
  const read = () => {
    const f = k.f32, out = new Float32Array(M * Cout);
    for (let c = 0; c < Cout; c++) for (let p = 0; p < M; p++) out[p * Cout + c] = f[(outBase + c * stride) / 4 + p];
    return out;
  };
  return { run, read };
}

function setupPwNHWC(M, Cin, Cout, g, A, W, bias) {
  const K = Cin / g, N = Cout / g;
  const a = arena.alloc(M * Cin * 4), c = arena.alloc(M * Cout * 4 + 64);
  const gFloats = nx.packedGroupFloats(K, N);
  const wp = arena.alloc(g * gFloats * 4);
  const f32 = arena.f32;
  f32.set(A, a / 4);
  const full = N >> 3, r = N & 7;
  for (let gi = 0; gi < g; gi++) {
    let q = (wp / 4) + gi * gFloats;
    const panel = (n0, nr) => {
      for (let j = 0; j < nr; j++) f32[q++] = n0 + j < N ? bias[gi * N + n0 + j] : 0;
      for (let kk = 0; kk < K; kk++) {
        for (let j = 0; j < nr; j++) f32[q++] = n0 + j < N ? W[(gi * N + n0 + j) * K + kk] : 0;
      }
    };
    for (let j = 0; j < full; j++) panel(j * 8, 8);
    if (r > 0) panel(full * 8, r <= 4 ? 4 : 8);
  }
  const run = () => nx.gemmNHWC(a, Cin, c, Cout, M, K, N, g, wp, 0);
  const read = () => arena.f32.slice(c / 4, c / 4 + M * Cout);
  return { run, read };
}

// ---------- depthwise 3x3 ----------
// X is C x H x W (CHW), w[c][9], bias[c]; returns C x Ho x Wo.
function dwRef(X, C, H, W, s, w, bias) {
  const Ho = ((H - 1) / s | 0) + 1, Wo = ((W - 1) / s | 0) + 1, out = new Float32Array(C * Ho * Wo);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < Ho; y++) {
      for (let x = 0; x < Wo; x++) {
        let acc = bias[c];
        for (let ky = 0; ky < 3; ky++) {
          const iy = y * s + ky - 1;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < 3; kx++) {
            const ix = x * s + kx - 1;
            if (ix < 0 || ix >= W) continue;
            acc += X[(c * H + iy) * W + ix] * w[c * 9 + ky * 3 + kx];
          }
        }
        out[(c * Ho + y) * Wo + x] = acc;
      }
    }
  }
  return out;
}

function setupDwCHW(k, C, H, W, s, X, w, bias, fn = k.exports.dwconv3x3) {
  const Ho = ((H - 1) / s | 0) + 1, Wo = ((W - 1) / s | 0) + 1;
  const inStride = planeStride(H * W) * 4, outStride = planeStride(Ho * Wo) * 4;
  const inBase = k.alloc(64 + C * inStride) + 64;          // kernel reads 4 bytes before a row
  const outBase = k.alloc(C * outStride);
  const zeroBase = k.alloc((2 * W + 16 + 4 + 16) * 4);
  const zeroRow = zeroBase + 16;
  const inT = k.alloc(C * 4), outT = k.alloc(C * 4), wp = k.alloc(C * 12 * 4);
  const f32 = k.f32, u32 = k.u32;
  f32.fill(0, zeroBase / 4, zeroBase / 4 + 2 * W + 36);
  for (let c = 0; c < C; c++) {
    u32[inT / 4 + c] = inBase + c * inStride;
    u32[outT / 4 + c] = outBase + c * outStride;
    f32.set(X.subarray(c * H * W, (c + 1) * H * W), (inBase + c * inStride) / 4);
    for (let t = 0; t < 9; t++) f32[wp / 4 + c * 12 + t] = w[c * 9 + t];
    f32[wp / 4 + c * 12 + 9] = bias[c];
    f32[wp / 4 + c * 12 + 10] = 0; f32[wp / 4 + c * 12 + 11] = 0;
  }
  const run = () => fn(inT, outT, C, H, W, s, wp, zeroRow, 0);
  const read = () => {
    const f = k.f32, out = new Float32Array(C * Ho * Wo);
    for (let c = 0; c < C; c++) out.set(f.subarray((outBase + c * outStride) / 4, (outBase + c * outStride) / 4 + Ho * Wo), c * Ho * Wo);
    return out;
  };
  return { run, read };
}

function setupDwNHWC(C, H, W, s, X, w, bias, fn) {
  const Cp = ru(C, 4);                                       // kernel requires C % 4 == 0
  const Ho = ((H - 1) / s | 0) + 1, Wo = ((W - 1) / s | 0) + 1;
  const inp = arena.alloc((H + 2) * (W + 2) * Cp * 4), out = arena.alloc(Ho * Wo * Cp * 4);
  const wp = arena.alloc((Cp / 4) * 40 * 4);
  const f32 = arena.f32;
  f32.fill(0, inp / 4, inp / 4 + (H + 2) * (W + 2) * Cp);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) f32[inp / 4 + ((y + 1) * (W + 2) + x + 1) * Cp + c] = X[(c * H + y) * W + x];
    }
  }
  f32.fill(0, wp / 4, wp / 4 + (Cp / 4) * 40);
  for (let c = 0; c < C; c++) {
    const b = wp / 4 + (c >> 2) * 40, l = c & 3;
    f32[b + l] = bias[c];
    for (let t = 0; t < 9; t++) f32[b + 4 + t * 4 + l] = w[c * 9 + t];
  }
  const run = () => fn(inp, out, H, W, Cp, s, wp, 0);
  const read = () => {
    const f = arena.f32, o = new Float32Array(C * Ho * Wo);
    for (let c = 0; c < C; c++) for (let p = 0; p < Ho * Wo; p++) o[c * Ho * Wo + p] = f[out / 4 + p * Cp + c];
    return o;
  };
  return { run, read };
}

// ---------- shapes ----------
// Pointwise: [label, pixels, Cin, Cout, groups]
const PW = [
  ['v2 1.0x s2u1 branch2 pw1', 3136, 24, 58, 1],
  ['v2 1.0x s2u1 branch1 pw', 784, 24, 58, 1],
  ['v2 1.0x stage2 pw', 784, 58, 58, 1],
  ['v2 1.0x s3u1 branch2 pw1', 784, 116, 116, 1],
  ['v2 1.0x stage3 pw', 196, 116, 116, 1],
  ['v2 1.0x s4u1 branch2 pw1', 196, 232, 232, 1],
  ['v2 1.0x stage4 pw', 49, 232, 232, 1],
  ['v2 1.0x conv5', 49, 464, 1024, 1],
  ['v1 g3 stage2 compress', 784, 240, 60, 3],
  ['v1 g3 stage2 expand', 784, 60, 240, 3],
  ['v1 g3 stage3 compress', 196, 480, 120, 3],
  ['v1 g3 stage3 expand', 196, 120, 480, 3],
  ['v1 g3 stage4 compress', 49, 960, 240, 3],
  ['v1 g3 stage4 expand', 49, 240, 960, 3],
  ['v1 g8 stage2 compress', 784, 384, 96, 8],
  ['v1 g8 stage2 expand', 784, 96, 384, 8],
  ['v1 g8 stage3 compress', 196, 768, 192, 8],
  ['v1 g8 stage3 expand', 196, 192, 768, 8],
  ['v1 g8 stage4 compress', 49, 1536, 384, 8],
  ['v1 g8 stage4 expand', 49, 384, 1536, 8],
];
// Depthwise: [label, H, W, C, stride]
const DW = [
  ['28x28x116 s1', 28, 28, 116, 1],
  ['14x14x232 s1', 14, 14, 232, 1],
  ['7x7x464 s1', 7, 7, 464, 1],
  ['56x56x24 s1', 56, 56, 24, 1],
  ['v2 stage2 28x28x58 s1', 28, 28, 58, 1],
  ['v2 stage3 14x14x116 s1', 14, 14, 116, 1],
  ['v2 stage4 7x7x232 s1', 7, 7, 232, 1],
  ['56x56x24 s2 (v2 s2u1 branch1)', 56, 56, 24, 2],
  ['56x56x58 s2 (v2 s2u1 branch2)', 56, 56, 58, 2],
  ['28x28x116 s2 (v2 s3u1)', 28, 28, 116, 2],
  ['14x14x232 s2 (v2 s4u1)', 14, 14, 232, 2],
  ['v1 g3 28x28x60 s1', 28, 28, 60, 1],
  ['v1 g3 14x14x120 s1', 14, 14, 120, 1],
  ['v1 g3 7x7x240 s1', 7, 7, 240, 1],
];
// Channel shuffle (groups 2) of the v2 1.0x unit outputs: [label, pixels, C]
const SHUF = [['28x28x116', 784, 116], ['14x14x232', 196, 232], ['7x7x464', 49, 464]];

const only = process.env.LAYOUT_ONLY ? new RegExp(process.env.LAYOUT_ONLY) : null; // debugging: filter shapes by label
const pick = (a) => (only ? a.filter((x) => only.test(x[0])) : a);
const list = quick ? { PW: pick(PW.slice(0, 3).concat(PW.slice(8, 9))), DW: pick(DW.slice(0, 2).concat(DW.slice(9, 10))) } : { PW: pick(PW), DW: pick(DW) };

// ---------- run ----------
const flavorText = relaxed ? 'relaxed SIMD (FMA)' : 'plain SIMD128 (mul+add)';
const results = { node: process.version, flavor: relaxed ? 'relaxed' : 'simd', when: new Date().toISOString(), pw: [], dw: [], shuffle: [] };
const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);

const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');
results.cpu = cpus()[0]?.model; results.loadStart = la();
{ // which package kernels were measured (the kernels change while the package is developed)
  const git = (a) => spawnSync('git', a, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';
  results.commit = git(['rev-parse', '--short', 'HEAD']);
  results.assemblyDirty = git(['status', '--short', 'assembly']).split('\n').filter(Boolean);
  results.kernelsWasm = `${simdWasm.slice(root.length + 1)} ${statSync(simdWasm).size} B, built ${statSync(simdWasm).mtime.toISOString()}`;
}
console.log(`# Layout study: CHW planes (package) vs NHWC, single thread, ${flavorText}, ${process.version}\n`);
console.log(`${results.cpu}, ${cpus().length} CPUs; load average at start: ${results.loadStart}`);
console.log(`package kernels: ${results.kernelsWasm}; HEAD ${results.commit}` +
  (results.assemblyDirty.length ? `, uncommitted: ${results.assemblyDirty.join(', ')}` : ', assembly/ clean') + '\n');
console.log('## Pointwise / grouped 1x1 (GFLOP/s = 2*MACs/time)\n');
console.log('| shape | pixels x Cin->Cout (g) | CHW µs | CHW GFLOP/s | NHWC µs | NHWC GFLOP/s | ratio NHWC/CHW |');
console.log('|---|---|---|---|---|---|---|');
for (const [label, M, Cin, Cout, g] of list.PW) {
  const K = Cin / g, N = Cout / g;
  const A = randArray(M * Cin), W = randArray(Cout * K), bias = randArray(Cout);
  const want = pwRef(A, M, Cin, Cout, g, W, bias);
  arena.reset();
  const chw = setupPwCHW(k, M, Cin, Cout, g, A, W, bias);
  const nhwc = setupPwNHWC(M, Cin, Cout, g, A, W, bias);
  chw.run(); nhwc.run();
  const eC = check(`CHW ${label}`, chw.read(), want);
  const eN = check(`NHWC ${label}`, nhwc.read(), want);
  const [tC, tN] = timeAlternating([chw.run, nhwc.run]);
  const flop = 2 * M * Cout * K;
  const r = { label, M, Cin, Cout, g, K, N, chwUs: tC * 1e6, nhwcUs: tN * 1e6, chwGf: flop / tC / 1e9, nhwcGf: flop / tN / 1e9, errChw: eC, errNhwc: eN };
  r.ratio = r.nhwcGf / r.chwGf;
  results.pw.push(r);
  console.log(`| ${label} | ${M} x ${Cin}->${Cout}${g > 1 ? ` (g${g}: K=${K}, N=${N})` : ''} | ${f1(r.chwUs)} | ${f1(r.chwGf)} | ${f1(r.nhwcUs)} | ${f1(r.nhwcGf)} | ${f2(r.ratio)} |`);
}

console.log('\n## Depthwise 3x3 (GFLOP/s = 2*9*C*Ho*Wo/time; NHWC pads C to a multiple of 4)\n');
console.log('| shape | CHW µs | CHW GFLOP/s | NHWC v1 µs | NHWC v1 GFLOP/s | NHWC v5 GFLOP/s | ratio best NHWC/CHW |' +
  (kp ? ' proto module, package kernel GFLOP/s | proto module, changed kernel GFLOP/s | changed/package |' : ''));
console.log('|---|---|---|---|---|---|---|' + (kp ? '---|---|---|' : ''));
for (const [label, H, W, C, s] of list.DW) {
  const X = randArray(C * H * W), w = randArray(C * 9), bias = randArray(C);
  const want = dwRef(X, C, H, W, s, w, bias);
  arena.reset();
  const chw = setupDwCHW(k, C, H, W, s, X, w, bias);
  const n1 = setupDwNHWC(C, H, W, s, X, w, bias, nx.dwNHWC);
  const n5 = setupDwNHWC(C, H, W, s, X, w, bias, nx.dwNHWCv5);
  const pr = kp ? setupDwCHW(kp, C, H, W, s, X, w, bias) : null;
  const pr0 = kp ? setupDwCHW(kp, C, H, W, s, X, w, bias, kp.exports.dwconv3x3Orig) : null;
  chw.run(); n1.run(); n5.run();
  const eC = check(`CHW dw ${label}`, chw.read(), want);
  const eN = check(`NHWC dw ${label}`, n1.read(), want);
  check(`NHWC v5 dw ${label}`, n5.read(), want);
  if (pr) { pr.run(); check(`CHW proto dw ${label}`, pr.read(), want); pr0.run(); check(`CHW proto0 dw ${label}`, pr0.read(), want); }
  const [tC, t1, t5, tP, tP0] = timeAlternating(pr ? [chw.run, n1.run, n5.run, pr.run, pr0.run] : [chw.run, n1.run, n5.run]);
  const Ho = ((H - 1) / s | 0) + 1, Wo = ((W - 1) / s | 0) + 1;
  const flop = 2 * 9 * C * Ho * Wo;
  const r = { label, H, W, C, stride: s, chwUs: tC * 1e6, nhwcUs: t1 * 1e6, nhwc5Us: t5 * 1e6,
    chwGf: flop / tC / 1e9, nhwcGf: flop / t1 / 1e9, nhwc5Gf: flop / t5 / 1e9, errChw: eC, errNhwc: eN };
  r.ratio = Math.max(r.nhwcGf, r.nhwc5Gf) / r.chwGf;
  if (pr) { r.protoUs = tP * 1e6; r.protoGf = flop / tP / 1e9; r.proto0Us = tP0 * 1e6; r.proto0Gf = flop / tP0 / 1e9; }
  results.dw.push(r);
  console.log(`| ${label} | ${f1(r.chwUs)} | ${f1(r.chwGf)} | ${f1(r.nhwcUs)} | ${f1(r.nhwcGf)} | ${f1(r.nhwc5Gf)} | ${f2(r.ratio)} |` +
    (pr ? ` ${f1(r.proto0Gf)} | ${f1(r.protoGf)} | ${f2(r.protoGf / r.proto0Gf)} |` : ''));
}

console.log('\n## Explicit channel shuffle (groups 2), CHW channelShuffleCopy (GB/s counts read + write)\n');
console.log('| tensor | KiB | shuffle µs | shuffle GB/s | plain copy µs (one memory.copy) | copy GB/s |');
console.log('|---|---|---|---|---|---|');
for (const [label, P, C] of SHUF) {
  const planeBytes = P * 4, bytes = C * planeBytes;
  const srcP = k.alloc(bytes), dstP = k.alloc(bytes), t1 = k.alloc(4), t2 = k.alloc(4);
  const f32 = k.f32, u32 = k.u32;
  for (let i = 0; i < bytes / 4; i++) f32[srcP / 4 + i] = rnd();
  u32[t1 / 4] = srcP; u32[t2 / 4] = dstP;
  k.exports.channelShuffleCopy(srcP, dstP, C, 2, planeBytes);
  { // sanity: dst channel j*2+i == src channel i*(C/2)+j
    const f = k.f32, n = C / 2;
    for (let i = 0; i < 2; i++) for (let j = 0; j < n; j++) {
      if (f[(dstP + (j * 2 + i) * planeBytes) / 4 + 1] !== f[(srcP + (i * n + j) * planeBytes) / 4 + 1]) throw new Error('shuffle mismatch');
    }
  }
  const [ts, tc] = timeAlternating([
    () => k.exports.channelShuffleCopy(srcP, dstP, C, 2, planeBytes),
    () => k.exports.copyPlanes(t1, t2, 1, bytes),
  ]);
  const r = { label, bytes, shuffleUs: ts * 1e6, shuffleGBs: 2 * bytes / ts / 1e9, copyUs: tc * 1e6, copyGBs: 2 * bytes / tc / 1e9 };
  results.shuffle.push(r);
  console.log(`| ${label} | ${f1(bytes / 1024)} | ${f2(r.shuffleUs)} | ${f1(r.shuffleGBs)} | ${f2(r.copyUs)} | ${f1(r.copyGBs)} |`);
}

results.loadEnd = la();
console.log(`\nload average at end: ${results.loadEnd}`);
if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify(results, null, 2));
  console.log(`\nwrote ${jsonOut}`);
}
