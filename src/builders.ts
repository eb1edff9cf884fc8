// ShuffleNet v1 and v2 as graph IR with seeded synthetic weights (BatchNorm folded into
// conv weights and biases), following the papers and torchvision's layout.
import { GraphBuilder, type Graph, type TensorId } from './ir.js';
import { rng, heWeights, smallBias, type Rng, type UniformFill } from './random.js';
import { ShuffleNetError } from '../bindings/errors.js';

export interface BuildOptions {
  arch: 'v1' | 'v2';
  /** v2: 0.5 | 1 | 1.5 | 2; v1: 0.25 | 0.5 | 1 | 1.5 | 2 */
  width: number;
  /** v1 only: 1 | 2 | 3 | 4 | 8 (default 3) */
  groups?: number;
  /** weight seed (default 1) */
  seed?: number;
  /** classifier outputs (default 1000) */
  classes?: number;
}

const V2_CHANNELS: Record<string, number[]> = {
  '0.5': [24, 48, 96, 192, 1024],
  '1': [24, 116, 232, 464, 1024],
  '1.5': [24, 176, 352, 704, 1024],
  '2': [24, 244, 488, 976, 2048],
};

/** Paper Table 1: stage-2 output channels at 1x for each group count. */
const V1_STAGE2: Record<number, number> = { 1: 144, 2: 200, 3: 240, 4: 272, 8: 384 };
const V1_WIDTHS = [0.25, 0.5, 1, 1.5, 2];

class Net {
  readonly g = new GraphBuilder(3);
  private next: Rng;
  constructor(seed: number, fill?: UniformFill) {
    this.next = rng(seed, fill);
  }
  conv(x: TensorId, out: number, kernel: number, o: { stride?: number; groups?: number; relu?: boolean; name: string; scale?: number }): TensorId {
    const groups = o.groups ?? 1;
    const fanIn = (this.g.channels(x) / groups) * kernel * kernel;
    const weight = heWeights(this.next, out * fanIn, fanIn);
    if (o.scale !== undefined) for (let i = 0; i < weight.length; i++) weight[i] *= o.scale;
    const bias = smallBias(this.next, out);
    const y = this.g.conv(x, { outChannels: out, kernel, stride: o.stride, groups, weight, bias, name: o.name });
    return o.relu ? this.g.relu(y, `${o.name}_relu`) : y;
  }
  depthwise(x: TensorId, stride: number, name: string): TensorId {
    const c = this.g.channels(x);
    return this.conv(x, c, 3, { stride, groups: c, name });
  }
  head(x: TensorId, classes: number): TensorId {
    const c = this.g.channels(x);
    const pooled = this.g.gap(x, 'gap');
    return this.g.fc(pooled, {
      outFeatures: classes, weight: heWeights(this.next, classes * c, c), bias: smallBias(this.next, classes), name: 'fc',
    });
  }
}

export function buildV2(width: number, seed = 1, classes = 1000, fill?: UniformFill): Graph {
  const chans = V2_CHANNELS[String(width)];
  if (!chans) throw new ShuffleNetError('E_ARGUMENT', `ShuffleNet v2 width ${width} is not one of 0.5, 1, 1.5, 2`);
  const n = new Net(seed, fill);
  const g = n.g;
  const input = g.input();
  let x = n.conv(input, chans[0], 3, { stride: 2, relu: true, name: 'conv1' });
  x = g.pool('maxpool', x, 'maxpool');
  const repeats = [4, 8, 4];
  for (let s = 0; s < 3; s++) {
    const out = chans[s + 1];
    const half = out / 2;
    for (let u = 0; u < repeats[s]; u++) {
      const name = `stage${s + 2}.${u}`;
      let joined: TensorId;
      if (u === 0) {
        // stride 2: both branches see the whole input
        let b1 = n.depthwise(x, 2, `${name}.branch1.dw`);
        b1 = n.conv(b1, half, 1, { relu: true, name: `${name}.branch1.pw` });
        let b2 = n.conv(x, half, 1, { relu: true, name: `${name}.branch2.pw1` });
        b2 = n.depthwise(b2, 2, `${name}.branch2.dw`);
        b2 = n.conv(b2, half, 1, { relu: true, name: `${name}.branch2.pw2` });
        joined = g.concat([b1, b2], `${name}.concat`);
      } else {
        const [x1, x2] = g.split(x, [g.channels(x) / 2, g.channels(x) / 2], `${name}.split`);
        let b2 = n.conv(x2, half, 1, { relu: true, name: `${name}.branch2.pw1` });
        b2 = n.depthwise(b2, 1, `${name}.branch2.dw`);
        b2 = n.conv(b2, half, 1, { relu: true, name: `${name}.branch2.pw2` });
        joined = g.concat([x1, b2], `${name}.concat`);
      }
      x = g.shuffle(joined, 2, `${name}.shuffle`);
    }
  }
  x = n.conv(x, chans[4], 1, { relu: true, name: 'conv5' });
  return g.finish(input, n.head(x, classes));
}

/**
 * Channel counts of ShuffleNet v1 at a width: [stem, stage2, stage3, stage4].
 * Rule (documented in the README): stage channels = round(base * width / (4g)) * 4g, so
 * bottlenecks (out / 4) divide by g; the stem is round(24 * width), raised to the next
 * value with (stage2 - stem) % g == 0 so the first unit's grouped conv divides
 * (Megvii's 0.5x g=3 -> 12, g=8 -> 16).
 */
export function v1Channels(width: number, groups: number): number[] {
  const base = V1_STAGE2[groups];
  if (!base) throw new ShuffleNetError('E_ARGUMENT', `ShuffleNet v1 groups ${groups} is not one of 1, 2, 3, 4, 8`);
  if (!V1_WIDTHS.includes(width)) throw new ShuffleNetError('E_ARGUMENT', `ShuffleNet v1 width ${width} is not one of ${V1_WIDTHS.join(', ')}`);
  const q = 4 * groups;
  const c2 = Math.max(q, Math.round((base * width) / q) * q);
  let stem = Math.max(1, Math.round(24 * width));
  while ((c2 - stem) % groups !== 0) stem++;
  return [stem, c2, 2 * c2, 4 * c2];
}

export function buildV1(width: number, groups = 3, seed = 1, classes = 1000, fill?: UniformFill): Graph {
  const [stem, ...stages] = v1Channels(width, groups);
  const n = new Net(seed, fill);
  const g = n.g;
  const input = g.input();
  let x = n.conv(input, stem, 3, { stride: 2, relu: true, name: 'conv1' });
  x = g.pool('maxpool', x, 'maxpool');
  const repeats = [4, 8, 4];
  for (let s = 0; s < 3; s++) {
    const out = stages[s];
    const mid = out / 4;
    for (let u = 0; u < repeats[s]; u++) {
      const name = `stage${s + 2}.${u}`;
      const stride = u === 0 ? 2 : 1;
      const inC = g.channels(x);
      // Stage 2's first pointwise conv is not grouped: its input (the stem) is small.
      const g1 = s === 0 && u === 0 ? 1 : groups;
      let b = n.conv(x, mid, 1, { groups: g1, relu: true, name: `${name}.gconv1` });
      if (groups > 1) b = g.shuffle(b, groups, `${name}.shuffle`);
      b = n.depthwise(b, stride, `${name}.dw`);
      if (stride === 2) {
        b = n.conv(b, out - inC, 1, { groups, name: `${name}.gconv2` });
        const pooled = g.pool('avgpool', x, `${name}.avgpool`);
        x = g.relu(g.concat([pooled, b], `${name}.concat`), `${name}.relu`);
      } else {
        // Residual branches start small (as BN gamma does when trained) so activations
        // do not double at every unit of the synthetic network.
        b = n.conv(b, out, 1, { groups, name: `${name}.gconv2`, scale: 0.25 });
        x = g.relu(g.add(x, b, `${name}.add`), `${name}.relu`);
      }
    }
  }
  return g.finish(input, n.head(x, classes));
}

/** The network with its synthetic weights; `fill` may generate them faster (same values). */
export function buildGraph(o: BuildOptions, fill?: UniformFill): Graph {
  const classes = o.classes ?? 1000;
  if (!Number.isInteger(classes) || classes < 1 || classes > 100000) {
    throw new ShuffleNetError('E_ARGUMENT', `classes must be an integer in 1..100000, got ${o.classes}`);
  }
  if (o.arch === 'v2') return buildV2(o.width, o.seed ?? 1, classes, fill);
  if (o.arch === 'v1') return buildV1(o.width, o.groups ?? 3, o.seed ?? 1, classes, fill);
  throw new ShuffleNetError('E_ARGUMENT', `arch must be 'v1' or 'v2', got ${String(o.arch)}`);
}
