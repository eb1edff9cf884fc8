// Peer engine: onnxruntime-web (wasm execution provider, single thread) running in Node.
//
// The model is the shufflenet-wasm graph IR serialised by the package's own ONNX writer
// (writeOnnx(graph) -> bytes with input "input" [N,3,H,W] and output "output"), so every
// engine sees the same weights.
//
// Usage:
//   const ort = await loadOrtWeb();                       // once per process
//   const r = await createOrtWebRunner(ort, graph, { height: 224, width: 224 });
//   r.setInput(nchwFloat32);  await r.run() -> Float32Array logits;  await r.dispose();
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let loaded;

/** Imports onnxruntime-web once, single-threaded wasm. Returns { ort, info }. */
export function loadOrtWeb({ threads = 1 } = {}) {
  if (!loaded) loaded = init(threads);
  return loaded;
}

async function init(threads) {
  const mod = await import('onnxruntime-web');
  const ort = mod.default?.InferenceSession ? mod.default : mod;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  let version = '?';
  try { version = require('onnxruntime-web/package.json').version; } catch { /* exports may hide it */ }
  if (version === '?') {
    try { version = ort.env.versions?.web ?? '?'; } catch { /* ignore */ }
  }
  // 1.2x+ ships only the *-simd-threaded builds: SIMD is always on.
  return { ort, info: { engine: 'onnxruntime-web', version, backend: 'wasm', simd: true, threads } };
}

let writerPromise;

/** The package's ONNX writer from the built dist (writeOnnx(graph, options?) -> Uint8Array). */
export function loadWriter() {
  writerPromise ??= import('../../dist/bundle/onnx/index.js').then((m) => {
    if (typeof m.writeOnnx !== 'function') throw new Error('dist/bundle/onnx/index.js has no writeOnnx export');
    return m.writeOnnx;
  }, (e) => {
    throw new Error(`ONNX writer not available (dist/bundle/onnx/index.js; run npm run build): ${e.message}`);
  });
  return writerPromise;
}

/**
 * Builds an onnxruntime-web session for `graph`. `writeOnnx` may be passed to use another
 * writer (tests); by default the package's writer is used.
 */
export async function createOrtWebRunner({ ort }, graph, { height = 224, width = 224, writeOnnx } = {}) {
  const write = writeOnnx ?? await loadWriter();
  const bytes = write(graph);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
  });
  const inputName = session.inputNames.includes('input') ? 'input' : session.inputNames[0];
  const outputName = session.outputNames.includes('output') ? 'output' : session.outputNames[0];
  let feeds;
  return {
    name: 'ort-web',
    modelBytes: bytes.length,
    /** Sets the NCHW batch-1 input tensor (made once, outside the timed run). */
    setInput(nchw) {
      const c = graph.inputChannels;
      if (nchw.length !== c * height * width) {
        throw new Error(`ort-web runner: input has ${nchw.length} values, expected ${c * height * width}`);
      }
      feeds = { [inputName]: new ort.Tensor('float32', nchw, [1, c, height, width]) };
    },
    /** One inference on the current input; resolves to the logits (a new Float32Array). */
    async run() {
      if (!feeds) throw new Error('ort-web runner: setInput() first');
      const results = await session.run(feeds, [outputName]);
      const t = results[outputName];
      const out = Float32Array.from(t.data);
      t.dispose?.();
      return out;
    },
    async dispose() {
      feeds = undefined;
      await session.release();
    },
  };
}
