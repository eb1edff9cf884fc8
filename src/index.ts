// Public API of shufflenet-wasm.
import '../bindings/inline-wasm.js'; // registers the inlined kernel bytes (not in the workerd entry)
import '../bindings/inline-wasm-threads.js'; // registers the lazily loaded threaded kernels (`threads: n`)
import { buildGraph, type BuildOptions } from './builders.js';
import { Model, type ModelOptions } from './model.js';
import { importOnnx, type ImportOptions } from './onnx/import.js';
import { ShuffleNetError } from '../bindings/errors.js';

export { Model, topK, type ModelOptions, type ModelSummary, type Classification, type ClassifyOptions } from './model.js';
export { ShuffleNetError, type ErrorCode } from '../bindings/errors.js';
export { hasSimd, hasRelaxedSimd } from '../bindings/features.js';
export { buildGraph, buildV1, buildV2, v1Channels, type BuildOptions } from './builders.js';
export { GraphBuilder, type Graph, type Node, type TensorId } from './ir.js';
export { preprocess, resizeShorterSide, centerCrop, toTensor, IMAGENET_MEAN, IMAGENET_STD, type ImageInput, type PreprocessOptions } from './preprocess.js';
export { parseLabels, shortLabel } from './labels.js';
export { importOnnx } from './onnx/import.js';
export { writeOnnx } from './onnx/write.js';

/** Builds ShuffleNet v1 or v2 with deterministic synthetic weights (no file needed). */
export async function buildModel(options: BuildOptions & ModelOptions): Promise<Model> {
  return Model.fromGraph(buildGraph(options), options);
}

/** Loads an ONNX ShuffleNet (fp32, or int8 QDQ dequantized at load) from its bytes. */
export async function loadModel(bytes: Uint8Array | ArrayBuffer, options: ModelOptions & ImportOptions = {}): Promise<Model> {
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer)) {
    throw new ShuffleNetError('E_ARGUMENT', 'loadModel expects the model file as a Uint8Array or ArrayBuffer');
  }
  const { graph } = importOnnx(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), options);
  return Model.fromGraph(graph, options);
}
