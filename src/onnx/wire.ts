// Protocol Buffers wire format, decoded and encoded from field tables (src/onnx/schema.ts).
// No code is generated from strings (no eval / new Function, unlike protobufjs), so ONNX
// files load where that is forbidden: Cloudflare Workers, Vercel Edge, pages whose CSP lacks
// 'unsafe-eval', Node with --disallow-code-generation-from-strings.
//
// One decoder loop and one encoder loop serve every message: a message type is a table from
// field number to (name, kind, repeated, packed, nested type).
//
// Decoding gives plain objects: every repeated field an array (empty when absent), a singular
// field present only when the wire holds it with a value other than its default (0, '',
// empty bytes: proto3 implicit presence, the way protobufjs read this schema before; oneof
// members and messages whenever they are on the wire), no defaults filled in, 64-bit integers
// as JS numbers (an E_ONNX_PARSE beyond +-2^53, except the INT64_MAX / INT64_MIN sentinels
// that exporters write for "no bound", e.g. Slice ends, which become +-2^63), bytes as
// Uint8Array views into the input (no copy: a 9 MB weight file is not duplicated, and the
// importer copies every tensor it keeps anyway; the views keep the input buffer alive only as
// long as the decoded objects live). Repeated numeric fields are read both packed and
// unpacked. Unknown fields, and known fields sent with another wire type than their kind's
// (as the C++ protobuf runtime that onnxruntime uses does), are skipped. A singular field
// seen twice keeps the last value (for a nested message too, where protobuf would merge).
//
// Limits. Decoding walks the bytes twice with the same loop: first counting, allocating
// nothing, what the second walk would create (messages, strings, byte fields and 64-bit
// integers as "objects"; float / double / 32-bit values as "numbers"; bytes of text; nesting
// depth; the caller counts messages of a type, e.g. nodes), with every wire-format check, and
// throwing E_LIMIT or E_ONNX_PARSE at the first problem; then building the objects. Counting
// in the building walk instead would let a 2 MB file of empty TensorProtos build about
// 100 MB of objects before the object limit stopped it; the counting walk costs a few ms
// (fields are skipped by their length, weights are never touched).
import { ShuffleNetError } from '../../bindings/errors.js';

export type Kind = 'int32' | 'int64' | 'uint64' | 'float' | 'double' | 'string' | 'bytes' | 'message';

export interface Field {
  readonly id: number;
  readonly name: string;
  readonly kind: Kind;
  readonly repeated: boolean;
  /** encoder only: write this repeated number field packed (the decoder reads both forms) */
  readonly packed: boolean;
  /** a member of a oneof: decoded and written even when it holds its default (0, '') */
  readonly oneof: boolean;
  /** the wire type of one value of this kind */
  readonly wire: 0 | 1 | 2 | 5;
  /** the nested type of a 'message' field */
  readonly type?: MessageType;
}

export interface MessageType {
  readonly name: string;
  /** sorted by field number (the order the encoder writes) */
  readonly fields: Field[];
  /** fields indexed by field number */
  readonly byId: (Field | undefined)[];
}

/** [field number, name, kind, flags (REPEATED, PACKED or ONEOF), nested type] */
export type FieldSpec = readonly [number, string, Kind, number?, MessageType?];
export const REPEATED = 1;
export const PACKED = 3; // repeated, written packed
export const ONEOF = 4;

const WIRE: Record<Kind, 0 | 1 | 2 | 5> = { int32: 0, int64: 0, uint64: 0, float: 5, double: 1, string: 2, bytes: 2, message: 2 };

/** A message type with no fields yet (types refer to each other: create them all, then define). */
export function messageType(name: string): MessageType {
  return { name, fields: [], byId: [] };
}

export function defineFields(type: MessageType, specs: readonly FieldSpec[]): void {
  for (const [id, name, kind, flags = 0, nested] of specs) {
    if ((kind === 'message') !== (nested !== undefined)) throw new Error(`${type.name}.${name}: a message field needs its type`);
    const f: Field = { id, name, kind, repeated: (flags & REPEATED) !== 0, packed: flags === PACKED, oneof: (flags & ONEOF) !== 0, wire: WIRE[kind], type: nested };
    type.fields.push(f);
    type.byId[id] = f;
  }
  type.fields.sort((a, b) => a.id - b.id);
}

export interface DecodeLimits {
  /** messages, strings, byte fields and 64-bit integers */
  maxObjects: number;
  /** float, double and 32-bit integer values */
  maxNumbers: number;
  /** bytes of all string fields */
  maxTextBytes: number;
  /** deepest message nesting (the root message is depth 0) */
  maxDepth: number;
  /** called, in the counting walk, before each nested message (to count messages of some type) */
  onMessage?: (type: MessageType) => void;
}

type Obj = Record<string, unknown>;

/** 0 (but not -0.0), '' or empty bytes */
function isDefault(v: unknown): boolean {
  return typeof v === 'number' ? Object.is(v, 0) : typeof v === 'string' ? v === '' : (v as Uint8Array).length === 0;
}

const TWO32 = 4294967296;
const INT64_MAX_NUMBER = 9223372036854775807; // rounds to 2^63
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes `bytes` as one `type` message. Throws E_ONNX_PARSE for malformed bytes, E_LIMIT past the limits. */
export function decodeMessage(bytes: Uint8Array, type: MessageType, limits: DecodeLimits): Obj {
  new Decoder(bytes, limits, false).message(type, bytes.length, 0);
  return new Decoder(bytes, limits, true).message(type, bytes.length, 0)!;
}

class Decoder {
  private pos = 0;
  // the last varint read: low and high 32 bits, unsigned
  private lo = 0;
  private hi = 0;
  private objects = 0;
  private numbers = 0;
  private text = 0;
  private readonly view: DataView;

  /** build false: check and count only (limits enforced); true: create the objects (limits already passed) */
  constructor(private readonly buf: Uint8Array, private readonly limits: DecodeLimits, private readonly build: boolean) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private bad(what: string, at: number): never {
    throw new ShuffleNetError('E_ONNX_PARSE', `not a well-formed ONNX protobuf: ${what} at byte ${at}`);
  }

  private over(what: string, n: number, max: number): never {
    throw new ShuffleNetError('E_LIMIT', `the model holds ${what} (at least ${n}); the limit is ${max}`);
  }

  private addObjects(n: number): void {
    this.objects += n;
    if (this.objects > this.limits.maxObjects) this.over('too many protobuf objects (messages, strings, 64-bit integers)', this.objects, this.limits.maxObjects);
  }

  private addNumbers(n: number): void {
    this.numbers += n;
    if (this.numbers > this.limits.maxNumbers) this.over('too many values in repeated numeric fields', this.numbers, this.limits.maxNumbers);
  }

  /** Reads a varint (at most 10 bytes, ending before `end`) into lo / hi. */
  private varint(end: number): void {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < end && buf[pos] < 0x80) {
      this.lo = buf[pos];
      this.hi = 0;
      this.pos = pos + 1;
      return;
    }
    const start = pos;
    let lo = 0, hi = 0;
    for (let i = 0; ; i++) {
      if (i === 10) this.bad('varint longer than 10 bytes', start);
      if (pos >= end) this.bad('truncated varint', start);
      const b = buf[pos++];
      const bits = b & 0x7f;
      // byte i holds bits 7i .. 7i+6; bits past 64 are dropped, as protobuf does
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) { lo |= bits << 28; hi = bits >>> 4; } else hi |= bits << (7 * i - 32);
      if (b < 0x80) break;
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    this.pos = pos;
  }

  /** A length or other unsigned varint, exact below 2^53 (larger ones fail every bounds check). */
  private uint(end: number): number {
    this.varint(end);
    return this.hi * TWO32 + this.lo;
  }

  /** The last varint as a 64-bit integer in a JS number (E_ONNX_PARSE beyond +-2^53 but for the INT64 sentinels). */
  private long(type: MessageType, f: Field, at: number): number {
    const lo = this.lo, hi = this.hi;
    if (f.kind === 'uint64') {
      if (hi < 0x200000) return hi * TWO32 + lo;
    } else {
      const shi = hi | 0;
      if (shi >= -0x200000 && shi < 0x200000) return shi * TWO32 + lo;
      if (hi === 0x7fffffff && lo === 0xffffffff) return INT64_MAX_NUMBER;
      if (hi === 0x80000000 && lo === 0) return -INT64_MAX_NUMBER;
    }
    const big = (BigInt(hi) << 32n) | BigInt(lo);
    const value = f.kind === 'uint64' ? big : BigInt.asIntN(64, big);
    return this.bad(`${f.kind} value ${value} of ${type.name}.${f.name} is beyond +-2^53, the exact range of JavaScript numbers`, at);
  }

  /** A string field's text: UTF-8, or E_ONNX_PARSE (as protobufjs checked it before). */
  private string(type: MessageType, f: Field, start: number, len: number): string {
    const buf = this.buf;
    if (len <= 32) {
      // names are short and ASCII: skip the TextDecoder call
      let s = '';
      for (let i = start; i < start + len; i++) {
        const c = buf[i];
        if (c >= 0x80) return this.utf8(type, f, start, len);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return this.utf8(type, f, start, len);
  }

  private utf8(type: MessageType, f: Field, start: number, len: number): string {
    try {
      return textDecoder.decode(this.buf.subarray(start, start + len));
    } catch {
      return this.bad(`${type.name}.${f.name} is not valid UTF-8`, start);
    }
  }

  /** One scalar value of a number field whose wire type matches its kind. */
  private scalar(type: MessageType, f: Field, end: number, at: number): number {
    switch (f.kind) {
      case 'int32':
        if (!this.build) this.addNumbers(1);
        this.varint(end);
        return this.lo | 0;
      case 'int64':
      case 'uint64':
        if (!this.build) this.addObjects(1);
        this.varint(end);
        return this.long(type, f, at);
      default: {
        if (!this.build) this.addNumbers(1);
        const size = f.kind === 'float' ? 4 : 8;
        if (end - this.pos < size) this.bad(`a ${f.kind} runs past the end of ${type.name}`, at);
        const v = size === 4 ? this.view.getFloat32(this.pos, true) : this.view.getFloat64(this.pos, true);
        this.pos += size;
        return v;
      }
    }
  }

  /** A packed run of numbers (the length already read; `stop` is its end), appended to `out` when building. */
  private packed(type: MessageType, f: Field, stop: number, out: number[] | undefined, at: number): void {
    const len = stop - this.pos;
    let n: number;
    if (f.wire === 0) {
      n = 0;
      for (let i = this.pos; i < stop; i++) if (this.buf[i] < 0x80) n++;
      if (len > 0 && this.buf[stop - 1] >= 0x80) this.bad(`truncated varint in packed ${type.name}.${f.name}`, stop - 1);
    } else {
      const size = f.wire === 5 ? 4 : 8;
      if (len % size !== 0) this.bad(`packed ${f.kind} field ${type.name}.${f.name} has ${len} bytes, not a multiple of ${size}`, at);
      n = len / size;
    }
    if (!this.build) {
      // counted from the bytes alone, before any value is read
      if (f.kind === 'int64' || f.kind === 'uint64') this.addObjects(n); else this.addNumbers(n);
    }
    for (let k = 0; k < n; k++) {
      const vat = this.pos;
      let v: number;
      switch (f.kind) {
        case 'int32': this.varint(stop); v = this.lo | 0; break;
        case 'int64': case 'uint64': this.varint(stop); v = this.long(type, f, vat); break;
        case 'float': v = this.view.getFloat32(this.pos, true); this.pos += 4; break;
        default: v = this.view.getFloat64(this.pos, true); this.pos += 8;
      }
      out?.push(v);
    }
  }

  /** Skips one field of an unknown (or unexpected) wire type. */
  private skip(id: number, wire: number, end: number, at: number): void {
    switch (wire) {
      case 0: this.varint(end); return;
      case 1: case 5: {
        const size = wire === 1 ? 8 : 4;
        if (end - this.pos < size) this.bad(`field ${id} (${size}-byte value) runs past the end of its message`, at);
        this.pos += size;
        return;
      }
      case 2: {
        const len = this.uint(end);
        if (len > end - this.pos) this.bad(`field ${id}: length ${len} runs past the end of its message`, this.pos);
        this.pos += len;
        return;
      }
      case 3: case 4:
        return this.bad(`field ${id} has wire type ${wire} (protobuf group ${wire === 3 ? 'start' : 'end'}), which ONNX never uses`, at);
      default:
        return this.bad(`field ${id} has wire type ${wire}, which does not exist`, at);
    }
  }

  /** The message in [pos, end): its object when building, undefined when counting. */
  message(type: MessageType, end: number, depth: number): Obj | undefined {
    if (depth > this.limits.maxDepth) this.over('messages nested too deeply', depth, this.limits.maxDepth);
    const build = this.build;
    let obj: Obj | undefined;
    if (build) {
      obj = {};
      for (const f of type.fields) if (f.repeated) obj[f.name] = [];
    }
    while (this.pos < end) {
      const at = this.pos;
      this.varint(end);
      const tag = this.lo;
      if (this.hi !== 0 || tag < 8) this.bad(`invalid field number ${Math.floor((this.hi * TWO32 + tag) / 8)}`, at);
      const id = tag >>> 3, wire = tag & 7;
      const f = type.byId[id];
      if (f === undefined || (wire !== f.wire && !(wire === 2 && f.repeated))) {
        this.skip(id, wire, end, at);
        continue;
      }
      let value: unknown;
      if (wire === 2) {
        const len = this.uint(end);
        if (len > end - this.pos) this.bad(`${type.name}.${f.name}: length ${len} runs past the end of its message`, this.pos);
        const stop = this.pos + len;
        switch (f.kind) {
          case 'message':
            if (!build) {
              this.addObjects(1);
              this.limits.onMessage?.(f.type!);
            }
            value = this.message(f.type!, stop, depth + 1);
            break;
          case 'string':
            if (!build) {
              this.addObjects(1);
              this.text += len;
              if (this.text > this.limits.maxTextBytes) this.over('too many bytes of text', this.text, this.limits.maxTextBytes);
            }
            value = build ? this.string(type, f, this.pos, len) : undefined; // UTF-8 checked when building
            break;
          case 'bytes':
            if (!build) this.addObjects(1);
            value = build ? this.buf.subarray(this.pos, stop) : undefined;
            break;
          default:
            this.packed(type, f, stop, obj?.[f.name] as number[] | undefined, at);
            this.pos = stop;
            continue;
        }
        this.pos = stop;
      } else {
        value = this.scalar(type, f, end, at);
      }
      if (!obj) continue;
      if (f.repeated) (obj[f.name] as unknown[]).push(value);
      else if (f.oneof || f.kind === 'message' || !isDefault(value)) obj[f.name] = value;
      else if (f.name in obj) delete obj[f.name]; // a later default clears an earlier value
    }
    return obj;
  }
}

// ---------------------------------------------------------------- encoding

/**
 * Encodes a plain object as one `type` message, fields in field-number order, the way
 * protobufjs wrote this schema before (proto3 implicit presence): a singular field is left
 * out when null / undefined or when it holds its default (0, +0.0, '', empty bytes; a oneof
 * member and a message are written whenever present), a repeated field when it is empty.
 * 64-bit fields take numbers (truncated toward zero, NaN as 0, saturated at the ends of the
 * int64 / uint64 range) or bigints (modulo 2^64); 32-bit ones numbers (`| 0`, enums too).
 * Other value types -> E_ARGUMENT.
 */
export function encodeMessage(type: MessageType, value: object): Uint8Array {
  const e = new Encoder();
  e.message(type, value as Obj);
  return e.finish();
}

const EMPTY = new Uint8Array(0);
const BLOCK = 1 << 16;
const textEncoder = new TextEncoder();

class Encoder {
  // Output so far: finished chunks, then the open block buf[mark .. pos). A length-delimited
  // field leaves an empty slot in `chunks` for its header, filled once its size is known.
  private chunks: Uint8Array[] = [];
  private size = 0; // bytes in chunks
  private buf = new Uint8Array(BLOCK);
  private mark = 0;
  private pos = 0;
  private view = new DataView(this.buf.buffer);
  // a 64-bit value's low and high words, from words()
  private lo = 0;
  private hi = 0;

  private flush(): void {
    if (this.pos > this.mark) {
      this.chunks.push(this.buf.subarray(this.mark, this.pos));
      this.size += this.pos - this.mark;
      this.mark = this.pos;
    }
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    this.buf = new Uint8Array(Math.max(BLOCK, n));
    this.view = new DataView(this.buf.buffer);
    this.mark = this.pos = 0;
  }

  private varint(lo: number, hi: number): void {
    this.reserve(10);
    const buf = this.buf;
    while (hi !== 0 || lo > 0x7f) {
      buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[this.pos++] = lo;
  }

  private tag(f: Field, wire: number): void {
    this.varint(f.id * 8 + wire, 0);
  }

  /** Starts a length-delimited field; returns what end() needs. */
  private begin(): [number, number] {
    this.flush();
    this.chunks.push(EMPTY);
    return [this.chunks.length - 1, this.size];
  }

  private end(f: Field, [slot, start]: [number, number]): void {
    this.flush();
    const len = this.size - start;
    // the header: tag and length, in its slot
    const head: number[] = [];
    for (let v = f.id * 8 + 2; ; v = Math.floor(v / 128)) { if (v < 128) { head.push(v); break; } head.push((v % 128) | 128); }
    for (let v = len; ; v = Math.floor(v / 128)) { if (v < 128) { head.push(v); break; } head.push((v % 128) | 128); }
    this.chunks[slot] = Uint8Array.from(head);
    this.size += head.length;
  }

  private wrong(type: MessageType, f: Field, v: unknown, what: string): never {
    throw new ShuffleNetError('E_ARGUMENT', `cannot encode ${type.name}.${f.name}: expected ${what}, got ${typeof v === 'object' ? Object.prototype.toString.call(v) : typeof v}`);
  }

  /** The 64-bit words of an int64 / uint64 value, into lo / hi. */
  private words(type: MessageType, f: Field, v: unknown): void {
    if (typeof v === 'bigint') {
      this.lo = Number(v & 0xffffffffn);
      this.hi = Number((v >> 32n) & 0xffffffffn);
    } else if (typeof v === 'number') {
      const unsigned = f.kind === 'uint64';
      if (Number.isNaN(v) || (unsigned && v <= 0)) { this.lo = 0; this.hi = 0; } else if (v >= (unsigned ? 2 ** 64 : 2 ** 63)) {
        this.lo = 0xffffffff;
        this.hi = unsigned ? 0xffffffff : 0x7fffffff;
      } else if (v <= -(2 ** 63)) { this.lo = 0; this.hi = 0x80000000; } else {
        const t = Math.trunc(v);
        // t >>> 0 and floor(t / 2^32) >>> 0: the low and high words of t in two's complement
        this.lo = t >>> 0;
        this.hi = Math.floor(t / TWO32) >>> 0;
      }
    } else this.wrong(type, f, v, 'a number or bigint');
  }

  /**
   * One value of field f: with its tag unless it is an element of a packed run; left out
   * when it holds the default and `always` is false (a singular field outside a oneof).
   */
  private put(type: MessageType, f: Field, v: unknown, always: boolean, tagged: boolean): void {
    switch (f.kind) {
      case 'message': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) this.wrong(type, f, v, 'an object');
        const open = this.begin();
        this.message(f.type!, v as Obj);
        this.end(f, open);
        return;
      }
      case 'string':
      case 'bytes': {
        let data: Uint8Array;
        if (f.kind === 'string') {
          if (typeof v !== 'string') this.wrong(type, f, v, 'a string');
          data = textEncoder.encode(v as string);
        } else {
          if (!(v instanceof Uint8Array)) this.wrong(type, f, v, 'a Uint8Array');
          data = v as Uint8Array;
        }
        if (!always && data.length === 0) return;
        this.tag(f, 2);
        this.bytes(data);
        return;
      }
      case 'int32': {
        if (typeof v !== 'number') this.wrong(type, f, v, 'a number');
        const i = (v as number) | 0;
        if (!always && i === 0) return;
        if (tagged) this.tag(f, 0);
        this.varint(i >>> 0, i < 0 ? 0xffffffff : 0);
        return;
      }
      case 'int64':
      case 'uint64': {
        this.words(type, f, v);
        const lo = this.lo, hi = this.hi;
        if (!always && lo === 0 && hi === 0) return;
        if (tagged) this.tag(f, 0);
        this.varint(lo, hi);
        return;
      }
      default: {
        if (typeof v !== 'number') this.wrong(type, f, v, 'a number');
        if (!always && Object.is(v, 0)) return;
        if (tagged) this.tag(f, f.wire);
        const size = f.kind === 'float' ? 4 : 8;
        this.reserve(size);
        if (size === 4) this.view.setFloat32(this.pos, v as number, true); else this.view.setFloat64(this.pos, v as number, true);
        this.pos += size;
      }
    }
  }

  private bytes(data: Uint8Array): void {
    this.varint(data.length, 0);
    if (data.length > 256) {
      // large payloads (weights) go in as they are, copied once by finish()
      this.flush();
      this.chunks.push(data);
      this.size += data.length;
    } else {
      this.reserve(data.length);
      this.buf.set(data, this.pos);
      this.pos += data.length;
    }
  }

  message(type: MessageType, obj: Obj): void {
    for (const f of type.fields) {
      const v = obj[f.name];
      if (v === undefined || v === null) continue;
      if (!f.repeated) { this.put(type, f, v, f.oneof, true); continue; }
      const isList = Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView) && f.wire !== 2);
      if (!isList) this.wrong(type, f, v, 'an array');
      const list = v as ArrayLike<unknown>;
      if (list.length === 0) continue;
      if (f.packed) {
        const open = this.begin();
        for (let i = 0; i < list.length; i++) this.put(type, f, list[i], true, false);
        this.end(f, open);
      } else {
        for (let i = 0; i < list.length; i++) this.put(type, f, list[i], true, true);
      }
    }
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) { out.set(c, at); at += c.length; }
    return out;
  }
}
