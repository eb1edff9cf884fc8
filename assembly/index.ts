// Entry point: the numbers-only ABI of the kernel module. Every export takes and returns
// numbers (byte offsets into linear memory, counts, flags); the TypeScript side plans
// memory and owns all tables.
export { relaxedBuild, heapBase } from "./simd";
export { conv1x1, gemv } from "./gemm";
export { dwconv3x3 } from "./dwconv";
export { maxpool3x3s2, globalAvgPool } from "./pool";
export { im2col3x3 } from "./im2col";
export { copyPlanes, channelShuffleCopy, addPlanes, reluPlanes } from "./eltwise";
export { packGemm } from "./pack";
export { fillUniform } from "./random";
export { firstNonFinite } from "./checks";
