// Decoding an ONNX file into plain objects, and turning its tensors into numbers, with
// limits checked before anything large is allocated.
import { ShuffleNetError } from '../../bindings/errors.js';
import { DataType, decodeModelProto, NodeProtoType } from './schema.js';
import type { ModelProto, TensorProto } from './schema.js';

/** Largest model file accepted (bytes). */
export const MAX_MODEL_BYTES = 512 * 1024 * 1024;
/** Largest single tensor dimension. */
export const MAX_DIM = 1 << 24;
/** Largest tensor element count. */
export const MAX_ELEMENTS = 1 << 28;
/** Most nodes in a model (all graphs together). */
export const MAX_NODES = 10_000;
/** Most objects the protobuf decoder may create: messages, strings, byte fields; 64-bit integers count too (they were objects under protobufjs; kept so the limit means what it did). */
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
  // The decoder checks every limit below before it creates what the limit counts (./wire.ts).
  let nodes = 0;
  const model = decodeModelProto(bytes, {
    maxObjects: MAX_DECODED_OBJECTS,
    maxNumbers: MAX_DECODED_NUMBERS,
    maxTextBytes: MAX_STRING_BYTES,
    maxDepth: MAX_NESTING,
    onMessage: (type) => {
      if (type === NodeProtoType && ++nodes > MAX_NODES) {
        throw new ShuffleNetError('E_LIMIT', `the model holds too many nodes (at least ${nodes}); the limit is ${MAX_NODES}`);
      }
    },
  });
  if (!model.graph) throw new ShuffleNetError('E_ONNX_PARSE', 'the ModelProto has no graph');
  return model;
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
