// The execution plan for one input size: where every activation plane lives, the offset
// tables each kernel reads, and one closure per compute step. Made once per (model, H, W);
// inference is then a loop over closures with no allocation and no shape math.
//
// Channel shuffle, split and concat never become steps: a tensor is a list of plane
// references, so those ops only rearrange lists (they appear in the summary with 0 bytes).
//
// Each step is also kept as data (`calls`: kernel name + numeric arguments), which is what
// src/threads/split.ts cuts into per-thread shares when the model runs on several threads.
import type { Graph, Node, TensorId } from './ir.js';
import { inferShapes, type Shape } from './shapes.js';
import { shufflePermutation } from './ir.js';
import { roundUp } from './pack.js';
import type { Kernels } from '../bindings/wasm.js';
import { FLAG_RELU, type KernelExports } from '../bindings/kernels-abi.js';
import { ShuffleNetError } from '../bindings/errors.js';
import type { PackedWeights } from './weights.js';

export interface StepInfo {
  name: string;
  op: string;
  kernel: string;
  input: string;
  output: string;
  macs: number;
  params: number;
  /** bytes moved by pure data-movement (shuffle/split/concat): 0 with the plane layout */
  bytesCopied: number;
  /** bytes of activation written by this step */
  activationBytes: number;
}

interface Buffer {
  id: number;
  bytes: number;
  def: number;
  lastUse: number;
  offset: number;
  /** floats from one plane to the next */
  stride: number;
}

type PlaneRef = { buf: number; idx: number };

/** The kernels a plan step may call (every export of the kernel ABI that computes). */
export type KernelName = Exclude<keyof KernelExports, 'memory' | 'relaxedBuild' | 'heapBase' | 'packGemm' | 'fillUniform' | 'firstNonFinite'>;
/** One kernel call with all its (numeric) arguments. */
export interface KernelCall {
  kernel: KernelName;
  args: number[];
}
type Stored = { kind: 'planes'; planes: PlaneRef[] } | { kind: 'vector'; buf: number };

export interface Plan {
  height: number;
  width: number;
  steps: Array<() => void>;
  /** the same steps as data: the kernel calls of each step, in order */
  calls: KernelCall[][];
  /** index into `info` for each entry of `steps` */
  stepInfo: number[];
  info: StepInfo[];
  inputPtr: number;
  outputPtr: number;
  outputs: number;
  activationBytes: number;
  staticBytes: number;
}

/** Floats reserved per plane: the kernels work in 8-pixel tiles and over-read a little. */
export const planeStride = (pixels: number): number => roundUp(pixels, 8) + 8;

const shapeStr = (s: Shape) => (s.h === 1 && s.w === 1 ? `${s.c}` : `${s.c}x${s.h}x${s.w}`);

export function makePlan(k: Kernels, graph: Graph, weights: PackedWeights, height: number, width: number): Plan {
  const shapes = inferShapes(graph, height, width);

  // Where every activation lives. Done twice when a conv with a residual can write its output
  // over the residual: the first pass finds those (nothing reads the residual afterwards),
  // the second lays them out in place (the kernel reads each residual tile before writing it).
  const layout = (inPlace: ReadonlySet<number>) => {
    const buffers: Buffer[] = [];
    const candidates: Array<{ step: number; bufs: number[] }> = [];
    const stored = new Map<TensorId, Stored>();
    const info: StepInfo[] = [];
    type Job = { info: number; build: (ptr: (b: number) => number, table: (refs: number[]) => number) => KernelCall[] };
    const call = (kernel: KernelName, ...args: number[]): KernelCall => ({ kernel, args });
    const jobs: Job[] = [];
    let step = 0;

    const newBuffer = (bytes: number, stride: number, def: number): number => {
      buffers.push({ id: buffers.length, bytes, def, lastUse: def, offset: 0, stride });
      return buffers.length - 1;
    };
    const planesBuffer = (s: Shape, def: number): Stored => {
      const stride = planeStride(s.h * s.w);
      const buf = newBuffer(s.c * stride * 4, stride, def);
      const planes: PlaneRef[] = new Array(s.c);
      for (let idx = 0; idx < s.c; idx++) planes[idx] = { buf, idx };
      return { kind: 'planes', planes };
    };
    const planesOf = (t: TensorId, node: Node): PlaneRef[] => {
      const s = stored.get(t);
      if (!s || s.kind !== 'planes') {
        throw new ShuffleNetError('E_UNSUPPORTED_OP', `node "${node.name}" (${node.op}) needs a feature map as input, got a flat vector`);
      }
      return s.planes;
    };
    const use = (t: TensorId) => {
      const s = stored.get(t)!;
      const ids = s.kind === 'vector' ? [s.buf] : [...new Set(s.planes.map((p) => p.buf))];
      for (const b of ids) buffers[b].lastUse = Math.max(buffers[b].lastUse, step);
    };

    // The input image: 3 contiguous planes, written by run() before each image.
    const inShape = shapes[graph.input];
    const inputBuf = newBuffer((inShape.c * inShape.h * inShape.w + 64) * 4, inShape.h * inShape.w, -1);
    stored.set(graph.input, { kind: 'planes', planes: Array.from({ length: inShape.c }, (_, idx) => ({ buf: inputBuf, idx })) });

    let maxPlane = 8, maxRow = 8;
    for (const n of graph.nodes) {
      const addInfo = (kernel: string, inT: TensorId, outT: TensorId, macs = 0, params = 0, bytesCopied = 0) => {
        info.push({
          name: n.name, op: n.op, kernel, input: shapeStr(shapes[inT]), output: shapeStr(shapes[outT]),
          macs, params, bytesCopied, activationBytes: kernel === 'view' ? 0 : shapes[outT].c * shapes[outT].h * shapes[outT].w * 4,
        });
        return info.length - 1;
      };
      switch (n.op) {
        case 'split': {
          const src = planesOf(n.input, n);
          let at = 0;
          n.outputs.forEach((t, i) => {
            stored.set(t, { kind: 'planes', planes: src.slice(at, at + n.sizes[i]) });
            at += n.sizes[i];
          });
          addInfo('view', n.input, n.outputs[0]);
          info[info.length - 1].output = n.outputs.map((t) => shapeStr(shapes[t])).join(' + ');
          continue;
        }
        case 'concat':
          stored.set(n.output, { kind: 'planes', planes: n.inputs.flatMap((t) => planesOf(t, n)) });
          addInfo('view', n.inputs[0], n.output);
          info[info.length - 1].input = n.inputs.map((t) => shapeStr(shapes[t])).join(' + ');
          continue;
        case 'shuffle': {
          const src = planesOf(n.input, n);
          stored.set(n.output, { kind: 'planes', planes: shufflePermutation(src.length, n.groups).map((i) => src[i]) });
          addInfo('view', n.input, n.output);
          continue;
        }
      }

      // compute nodes
      for (const t of n.op === 'add' ? n.inputs : n.op === 'conv' && n.residual !== undefined ? [n.input, n.residual] : [n.input]) use(t);
      const inS = shapes[n.op === 'add' ? n.inputs[0] : n.input];
      const outS = shapes[n.output];
      maxPlane = Math.max(maxPlane, planeStride(inS.h * inS.w), planeStride(outS.h * outS.w));
      maxRow = Math.max(maxRow, inS.w);
      const flags = 'relu' in n && n.relu ? FLAG_RELU : 0;
      const suffix = flags ? '+relu' : '';

      if (n.op === 'gap') {
        const src = planesOf(n.input, n);
        const buf = newBuffer(roundUp(outS.c, 4) * 4 + 64, 0, step);
        stored.set(n.output, { kind: 'vector', buf });
        const pixels = inS.h * inS.w;
        jobs.push({ info: addInfo('globalAvgPool', n.input, n.output), build: (ptr, table) => {
          const t = table(src.map((p) => ptr(p.buf) + p.idx * buffers[p.buf].stride * 4));
          return [call('globalAvgPool', t, inS.c, pixels, ptr(buf))];
        } });
      } else if (n.op === 'fc') {
        const s = stored.get(n.input);
        if (!s || s.kind !== 'vector') {
          throw new ShuffleNetError('E_UNSUPPORTED_OP', `fully connected "${n.name}" must follow a global average pool`);
        }
        const w = weights.get(n.name);
        const buf = newBuffer(w.mpad * 4 + 64, 0, step);
        stored.set(n.output, { kind: 'vector', buf });
        jobs.push({ info: addInfo('gemv' + suffix, n.input, n.output, inS.c * outS.c, n.weight.length + n.bias.length), build: (ptr) => {
          return [call('gemv', ptr(s.buf), inS.c, w.ptr, ptr(buf), w.mpad, flags)];
        } });
      } else {
        const src = planesOf(n.op === 'add' ? n.inputs[0] : n.input, n);
        // residuals are fused into 1x1 convs only (src/passes.ts)
        const residual = n.op === 'conv' && n.residual !== undefined ? planesOf(n.residual, n) : undefined;
        if (residual) candidates.push({ step, bufs: [...new Set(residual.map((p) => p.buf))] });
        const out = (residual && inPlace.has(step) ? { kind: 'planes', planes: residual } : planesBuffer(outS, step)) as { kind: 'planes'; planes: PlaneRef[] };
        stored.set(n.output, out);
        const planePtrs = (ptr: (b: number) => number, refs: PlaneRef[]) => refs.map((p) => ptr(p.buf) + p.idx * buffers[p.buf].stride * 4);

        if (n.op === 'conv') {
          const w = weights.get(n.name);
          const macs = outS.c * (inS.c / n.groups) * n.kernel * n.kernel * outS.h * outS.w;
          const params = n.weight.length + n.bias.length;
          if (w.kind === 'depthwise') {
            jobs.push({ info: addInfo(`dwconv3x3 s${n.stride}${suffix}`, n.input, n.output, macs, params), build: (ptr, table) => {
              const ti = table(planePtrs(ptr, src)), to = table(planePtrs(ptr, out.planes));
              return [call('dwconv3x3', ti, to, inS.c, inS.h, inS.w, n.stride, w.ptr, ptr(-1), flags)];
            } });
          } else {
            const G = w.groups, Mg = outS.c / G, K = w.k;
            const pixels = outS.h * outS.w;
            const res = residual;
            // padded output rows of each group write into the scratch plane
            const padded = <T>(list: T[], fill: T): T[] => {
              const r: T[] = [];
              for (let g = 0; g < G; g++) {
                r.push(...list.slice(g * Mg, (g + 1) * Mg));
                for (let m = Mg; m < w.mpad; m++) r.push(fill);
              }
              return r;
            };
            let im2col: number | undefined;
            if (w.kind === 'im2col') {
              const stride = planeStride(pixels);
              im2col = newBuffer(K * stride * 4, stride, step);
            }
            const kernelName = (w.kind === 'im2col' ? 'im2col3x3+' : '') + (G > 1 ? `conv1x1 g=${G}` : 'conv1x1') + (res ? '+add' : '') + suffix;
            jobs.push({ info: addInfo(kernelName, n.input, n.output, macs, params), build: (ptr, table) => {
              const trash = ptr(-2);
              const to = table(padded(planePtrs(ptr, out.planes), trash));
              const tr = res ? table(padded(planePtrs(ptr, res), trash)) : 0;
              if (im2col === undefined) {
                const ti = table(planePtrs(ptr, src));
                return [call('conv1x1', ti, K, to, Mg, G, w.ptr, pixels, tr, flags)];
              }
              const cols = im2col;
              const ti = table(planePtrs(ptr, src));
              const tc = table(Array.from({ length: K }, (_, i) => ptr(cols) + i * buffers[cols].stride * 4));
              return [
                call('im2col3x3', ti, inS.c, inS.h, inS.w, n.stride, tc, ptr(-1), 0, outS.h),
                call('conv1x1', tc, K, to, Mg, 1, w.ptr, pixels, 0, flags),
              ];
            } });
          }
        } else if (n.op === 'maxpool') {
          jobs.push({ info: addInfo('maxpool3x3s2', n.input, n.output), build: (ptr, table) => {
            const ti = table(planePtrs(ptr, src)), to = table(planePtrs(ptr, out.planes));
            return [call('maxpool3x3s2', ti, to, inS.c, inS.h, inS.w, ptr(-3))];
          } });
        } else if (n.op === 'avgpool') {
          const w = weights.avgPool(inS.c);
          jobs.push({ info: addInfo('dwconv3x3 s2 (avg)' + suffix, n.input, n.output), build: (ptr, table) => {
            const ti = table(planePtrs(ptr, src)), to = table(planePtrs(ptr, out.planes));
            return [call('dwconv3x3', ti, to, inS.c, inS.h, inS.w, 2, w, ptr(-1), flags)];
          } });
        } else if (n.op === 'relu') {
          jobs.push({ info: addInfo('relu', n.input, n.output), build: (ptr, table) => {
            const ti = table(planePtrs(ptr, src)), to = table(planePtrs(ptr, out.planes));
            return [call('reluPlanes', ti, to, inS.c, inS.h * inS.w)];
          } });
        } else if (n.op === 'add') {
          const b = planesOf(n.inputs[1], n);
          jobs.push({ info: addInfo('add' + suffix, n.inputs[0], n.output), build: (ptr, table) => {
            const ta = table(planePtrs(ptr, src)), tb = table(planePtrs(ptr, b)), to = table(planePtrs(ptr, out.planes));
            return [call('addPlanes', ta, tb, to, inS.c, inS.h * inS.w, flags)];
          } });
        }
      }
      step++;
    }

    const outStored = stored.get(graph.output);
    if (!outStored || outStored.kind !== 'vector') {
      throw new ShuffleNetError('E_UNSUPPORTED_OP', 'the graph output must be a class vector (global pool, then fully connected)');
    }
    buffers[outStored.buf].lastUse = Infinity;

    // Liveness-based placement: a buffer may reuse bytes of buffers whose last reader ran
    // before it is written. First fit over the buffers still alive.
    const order = [...buffers].sort((a, b) => a.def - b.def || a.id - b.id);
    const alive: Buffer[] = [];
    let activationBytes = 0;
    for (const b of order) {
      for (let i = alive.length - 1; i >= 0; i--) if (alive[i].lastUse < b.def) alive.splice(i, 1);
      let at = 0;
      for (const a of alive) {
        if (a.offset - at >= b.bytes) break;
        at = Math.max(at, roundUp(a.offset + a.bytes, 64));
      }
      b.offset = at;
      activationBytes = Math.max(activationBytes, roundUp(at + b.bytes, 64));
      // keep `alive` sorted by offset (insertion, not a sort per buffer: crafted graphs keep thousands alive)
      let pos = alive.length;
      while (pos > 0 && alive[pos - 1].offset > b.offset) pos--;
      alive.splice(pos, 0, b);
    }
    return { buffers, info, jobs, maxPlane, maxRow, outStored, activationBytes, candidates, inputBuf };
  };
  let L = layout(new Set<number>());
  const inPlace = new Set(L.candidates
    .filter((c) => c.bufs.every((b) => b !== L.inputBuf && L.buffers[b].lastUse === c.step))
    .map((c) => c.step));
  if (inPlace.size) L = layout(inPlace);
  const { buffers, info, jobs, maxPlane, maxRow, outStored, activationBytes, inputBuf } = L;

  // Static pieces: a zero row and a -inf row (rows outside the image), a scratch plane for
  // padded GEMM rows, and the offset tables. The tables come last, so every other address is
  // known before the jobs build them; they are collected here and written to memory at once.
  const rowFloats = 2 * maxRow + 64;
  const rowBytes = (rowFloats + 16) * 4;
  const arena = roundUp(k.used, 64); // where the next allocation will start
  const zeroRow = roundUp(arena + activationBytes, 64) + 64;
  const ninfRow = roundUp(zeroRow - 64 + rowBytes, 64) + 64;
  const trash = roundUp(ninfRow - 64 + rowBytes, 64);
  const tableBase = roundUp(trash + maxPlane * 4, 64);
  const tableData: number[] = [];
  const ptr = (b: number) => (b === -1 ? zeroRow : b === -2 ? trash : b === -3 ? ninfRow : arena + buffers[b].offset);
  const table = (refs: number[]) => {
    const at = tableData.length;
    tableData.length = at + refs.length;
    for (let i = 0; i < refs.length; i++) tableData[at + i] = refs[i];
    return tableBase + at * 4;
  };
  const calls = jobs.map((j) => j.build(ptr, table));
  const staticBytes = tableBase + tableData.length * 4 - arena - activationBytes;
  k.reserve(activationBytes + staticBytes + 1024);
  if (k.alloc(activationBytes + staticBytes) !== arena) throw new Error('plan: arena address changed'); // a bump allocator: cannot happen
  k.f32.fill(0, arena >>> 2, zeroRow >>> 2);
  k.f32.fill(0, (zeroRow - 64) >>> 2, (zeroRow - 64 + rowBytes) >>> 2);
  k.f32.fill(-Infinity, (ninfRow - 64) >>> 2, (ninfRow - 64 + rowBytes) >>> 2);
  k.writeU32(tableBase, tableData);

  return {
    height, width,
    steps: calls.map((c) => bindCalls(k, c)),
    calls,
    stepInfo: jobs.map((j) => j.info),
    info,
    inputPtr: ptr(inputBuf),
    outputPtr: ptr(outStored.buf),
    outputs: shapes[graph.output].c,
    activationBytes,
    staticBytes,
  };
}

/** A closure that makes the given kernel calls (the single-threaded way to run a step). */
function bindCalls(k: Kernels, calls: KernelCall[]): () => void {
  const fns = calls.map((c) => k.exports[c.kernel] as (...args: number[]) => void);
  if (calls.length === 1) {
    const f = fns[0], a = calls[0].args;
    return () => f(...a);
  }
  return () => {
    for (let i = 0; i < calls.length; i++) fns[i](...calls[i].args);
  };
}
