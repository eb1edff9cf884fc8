// The entry for runtimes that forbid compiling WebAssembly from bytes: Cloudflare Workers
// (export condition "workerd") and Vercel Edge / Next.js middleware ("edge-light").
//
// The same API as the default entry (src/index.ts), except that it never compiles from bytes
// and carries no inlined copy of the kernels: give it the precompiled kernel module once,
//
//   import wasm from 'shufflenet-wasm/kernels.simd.wasm';   // wrangler: a WebAssembly.Module
//   import { init, buildModel, loadModel } from 'shufflenet-wasm';
//   init({ module: wasm });
//
// or pass { module } to each buildModel / loadModel / Model.fromGraph call. Only
// WebAssembly.instantiate(module) is called, which these runtimes allow.
// tests/packaging.test.mjs checks that this export list matches src/index.ts.
import { buildGraph, type BuildOptions } from './builders.js';
import { Model, type ModelOptions } from './model.js';
import { importOnnx, type ImportOptions } from './onnx/import.js';
import { ShuffleNetError } from '../bindings/errors.js';

export { Model, topK, type ModelOptions, type ModelSummary, type Classification, type ClassifyOptions } from './model.js';
export { ShuffleNetError, type ErrorCode } from '../bindings/errors.js';
export { hasSimd, hasRelaxedSimd } from '../bindings/features.js';
export { buildGraph, buildV1, buildV2, v1Channels, type BuildOptions } from './builders.js';
export { GraphBuilder, type Graph, type Node, type TensorId } from './ir.js';
export { preprocess, resizeShorterSide, centerCrop, toTensor, IMAGENET_MEAN, IMAGENET_STD, type ImageInput, type PreprocessOptions } from './preprocess.js';
export { parseLabels, shortLabel } from './labels.js';
export { importOnnx } from './onnx/import.js';
export { writeOnnx } from './onnx/write.js';

let defaultModule: WebAssembly.Module | undefined;

/**
 * Sets the precompiled kernel module (a WebAssembly.Module of
 * 'shufflenet-wasm/kernels.simd.wasm') used by every later buildModel / loadModel call
 * that does not pass its own `module`.
 */
export function init(options: { module: WebAssembly.Module }): void {
  const module = options?.module;
  if (typeof WebAssembly !== 'object' || !(module instanceof WebAssembly.Module)) {
    throw new ShuffleNetError('E_ARGUMENT',
      "init({ module }) needs a WebAssembly.Module (import wasm from 'shufflenet-wasm/kernels.simd.wasm')");
  }
  defaultModule = module;
}

function withModule<T extends ModelOptions>(options: T): T & { module: WebAssembly.Module } {
  const module = options.module ?? defaultModule;
  if (!module) {
    throw new ShuffleNetError('E_WASM',
      'this entry of shufflenet-wasm (workerd / edge-light) never compiles from bytes: call init({ module }) ' +
      "first or pass { module }, a WebAssembly.Module of 'shufflenet-wasm/kernels.simd.wasm'");
  }
  return { ...options, module };
}

/** Builds ShuffleNet v1 or v2 with deterministic synthetic weights (no file needed). */
export async function buildModel(options: BuildOptions & ModelOptions): Promise<Model> {
  return Model.fromGraph(buildGraph(options), withModule(options));
}

/** Loads an ONNX ShuffleNet (fp32, or int8 QDQ dequantized at load) from its bytes. */
export async function loadModel(bytes: Uint8Array | ArrayBuffer, options: ModelOptions & ImportOptions = {}): Promise<Model> {
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer)) {
    throw new ShuffleNetError('E_ARGUMENT', 'loadModel expects the model file as a Uint8Array or ArrayBuffer');
  }
  const opts = withModule(options);
  const { graph } = importOnnx(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), opts);
  return Model.fromGraph(graph, opts);
}
