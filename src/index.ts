// Public API of shufflenet-wasm.
import { buildGraph, type BuildOptions } from './builders.js';
import { Model, type ModelOptions } from './model.js';

export { Model, type ModelOptions, type ModelSummary } from './model.js';
export { ShuffleNetError, type ErrorCode } from '../bindings/errors.js';
export { hasSimd, hasRelaxedSimd } from '../bindings/features.js';
export { buildGraph, buildV1, buildV2, v1Channels, type BuildOptions } from './builders.js';
export { GraphBuilder, type Graph, type Node, type TensorId } from './ir.js';

/** Builds ShuffleNet v1 or v2 with deterministic synthetic weights (no file needed). */
export async function buildModel(options: BuildOptions & ModelOptions): Promise<Model> {
  return Model.fromGraph(buildGraph(options), options);
}
