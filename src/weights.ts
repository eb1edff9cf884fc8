// Packs every layer's weights into wasm memory once per model, in the layout its kernel
// reads. Which kernel a conv uses is decided here, from its shape.
import type { Graph, ConvNode } from './ir.js';
import { packGemm, packDepthwise, avgPoolWeights, gemmPackedFloats, gemmScratchBytes, roundUp } from './pack.js';
import { DW_WEIGHT_FLOATS } from '../bindings/kernels-abi.js';
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
    // First the layout of every layer (sizes only), so memory grows once; then each layer is
    // packed straight into its place in wasm memory.
    const layers: Array<{ name: string; entry: Omit<PackedEntry, 'ptr'>; floats: number; scratch: number; pack: (ptr: number) => void }> = [];
    let maxAvg = 0;
    for (const n of graph.nodes) {
      if (n.op === 'conv') {
        const cin = graph.tensors[n.input].channels, cout = graph.tensors[n.output].channels;
        const kind = convKind(n, cin, cout);
        if (kind === 'depthwise') {
          layers.push({ name: n.name, entry: { kind, mpad: 0, k: 1, groups: cin }, floats: cin * DW_WEIGHT_FLOATS,
            scratch: 0, pack: (ptr) => packDepthwise(n.weight, n.bias, cin, k.f32, ptr >>> 2) });
        } else {
          const groups = kind === 'gemm' ? n.groups : 1;
          const K = kind === 'gemm' ? cin / groups : cin * 9;
          layers.push({ name: n.name, entry: { kind, mpad: roundUp(cout / groups, 4), k: K, groups }, floats: gemmPackedFloats(cout, K, groups),
            scratch: gemmScratchBytes(cout, K), pack: (ptr) => packGemm(k, n.weight, n.bias, cout, K, groups, ptr) });
        }
      } else if (n.op === 'fc') {
        const cin = graph.tensors[n.input].channels, cout = graph.tensors[n.output].channels;
        layers.push({ name: n.name, entry: { kind: 'gemm', mpad: roundUp(cout, 4), k: cin, groups: 1 }, floats: gemmPackedFloats(cout, cin, 1),
          scratch: gemmScratchBytes(cout, cin), pack: (ptr) => packGemm(k, n.weight, n.bias, cout, cin, 1, ptr) });
      } else if (n.op === 'avgpool') {
        maxAvg = Math.max(maxAvg, graph.tensors[n.input].channels);
      }
    }
    const avgFloats = maxAvg * DW_WEIGHT_FLOATS;
    const total = layers.reduce((s, p) => s + roundUp(p.floats * 4, 64), 0) + (avgFloats ? roundUp(avgFloats * 4, 64) : 0);
    // + scratch: packGemm copies a layer's raw weights above the arena's top while it packs
    k.reserve(total + layers.reduce((m, p) => Math.max(m, p.scratch), 0) + 1024);
    const placed = layers.map((p) => ({ p, ptr: k.alloc(p.floats * 4) }));
    const avgPtr = avgFloats ? k.alloc(avgFloats * 4) : 0;
    for (const { p, ptr } of placed) {
      p.pack(ptr);
      this.entries.set(p.name, { ...p.entry, ptr });
    }
    if (avgFloats) {
      avgPoolWeights(maxAvg, k.f32, avgPtr >>> 2);
      this.avgPtr = avgPtr;
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
