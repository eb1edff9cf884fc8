// Packs every layer's weights into wasm memory once per model, in the layout its kernel
// reads. Which kernel a conv uses is decided here, from its shape.
import type { Graph, ConvNode } from './ir.js';
import { packGemm, packDepthwise, avgPoolWeights, roundUp } from './pack.js';
import type { Kernels } from '../bindings/wasm.js';
import { ShuffleNetError } from '../bindings/errors.js';

export interface PackedEntry {
  kind: 'gemm' | 'im2col' | 'depthwise';
  ptr: number;
  /** per-group output channels rounded up to 4 (gemm, im2col, fc) */
  mpad: number;
  /** per-group input channels (K of the GEMM) */
  k: number;
  groups: number;
}

export function convKind(n: ConvNode, inChannels: number, outChannels: number): PackedEntry['kind'] {
  if (n.kernel === 1 && n.stride === 1 && n.pad === 0) return 'gemm';
  if (n.kernel === 3 && n.pad === 1 && (n.stride === 1 || n.stride === 2)) {
    if (n.groups === inChannels && n.groups === outChannels) return 'depthwise';
    if (n.groups === 1) return 'im2col';
  }
  throw new ShuffleNetError('E_UNSUPPORTED_OP',
    `conv "${n.name}": kernel ${n.kernel}x${n.kernel}, stride ${n.stride}, pad ${n.pad}, groups ${n.groups} ` +
    `(${inChannels} -> ${outChannels} channels) is not supported; supported: 1x1 stride 1 pad 0 with any groups, ` +
    `3x3 pad 1 stride 1 or 2, depthwise or groups 1`);
}

export class PackedWeights {
  private entries = new Map<string, PackedEntry>();
  private avgPtr = 0;
  readonly bytes: number;

  constructor(k: Kernels, graph: Graph) {
    const packed: Array<{ name: string; entry: Omit<PackedEntry, 'ptr'>; data: Float32Array }> = [];
    let maxAvg = 0;
    for (const n of graph.nodes) {
      if (n.op === 'conv') {
        const cin = graph.tensors[n.input].channels, cout = graph.tensors[n.output].channels;
        const kind = convKind(n, cin, cout);
        if (kind === 'depthwise') {
          packed.push({ name: n.name, entry: { kind, mpad: 0, k: 1, groups: cin }, data: packDepthwise(n.weight, n.bias, cin) });
        } else {
          const groups = kind === 'gemm' ? n.groups : 1;
          const K = kind === 'gemm' ? cin / groups : cin * 9;
          packed.push({ name: n.name, entry: { kind, mpad: roundUp(cout / groups, 4), k: K, groups }, data: packGemm(n.weight, n.bias, cout, K, groups) });
        }
      } else if (n.op === 'fc') {
        const cin = graph.tensors[n.input].channels, cout = graph.tensors[n.output].channels;
        packed.push({ name: n.name, entry: { kind: 'gemm', mpad: roundUp(cout, 4), k: cin, groups: 1 }, data: packGemm(n.weight, n.bias, cout, cin, 1) });
      } else if (n.op === 'avgpool') {
        maxAvg = Math.max(maxAvg, graph.tensors[n.input].channels);
      }
    }
    const avg = maxAvg ? avgPoolWeights(maxAvg) : undefined;
    const total = packed.reduce((s, p) => s + roundUp(p.data.length * 4, 64), 0) + (avg ? roundUp(avg.length * 4, 64) : 0);
    k.reserve(total + 1024);
    for (const p of packed) {
      const ptr = k.alloc(p.data.length * 4);
      k.writeF32(ptr, p.data);
      this.entries.set(p.name, { ...p.entry, ptr });
    }
    if (avg) {
      this.avgPtr = k.alloc(avg.length * 4);
      k.writeF32(this.avgPtr, avg);
    }
    this.bytes = total;
  }

  get(name: string): PackedEntry {
    const e = this.entries.get(name);
    if (!e) throw new ShuffleNetError('E_ARGUMENT', `no packed weights for node "${name}"`);
    return e;
  }

  /** Shared depthwise weights of 1/9 for 3x3 average pooling (enough for `channels`). */
  avgPool(_channels: number): number {
    return this.avgPtr;
  }
}
