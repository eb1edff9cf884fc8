// ONNX -> graph IR.
//
// The importer walks the ONNX nodes in topological order and keeps, for every ONNX value, what
// it is: an activation (an IR tensor with its ONNX rank and symbolic dims), a constant
// (initializer, Constant node, or a dequantized/folded weight), a small integer vector
// computed from shapes (Shape/Gather/Concat... as dynamic-shape exporters write them), or an
// intermediate of a recognised pattern (the 5-D tensor inside a channel shuffle, a quantized
// activation). Recognised forms:
//   Conv (1x1 any group; 3x3 pad 1 stride 1/2, dense or depthwise), BatchNormalization folded
//   into the Conv before it, Relu (and Clip(min=0, no max)), MaxPool / AveragePool 3x3 s2 p1
//   (AveragePool must count padding), GlobalAveragePool, ReduceMean over H,W, AveragePool whose
//   kernel covers the whole (known) map, Flatten / Reshape / Squeeze to [N, C] after the pool,
//   Gemm or MatMul (+ Add of a bias) as fc, Add of two activations, Concat / Split / Slice on
//   channels, Reshape -> Transpose(0,2,1,3,4) -> Reshape as channel shuffle, Identity, Dropout,
//   Cast, Constant, and the shape arithmetic (Shape, Gather, Unsqueeze, Squeeze, Concat, Slice,
//   Mul, Div, Add, Sub) that feeds Reshape.
//
// int8 QDQ models: weights are dequantized at load and activations stay fp32 ("dequantize at
// load, fp32 activations"). DequantizeLinear (and QuantizeLinear) of constants is evaluated
// here; a QuantizeLinear -> DequantizeLinear pair on an activation is removed. Rounding and the
// upper saturation of the activation quantization are not simulated, but its lower bound is:
// quantizers such as onnxruntime's fold a ReLU into the activation range (uint8 with zero point
// 0, or int8 with zero point -128, so nothing below 0 is representable) and drop the Relu node.
// When such a pair follows a value that may be negative, an explicit relu is inserted; when the
// value is already non-negative (a Relu, or a pool/concat/split/shuffle of non-negative
// values) nothing is added.
//
// Opsets 9 to 21 of the default domain are accepted (attribute and input forms of Split,
// Slice, ReduceMean, Squeeze/Unsqueeze are both read); other domains' nodes are unsupported.
//
// After the walk, Relu nodes whose input is produced by a conv/fc/add/pool and used only by
// that Relu are folded into the producer's `relu` flag, unused nodes are dropped and tensor
// ids are renumbered.
import { ShuffleNetError } from '../../bindings/errors.js';
import { GraphBuilder, nodeInputs, nodeOutputs } from '../ir.js';
import type { Graph, Node, TensorId, TensorInfo, ConvNode, FcNode } from '../ir.js';
import { parseOnnx, tensorDims, tensorValues, dataTypeName, checkInline, tensorElementCount } from './read.js';
import { MAX_WEIGHT_ELEMENTS, MAX_IMPORT_ELEMENTS, MAX_CHANNELS, MAX_TOTAL_CHANNELS, MAX_SHAPE_LENGTH } from './read.js';
import { DataType } from './schema.js';
import type { AttributeProto, NodeProto, TensorProto, ValueInfoProto } from './schema.js';

export const MIN_OPSET = 9;
export const MAX_OPSET = 21;

export const SUPPORTED_OPS = [
  'Conv', 'BatchNormalization', 'Relu', 'Clip', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'ReduceMean',
  'Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Transpose', 'Gemm', 'MatMul', 'Add', 'Concat', 'Split', 'Slice',
  'Identity', 'Dropout', 'Cast', 'Constant', 'Shape', 'Gather', 'Mul', 'Div', 'Sub',
  'QuantizeLinear', 'DequantizeLinear',
] as const;

export interface ImportOptions {
  /** Fold Relu nodes into the conv/fc/add/pool before them (default true). */
  fuseRelu?: boolean;
}

export interface ImportInfo {
  /** opset of the default ONNX domain */
  opset: number;
  /** producer_name and producer_version, space-separated ('' when absent) */
  producer: string;
  inputName: string;
  outputName: string;
  /** declared input shape: numbers, symbolic names, or null where the file says nothing */
  inputShape: (number | string | null)[];
}

export interface ImportResult { graph: Graph; info: ImportInfo }

// ---- symbolic dims: c * product(symbols) ----

interface Dim { c: number; s: string[] }
const num = (c: number): Dim => ({ c, s: [] });
const sym = (name: string): Dim => ({ c: 1, s: [name] });
const isNum = (d: Dim): boolean => d.s.length === 0;
function dimEq(a: Dim, b: Dim): boolean {
  return a.c === b.c && a.s.length === b.s.length && a.s.every((x, i) => x === b.s[i]);
}
function dimMul(a: Dim, b: Dim): Dim {
  if (a.s.length + b.s.length > 16) throw new ShuffleNetError('E_LIMIT', 'a symbolic size is a product of more than 16 factors');
  return { c: a.c * b.c, s: [...a.s, ...b.s].sort() };
}
/** exact quotient, or null when it is not a monomial */
function dimDiv(a: Dim, b: Dim): Dim | null {
  if (b.c === 0) return null;
  const s = [...a.s];
  for (const x of b.s) {
    const i = s.indexOf(x);
    if (i < 0) return null;
    s.splice(i, 1);
  }
  if (s.length === 0 && a.s.length === b.s.length) return { c: Math.trunc(a.c / b.c), s };
  if (a.c % b.c !== 0) return null;
  return { c: a.c / b.c, s };
}
function dimStr(d: Dim): string {
  if (isNum(d)) return String(d.c);
  return (d.c === 1 ? '' : `${d.c}*`) + d.s.join('*');
}
const dimsStr = (ds: Dim[]): string => `[${ds.map(dimStr).join(', ')}]`;

// ---- values ----

interface ActValue {
  kind: 'act';
  t: TensorId;
  /** version of the IR tensor this value saw (folds of BN / bias into a producer bump it) */
  ver: number;
  /** ONNX dims: [N, C] or [N, C, H, W] */
  dims: Dim[];
}
interface ConstValue { kind: 'const'; name: string; dims: number[]; dtype: number; data: Float32Array | Float64Array }
interface ShapeValue { kind: 'shape'; v: Dim[]; scalar: boolean }
interface QuantValue { kind: 'quant'; of: ActValue | ShuffleValue; lowerIsZero: boolean; name: string }
/** The 5-D tensor inside a channel shuffle: x viewed as [N, g, C/g, H, W] (transposed: [N, C/g, g, H, W]). */
interface ShuffleValue { kind: 'shuffle5d'; src: ActValue; groups: number; transposed: boolean; dims: Dim[] }
/** A value that exists in the file but that this importer cannot give meaning to; an error if used. */
interface PoisonValue { kind: 'poison'; reason: string }
type Value = ActValue | ConstValue | ShapeValue | QuantValue | ShuffleValue | PoisonValue;

const INT_TYPES = new Set<number>([DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32, DataType.INT64, DataType.BOOL]);

function unsupported(node: NodeProto, what: string): ShuffleNetError {
  return new ShuffleNetError('E_UNSUPPORTED_OP', `node "${nodeLabel(node)}" (${node.op_type}): ${what}`);
}
function nodeLabel(node: NodeProto): string {
  return node.name || node.output.find((o) => o) || '(unnamed)';
}

const utf8 = new TextDecoder();

class Attrs {
  private map = new Map<string, AttributeProto>();
  constructor(node: NodeProto) {
    for (const a of node.attribute) if (a.name) this.map.set(a.name, a);
  }
  has(name: string): boolean { return this.map.has(name); }
  int(name: string, def: number): number {
    const a = this.map.get(name);
    return a ? (a.i ?? 0) : def;
  }
  float(name: string, def: number): number {
    const a = this.map.get(name);
    return a ? (a.f ?? 0) : def;
  }
  ints(name: string): number[] | undefined {
    const a = this.map.get(name);
    return a ? a.ints : undefined;
  }
  floats(name: string): number[] | undefined {
    const a = this.map.get(name);
    return a ? a.floats : undefined;
  }
  string(name: string, def: string): string {
    const a = this.map.get(name);
    return a?.s ? utf8.decode(a.s) : a ? '' : def;
  }
  tensor(name: string): TensorProto | undefined {
    return this.map.get(name)?.t;
  }
}

const sameArr = (a: readonly number[] | undefined, b: readonly number[]): boolean =>
  a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/** Decodes and imports an ONNX ShuffleNet into the graph IR. */
export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): ImportResult {
  const model = parseOnnx(bytes);
  const g = model.graph!;

  // ---- opset ----
  const def = model.opset_import.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!def) throw new ShuffleNetError('E_ONNX_PARSE', 'the model imports no opset of the default ONNX domain');
  const opset = def.version ?? 0;
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new ShuffleNetError('E_UNSUPPORTED_OP', `opset ${opset} of the default ONNX domain is not supported (supported: ${MIN_OPSET} to ${MAX_OPSET})`);
  }

  // ---- names, producers, consumers ----
  const initializers = new Map<string, TensorProto>();
  for (const t of g.initializer) {
    if (!t.name) throw new ShuffleNetError('E_ONNX_PARSE', 'an initializer has no name');
    initializers.set(t.name, t);
  }
  // Declared sizes of all constants, before any tensor data is decoded.
  let declared = 0, largest = '', largestCount = 0;
  const declare = (t: TensorProto, name: string): void => {
    checkInline(t, name);
    const n = tensorElementCount(t, name);
    declared += n;
    if (n > largestCount) { largestCount = n; largest = name; }
  };
  for (const t of g.initializer) declare(t, t.name!);
  for (const n of g.node) if (n.op_type === 'Constant') for (const a of n.attribute) if (a.t) declare(a.t, n.output[0] || nodeLabel(n));
  if (declared > MAX_WEIGHT_ELEMENTS) {
    throw new ShuffleNetError('E_LIMIT', `initializers and constants hold ${declared} values (the largest, tensor "${largest}", ${largestCount}); the limit is ${MAX_WEIGHT_ELEMENTS} (2^24)`);
  }
  let materialized = 0;
  /** Counts constant values about to be allocated; E_LIMIT past MAX_IMPORT_ELEMENTS. */
  const charge = (n: number, node: NodeProto | string): void => {
    materialized += n;
    if (materialized > MAX_IMPORT_ELEMENTS) {
      const where = typeof node === 'string' ? `tensor "${node}"` : `node "${nodeLabel(node)}" (${node.op_type})`;
      throw new ShuffleNetError('E_LIMIT', `${where}: the import would materialize more than ${MAX_IMPORT_ELEMENTS} (2^26) constant values`);
    }
  };

  const realInputs = g.input.filter((i) => i.name && !initializers.has(i.name));
  if (realInputs.length !== 1) {
    throw new ShuffleNetError('E_UNSUPPORTED_OP',
      `the model has ${realInputs.length} inputs (${realInputs.map((i) => `"${i.name}"`).join(', ')}); one image input is supported`);
  }
  if (g.output.length !== 1 || !g.output[0].name) {
    throw new ShuffleNetError('E_UNSUPPORTED_OP', `the model has ${g.output.length} outputs; one output is supported`);
  }
  const inputVi = realInputs[0];
  const inputName = inputVi.name!;
  const outputName = g.output[0].name;

  const producer = new Map<string, number>();
  g.node.forEach((n, i) => {
    for (const o of n.output) {
      if (!o) continue;
      if (producer.has(o) || initializers.has(o) || o === inputName) {
        throw new ShuffleNetError('E_ONNX_PARSE', `tensor "${o}" is produced twice (node "${nodeLabel(n)}")`);
      }
      producer.set(o, i);
    }
  });
  for (const n of g.node) {
    for (const i of n.input) {
      if (i && !producer.has(i) && !initializers.has(i) && i !== inputName) {
        throw new ShuffleNetError('E_ONNX_PARSE',
          `node "${nodeLabel(n)}" (${n.op_type}) reads tensor "${i}", which no node, initializer or graph input provides (missing initializer?)`);
      }
    }
  }
  if (!producer.has(outputName) && !initializers.has(outputName) && outputName !== inputName) {
    throw new ShuffleNetError('E_ONNX_PARSE', `graph output "${outputName}" is not produced by any node`);
  }

  // ---- topological order (Kahn), cycles are errors ----
  const order = topoSort(g.node, producer);
  const rank = new Int32Array(g.node.length);
  order.forEach((nodeIndex, r) => { rank[nodeIndex] = r; });
  const slicesOf = new Map<string, number[]>(); // Slice nodes by their data input, in file order
  g.node.forEach((n, j) => {
    if (n.op_type !== 'Slice' || !n.input[0] || (n.domain && n.domain !== 'ai.onnx')) return;
    const list = slicesOf.get(n.input[0]);
    if (list) list.push(j); else slicesOf.set(n.input[0], [j]);
  });

  // ---- input ----
  const inputShape = describeInput(inputVi);
  const b = new GraphBuilder(3);
  const inputT = b.input(inputName);
  const inDims: Dim[] = [
    dimOf(inputShape[0], `${inputName}:N`), num(3), dimOf(inputShape[2], `${inputName}:H`), dimOf(inputShape[3], `${inputName}:W`),
  ];

  const values = new Map<string, Value>();
  const version = new Map<TensorId, number>();
  const used = new Set<TensorId>();
  const nonneg = new Set<TensorId>();
  const producerNode = new Map<TensorId, Node>();
  const clamped = new Map<TensorId, TensorId>();
  const presetOutputs = new Map<number, Map<string, Value>>(); // Slice groups
  const constCache = new Map<string, ConstValue>();

  const mkAct = (t: TensorId, dims: Dim[]): ActValue => {
    if (b.channels(t) > MAX_CHANNELS) {
      throw new ShuffleNetError('E_LIMIT', `tensor "${b.tensors[t].name}" has ${b.channels(t)} channels; the limit is ${MAX_CHANNELS}`);
    }
    return { kind: 'act', t, ver: version.get(t) ?? 0, dims };
  };
  values.set(inputName, mkAct(inputT, inDims));

  const lastNode = (t: TensorId): void => { producerNode.set(t, b.nodes[b.nodes.length - 1]); };

  function get(name: string, node: NodeProto): Value {
    const v = values.get(name);
    if (v) {
      if (v.kind === 'poison') throw unsupported(node, `input "${name}": ${v.reason}`);
      return v;
    }
    const t = initializers.get(name);
    if (t) {
      let c = constCache.get(name);
      if (!c) {
        charge(tensorElementCount(t, name), name);
        c = { kind: 'const', name, dims: tensorDims(t, name), dtype: t.data_type ?? 0, data: tensorValues(t, name) };
        constCache.set(name, c);
      }
      return c;
    }
    throw new ShuffleNetError('E_ONNX_PARSE', `node "${nodeLabel(node)}" (${node.op_type}) reads tensor "${name}" before it is produced`);
  }
  const has = (node: NodeProto, i: number): boolean => !!node.input[i];

  function actIn(node: NodeProto, i: number, peek = false): ActValue {
    const name = node.input[i];
    if (!name) throw unsupported(node, `input ${i} is missing`);
    const v = get(name, node);
    if (v.kind === 'quant') throw unsupported(node, `reads the quantized tensor "${name}" directly (only DequantizeLinear may)`);
    if (v.kind === 'shuffle5d') throw unsupported(node, `reads "${name}", the 5-D view inside a channel shuffle; only Transpose(perm 0,2,1,3,4) then Reshape back to 4-D is supported`);
    if (v.kind !== 'act') throw unsupported(node, `input "${name}" must be an activation computed from the image, not a constant`);
    if ((version.get(v.t) ?? 0) !== v.ver) {
      throw unsupported(node, `reads "${name}", a value that was folded into a following BatchNormalization/Add; it can have no other consumer`);
    }
    if (!peek) used.add(v.t);
    return v;
  }
  function act4(node: NodeProto, i: number, peek = false): ActValue {
    const v = actIn(node, i, peek);
    if (v.dims.length !== 4) throw unsupported(node, `input "${node.input[i]}" has shape ${dimsStr(v.dims)}; a 4-D [N, C, H, W] activation is expected`);
    return v;
  }
  function constIn(node: NodeProto, i: number, what: string): ConstValue {
    const name = node.input[i];
    if (!name) throw unsupported(node, `${what} (input ${i}) is missing`);
    const v = get(name, node);
    if (v.kind !== 'const') throw unsupported(node, `${what} "${name}" must be a constant (initializer or Constant)`);
    return v;
  }
  function floatConst(node: NodeProto, i: number, what: string): ConstValue {
    const c = constIn(node, i, what);
    if (c.dtype !== DataType.FLOAT && c.dtype !== DataType.DOUBLE) {
      throw unsupported(node, `${what} "${c.name}" has type ${dataTypeName(c.dtype)}; FLOAT (or a DequantizeLinear of int8/uint8/int32) is expected`);
    }
    return c;
  }
  /** A constant or shape value as a vector of dims. */
  function shapeIn(node: NodeProto, i: number, what: string): ShapeValue {
    const name = node.input[i];
    if (!name) throw unsupported(node, `${what} (input ${i}) is missing`);
    const v = get(name, node);
    if (v.kind === 'shape') return v;
    if (v.kind === 'const' && v.dims.length <= 1) {
      if (v.data.length > MAX_SHAPE_LENGTH) throw unsupported(node, `${what} "${name}" has ${v.data.length} values; a shape has at most ${MAX_SHAPE_LENGTH}`);
      if (!v.data.every((x) => Number.isInteger(x))) throw unsupported(node, `${what} "${name}" holds values that are not integers`);
      return { kind: 'shape', v: Array.from(v.data, (x) => num(x)), scalar: v.dims.length === 0 };
    }
    throw unsupported(node, `${what} "${name}" must be a constant or computed from Shape`);
  }
  function intsIn(node: NodeProto, i: number, what: string): number[] {
    const s = shapeIn(node, i, what);
    return s.v.map((d) => {
      if (!isNum(d)) throw unsupported(node, `${what} depends on the symbolic size ${dimStr(d)}`);
      return d.c;
    });
  }
  const set = (node: NodeProto, i: number, v: Value): void => {
    const name = node.output[i];
    if (name) values.set(name, v);
  };
  const poisonRest = (node: NodeProto, from: number, reason: string): void => {
    for (let i = from; i < node.output.length; i++) if (node.output[i]) values.set(node.output[i], { kind: 'poison', reason });
  };

  function spatial(d: Dim, k: number, s: number, p: number, name: string): Dim {
    if (isNum(d)) {
      const o = Math.floor((d.c + 2 * p - k) / s) + 1;
      if (o <= 0) throw new ShuffleNetError('E_SHAPE', `"${name}": spatial size ${d.c} is too small for kernel ${k} stride ${s}`);
      return num(o);
    }
    if (s === 1 && k === 2 * p + 1) return d;
    return sym(name);
  }
  function axis(node: NodeProto, a: number, rank: number): number {
    const r = a < 0 ? a + rank : a;
    if (r < 0 || r >= rank) throw unsupported(node, `axis ${a} is out of range for rank ${rank}`);
    return r;
  }

  // -- Relu insertion for activations whose quantization range starts at 0 --
  function clampAt0(v: ActValue, name: string): ActValue {
    if (nonneg.has(v.t)) return v;
    let t = clamped.get(v.t);
    if (t === undefined) {
      used.add(v.t);
      t = b.relu(v.t, `${name}_relu`, `${name}_relu`);
      lastNode(t);
      nonneg.add(t);
      clamped.set(v.t, t);
    }
    return mkAct(t, v.dims);
  }

  for (const idx of order) {
    const node = g.node[idx];
    const op = node.op_type ?? '';
    const preset = presetOutputs.get(idx);
    if (preset) {
      for (const [name, v] of preset) values.set(name, v);
      continue;
    }
    if (node.domain && node.domain !== 'ai.onnx') {
      throw unsupported(node, `domain "${node.domain}" is not supported; supported ops (default domain): ${SUPPORTED_OPS.join(', ')}`);
    }
    const at = new Attrs(node);
    const outName = node.output[0] ?? nodeLabel(node);
    switch (op) {
      case 'Constant': {
        let c: ConstValue;
        const t = at.tensor('value');
        if (t) {
          charge(tensorElementCount(t, outName), node);
          c = { kind: 'const', name: outName, dims: tensorDims(t, outName), dtype: t.data_type ?? 0, data: tensorValues(t, outName) };
        }
        else if (at.has('value_int')) c = { kind: 'const', name: outName, dims: [], dtype: DataType.INT64, data: Float64Array.of(at.int('value_int', 0)) };
        else if (at.has('value_ints')) { const v = at.ints('value_ints')!; c = { kind: 'const', name: outName, dims: [v.length], dtype: DataType.INT64, data: Float64Array.from(v) }; }
        else if (at.has('value_float')) c = { kind: 'const', name: outName, dims: [], dtype: DataType.FLOAT, data: Float32Array.of(at.float('value_float', 0)) };
        else if (at.has('value_floats')) { const v = at.floats('value_floats')!; c = { kind: 'const', name: outName, dims: [v.length], dtype: DataType.FLOAT, data: Float32Array.from(v) }; }
        else throw unsupported(node, 'only value, value_int(s) and value_float(s) constants are supported');
        set(node, 0, c);
        break;
      }
      case 'Identity': {
        set(node, 0, get(node.input[0], node));
        break;
      }
      case 'Dropout': {
        set(node, 0, get(node.input[0], node));
        poisonRest(node, 1, 'the Dropout mask output is not supported');
        break;
      }
      case 'Cast': {
        const v = get(node.input[0], node);
        const to = at.int('to', 0);
        if (v.kind === 'act' && to !== DataType.FLOAT) throw unsupported(node, `cast of an activation to ${dataTypeName(to)}; activations are float`);
        if (v.kind === 'const') {
          charge(v.data.length, node);
          const data = to === DataType.FLOAT ? Float32Array.from(v.data) : INT_TYPES.has(to) ? Float64Array.from(v.data, Math.trunc) : Float64Array.from(v.data);
          set(node, 0, { ...v, name: outName, dtype: to, data });
        } else set(node, 0, v);
        break;
      }
      case 'QuantizeLinear': {
        if (at.int('block_size', 0) !== 0) throw unsupported(node, 'blocked quantization is not supported');
        const x = get(node.input[0], node);
        const scale = floatConst(node, 1, 'scale');
        const zp = has(node, 2) ? constIn(node, 2, 'zero point') : undefined;
        const zpType = zp?.dtype ?? DataType.UINT8;
        if (zpType !== DataType.UINT8 && zpType !== DataType.INT8 && zpType !== DataType.INT32 && zpType !== DataType.INT16 && zpType !== DataType.UINT16) {
          throw unsupported(node, `quantization to ${dataTypeName(zpType)} is not supported (int8/uint8/int16/uint16/int32)`);
        }
        if (x.kind === 'const') {
          charge(x.data.length, node);
          set(node, 0, quantizeConst(node, x, scale, zp, zpType, at.int('axis', 1), outName));
        } else if (x.kind === 'act' || x.kind === 'shuffle5d') {
          const xa = x.kind === 'act' ? actIn(node, 0, true) : x;
          const qmin = zpType === DataType.UINT8 || zpType === DataType.UINT16 ? 0 : zpType === DataType.INT8 ? -128 : zpType === DataType.INT16 ? -32768 : -2147483648;
          const zps = zp ? Array.from(zp.data) : [0];
          set(node, 0, { kind: 'quant', of: xa, lowerIsZero: zps.every((z) => z === qmin), name: outName });
        } else {
          throw unsupported(node, `QuantizeLinear of "${node.input[0]}" (${x.kind}) is not supported`);
        }
        break;
      }
      case 'DequantizeLinear': {
        if (at.int('block_size', 0) !== 0) throw unsupported(node, 'blocked quantization is not supported');
        const x = get(node.input[0], node);
        if (x.kind === 'quant') {
          const of = x.of;
          if (!x.lowerIsZero) set(node, 0, of);
          else if (of.kind === 'act') set(node, 0, clampAt0(of, x.name));
          else set(node, 0, { ...of, src: clampAt0(of.src, x.name) });
        } else if (x.kind === 'const') {
          const scale = floatConst(node, 1, 'scale');
          const zp = has(node, 2) ? constIn(node, 2, 'zero point') : undefined;
          charge(x.data.length, node);
          set(node, 0, dequantizeConst(node, x, scale, zp, at.int('axis', 1), outName));
        } else {
          throw unsupported(node, `DequantizeLinear of "${node.input[0]}" must read a constant or a QuantizeLinear output`);
        }
        break;
      }
      case 'Conv': {
        const x = act4(node, 0);
        const w = floatConst(node, 1, 'weight');
        if (w.dims.length !== 4) throw unsupported(node, `weight "${w.name}" has dims [${w.dims}]; a 2-D convolution is expected`);
        const [cout, cinPerGroup, kh, kw] = w.dims;
        const cin = b.channels(x.t);
        const group = at.int('group', 1);
        const ks = at.ints('kernel_shape') ?? [kh, kw];
        const strides = at.ints('strides') ?? [1, 1];
        const dil = at.ints('dilations') ?? [1, 1];
        const autoPad = at.string('auto_pad', 'NOTSET');
        let pads = at.ints('pads') ?? [0, 0, 0, 0];
        if (!sameArr(ks, [kh, kw])) throw unsupported(node, `kernel_shape [${ks}] does not match the weight dims [${w.dims}]`);
        if (cin !== cinPerGroup * group) {
          throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (Conv): input has ${cin} channels, weight [${w.dims}] with group ${group} expects ${cinPerGroup * group}`);
        }
        if (autoPad === 'VALID') pads = [0, 0, 0, 0];
        else if ((autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') && strides.every((s) => s === 1) && kh === kw && kh % 2 === 1) {
          pads = [(kh - 1) / 2, (kh - 1) / 2, (kh - 1) / 2, (kh - 1) / 2];
        } else if (autoPad !== 'NOTSET' && autoPad !== '') throw unsupported(node, `auto_pad ${autoPad} is not supported with stride [${strides}]`);
        const desc = `kernel ${kh}x${kw}, strides [${strides}], pads [${pads}], dilations [${dil}], group ${group}, channels ${cin} -> ${cout}`;
        const supportedText = 'supported: 1x1 with pad 0 and stride 1 (any group), or 3x3 with pads 1 and stride 1 or 2, group 1 or group = input channels = output channels (depthwise)';
        const s = strides[0];
        let ok = dil.every((d) => d === 1) && strides.length === 2 && strides[1] === s && kh === kw;
        if (ok && kh === 1) ok = s === 1 && pads.every((p) => p === 0);
        else if (ok && kh === 3) ok = (s === 1 || s === 2) && pads.length === 4 && pads.every((p) => p === 1) && (group === 1 || (group === cin && group === cout));
        else ok = false;
        if (!ok) throw unsupported(node, `${desc} is not supported; ${supportedText}`);
        charge(w.data.length + cout, node);
        const weight = Float32Array.from(w.data);
        let bias: Float32Array | undefined;
        if (has(node, 2)) {
          const bc = floatConst(node, 2, 'bias');
          if (bc.data.length !== cout) throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (Conv): bias "${bc.name}" has ${bc.data.length} values, expected ${cout}`);
          bias = Float32Array.from(bc.data);
        }
        const t = b.conv(x.t, { outChannels: cout, kernel: kh, stride: s, groups: group, weight, bias, name: node.name || undefined, outputName: outName });
        lastNode(t);
        const p = kh === 3 ? 1 : 0;
        set(node, 0, mkAct(t, [x.dims[0], num(cout), spatial(x.dims[2], kh, s, p, `${outName}:H`), spatial(x.dims[3], kh, s, p, `${outName}:W`)]));
        break;
      }
      case 'BatchNormalization': {
        const x = act4(node, 0, true);
        const prod = producerNode.get(x.t);
        if (at.int('training_mode', 0) !== 0) throw unsupported(node, 'training_mode=1 is not supported');
        if (!prod || prod.op !== 'conv' || prod.relu || prod.residual !== undefined || used.has(x.t) || node.output.slice(1).some((o) => o)) {
          throw unsupported(node, 'a BatchNormalization is supported only right after a Conv whose output feeds nothing else (it is folded into the Conv weights)');
        }
        const c = b.channels(x.t);
        const [scale, bias, mean, vari] = [1, 2, 3, 4].map((i) => floatConst(node, i, ['scale', 'B', 'mean', 'var'][i - 1]));
        for (const p of [scale, bias, mean, vari]) {
          if (p.data.length !== c) throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (BatchNormalization): "${p.name}" has ${p.data.length} values, expected ${c}`);
        }
        const eps = at.float('epsilon', 1e-5);
        const per = prod.weight.length / c;
        for (let o = 0; o < c; o++) {
          const k = scale.data[o] / Math.sqrt(vari.data[o] + eps);
          for (let i = o * per; i < (o + 1) * per; i++) prod.weight[i] *= k;
          prod.bias[o] = (prod.bias[o] - mean.data[o]) * k + bias.data[o];
        }
        used.add(x.t);
        const ver = (version.get(x.t) ?? 0) + 1;
        version.set(x.t, ver);
        set(node, 0, mkAct(x.t, x.dims));
        break;
      }
      case 'Relu': {
        const x = actIn(node, 0);
        const t = b.relu(x.t, node.name || undefined, outName);
        lastNode(t);
        nonneg.add(t);
        set(node, 0, mkAct(t, x.dims));
        break;
      }
      case 'Clip': {
        const x = actIn(node, 0);
        let lo: number | undefined = at.has('min') ? at.float('min', 0) : undefined;
        let hi: number | undefined = at.has('max') ? at.float('max', 0) : undefined;
        if (has(node, 1)) lo = floatConst(node, 1, 'min').data[0];
        if (has(node, 2)) hi = floatConst(node, 2, 'max').data[0];
        if (lo !== 0 || (hi !== undefined && hi !== Infinity && hi < 3.4e38)) {
          throw unsupported(node, `Clip(min ${lo}, max ${hi}) is not supported; only Clip(min 0, no max) = Relu`);
        }
        const t = b.relu(x.t, node.name || undefined, outName);
        lastNode(t);
        nonneg.add(t);
        set(node, 0, mkAct(t, x.dims));
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const x = act4(node, 0);
        const ks = at.ints('kernel_shape') ?? [];
        const strides = at.ints('strides') ?? [1, 1];
        const pads = at.ints('pads') ?? [0, 0, 0, 0];
        const autoPad = at.string('auto_pad', 'NOTSET');
        const ceil = at.int('ceil_mode', 0);
        const dil = at.ints('dilations') ?? [1, 1];
        const cip = at.int('count_include_pad', 0);
        if (op === 'AveragePool' && pads.every((p) => p === 0) && (autoPad === 'NOTSET' || autoPad === 'VALID' || autoPad === '')
          && isNum(x.dims[2]) && isNum(x.dims[3]) && ks[0] === x.dims[2].c && ks[1] === x.dims[3].c) {
          // a kernel covering the whole map: global average pool
          const t = b.gap(x.t, node.name || undefined, outName);
          lastNode(t);
          if (nonneg.has(x.t)) nonneg.add(t);
          set(node, 0, mkAct(t, [x.dims[0], x.dims[1], num(1), num(1)]));
          break;
        }
        const desc = `kernel [${ks}], strides [${strides}], pads [${pads}], auto_pad ${autoPad}, ceil_mode ${ceil}, dilations [${dil}]${op === 'AveragePool' ? `, count_include_pad ${cip}` : ''}`;
        const ok = sameArr(ks, [3, 3]) && sameArr(strides, [2, 2]) && sameArr(pads, [1, 1, 1, 1]) && (autoPad === 'NOTSET' || autoPad === '')
          && ceil === 0 && dil.every((d) => d === 1) && (op === 'MaxPool' || cip === 1);
        if (!ok) {
          throw unsupported(node, `${desc} is not supported; supported: 3x3, stride 2, pads 1, ceil_mode 0${op === 'AveragePool' ? ', count_include_pad 1 (padding counted, as torch.nn.AvgPool2d does by default), or a kernel covering the whole known feature map' : ''}`);
        }
        const t = b.pool(op === 'MaxPool' ? 'maxpool' : 'avgpool', x.t, node.name || undefined, outName);
        lastNode(t);
        if (nonneg.has(x.t)) nonneg.add(t);
        set(node, 0, mkAct(t, [x.dims[0], x.dims[1], spatial(x.dims[2], 3, 2, 1, `${outName}:H`), spatial(x.dims[3], 3, 2, 1, `${outName}:W`)]));
        poisonRest(node, 1, 'MaxPool indices are not supported');
        break;
      }
      case 'GlobalAveragePool':
      case 'ReduceMean': {
        const x = act4(node, 0);
        let keep = 1;
        if (op === 'ReduceMean') {
          let axes = at.ints('axes');
          if (has(node, 1)) axes = intsIn(node, 1, 'axes');
          keep = at.int('keepdims', 1);
          const norm = (axes ?? []).map((a) => axis(node, a, 4)).sort();
          if (!sameArr(norm, [2, 3])) throw unsupported(node, `ReduceMean over axes [${axes ?? 'all'}] is not supported; only axes [2, 3] (a global average pool)`);
        }
        const t = b.gap(x.t, node.name || undefined, outName);
        lastNode(t);
        if (nonneg.has(x.t)) nonneg.add(t);
        set(node, 0, mkAct(t, keep ? [x.dims[0], x.dims[1], num(1), num(1)] : [x.dims[0], x.dims[1]]));
        break;
      }
      case 'Flatten': {
        const x = actIn(node, 0);
        const a = axis(node, at.int('axis', 1), x.dims.length);
        if (a !== 1 || (x.dims.length === 4 && !(isOne(x.dims[2]) && isOne(x.dims[3])))) {
          throw unsupported(node, `Flatten(axis ${a}) of ${dimsStr(x.dims)} is not supported; only [N, C, 1, 1] -> [N, C] after a global pool`);
        }
        set(node, 0, mkAct(x.t, [x.dims[0], x.dims[1]]));
        break;
      }
      case 'Squeeze':
      case 'Unsqueeze': {
        const v = get(node.input[0], node);
        const axes = has(node, 1) ? intsIn(node, 1, 'axes') : at.ints('axes');
        if (v.kind === 'shape' || (v.kind === 'const' && v.dims.length <= 1 && INT_TYPES.has(v.dtype))) {
          const s = shapeIn(node, 0, 'data');
          if (op === 'Unsqueeze' && s.scalar && (!axes || sameArr(axes, [0]) || sameArr(axes, [-1]))) set(node, 0, { kind: 'shape', v: s.v, scalar: false });
          else if (op === 'Squeeze' && !s.scalar && s.v.length === 1 && (!axes || sameArr(axes, [0]) || sameArr(axes, [-1]))) set(node, 0, { kind: 'shape', v: s.v, scalar: true });
          else throw unsupported(node, `${op} of a shape vector with axes [${axes}]`);
          break;
        }
        const x = actIn(node, 0);
        if (op === 'Squeeze' && x.dims.length === 4 && isOne(x.dims[2]) && isOne(x.dims[3])
          && (!axes || sameArr(axes.map((a) => axis(node, a, 4)).sort(), [2, 3]))) {
          set(node, 0, mkAct(x.t, [x.dims[0], x.dims[1]]));
          break;
        }
        if (op === 'Unsqueeze' && x.dims.length === 2 && axes && sameArr(axes.map((a) => (a < 0 ? a + 4 : a)).sort(), [2, 3])) {
          set(node, 0, mkAct(x.t, [x.dims[0], x.dims[1], num(1), num(1)]));
          break;
        }
        throw unsupported(node, `${op} of ${dimsStr(x.dims)} with axes [${axes ?? ''}] is not supported; only between [N, C] and [N, C, 1, 1]`);
      }
      case 'Reshape': {
        if (at.int('allowzero', 0) !== 0) throw unsupported(node, 'allowzero=1 is not supported');
        const v = get(node.input[0], node);
        const target = shapeIn(node, 1, 'shape').v;
        if (v.kind === 'const') {
          const r = resolveReshape(node, v.dims.map(num), target);
          if (!r.every(isNum)) throw unsupported(node, 'reshape of a constant to a symbolic shape');
          if (r.reduce((p, d) => p * d.c, 1) !== v.data.length) {
            throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (Reshape): constant "${v.name}" [${v.dims}] has ${v.data.length} values, not ${dimsStr(r)}`);
          }
          set(node, 0, { ...v, name: outName, dims: r.map((d) => d.c) });
          break;
        }
        if (v.kind === 'shuffle5d') {
          if (!v.transposed) throw unsupported(node, 'a channel shuffle must transpose the 5-D view (perm 0,2,1,3,4) before reshaping back');
          const r = resolveReshape(node, v.dims, target);
          const src = v.src;
          if (r.length !== 4 || !dimEq(r[0], src.dims[0]) || !dimEq(r[1], src.dims[1]) || !dimEq(r[2], src.dims[2]) || !dimEq(r[3], src.dims[3])) {
            throw unsupported(node, `channel shuffle: reshape of ${dimsStr(v.dims)} to ${dimsStr(r)} does not restore ${dimsStr(src.dims)}`);
          }
          used.add(src.t);
          const t = b.shuffle(src.t, v.groups, node.name || undefined, outName);
          lastNode(t);
          if (nonneg.has(src.t)) nonneg.add(t);
          set(node, 0, mkAct(t, src.dims));
          break;
        }
        const x = actIn(node, 0, true);
        const r = resolveReshape(node, x.dims, target);
        if (r.length === x.dims.length && r.every((d, i) => dimEq(d, x.dims[i]))) {
          set(node, 0, x); // no-op
          break;
        }
        if (x.dims.length === 4 && r.length === 5 && dimEq(r[0], x.dims[0]) && dimEq(r[3], x.dims[2]) && dimEq(r[4], x.dims[3])
          && isNum(r[1]) && isNum(r[2]) && r[1].c * r[2].c === b.channels(x.t) && r[1].c > 0) {
          actIn(node, 0, true);
          set(node, 0, { kind: 'shuffle5d', src: x, groups: r[1].c, transposed: false, dims: r });
          break;
        }
        if (x.dims.length === 4 && r.length === 2 && isOne(x.dims[2]) && isOne(x.dims[3]) && dimEq(r[0], x.dims[0]) && dimEq(r[1], x.dims[1])) {
          set(node, 0, mkAct(x.t, r));
          break;
        }
        if (x.dims.length === 2 && r.length === 4 && dimEq(r[0], x.dims[0]) && dimEq(r[1], x.dims[1]) && isOne(r[2]) && isOne(r[3])) {
          set(node, 0, mkAct(x.t, r));
          break;
        }
        throw unsupported(node, `Reshape of ${dimsStr(x.dims)} to ${dimsStr(r)} is not supported; supported: [N, C, H, W] -> [N, g, C/g, H, W] (channel shuffle), [N, C, 1, 1] <-> [N, C]`);
      }
      case 'Transpose': {
        const v = get(node.input[0], node);
        const perm = at.ints('perm');
        if (v.kind === 'shuffle5d' && !v.transposed && sameArr(perm, [0, 2, 1, 3, 4])) {
          set(node, 0, { ...v, transposed: true, dims: [v.dims[0], v.dims[2], v.dims[1], v.dims[3], v.dims[4]] });
          break;
        }
        if (v.kind === 'act' && perm && perm.every((p, i) => p === i)) {
          set(node, 0, actIn(node, 0));
          break;
        }
        throw unsupported(node, `Transpose perm [${perm ?? 'reverse'}] is not supported; only perm [0, 2, 1, 3, 4] of a [N, g, C/g, H, W] view (channel shuffle)`);
      }
      case 'Gemm': {
        const x = actIn(node, 0);
        if (x.dims.length !== 2) throw unsupported(node, `input has shape ${dimsStr(x.dims)}; a [N, C] input is expected (Flatten after the pool)`);
        if (at.int('transA', 0) !== 0) throw unsupported(node, 'transA=1 is not supported');
        const transB = at.int('transB', 0);
        const alpha = at.float('alpha', 1), beta = at.float('beta', 1);
        const w = floatConst(node, 1, 'B');
        const k = b.channels(x.t);
        if (w.dims.length !== 2) throw unsupported(node, `B "${w.name}" has dims [${w.dims}]; 2-D expected`);
        const m = transB ? w.dims[0] : w.dims[1];
        if ((transB ? w.dims[1] : w.dims[0]) !== k) {
          throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (Gemm): B [${w.dims}] (transB ${transB}) does not take ${k} input features`);
        }
        charge(m * k + m, node);
        const weight = new Float32Array(m * k);
        for (let o = 0; o < m; o++) for (let i = 0; i < k; i++) weight[o * k + i] = alpha * (transB ? w.data[o * k + i] : w.data[i * m + o]);
        const bias = new Float32Array(m);
        if (has(node, 2)) {
          const c = floatConst(node, 2, 'C');
          if (!(c.data.length === m || c.data.length === 1) || c.dims.length > 2 || (c.dims.length === 2 && c.dims[0] !== 1)) {
            throw unsupported(node, `C "${c.name}" with dims [${c.dims}] is not supported; a bias of shape [${m}] or [1, ${m}] is expected`);
          }
          for (let o = 0; o < m; o++) bias[o] = beta * c.data[c.data.length === 1 ? 0 : o];
        }
        const t = b.fc(x.t, { outFeatures: m, weight, bias, name: node.name || undefined, outputName: outName });
        lastNode(t);
        set(node, 0, mkAct(t, [x.dims[0], num(m)]));
        break;
      }
      case 'MatMul': {
        const x = actIn(node, 0);
        if (x.dims.length !== 2) throw unsupported(node, `input has shape ${dimsStr(x.dims)}; a [N, C] input is expected`);
        const w = floatConst(node, 1, 'weight');
        const k = b.channels(x.t);
        if (w.dims.length !== 2 || w.dims[0] !== k) {
          throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (MatMul): weight "${w.name}" [${w.dims}] does not take ${k} input features`);
        }
        const m = w.dims[1];
        charge(m * k, node);
        const weight = new Float32Array(m * k);
        for (let o = 0; o < m; o++) for (let i = 0; i < k; i++) weight[o * k + i] = w.data[i * m + o];
        const t = b.fc(x.t, { outFeatures: m, weight, name: node.name || undefined, outputName: outName });
        lastNode(t);
        set(node, 0, mkAct(t, [x.dims[0], num(m)]));
        break;
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const va = get(node.input[0], node), vb = get(node.input[1], node);
        if (op === 'Add' && va.kind === 'act' && vb.kind === 'act') {
          const a = actIn(node, 0), c = actIn(node, 1);
          if (a.dims.length !== c.dims.length || b.channels(a.t) !== b.channels(c.t)
            || a.dims.some((d, i) => isNum(d) && isNum(c.dims[i]) && d.c !== c.dims[i].c)) {
            throw unsupported(node, `Add of ${dimsStr(a.dims)} and ${dimsStr(c.dims)}: only same-shape activations are supported (no broadcasting)`);
          }
          const t = b.add(a.t, c.t, node.name || undefined, outName);
          lastNode(t);
          if (nonneg.has(a.t) && nonneg.has(c.t)) nonneg.add(t);
          set(node, 0, mkAct(t, a.dims));
          break;
        }
        if (op === 'Add' && (va.kind === 'act' || vb.kind === 'act') && (va.kind === 'const' || vb.kind === 'const')) {
          const ai = va.kind === 'act' ? 0 : 1;
          const x = actIn(node, ai, true);
          const c = floatConst(node, 1 - ai, 'bias');
          set(node, 0, foldBias(node, x, c));
          break;
        }
        const isShapeLike = (v: Value): boolean => v.kind === 'shape' || (v.kind === 'const' && v.dims.length <= 1 && INT_TYPES.has(v.dtype));
        if (isShapeLike(va) && isShapeLike(vb)) {
          const a = shapeIn(node, 0, 'A'), c = shapeIn(node, 1, 'B');
          const n = Math.max(a.v.length, c.v.length);
          if (!(a.v.length === n || a.v.length === 1) || !(c.v.length === n || c.v.length === 1)) throw unsupported(node, 'shape arithmetic with mismatched lengths');
          const out: Dim[] = [];
          for (let i = 0; i < n; i++) {
            const x = a.v[a.v.length === 1 ? 0 : i], y = c.v[c.v.length === 1 ? 0 : i];
            let r: Dim | null;
            if (op === 'Mul') r = dimMul(x, y);
            else if (op === 'Div') r = dimDiv(x, y);
            else if (isNum(x) && isNum(y)) r = num(op === 'Add' ? x.c + y.c : x.c - y.c);
            else r = null;
            if (!r) throw unsupported(node, `cannot compute ${dimStr(x)} ${op} ${dimStr(y)} on symbolic sizes`);
            if (!Number.isInteger(r.c)) throw unsupported(node, `${dimStr(x)} ${op} ${dimStr(y)} is not an integer`);
            out.push(r);
          }
          set(node, 0, { kind: 'shape', v: out, scalar: a.scalar && c.scalar });
          break;
        }
        throw unsupported(node, op === 'Add'
          ? 'only Add of two same-shape activations, Add of a bias constant to a MatMul/Gemm/Conv output, or shape arithmetic is supported'
          : `${op} is supported only on shape values (feeding Reshape)`);
      }
      case 'Concat': {
        const vs = node.input.map((n) => get(n, node));
        const a = at.int('axis', NaN);
        if (Number.isNaN(a)) throw unsupported(node, 'the axis attribute is missing');
        if (vs.every((v) => v.kind === 'act')) {
          const xs = node.input.map((_, i) => actIn(node, i));
          const rank = xs[0].dims.length;
          if (xs.some((x) => x.dims.length !== rank) || axis(node, a, rank) !== 1) {
            throw unsupported(node, `Concat on axis ${a} of ${xs.map((x) => dimsStr(x.dims)).join(', ')}; only channel concat (axis 1) of same-rank activations is supported`);
          }
          if (xs.length === 1) { set(node, 0, xs[0]); break; }
          const t = b.concat(xs.map((x) => x.t), node.name || undefined, outName);
          lastNode(t);
          if (xs.every((x) => nonneg.has(x.t))) nonneg.add(t);
          const dims = [...xs[0].dims];
          dims[1] = num(b.channels(t));
          set(node, 0, mkAct(t, dims));
          break;
        }
        if (axis(node, a, 1) === 0) {
          const parts = node.input.map((_, i) => shapeIn(node, i, `input ${i}`));
          const v = parts.flatMap((p) => p.v);
          if (v.length > MAX_SHAPE_LENGTH) throw unsupported(node, `a shape of ${v.length} values; at most ${MAX_SHAPE_LENGTH}`);
          set(node, 0, { kind: 'shape', v, scalar: false });
          break;
        }
        throw unsupported(node, 'Concat of constants other than 1-D shape vectors is not supported');
      }
      case 'Split': {
        const x = act4(node, 0);
        const c = b.channels(x.t);
        const a = axis(node, at.int('axis', 0), x.dims.length);
        if (a !== 1) throw unsupported(node, `Split on axis ${at.int('axis', 0)}; only channel split (axis 1) is supported`);
        const outs = node.output.length;
        let sizes: number[];
        if (has(node, 1)) sizes = intsIn(node, 1, 'split');
        else if (at.has('split')) sizes = at.ints('split')!;
        else {
          const n = at.has('num_outputs') ? at.int('num_outputs', outs) : outs;
          if (n !== outs) throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (Split): num_outputs ${n} but ${outs} outputs`);
          const each = Math.ceil(c / n);
          sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, c - i * each)));
        }
        if (sizes.length !== outs || sizes.reduce((s, v) => s + v, 0) !== c || sizes.some((s) => s <= 0)) {
          throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (Split): sizes [${sizes}] do not split ${c} channels into ${outs} outputs`);
        }
        const ts = b.split(x.t, sizes, node.name || undefined, node.output.map((o, i) => o || `${outName}_${i}`));
        ts.forEach((t, i) => {
          producerNode.set(t, b.nodes[b.nodes.length - 1]);
          if (nonneg.has(x.t)) nonneg.add(t);
          set(node, i, mkAct(t, [x.dims[0], num(sizes[i]), x.dims[2], x.dims[3]]));
        });
        break;
      }
      case 'Slice': {
        const v = get(node.input[0], node);
        if (v.kind === 'shape' || (v.kind === 'const' && v.dims.length === 1 && INT_TYPES.has(v.dtype))) {
          const s = shapeIn(node, 0, 'data');
          const p = sliceParams(node, at, 1);
          if (!p.axes.every((x) => x === 0 || x === -1) || p.steps.some((x) => x !== 1)) throw unsupported(node, 'Slice of a shape vector must be on axis 0 with step 1');
          const [lo, hi] = clampRange(p.starts[0], p.ends[0], s.v.length);
          set(node, 0, { kind: 'shape', v: s.v.slice(lo, hi), scalar: false });
          break;
        }
        const x = act4(node, 0, true);
        const range = channelRange(node, at, x, b.channels(x.t));
        const c = b.channels(x.t);
        if (range[0] === 0 && range[1] === c) { set(node, 0, actIn(node, 0)); break; }
        // Group this Slice with the other Slices of the same tensor into one Split.
        const group: { idx: number; range: [number, number] }[] = [{ idx, range }];
        for (const j of slicesOf.get(node.input[0]) ?? []) {
          const other = g.node[j];
          if (j === idx || presetOutputs.has(j) || rank[j] < rank[idx]) continue;
          try {
            const r = channelRange(other, new Attrs(other), x, c);
            if (!(r[0] === 0 && r[1] === c)) group.push({ idx: j, range: r });
          } catch { /* leave it for its own turn */ }
        }
        const cuts = [...new Set([0, c, ...group.flatMap((m) => m.range)])].sort((p, q) => p - q);
        const sizes = cuts.slice(1).map((e, i) => e - cuts[i]);
        used.add(x.t);
        const pieces = b.split(x.t, sizes, node.name || undefined, sizes.map((_, i) => `${outName}_part${i}`));
        const splitNode = b.nodes[b.nodes.length - 1];
        for (const t of pieces) { producerNode.set(t, splitNode); if (nonneg.has(x.t)) nonneg.add(t); }
        for (const m of group) {
          const first = cuts.indexOf(m.range[0]), last = cuts.indexOf(m.range[1]);
          const mine = pieces.slice(first, last);
          const n = g.node[m.idx];
          let t: TensorId;
          if (mine.length === 1) t = mine[0];
          else {
            t = b.concat(mine, `${n.name || n.output[0]}_concat`, n.output[0]);
            lastNode(t);
            if (nonneg.has(x.t)) nonneg.add(t);
          }
          const val = mkAct(t, [x.dims[0], num(m.range[1] - m.range[0]), x.dims[2], x.dims[3]]);
          if (m.idx === idx) set(node, 0, val);
          else presetOutputs.set(m.idx, new Map([[n.output[0], val]]));
        }
        break;
      }
      case 'Shape': {
        const v = get(node.input[0], node);
        let dims: Dim[];
        if (v.kind === 'act' || v.kind === 'shuffle5d') dims = v.dims;
        else if (v.kind === 'const') dims = v.dims.map(num);
        else if (v.kind === 'shape') dims = v.scalar ? [] : [num(v.v.length)];
        else throw unsupported(node, `Shape of "${node.input[0]}" is not supported`);
        const r = dims.length;
        let start = at.int('start', 0), end = at.int('end', r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        set(node, 0, { kind: 'shape', v: dims.slice(Math.max(0, start), Math.min(r, end)), scalar: false });
        break;
      }
      case 'Gather': {
        const v = get(node.input[0], node);
        if (v.kind !== 'shape' && !(v.kind === 'const' && v.dims.length === 1 && INT_TYPES.has(v.dtype))) {
          throw unsupported(node, 'Gather is supported only on shape vectors (to build Reshape targets)');
        }
        const s = shapeIn(node, 0, 'data');
        if (at.int('axis', 0) !== 0) throw unsupported(node, 'Gather on a shape vector must use axis 0');
        const ic = constIn(node, 1, 'indices');
        if (ic.data.length > MAX_SHAPE_LENGTH) throw unsupported(node, `${ic.data.length} indices; at most ${MAX_SHAPE_LENGTH}`);
        const ids = Array.from(ic.data, (i) => (i < 0 ? i + s.v.length : i));
        if (ids.some((i) => !Number.isInteger(i) || i < 0 || i >= s.v.length)) throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (Gather): index out of range`);
        set(node, 0, { kind: 'shape', v: ids.map((i) => s.v[i]), scalar: ic.dims.length === 0 });
        break;
      }
      default:
        throw unsupported(node, `op ${op} is not supported; supported ops: ${SUPPORTED_OPS.join(', ')}`);
    }
  }

  // ---- output ----
  const ov = values.get(outputName);
  if (!ov || ov.kind !== 'act') {
    throw new ShuffleNetError('E_UNSUPPORTED_OP', `graph output "${outputName}" is ${ov ? `a ${ov.kind} value` : 'not computed'}; an activation is expected`);
  }
  if ((version.get(ov.t) ?? 0) !== ov.ver) throw new ShuffleNetError('E_UNSUPPORTED_OP', `graph output "${outputName}" was folded into a following node`);
  const raw = b.finish(inputT, ov.t);
  const graph = finalizeGraph(raw, options.fuseRelu ?? true);
  const producerText = [model.producer_name, model.producer_version].filter((s) => s).join(' ');
  return { graph, info: { opset, producer: producerText, inputName, outputName, inputShape } };

  // ---- helpers that need the walk's state ----

  function foldBias(node: NodeProto, x: ActValue, c: ConstValue): ActValue {
    const prod = producerNode.get(x.t);
    const ch = b.channels(x.t);
    const okFc = prod?.op === 'fc' && x.dims.length === 2 && (c.data.length === ch || c.data.length === 1)
      && (c.dims.length <= 1 || (c.dims.length === 2 && c.dims[0] === 1));
    const okConv = prod?.op === 'conv' && x.dims.length === 4 && (c.data.length === ch || c.data.length === 1)
      && (c.data.length === 1 ? c.dims.length <= 4 : ((c.dims.length === 3 && c.dims[1] === 1 && c.dims[2] === 1) || (c.dims.length === 4 && c.dims[0] === 1 && c.dims[2] === 1 && c.dims[3] === 1)));
    if (!prod || !(okFc || okConv) || (prod as ConvNode | FcNode).relu || (prod.op === 'conv' && prod.residual !== undefined) || used.has(x.t)) {
      throw unsupported(node, `Add of constant "${c.name}" [${c.dims}] is supported only as the bias of the MatMul/Gemm/Conv right before it (whose output feeds nothing else)`);
    }
    const p = prod as ConvNode | FcNode;
    for (let o = 0; o < ch; o++) p.bias[o] += c.data[c.data.length === 1 ? 0 : o];
    used.add(x.t);
    const ver = (version.get(x.t) ?? 0) + 1;
    version.set(x.t, ver);
    return mkAct(x.t, x.dims);
  }

  function channelRange(n: NodeProto, a: Attrs, x: ActValue, c: number): [number, number] {
    const p = sliceParams(n, a, 4);
    let range: [number, number] = [0, c];
    p.axes.forEach((ax0, i) => {
      const ax = axis(n, ax0, 4);
      if (p.steps[i] !== 1) throw unsupported(n, `Slice step ${p.steps[i]} is not supported`);
      if (ax === 1) range = clampRange(p.starts[i], p.ends[i], c);
      else {
        const d = x.dims[ax];
        const full = p.starts[i] === 0 && (p.ends[i] >= 2 ** 31 - 1 || (isNum(d) && p.ends[i] >= d.c));
        if (!full) throw unsupported(n, `Slice on axis ${ax}; only channel slices (axis 1) are supported`);
      }
    });
    if (range[1] <= range[0]) throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(n)}" (Slice): empty channel range [${range}]`);
    return range;
  }

  function sliceParams(n: NodeProto, a: Attrs, rank: number): { starts: number[]; ends: number[]; axes: number[]; steps: number[] } {
    let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
    if (n.input.length > 1 && n.input[1]) {
      starts = intsIn(n, 1, 'starts');
      ends = intsIn(n, 2, 'ends');
      if (n.input[3]) axes = intsIn(n, 3, 'axes');
      if (n.input[4]) steps = intsIn(n, 4, 'steps');
    } else {
      starts = a.ints('starts') ?? [];
      ends = a.ints('ends') ?? [];
      axes = a.ints('axes');
    }
    axes ??= starts.map((_, i) => i);
    steps ??= starts.map(() => 1);
    if (starts.length !== ends.length || axes.length !== starts.length || steps.length !== starts.length || starts.length === 0) {
      throw new ShuffleNetError('E_ONNX_PARSE', `node "${nodeLabel(n)}" (Slice): starts/ends/axes/steps lengths differ`);
    }
    void rank;
    return { starts, ends, axes, steps };
  }

  function resolveReshape(node: NodeProto, inDims: Dim[], target: Dim[]): Dim[] {
    const out = target.map((d, i) => {
      if (isNum(d) && d.c === 0) {
        if (i >= inDims.length) throw unsupported(node, `shape entry 0 at index ${i} has no input dim to copy`);
        return inDims[i];
      }
      return d;
    });
    const neg = out.map((d, i) => (isNum(d) && d.c === -1 ? i : -1)).filter((i) => i >= 0);
    if (neg.length > 1) throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (Reshape): more than one -1 in the shape`);
    if (out.some((d) => isNum(d) && d.c < -1)) throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (Reshape): negative size in the shape`);
    if (neg.length === 1) {
      const total = inDims.reduce(dimMul, num(1));
      const known = out.filter((_, i) => i !== neg[0]).reduce(dimMul, num(1));
      const q = dimDiv(total, known);
      if (!q || (isNum(q) && dimMul(q, known).c !== total.c)) {
        throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (Reshape): cannot infer -1 reshaping ${dimsStr(inDims)} to ${dimsStr(target)}`);
      }
      out[neg[0]] = q;
    }
    return out;
  }
}

function isOne(d: Dim): boolean { return isNum(d) && d.c === 1; }

function dimOf(d: number | string | null, fallback: string): Dim {
  if (typeof d === 'number') return num(d);
  if (typeof d === 'string') return sym(`param:${d}`);
  return sym(fallback);
}

function clampRange(start: number, end: number, n: number): [number, number] {
  let s = start < 0 ? start + n : start;
  let e = end < 0 ? end + n : end;
  s = Math.max(0, Math.min(n, s));
  e = Math.max(0, Math.min(n, e));
  return [s, e];
}

function describeInput(vi: ValueInfoProto): (number | string | null)[] {
  const tt = vi.type?.tensor_type;
  if (!tt) throw new ShuffleNetError('E_UNSUPPORTED_OP', `input "${vi.name}" is not a tensor`);
  if ((tt.elem_type ?? 0) !== DataType.FLOAT) {
    throw new ShuffleNetError('E_UNSUPPORTED_OP', `input "${vi.name}" has type ${dataTypeName(tt.elem_type)}; a FLOAT [N, 3, H, W] image is expected`);
  }
  if (!tt.shape) return [null, 3, null, null];
  const dims = tt.shape.dim.map((d) => (d.dim_value !== undefined && d.dim_value > 0 ? d.dim_value : d.dim_param ? d.dim_param : null));
  if (dims.length !== 4 || (dims[1] !== null && dims[1] !== 3)) {
    throw new ShuffleNetError('E_UNSUPPORTED_OP', `input "${vi.name}" has shape [${dims.map((d) => d ?? '?')}]; [N, 3, H, W] is expected`);
  }
  return dims;
}

function topoSort(nodes: NodeProto[], producer: Map<string, number>): number[] {
  const indeg = new Array<number>(nodes.length).fill(0);
  const consumers: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    for (const inp of n.input) {
      const p = inp ? producer.get(inp) : undefined;
      if (p !== undefined) { indeg[i]++; consumers[p].push(i); }
    }
  });
  const order: number[] = [];
  // keep file order where possible: take the smallest ready index (a binary min-heap)
  const ready: number[] = [];
  const push = (v: number): void => {
    let i = ready.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (ready[p] <= v) break;
      ready[i] = ready[p]; i = p;
    }
    ready[i] = v;
  };
  const pop = (): number => {
    const top = ready[0], last = ready.pop()!;
    if (ready.length > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= ready.length) break;
        if (c + 1 < ready.length && ready[c + 1] < ready[c]) c++;
        if (ready[c] >= last) break;
        ready[i] = ready[c]; i = c;
      }
      ready[i] = last;
    }
    return top;
  };
  for (let i = 0; i < nodes.length; i++) if (indeg[i] === 0) push(i);
  while (ready.length) {
    const i = pop();
    order.push(i);
    for (const c of consumers[i]) if (--indeg[c] === 0) push(c);
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.findIndex((_, i) => indeg[i] > 0);
    const n = nodes[stuck];
    const t = n.input.find((inp) => inp && producer.has(inp) && indeg[producer.get(inp)!] > 0) ?? n.input[0];
    throw new ShuffleNetError('E_ONNX_PARSE', `the graph has a cycle: node "${nodeLabel(n)}" (${n.op_type}) reads tensor "${t}", which depends on its own output`);
  }
  return order;
}

// ---- constant quantization ----

function perAxis(node: NodeProto, x: ConstValue, p: ConstValue | undefined, axisAttr: number, what: string): (i: number) => number {
  if (!p) return () => 0;
  if (p.data.length === 1) { const v = p.data[0]; return () => v; }
  const rank = x.dims.length;
  const ax = axisAttr < 0 ? axisAttr + rank : axisAttr;
  if (ax < 0 || ax >= rank || p.data.length !== x.dims[ax]) {
    throw new ShuffleNetError('E_SHAPE', `node "${nodeLabel(node)}" (${node.op_type}): ${what} "${p.name}" has ${p.data.length} values; tensor "${x.name}" [${x.dims}] on axis ${axisAttr} needs 1 or ${x.dims[ax]}`);
  }
  const inner = x.dims.slice(ax + 1).reduce((a, c) => a * c, 1);
  const n = x.dims[ax];
  const data = p.data;
  return (i) => data[Math.floor(i / inner) % n];
}

function dequantizeConst(node: NodeProto, x: ConstValue, scale: ConstValue, zp: ConstValue | undefined, axisAttr: number, name: string): ConstValue {
  if (!INT_TYPES.has(x.dtype) || x.dtype === DataType.INT64 || x.dtype === DataType.BOOL) {
    throw unsupported(node, `DequantizeLinear of ${dataTypeName(x.dtype)} tensor "${x.name}"; int8, uint8, int16, uint16 or int32 expected`);
  }
  const s = perAxis(node, x, scale, axisAttr, 'scale');
  const z = perAxis(node, x, zp, axisAttr, 'zero point');
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = (x.data[i] - z(i)) * s(i);
  return { kind: 'const', name, dims: x.dims, dtype: DataType.FLOAT, data: out };
}

function quantizeConst(node: NodeProto, x: ConstValue, scale: ConstValue, zp: ConstValue | undefined, zpType: number, axisAttr: number, name: string): ConstValue {
  const s = perAxis(node, x, scale, axisAttr, 'scale');
  const z = perAxis(node, x, zp, axisAttr, 'zero point');
  const [lo, hi] = zpType === DataType.UINT8 ? [0, 255] : zpType === DataType.INT8 ? [-128, 127]
    : zpType === DataType.UINT16 ? [0, 65535] : zpType === DataType.INT16 ? [-32768, 32767] : [-2147483648, 2147483647];
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = x.data[i] / s(i);
    let r = Math.round(v);
    if (Math.abs(v % 1) === 0.5 && r % 2 !== 0) r -= 1; // round half to even
    out[i] = Math.min(hi, Math.max(lo, r + z(i)));
  }
  return { kind: 'const', name, dims: x.dims, dtype: zpType, data: out };
}

// ---- post-pass: relu fusion, dead node removal, compact tensor ids ----

function finalizeGraph(raw: Graph, fuseRelu: boolean): Graph {
  let nodes = raw.nodes.map((n) => ({ ...n })) as Node[];
  const countConsumers = (): Map<TensorId, number> => {
    const m = new Map<TensorId, number>();
    for (const n of nodes) for (const t of nodeInputs(n)) m.set(t, (m.get(t) ?? 0) + 1);
    return m;
  };
  if (fuseRelu) {
    const consumers = countConsumers();
    const prodOf = new Map<TensorId, Node>();
    for (const n of nodes) for (const t of nodeOutputs(n)) prodOf.set(t, n);
    const drop = new Set<Node>();
    for (const n of nodes) {
      if (n.op !== 'relu') continue;
      const p = prodOf.get(n.input);
      if (!p || raw.output === n.input || consumers.get(n.input) !== 1) continue;
      if ((p.op === 'conv' || p.op === 'fc' || p.op === 'add' || p.op === 'maxpool' || p.op === 'avgpool') && !p.relu) {
        p.relu = true;
        p.output = n.output;
        prodOf.set(n.output, p);
        drop.add(n);
      }
    }
    nodes = nodes.filter((n) => !drop.has(n));
  }
  // dead nodes
  const live = new Set<TensorId>([raw.output]);
  const keep: Node[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (nodeOutputs(n).some((t) => live.has(t))) {
      keep.push(n);
      for (const t of nodeInputs(n)) live.add(t);
    }
  }
  keep.reverse();
  // renumber
  const map = new Map<TensorId, TensorId>();
  const tensors: TensorInfo[] = [];
  const id = (t: TensorId): TensorId => {
    let r = map.get(t);
    if (r === undefined) {
      r = tensors.length;
      map.set(t, r);
      const info = raw.tensors[t];
      tensors.push({ id: r, name: info.name, channels: info.channels });
    }
    return r;
  };
  id(raw.input);
  const out: Node[] = keep.map((n) => {
    switch (n.op) {
      case 'add': return { ...n, inputs: [id(n.inputs[0]), id(n.inputs[1])] as [TensorId, TensorId], output: id(n.output) };
      case 'concat': return { ...n, inputs: n.inputs.map(id), output: id(n.output) };
      case 'split': return { ...n, input: id(n.input), outputs: n.outputs.map(id) };
      case 'conv': {
        const c: ConvNode = { ...n, input: id(n.input), output: id(n.output) };
        if (n.residual !== undefined) c.residual = id(n.residual);
        return c;
      }
      default: return { ...n, input: id(n.input), output: id(n.output) };
    }
  });
  // conv with residual: output id must come after residual; ids are assigned in use order, fine.
  const totalChannels = tensors.reduce((sum, t) => sum + t.channels, 0);
  if (totalChannels > MAX_TOTAL_CHANNELS) {
    throw new ShuffleNetError('E_LIMIT', `the graph's feature maps have ${totalChannels} channels in all; the limit is ${MAX_TOTAL_CHANNELS} (2^19)`);
  }
  for (const n of out) {
    if (n.op !== 'conv' && n.op !== 'fc') continue;
    for (const [what, a] of [['weight', n.weight], ['bias', n.bias]] as const) {
      const i = firstNonFinite(a);
      if (i >= 0) {
        throw new ShuffleNetError('E_ONNX_PARSE', `${n.op} "${n.name}": its ${what} holds ${a[i]} at index ${i} (after dequantization and BatchNormalization folding); weights must be finite`);
      }
    }
  }
  return { tensors, nodes: out, input: id(raw.input), output: id(raw.output), inputChannels: raw.inputChannels };
}

function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v - v !== 0) return i; // NaN or +-Infinity
  }
  return -1;
}
