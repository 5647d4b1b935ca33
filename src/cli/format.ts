/** The result table `lt-bench run` prints. */
import type { EvalMetrics, RunResult } from '../index.js';

function f(v: number | null | undefined): string {
  return v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(2);
}

export function formatRunResult(r: RunResult): string {
  const rec = r.record;
  const ref = rec.reference;
  const rows: Array<[string, EvalMetrics | null, boolean]> = [
    ['last', rec.metrics.last, true],
    [`best (epoch ${rec.bestEpoch ?? '-'})`, rec.metrics.best, false],
  ];
  const head = ['checkpoint', 'Acc', 'UA', 'RA', 'Head', 'Middle', 'Tail'];
  const body = rows.map(([label, m, withRef]) => [
    label,
    f(m?.top1),
    withRef ? f(ref?.ua) : '-',
    withRef ? f(ref?.ra) : '-',
    f(m?.groups.head),
    f(m?.groups.middle),
    f(m?.groups.tail),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const g = rec.dataset.groupSizes;
  const out = [
    `${rec.name}  [${rec.runId}]${r.reused ? '  (existing record reused)' : ''}`,
    `  ${rec.method.name} on ${rec.backbone}, ${rec.epochs} epochs, ${rec.dataset.name} ${rec.dataset.balanced ? 'balanced twin' : `ratio ${+rec.dataset.imbalanceRatio.toFixed(2)}`} ` +
      `(${rec.dataset.sizes.train} train, ${rec.dataset.sizes.val} val, ${rec.dataset.sizes.test} test; classes head/middle/tail ${g.head}/${g.middle}/${g.tail}), backend ${rec.environment.backend}`,
    '',
    line(head),
    ...body.map(line),
  ];
  if (ref) out.push('', `UA = max(A_v ${ref.vanillaBalancedRunId}, A_b ${ref.methodBalancedRunId}); RA = 100·Acc/UA`);
  out.push(`record: ${r.dir}`);
  return out.join('\n');
}
