/** The result table `lt-bench run` prints. */
import { epochsText, type EvalMetrics, type RunResult } from '../index.js';

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
    `  ${rec.method.name} on ${rec.backbone}, ${epochsText(rec.epochs)}, ${rec.dataset.name} ${rec.dataset.balanced ? 'balanced twin' : `ratio ${+rec.dataset.imbalanceRatio.toFixed(2)}`} ` +
      `(${rec.dataset.sizes.train} train, ${rec.dataset.sizes.val} val, ${rec.dataset.sizes.test} test; classes head/middle/tail ${g.head}/${g.middle}/${g.tail}), backend ${rec.environment.backend}`,
    '',
    line(head),
    ...body.map(line),
  ];
  if (ref) out.push('', uaLine(r));
  out.push(`record: ${r.dir}`);
  return out.join('\n');
}

/**
 * How UA was made: A_v (plain softmax on the balanced twin) and A_b (this method on it), each
 * with its value and its own run id; when the method is plain softmax they are one run.
 */
export function uaLine(r: RunResult): string {
  const ref = r.record.reference!;
  const v = r.references?.vanilla.record;
  const b = r.references?.method.record;
  const acc = (x: typeof v) => f(x?.metrics.last?.top1);
  const tail = `UA = ${f(ref.ua)}; RA = 100·Acc/UA = ${f(ref.ra)}`;
  if (ref.vanillaBalancedRunId === ref.methodBalancedRunId) return `A_v = A_b = ${acc(v)} (${ref.vanillaBalancedRunId}: plain softmax is this method); ${tail}`;
  return `A_v = ${acc(v)} (${ref.vanillaBalancedRunId}), A_b = ${acc(b)} (${ref.methodBalancedRunId}); ${tail.replace('UA =', 'UA = max(A_v, A_b) =')}`;
}
