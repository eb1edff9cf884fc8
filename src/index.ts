// Public API of shufflenet-wasm for Node, browsers and bundlers: the kernels travel inline.
import '../bindings/inline-wasm.js';
import { makeFactories } from './api.js';

export * from './api.js';
export const { buildModel, loadModel } = makeFactories((options) => options);
