// shufflenet-wasm/kernels: the SIMD kernels on your own data, for reuse and microbenchmarks.
//
//   const lib = await loadKernels();
//   const x = lib.planes(116, 28, 28).set(chwData);       // CHW float data in
//   const y = lib.planes(116, 28, 28);
//   const conv = lib.conv1x1(x, y, { weight, bias, groups: 1, relu: true });
//   conv.run();                                           // as often as you like
//   y.get();                                              // CHW Float32Array out
//
// Tensors live in the library's wasm memory as channel planes addressed by a table, so
// shuffle / split / concat of a PlaneTensor are free views (see ARCHITECTURE.md).
import '../bindings/inline-wasm.js'; // registers the inlined kernel bytes
import { createKernels, type Kernels, type WasmOptions, type Flavor } from '../bindings/wasm.js';
import { FLAG_RELU } from '../bindings/kernels-abi.js';
import { ShuffleNetError } from '../bindings/errors.js';
import { packGemm, gemmPackedFloats, gemmScratchBytes, packDepthwise, avgPoolWeights, roundUp } from './pack.js';
import { planeStride } from './plan.js';
import { shufflePermutation } from './ir.js';
import { windowOut } from './shapes.js';

export { hasSimd, hasRelaxedSimd } from '../bindings/features.js';

/** A C x H x W tensor stored as channel planes in the library's memory. */
export class PlaneTensor {
  constructor(
    private lib: KernelLibrary,
    readonly channels: number,
    readonly height: number,
    readonly width: number,
    /** byte offset of every channel's plane */
    readonly planes: number[],
  ) {}

  get pixels(): number {
    return this.height * this.width;
  }

  /** Writes CHW float data (C*H*W values). */
  set(data: ArrayLike<number>): this {
    const hw = this.pixels;
    if (data.length !== this.channels * hw) throw new ShuffleNetError('E_SHAPE', `expected ${this.channels * hw} values, got ${data.length}`);
    const f = this.lib.kernels.f32;
    for (let c = 0; c < this.channels; c++) {
      for (let i = 0; i < hw; i++) f[(this.planes[c] >>> 2) + i] = data[c * hw + i];
    }
    return this;
  }

  /** Reads the tensor as a new CHW Float32Array. */
  get(): Float32Array {
    const hw = this.pixels;
    const out = new Float32Array(this.channels * hw);
    const f = this.lib.kernels.f32;
    this.planes.forEach((p, c) => out.set(f.subarray(p >>> 2, (p >>> 2) + hw), c * hw));
    return out;
  }

  /** Channels [start, start + count) as a view: no data moves. */
  slice(start: number, count: number): PlaneTensor {
    return new PlaneTensor(this.lib, count, this.height, this.width, this.planes.slice(start, start + count));
  }

  /** Channel shuffle (reshape(g, C/g), transpose, flatten) as a view: no data moves. */
  shuffle(groups: number): PlaneTensor {
    if (this.channels % groups) throw new ShuffleNetError('E_SHAPE', `${this.channels} channels do not divide into ${groups} groups`);
    return new PlaneTensor(this.lib, this.channels, this.height, this.width, shufflePermutation(this.channels, groups).map((i) => this.planes[i]));
  }

  /** Channel concat as a view: no data moves. */
  concat(other: PlaneTensor): PlaneTensor {
    if (other.height !== this.height || other.width !== this.width) throw new ShuffleNetError('E_SHAPE', 'concat of different spatial sizes');
    return new PlaneTensor(this.lib, this.channels + other.channels, this.height, this.width, [...this.planes, ...other.planes]);
  }
}

/** A kernel call with its tables and packed weights prepared; run() is one wasm call. */
export interface PreparedKernel {
  run(): void;
  /** multiply-adds per run (0 for data movement) */
  readonly macs: number;
  /** bytes read + written per run for data movement kernels (0 otherwise) */
  readonly bytes: number;
}

export class KernelLibrary {
  private zeroRow = 0;
  private ninfRow = 0;
  private scratchFloats = 0;

  constructor(readonly kernels: Kernels) {}

  get flavor(): Flavor {
    return this.kernels.flavor;
  }

  private table(ptrs: number[]): number {
    const t = this.kernels.alloc(ptrs.length * 4 + 4);
    this.kernels.writeU32(t, ptrs);
    return t;
  }

  private packedGemm(weight: Float32Array, bias: Float32Array, M: number, K: number, groups: number): number {
    checkBias(bias, M);
    this.kernels.reserve(gemmPackedFloats(M, K, groups) * 4 + gemmScratchBytes(M, K) + 128);
    const w = this.kernels.alloc(gemmPackedFloats(M, K, groups) * 4);
    packGemm(this.kernels, weight, bias, M, K, groups, w);
    return w;
  }

  private floats(data: Float32Array): number {
    const p = this.kernels.alloc(data.length * 4 + 64);
    this.kernels.writeF32(p, data);
    return p;
  }

  /** Rows of zeros / -inf that stand for the image outside its borders. */
  private rows(width: number): { zero: number; ninf: number } {
    const need = 2 * width + 64;
    if (!this.zeroRow || need > this.scratchFloats) {
      this.scratchFloats = need;
      this.zeroRow = this.floats(new Float32Array(need + 32)) + 64;
      this.ninfRow = this.floats(new Float32Array(need + 32).fill(-Infinity)) + 64;
    }
    return { zero: this.zeroRow, ninf: this.ninfRow };
  }

  private trash(pixels: number): number {
    const p = this.kernels.alloc(planeStride(pixels) * 4);
    return p;
  }

  /** Allocates a tensor (zero-filled) with room for the kernels' tile over-reads. */
  planes(channels: number, height: number, width: number): PlaneTensor {
    for (const [v, what] of [[channels, 'channels'], [height, 'height'], [width, 'width']] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ShuffleNetError('E_ARGUMENT', `${what} must be a positive integer, got ${v}`);
    }
    const stride = planeStride(height * width) * 4;
    const base = this.kernels.alloc(channels * stride + 64);
    this.kernels.f32.fill(0, base >>> 2, (base + channels * stride) >>> 2);
    return new PlaneTensor(this, channels, height, width, Array.from({ length: channels }, (_, c) => base + c * stride));
  }

  private check(t: PlaneTensor, c: number, h: number, w: number, what: string): void {
    if (t.channels !== c || t.height !== h || t.width !== w) {
      throw new ShuffleNetError('E_SHAPE', `${what} must be ${c}x${h}x${w}, got ${t.channels}x${t.height}x${t.width}`);
    }
  }

  /**
   * Grouped 1x1 convolution: out = act(bias + W * in (+ residual)).
   * weight: [out][in / groups] (ONNX order), bias: [out].
   */
  conv1x1(input: PlaneTensor, output: PlaneTensor, o: { weight: Float32Array; bias?: Float32Array; groups?: number; relu?: boolean; residual?: PlaneTensor }): PreparedKernel {
    const G = o.groups ?? 1, M = output.channels, K = input.channels / G;
    if (!Number.isInteger(K) || M % G) throw new ShuffleNetError('E_SHAPE', `channels ${input.channels} -> ${M} do not divide by groups ${G}`);
    this.check(output, M, input.height, input.width, 'output');
    if (o.weight.length !== M * K) throw new ShuffleNetError('E_SHAPE', `weight must have ${M * K} values, got ${o.weight.length}`);
    if (o.residual) this.check(o.residual, M, input.height, input.width, 'residual');
    const Mg = M / G, mpad = roundUp(Mg, 4);
    const w = this.packedGemm(o.weight, o.bias ?? new Float32Array(M), M, K, G);
    const trash = this.trash(input.pixels);
    const pad = (planes: number[]) => {
      const r: number[] = [];
      for (let g = 0; g < G; g++) { r.push(...planes.slice(g * Mg, (g + 1) * Mg)); while (r.length % mpad) r.push(trash); }
      return r;
    };
    const ti = this.table(input.planes), to = this.table(pad(output.planes));
    const tr = o.residual ? this.table(pad(o.residual.planes)) : 0;
    const f = this.kernels.exports.conv1x1, px = input.pixels, flags = o.relu ? FLAG_RELU : 0;
    return { run: () => f(ti, K, to, Mg, G, w, px, tr, flags), macs: M * K * px, bytes: 0 };
  }

  /** Depthwise 3x3, pad 1, stride 1 or 2. weight: [C][3][3], bias: [C]. */
  depthwise3x3(input: PlaneTensor, output: PlaneTensor, o: { weight: Float32Array; bias?: Float32Array; stride?: 1 | 2; relu?: boolean }): PreparedKernel {
    const s = o.stride ?? 1, C = input.channels;
    this.check(output, C, windowOut(input.height, s), windowOut(input.width, s), 'output');
    if (o.weight.length !== C * 9) throw new ShuffleNetError('E_SHAPE', `weight must have ${C * 9} values, got ${o.weight.length}`);
    const bias = o.bias ?? new Float32Array(C);
    checkBias(bias, C);
    const w = this.floats(packDepthwise(o.weight, bias, C));
    return this.dw(input, output, w, s, o.relu ? FLAG_RELU : 0, 9 * C * output.pixels);
  }

  private dw(input: PlaneTensor, output: PlaneTensor, w: number, s: number, flags: number, macs: number): PreparedKernel {
    const { zero } = this.rows(input.width);
    const ti = this.table(input.planes), to = this.table(output.planes);
    const f = this.kernels.exports.dwconv3x3, C = input.channels, H = input.height, W = input.width;
    return { run: () => f(ti, to, C, H, W, s, w, zero, flags), macs, bytes: 0 };
  }

  /** 3x3 average pooling, stride 2, pad 1, padding counted (PyTorch count_include_pad). */
  avgPool3x3s2(input: PlaneTensor, output: PlaneTensor): PreparedKernel {
    this.check(output, input.channels, windowOut(input.height, 2), windowOut(input.width, 2), 'output');
    return this.dw(input, output, this.floats(avgPoolWeights(input.channels)), 2, 0, 0);
  }

  /** 3x3 max pooling, stride 2, pad 1. */
  maxPool3x3s2(input: PlaneTensor, output: PlaneTensor): PreparedKernel {
    this.check(output, input.channels, windowOut(input.height, 2), windowOut(input.width, 2), 'output');
    const { ninf } = this.rows(input.width);
    const ti = this.table(input.planes), to = this.table(output.planes);
    const f = this.kernels.exports.maxpool3x3s2, C = input.channels, H = input.height, W = input.width;
    return { run: () => f(ti, to, C, H, W, ninf), macs: 0, bytes: 0 };
  }

  /** Full 3x3 convolution (groups 1, pad 1, stride 1 or 2) as im2col + GEMM, like the stem. */
  conv3x3(input: PlaneTensor, output: PlaneTensor, o: { weight: Float32Array; bias?: Float32Array; stride?: 1 | 2; relu?: boolean }): PreparedKernel {
    const s = o.stride ?? 1, Cin = input.channels, M = output.channels, K = Cin * 9;
    this.check(output, M, windowOut(input.height, s), windowOut(input.width, s), 'output');
    if (o.weight.length !== M * K) throw new ShuffleNetError('E_SHAPE', `weight must have ${M * K} values, got ${o.weight.length}`);
    const cols = this.planes(K, output.height, output.width);
    const gemm = this.conv1x1(cols, output, { weight: o.weight, bias: o.bias, relu: o.relu });
    const { zero } = this.rows(input.width);
    const ti = this.table(input.planes), tc = this.table(cols.planes);
    const f = this.kernels.exports.im2col3x3, H = input.height, W = input.width;
    const Ho = output.height;
    return { run: () => { f(ti, Cin, H, W, s, tc, zero, 0, Ho); gemm.run(); }, macs: gemm.macs, bytes: 0 };
  }

  /** Global average pooling into a C-vector; read it with .result(). */
  globalAvgPool(input: PlaneTensor): PreparedKernel & { result(): Float32Array } {
    const out = this.kernels.alloc(roundUp(input.channels, 4) * 4 + 64);
    const ti = this.table(input.planes), C = input.channels, px = input.pixels;
    const f = this.kernels.exports.globalAvgPool;
    return {
      run: () => f(ti, C, px, out), macs: 0, bytes: 0,
      result: () => this.kernels.f32.slice(out >>> 2, (out >>> 2) + C),
    };
  }

  /** Fully connected on a vector: out = W x + b, weight [out][in]. Set the input with .setInput(). */
  fullyConnected(o: { inFeatures: number; weight: Float32Array; bias?: Float32Array }): PreparedKernel & { setInput(x: ArrayLike<number>): void; result(): Float32Array } {
    const K = o.inFeatures, M = o.weight.length / K;
    if (!Number.isInteger(M)) throw new ShuffleNetError('E_SHAPE', `weight length ${o.weight.length} is not a multiple of ${K}`);
    const mpad = roundUp(M, 4);
    const w = this.packedGemm(o.weight, o.bias ?? new Float32Array(M), M, K, 1);
    const x = this.kernels.alloc(K * 4 + 64), out = this.kernels.alloc(mpad * 4 + 64);
    const f = this.kernels.exports.gemv;
    return {
      run: () => f(x, K, w, out, mpad, 0), macs: M * K, bytes: 0,
      setInput: (v) => {
        if (v.length !== K) throw new ShuffleNetError('E_SHAPE', `expected ${K} inputs, got ${v.length}`);
        this.kernels.writeF32(x, v);
      },
      result: () => this.kernels.f32.slice(out >>> 2, (out >>> 2) + M),
    };
  }

  /**
   * The explicit channel shuffle other engines do: copies every plane into `output` in
   * shuffled order. Only a baseline; `tensor.shuffle(g)` gives the same result as a view.
   */
  channelShuffleCopy(input: PlaneTensor, output: PlaneTensor, groups: number): PreparedKernel {
    this.check(output, input.channels, input.height, input.width, 'output');
    const shuffled = input.shuffle(groups);
    const ts = this.table(shuffled.planes), td = this.table(output.planes);
    const f = this.kernels.exports.copyPlanes, C = input.channels, bytes = input.pixels * 4;
    return { run: () => f(ts, td, C, bytes), macs: 0, bytes: 2 * C * bytes };
  }
}

/** A kernel library with its own wasm memory. */
export async function loadKernels(options: WasmOptions = {}): Promise<KernelLibrary> {
  return new KernelLibrary(await createKernels(options));
}

function checkBias(bias: unknown, n: number): void {
  if (bias instanceof Float32Array && bias.length === n) return;
  const got = ArrayBuffer.isView(bias) ? `${bias.constructor.name}(${(bias as Float32Array).length})` : Object.prototype.toString.call(bias);
  throw new ShuffleNetError('E_SHAPE', `bias must be a Float32Array of ${n} values, got ${got}`);
}
