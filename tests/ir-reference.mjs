// A plain-JS NCHW evaluator of the graph IR (src/ir.ts), for tests: simple loops, float64
// accumulation, one image at a time. It is the reference the importer, the writer and the
// WebAssembly runtime are checked against.
//
//   evaluateGraph(graph, input, height, width) -> { data: Float32Array, channels, height, width }
//   evaluateGraphAll(...) -> Map<TensorId, { data, channels, height, width }> (every tensor)
//
// `input` holds inputChannels * height * width values, channel-major (CHW) for one image.
// Semantics follow ir.ts: conv/pool padding is `pad` on every side, avgpool counts padding
// (divides by 9), maxpool ignores padding, shuffle out[j*g + i] = in[i*(C/g) + j], `relu`
// flags apply after the op (for conv: relu(conv + residual)).

export function convOutSize(size, kernel, stride, pad) {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

function conv(x, n) {
  const { channels: cin, height: h, width: w, data } = x;
  const k = n.kernel, s = n.stride, p = n.pad, g = n.groups;
  const cout = n.bias.length;
  const oh = convOutSize(h, k, s, p), ow = convOutSize(w, k, s, p);
  const cinG = cin / g, coutG = cout / g;
  const out = new Float32Array(cout * oh * ow);
  const acc = new Float64Array(oh * ow);
  for (let o = 0; o < cout; o++) {
    const grp = Math.floor(o / coutG);
    acc.fill(n.bias[o]);
    for (let ci = 0; ci < cinG; ci++) {
      const c = grp * cinG + ci;
      const plane = c * h * w;
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const wv = n.weight[((o * cinG + ci) * k + ky) * k + kx];
          if (wv === 0) continue;
          for (let y = 0; y < oh; y++) {
            const iy = y * s - p + ky;
            if (iy < 0 || iy >= h) continue;
            const row = plane + iy * w;
            const orow = y * ow;
            for (let xx = 0; xx < ow; xx++) {
              const ix = xx * s - p + kx;
              if (ix < 0 || ix >= w) continue;
              acc[orow + xx] += wv * data[row + ix];
            }
          }
        }
      }
    }
    out.set(acc, o * oh * ow);
  }
  return { data: out, channels: cout, height: oh, width: ow };
}

function pool(x, max) {
  const { channels: c, height: h, width: w, data } = x;
  const oh = convOutSize(h, 3, 2, 1), ow = convOutSize(w, 3, 2, 1);
  const out = new Float32Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        let m = -Infinity, sum = 0;
        for (let ky = 0; ky < 3; ky++) {
          const iy = y * 2 - 1 + ky;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < 3; kx++) {
            const ix = xx * 2 - 1 + kx;
            if (ix < 0 || ix >= w) continue;
            const v = data[(ch * h + iy) * w + ix];
            if (v > m) m = v;
            sum += v;
          }
        }
        out[(ch * oh + y) * ow + xx] = max ? m : sum / 9;
      }
    }
  }
  return { data: out, channels: c, height: oh, width: ow };
}

function reluInPlace(t) {
  const d = t.data;
  for (let i = 0; i < d.length; i++) if (d[i] < 0) d[i] = 0;
  return t;
}

/** Evaluates every node; returns the map of all tensors. */
export function evaluateGraphAll(graph, input, height, width) {
  const expected = graph.inputChannels * height * width;
  if (input.length !== expected) throw new Error(`input has ${input.length} values, expected ${expected}`);
  const vals = new Map();
  vals.set(graph.input, { data: Float32Array.from(input), channels: graph.inputChannels, height, width });
  const get = (t) => {
    const v = vals.get(t);
    if (!v) throw new Error(`tensor ${t} used before it is computed`);
    return v;
  };
  for (const n of graph.nodes) {
    let r;
    switch (n.op) {
      case 'conv': {
        r = conv(get(n.input), n);
        if (n.residual !== undefined) {
          const res = get(n.residual).data;
          for (let i = 0; i < r.data.length; i++) r.data[i] += res[i];
        }
        break;
      }
      case 'fc': {
        const x = get(n.input);
        const k = x.data.length, m = n.bias.length;
        if (n.weight.length !== k * m) throw new Error(`fc ${n.name}: input has ${k} values, weight ${n.weight.length}`);
        const out = new Float32Array(m);
        for (let o = 0; o < m; o++) {
          let s = n.bias[o];
          for (let i = 0; i < k; i++) s += n.weight[o * k + i] * x.data[i];
          out[o] = s;
        }
        r = { data: out, channels: m, height: 1, width: 1 };
        break;
      }
      case 'maxpool': case 'avgpool': r = pool(get(n.input), n.op === 'maxpool'); break;
      case 'gap': {
        const x = get(n.input);
        const hw = x.height * x.width;
        const out = new Float32Array(x.channels);
        for (let c = 0; c < x.channels; c++) {
          let s = 0;
          for (let i = 0; i < hw; i++) s += x.data[c * hw + i];
          out[c] = s / hw;
        }
        r = { data: out, channels: x.channels, height: 1, width: 1 };
        break;
      }
      case 'relu': {
        const x = get(n.input);
        r = reluInPlace({ ...x, data: Float32Array.from(x.data) });
        break;
      }
      case 'add': {
        const a = get(n.inputs[0]), b = get(n.inputs[1]);
        const out = new Float32Array(a.data.length);
        for (let i = 0; i < out.length; i++) out[i] = a.data[i] + b.data[i];
        r = { ...a, data: out };
        break;
      }
      case 'concat': {
        const xs = n.inputs.map(get);
        const total = xs.reduce((s, x) => s + x.data.length, 0);
        const out = new Float32Array(total);
        let off = 0;
        for (const x of xs) { out.set(x.data, off); off += x.data.length; }
        r = { data: out, channels: xs.reduce((s, x) => s + x.channels, 0), height: xs[0].height, width: xs[0].width };
        break;
      }
      case 'split': {
        const x = get(n.input);
        const hw = x.height * x.width;
        let c0 = 0;
        n.outputs.forEach((t, i) => {
          const c = n.sizes[i];
          vals.set(t, { data: x.data.slice(c0 * hw, (c0 + c) * hw), channels: c, height: x.height, width: x.width });
          c0 += c;
        });
        continue;
      }
      case 'shuffle': {
        const x = get(n.input);
        const hw = x.height * x.width;
        const g = n.groups, per = x.channels / g;
        const out = new Float32Array(x.data.length);
        for (let i = 0; i < g; i++) {
          for (let j = 0; j < per; j++) out.set(x.data.subarray((i * per + j) * hw, (i * per + j + 1) * hw), (j * g + i) * hw);
        }
        r = { ...x, data: out };
        break;
      }
      default: throw new Error(`reference: unknown op ${n.op}`);
    }
    if (n.relu) reluInPlace(r);
    vals.set(n.output, r);
  }
  return vals;
}

/** Evaluates the graph on one CHW image; returns the output tensor. */
export function evaluateGraph(graph, input, height, width) {
  return evaluateGraphAll(graph, input, height, width).get(graph.output);
}
