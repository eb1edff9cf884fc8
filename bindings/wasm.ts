// Loading the kernel module and owning its memory.
//
// The wasm bytes are inlined (base64) so nothing is fetched; compilation is always
// asynchronous (Chromium refuses synchronous compiles of large modules on the main thread).
// Workers / Edge runtimes, which forbid compiling from bytes, pass a precompiled
// WebAssembly.Module instead. Each Kernels object is its own instance with its own memory,
// so models are isolated and dispose() releases everything.
//
// This module does not import the inlined bytes itself: bindings/inline-wasm.ts does, and
// registers them here with setInlineKernels(). The default entries (src/index.ts,
// src/kernels.ts) import it for that side effect; the workerd / edge-light entry
// (src/workerd.ts) does not, so a Workers bundle carries no base64 copy of the kernels.
import { hasSimd, hasRelaxedSimd } from './features.js';
import { ShuffleNetError } from './errors.js';
import type { KernelExports } from './kernels-abi.js';

export type Flavor = 'simd' | 'relaxed';

export interface WasmOptions {
  /** 'auto' (default) picks relaxed SIMD when the engine validates it, else plain SIMD128. */
  flavor?: 'auto' | Flavor;
  /** A precompiled kernel module (for runtimes that forbid compiling from bytes). */
  module?: WebAssembly.Module;
  /** Kernel module bytes supplied by the caller instead of the inlined ones. */
  bytes?: ArrayBuffer | Uint8Array<ArrayBuffer>;
}

const PAGE = 65536;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Throws E_NO_SIMD when the engine lacks WebAssembly SIMD; otherwise the flavor to use. */
export function chooseFlavor(requested: 'auto' | Flavor = 'auto', detect = { hasSimd, hasRelaxedSimd }): Flavor {
  if (requested !== 'auto' && requested !== 'simd' && requested !== 'relaxed') {
    throw new ShuffleNetError('E_ARGUMENT', `flavor must be 'auto', 'simd' or 'relaxed', got ${String(requested)}`);
  }
  if (!detect.hasSimd()) {
    throw new ShuffleNetError('E_NO_SIMD',
      'this JavaScript engine has no WebAssembly SIMD (needs Chrome 91+, Firefox 89+, Safari 16.4+, Node 16.4+); ' +
      'shufflenet-wasm ships SIMD kernels only');
  }
  const relaxed = detect.hasRelaxedSimd();
  if (requested === 'relaxed' && !relaxed) {
    throw new ShuffleNetError('E_WASM',
      'flavor "relaxed" requested but this engine has no relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)');
  }
  if (requested === 'auto') return relaxed ? 'relaxed' : 'simd';
  return requested;
}

const compiled = new Map<Flavor, Promise<WebAssembly.Module>>();

/** The inlined kernel binaries (base64), per flavor; set by bindings/inline-wasm.ts. */
let inlineKernels: Readonly<Record<Flavor, string>> | undefined;

/** Registers the inlined kernel bytes (called once by bindings/inline-wasm.ts). */
export function setInlineKernels(base64: Readonly<Record<Flavor, string>>): void {
  inlineKernels = base64;
}

/** The inlined kernel bytes of a flavor (a fresh copy), or undefined in the workerd / edge-light entry. */
export function inlineKernelBytes(flavor: Flavor): Uint8Array<ArrayBuffer> | undefined {
  return inlineKernels ? decodeBase64(inlineKernels[flavor]) : undefined;
}

/** Compiles (once per flavor, cached) the inlined kernel module. */
export function compileKernels(flavor: Flavor): Promise<WebAssembly.Module> {
  let p = compiled.get(flavor);
  if (!p) {
    if (!inlineKernels) {
      return Promise.reject(new ShuffleNetError('E_WASM',
        'this entry of shufflenet-wasm (workerd / edge-light) never compiles from bytes: call init({ module }) ' +
        "or pass { module }, a WebAssembly.Module of 'shufflenet-wasm/kernels.simd.wasm'"));
    }
    const bytes = decodeBase64(inlineKernels[flavor]);
    p = WebAssembly.compile(bytes).catch((e: unknown) => {
      compiled.delete(flavor);
      throw new ShuffleNetError('E_WASM', `could not compile the ${flavor} kernel module: ${String(e)}`);
    });
    compiled.set(flavor, p);
  }
  return p;
}

/**
 * Starts compiling the inlined kernels that `options` will use, in the background, so that the
 * compile overlaps with building a graph. Errors are not reported here but by createKernels.
 */
export function precompileKernels(options: WasmOptions): void {
  if (options.module || options.bytes || !inlineKernels) return;
  try {
    compileKernels(chooseFlavor(options.flavor ?? 'auto')).catch(() => { /* createKernels reports it */ });
  } catch { /* bad options: createKernels reports them */ }
}

/** One kernel instance: exports, linear memory, typed views and a bump arena. */
export class Kernels {
  readonly exports: KernelExports;
  readonly flavor: Flavor;
  private f32View: Float32Array;
  private u32View: Uint32Array;
  private top: number;

  constructor(instance: WebAssembly.Instance) {
    this.exports = instance.exports as unknown as KernelExports;
    this.flavor = this.exports.relaxedBuild() ? 'relaxed' : 'simd';
    this.top = align(this.exports.heapBase() + 64, 64);
    this.f32View = new Float32Array(this.memory.buffer);
    this.u32View = new Uint32Array(this.memory.buffer);
  }

  get memory(): WebAssembly.Memory {
    return this.exports.memory;
  }

  /** Float32 view of all memory; re-created whenever memory.grow replaced the buffer. */
  get f32(): Float32Array {
    if (this.f32View.buffer !== this.memory.buffer) this.f32View = new Float32Array(this.memory.buffer);
    return this.f32View;
  }

  get u32(): Uint32Array {
    if (this.u32View.buffer !== this.memory.buffer) this.u32View = new Uint32Array(this.memory.buffer);
    return this.u32View;
  }

  /** Bytes handed out so far. */
  get used(): number {
    return this.top;
  }

  /** Grows memory (once) so that `bytes` more can be allocated without another grow. */
  reserve(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new ShuffleNetError('E_LIMIT', `cannot reserve ${bytes} bytes of wasm memory`);
    const need = this.top + bytes + 256; // 256: over-read margin of the last buffer
    const have = this.memory.buffer.byteLength;
    if (need > have) {
      if (need > 2 ** 32 - PAGE) throw new ShuffleNetError('E_LIMIT', `model needs ${need} bytes of wasm memory (max 4 GiB)`);
      try {
        this.memory.grow(Math.ceil((need - have) / PAGE));
      } catch (e) {
        throw new ShuffleNetError('E_LIMIT', `could not grow wasm memory to ${need} bytes: ${String(e)}`);
      }
    }
  }

  /** A 64-byte aligned block of `bytes` bytes (call reserve first to grow only once). */
  alloc(bytes: number, alignment = 64): number {
    // a NaN or fractional size would poison `top` and every later address
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new ShuffleNetError('E_LIMIT', `cannot allocate ${bytes} bytes of wasm memory`);
    const p = align(this.top, alignment);
    this.top = p + bytes;
    this.reserve(0);
    return p;
  }

  /** Frees everything allocated after `mark` (a value of `used`). */
  release(mark: number): void {
    this.top = mark;
  }

  /** Copies floats into memory at a byte offset. */
  writeF32(ptr: number, data: ArrayLike<number>): void {
    this.f32.set(data, ptr >>> 2);
  }

  writeU32(ptr: number, data: ArrayLike<number>): void {
    this.u32.set(data, ptr >>> 2);
  }
}

function align(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** Instantiates a fresh kernel instance (own memory). */
export async function createKernels(options: WasmOptions = {}): Promise<Kernels> {
  let module: WebAssembly.Module;
  if (options.module) {
    module = options.module;
  } else if (options.bytes) {
    try {
      module = await WebAssembly.compile(new Uint8Array(options.bytes as ArrayBuffer).slice());
    } catch (e) {
      throw new ShuffleNetError('E_WASM', `could not compile the supplied kernel bytes: ${String(e)}`);
    }
  } else {
    module = await compileKernels(chooseFlavor(options.flavor ?? 'auto'));
  }
  try {
    const instance = await WebAssembly.instantiate(module, {});
    return new Kernels(instance);
  } catch (e) {
    throw new ShuffleNetError('E_WASM', `could not instantiate the kernel module: ${String(e)}`);
  }
}
