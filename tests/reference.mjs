// Plain-JS reference implementations of the wasm kernels (assembly/*.ts), written from the
// layout contract only, so they can check the kernels and the planner's packing independently.
//
// Conventions: a tensor is an array of planes; a plane is an array-like of H*W numbers in
// row-major order. Every reference computes in float64 from the (float32) inputs and returns
// Float64Array planes; the tests compare against the float32 kernel outputs with a tolerance.
// Exact kernels (data movement, max pooling, ReLU, single additions) are compared bit-exactly.

/** x rounded up to a multiple of m. */
export function roundUp(x, m) {
  return Math.ceil(x / m) * m;
}

/** Output size of a 3x3 window with pad 1: floor((n + 2 - 3) / stride) + 1. */
export function outSize(n, stride) {
  return Math.floor((n - 1) / stride) + 1;
}

const act = (v, relu) => (relu && !(v > 0) ? 0 : v);

// ---------------------------------------------------------------------------------------------
// Pointwise convolution (grouped GEMM) and fully connected layer.

/**
 * Grouped 1x1 convolution.
 * @param inPlanes groups*K planes of `pixels`
 * @param w        weights, index ((g*M + m)*K + k)
 * @param b        biases, index g*M + m
 * @param res      null, or groups*M planes added before the activation
 * @returns groups*M planes
 */
export function conv1x1(inPlanes, groups, K, M, w, b, pixels, res, relu) {
  const out = [];
  for (let g = 0; g < groups; g++) {
    for (let m = 0; m < M; m++) {
      const o = new Float64Array(pixels);
      const row = (g * M + m) * K;
      o.fill(b[g * M + m]);
      for (let k = 0; k < K; k++) {
        const wk = w[row + k];
        const x = inPlanes[g * K + k];
        for (let p = 0; p < pixels; p++) o[p] += wk * x[p];
      }
      if (res) {
        const r = res[g * M + m];
        for (let p = 0; p < pixels; p++) o[p] += r[p];
      }
      if (relu) for (let p = 0; p < pixels; p++) o[p] = act(o[p], true);
      out.push(o);
    }
  }
  return out;
}

/**
 * Packs grouped 1x1 weights for conv1x1 / gemv: per group, per block of 4 output channels,
 * [4 biases][K x 4 weights] with the 4 weights of input channel k adjacent. M is padded to
 * Mpad (a multiple of 4) with zero weights and zero biases.
 */
export function packConv1x1(w, b, groups, K, M) {
  const Mpad = roundUp(M, 4);
  const packed = new Float32Array(groups * (Mpad / 4) * (4 + 4 * K));
  let i = 0;
  for (let g = 0; g < groups; g++) {
    for (let mb = 0; mb < Mpad; mb += 4) {
      for (let j = 0; j < 4; j++) packed[i++] = mb + j < M ? b[g * M + mb + j] : 0;
      for (let k = 0; k < K; k++) {
        for (let j = 0; j < 4; j++) packed[i++] = mb + j < M ? w[(g * M + mb + j) * K + k] : 0;
      }
    }
  }
  return { packed, Mpad };
}

/** Fully connected: out[m] = act(b[m] + sum_k w[m*K + k] * x[k]). */
export function gemv(x, K, M, w, b, relu) {
  const out = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    let s = b[m];
    for (let k = 0; k < K; k++) s += w[m * K + k] * x[k];
    out[m] = act(s, relu);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 3x3 windows, pad 1.

/** Pixel of a plane, or `pad` outside the image. */
function at(plane, H, W, y, x, pad) {
  return y < 0 || y >= H || x < 0 || x >= W ? pad : plane[y * W + x];
}

/**
 * Depthwise 3x3 convolution, pad 1 (zeros), stride 1 or 2.
 * @param w C*9 taps, index c*9 + ky*3 + kx;  @param b C biases
 */
export function dwconv3x3(planes, C, H, W, stride, w, b, relu) {
  const Ho = outSize(H, stride), Wo = outSize(W, stride);
  const out = [];
  for (let c = 0; c < C; c++) {
    const o = new Float64Array(Ho * Wo);
    for (let yo = 0; yo < Ho; yo++) {
      for (let xo = 0; xo < Wo; xo++) {
        let s = b[c];
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            s += w[c * 9 + ky * 3 + kx] * at(planes[c], H, W, yo * stride + ky - 1, xo * stride + kx - 1, 0);
          }
        }
        o[yo * Wo + xo] = act(s, relu);
      }
    }
    out.push(o);
  }
  return out;
}

/** Packs depthwise weights: per channel [w00 w01 w02 w10 w11 w12 w20 w21 w22 bias 0 0]. */
export function packDwconv(w, b, C) {
  const packed = new Float32Array(C * 12);
  for (let c = 0; c < C; c++) {
    for (let t = 0; t < 9; t++) packed[c * 12 + t] = w[c * 9 + t];
    packed[c * 12 + 9] = b[c];
  }
  return packed;
}

/** 3x3 average pooling, pad 1, count_include_pad (always divides by 9). */
export function avgpool3x3(planes, C, H, W, stride) {
  const Ho = outSize(H, stride), Wo = outSize(W, stride);
  return planes.slice(0, C).map((p) => {
    const o = new Float64Array(Ho * Wo);
    for (let yo = 0; yo < Ho; yo++) {
      for (let xo = 0; xo < Wo; xo++) {
        let s = 0;
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) s += at(p, H, W, yo * stride + ky - 1, xo * stride + kx - 1, 0);
        }
        o[yo * Wo + xo] = s / 9;
      }
    }
    return o;
  });
}

/** 3x3 max pooling, stride 2, pad 1; padding never wins. */
export function maxpool3x3s2(planes, C, H, W) {
  const Ho = outSize(H, 2), Wo = outSize(W, 2);
  return planes.slice(0, C).map((p) => {
    const o = new Float64Array(Ho * Wo);
    for (let yo = 0; yo < Ho; yo++) {
      for (let xo = 0; xo < Wo; xo++) {
        let m = -Infinity;
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) m = Math.max(m, at(p, H, W, yo * 2 + ky - 1, xo * 2 + kx - 1, -Infinity));
        }
        o[yo * Wo + xo] = m;
      }
    }
    return o;
  });
}

/** Mean of each plane: a dense vector of C values. */
export function globalAvgPool(planes, C, pixels) {
  const out = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let p = 0; p < pixels; p++) s += planes[c][p];
    out[c] = s / pixels;
  }
  return out;
}

/** im2col for a 3x3 convolution, pad 1: Cin*9 planes of Ho x Wo, index ci*9 + ky*3 + kx. */
export function im2col3x3(planes, Cin, H, W, stride) {
  const Ho = outSize(H, stride), Wo = outSize(W, stride);
  const out = [];
  for (let ci = 0; ci < Cin; ci++) {
    for (let ky = 0; ky < 3; ky++) {
      for (let kx = 0; kx < 3; kx++) {
        const o = new Float64Array(Ho * Wo);
        for (let yo = 0; yo < Ho; yo++) {
          for (let xo = 0; xo < Wo; xo++) o[yo * Wo + xo] = at(planes[ci], H, W, yo * stride + ky - 1, xo * stride + kx - 1, 0);
        }
        out.push(o);
      }
    }
  }
  return out;
}

/**
 * Direct dense 3x3 convolution, pad 1 (the ONNX Conv the stem im2col + conv1x1 replaces).
 * @param w Cout*Cin*9 weights, index (co*Cin + ci)*9 + ky*3 + kx (ONNX OIHW)
 */
export function conv3x3(planes, Cin, H, W, stride, Cout, w, b, relu) {
  const Ho = outSize(H, stride), Wo = outSize(W, stride);
  const out = [];
  for (let co = 0; co < Cout; co++) {
    const o = new Float64Array(Ho * Wo);
    for (let yo = 0; yo < Ho; yo++) {
      for (let xo = 0; xo < Wo; xo++) {
        let s = b[co];
        for (let ci = 0; ci < Cin; ci++) {
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              s += w[(co * Cin + ci) * 9 + ky * 3 + kx] * at(planes[ci], H, W, yo * stride + ky - 1, xo * stride + kx - 1, 0);
            }
          }
        }
        o[yo * Wo + xo] = act(s, relu);
      }
    }
    out.push(o);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Data movement and element-wise.

/** Channel shuffle of C channels in `groups` groups: out[j*groups + i] = in[i*(C/groups) + j]. */
export function channelShuffle(planes, groups) {
  const C = planes.length, n = C / groups;
  if (!Number.isInteger(n)) throw new Error(`channelShuffle: ${C} channels do not split into ${groups} groups`);
  const out = new Array(C);
  for (let i = 0; i < groups; i++) for (let j = 0; j < n; j++) out[j * groups + i] = planes[i * n + j];
  return out;
}

/** Element-wise a + b rounded to float32 (what one f32 addition gives), optional ReLU. */
export function addF32(a, b, pixels, relu) {
  const o = new Float64Array(pixels);
  for (let p = 0; p < pixels; p++) o[p] = act(Math.fround(a[p] + b[p]), relu);
  return o;
}

/** max(x, 0). */
export function relu(a, pixels) {
  const o = new Float64Array(pixels);
  for (let p = 0; p < pixels; p++) o[p] = act(a[p], true);
  return o;
}
