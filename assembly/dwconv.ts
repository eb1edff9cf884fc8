// Depthwise 3x3 convolution, pad 1, stride 1 or 2, on channel planes, fused bias and
// optional ReLU. Also serves 3x3 average pooling (count_include_pad): weights 1/9, bias 0.
//
// SIMD runs along the pixels of a row, 4 outputs per vector. Rows above and below the
// image read a shared zero row instead of branching. The left image border is a zero
// shifted into the first vector of each row (nothing before a row is read); the right
// border is a lane mask on the last vector. The last vector of a row may spill past the
// row end: those lanes land in the next row (written again later, rows go in order) or
// in the plane's padding, which every plane has.
//
// Two output rows per pass: at stride 1 input rows b and c of the four feed both, at
// stride 2 the middle one of the five (loaded and deinterleaved once). At stride 1 an odd
// row count ends with three rows in one pass (7x7: pair, pair, triple instead of three
// pairs and a single row); at stride 2 an odd last row, and any row of at most four
// outputs, goes alone.
//
// Packed weights, per channel: [w00 w01 w02 w10 w11 w12 w20 w21 w22 bias 0 0] (48 bytes).
//
// Register budget: 9 weights and the bias stay in registers; a partial sum is stored
// after each input row so TurboFan cannot hoist all the loads to the top of the loop
// body (which spills). See ../../shared/notes/assemblyscript.md, depthwise v5.
//
// Code generation: each stride is its own function (dwS1, dwS2) with the constants
// inlined. Inlining both strides into one function let Binaryen fold the copies back
// together behind runtime stride tests, which cost a third of the speed. ReLU is a pass
// over each finished plane instead of more copies of the loops (module size: the package
// size test allows little more).
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
 * Two output vectors, one above the other (rows A and B). Stride 1: input rows a..d, A reads
 * a b c and B reads b c d; stride 2: rows a..e, A reads a b c and B reads c d e. The shared
 * rows are loaded (and at stride 2 deinterleaved) once for both. One store per input row.
 */
@inline
function outputPair(
  stride: i32, edgeL: bool, edgeR: bool,
  qa: usize, qb: usize, qc: usize, qd: usize, qe: usize, oA: usize, oB: usize,
  w0: v128, w1: v128, w2: v128, w3: v128, w4: v128, w5: v128, w6: v128, w7: v128, w8: v128,
  bias: v128, mR: v128,
): void {
  let A = rowTaps(stride, edgeL, edgeR, qa, mR, w0, w1, w2, bias);
  v128.store(oA, A);
  let B: v128;
  if (stride == 1) {
    let c = centreAt(1, qb), r = rightAt(1, qb), l = leftAt(1, edgeL, qb, c);
    if (edgeR) r = v128.and(r, mR);
    A = madd(w5, r, madd(w4, c, madd(w3, l, A)));
    B = madd(w2, r, madd(w1, c, madd(w0, l, bias)));
    v128.store(oB, B);
    c = centreAt(1, qc); r = rightAt(1, qc); l = leftAt(1, edgeL, qc, c);
    if (edgeR) r = v128.and(r, mR);
    A = madd(w8, r, madd(w7, c, madd(w6, l, A)));
    B = madd(w5, r, madd(w4, c, madd(w3, l, B)));
    v128.store(oA, A);
    B = rowTaps(1, edgeL, edgeR, qd, mR, w6, w7, w8, B);
  } else {
    A = rowTaps(2, edgeL, edgeR, qb, mR, w3, w4, w5, A);
    v128.store(oA, A);
    const c = centreAt(2, qc);
    let r = rightAt(2, qc);
    const l = leftAt(2, edgeL, qc, r);
    if (edgeR) r = v128.and(r, mR);
    A = madd(w8, r, madd(w7, c, madd(w6, l, A)));
    B = madd(w2, r, madd(w1, c, madd(w0, l, bias)));
    v128.store(oA, A);
    B = rowTaps(2, edgeL, edgeR, qd, mR, w3, w4, w5, B);
    v128.store(oB, B);
    B = rowTaps(2, edgeL, edgeR, qe, mR, w6, w7, w8, B);
  }
  v128.store(oB, B);
}

/**
 * Three output vectors in a column (rows A, B, C), stride 1, for an odd row count's last
 * three rows: input rows a..e, row c feeds all three. The bias is splatted from memory (bp):
 * as a register it would be the sixteenth live v128.
 */
@inline
function outputTriple(
  edgeL: bool, edgeR: bool,
  qa: usize, qb: usize, qc: usize, qd: usize, qe: usize, oA: usize, oB: usize, oC: usize,
  w0: v128, w1: v128, w2: v128, w3: v128, w4: v128, w5: v128, w6: v128, w7: v128, w8: v128,
  bp: usize, mR: v128,
): void {
  let A = rowTaps(1, edgeL, edgeR, qa, mR, w0, w1, w2, v128.load32_splat(bp));
  v128.store(oA, A);
  let c = centreAt(1, qb), r = rightAt(1, qb), l = leftAt(1, edgeL, qb, c);
  if (edgeR) r = v128.and(r, mR);
  A = madd(w5, r, madd(w4, c, madd(w3, l, A)));
  let B = madd(w2, r, madd(w1, c, madd(w0, l, v128.load32_splat(bp))));
  v128.store(oB, B);
  c = centreAt(1, qc); r = rightAt(1, qc); l = leftAt(1, edgeL, qc, c);
  if (edgeR) r = v128.and(r, mR);
  A = madd(w8, r, madd(w7, c, madd(w6, l, A)));
  B = madd(w5, r, madd(w4, c, madd(w3, l, B)));
  let C = madd(w2, r, madd(w1, c, madd(w0, l, v128.load32_splat(bp))));
  v128.store(oA, A);
  c = centreAt(1, qd); r = rightAt(1, qd); l = leftAt(1, edgeL, qd, c);
  if (edgeR) r = v128.and(r, mR);
  B = madd(w8, r, madd(w7, c, madd(w6, l, B)));
  C = madd(w5, r, madd(w4, c, madd(w3, l, C)));
  v128.store(oB, B);
  C = rowTaps(1, edgeL, edgeR, qe, mR, w6, w7, w8, C);
  v128.store(oC, C);
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
  // stride 1 with an odd row count >= 3 ends with a triple instead of a pair and a single row
  const triple = stride == 1 && nv > 1 && Ho >= 3 && (Ho & 1) != 0;
  const pairs = nv > 1 ? (triple ? (Ho - 3) >> 1 : Ho >> 1) : 0;
  const step: usize = 16 * stride;     // cursor advance per output vector
  for (let c = 0; c < C; c++) {
    const inP = <usize>load<u32>(inTable + (c << 2));
    const outP = <usize>load<u32>(outTable + (c << 2));
    let o = outP;
    const wp = weights + <usize>(c * DW_WEIGHT_FLOATS * 4);
    const w0 = v128.load32_splat(wp), w1 = v128.load32_splat(wp, 4), w2 = v128.load32_splat(wp, 8);
    const w3 = v128.load32_splat(wp, 12), w4 = v128.load32_splat(wp, 16), w5 = v128.load32_splat(wp, 20);
    const w6 = v128.load32_splat(wp, 24), w7 = v128.load32_splat(wp, 28), w8 = v128.load32_splat(wp, 32);
    const bias = v128.load32_splat(wp, 36);
    let yo = 0;
    let qRow = inP - back;                 // cursor of input row 2 * yo (stride 2) or yo
    for (let k = 0; k < pairs; k++) {
      const iy = yo * stride - 1;
      let qb = qRow;
      qRow += rowBytes * (2 * stride);
      let qa = iy >= 0 ? qb - rowBytes : zeroRow - back;
      let qc = qb + rowBytes;
      let qd: usize, qe: usize = 0;
      if (stride == 1) {
        qd = iy + 3 < H ? qc + rowBytes : zeroRow - back;
      } else {
        qd = qc + rowBytes;
        qe = iy + 4 < H ? qd + rowBytes : zeroRow - back;
      }
      let oA = o, oB = o + outRowBytes;
      const qEnd = xEnd * stride;
      // The last vector first: what it spills past row A's end lands at the start of row B,
      // which the first vector then writes.
      outputPair(stride, false, true, qa + qEnd, qb + qEnd, qc + qEnd, qd + qEnd, qe + qEnd, oA + xEnd, oB + xEnd,
        w0, w1, w2, w3, w4, w5, w6, w7, w8, bias, mR);
      outputPair(stride, true, false, qa, qb, qc, qd, qe, oA, oB, w0, w1, w2, w3, w4, w5, w6, w7, w8, bias, mR);
      const oEnd = o + xEnd;
      while ((oA += 16) < oEnd) {
        qa += step; qb += step; qc += step; qd += step; qe += step; oB += 16;
        outputPair(stride, false, false, qa, qb, qc, qd, qe, oA, oB, w0, w1, w2, w3, w4, w5, w6, w7, w8, bias, mR);
      }
      o += outRowBytes << 1;
      yo += 2;
    }
    if (triple) {
      const bp = wp + 36;
      let qb = qRow;
      let qa = yo > 0 ? qb - rowBytes : zeroRow - 4;
      let qc = qb + rowBytes, qd = qc + rowBytes;
      let qe = zeroRow - 4;                // the triple ends the plane
      let oA = o, oB = o + outRowBytes, oC = oB + outRowBytes;
      outputTriple(false, true, qa + xEnd, qb + xEnd, qc + xEnd, qd + xEnd, qe + xEnd, oA + xEnd, oB + xEnd, oC + xEnd,
        w0, w1, w2, w3, w4, w5, w6, w7, w8, bp, mR);
      outputTriple(true, false, qa, qb, qc, qd, qe, oA, oB, oC, w0, w1, w2, w3, w4, w5, w6, w7, w8, bp, mR);
      const oEnd = o + xEnd;
      while ((oA += 16) < oEnd) {
        qa += 16; qb += 16; qc += 16; qd += 16; qe += 16; oB += 16; oC += 16;
        outputTriple(false, false, qa, qb, qc, qd, qe, oA, oB, oC, w0, w1, w2, w3, w4, w5, w6, w7, w8, bp, mR);
      }
      o += outRowBytes * 3;
      yo += 3;
    }
    for (; yo < Ho; yo++) {
      const iy = yo * stride - 1;
      let q1 = inP + <usize>(iy + 1) * rowBytes - back;
      let q0 = iy >= 0 ? q1 - rowBytes : zeroRow - back;
      let q2 = iy + 2 < H ? q1 + rowBytes : zeroRow - back;
      if (nv == 1) {
        outputVector(stride, true, true, q0, q1, q2, o, w0, w1, w2, w3, w4, w5, w6, w7, w8, bias, mR);
      } else {
        outputVector(stride, true, false, q0, q1, q2, o, w0, w1, w2, w3, w4, w5, w6, w7, w8, bias, mR);
        let oo = o;
        const oEnd = o + xEnd;
        while ((oo += 16) < oEnd) {
          q0 += step; q1 += step; q2 += step;
          outputVector(stride, false, false, q0, q1, q2, oo, w0, w1, w2, w3, w4, w5, w6, w7, w8, bias, mR);
        }
        q0 += step; q1 += step; q2 += step;
        outputVector(stride, false, true, q0, q1, q2, oEnd, w0, w1, w2, w3, w4, w5, w6, w7, w8, bias, mR);
      }
      o += outRowBytes;
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
