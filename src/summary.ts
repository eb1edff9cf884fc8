// Text rendering of a model summary: one row per step, then totals.
import type { ModelSummary } from './model.js';

const fmt = (n: number) => n.toLocaleString('en-US');

export function formatSummary(s: ModelSummary): string {
  const timed = s.totals.timeMs !== undefined;
  const head = ['#', 'name', 'op', 'kernel', 'input', 'output', 'MACs', 'params', 'copied B', 'act. B', ...(timed ? ['ms'] : [])];
  const rows = s.steps.map((st, i) => [
    String(i), st.name, st.op, st.kernel, st.input, st.output, fmt(st.macs), fmt(st.params), fmt(st.bytesCopied),
    fmt(st.activationBytes), ...(timed ? [(st.timeMs ?? 0).toFixed(3)] : []),
  ]);
  const t = s.totals;
  rows.push(['', 'total', '', '', '', '', fmt(t.macs), fmt(t.params), fmt(t.bytesCopied), fmt(t.activationBytes) + ' peak',
    ...(timed ? [(t.timeMs ?? 0).toFixed(3)] : [])]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => (c >= 6 ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ');
  return [
    `input ${s.height}x${s.width}, kernels: ${s.flavor}, weights ${fmt(t.weightBytes)} B`,
    line(head), line(head.map((_, c) => '-'.repeat(widths[c]))), ...rows.map(line),
  ].join('\n');
}
