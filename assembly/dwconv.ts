// Depthwise 3x3 convolution, pad 1, stride 1 or 2, on channel planes, fused bias and
// optional ReLU. Also serves 3x3 average pooling (count_include_pad): weights 1/9, bias 0.
//
// SIMD runs along the pixels of a row, 4 outputs per vector. A plane is computed column
// by column (one output vector wide) from top to bottom: each input row is loaded once per
// column and feeds every output row it touches (three at stride 1, two for the odd rows at
// stride 2), with the running sums rolling down the column, so an output vector costs three
// (stride 1) or six (stride 2) input loads and one store. Rows outside the image add
// nothing and are never read. The left image border is a zero shifted into the first
// column (nothing before a row is read); the right border is a lane mask on the last. The
// last column may spill past the row end: those lanes land at the start of the next row,
// which the first column writes afterwards (so the last column goes first), or in the
// plane's padding, which every plane has. Rows of at most four outputs go row by row,
// with the shared zero row standing for the rows outside the image.
//
// Packed weights, per channel: [w00 w01 w02 w10 w11 w12 w20 w21 w22 bias 0 0] (48 bytes).
//
// Register budget: 9 weights, the two or three running sums and one row's three input
// vectors (15 v128, the most V8 keeps in xmm registers); the bias is splatted from memory
// where it is needed. The one store per input row also keeps TurboFan from hoisting the
// next row's loads (see ../../shared/notes/assemblyscript.md, depthwise v5).
//
// Code generation: each stride is its own function (dwS1, dwS2) with the constants
// inlined. Inlining both strides into one function let Binaryen fold the copies back
// together behind runtime stride tests, which cost a third of the speed. ReLU is a pass
// over each finished plane instead of more copies of the loops (module size).
import { madd, relu, laneMask } from "./simd";
import { FLAG_RELU } from "./gemm";

export const DW_WEIGHT_FLOATS: i32 = 12;

// ---- stride 2: output x reads input 2x-1, 2x, 2x+1; deinterleave 8 inputs into even/odd lanes ----
// (these three serve max pooling, assembly/pool.ts)
@inline
export function evenLanes(p: usize): v128 {
  return i32x4.shuffle(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
}
@inline
export function oddLanes(p: usize): v128 {
  return i32x4.shuffle(v128.load(p), v128.load(p, 16), 1, 3, 5, 7);
}
@inline
export function leftLanes(p: usize): v128 {
  return i32x4.shuffle(v128.load(p - 4), v128.load(p, 12), 0, 2, 4, 6);
}

/** [0, v0, v1, v2]: the left neighbours of a row's first four outputs (left of the first is padding). */
@inline
function shiftInZero(v: v128): v128 {
  // lanes 3..6 of (0, v): one palignr on x86 (lane 0 of the zero vector would be a blend too)
  return i32x4.shuffle(i32x4.splat(0), v, 3, 4, 5, 6);
}

// The three inputs of one kernel row for one output vector, read through a cursor q that
// points 4 bytes (stride 1) or 16 bytes (stride 2) before the input of the vector's first
// output, so that every load has a constant offset: left (x-1), centre (x), right (x+1).
// edgeL (a constant after inlining): first vector of the row, whose left neighbour is padding.
@inline
function centreAt(stride: i32, q: usize): v128 {
  if (stride == 1) return v128.load(q, 4);
  return i32x4.shuffle(v128.load(q, 16), v128.load(q, 32), 0, 2, 4, 6);
}
@inline
function rightAt(stride: i32, q: usize): v128 {
  if (stride == 1) return v128.load(q, 8);
  return i32x4.shuffle(v128.load(q, 16), v128.load(q, 32), 1, 3, 5, 7);
}
/** `next` is centreAt (stride 1) or rightAt (stride 2) of the same cursor. */
@inline
function leftAt(stride: i32, edgeL: bool, q: usize, next: v128): v128 {
  if (edgeL) return shiftInZero(next);
  if (stride == 1) return v128.load(q);
  return i32x4.shuffle(v128.load(q), next, 3, 4, 5, 6);
}

/** acc + one kernel row's three taps. edgeR: last vector of the row, mR clears lanes past the border. */
@inline
function rowTaps(stride: i32, edgeL: bool, edgeR: bool, q: usize, mR: v128, wl: v128, wc: v128, wr: v128, acc: v128): v128 {
  const c = centreAt(stride, q);
  let r = rightAt(stride, q);
  const l = leftAt(stride, edgeL, q, stride == 1 ? c : r);
  if (edgeR) r = v128.and(r, mR);
  return madd(wr, r, madd(wc, c, madd(wl, l, acc)));
}

/** One output vector, kernel row by kernel row, storing the partial sum after each (keeps TurboFan from spilling). */
@inline
function outputVector(
  stride: i32, edgeL: bool, edgeR: bool, q0: usize, q1: usize, q2: usize, o: usize,
  w0: v128, w1: v128, w2: v128, w3: v128, w4: v128, w5: v128, w6: v128, w7: v128, w8: v128,
  bias: v128, mR: v128,
): void {
  let a = rowTaps(stride, edgeL, edgeR, q0, mR, w0, w1, w2, bias);
  v128.store(o, a);
  a = rowTaps(stride, edgeL, edgeR, q1, mR, w3, w4, w5, a);
  v128.store(o, a);
  a = rowTaps(stride, edgeL, edgeR, q2, mR, w6, w7, w8, a);
  v128.store(o, a);
}

/**
 * Stride 1, one column of output vectors down the whole plane: each input row is loaded once
 * and feeds the three outputs it touches (rows i-1, i, i+1), whose sums roll down the column:
 * three loads and one store per output vector. The rows outside the image add nothing, so
 * they are never read. q: cursor of input row 0 at this column; o: output row 0.
 */
@inline
function outputColumn(
  edgeL: bool, edgeR: bool, q: usize, o: usize, H: i32, rowBytes: usize,
  w0: v128, w1: v128, w2: v128, w3: v128, w4: v128, w5: v128, w6: v128, w7: v128, w8: v128,
  bp: usize, mR: v128,
): void {
  let c = centreAt(1, q), r = rightAt(1, q), l = leftAt(1, edgeL, q, c);
  if (edgeR) r = v128.and(r, mR);
  let Q = madd(w5, r, madd(w4, c, madd(w3, l, v128.load32_splat(bp))));   // output row 0
  let R = madd(w2, r, madd(w1, c, madd(w0, l, v128.load32_splat(bp))));   // output row 1
  for (let i = 1; i < H; i++) {
    q += rowBytes;
    c = centreAt(1, q); r = rightAt(1, q); l = leftAt(1, edgeL, q, c);
    if (edgeR) r = v128.and(r, mR);
    Q = madd(w8, r, madd(w7, c, madd(w6, l, Q)));                          // output row i-1 done
    v128.store(o, Q);
    o += rowBytes;
    Q = madd(w5, r, madd(w4, c, madd(w3, l, R)));
    R = madd(w2, r, madd(w1, c, madd(w0, l, v128.load32_splat(bp))));
  }
  v128.store(o, Q);                                                        // output row H-1
}

/**
 * Stride 2, one column of output vectors down the whole plane: output row y reads input rows
 * 2y-1, 2y, 2y+1; each odd input row is loaded and deinterleaved once for the two outputs it
 * touches. q: cursor of input row 0 at this column; o: output row 0.
 */
@inline
function outputColumnS2(
  edgeL: bool, edgeR: bool, q: usize, o: usize, H: i32, Ho: i32, rowBytes: usize, outRowBytes: usize,
  w0: v128, w1: v128, w2: v128, w3: v128, w4: v128, w5: v128, w6: v128, w7: v128, w8: v128,
  bp: usize, mR: v128,
): void {
  let Q = rowTaps(2, edgeL, edgeR, q, mR, w3, w4, w5, v128.load32_splat(bp));  // output row 0, input row 0
  for (let y = 1; y < Ho; y++) {
    q += rowBytes;                                                           // input row 2y-1
    const c = centreAt(2, q);
    let r = rightAt(2, q);
    const l = leftAt(2, edgeL, q, r);
    if (edgeR) r = v128.and(r, mR);
    Q = madd(w8, r, madd(w7, c, madd(w6, l, Q)));                            // output row y-1 done
    v128.store(o, Q);
    o += outRowBytes;
    Q = madd(w2, r, madd(w1, c, madd(w0, l, v128.load32_splat(bp))));
    q += rowBytes;                                                           // input row 2y
    Q = rowTaps(2, edgeL, edgeR, q, mR, w3, w4, w5, Q);
  }
  if ((H & 1) == 0) Q = rowTaps(2, edgeL, edgeR, q + rowBytes, mR, w6, w7, w8, Q);  // input row H-1
  v128.store(o, Q);
}

@inline
function dwconvPlanes(
  stride: i32, doRelu: bool, inTable: usize, outTable: usize, C: i32, H: i32, W: i32,
  weights: usize, zeroRow: usize,
): void {
  const Ho = (H - 1) / stride + 1;
  const Wo = (W - 1) / stride + 1;
  const rowBytes = <usize>(W << 2);
  const outRowBytes = <usize>(Wo << 2);
  const nv = (Wo + 3) >> 2;            // vectors per output row
  const xl = (nv - 1) << 2;            // first pixel of the last vector
  const xEnd = <usize>(xl << 2);       // its byte offset in the output row
  const back: usize = stride == 1 ? 4 : 16;  // cursor = input position - back
  // Right neighbour valid for lanes whose input column + 1 < W.
  const mR = stride == 1 ? laneMask(W - 1 - xl) : laneMask((W >> 1) - xl);
  for (let c = 0; c < C; c++) {
    const inP = <usize>load<u32>(inTable + (c << 2));
    const outP = <usize>load<u32>(outTable + (c << 2));
    let o = outP;
    const wp = weights + <usize>(c * DW_WEIGHT_FLOATS * 4);
    const w0 = v128.load32_splat(wp), w1 = v128.load32_splat(wp, 4), w2 = v128.load32_splat(wp, 8);
    const w3 = v128.load32_splat(wp, 12), w4 = v128.load32_splat(wp, 16), w5 = v128.load32_splat(wp, 20);
    const w6 = v128.load32_splat(wp, 24), w7 = v128.load32_splat(wp, 28), w8 = v128.load32_splat(wp, 32);
    const bias = v128.load32_splat(wp, 36);
    if (nv > 1) {
      // Column by column; the last first: what it spills past a row's end lands at the
      // start of the next row, which the first column then writes.
      const bp = wp + 36, q = inP - back;
      if (stride == 1) {
        outputColumn(false, true, q + xEnd, o + xEnd, H, rowBytes, w0, w1, w2, w3, w4, w5, w6, w7, w8, bp, mR);
        outputColumn(true, false, q, o, H, rowBytes, w0, w1, w2, w3, w4, w5, w6, w7, w8, bp, mR);
        for (let x4: usize = 16; x4 < xEnd; x4 += 16) {
          outputColumn(false, false, q + x4, o + x4, H, rowBytes, w0, w1, w2, w3, w4, w5, w6, w7, w8, bp, mR);
        }
      } else {
        outputColumnS2(false, true, q + (xEnd << 1), o + xEnd, H, Ho, rowBytes, outRowBytes, w0, w1, w2, w3, w4, w5, w6, w7, w8, bp, mR);
        outputColumnS2(true, false, q, o, H, Ho, rowBytes, outRowBytes, w0, w1, w2, w3, w4, w5, w6, w7, w8, bp, mR);
        for (let x4: usize = 16; x4 < xEnd; x4 += 16) {
          outputColumnS2(false, false, q + (x4 << 1), o + x4, H, Ho, rowBytes, outRowBytes, w0, w1, w2, w3, w4, w5, w6, w7, w8, bp, mR);
        }
      }
    } else {
      // At most four outputs per row: one vector, both borders, row by row.
      for (let yo = 0; yo < Ho; yo++) {
        const iy = yo * stride - 1;
        const q1 = inP + <usize>(iy + 1) * rowBytes - back;
        const q0 = iy >= 0 ? q1 - rowBytes : zeroRow - back;
        const q2 = iy + 2 < H ? q1 + rowBytes : zeroRow - back;
        outputVector(stride, true, true, q0, q1, q2, o, w0, w1, w2, w3, w4, w5, w6, w7, w8, bias, mR);
        o += outRowBytes;
      }
    }
    // ReLU as a pass over the finished plane (still in L1) rather than a second copy of
    // every loop: the depthwise layers of ShuffleNet have none, so this keeps the module small.
    if (doRelu) {
      const end = outP + <usize>(Ho * Wo * 4);
      for (let p = outP; p < end; p += 16) v128.store(p, relu(v128.load(p)));
    }
  }
}

// One copy per stride, so no stride test runs inside the loops.
function dwS1(inTable: usize, outTable: usize, C: i32, H: i32, W: i32, weights: usize, zeroRow: usize, doRelu: bool): void {
  dwconvPlanes(1, doRelu, inTable, outTable, C, H, W, weights, zeroRow);
}
function dwS2(inTable: usize, outTable: usize, C: i32, H: i32, W: i32, weights: usize, zeroRow: usize, doRelu: bool): void {
  dwconvPlanes(2, doRelu, inTable, outTable, C, H, W, weights, zeroRow);
}

/**
 * @param inTable  u32 offsets of C input planes (H x W)
 * @param outTable u32 offsets of C output planes (Ho x Wo), Ho = (H-1)/stride + 1
 * @param weights  C x 12 packed floats
 * @param zeroRow  a row of at least 2*W + 16 zero floats, with 4 zero floats before it
 */
export function dwconv3x3(
  inTable: usize, outTable: usize, C: i32, H: i32, W: i32, stride: i32,
  weights: usize, zeroRow: usize, flags: i32,
): void {
  const doRelu = (flags & FLAG_RELU) != 0;
  if (stride == 1) dwS1(inTable, outTable, C, H, W, weights, zeroRow, doRelu);
  else dwS2(inTable, outTable, C, H, W, weights, zeroRow, doRelu);
}
