// The graph IR shared by the v1/v2 builders and the ONNX importer: a small set of ops on
// channel tensors of one image (the batch is a loop at run time). Spatial sizes are not
// stored: they follow from the input size when a plan is made (see shapes.ts).
import { ShuffleNetError } from '../bindings/errors.js';

export type TensorId = number;

export interface ConvNode {
  op: 'conv';
  name: string;
  input: TensorId;
  output: TensorId;
  /** 1 or 3 */
  kernel: number;
  stride: number;
  /** padding on every side: 0 for 1x1, 1 for 3x3 */
  pad: number;
  groups: number;
  /** [outChannels][inChannels / groups][kernel][kernel], ONNX order */
  weight: Float32Array;
  bias: Float32Array;
  /** fused by passes: out = relu(conv + residual) */
  relu: boolean;
  residual?: TensorId;
}
export interface FcNode {
  op: 'fc'; name: string; input: TensorId; output: TensorId;
  /** [outFeatures][inFeatures] */
  weight: Float32Array; bias: Float32Array; relu: boolean;
}
export interface PoolNode {
  op: 'maxpool' | 'avgpool'; name: string; input: TensorId; output: TensorId;
  /** 3x3, stride 2, pad 1; avgpool counts padding (count_include_pad) */
  relu: boolean;
}
export interface GlobalPoolNode { op: 'gap'; name: string; input: TensorId; output: TensorId }
export interface ReluNode { op: 'relu'; name: string; input: TensorId; output: TensorId }
export interface AddNode { op: 'add'; name: string; inputs: [TensorId, TensorId]; output: TensorId; relu: boolean }
export interface ConcatNode { op: 'concat'; name: string; inputs: TensorId[]; output: TensorId }
export interface SplitNode { op: 'split'; name: string; input: TensorId; outputs: TensorId[]; sizes: number[] }
/** reshape(groups, C/groups) -> transpose -> flatten: out[j*groups + i] = in[i*(C/groups) + j] */
export interface ShuffleNode { op: 'shuffle'; name: string; input: TensorId; output: TensorId; groups: number }

export type Node = ConvNode | FcNode | PoolNode | GlobalPoolNode | ReluNode | AddNode | ConcatNode | SplitNode | ShuffleNode;

export interface TensorInfo {
  id: TensorId;
  name: string;
  channels: number;
}

export interface Graph {
  tensors: TensorInfo[];
  nodes: Node[];
  input: TensorId;
  output: TensorId;
  /** input channels: always 3 (RGB) for the networks here */
  inputChannels: number;
}

export function nodeInputs(n: Node): TensorId[] {
  switch (n.op) {
    case 'add': case 'concat': return [...n.inputs];
    case 'conv': return n.residual !== undefined ? [n.input, n.residual] : [n.input];
    default: return [n.input];
  }
}

export function nodeOutputs(n: Node): TensorId[] {
  return n.op === 'split' ? [...n.outputs] : [n.output];
}

/** Builds a Graph op by op, checking channel counts as it goes. */
export class GraphBuilder {
  readonly tensors: TensorInfo[] = [];
  readonly nodes: Node[] = [];
  private names = new Set<string>();

  constructor(readonly inputChannels = 3) {}

  tensor(channels: number, name = `t${this.tensors.length}`): TensorId {
    if (!Number.isInteger(channels) || channels <= 0) {
      throw new ShuffleNetError('E_SHAPE', `tensor "${name}" would have ${channels} channels`);
    }
    const id = this.tensors.length;
    this.tensors.push({ id, name, channels });
    return id;
  }

  input(name = 'input'): TensorId {
    return this.tensor(this.inputChannels, name);
  }

  channels(t: TensorId): number {
    return this.tensors[t].channels;
  }

  private nodeName(name: string | undefined, op: string): string {
    let n = name ?? `${op}_${this.nodes.length}`;
    while (this.names.has(n)) n += '_';
    this.names.add(n);
    return n;
  }

  conv(input: TensorId, o: {
    outChannels: number; kernel: number; stride?: number; groups?: number;
    weight: Float32Array; bias?: Float32Array; relu?: boolean; name?: string; outputName?: string;
  }): TensorId {
    const name = this.nodeName(o.name, 'conv');
    const cin = this.channels(input);
    const groups = o.groups ?? 1;
    const k = o.kernel;
    if (cin % groups !== 0 || o.outChannels % groups !== 0) {
      throw new ShuffleNetError('E_SHAPE', `conv "${name}": channels ${cin} -> ${o.outChannels} not divisible by groups ${groups}`);
    }
    const expected = o.outChannels * (cin / groups) * k * k;
    if (o.weight.length !== expected) {
      throw new ShuffleNetError('E_SHAPE', `conv "${name}": weight has ${o.weight.length} values, expected ${expected}`);
    }
    const bias = o.bias ?? new Float32Array(o.outChannels);
    if (bias.length !== o.outChannels) {
      throw new ShuffleNetError('E_SHAPE', `conv "${name}": bias has ${bias.length} values, expected ${o.outChannels}`);
    }
    const output = this.tensor(o.outChannels, o.outputName ?? name);
    this.nodes.push({
      op: 'conv', name, input, output, kernel: k, stride: o.stride ?? 1, pad: (k - 1) / 2,
      groups, weight: o.weight, bias, relu: o.relu ?? false,
    });
    return output;
  }

  fc(input: TensorId, o: { outFeatures: number; weight: Float32Array; bias?: Float32Array; name?: string; outputName?: string }): TensorId {
    const name = this.nodeName(o.name, 'fc');
    const cin = this.channels(input);
    if (o.weight.length !== o.outFeatures * cin) {
      throw new ShuffleNetError('E_SHAPE', `fc "${name}": weight has ${o.weight.length} values, expected ${o.outFeatures * cin}`);
    }
    const bias = o.bias ?? new Float32Array(o.outFeatures);
    if (bias.length !== o.outFeatures) {
      throw new ShuffleNetError('E_SHAPE', `fc "${name}": bias has ${bias.length} values, expected ${o.outFeatures}`);
    }
    const output = this.tensor(o.outFeatures, o.outputName ?? name);
    this.nodes.push({ op: 'fc', name, input, output, weight: o.weight, bias, relu: false });
    return output;
  }

  pool(op: 'maxpool' | 'avgpool', input: TensorId, name?: string, outputName?: string): TensorId {
    const n = this.nodeName(name, op);
    const output = this.tensor(this.channels(input), outputName ?? n);
    this.nodes.push({ op, name: n, input, output, relu: false });
    return output;
  }

  gap(input: TensorId, name?: string, outputName?: string): TensorId {
    const n = this.nodeName(name, 'gap');
    const output = this.tensor(this.channels(input), outputName ?? n);
    this.nodes.push({ op: 'gap', name: n, input, output });
    return output;
  }

  relu(input: TensorId, name?: string, outputName?: string): TensorId {
    const n = this.nodeName(name, 'relu');
    const output = this.tensor(this.channels(input), outputName ?? n);
    this.nodes.push({ op: 'relu', name: n, input, output });
    return output;
  }

  add(a: TensorId, b: TensorId, name?: string, outputName?: string): TensorId {
    const n = this.nodeName(name, 'add');
    if (this.channels(a) !== this.channels(b)) {
      throw new ShuffleNetError('E_SHAPE', `add "${n}": ${this.channels(a)} vs ${this.channels(b)} channels`);
    }
    const output = this.tensor(this.channels(a), outputName ?? n);
    this.nodes.push({ op: 'add', name: n, inputs: [a, b], output, relu: false });
    return output;
  }

  concat(inputs: TensorId[], name?: string, outputName?: string): TensorId {
    const n = this.nodeName(name, 'concat');
    const output = this.tensor(inputs.reduce((s, t) => s + this.channels(t), 0), outputName ?? n);
    this.nodes.push({ op: 'concat', name: n, inputs: [...inputs], output });
    return output;
  }

  split(input: TensorId, sizes: number[], name?: string, outputNames?: string[]): TensorId[] {
    const n = this.nodeName(name, 'split');
    const total = sizes.reduce((s, x) => s + x, 0);
    if (total !== this.channels(input) || sizes.some((s) => !Number.isInteger(s) || s <= 0)) {
      throw new ShuffleNetError('E_SHAPE', `split "${n}": sizes [${sizes}] do not split ${this.channels(input)} channels`);
    }
    const outputs = sizes.map((s, i) => this.tensor(s, outputNames?.[i] ?? `${n}_${i}`));
    this.nodes.push({ op: 'split', name: n, input, outputs, sizes: [...sizes] });
    return outputs;
  }

  shuffle(input: TensorId, groups: number, name?: string, outputName?: string): TensorId {
    const n = this.nodeName(name, 'shuffle');
    const c = this.channels(input);
    if (c % groups !== 0) throw new ShuffleNetError('E_SHAPE', `shuffle "${n}": ${c} channels, groups ${groups}`);
    const output = this.tensor(c, outputName ?? n);
    this.nodes.push({ op: 'shuffle', name: n, input, output, groups });
    return output;
  }

  finish(input: TensorId, output: TensorId): Graph {
    return { tensors: this.tensors, nodes: this.nodes, input, output, inputChannels: this.inputChannels };
  }
}

/** The permutation a shuffle applies: result[o] = index of the input channel at output o. */
export function shufflePermutation(channels: number, groups: number): number[] {
  const n = channels / groups;
  const perm = new Array<number>(channels);
  for (let i = 0; i < groups; i++) for (let j = 0; j < n; j++) perm[j * groups + i] = i * n + j;
  return perm;
}
