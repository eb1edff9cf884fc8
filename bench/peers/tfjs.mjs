// Peer engine: @tensorflow/tfjs-core + @tensorflow/tfjs-backend-wasm (single thread, SIMD).
//
// Runs a shufflenet-wasm graph IR (src/ir.ts) as tfjs ops in NHWC, the way a tfjs user (or the
// tfjs converter) would express ShuffleNet:
//   - conv 3x3 / 1x1: tf.fused.conv2d with bias (+ relu when the conv's only consumer is a relu),
//     explicit padding [[0,0],[p,p],[p,p],[0,0]] so stride-2 windows match PyTorch/ONNX pads=1
//     (TF 'same' would pad bottom/right only on even inputs);
//   - grouped conv: tfjs has none, so split -> conv2d per group -> concat (what the converter emits);
//   - depthwise conv: tf.fused.depthwiseConv2d (numeric pad, floor rounding);
//   - maxpool 3x3/2 pad 1: numeric pad 1 with floor rounding (padding never wins the max);
//   - avgpool 3x3/2 pad 1 with count_include_pad: zero padding via tf.pad then 'valid';
//   - channel shuffle: reshape -> transpose -> reshape;
//   - gap: tf.mean over H, W; fc: tf.matMul with pre-transposed weights, then tf.add(bias)
//     (tf.fused.matMul with transposeB + bias is wrong on tfjs-backend-wasm 4.22.0).
//
// Usage:
//   const tfjs = await loadTfjs();               // once per process
//   const r = createTfjsRunner(tfjs, graph, { height: 224, width: 224 });
//   r.setInput(nchwFloat32);  r.run() -> Float32Array logits;  r.dispose();
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let loaded;

/** Loads tfjs-core + the wasm backend once, single-threaded. Returns { tf, info }. */
export function loadTfjs() {
  if (!loaded) loaded = init();
  return loaded;
}

async function init() {
  const tf = require('@tensorflow/tfjs-core');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  // Multi-threaded tfjs-wasm cannot start in Node (ERR_WORKER_PATH: it spawns a Worker from a
  // blob: URL), so force the single-threaded SIMD binary.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (typeof wasm.setThreadsCount === 'function') wasm.setThreadsCount(1);
  const ok = await tf.setBackend('wasm');
  if (!ok || tf.getBackend() !== 'wasm') throw new Error('tfjs: could not initialise the wasm backend');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const pkg = require('@tensorflow/tfjs-backend-wasm/package.json');
  const info = {
    engine: 'tfjs-backend-wasm',
    version: pkg.version,
    simd: Boolean(simd),
    threads: typeof wasm.getThreadsCount === 'function' ? wasm.getThreadsCount() : 1,
  };
  return { tf, info };
}

/** [O][I][k][k] (ONNX) -> [k][k][I][O] (tfjs HWIO), for output channels o0..o0+on. */
function hwio(w, outCh, inCh, k, o0 = 0, on = outCh) {
  const r = new Float32Array(k * k * inCh * on);
  for (let o = 0; o < on; o++) {
    for (let i = 0; i < inCh; i++) {
      for (let y = 0; y < k; y++) {
        for (let x = 0; x < k; x++) {
          r[((y * k + x) * inCh + i) * on + o] = w[(((o0 + o) * inCh + i) * k + y) * k + x];
        }
      }
    }
  }
  return r;
}

/** Output size of a 3x3 window with PyTorch padding `pad` and stride `s`. */
function outSize(n, k, s, pad) {
  return Math.floor((n + 2 * pad - k) / s) + 1;
}

/**
 * Builds a runner for `graph` at a fixed input size. All weights become tfjs tensors up front;
 * run() executes the graph inside tf.tidy and reads the logits back (dataSync).
 */
export function createTfjsRunner({ tf }, graph, { height = 224, width = 224 } = {}) {
  const consumers = new Map();
  const use = (t, n) => consumers.set(t, [...(consumers.get(t) ?? []), n]);
  for (const n of graph.nodes) {
    if (n.op === 'add' || n.op === 'concat') n.inputs.forEach((t) => use(t, n));
    else {
      use(n.input, n);
      if (n.op === 'conv' && n.residual !== undefined) use(n.residual, n);
    }
  }
  const channels = (t) => graph.tensors[t].channels;
  const held = [];
  const keep = (t) => { held.push(t); return t; };

  // Compile the graph into a list of closures over pre-uploaded weights.
  const program = [];
  const skip = new Set(); // relu nodes folded into their conv
  for (const n of graph.nodes) {
    if (skip.has(n)) continue;
    switch (n.op) {
      case 'conv': {
        if (n.residual !== undefined) throw new Error(`tfjs runner: conv "${n.name}" has a fused residual; pass an unfused graph`);
        const cin = channels(n.input), cout = channels(n.output), g = n.groups, k = n.kernel;
        const next = consumers.get(n.output) ?? [];
        let relu = n.relu;
        let out = n.output;
        if (!relu && next.length === 1 && next[0].op === 'relu' && n.output !== graph.output) {
          relu = true;
          out = next[0].output;
          skip.add(next[0]);
        }
        const activation = relu ? 'relu' : 'linear';
        const p = n.pad;
        const pad = p === 0 ? 'valid' : [[0, 0], [p, p], [p, p], [0, 0]];
        const strides = [n.stride, n.stride];
        if (g === cin && g === cout && g > 1) {
          // depthwise: filter [k][k][C][1]; numeric pad = the same pad on every side (PyTorch's)
          const f = keep(tf.tensor4d(hwio(n.weight, cout, 1, k), [k, k, cout, 1]));
          const bias = keep(tf.tensor1d(n.bias));
          program.push((env) => {
            env.set(out, tf.fused.depthwiseConv2d({
              x: env.get(n.input), filter: f, strides, pad: p, bias, activation, dimRoundingMode: 'floor',
            }));
          });
        } else if (g === 1) {
          const f = keep(tf.tensor4d(hwio(n.weight, cout, cin, k), [k, k, cin, cout]));
          const bias = keep(tf.tensor1d(n.bias));
          program.push((env) => {
            env.set(out, tf.fused.conv2d({ x: env.get(n.input), filter: f, strides, pad, bias, activation }));
          });
        } else {
          const ci = cin / g, co = cout / g;
          const fs = [], bs = [];
          for (let j = 0; j < g; j++) {
            fs.push(keep(tf.tensor4d(hwio(n.weight, cout, ci, k, j * co, co), [k, k, ci, co])));
            bs.push(keep(tf.tensor1d(n.bias.subarray(j * co, (j + 1) * co))));
          }
          program.push((env) => {
            const xs = tf.split(env.get(n.input), g, 3);
            const ys = xs.map((x, j) => tf.fused.conv2d({ x, filter: fs[j], strides, pad, bias: bs[j], activation }));
            env.set(out, tf.concat(ys, 3));
          });
        }
        break;
      }
      case 'fc': {
        const cin = channels(n.input), cout = channels(n.output);
        const wt = new Float32Array(cin * cout);
        for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) wt[i * cout + o] = n.weight[o * cin + i];
        const w = keep(tf.tensor2d(wt, [cin, cout]));
        const b = keep(tf.tensor1d(n.bias));
        program.push((env) => {
          let y = tf.add(tf.matMul(tf.reshape(env.get(n.input), [-1, cin]), w), b);
          if (n.relu) y = tf.relu(y);
          env.set(n.output, y);
        });
        break;
      }
      case 'maxpool':
      case 'avgpool': {
        program.push((env) => {
          const x = env.get(n.input);
          const [, h, w] = x.shape;
          const oh = outSize(h, 3, 2, 1), ow = outSize(w, 3, 2, 1);
          // pad 1 on top/left, and on bottom/right only as much as the last window needs
          const pb = (oh - 1) * 2 + 3 - h - 1, pr = (ow - 1) * 2 + 3 - w - 1;
          const padding = [[0, 0], [1, pb], [1, pr], [0, 0]];
          // maxpool: numeric pad 1 on every side, padded cells never win (PyTorch semantics);
          // avgpool counts the zero padding (count_include_pad), so pad explicitly with zeros.
          let y = n.op === 'maxpool'
            ? tf.maxPool(x, 3, 2, 1, 'floor')
            : tf.avgPool(tf.pad(x, padding, 0), 3, 2, 'valid');
          if (n.relu) y = tf.relu(y);
          env.set(n.output, y);
        });
        break;
      }
      case 'gap':
        program.push((env) => env.set(n.output, tf.mean(env.get(n.input), [1, 2])));
        break;
      case 'relu':
        program.push((env) => env.set(n.output, tf.relu(env.get(n.input))));
        break;
      case 'add':
        program.push((env) => {
          const y = tf.add(env.get(n.inputs[0]), env.get(n.inputs[1]));
          env.set(n.output, n.relu ? tf.relu(y) : y);
        });
        break;
      case 'concat':
        program.push((env) => env.set(n.output, tf.concat(n.inputs.map((t) => env.get(t)), 3)));
        break;
      case 'split':
        program.push((env) => {
          const ys = tf.split(env.get(n.input), n.sizes, 3);
          n.outputs.forEach((t, i) => env.set(t, ys[i]));
        });
        break;
      case 'shuffle': {
        const c = channels(n.input), g = n.groups;
        program.push((env) => {
          const x = env.get(n.input);
          const [b, h, w] = x.shape;
          env.set(n.output, tf.reshape(tf.transpose(tf.reshape(x, [b, h, w, g, c / g]), [0, 1, 2, 4, 3]), [b, h, w, c]));
        });
        break;
      }
      default:
        throw new Error(`tfjs runner: unsupported op "${n.op}" (${n.name})`);
    }
  }

  let input;
  const runner = {
    name: 'tfjs-wasm',
    /** Sets the NCHW batch-1 input (converted once to an NHWC tensor, outside the timed run). */
    setInput(nchw) {
      if (input) input.dispose();
      const c = graph.inputChannels, hw = height * width;
      if (nchw.length !== c * hw) throw new Error(`tfjs runner: input has ${nchw.length} values, expected ${c * hw}`);
      const nhwc = new Float32Array(c * hw);
      for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) nhwc[i * c + ch] = nchw[ch * hw + i];
      input = tf.tensor4d(nhwc, [1, height, width, c]);
    },
    /** One inference on the current input; returns the logits (a new Float32Array). */
    run() {
      if (!input) throw new Error('tfjs runner: setInput() first');
      const y = tf.tidy(() => {
        const env = new Map([[graph.input, input]]);
        for (const step of program) step(env);
        return env.get(graph.output);
      });
      const out = y.dataSync().slice();
      y.dispose();
      return out;
    },
    dispose() {
      if (input) input.dispose();
      input = undefined;
      for (const t of held) t.dispose();
      held.length = 0;
    },
  };
  return runner;
}
