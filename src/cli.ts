#!/usr/bin/env node
// The shufflenet-wasm command line: classify photos, print a model's plan, run the benchmark.
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { loadModel, buildModel, ShuffleNetError, type Model } from './index.js';
import { decodeImageFile } from './image-node.js';
import { parseLabels } from './labels.js';

const HELP: Record<string, string> = {
  main: `shufflenet-wasm — ShuffleNet v1/v2 image classification on WebAssembly SIMD

Usage:
  shufflenet-wasm classify <image...> --model <file.onnx> [--labels <file>] [--topk N] [--json]
  shufflenet-wasm info <file.onnx | v2:1 | v1:1:3> [--size HxW]
  shufflenet-wasm bench [--quick] [--only v2_1.0,...] [--no-peers]
  shufflenet-wasm <command> --help

Every error exits with status 1 and a one-line reason.`,
  classify: `shufflenet-wasm classify <image...> --model <file.onnx> [--labels <file>] [--topk N] [--json]

Classifies JPEG or PNG photos with an ONNX ShuffleNet (fp32 or int8 QDQ).
  --model <file>   ONNX model file (required)
  --labels <file>  class names, one per line (synset format "n01440764 tench, Tinca tinca" is fine)
  --topk N         classes to show per image (default 5)
  --json           print [{ file, top: [{ index, label, probability }] }] instead of text`,
  info: `shufflenet-wasm info <file.onnx | v2:<width> | v1:<width>:<groups>> [--size HxW]

Prints the execution plan: every step's kernel, shapes, MACs, params, bytes copied by
data movement (0: shuffle/split/concat are views) and activation bytes.
  --size HxW   input size (default 224x224)`,
  bench: `shufflenet-wasm bench [--quick] [--only v2_1.0,...] [--no-peers]

End-to-end latency of every ShuffleNet variant (batch 1, 224x224, 1 thread), side by side
with onnxruntime-web and tfjs-backend-wasm when those packages are installed.`,
};

class UsageError extends Error {}

interface Parsed { positional: string[]; flags: Map<string, string | true> }

function parse(argv: string[], valued: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split('=', 2);
      if (valued.includes(name)) {
        const v = inline ?? argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value`);
        flags.set(name, v);
      } else {
        flags.set(name, true);
      }
    } else if (a === '-h') {
      flags.set('help', true);
    } else {
      positional.push(a);
    }
  }
  return { positional, flags };
}

const progress = (msg: string) => process.stderr.write(`${msg}\n`);

function readFile(file: string, what: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${what} "${file}": ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

async function openModel(spec: string): Promise<Model> {
  const m = /^v([12]):([\d.]+)(?::(\d+))?$/.exec(spec);
  if (m) return buildModel({ arch: `v${m[1]}` as 'v1' | 'v2', width: Number(m[2]), groups: m[3] ? Number(m[3]) : undefined });
  return loadModel(readFile(spec, 'model'));
}

async function classify(args: Parsed): Promise<void> {
  const modelFile = args.flags.get('model');
  if (typeof modelFile !== 'string') throw new UsageError('classify needs --model <file.onnx>');
  if (args.positional.length === 0) throw new UsageError('classify needs at least one image');
  const topk = Number(args.flags.get('topk') ?? 5);
  if (!Number.isInteger(topk) || topk < 1) throw new UsageError(`--topk must be a positive integer, got ${args.flags.get('topk')}`);
  const labelsFile = args.flags.get('labels');
  const labels = typeof labelsFile === 'string' ? parseLabels(new TextDecoder().decode(readFile(labelsFile, 'labels'))) : undefined;
  const t0 = performance.now();
  progress(`loading ${modelFile}`);
  const model = await openModel(modelFile);
  progress(`model ready in ${(performance.now() - t0).toFixed(0)} ms (${model.flavor} kernels)`);
  const results = [];
  for (const [i, file] of args.positional.entries()) {
    if (args.positional.length > 1) progress(`[${i + 1}/${args.positional.length}] ${file}`);
    const t = performance.now();
    const top = model.classify(decodeImageFile(file), { topk, labels });
    results.push({ file, top: top.map((c) => ({ index: c.index, label: c.label ?? null, probability: c.probability })), ms: performance.now() - t });
  }
  if (args.flags.has('json')) {
    console.log(JSON.stringify(results.map(({ file, top }) => ({ file, top })), null, 2));
  } else {
    for (const r of results) {
      console.log(`${r.file}  (${r.ms.toFixed(1)} ms)`);
      for (const c of r.top) console.log(`  ${(c.probability * 100).toFixed(2).padStart(6)}%  ${String(c.index).padStart(4)}  ${c.label ?? ''}`);
    }
  }
  model.dispose();
}

async function info(args: Parsed): Promise<void> {
  const spec = args.positional[0];
  if (!spec) throw new UsageError('info needs a model file or a builder spec such as v2:1 or v1:1:3');
  const size = String(args.flags.get('size') ?? '224x224');
  const sm = /^(\d+)x(\d+)$/.exec(size);
  if (!sm) throw new UsageError(`--size must look like 224x224, got ${size}`);
  const model = await openModel(spec);
  console.log(model.summary({ height: Number(sm[1]), width: Number(sm[2]) }).toString());
  model.dispose();
}

/** The installed package's folder: the nearest one above this file holding a package.json (this
 * file runs from dist/bundle in the package and from dist/esm/src in a development build). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the shufflenet-wasm package folder (no package.json above the CLI)');
    dir = up;
  }
  return dir;
}

function bench(argv: string[]): void {
  const script = path.join(packageRoot(), 'bench', 'e2e.mjs');
  const r = spawnSync(process.execPath, [script, ...argv], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`benchmark exited with status ${r.status}`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP.main);
    return;
  }
  if (!(command in HELP) || command === 'main') throw new UsageError(`unknown command "${command}" (try --help)`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(HELP[command]);
    return;
  }
  if (command === 'bench') return bench(rest);
  const args = parse(rest, ['model', 'labels', 'topk', 'size']);
  if (command === 'classify') return classify(args);
  return info(args);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  const msg = e instanceof ShuffleNetError || e instanceof UsageError ? e.message : e instanceof Error ? e.message : String(e);
  process.stderr.write(`shufflenet-wasm: ${msg.split('\n')[0]}\n`);
  process.exit(1);
});
