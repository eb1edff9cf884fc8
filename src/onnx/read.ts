// Decoding an ONNX file into plain objects, and turning its tensors into numbers, with
// limits checked before anything large is allocated.
import { ShuffleNetError } from '../../bindings/errors.js';
import { DataType, modelProtoType, ONNX_SCHEMA_JSON, TO_OBJECT_OPTIONS } from './schema.js';
import type { ModelProto, TensorProto } from './schema.js';

/** Largest model file accepted (bytes). */
export const MAX_MODEL_BYTES = 512 * 1024 * 1024;
/** Largest single tensor dimension. */
export const MAX_DIM = 1 << 24;
/** Largest tensor element count. */
export const MAX_ELEMENTS = 1 << 28;
/** Most nodes in a model (all graphs together). */
export const MAX_NODES = 10_000;
/** Most objects the protobuf decoder may create: messages, strings, byte fields, 64-bit integers. */
export const MAX_DECODED_OBJECTS = 1 << 18;
/** Most values in repeated float / double / 32-bit integer fields (each a JS number once decoded). */
export const MAX_DECODED_NUMBERS = 1 << 24;
/** Most bytes of text (names, doc strings...) in the file. */
export const MAX_STRING_BYTES = 1 << 26;
/** Deepest nesting of protobuf messages (a model, its graph, a node, an attribute: 4). */
export const MAX_NESTING = 32;
/** Most values in all initializers and Constant tensors together (64 MiB as float32; ShuffleNet v2 2.0x has 7.4M). */
export const MAX_WEIGHT_ELEMENTS = 1 << 24;
/** Most constant values the importer may materialize: decoded, dequantized, cast, copied into layers. */
export const MAX_IMPORT_ELEMENTS = 1 << 26;
/** Most channels of one feature map. */
export const MAX_CHANNELS = 1 << 16;
/** Most channels summed over all feature maps of an imported graph. */
export const MAX_TOTAL_CHANNELS = 1 << 19;
/** Longest shape vector (Reshape targets and the shape arithmetic feeding them). */
export const MAX_SHAPE_LENGTH = 64;

/** Decodes an ONNX ModelProto. Throws E_LIMIT for files over 512 MiB, E_ONNX_PARSE for malformed bytes. */
export function parseOnnx(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array)) {
    throw new ShuffleNetError('E_ARGUMENT', 'parseOnnx expects the model file as a Uint8Array');
  }
  if (bytes.byteLength > MAX_MODEL_BYTES) {
    throw new ShuffleNetError('E_LIMIT', `model file is ${bytes.byteLength} bytes; the limit is ${MAX_MODEL_BYTES} (512 MiB)`);
  }
  if (bytes.byteLength === 0) throw new ShuffleNetError('E_ONNX_PARSE', 'model file is empty');
  scanWire(bytes);
  const type = modelProtoType();
  let model: ModelProto;
  try {
    const msg = type.decode(bytes);
    model = type.toObject(msg, TO_OBJECT_OPTIONS) as ModelProto;
  } catch (e) {
    throw new ShuffleNetError('E_ONNX_PARSE', `not a well-formed ONNX protobuf: ${(e as Error)?.message ?? String(e)}`);
  }
  if (!model.graph) throw new ShuffleNetError('E_ONNX_PARSE', 'the ModelProto has no graph');
  return model;
}

// ---- wire pre-scan ----
//
// protobufjs turns every message, string and 64-bit integer into a JS object, so a few MB of
// crafted bytes (a million empty nodes, a packed int64 field of one-byte varints) would decode
// into gigabytes of heap and kill the process. scanWire walks the wire format once, without
// allocating, following the schema, and throws E_LIMIT when the decoded model would exceed the
// limits above (and E_ONNX_PARSE for lengths that run past their message).

type WireField =
  | { kind: 'message'; msg: WireMessage }
  | { kind: 'string' | 'bytes' }
  | { kind: 'number'; wire: 0 | 1 | 5; long: boolean };
interface WireMessage { name: string; fields: Map<number, WireField> }

let wireModel: WireMessage | undefined;

function wireSchema(): WireMessage {
  if (wireModel) return wireModel;
  type JsonNs = { fields?: Record<string, { type: string; id: number }>; values?: object; nested?: Record<string, JsonNs> };
  const root = (ONNX_SCHEMA_JSON as unknown as { nested: { onnx: JsonNs } }).nested.onnx;
  const messages = new Map<JsonNs, WireMessage>();
  const resolve = (name: string, scope: JsonNs[]): JsonNs | undefined => {
    for (let i = scope.length - 1; i >= 0; i--) { const n = scope[i].nested?.[name]; if (n) return n; }
    return undefined;
  };
  const build = (ns: JsonNs, name: string, scope: JsonNs[]): WireMessage => {
    let m = messages.get(ns);
    if (m) return m;
    m = { name, fields: new Map() };
    messages.set(ns, m);
    const inner = [...scope, ns];
    for (const f of Object.values(ns.fields ?? {})) {
      const t = f.type;
      let wf: WireField;
      if (t === 'string' || t === 'bytes') wf = { kind: t };
      else if (t === 'int64' || t === 'uint64' || t === 'sint64') wf = { kind: 'number', wire: 0, long: true };
      else if (t === 'fixed64' || t === 'sfixed64') wf = { kind: 'number', wire: 1, long: true };
      else if (t === 'double') wf = { kind: 'number', wire: 1, long: false };
      else if (t === 'float' || t === 'fixed32' || t === 'sfixed32') wf = { kind: 'number', wire: 5, long: false };
      else if (t === 'int32' || t === 'uint32' || t === 'sint32' || t === 'bool') wf = { kind: 'number', wire: 0, long: false };
      else {
        const target = resolve(t, inner);
        if (!target) throw new Error(`onnx schema: unknown type ${t}`);
        wf = target.values ? { kind: 'number', wire: 0, long: false } : { kind: 'message', msg: build(target, t, inner) };
      }
      m.fields.set(f.id, wf);
    }
    return m;
  };
  wireModel = build(root.nested!.ModelProto, 'ModelProto', [root]);
  return wireModel;
}

function scanWire(buf: Uint8Array): void {
  const count = { objects: 0, numbers: 0, strings: 0, nodes: 0 };
  const bad = (what: string, at: number): never => {
    throw new ShuffleNetError('E_ONNX_PARSE', `not a well-formed ONNX protobuf: ${what} at byte ${at}`);
  };
  const limit = (what: string, n: number, max: number): never => {
    throw new ShuffleNetError('E_LIMIT', `the model holds ${what} (at least ${n}); the limit is ${max}`);
  };
  let pos = 0;
  const varint = (end: number): number => {
    let v = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) bad('truncated varint', pos);
      const b = buf[pos++];
      if (i < 8) v += (b & 0x7f) * mul; // exact up to 2^56, enough for lengths and tags
      mul *= 128;
      if (b < 0x80) return v;
    }
    return bad('varint longer than 10 bytes', pos);
  };
  const addObjects = (n: number): void => {
    count.objects += n;
    if (count.objects > MAX_DECODED_OBJECTS) limit('too many protobuf objects (messages, strings, 64-bit integers)', count.objects, MAX_DECODED_OBJECTS);
  };
  const addNumbers = (n: number): void => {
    count.numbers += n;
    if (count.numbers > MAX_DECODED_NUMBERS) limit('too many values in repeated numeric fields', count.numbers, MAX_DECODED_NUMBERS);
  };
  const scan = (msg: WireMessage, end: number, depth: number): void => {
    if (depth > MAX_NESTING) limit('messages nested too deeply', depth, MAX_NESTING);
    while (pos < end) {
      const at = pos;
      const tag = varint(end);
      const id = Math.floor(tag / 8), wire = tag % 8;
      if (id === 0 || tag > 0xffffffff) bad(`invalid field number ${id}`, at);
      const f = msg.fields.get(id);
      switch (wire) {
        case 0: varint(end); break;
        case 1: pos += 8; break;
        case 5: pos += 4; break;
        case 2: {
          const len = varint(end);
          if (len > end - pos) bad(`length ${len} runs past the end of its message`, pos);
          const stop = pos + len;
          if (f?.kind === 'message') {
            addObjects(1);
            if (f.msg.name === 'NodeProto' && ++count.nodes > MAX_NODES) limit('too many nodes', count.nodes, MAX_NODES);
            scan(f.msg, stop, depth + 1);
          } else if (f?.kind === 'string' || f?.kind === 'bytes') {
            addObjects(1);
            if (f.kind === 'string') {
              count.strings += len;
              if (count.strings > MAX_STRING_BYTES) limit('too many bytes of text', count.strings, MAX_STRING_BYTES);
            }
          } else if (f?.kind === 'number') {
            // packed repeated values
            let n: number;
            if (f.wire === 5) n = Math.ceil(len / 4);
            else if (f.wire === 1) n = Math.ceil(len / 8);
            else { n = 1; for (let i = pos; i < stop; i++) if (buf[i] < 0x80) n++; }
            if (f.long) addObjects(n); else addNumbers(n);
          }
          pos = stop;
          continue;
        }
        default:
          bad(`unsupported wire type ${wire}`, at);
      }
      if (pos > end) bad('a value runs past the end of its message', at);
      if (f?.kind === 'number' && f.wire === wire) {
        if (f.long) addObjects(1); else addNumbers(1);
      }
    }
  };
  scan(wireSchema(), buf.length, 0);
}

export function dataTypeName(t: number | undefined): string {
  for (const [k, v] of Object.entries(DataType)) if (v === t) return k;
  return `data type ${t}`;
}

function label(t: TensorProto, name?: string): string {
  return `tensor "${name ?? t.name ?? '(unnamed)'}"`;
}

/** The tensor's dims as numbers, checked against the limits (E_LIMIT) and for sanity (E_ONNX_PARSE). */
export function tensorDims(t: TensorProto, name?: string): number[] {
  const dims = t.dims ?? [];
  let count = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ShuffleNetError('E_ONNX_PARSE', `${label(t, name)} has dimension ${d}`);
    if (d > MAX_DIM) throw new ShuffleNetError('E_LIMIT', `${label(t, name)} has dimension ${d}; the limit is ${MAX_DIM}`);
    count *= d;
    if (count > MAX_ELEMENTS) {
      throw new ShuffleNetError('E_LIMIT', `${label(t, name)} dims [${dims}] exceed ${MAX_ELEMENTS} elements`);
    }
  }
  return dims.slice();
}

export function tensorElementCount(t: TensorProto, name?: string): number {
  return tensorDims(t, name).reduce((a, b) => a * b, 1);
}

/** Throws E_UNSUPPORTED_OP when the tensor's data lives outside the file (external data). */
export function checkInline(t: TensorProto, name?: string): void {
  if (t.data_location === 1 || (t.external_data && t.external_data.length > 0)) {
    const loc = t.external_data?.find((e) => e.key === 'location')?.value;
    throw new ShuffleNetError('E_UNSUPPORTED_OP',
      `${label(t, name)} stores its data externally${loc ? ` (in "${loc}")` : ''}; only weights inside the .onnx file are supported`);
  }
}

const RAW_SIZE: Record<number, number> = {
  [DataType.FLOAT]: 4, [DataType.UINT8]: 1, [DataType.INT8]: 1, [DataType.INT16]: 2, [DataType.UINT16]: 2,
  [DataType.INT32]: 4, [DataType.INT64]: 8, [DataType.DOUBLE]: 8, [DataType.BOOL]: 1,
};

/**
 * The tensor's values as Float64 numbers (exact for every supported type but INT64 beyond 2^53).
 * Supports FLOAT, DOUBLE, INT8, UINT8, INT16, UINT16, INT32, INT64, BOOL in raw_data or the typed fields.
 */
export function tensorValues(t: TensorProto, name?: string): Float64Array | Float32Array {
  checkInline(t, name);
  const n = tensorElementCount(t, name);
  const dt = t.data_type ?? 0;
  const size = RAW_SIZE[dt];
  if (size === undefined) {
    throw new ShuffleNetError('E_UNSUPPORTED_OP', `${label(t, name)} has type ${dataTypeName(dt)}; supported: FLOAT, DOUBLE, INT8, UINT8, INT16, UINT16, INT32, INT64, BOOL`);
  }
  const raw = t.raw_data;
  if (raw && raw.byteLength > 0) {
    const typed = (t.float_data?.length ?? 0) + (t.int32_data?.length ?? 0) + (t.int64_data?.length ?? 0) + (t.double_data?.length ?? 0) + (t.uint64_data?.length ?? 0);
    if (typed > 0) throw new ShuffleNetError('E_ONNX_PARSE', `${label(t, name)} has both raw_data and ${typed} typed values`);
    if (raw.byteLength !== n * size) {
      throw new ShuffleNetError('E_ONNX_PARSE',
        `${label(t, name)}: dims [${t.dims}] need ${n} ${dataTypeName(dt)} values (${n * size} bytes) but raw_data has ${raw.byteLength} bytes`);
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (dt === DataType.FLOAT) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    const out = new Float64Array(n);
    switch (dt) {
      case DataType.UINT8: case DataType.BOOL: for (let i = 0; i < n; i++) out[i] = view.getUint8(i); break;
      case DataType.INT8: for (let i = 0; i < n; i++) out[i] = view.getInt8(i); break;
      case DataType.INT16: for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true); break;
      case DataType.UINT16: for (let i = 0; i < n; i++) out[i] = view.getUint16(i * 2, true); break;
      case DataType.INT32: for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true); break;
      case DataType.DOUBLE: for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true); break;
      case DataType.INT64:
        for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 8 + 4, true) * 4294967296 + view.getUint32(i * 8, true);
        break;
    }
    return out;
  }
  let src: number[];
  let field: string;
  switch (dt) {
    case DataType.FLOAT: src = t.float_data ?? []; field = 'float_data'; break;
    case DataType.DOUBLE: src = t.double_data ?? []; field = 'double_data'; break;
    case DataType.INT64: src = t.int64_data ?? []; field = 'int64_data'; break;
    default: src = t.int32_data ?? []; field = 'int32_data';
  }
  if (src.length !== n) {
    throw new ShuffleNetError('E_ONNX_PARSE',
      `${label(t, name)}: dims [${t.dims}] need ${n} values but ${src.length} are present (raw_data empty, ${field} has ${src.length})`);
  }
  return dt === DataType.FLOAT ? Float32Array.from(src) : Float64Array.from(src);
}

/** A FLOAT / integer tensor as Float32Array (INT8/UINT8/INT32 weights, zero points, fp32 weights). */
export function tensorToFloat32(t: TensorProto, name?: string): Float32Array {
  const v = tensorValues(t, name);
  return v instanceof Float32Array ? v : Float32Array.from(v);
}

/** A tensor's values as plain numbers (for shapes, axes, starts/ends: INT64/INT32). */
export function tensorToNumbers(t: TensorProto, name?: string): number[] {
  return Array.from(tensorValues(t, name));
}
