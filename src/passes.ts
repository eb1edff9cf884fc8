// Graph passes before planning: fuse each residual Add into the 1x1 conv that produces one of
// its operands, and each ReLU into its producer (through a concat when every concat input
// can take it). Works on copies; the caller's graph is never modified.
import { nodeInputs, nodeOutputs, type Graph, type Node, type TensorId } from './ir.js';

function consumersOf(nodes: Node[]): Map<TensorId, Node[]> {
  const m = new Map<TensorId, Node[]>();
  for (const n of nodes) for (const t of nodeInputs(n)) {
    const list = m.get(t) ?? [];
    list.push(n);
    m.set(t, list);
  }
  return m;
}

function producersOf(nodes: Node[]): Map<TensorId, Node> {
  const m = new Map<TensorId, Node>();
  for (const n of nodes) for (const t of nodeOutputs(n)) m.set(t, n);
  return m;
}

const canTakeRelu = (n: Node | undefined): n is Extract<Node, { relu: boolean }> =>
  !!n && (n.op === 'conv' || n.op === 'fc' || n.op === 'maxpool' || n.op === 'avgpool' || n.op === 'add') && !n.relu;

export function fuse(graph: Graph): Graph {
  let nodes: Node[] = graph.nodes.map((n) => ({ ...n }) as Node);
  const isOutput = (t: TensorId) => t === graph.output;
  // The producer / consumer maps are built once per pass and updated as nodes merge, so the
  // passes stay linear in the node count (a crafted file may have thousands of nodes).
  const position = new Map<Node, number>(nodes.map((n, i) => [n, i]));

  // 1. add(a, conv1x1(...)) -> conv with residual a
  let producers = producersOf(nodes);
  let consumers = consumersOf(nodes);
  let removed = new Set<Node>();
  for (const add of nodes) {
    if (add.op !== 'add' || add.relu) continue;
    for (const [k, other] of [[1, 0], [0, 1]] as const) {
      const p = producers.get(add.inputs[k]);
      const otherProducer = producers.get(add.inputs[other]);
      if (p?.op === 'conv' && p.kernel === 1 && !p.relu && p.residual === undefined &&
          (consumers.get(add.inputs[k])?.length ?? 0) === 1 && !isOutput(add.inputs[k]) &&
          (otherProducer ? position.get(otherProducer)! : -1) < position.get(p)!) {
        p.residual = add.inputs[other];
        producers.delete(add.inputs[k]);
        consumers.delete(add.inputs[k]);
        p.output = add.output;
        producers.set(add.output, p);
        const readers = consumers.get(add.inputs[other]);
        if (readers) readers[readers.indexOf(add)] = p;
        removed.add(add);
        break;
      }
    }
  }
  nodes = nodes.filter((n) => !removed.has(n));

  // 2. relu(x) -> producer with relu flag; relu(concat(...)) -> every concat input's producer
  producers = producersOf(nodes);
  consumers = consumersOf(nodes);
  removed = new Set<Node>();
  const single = (t: TensorId) => (consumers.get(t)?.length ?? 0) === 1 && !isOutput(t);
  for (const r of nodes) {
    if (r.op !== 'relu') continue;
    const p = producers.get(r.input);
    let fused: Node | undefined;
    if (canTakeRelu(p) && single(r.input)) {
      p.relu = true;
      p.output = r.output;
      fused = p;
    } else if (p?.op === 'concat' && single(r.input) &&
               p.inputs.every((t) => canTakeRelu(producers.get(t)) && single(t))) {
      for (const t of p.inputs) (producers.get(t) as Extract<Node, { relu: boolean }>).relu = true;
      p.output = r.output;
      fused = p;
    }
    if (fused) {
      producers.delete(r.input);
      consumers.delete(r.input);
      producers.set(r.output, fused);
      removed.add(r);
    }
  }
  nodes = nodes.filter((n) => !removed.has(n));
  return { ...graph, nodes };
}
