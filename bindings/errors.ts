/** Stable error codes; the message says what is wrong and where. */
export type ErrorCode =
  | 'E_NO_SIMD'        // the engine has no WebAssembly SIMD
  | 'E_WASM'           // the kernel module could not be compiled or instantiated
  | 'E_ONNX_PARSE'     // the model file is not a well-formed ONNX protobuf
  | 'E_UNSUPPORTED_OP' // an op, attribute or pattern the engine does not implement
  | 'E_SHAPE'          // a tensor or input has the wrong shape or size
  | 'E_LIMIT'          // a size exceeds a safety limit
  | 'E_ARGUMENT'       // a bad argument to a public function
  | 'E_DISPOSED'       // the model was disposed
  | 'E_THREAD';        // a worker of a threaded model failed or stopped responding

export class ShuffleNetError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ShuffleNetError';
    this.code = code;
  }
}
