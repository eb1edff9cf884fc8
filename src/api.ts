// The public API shared by every entry (src/index.ts for Node, browsers and bundlers;
// src/workerd.ts for runtimes that forbid compiling from bytes). An entry decides only how
// the kernel module is obtained, through `resolveOptions`.
import { buildGraph, type BuildOptions } from './builders.js';
import { Model, type ModelOptions } from './model.js';
import { ShuffleNetError } from '../bindings/errors.js';
import { createKernels, precompileKernels, type Kernels } from '../bindings/wasm.js';
import { primeTierUp } from '../bindings/tier-up.js';
import { kernelUniformFill } from './random.js';
import type { ImportOptions } from './onnx/import.js';

export { Model, topK, type ModelOptions, type ModelSummary, type Classification, type ClassifyOptions } from './model.js';
export { ShuffleNetError, type ErrorCode } from '../bindings/errors.js';
export { hasSimd, hasRelaxedSimd } from '../bindings/features.js';
export { buildGraph, buildV1, buildV2, v1Channels, type BuildOptions } from './builders.js';
export { GraphBuilder, type Graph, type Node, type TensorId } from './ir.js';
export { preprocess, resizeShorterSide, centerCrop, toTensor, IMAGENET_MEAN, IMAGENET_STD, type ImageInput, type PreprocessOptions } from './preprocess.js';
export { parseLabels, shortLabel } from './labels.js';
export type { ImportOptions } from './onnx/import.js';

export type OptionsHook = <T extends ModelOptions>(options: T) => T;

/** buildModel and loadModel for an entry whose kernel loading is `resolveOptions`. */
export function makeFactories(resolveOptions: OptionsHook) {
  /** Builds ShuffleNet v1 or v2 with deterministic synthetic weights (no file needed). */
  async function buildModel(options: BuildOptions & ModelOptions): Promise<Model> {
    const opts = resolveOptions(options);
    if ((opts.threads ?? 1) > 1) return Model.fromGraph(buildGraph(options), opts);
    // One thread: the model's kernel instance comes first, so that its optimized code compiles
    // while the graph is made and the synthetic weights come from its fillUniform (the same
    // values as the JavaScript generator, faster).
    let kernels: Kernels;
    try {
      kernels = await createKernels(opts);
    } catch (e) {
      buildGraph(options); // bad build options are reported before kernel errors
      throw e;
    }
    primeTierUp(kernels);
    return Model.fromGraph(buildGraph(options, kernelUniformFill(kernels)), opts, kernels);
  }

  /** Loads an ONNX ShuffleNet (fp32, or int8 QDQ dequantized at load) from its bytes. */
  async function loadModel(bytes: Uint8Array | ArrayBuffer, options: ModelOptions & ImportOptions = {}): Promise<Model> {
    if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer)) {
      throw new ShuffleNetError('E_ARGUMENT', 'loadModel expects the model file as a Uint8Array or ArrayBuffer');
    }
    const opts = resolveOptions(options);
    precompileKernels(opts); // overlaps with parsing the file
    // Loaded on first use: the protobuf parser is most of the start-up cost of the package.
    const { importOnnx } = await import('./onnx/import.js');
    const { graph } = importOnnx(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), opts);
    return Model.fromGraph(graph, opts);
  }

  return { buildModel, loadModel };
}
