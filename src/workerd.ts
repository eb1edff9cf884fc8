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
import { makeFactories, type ModelOptions } from './api.js';
import { ShuffleNetError } from '../bindings/errors.js';

export * from './api.js';

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

function withModule<T extends ModelOptions>(options: T): T {
  const module = options.module ?? defaultModule;
  if (!module) {
    throw new ShuffleNetError('E_WASM',
      'this entry of shufflenet-wasm (workerd / edge-light) never compiles from bytes: call init({ module }) ' +
      "first or pass { module }, a WebAssembly.Module of 'shufflenet-wasm/kernels.simd.wasm'");
  }
  return { ...options, module };
}

export const { buildModel, loadModel } = makeFactories(withModule);
