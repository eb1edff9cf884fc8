// Spatial shape inference: every tensor's [C, H, W] for a given input size, with PyTorch's
// output-size rule for 3x3 pad-1 windows: out = floor((in + 2 - 3) / stride) + 1.
import type { Graph } from './ir.js';
import { ShuffleNetError } from '../bindings/errors.js';

export interface Shape { c: number; h: number; w: number }

export const windowOut = (size: number, stride: number): number => Math.floor((size - 1) / stride) + 1;

export function inferShapes(graph: Graph, height: number, width: number): Shape[] {
  const shapes: Shape[] = new Array(graph.tensors.length);
  shapes[graph.input] = { c: graph.inputChannels, h: height, w: width };
  const get = (t: number, node: string): Shape => {
    const s = shapes[t];
    if (!s) throw new ShuffleNetError('E_SHAPE', `node "${node}" reads tensor "${graph.tensors[t].name}" before it is produced`);
    return s;
  };
  for (const n of graph.nodes) {
    switch (n.op) {
      case 'conv': {
        const s = get(n.input, n.name);
        const h = Math.floor((s.h + 2 * n.pad - n.kernel) / n.stride) + 1;
        const w = Math.floor((s.w + 2 * n.pad - n.kernel) / n.stride) + 1;
        if (h < 1 || w < 1) throw new ShuffleNetError('E_SHAPE', `conv "${n.name}" gets a ${s.h}x${s.w} input, too small`);
        shapes[n.output] = { c: graph.tensors[n.output].channels, h, w };
        if (n.residual !== undefined) {
          const r = get(n.residual, n.name);
          if (r.h !== h || r.w !== w || r.c !== shapes[n.output].c) throw new ShuffleNetError('E_SHAPE', `conv "${n.name}": residual shape differs`);
        }
        break;
      }
      case 'maxpool': case 'avgpool': {
        const s = get(n.input, n.name);
        shapes[n.output] = { c: s.c, h: windowOut(s.h, 2), w: windowOut(s.w, 2) };
        break;
      }
      case 'gap': {
        const s = get(n.input, n.name);
        shapes[n.output] = { c: s.c, h: 1, w: 1 };
        break;
      }
      case 'fc': {
        get(n.input, n.name);
        shapes[n.output] = { c: graph.tensors[n.output].channels, h: 1, w: 1 };
        break;
      }
      case 'relu': shapes[n.output] = { ...get(n.input, n.name) }; break;
      case 'shuffle': shapes[n.output] = { ...get(n.input, n.name) }; break;
      case 'add': {
        const a = get(n.inputs[0], n.name), b = get(n.inputs[1], n.name);
        if (a.h !== b.h || a.w !== b.w || a.c !== b.c) {
          throw new ShuffleNetError('E_SHAPE', `add "${n.name}": ${a.c}x${a.h}x${a.w} vs ${b.c}x${b.h}x${b.w}`);
        }
        shapes[n.output] = { ...a };
        break;
      }
      case 'concat': {
        const parts = n.inputs.map((t) => get(t, n.name));
        if (parts.some((p) => p.h !== parts[0].h || p.w !== parts[0].w)) {
          throw new ShuffleNetError('E_SHAPE', `concat "${n.name}": inputs differ in spatial size (${parts.map((p) => `${p.h}x${p.w}`).join(', ')})`);
        }
        shapes[n.output] = { c: parts.reduce((s, p) => s + p.c, 0), h: parts[0].h, w: parts[0].w };
        break;
      }
      case 'split': {
        const s = get(n.input, n.name);
        n.outputs.forEach((t, i) => { shapes[t] = { c: n.sizes[i], h: s.h, w: s.w }; });
        break;
      }
    }
  }
  return shapes;
}
