// Graph IR -> ONNX model bytes. The default form is what a plain PyTorch export of these
// networks looks like at opset 13 (Conv, separate Relu, Add then Relu for a residual,
// MaxPool/AveragePool, GlobalAveragePool + Flatten, Gemm transB=1, Concat, Split with a
// `split` input, channel shuffle as Reshape -> Transpose -> Reshape). The options produce
// the alternative forms other exporters write, so the importer can be tested on all of them:
//   splitAs 'Slice'                    one Slice per output (the last one ends at INT64 max)
//   headAs 'MatMul'                    MatMul + Add of a bias initializer
//   poolAs 'ReduceMean'                ReduceMean(axes 2,3, keepdims 0), as the ONNX zoo file
//   poolAs 'ReduceMeanKeepDims'        ReduceMean(keepdims 1) + Reshape to [N, C]
//   unfoldBatchNorm                    every Conv followed by an equivalent BatchNormalization
//   height/width absent                Reshape targets computed with Shape/Slice/Concat
//                                      (as a dynamic-axes export does); given: constants
import { ShuffleNetError } from '../../bindings/errors.js';
import type { Graph, TensorId } from '../ir.js';
import { DataType, AttributeType, encodeModelProto } from './schema.js';
import { rng } from '../random.js';

export interface WriteOnnxOptions {
  /** default-domain opset, 9 to 21 (default 13) */
  opset?: number;
  /** batch dim of the input: a number or 'N' (symbolic, default) */
  batch?: number | 'N';
  /** input height and width; symbolic ('H', 'W') when absent */
  height?: number;
  width?: number;
  shuffleAs?: 'transpose';
  splitAs?: 'Split' | 'Slice';
  headAs?: 'Gemm' | 'MatMul';
  poolAs?: 'GlobalAveragePool' | 'ReduceMean' | 'ReduceMeanKeepDims';
  /** write each conv as Conv + an equivalent BatchNormalization with random statistics */
  unfoldBatchNorm?: boolean;
  /** seed of the random BatchNormalization statistics (default 1) */
  seed?: number;
  producerName?: string;
}

const INT64_MAX = 9223372036854775807n;

interface PAttr { name: string; type: number; i?: number; f?: number; ints?: number[]; s?: Uint8Array }
interface PNode { name: string; op_type: string; input: string[]; output: string[]; attribute: PAttr[] }
interface PTensor { name: string; dims: number[]; data_type: number; raw_data: Uint8Array }

const aInt = (name: string, i: number): PAttr => ({ name, type: AttributeType.INT, i });
const aInts = (name: string, ints: number[]): PAttr => ({ name, type: AttributeType.INTS, ints });
const aFloat = (name: string, f: number): PAttr => ({ name, type: AttributeType.FLOAT, f });

function floatTensor(name: string, dims: number[], data: ArrayLike<number>): PTensor {
  const raw = new Uint8Array(data.length * 4);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i], true);
  return { name, dims, data_type: DataType.FLOAT, raw_data: raw };
}
function int64Tensor(name: string, dims: number[], data: (number | bigint)[]): PTensor {
  const raw = new Uint8Array(data.length * 8);
  const dv = new DataView(raw.buffer);
  data.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
  return { name, dims, data_type: DataType.INT64, raw_data: raw };
}

function convOutputSize(size: number, k: number, s: number, p: number): number {
  return Math.floor((size + 2 * p - k) / s) + 1;
}

function irVersionFor(opset: number): number {
  if (opset <= 9) return 4;
  if (opset === 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/** Writes the graph as an ONNX model (ModelProto bytes). */
export function writeOnnx(graph: Graph, options: WriteOnnxOptions = {}): Uint8Array {
  const opset = options.opset ?? 13;
  if (!Number.isInteger(opset) || opset < 9 || opset > 21) throw new ShuffleNetError('E_ARGUMENT', `opset ${opset}: 9 to 21 supported`);
  const batch = options.batch ?? 'N';
  const { height, width } = options;
  if ((height === undefined) !== (width === undefined)) throw new ShuffleNetError('E_ARGUMENT', 'give both height and width, or neither');
  const staticHW = height !== undefined && width !== undefined;
  const splitAs = options.splitAs ?? 'Split';
  const headAs = options.headAs ?? 'Gemm';
  const poolAs = options.poolAs ?? 'GlobalAveragePool';
  const rand = rng(options.seed ?? 1);

  const nodes: PNode[] = [];
  const inits: PTensor[] = [];
  const usedNames = new Set<string>(['input', 'output']);
  const uniq = (base: string): string => {
    let n = base.replace(/[^A-Za-z0-9_.:/-]/g, '_') || 'v';
    if (usedNames.has(n)) { let k = 1; while (usedNames.has(`${n}_${k}`)) k++; n = `${n}_${k}`; }
    usedNames.add(n);
    return n;
  };
  const names = new Map<TensorId, string>();
  names.set(graph.input, 'input');
  names.set(graph.output, 'output');
  const nameOf = (t: TensorId): string => {
    let n = names.get(t);
    if (n === undefined) { n = uniq(graph.tensors[t]?.name ?? `t${t}`); names.set(t, n); }
    return n;
  };
  const nodeNames = new Set<string>();
  const nodeName = (base: string): string => {
    let n = base || 'node';
    while (nodeNames.has(n)) n += '_';
    nodeNames.add(n);
    return n;
  };
  const add = (op: string, name: string, input: string[], output: string[], attribute: PAttr[] = []): void => {
    nodes.push({ name: nodeName(name), op_type: op, input, output, attribute });
  };
  const init = (t: PTensor): string => { inits.push(t); return t.name; };
  const i64 = (base: string, data: (number | bigint)[], scalar = false): string => init(int64Tensor(uniq(base), scalar ? [] : [data.length], data));

  // spatial sizes (numbers when the input size is given) and rank of every tensor
  const hw = new Map<TensorId, [number, number] | null>();
  const rank = new Map<TensorId, 2 | 4>();
  hw.set(graph.input, staticHW ? [height!, width!] : null);
  rank.set(graph.input, 4);
  const need4 = (t: TensorId, what: string): void => {
    if (rank.get(t) !== 4) throw new ShuffleNetError('E_SHAPE', `${what}: input tensor ${t} is [N, C], not [N, C, H, W]`);
  };
  const down = (t: TensorId, k: number, s: number, p: number): [number, number] | null => {
    const v = hw.get(t);
    return v ? [convOutputSize(v[0], k, s, p), convOutputSize(v[1], k, s, p)] : null;
  };

  // shape input of the tensor, made once per tensor when Reshape targets are computed
  const shapeOf = new Map<TensorId, string>();
  const shapeValue = (t: TensorId, name: string): string => {
    let s = shapeOf.get(t);
    if (!s) {
      s = uniq(`${nameOf(t)}_shape`);
      add('Shape', `${name}/shape`, [nameOf(t)], [s]);
      shapeOf.set(t, s);
    }
    return s;
  };
  const slice1d = (src: string, start: number, end: number, name: string): string => {
    const out = uniq(`${src}_${start}_${end}`);
    if (opset >= 10) add('Slice', name, [src, i64(`${out}_starts`, [start]), i64(`${out}_ends`, [end]), i64(`${out}_axes`, [0])], [out]);
    else add('Slice', name, [src], [out], [aInts('starts', [start]), aInts('ends', [end]), aInts('axes', [0])]);
    return out;
  };

  for (const n of graph.nodes) {
    switch (n.op) {
      case 'conv': {
        need4(n.input, `conv "${n.name}"`);
        const cout = n.bias.length;
        const x = nameOf(n.input);
        const per = n.weight.length / cout;
        const wDims = [cout, per / (n.kernel * n.kernel), n.kernel, n.kernel];
        const attrs = [
          aInts('dilations', [1, 1]), aInt('group', n.groups), aInts('kernel_shape', [n.kernel, n.kernel]),
          aInts('pads', [n.pad, n.pad, n.pad, n.pad]), aInts('strides', [n.stride, n.stride]),
        ];
        const post = n.residual !== undefined || n.relu;
        const convOut = post ? uniq(`${n.name}_conv`) : nameOf(n.output);
        if (options.unfoldBatchNorm) {
          // conv(x; W/k) then BN with k = s / sqrt(v + eps), B = b + k*m: same function
          const eps = 1e-5;
          const s = new Float32Array(cout), m = new Float32Array(cout), v = new Float32Array(cout), bb = new Float32Array(cout);
          const w = new Float32Array(n.weight.length);
          for (let o = 0; o < cout; o++) {
            s[o] = 0.5 + 1.5 * rand();
            m[o] = rand() - 0.5;
            v[o] = 0.25 + rand();
            const k = s[o] / Math.sqrt(v[o] + eps);
            for (let i = o * per; i < (o + 1) * per; i++) w[i] = n.weight[i] / k;
            bb[o] = n.bias[o] + k * m[o];
          }
          const raw = uniq(`${n.name}_prebn`);
          add('Conv', n.name, [x, init(floatTensor(uniq(`${n.name}.weight`), wDims, w))], [raw], attrs);
          add('BatchNormalization', `${n.name}/bn`, [raw,
            init(floatTensor(uniq(`${n.name}.bn.weight`), [cout], s)), init(floatTensor(uniq(`${n.name}.bn.bias`), [cout], bb)),
            init(floatTensor(uniq(`${n.name}.bn.running_mean`), [cout], m)), init(floatTensor(uniq(`${n.name}.bn.running_var`), [cout], v)),
          ], [convOut], [aFloat('epsilon', eps), aFloat('momentum', 0.9)]);
        } else {
          add('Conv', n.name, [x, init(floatTensor(uniq(`${n.name}.weight`), wDims, n.weight)), init(floatTensor(uniq(`${n.name}.bias`), [cout], n.bias))], [convOut], attrs);
        }
        if (n.residual !== undefined) {
          const sum = n.relu ? uniq(`${n.name}_sum`) : nameOf(n.output);
          add('Add', `${n.name}/residual`, [convOut, nameOf(n.residual)], [sum]);
          if (n.relu) add('Relu', `${n.name}/relu`, [sum], [nameOf(n.output)]);
        } else if (n.relu) {
          add('Relu', `${n.name}/relu`, [convOut], [nameOf(n.output)]);
        }
        hw.set(n.output, down(n.input, n.kernel, n.stride, n.pad));
        rank.set(n.output, 4);
        break;
      }
      case 'fc': {
        if (rank.get(n.input) !== 2) throw new ShuffleNetError('E_SHAPE', `fc "${n.name}": its input must come from a global pool`);
        const m = n.bias.length, k = n.weight.length / m;
        const out = n.relu ? uniq(`${n.name}_fc`) : nameOf(n.output);
        if (headAs === 'MatMul') {
          const wt = new Float32Array(k * m);
          for (let o = 0; o < m; o++) for (let i = 0; i < k; i++) wt[i * m + o] = n.weight[o * k + i];
          const mm = uniq(`${n.name}_matmul`);
          add('MatMul', n.name, [nameOf(n.input), init(floatTensor(uniq(`${n.name}.weight_t`), [k, m], wt))], [mm]);
          add('Add', `${n.name}/bias`, [mm, init(floatTensor(uniq(`${n.name}.bias`), [m], n.bias))], [out]);
        } else {
          add('Gemm', n.name, [nameOf(n.input), init(floatTensor(uniq(`${n.name}.weight`), [m, k], n.weight)), init(floatTensor(uniq(`${n.name}.bias`), [m], n.bias))],
            [out], [aFloat('alpha', 1), aFloat('beta', 1), aInt('transB', 1)]);
        }
        if (n.relu) add('Relu', `${n.name}/relu`, [out], [nameOf(n.output)]);
        rank.set(n.output, 2);
        hw.set(n.output, [1, 1]);
        break;
      }
      case 'maxpool':
      case 'avgpool': {
        need4(n.input, `${n.op} "${n.name}"`);
        const out = n.relu ? uniq(`${n.name}_pool`) : nameOf(n.output);
        const attrs = [aInts('kernel_shape', [3, 3]), aInts('pads', [1, 1, 1, 1]), aInts('strides', [2, 2])];
        if (n.op === 'avgpool') attrs.push(aInt('count_include_pad', 1));
        add(n.op === 'maxpool' ? 'MaxPool' : 'AveragePool', n.name, [nameOf(n.input)], [out], attrs);
        if (n.relu) add('Relu', `${n.name}/relu`, [out], [nameOf(n.output)]);
        hw.set(n.output, down(n.input, 3, 2, 1));
        rank.set(n.output, 4);
        break;
      }
      case 'gap': {
        need4(n.input, `gap "${n.name}"`);
        const x = nameOf(n.input), y = nameOf(n.output);
        if (poolAs === 'GlobalAveragePool') {
          const p = uniq(`${n.name}_pooled`);
          add('GlobalAveragePool', n.name, [x], [p]);
          add('Flatten', `${n.name}/flatten`, [p], [y], [aInt('axis', 1)]);
        } else {
          const keep = poolAs === 'ReduceMeanKeepDims' ? 1 : 0;
          const r = keep ? uniq(`${n.name}_pooled`) : y;
          if (opset >= 18) add('ReduceMean', n.name, [x, i64(`${n.name}_axes`, [2, 3])], [r], [aInt('keepdims', keep)]);
          else add('ReduceMean', n.name, [x], [r], [aInts('axes', [2, 3]), aInt('keepdims', keep)]);
          if (keep) add('Reshape', `${n.name}/reshape`, [r, i64(`${n.name}_shape2d`, [typeof batch === 'number' ? batch : -1, graph.tensors[n.input].channels])], [y]);
        }
        rank.set(n.output, 2);
        hw.set(n.output, [1, 1]);
        break;
      }
      case 'relu':
        add('Relu', n.name, [nameOf(n.input)], [nameOf(n.output)]);
        hw.set(n.output, hw.get(n.input) ?? null);
        rank.set(n.output, rank.get(n.input) ?? 4);
        break;
      case 'add': {
        const out = n.relu ? uniq(`${n.name}_sum`) : nameOf(n.output);
        add('Add', n.name, [nameOf(n.inputs[0]), nameOf(n.inputs[1])], [out]);
        if (n.relu) add('Relu', `${n.name}/relu`, [out], [nameOf(n.output)]);
        hw.set(n.output, hw.get(n.inputs[0]) ?? null);
        rank.set(n.output, rank.get(n.inputs[0]) ?? 4);
        break;
      }
      case 'concat':
        add('Concat', n.name, n.inputs.map(nameOf), [nameOf(n.output)], [aInt('axis', 1)]);
        hw.set(n.output, hw.get(n.inputs[0]) ?? null);
        rank.set(n.output, rank.get(n.inputs[0]) ?? 4);
        break;
      case 'split': {
        const outs = n.outputs.map(nameOf);
        if (splitAs === 'Slice') {
          let c0 = 0;
          n.sizes.forEach((c, i) => {
            const last = i === n.sizes.length - 1;
            const end: number | bigint = last ? INT64_MAX : c0 + c;
            if (opset >= 10) {
              add('Slice', `${n.name}/${i}`, [nameOf(n.input), i64(`${n.name}_${i}_starts`, [c0]), i64(`${n.name}_${i}_ends`, [end]), i64(`${n.name}_${i}_axes`, [1])], [outs[i]]);
            } else {
              add('Slice', `${n.name}/${i}`, [nameOf(n.input)], [outs[i]], [aInts('starts', [c0]), aInts('ends', [last ? 2147483647 : c0 + c]), aInts('axes', [1])]);
            }
            c0 += c;
          });
        } else if (opset >= 13) {
          add('Split', n.name, [nameOf(n.input), i64(`${n.name}_sizes`, n.sizes)], outs, [aInt('axis', 1)]);
        } else {
          add('Split', n.name, [nameOf(n.input)], outs, [aInt('axis', 1), aInts('split', n.sizes)]);
        }
        for (const t of n.outputs) { hw.set(t, hw.get(n.input) ?? null); rank.set(t, rank.get(n.input) ?? 4); }
        break;
      }
      case 'shuffle': {
        need4(n.input, `shuffle "${n.name}"`);
        const c = graph.tensors[n.input].channels, g = n.groups;
        const size = hw.get(n.input);
        let shape5: string, shape4: string;
        if (size) {
          shape5 = i64(`${n.name}_shape5`, [typeof batch === 'number' ? batch : -1, g, c / g, size[0], size[1]]);
          shape4 = i64(`${n.name}_shape4`, [typeof batch === 'number' ? batch : 0, -1, size[0], size[1]]);
        } else {
          const s = shapeValue(n.input, n.name);
          const nb = typeof batch === 'number' ? i64(`${n.name}_batch`, [batch]) : slice1d(s, 0, 1, `${n.name}/batch`);
          const hwv = slice1d(s, 2, 4, `${n.name}/hw`);
          shape5 = uniq(`${n.name}_shape5`);
          add('Concat', `${n.name}/shape5`, [nb, i64(`${n.name}_groups`, [g, c / g]), hwv], [shape5], [aInt('axis', 0)]);
          shape4 = s;
        }
        const r5 = uniq(`${n.name}_5d`), t5 = uniq(`${n.name}_5d_t`);
        add('Reshape', `${n.name}/reshape`, [nameOf(n.input), shape5], [r5]);
        add('Transpose', `${n.name}/transpose`, [r5], [t5], [aInts('perm', [0, 2, 1, 3, 4])]);
        add('Reshape', n.name, [t5, shape4], [nameOf(n.output)]);
        hw.set(n.output, size ?? null);
        rank.set(n.output, 4);
        break;
      }
    }
  }
  if (graph.output === graph.input) add('Identity', 'identity', ['input'], ['output']);

  const dim = (d: number | string) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d });
  const b = typeof batch === 'number' ? batch : 'N';
  const inShape = [b, graph.inputChannels, height ?? 'H', width ?? 'W'];
  const outC = graph.tensors[graph.output].channels;
  const outHW = hw.get(graph.output);
  const outShape: (number | string)[] = rank.get(graph.output) === 2 ? [b, outC] : [b, outC, outHW?.[0] ?? 'H_out', outHW?.[1] ?? 'W_out'];

  const model = {
    ir_version: irVersionFor(opset),
    producer_name: options.producerName ?? 'shufflenet-wasm',
    producer_version: '0.1.0',
    opset_import: [{ domain: '', version: opset }],
    graph: {
      name: 'shufflenet',
      node: nodes,
      initializer: inits,
      input: [{ name: 'input', type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: inShape.map(dim) } } } }],
      output: [{ name: 'output', type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: outShape.map(dim) } } } }],
    },
  };
  return encodeModelProto(model);
}
