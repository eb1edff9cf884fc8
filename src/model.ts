// The public Model: owns one kernel instance (its own wasm memory), the packed weights and
// one plan per input size. run() is synchronous once the model is built, also with
// `threads: n` (the workers start in fromGraph; see src/threads/pool.ts).
import type { Graph } from './ir.js';
import { fuse } from './passes.js';
import { makePlan, type Plan, type StepInfo } from './plan.js';
import { PackedWeights } from './weights.js';
import { createKernels, type Kernels, type WasmOptions, type Flavor } from '../bindings/wasm.js';
import { primeTierUp } from '../bindings/tier-up.js';
import { ShuffleNetError } from '../bindings/errors.js';
import { formatSummary } from './summary.js';
import { preprocess, type ImageInput, type PreprocessOptions } from './preprocess.js';
import { parseLabels } from './labels.js';
import { ThreadPool, MAX_THREADS, type ThreadProgram } from './threads/pool.js';

export interface Classification {
  index: number;
  label?: string;
  probability: number;
}

export interface ClassifyOptions extends PreprocessOptions {
  /** how many classes to return (default 5) */
  topk?: number;
  /** class names: an array, or the text of a label file (synset lines `n01440764 tench, Tinca tinca`) */
  labels?: readonly string[] | string;
}

/** Softmax of logits, then the k most probable classes, most probable first. */
export function topK(logits: Float32Array, k: number, labels?: readonly string[]): Classification[] {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  const p = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp(logits[i] - max);
  const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b).slice(0, k);
  return order.map((index) => ({ index, ...(labels ? { label: labels[index] } : {}), probability: p[index] / sum }));
}

export interface ModelOptions extends WasmOptions {
  /**
   * Inferences run on zeros at load (default 0). The memory plan for `inputSize` is always made
   * at load; a warm-up adds what a first call still pays (code and caches going warm, about one
   * more inference), so it only helps when the first real call must be as fast as the rest.
   */
  warmup?: number;
  /** input size planned at load, used for the warm-up and by summary() when none is given (default 224) */
  inputSize?: number;
  /**
   * Threads per inference (default 1). With n > 1 every step is split over the calling thread
   * and n - 1 workers on a shared WebAssembly.Memory. Needs SharedArrayBuffer (in browsers a
   * cross-origin isolated page); where it is missing a warning is printed and the model runs
   * on 1 thread (see `model.threads`).
   */
  threads?: number;
  /** with threads: a run fails with E_THREAD when the workers make no progress for this long (default 10000 ms) */
  threadTimeoutMs?: number;
}

export interface ModelSummary {
  height: number;
  width: number;
  flavor: Flavor;
  steps: Array<StepInfo & { timeMs?: number }>;
  totals: {
    macs: number;
    params: number;
    bytesCopied: number;
    /** peak bytes of activation memory (liveness-shared arena) */
    activationBytes: number;
    weightBytes: number;
    timeMs?: number;
  };
  toString(): string;
}

const MAX_SIDE = 4096;
const MIN_SIDE = 16;

const pools = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<ThreadPool>((p) => p.dispose()) : undefined;

export class Model {
  private kernels: Kernels | undefined;
  private plans = new Map<string, Plan>();
  private programs = new Map<Plan, ThreadProgram>();
  private weightMark: number;

  private constructor(private graph: Graph, kernels: Kernels, private weights: PackedWeights, private defaultSize: number,
    private pool: ThreadPool | undefined) {
    this.kernels = kernels;
    this.weightMark = kernels.used;
    if (pool) pools?.register(this, pool, this);
  }

  /**
   * Builds a model from graph IR (builders or ONNX import). `kernels`: an instance of the kernel module to use (primed with
   * primeTierUp, nothing allocated that must survive); one thread only.
   */
  static async fromGraph(graph: Graph, options: ModelOptions = {}, kernels?: Kernels): Promise<Model> {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
      throw new ShuffleNetError('E_ARGUMENT', `threads must be an integer from 1 to ${MAX_THREADS}, got ${threads}`);
    }
    const size = options.inputSize ?? 224;
    if (!Number.isInteger(size) || size < MIN_SIDE || size > MAX_SIDE) {
      throw new ShuffleNetError(size > MAX_SIDE ? 'E_LIMIT' : 'E_ARGUMENT', `inputSize must be an integer from ${MIN_SIDE} to ${MAX_SIDE}, got ${size}`);
    }
    const warm = options.warmup ?? 0;
    if (!Number.isInteger(warm) || warm < 0) throw new ShuffleNetError('E_ARGUMENT', `warmup must be a non-negative integer, got ${warm}`);
    if (kernels && threads > 1) throw new ShuffleNetError('E_ARGUMENT', 'fromGraph: a kernel instance is for one thread only');
    const fused = fuse(graph);
    const pool = threads > 1 ? await ThreadPool.create(threads, options) : undefined;
    const given = kernels;
    kernels = pool?.kernels ?? given ?? await createKernels(options);
    let weights: PackedWeights;
    try {
      if (!given) primeTierUp(kernels);
      weights = new PackedWeights(kernels, fused);
    } catch (e) {
      pool?.dispose();
      throw e;
    }
    const model = new Model(fused, kernels, weights, size, pool);
    try {
      model.plan(size, size);
      if (warm > 0) {
        const zeros = new Float32Array(3 * size * size);
        for (let i = 0; i < warm; i++) model.run(zeros, [1, 3, size, size]);
      }
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  /** Number of classifier outputs. */
  get classes(): number {
    return this.graph.tensors[this.graph.output].channels;
  }

  /** Threads each inference runs on: 1, or `threads` when the workers started. */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** Bytes of wasm linear memory this model holds (weights, plans, activations); 0 once disposed. */
  get memoryBytes(): number {
    return this.kernels?.memory.buffer.byteLength ?? 0;
  }

  /** Which kernel binary runs: 'relaxed' (relaxed SIMD) or 'simd'. */
  get flavor(): Flavor {
    return this.live().flavor;
  }

  private live(): Kernels {
    if (!this.kernels) throw new ShuffleNetError('E_DISPOSED', 'this model was disposed');
    return this.kernels;
  }

  private plan(height: number, width: number): Plan {
    // summary() and profile() reach here with sizes straight from the caller
    for (const [v, what] of [[height, 'height'], [width, 'width']] as const) {
      if (!Number.isInteger(v) || v < MIN_SIDE) throw new ShuffleNetError('E_SHAPE', `${what} must be an integer >= ${MIN_SIDE}, got ${String(v)}`);
      if (v > MAX_SIDE) throw new ShuffleNetError('E_LIMIT', `${what} ${v} exceeds ${MAX_SIDE}`);
    }
    const key = `${height}x${width}`;
    let p = this.plans.get(key);
    if (!p) {
      const k = this.live();
      if (this.plans.size >= 4) {
        // Bound memory: forget older input sizes and reuse their arena.
        this.plans.clear();
        this.programs.clear();
        k.release(this.weightMark);
      }
      p = makePlan(k, this.graph, this.weights, height, width);
      if (this.pool) this.programs.set(p, this.pool.program(p.calls));
      this.plans.set(key, p);
    }
    return p;
  }

  private checkShape(input: Float32Array, shape?: readonly number[]): [number, number, number] {
    if (!(input instanceof Float32Array)) {
      throw new ShuffleNetError('E_ARGUMENT', `input must be a Float32Array, got ${Object.prototype.toString.call(input)}`);
    }
    const s = this.defaultSize;
    const [n, c, h, w] = shape ?? [input.length / (3 * s * s), 3, s, s];
    if (shape && shape.length !== 4) throw new ShuffleNetError('E_SHAPE', `shape must be [N, 3, H, W], got [${shape}]`);
    for (const [v, what] of [[n, 'batch N'], [h, 'height H'], [w, 'width W']] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new ShuffleNetError('E_SHAPE', shape
          ? `${what} must be a positive integer, got ${v}`
          : `input has ${input.length} values, not a multiple of 3x${s}x${s} = ${3 * s * s}; pass shape [N, 3, H, W]`);
      }
    }
    if (c !== 3) throw new ShuffleNetError('E_SHAPE', `expected 3 input channels (RGB), got ${c}`);
    if (h < MIN_SIDE || w < MIN_SIDE) throw new ShuffleNetError('E_SHAPE', `input ${h}x${w} is smaller than ${MIN_SIDE}x${MIN_SIDE}`);
    if (h > MAX_SIDE || w > MAX_SIDE) throw new ShuffleNetError('E_LIMIT', `input ${h}x${w} exceeds ${MAX_SIDE}x${MAX_SIDE}`);
    if (input.length !== n * 3 * h * w) {
      throw new ShuffleNetError('E_SHAPE', `input has ${input.length} values, shape [${n}, 3, ${h}, ${w}] needs ${n * 3 * h * w}`);
    }
    return [n, h, w];
  }

  /**
   * Runs the network on an NCHW float batch and returns N x classes logits (a new array).
   * Inputs must be finite (E_ARGUMENT otherwise): the ReLU and max pooling kernels would drop
   * an isolated NaN silently (finite, changed logits) and an infinity turns every logit NaN.
   */
  run(input: Float32Array, shape?: readonly [number, number, number, number]): Float32Array {
    const k = this.live();
    const [n, h, w] = this.checkShape(input, shape);
    const p = this.plan(h, w);
    const image = 3 * h * w;
    const result = new Float32Array(n * p.outputs);
    const program = this.programs.get(p);
    for (let b = 0; b < n; b++) {
      if (program) this.pool!.prewake();
      k.f32.set(input.subarray(b * image, (b + 1) * image), p.inputPtr >>> 2);
      const i = k.exports.firstNonFinite(p.inputPtr, image);
      if (i >= 0) {
        const bad = b * image + i, px = h * w, c = Math.floor(i / px), y = Math.floor((i % px) / w), x = i % w;
        throw new ShuffleNetError('E_ARGUMENT', `input holds ${input[bad]} at index ${bad} (image ${b}, channel ${c}, y ${y}, x ${x}); inputs must be finite`);
      }
      if (program) this.pool!.run(program);
      else for (const step of p.steps) step();
      result.set(k.f32.subarray(p.outputPtr >>> 2, (p.outputPtr >>> 2) + p.outputs), b * p.outputs);
    }
    return result;
  }

  /**
   * Classifies one image (ImageData, or { data, width, height, channels }): torchvision's
   * preprocessing (shorter side 256 with antialiased bilinear, center crop 224, ImageNet
   * mean/std), then softmax over the logits.
   */
  classify(image: ImageInput, options: ClassifyOptions = {}): Classification[] {
    const topk = options.topk ?? 5;
    if (!Number.isInteger(topk) || topk < 1) throw new ShuffleNetError('E_ARGUMENT', `topk must be a positive integer, got ${topk}`);
    const labels = typeof options.labels === 'string' ? parseLabels(options.labels) : options.labels;
    if (labels && labels.length !== this.classes) {
      throw new ShuffleNetError('E_ARGUMENT', `${labels.length} labels given for a model with ${this.classes} classes`);
    }
    const { data, shape } = preprocess(image, options);
    return topK(this.run(data, shape), Math.min(topk, this.classes), labels);
  }

  /** Per-step table of kernels, shapes, MACs, params, bytes copied and activation bytes. */
  summary(size?: { height: number; width: number }): ModelSummary {
    const p = this.plan(size?.height ?? this.defaultSize, size?.width ?? this.defaultSize);
    return this.describe(p, p.info.map((s) => ({ ...s })));
  }

  /** summary() plus the measured median time of every step over `runs` inferences (on 1 thread). */
  profile(options: { height?: number; width?: number; runs?: number } = {}): ModelSummary {
    const h = options.height ?? this.defaultSize, w = options.width ?? this.defaultSize;
    const p = this.plan(h, w);
    const k = this.live();
    const runs = options.runs ?? 20;
    if (!Number.isInteger(runs) || runs < 1) throw new ShuffleNetError('E_ARGUMENT', `runs must be a positive integer, got ${String(runs)}`);
    const times = p.steps.map(() => [] as number[]);
    k.f32.fill(0, p.inputPtr >>> 2, (p.inputPtr >>> 2) + 3 * h * w);
    for (let r = 0; r < runs; r++) {
      p.steps.forEach((step, i) => {
        const t0 = performance.now();
        step();
        times[i].push(performance.now() - t0);
      });
    }
    const steps: Array<StepInfo & { timeMs?: number }> = p.info.map((s) => ({ ...s, timeMs: s.kernel === 'view' ? 0 : 0 }));
    p.stepInfo.forEach((infoIndex, i) => {
      const sorted = times[i].sort((a, b) => a - b);
      steps[infoIndex].timeMs = (steps[infoIndex].timeMs ?? 0) + sorted[sorted.length >> 1];
    });
    return this.describe(p, steps);
  }

  private describe(p: Plan, steps: Array<StepInfo & { timeMs?: number }>): ModelSummary {
    const sum = (f: (s: StepInfo & { timeMs?: number }) => number) => steps.reduce((a, s) => a + f(s), 0);
    const timed = steps.some((s) => s.timeMs !== undefined);
    const summary: ModelSummary = {
      height: p.height, width: p.width, flavor: this.live().flavor, steps,
      totals: {
        macs: sum((s) => s.macs), params: sum((s) => s.params), bytesCopied: sum((s) => s.bytesCopied),
        activationBytes: p.activationBytes, weightBytes: this.weights.bytes,
        ...(timed ? { timeMs: sum((s) => s.timeMs ?? 0) } : {}),
      },
      toString: () => formatSummary(summary),
    };
    return summary;
  }

  /** Releases the wasm instance and its memory, and ends the workers; later calls throw E_DISPOSED. */
  dispose(): void {
    this.kernels = undefined;
    this.graph = { ...this.graph, nodes: [] }; // drop the layer weights too (classes stays readable)
    this.plans.clear();
    this.programs.clear();
    if (this.pool) {
      pools?.unregister(this);
      this.pool.dispose();
    }
  }
}

/** Index of the first NaN or infinity, or -1. */
