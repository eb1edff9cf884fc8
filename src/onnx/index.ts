// shufflenet-wasm/onnx: ONNX <-> graph IR, for tools and tests (loadModel uses the importer).
export { importOnnx, SUPPORTED_OPS, type ImportOptions, type ImportResult, type ImportInfo } from './import.js';
export { writeOnnx, type WriteOnnxOptions } from './write.js';
