// The protobuf wire codec of the ONNX reader and writer (src/onnx/wire.ts, schema.ts): round
// trips, both encodings of repeated numbers, unknown fields, 64-bit integers, and malformed
// bytes. Test files are written byte by byte here, independently of the encoder under test.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { dataPath } from './data.mjs';
import { parseOnnx } from '../dist/esm/src/onnx/read.js';
import { encodeModelProto } from '../dist/esm/src/onnx/schema.js';
import { writeOnnx } from '../dist/esm/src/onnx/write.js';
import { buildGraph } from '../dist/esm/src/index.js';

// ---------- hand encoding ----------

/** a varint of any 64-bit value (negative: two's complement, 10 bytes) */
function varint(v) {
  let x = BigInt.asUintN(64, BigInt(v));
  const o = [];
  while (x > 127n) { o.push(Number(x & 127n) | 128); x >>= 7n; }
  o.push(Number(x));
  return o;
}
const tag = (id, wire) => varint(id * 8 + wire);
const vf = (id, v) => [...tag(id, 0), ...varint(v)];
const lf = (id, bytes) => [...tag(id, 2), ...varint(bytes.length), ...bytes];
const sf = (id, s) => lf(id, [...new TextEncoder().encode(s)]);
const f32 = (...xs) => [...new Uint8Array(Float32Array.from(xs).buffer)];
const f64 = (...xs) => [...new Uint8Array(Float64Array.from(xs).buffer)];
const u8 = (a) => Uint8Array.from(a);
/** a ModelProto: ir_version 7, opset 13, the graph body, then `extra` model fields */
const model = (graph, extra = []) => u8([...vf(1, 7), ...lf(8, vf(2, 13)), ...lf(7, graph), ...extra]);
const tensorIn = (tensor) => model(lf(5, tensor)); // GraphProto.initializer
const firstTensor = (bytes) => parseOnnx(bytes).graph.initializer[0];

function expectParseError(bytes, ...parts) {
  try {
    parseOnnx(bytes);
  } catch (e) {
    assert.is(e.code, 'E_ONNX_PARSE', `expected E_ONNX_PARSE, got ${e.code}: ${e.message}`);
    for (const p of [...parts, 'at byte']) assert.ok(e.message.includes(p), `message "${e.message}" should mention "${p}"`);
    return e;
  }
  assert.unreachable('expected E_ONNX_PARSE');
}

// ---------- round trips ----------

const tensor = (name, seed) => ({
  dims: [2, 3, 2 ** 40, -1, -(2 ** 53)], data_type: 1 + seed, float_data: [1.5, -2, 0, 0.25], int32_data: [-1, 7, 2 ** 31 - 1, -(2 ** 31)],
  string_data: [u8([1, 2]), u8([])], int64_data: [-(2 ** 53), 2 ** 53 - 1, 0, -5], name, doc_string: `doc of ${name}`, raw_data: u8([9, 8, seed]),
  external_data: [{ key: 'location', value: 'x.bin' }], data_location: 1, double_data: [Math.PI, -0.5, 1e300], uint64_data: [2 ** 53 - 1, 0, 1],
});
const valueInfo = (name) => ({
  name, doc_string: 'vi',
  type: { denotation: 'TENSOR', tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 0 }, { dim_param: 'N' }, { dim_value: 224, denotation: 'DATA_CHANNEL' }, { dim_param: '' }] } } },
});
const graph = (name, depth) => ({
  node: [{
    input: ['x', '', 'w'], output: ['y'], name: `${name}/n`, op_type: 'Conv', domain: 'ai.onnx', doc_string: 'node',
    attribute: [
      { name: 'f', type: 1, f: -1.25, doc_string: 'a', ref_attr_name: 'r' },
      { name: 'i', type: 2, i: -(2 ** 40) },
      { name: 's', type: 3, s: u8([0x68, 0xc3, 0xa9]) },
      { name: 't', type: 4, t: tensor('attr', 2) },
      ...(depth > 0 ? [{ name: 'g', type: 5, g: graph(`${name}/g`, depth - 1) }, { name: 'gs', type: 10, graphs: [graph(`${name}/gs`, depth - 1)] }] : []),
      { name: 'fs', type: 6, floats: [0.5, -3, 0] },
      { name: 'is', type: 7, ints: [1, -1, 0, 2 ** 53 - 1] },
      { name: 'ss', type: 8, strings: [u8([]), u8([255])] },
      { name: 'ts', type: 9, tensors: [tensor('t1', 3), tensor('t2', 4)] },
    ].map((a) => ({ floats: [], ints: [], strings: [], tensors: [], graphs: [], ...a })),
  }],
  name, initializer: [tensor(`${name}/w`, 0)], doc_string: 'graph doc',
  input: [valueInfo('x')], output: [valueInfo('y')], value_info: [valueInfo('z')],
});
const everything = {
  ir_version: 9, opset_import: [{ version: 13 }, { domain: 'com.microsoft', version: 1 }], producer_name: 'p', producer_version: '1.0',
  domain: 'org.test', model_version: -3, doc_string: 'ünïcode ✓', graph: graph('main', 2), metadata_props: [{ key: 'k', value: 'v' }, { key: '', value: '' }],
};

test('round trip: every field of every message, encodeModelProto -> parseOnnx -> encodeModelProto', () => {
  const bytes = encodeModelProto(everything);
  const back = parseOnnx(bytes);
  // metadata { key: '', value: '' } reads back as {} (proto3 implicit presence, as before)
  assert.equal(back, { ...everything, metadata_props: [{ key: 'k', value: 'v' }, {}] });
  assert.equal(encodeModelProto(back), bytes, 'a second encoding gives the same bytes');
});

test('round trip: writeOnnx -> parseOnnx gives the written structure, and re-encodes to the same bytes', () => {
  for (const [g, opts] of [
    [buildGraph({ arch: 'v2', width: 0.5 }), {}],
    [buildGraph({ arch: 'v1', width: 0.25, groups: 3 }), { splitAs: 'Slice', headAs: 'MatMul', poolAs: 'ReduceMean', unfoldBatchNorm: true, height: 32, width: 32, opset: 18, batch: 1 }],
    [buildGraph({ arch: 'v2', width: 0.5 }), { opset: 9, splitAs: 'Slice', poolAs: 'ReduceMeanKeepDims' }],
  ]) {
    const bytes = writeOnnx(g, opts);
    const m = parseOnnx(bytes);
    assert.is(m.ir_version, opts.opset === 18 ? 8 : opts.opset === 9 ? 4 : 7);
    assert.equal(m.opset_import, [{ version: opts.opset ?? 13 }]);
    assert.is(m.producer_name, 'shufflenet-wasm');
    assert.is(m.graph.input[0].name, 'input');
    assert.equal(m.graph.input[0].type.tensor_type.shape.dim.map((d) => d.dim_value ?? d.dim_param),
      [opts.batch ?? 'N', 3, opts.height ?? 'H', opts.width ?? 'W']);
    const convs = m.graph.node.filter((n) => n.op_type === 'Conv');
    assert.is(convs.length, g.nodes.filter((n) => n.op === 'conv').length);
    const inits = new Map(m.graph.initializer.map((t) => [t.name, t]));
    for (const c of convs) {
      const w = inits.get(c.input[1]);
      assert.is(w.data_type, 1);
      assert.is(w.raw_data.length, 4 * w.dims.reduce((a, b) => a * b, 1), `${w.name}: raw_data size`);
      assert.is(w.raw_data.buffer, bytes.buffer, 'raw_data is a view into the file, not a copy');
      assert.ok(c.attribute.find((a) => a.name === 'group').i >= 1);
    }
    assert.equal(encodeModelProto(m), bytes, 'decode -> encode reproduces the writer bytes');
  }
});

test('round trip: the zoo files decode, re-encode and decode to the same objects', () => {
  for (const f of ['models/shufflenet_v2_x1_0_dequant_fp32.onnx', 'models/shufflenet-v2-12-qdq.onnx']) {
    const bytes = new Uint8Array(readFileSync(dataPath(f)));
    const m = parseOnnx(bytes);
    assert.ok(m.graph.node.length > 100 && m.graph.initializer.length > 50, f);
    const again = encodeModelProto(m);
    // the files carry a few zero-valued fields, which the encoder leaves out: a few bytes shorter
    assert.ok(again.length <= bytes.length && again.length > bytes.length - 64, `${f}: ${again.length} vs ${bytes.length} bytes`);
    assert.equal(parseOnnx(again), m, f);
  }
});

// ---------- wire forms ----------

test('wire: packed and unpacked repeated numbers read alike, and may be mixed', () => {
  const name = sf(8, 't');
  const forms = {
    float_data: [[...lf(4, f32(1.5, -2, 0.25))], [...tag(4, 5), ...f32(1.5), ...tag(4, 5), ...f32(-2), ...tag(4, 5), ...f32(0.25)],
      [...tag(4, 5), ...f32(1.5), ...lf(4, f32(-2, 0.25))]],
    double_data: [[...lf(10, f64(Math.PI, -1))], [...tag(10, 1), ...f64(Math.PI), ...tag(10, 1), ...f64(-1)]],
    int64_data: [[...lf(7, [...varint(-1), ...varint(2 ** 40), ...varint(3)])], [...vf(7, -1), ...vf(7, 2 ** 40), ...vf(7, 3)],
      [...vf(7, -1), ...lf(7, [...varint(2 ** 40), ...varint(3)])]],
    int32_data: [[...lf(5, [...varint(-7), ...varint(300)])], [...vf(5, -7), ...vf(5, 300)]],
    uint64_data: [[...lf(11, [...varint(2 ** 53 - 1), ...varint(0)])], [...vf(11, 2 ** 53 - 1), ...vf(11, 0)]],
    dims: [[...vf(1, 4), ...vf(1, -1)], [...lf(1, [...varint(4), ...varint(-1)])]],
  };
  const expected = { float_data: [1.5, -2, 0.25], double_data: [Math.PI, -1], int64_data: [-1, 2 ** 40, 3], int32_data: [-7, 300], uint64_data: [2 ** 53 - 1, 0], dims: [4, -1] };
  for (const [field, variants] of Object.entries(forms)) {
    for (const v of variants) assert.equal(firstTensor(tensorIn([...name, ...v]))[field], expected[field], `${field} from ${Buffer.from(v).toString('hex')}`);
  }
  // AttributeProto floats / ints (written unpacked, onnx.proto's default) read packed too
  const attr = (body) => parseOnnx(model(lf(1, lf(5, [...sf(1, 'a'), ...body])))).graph.node[0].attribute[0];
  assert.equal(attr(lf(7, f32(0.5, 2))).floats, [0.5, 2]);
  assert.equal(attr(lf(8, [...varint(-2), ...varint(5)])).ints, [-2, 5]);
  // the encoder writes float_data packed and dims / ints unpacked, as onnx.proto declares
  const enc = encodeModelProto({ graph: { initializer: [{ dims: [4, -1], float_data: [1.5] }], node: [{ attribute: [{ ints: [3] }] }] } });
  assert.equal([...enc], [...lf(7, [...lf(1, lf(5, vf(8, 3))), ...lf(5, [...vf(1, 4), ...vf(1, -1), ...lf(4, f32(1.5))])])]);
});

test('wire: unknown fields of every wire type, and known fields with another wire type, are skipped at every level', () => {
  const junk = [
    ...vf(99, 300), ...tag(98, 1), ...f64(1), ...lf(97, [1, 2, 3]), ...tag(96, 5), ...f32(2),
    ...vf(2 ** 29 - 1, -1), ...lf(15, lf(1, [0xff])), // the largest field number; a nested message of an unknown field
  ];
  const build = (j, wrong = []) => model([
    ...j, ...lf(1, [...j, ...sf(4, 'Relu'), ...wrong, ...lf(5, [...sf(1, 'alpha'), ...j, ...tag(2, 5), ...f32(0.5)])]),
    ...lf(5, [...sf(8, 'w'), ...j, ...vf(1, 3), ...lf(9, [1, 2, 3])]),
    ...lf(11, [...sf(1, 'x'), ...j, ...lf(2, [...j, ...lf(1, [...j, ...vf(1, 1), ...lf(2, [...j, ...lf(1, [...j, ...vf(1, 5)])])])])]),
  ], j);
  const clean = parseOnnx(build([]));
  assert.is(clean.graph.node[0].attribute[0].f, 0.5);
  assert.equal(clean.graph.input[0].type.tensor_type.shape.dim, [{ dim_value: 5 }]);
  assert.equal(parseOnnx(build(junk)), clean);
  // NodeProto.name (a string) sent as a varint, input (strings) as a fixed32: skipped, as protobuf C++ does
  assert.equal(parseOnnx(build([], [...vf(3, 7), ...tag(1, 5), ...f32(1)])), clean);
});

test('wire: negative int64s, 10-byte varints, the INT64 sentinels; beyond 2^53 -> E_ONNX_PARSE', () => {
  const dims = (...vs) => firstTensor(tensorIn(vs.flatMap((v) => vf(1, v)))).dims;
  assert.equal(dims(-1, -(2 ** 40), -(2 ** 53), 2 ** 53 - 1), [-1, -(2 ** 40), -(2 ** 53), 2 ** 53 - 1]);
  assert.is(varint(-1).length, 10);
  // INT64_MAX / INT64_MIN ("no bound" in Slice ends and the like) become +-2^63
  assert.equal(dims(9223372036854775807n, -9223372036854775808n), [2 ** 63, -(2 ** 63)]);
  // a non-canonical 10-byte varint for 1; a negative int32 (data_type) as 10 bytes
  const t = firstTensor(tensorIn([...tag(1, 0), 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, ...vf(2, -1)]));
  assert.equal(t.dims, [1]);
  assert.is(t.data_type, -1);
  const e = expectParseError(tensorIn(vf(1, 2 ** 53)), 'int64 value 9007199254740992', 'TensorProto.dims', '2^53');
  assert.ok(e.message.includes('at byte'));
  expectParseError(tensorIn(vf(1, -(2n ** 53n) - 1n)), 'int64 value -9007199254740993');
  expectParseError(tensorIn(lf(7, varint(2n ** 62n))), 'TensorProto.int64_data');
  expectParseError(tensorIn(vf(11, 2 ** 53)), 'uint64 value 9007199254740992', 'TensorProto.uint64_data');
  expectParseError(u8(vf(1, 2n ** 60n)), 'ModelProto.ir_version');
  expectParseError(model(lf(1, lf(5, vf(3, -(2n ** 60n))))), 'AttributeProto.i');
});

test('wire: malformed bytes -> E_ONNX_PARSE naming what is wrong and where', () => {
  expectParseError(u8([0x08, 0x80]), 'truncated varint', 'byte 1');
  expectParseError(u8([0x80]), 'truncated varint', 'byte 0');
  // a varint cut by the end of its own message, with more bytes in the file after it
  expectParseError(model(lf(1, [0x22, 0x80]), vf(5, 1)), 'truncated varint');
  expectParseError(tensorIn(lf(7, [0x05, 0x80])), 'truncated varint in packed TensorProto.int64_data');
  expectParseError(u8([0x08, ...Array(10).fill(0x80), 0x01]), 'varint longer than 10 bytes');
  expectParseError(u8([0x3a, 100, 1, 2, 3]), 'ModelProto.graph', 'length 100 runs past the end');
  expectParseError(model(lf(1, [0x22, 5, 0x52])), 'NodeProto.op_type', 'runs past the end');
  expectParseError(u8([...vf(1, 7), ...tag(90, 2), 9, 1]), 'field 90', 'runs past the end');
  expectParseError(u8([...vf(1, 7), ...tag(90, 5), 1, 2]), 'field 90', 'runs past the end');
  expectParseError(u8([...vf(1, 7), ...tag(90, 1), 1, 2, 3, 4]), 'field 90', 'runs past the end');
  expectParseError(model(lf(1, lf(5, [...tag(2, 5), 0, 0]))), 'float runs past the end of AttributeProto');
  expectParseError(u8([...vf(1, 7), ...tag(5, 3), ...tag(5, 4)]), 'wire type 3', 'group start');
  expectParseError(model([], tag(30, 4)), 'wire type 4', 'group end');
  expectParseError(model(lf(1, tag(3, 6))), 'field 3', 'wire type 6', 'does not exist');
  expectParseError(u8(tag(12, 7)), 'wire type 7');
  expectParseError(u8([0x00]), 'invalid field number 0');
  expectParseError(u8([0x02, 0x00]), 'invalid field number 0');
  expectParseError(u8([...vf(1, 7), ...varint(2 ** 32), 0x00]), 'invalid field number 536870912');
  expectParseError(tensorIn(lf(4, [0, 0, 0x80, 0x3f, 0])), 'packed float field TensorProto.float_data has 5 bytes, not a multiple of 4');
  expectParseError(tensorIn(lf(10, [1, 2, 3, 4])), 'TensorProto.double_data', 'not a multiple of 8');
  expectParseError(model(lf(1, lf(3, [0x61, 0xff, 0x62]))), 'NodeProto.name is not valid UTF-8');
  // no graph at all
  const e = expectParseErrorPlain(u8(vf(1, 7)));
  assert.match(e.message, /no graph/);
});

function expectParseErrorPlain(bytes) {
  try { parseOnnx(bytes); } catch (e) { assert.is(e.code, 'E_ONNX_PARSE'); return e; }
  return assert.unreachable('expected E_ONNX_PARSE');
}

test('wire: singular fields: the last one wins, a later default clears, oneof zeros are kept', () => {
  const t = firstTensor(tensorIn([...vf(2, 1), ...vf(2, 7), ...sf(8, 'a'), ...sf(8, 'b')]));
  assert.is(t.data_type, 7);
  assert.is(t.name, 'b');
  const cleared = firstTensor(tensorIn([...vf(2, 7), ...vf(2, 0), ...lf(9, [1]), ...lf(9, [])]));
  assert.not.ok('data_type' in cleared || 'raw_data' in cleared, JSON.stringify(Object.keys(cleared)));
  // zero on the wire: left out (as protobufjs read this schema), but a oneof member keeps it
  assert.not.ok('data_type' in firstTensor(tensorIn(vf(2, 0))));
  const vi = parseOnnx(model(lf(11, lf(2, lf(1, lf(2, [...lf(1, vf(1, 0)), ...lf(1, sf(2, ''))])))))).graph.input[0];
  assert.equal(vi.type.tensor_type.shape.dim, [{ dim_value: 0 }, { dim_param: '' }]);
  // every repeated field is an array even when absent
  assert.equal(Object.entries(firstTensor(tensorIn([]))).filter(([, v]) => Array.isArray(v)).map(([k]) => k).sort(),
    ['dims', 'double_data', 'external_data', 'float_data', 'int32_data', 'int64_data', 'string_data', 'uint64_data']);
});

test('encodeModelProto: defaults left out, 64-bit inputs, wrong value types -> E_ARGUMENT naming the field', () => {
  assert.is(encodeModelProto({ ir_version: 0, producer_name: '', model_version: null, doc_string: undefined, opset_import: [] }).length, 0);
  assert.equal([...encodeModelProto({ graph: { initializer: [{ data_type: 0, raw_data: u8([]), name: '' }], node: [{ attribute: [{ f: 0, i: 0, type: 0 }, { f: -0 }] }] } })],
    [...lf(7, [...lf(1, [...lf(5, []), ...lf(5, [...tag(2, 5), ...f32(-0)])]), ...lf(5, [])])], 'zeros left out, -0.0 kept');
  assert.equal([...encodeModelProto({ ir_version: 7n, model_version: -1 })], [...vf(1, 7), ...vf(5, -1)]);
  // numbers past the int64 range saturate, bigints are taken modulo 2^64, fractions are truncated
  assert.equal([...encodeModelProto({ ir_version: 2 ** 70, model_version: -(2 ** 70) })], [...vf(1, 2n ** 63n - 1n), ...vf(5, -(2n ** 63n))]);
  assert.equal([...encodeModelProto({ ir_version: 2n ** 64n + 3n, model_version: 2.9 })], [...vf(1, 3), ...vf(5, 2)]);
  const wrong = (obj, ...parts) => {
    try { encodeModelProto(obj); } catch (e) {
      assert.is(e.code, 'E_ARGUMENT', e.message);
      for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" should mention "${p}"`);
      return;
    }
    assert.unreachable('expected E_ARGUMENT');
  };
  wrong({ producer_name: 5 }, 'ModelProto.producer_name', 'a string');
  wrong({ ir_version: '7' }, 'ModelProto.ir_version', 'number or bigint');
  wrong({ graph: { node: 'x' } }, 'GraphProto.node', 'an array');
  wrong({ graph: { node: ['x'] } }, 'GraphProto.node', 'an object');
  wrong({ graph: { initializer: [{ raw_data: [1, 2] }] } }, 'TensorProto.raw_data', 'Uint8Array');
  wrong({ graph: { initializer: [{ float_data: ['1'] }] } }, 'TensorProto.float_data', 'a number');
  wrong({ graph: 7 }, 'ModelProto.graph');
});

test.run();
