// The subset of onnx.proto (package onnx, proto2) this package reads and writes, as field
// tables for the wire codec in ./wire.ts. Field names and numbers are those of onnx/onnx.proto;
// fields not listed (sparse tensors, training info, functions, sequence/map types, ...) are
// skipped by the decoder as unknown fields. Enums are int32 fields. Repeated numbers are
// written packed where onnx.proto says [packed = true] and unpacked elsewhere (proto2's
// default); the decoder accepts both forms for every repeated number field.
import { decodeMessage, defineFields, encodeMessage, messageType, ONEOF, PACKED, REPEATED } from './wire.js';
import type { DecodeLimits } from './wire.js';

export const StringStringEntryProtoType = messageType('StringStringEntryProto');
export const OperatorSetIdProtoType = messageType('OperatorSetIdProto');
export const TensorShapeDimensionType = messageType('TensorShapeProto.Dimension');
export const TensorShapeProtoType = messageType('TensorShapeProto');
export const TypeProtoTensorType = messageType('TypeProto.Tensor');
export const TypeProtoType = messageType('TypeProto');
export const ValueInfoProtoType = messageType('ValueInfoProto');
export const TensorProtoType = messageType('TensorProto');
export const AttributeProtoType = messageType('AttributeProto');
export const NodeProtoType = messageType('NodeProto');
export const GraphProtoType = messageType('GraphProto');
export const ModelProtoType = messageType('ModelProto');

defineFields(StringStringEntryProtoType, [
  [1, 'key', 'string'],
  [2, 'value', 'string'],
]);
defineFields(OperatorSetIdProtoType, [
  [1, 'domain', 'string'],
  [2, 'version', 'int64'],
]);
defineFields(TensorShapeDimensionType, [
  [1, 'dim_value', 'int64', ONEOF], // oneof value { dim_value, dim_param }: both kept if both are sent
  [2, 'dim_param', 'string', ONEOF],
  [3, 'denotation', 'string'],
]);
defineFields(TensorShapeProtoType, [
  [1, 'dim', 'message', REPEATED, TensorShapeDimensionType],
]);
defineFields(TypeProtoTensorType, [
  [1, 'elem_type', 'int32'],
  [2, 'shape', 'message', 0, TensorShapeProtoType],
]);
defineFields(TypeProtoType, [
  [1, 'tensor_type', 'message', ONEOF, TypeProtoTensorType], // the only member of oneof value read
  [6, 'denotation', 'string'],
]);
defineFields(ValueInfoProtoType, [
  [1, 'name', 'string'],
  [2, 'type', 'message', 0, TypeProtoType],
  [3, 'doc_string', 'string'],
]);
defineFields(TensorProtoType, [
  [1, 'dims', 'int64', REPEATED],
  [2, 'data_type', 'int32'],
  [4, 'float_data', 'float', PACKED],
  [5, 'int32_data', 'int32', PACKED],
  [6, 'string_data', 'bytes', REPEATED],
  [7, 'int64_data', 'int64', PACKED],
  [8, 'name', 'string'],
  [9, 'raw_data', 'bytes'],
  [10, 'double_data', 'double', PACKED],
  [11, 'uint64_data', 'uint64', PACKED],
  [12, 'doc_string', 'string'],
  [13, 'external_data', 'message', REPEATED, StringStringEntryProtoType],
  [14, 'data_location', 'int32'], // enum DataLocation
]);
defineFields(AttributeProtoType, [
  [1, 'name', 'string'],
  [2, 'f', 'float'],
  [3, 'i', 'int64'],
  [4, 's', 'bytes'],
  [5, 't', 'message', 0, TensorProtoType],
  [6, 'g', 'message', 0, GraphProtoType],
  [7, 'floats', 'float', REPEATED],
  [8, 'ints', 'int64', REPEATED],
  [9, 'strings', 'bytes', REPEATED],
  [10, 'tensors', 'message', REPEATED, TensorProtoType],
  [11, 'graphs', 'message', REPEATED, GraphProtoType],
  [13, 'doc_string', 'string'],
  [20, 'type', 'int32'], // enum AttributeType
  [21, 'ref_attr_name', 'string'],
]);
defineFields(NodeProtoType, [
  [1, 'input', 'string', REPEATED],
  [2, 'output', 'string', REPEATED],
  [3, 'name', 'string'],
  [4, 'op_type', 'string'],
  [5, 'attribute', 'message', REPEATED, AttributeProtoType],
  [6, 'doc_string', 'string'],
  [7, 'domain', 'string'],
]);
defineFields(GraphProtoType, [
  [1, 'node', 'message', REPEATED, NodeProtoType],
  [2, 'name', 'string'],
  [5, 'initializer', 'message', REPEATED, TensorProtoType],
  [10, 'doc_string', 'string'],
  [11, 'input', 'message', REPEATED, ValueInfoProtoType],
  [12, 'output', 'message', REPEATED, ValueInfoProtoType],
  [13, 'value_info', 'message', REPEATED, ValueInfoProtoType],
]);
defineFields(ModelProtoType, [
  [1, 'ir_version', 'int64'],
  [2, 'producer_name', 'string'],
  [3, 'producer_version', 'string'],
  [4, 'domain', 'string'],
  [5, 'model_version', 'int64'],
  [6, 'doc_string', 'string'],
  [7, 'graph', 'message', 0, GraphProtoType],
  [8, 'opset_import', 'message', REPEATED, OperatorSetIdProtoType],
  [14, 'metadata_props', 'message', REPEATED, StringStringEntryProtoType],
]);

/** TensorProto.DataType values. */
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7,
  STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13,
} as const;

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5,
  FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10,
} as const;

// The decoded messages as plain objects: 64-bit integers as numbers, repeated fields always
// arrays, absent singular fields left out, bytes as Uint8Array views into the file.
export interface StringStringEntryProto { key?: string; value?: string }
export interface OperatorSetIdProto { domain?: string; version?: number }
export interface TensorShapeDimension { dim_value?: number; dim_param?: string; denotation?: string }
export interface TensorShapeProto { dim: TensorShapeDimension[] }
export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: TensorShapeProto };
  denotation?: string;
}
export interface ValueInfoProto { name?: string; type?: TypeProto; doc_string?: string }
export interface TensorProto {
  dims: number[];
  data_type?: number;
  float_data: number[];
  int32_data: number[];
  string_data: Uint8Array[];
  int64_data: number[];
  name?: string;
  doc_string?: string;
  raw_data?: Uint8Array;
  external_data: StringStringEntryProto[];
  data_location?: number;
  double_data: number[];
  uint64_data: number[];
}
export interface AttributeProto {
  name?: string;
  ref_attr_name?: string;
  doc_string?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats: number[];
  ints: number[];
  strings: Uint8Array[];
  tensors: TensorProto[];
  graphs: GraphProto[];
}
export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute: AttributeProto[];
  doc_string?: string;
}
export interface GraphProto {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  doc_string?: string;
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info: ValueInfoProto[];
}
export interface ModelProto {
  ir_version?: number;
  opset_import: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph?: GraphProto;
  metadata_props: StringStringEntryProto[];
}

/** Decodes a ModelProto with the given limits (parseOnnx in ./read.ts adds the checks of a whole model). */
export function decodeModelProto(bytes: Uint8Array, limits: DecodeLimits): ModelProto {
  return decodeMessage(bytes, ModelProtoType, limits) as unknown as ModelProto;
}

/** What encodeModelProto takes: the decoded shape with every field optional and 64-bit integers also as bigint. */
export type ProtoInput<T> = T extends Uint8Array ? Uint8Array
  : T extends (infer E)[] ? ProtoInput<E>[]
  : T extends object ? { [K in keyof T]?: ProtoInput<T[K]> | null }
  : T extends number ? number | bigint : T;

/** Encodes a ModelProto (the writer, tests and the fuzzer). Wrong value types -> E_ARGUMENT. */
export function encodeModelProto(model: ProtoInput<ModelProto>): Uint8Array {
  return encodeMessage(ModelProtoType, model);
}
