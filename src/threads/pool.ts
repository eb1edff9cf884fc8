// Opt-in multi-threaded inference: `threads: n` runs every step on n threads (the calling
// thread plus n - 1 workers: worker_threads in Node, Web Workers in browsers).
//
// - The kernel module with its memory turned into an imported shared one (shared-module.ts).
//   The main instance owns the memory and allocates everything; each worker instantiates the
//   same compiled module on that memory and only runs programs.
// - A program (src/threads/split.ts) is one flat Int32 list of kernel calls per thread,
//   separated by barriers; it lives in the shared memory, so run() stays synchronous.
// - A control block in the shared memory: the main thread starts a run by bumping a
//   generation (Atomics.notify); every thread counts barrier arrivals with Atomics.add and
//   spins until all have arrived, then (after tens of microseconds) sleeps in Atomics.wait
//   until the next arrival. Workers sleep between runs; model.run() wakes them (prewake)
//   before it copies the input in, so that their wake-up overlaps the copy. A browser page's
//   main thread only spins (Atomics.wait is forbidden there).
// - Failures: a worker that throws records its message in the control block and raises the
//   abort flag; a worker that dies silently (terminated, killed) stops making progress, and
//   the main thread gives up after `threadTimeoutMs` without progress. Both become
//   ShuffleNetError E_THREAD, never a hang; the model then refuses to run until rebuilt.
//
// `execute` and `workerMain` are self-contained (no outside references) because their source
// text (Function.prototype.toString) is the worker's code: no worker file to locate, which
// keeps Node (ESM and CJS), bundlers and browsers alike. Do not instrument or wrap them.
import { Kernels, chooseFlavor, inlineKernelBytes, type Flavor, type WasmOptions } from '../../bindings/wasm.js';
import { ShuffleNetError } from '../../bindings/errors.js';
import { KERNEL_ORDER, threadPrograms } from './split.js';
import type { KernelCall } from '../plan.js';
import { withSharedMemory, MAX_PAGES } from './shared-module.js';

/** Int32 indices in the control block (its byte size is CTL_BYTES). */
const L = {
  GEN: 0,      // run generation: bumped by the main thread to start a run
  QUIT: 1,     // set by dispose(): workers return
  ABORT: 2,    // nonzero: the run is abandoned (1 worker error, 2 main thread gave up)
  FAILED: 3,   // 1 + id of the worker that threw
  WAKE: 4,     // bumped by prewake(): a run is about to start
  ARRIVE: 16,  // barrier arrivals in this run (own cache line)
  SLEEPERS: 17, // threads asleep in Atomics.wait on ARRIVE (arrivals then notify)
  PROG: 32,    // PROG + t: Int32 index of thread t's program (up to MAX_THREADS)
  MSG: 96,     // MSG_LEN char codes of the failing worker's message
} as const;
const MSG_LEN = 160;
const CTL_BYTES = (L.MSG + MSG_LEN) * 4;
export const MAX_THREADS = 64;
/**
 * How long a thread spins (at a barrier, or a worker between runs) before it sleeps in
 * Atomics.wait. Longer spins did not measurably help on an idle 2-core VM; on a busy one
 * (another process on one core) 0.05 ms lost 30% against 1 thread, 0.2 ms lost 60%.
 */
const SPIN_MS = 0.05;
/**
 * How long a worker woken by prewake() spins for the run to start before it sleeps again
 * (the caller copies and checks the input meanwhile: tens of microseconds).
 */
const PREWAKE_SPIN_MS = 1;

type Fn = (...args: number[]) => void;
type Layout = typeof L;

/**
 * Runs thread `id`'s program of the current run. At a barrier it spins, and after spinning
 * `spinMs` sleeps in Atomics.wait until the next arrival (so that on a busy machine a waiting
 * thread gives its core to the one it waits for). `check(barrier)` is called on arrival at
 * each barrier and every 256 spins. Returns false if the run was aborted.
 */
function execute(fns: Fn[], v: Int32Array, c: number, T: number, id: number, L: Layout,
  spinMs: number, check: (barrier: number) => void): boolean {
  let i = Atomics.load(v, c + L.PROG + id);
  let barrier = 0;
  for (;;) {
    const op = v[i];
    if (op >= 2) { // a kernel call: [op, argc, ...args]
      const f = fns[op - 2], n = v[i + 1], a = i + 2;
      if (n === 9) f(v[a], v[a + 1], v[a + 2], v[a + 3], v[a + 4], v[a + 5], v[a + 6], v[a + 7], v[a + 8]);
      else if (n === 6) f(v[a], v[a + 1], v[a + 2], v[a + 3], v[a + 4], v[a + 5]);
      else if (n === 7) f(v[a], v[a + 1], v[a + 2], v[a + 3], v[a + 4], v[a + 5], v[a + 6]);
      else if (n === 4) f(v[a], v[a + 1], v[a + 2], v[a + 3]);
      else f(...Array.from(v.subarray(a, a + n)));
      i = a + n;
      continue;
    }
    // 1: barrier, 0: end (workers leave at once; the main thread waits for everyone)
    barrier++;
    Atomics.add(v, c + L.ARRIVE, 1);
    if (Atomics.load(v, c + L.SLEEPERS) !== 0) Atomics.notify(v, c + L.ARRIVE);
    if (op === 0 && id !== 0) return true;
    check(barrier);
    const target = T * barrier;
    for (let s = 1, t0 = 0; ; s++) {
      const arrived = Atomics.load(v, c + L.ARRIVE);
      if (arrived >= target) break;
      if (Atomics.load(v, c + L.ABORT) !== 0) return false;
      if ((s & 255) === 0) {
        check(barrier);
        const now = performance.now();
        if (s === 256) t0 = now;
        else if (now - t0 >= spinMs) { // an arrival after `arrived` was read either notifies or fails the wait's compare
          Atomics.add(v, c + L.SLEEPERS, 1);
          Atomics.wait(v, c + L.ARRIVE, arrived, 20);
          Atomics.sub(v, c + L.SLEEPERS, 1);
        }
      }
    }
    if (op === 0) return true;
    i++;
  }
}

interface WorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctl: number;
  id: number;
  threads: number;
  kernels: readonly string[];
  layout: Layout;
  msgLen: number;
  spinMs: number;
  prewakeSpinMs: number;
}
type WorkerMessage = { type: 'ready'; id: number } | { type: 'error'; id: number; message: string };

/** A worker's whole life: instantiate on the shared memory, then run programs until QUIT. */
function workerMain(exec: typeof execute, data: WorkerData, post: (m: WorkerMessage) => void): void {
  const { module, memory, ctl, id, threads, kernels, layout: L, msgLen } = data;
  WebAssembly.instantiate(module, { env: { memory } }).then((instance) => {
    const ex = instance.exports as Record<string, Fn>;
    const fns = kernels.map((k) => ex[k]);
    const c = ctl >>> 2;
    let v = new Int32Array(memory.buffer);
    let gen = Atomics.load(v, c + L.GEN), wake = Atomics.load(v, c + L.WAKE);
    post({ type: 'ready', id });
    for (;;) {
      // Between runs: spin a little (batches start the next image at once), then sleep.
      // prewake() (a new WAKE, and a notify for a sleeper) means a run starts within
      // microseconds: spin up to PREWAKE_SPIN_MS for it rather than fall asleep first.
      for (let s = 1, t0 = performance.now(), spin = data.spinMs; Atomics.load(v, c + L.GEN) === gen; s++) {
        if ((s & 255) !== 0) continue;
        const w = Atomics.load(v, c + L.WAKE);
        if (w !== wake) {
          wake = w;
          t0 = performance.now();
          spin = data.prewakeSpinMs;
        } else if (performance.now() - t0 > spin) {
          Atomics.wait(v, c + L.GEN, gen);
        }
      }
      gen = Atomics.load(v, c + L.GEN);
      if (Atomics.load(v, c + L.QUIT) !== 0) return;
      if (v.buffer.byteLength !== memory.buffer.byteLength) v = new Int32Array(memory.buffer);
      try {
        exec(fns, v, c, threads, id, L, data.spinMs, () => {});
      } catch (e) {
        const message = `worker ${id}: ${String((e as Error)?.stack ?? e)}`;
        for (let k = 0; k < msgLen; k++) v[c + L.MSG + k] = k < message.length ? message.charCodeAt(k) : 0;
        Atomics.store(v, c + L.FAILED, id + 1);
        Atomics.store(v, c + L.ABORT, 1);
        post({ type: 'error', id, message });
      }
    }
  }, (e: unknown) => post({ type: 'error', id, message: `worker ${id} could not instantiate the kernels: ${String(e)}` }));
}

// ---- main-thread side -------------------------------------------------------------------

type SharedKernels = { module: WebAssembly.Module; pages: number };
/** Compiles the shared-memory variant of kernel bytes (once per flavor for the inlined ones). */
const compiled = new Map<Flavor, Promise<SharedKernels>>();
function sharedKernels(bytes: Uint8Array, flavor?: Flavor): Promise<SharedKernels> {
  let p = flavor && compiled.get(flavor);
  if (!p) {
    const shared = withSharedMemory(bytes);
    p = WebAssembly.compile(shared.bytes).then((module) => ({ module, pages: shared.pages }));
    if (flavor) {
      p.catch(() => compiled.delete(flavor));
      compiled.set(flavor, p);
    }
  }
  return p;
}

const warned = new Set<string>();
function fallback(reason: string): undefined {
  if (!warned.has(reason)) {
    warned.add(reason);
    console.warn(`shufflenet-wasm: ${reason}; running on 1 thread.`);
  }
  return undefined;
}

interface Spawned {
  terminate(): void;
  unref(): void;
  exited: Promise<void>;
}

const nodeSource = () =>
  `const { parentPort, workerData } = require('worker_threads');\n` +
  `(${workerMain.toString()})(${execute.toString()}, workerData, (m) => parentPort.postMessage(m));\n`;
const browserSource = () =>
  `self.onmessage = (e) => { self.onmessage = null;\n` +
  `(${workerMain.toString()})(${execute.toString()}, e.data, (m) => self.postMessage(m)); };\n`;

type NodeWorkerThreads = typeof import('node:worker_threads');
const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';
/** Whether this thread may block in Atomics.wait (not on a browser page's main thread). */
function canWait(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); // the value differs: returns at once
    return true;
  } catch {
    return false;
  }
}

async function nodeWorkers(): Promise<NodeWorkerThreads> {
  const p = process as { getBuiltinModule?: (id: string) => unknown };
  if (p.getBuiltinModule) return p.getBuiltinModule('node:worker_threads') as NodeWorkerThreads;
  const id = ['node', 'worker_threads'].join(':'); // computed: browser bundlers must not resolve it
  return import(/* webpackIgnore: true */ /* @vite-ignore */ id) as Promise<NodeWorkerThreads>;
}

/** Starts one worker; events go to onMessage / onGone (error or exit). */
async function spawn(data: WorkerData, onMessage: (m: WorkerMessage) => void, onGone: (why: string) => void): Promise<Spawned> {
  if (isNode) {
    const { Worker } = await nodeWorkers();
    const w = new Worker(nodeSource(), { eval: true, workerData: data });
    w.on('message', onMessage);
    w.on('error', (e) => onGone(`worker ${data.id} failed: ${String(e)}`));
    const exited = new Promise<void>((resolve) => w.on('exit', (code) => {
      onGone(`worker ${data.id} exited (code ${code})`);
      resolve();
    }));
    return { terminate: () => void w.terminate(), unref: () => w.unref(), exited };
  }
  const url = URL.createObjectURL(new Blob([browserSource()], { type: 'text/javascript' }));
  try {
    const w = new Worker(url);
    let resolveExit!: () => void;
    const exited = new Promise<void>((r) => (resolveExit = r));
    w.onmessage = (e: MessageEvent) => onMessage(e.data as WorkerMessage);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      onGone(`worker ${data.id} failed: ${e.message || 'could not start (a Content-Security-Policy without worker-src blob:?)'}`);
    };
    w.onmessageerror = () => onGone(`worker ${data.id} could not receive the kernel module`);
    w.postMessage(data);
    return { terminate: () => { w.terminate(); resolveExit(); }, unref: () => {}, exited };
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/** Per-plan programs in the shared memory: the Int32 index of each thread's program. */
export interface ThreadProgram {
  starts: number[];
}

export class ThreadPool {
  /** test hook: called on the main thread when it arrives at each barrier and while it waits */
  onBarrier?: (barrier: number) => void;
  private workers: Spawned[] = [];
  private fns: Fn[];
  /** the main thread's spin before sleeping at a barrier (Infinity: it may not sleep) */
  private spinMs = canWait() ? SPIN_MS : Infinity;
  private failure: string | undefined;
  private disposed = false;
  private v: Int32Array;

  private constructor(readonly kernels: Kernels, private module: WebAssembly.Module, readonly threads: number,
    private ctl: number, private timeoutMs: number) {
    this.v = new Int32Array(kernels.memory.buffer);
    const exports = kernels.exports as unknown as Record<string, Fn>;
    this.fns = KERNEL_ORDER.map((k) => exports[k]);
  }

  /**
   * A threaded kernel instance with threads - 1 started workers, or undefined (after one
   * console.warn saying why) where threads cannot run here.
   */
  static async create(threads: number, options: WasmOptions & { threadTimeoutMs?: number }): Promise<ThreadPool | undefined> {
    if (typeof SharedArrayBuffer !== 'function' || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
      return fallback(`threads: ${threads} needs SharedArrayBuffer, which browsers only give cross-origin isolated pages ` +
        '(serve the page with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)');
    }
    if (options.module) {
      return fallback(`threads: ${threads} needs the kernel module's bytes, not a compiled module (pass bytes, or neither)`);
    }
    if (!isNode && typeof Worker !== 'function') return fallback(`threads: ${threads} needs Web Workers, which this environment lacks`);
    const flavor = options.bytes ? undefined : chooseFlavor(options.flavor ?? 'auto'); // throws E_NO_SIMD
    const bytes = options.bytes ? new Uint8Array(options.bytes) : inlineKernelBytes(flavor!);
    if (!bytes) return fallback(`threads: ${threads} is not available in this entry (workerd / edge-light)`);

    let kernels: Kernels, module: WebAssembly.Module;
    try {
      const shared = await sharedKernels(bytes, flavor);
      module = shared.module;
      const memory = new WebAssembly.Memory({ initial: shared.pages, maximum: MAX_PAGES, shared: true });
      kernels = new Kernels(await WebAssembly.instantiate(module, { env: { memory } }));
    } catch (e) {
      return fallback(`threads: ${threads}: the shared-memory kernels do not load here (${String(e)})`);
    }
    const ctl = kernels.alloc(CTL_BYTES);
    kernels.u32.fill(0, ctl >>> 2, (ctl + CTL_BYTES) >>> 2);
    const pool = new ThreadPool(kernels, module, threads, ctl, options.threadTimeoutMs ?? 10_000);
    try {
      await pool.start();
    } catch (e) {
      pool.dispose();
      return fallback(`threads: ${threads}: ${(e as Error).message}`);
    }
    return pool;
  }

  private async start(): Promise<void> {
    let ready = 0;
    let settle!: { resolve: () => void; reject: (e: Error) => void };
    const started = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    const onMessage = (m: WorkerMessage) => {
      if (m.type === 'ready' && ++ready === this.threads - 1) settle.resolve();
      if (m.type === 'error') onGone(m.message);
    };
    const onGone = (why: string) => {
      if (this.disposed) return;
      this.failure ??= why;
      settle.reject(new Error(why));
    };
    for (let id = 1; id < this.threads; id++) {
      const data: WorkerData = {
        module: this.module, memory: this.kernels.memory, ctl: this.ctl, id, threads: this.threads,
        kernels: KERNEL_ORDER, layout: L, msgLen: MSG_LEN, spinMs: SPIN_MS, prewakeSpinMs: PREWAKE_SPIN_MS,
      };
      this.workers.push(await spawn(data, onMessage, onGone));
    }
    const timer = setTimeout(() => settle.reject(new Error('the workers did not start within 30 s')), 30_000);
    try {
      await started;
    } finally {
      clearTimeout(timer);
    }
    for (const w of this.workers) w.unref(); // an idle pool does not keep Node running
  }

  /** Writes the per-thread programs of a plan's steps into the shared memory. */
  program(steps: KernelCall[][]): ThreadProgram {
    const k = this.kernels;
    const shifted = new Map<string, number>();
    const shift = (ptr: number, count: number, bytes: number) => {
      const key = `${ptr},${count},${bytes}`;
      let p = shifted.get(key);
      if (p === undefined) {
        const table = Array.from(k.u32.subarray(ptr >>> 2, (ptr >>> 2) + count), (x) => x + bytes);
        p = k.alloc(4 * count, 16);
        k.writeU32(p, table);
        shifted.set(key, p);
      }
      return p;
    };
    const progs = threadPrograms(steps, this.threads, shift);
    const at = k.alloc(progs.reduce((s, p) => s + p.length, 0) * 4) >>> 2;
    const starts: number[] = [];
    let i = at;
    for (const p of progs) {
      this.view().set(p, i);
      starts.push(i);
      i += p.length;
    }
    return { starts };
  }

  private view(): Int32Array {
    const buf = this.kernels.memory.buffer;
    if (this.v.buffer !== buf) this.v = new Int32Array(buf);
    return this.v;
  }

  /**
   * Wakes the workers ahead of run(): a sleeping worker takes tens of microseconds to wake,
   * which the caller overlaps with its own work before the run (copying the input in).
   */
  prewake(): void {
    if (this.failure || this.disposed) return;
    const v = this.view(), c = this.ctl >>> 2;
    Atomics.add(v, c + L.WAKE, 1);
    Atomics.notify(v, c + L.GEN);
  }

  /** One inference over the plan's program, on all threads; throws E_THREAD if a worker fails. */
  run(prog: ThreadProgram): void {
    if (this.failure) throw new ShuffleNetError('E_THREAD', `${this.failure}; dispose() this model and build a new one`);
    const v = this.view(), c = this.ctl >>> 2;
    Atomics.store(v, c + L.ARRIVE, 0);
    for (let t = 0; t < this.threads; t++) Atomics.store(v, c + L.PROG + t, prog.starts[t]);
    Atomics.add(v, c + L.GEN, 1);
    Atomics.notify(v, c + L.GEN);
    let seen = -1, since = performance.now();
    const check = (barrier: number) => {
      this.onBarrier?.(barrier);
      const arrived = Atomics.load(v, c + L.ARRIVE), now = performance.now();
      if (arrived !== seen) {
        seen = arrived;
        since = now;
      } else if (now - since > this.timeoutMs) {
        Atomics.store(v, c + L.ABORT, 2);
      }
    };
    let ok = false;
    try {
      ok = execute(this.fns, v, c, this.threads, 0, L, this.spinMs, check);
    } finally {
      if (!ok) this.abandon();
    }
  }

  /** Marks the pool failed, stops the workers and throws the reason. */
  private abandon(): never {
    const v = this.view(), c = this.ctl >>> 2;
    const failed = Atomics.load(v, c + L.FAILED);
    const timedOut = Atomics.load(v, c + L.ABORT) === 2;
    Atomics.store(v, c + L.ABORT, 2);
    Atomics.notify(v, c + L.ARRIVE);
    let why: string;
    if (failed) {
      why = String.fromCharCode(...v.subarray(c + L.MSG, c + L.MSG + MSG_LEN)).replace(/\0+$/, '');
    } else if (timedOut) {
      why = `a worker made no progress for ${this.timeoutMs} ms (it died, or the machine is badly overloaded; see threadTimeoutMs)`;
    } else {
      why = 'the main thread failed during a threaded run';
    }
    this.failure ??= why;
    for (const w of this.workers) w.terminate();
    throw new ShuffleNetError('E_THREAD', why);
  }

  /** Resolves when every worker has exited (after dispose(), or after a failure). */
  get exited(): Promise<void> {
    return Promise.all(this.workers.map((w) => w.exited)).then(() => undefined);
  }

  /** The started workers (tests terminate one to check that the model errors, not hangs). */
  get workerHandles(): ReadonlyArray<{ terminate(): void }> {
    return this.workers;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const v = this.view(), c = this.ctl >>> 2;
    Atomics.store(v, c + L.QUIT, 1);
    Atomics.add(v, c + L.GEN, 1);
    Atomics.notify(v, c + L.GEN);
    for (const w of this.workers) w.terminate();
  }
}
