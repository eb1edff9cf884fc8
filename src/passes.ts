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

  // 1. add(a, conv1x1(...)) -> conv with residual a
  for (const add of nodes.filter((n) => n.op === 'add')) {
    if (add.op !== 'add' || add.relu) continue;
    const producers = producersOf(nodes);
    const consumers = consumersOf(nodes);
    for (const [k, other] of [[1, 0], [0, 1]] as const) {
      const p = producers.get(add.inputs[k]);
      if (p?.op === 'conv' && p.kernel === 1 && !p.relu && p.residual === undefined &&
          (consumers.get(add.inputs[k])?.length ?? 0) === 1 && !isOutput(add.inputs[k]) &&
          nodes.indexOf(producers.get(add.inputs[other]) as Node) < nodes.indexOf(p)) {
        p.residual = add.inputs[other];
        p.output = add.output;
        nodes = nodes.filter((n) => n !== add);
        break;
      }
    }
  }

  // 2. relu(x) -> producer with relu flag; relu(concat(...)) -> every concat input's producer
  for (const r of nodes.filter((n) => n.op === 'relu')) {
    if (r.op !== 'relu') continue;
    const producers = producersOf(nodes);
    const consumers = consumersOf(nodes);
    const single = (t: TensorId) => (consumers.get(t)?.length ?? 0) === 1 && !isOutput(t);
    const p = producers.get(r.input);
    if (canTakeRelu(p) && single(r.input)) {
      p.relu = true;
      p.output = r.output;
      nodes = nodes.filter((n) => n !== r);
    } else if (p?.op === 'concat' && single(r.input) &&
               p.inputs.every((t) => canTakeRelu(producers.get(t)) && single(t))) {
      for (const t of p.inputs) (producers.get(t) as Extract<Node, { relu: boolean }>).relu = true;
      p.output = r.output;
      nodes = nodes.filter((n) => n !== r);
    }
  }
  return { ...graph, nodes };
}
