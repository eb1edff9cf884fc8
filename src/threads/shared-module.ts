// The threaded kernel module is the ordinary one with its memory made shareable: the memory
// section (a memory the module defines) is replaced by an import of a shared memory,
// `env.memory`, with a maximum. That is exactly what asc's `--importMemory --sharedMemory
// --maximumMemory 65536 --enable threads` emits for these kernels (same type, function, export
// and code sections: the kernels use no atomics and have no data segments), so the package
// ships no second binary. Every thread instantiates the same compiled module on one memory.
import { ShuffleNetError } from '../../bindings/errors.js';

/** Pages the shared memory may grow to (4 GiB, the wasm32 limit). */
export const MAX_PAGES = 65536;

const uleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n = Math.floor(n / 128);
    if (!n) return [...out, b];
    out.push(b | 0x80);
  }
};

/**
 * The module's bytes with its one defined memory turned into an imported shared `env.memory`,
 * and the initial pages that memory must have.
 */
export function withSharedMemory(bytes: Uint8Array): { bytes: Uint8Array<ArrayBuffer>; pages: number } {
  const fail = (why: string) => new ShuffleNetError('E_WASM', `cannot make the kernel module's memory shared: ${why}`);
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw fail('not a WebAssembly module');
  }
  let i = 8;
  const readUleb = () => {
    let n = 0, scale = 1, b: number;
    do {
      b = bytes[i++];
      n += (b & 0x7f) * scale;
      scale *= 128;
    } while (b & 0x80);
    return n;
  };
  const sections: Array<{ id: number; body: Uint8Array }> = [];
  let initial: number | undefined;
  while (i < bytes.length) {
    const id = bytes[i++], size = readUleb(), end = i + size;
    if (id === 2 || id === 11) throw fail(id === 2 ? 'it has imports' : 'it has data segments');
    if (id === 5) {
      // vec of memories: count 1, limits flag 0 (no maximum) or 1 (maximum), initial pages [, maximum]
      if (bytes[i] !== 1 || bytes[i + 1] > 1) throw fail('expected one unshared memory');
      i += 2;
      initial = readUleb();
    } else {
      sections.push({ id, body: bytes.subarray(i, end) });
    }
    i = end;
  }
  if (initial === undefined) throw fail('it defines no memory');
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  // one import: "env" "memory", kind memory, limits flag 3 (maximum, shared)
  const imports = [1, ...name('env'), ...name('memory'), 2, 3, ...uleb(initial), ...uleb(MAX_PAGES)];
  const at = sections.findIndex((s) => s.id > 1); // after the type section, before the rest
  sections.splice(at < 0 ? sections.length : at, 0, { id: 2, body: Uint8Array.from(imports) });
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of sections) parts.push(Uint8Array.from([s.id, ...uleb(s.body.length)]), s.body);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return { bytes: out, pages: initial };
}
