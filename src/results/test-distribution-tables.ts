/**
 * Tables of the test-agnostic evaluation (src/eval/test-distributions.ts), from run records only:
 * - `atTestDistribution`: the records as if their test metrics were one distribution's, so that
 *   Tables 5 / 6 render that distribution's cells (Acc, head / middle / tail; UA / RA where the
 *   balanced references were scored too, which they are not: they are listed as missing);
 * - `buildTestDistributionTable`: rows = methods, columns = distributions (overall accuracy),
 *   per epoch budget, built from one Table 5 per distribution so rows, sections, seeds (mean ±
 *   std) and flags follow the same rules.
 */
import { sortDistributionNames } from '../eval/test-distributions.js';
import type { Checkpoint } from './store.js';
import { buildTable5, sectionLabel, type Cell, type Column, type ResultTable, type Row } from './tables.js';
import type { RunRecord } from './types.js';

/** Records whose `metrics.last` / `best` are the named distribution's (null where not scored). */
export function atTestDistribution(records: RunRecord[], name: string): RunRecord[] {
  return records.map((r) => ({
    ...r,
    metrics: { ...r.metrics, last: r.testDistributions?.last?.[name] ?? null, best: r.testDistributions?.best?.[name] ?? null },
  }));
}

/** Distribution names any record holds at the checkpoint, in canonical order. */
export function distributionNamesOf(records: RunRecord[], checkpoint: Checkpoint): string[] {
  return sortDistributionNames(records.flatMap((r) => Object.keys(r.testDistributions?.[checkpoint] ?? {})));
}

export interface TestDistributionTableOptions {
  checkpoint?: Checkpoint;
  /** Which distributions (default: every one a record holds). */
  names?: string[];
  referenceRecords?: RunRecord[];
}

export function buildTestDistributionTable(records: RunRecord[], options: TestDistributionTableOptions = {}): ResultTable[] {
  const checkpoint = options.checkpoint ?? 'last';
  const scored = records.filter((r) => Object.keys(r.testDistributions?.[checkpoint] ?? {}).length > 0);
  const names = sortDistributionNames(options.names ?? distributionNamesOf(scored, checkpoint));
  if (scored.length === 0 || names.length === 0) return [];
  const base = buildTable5(scored, { checkpoint, onlyWithRecords: true });
  const per = new Map(names.map((n) => [n, buildTable5(atTestDistribution(scored, n), { checkpoint, onlyWithRecords: true, referenceRecords: [] })]));
  const empty = (): Cell => ({ stat: null, runIds: [], flags: [] });
  return base.map((t) => {
    const label = sectionLabel(t.section);
    const budgets = [...new Set(t.columns.map((c) => c.group))];
    const columns: Column[] = budgets.flatMap((group) => names.map((n) => ({ group, label: n })));
    const notes = new Set<string>();
    const rows: Row[] = t.rows.map((row) => {
      if (row.kind !== 'row') return row;
      const cells = budgets.flatMap((group) =>
        names.map((n) => {
          const table = per.get(n)!.find((x) => sectionLabel(x.section) === label);
          const r = table?.rows.find((x) => x.kind === 'row' && x.id === row.id);
          const col = table?.columns.findIndex((c) => c.group === group && c.label === 'Acc') ?? -1;
          const cell = r && r.kind === 'row' && col >= 0 ? r.cells[col] : undefined;
          if (cell?.stat) for (const note of table!.notes) notes.add(note);
          return cell ?? empty();
        }),
      );
      return { ...row, cells };
    });
    const byId = new Map(scored.map((r) => [r.runId, r]));
    for (const row of rows) {
      if (row.kind !== 'row') continue;
      const ids = [...new Set(row.cells.flatMap((c) => c.runIds))].sort();
      for (const id of ids) {
        const note = postHocWeightsNote(byId.get(id), row.label, names, checkpoint);
        if (note) notes.add(note);
      }
    }
    return {
      ...t,
      table: 'test-distributions' as const,
      title: `Test-agnostic accuracy (%) on long-tailed test distributions — ${label}, ${checkpoint === 'last' ? 'last-epoch' : 'best-on-val'} checkpoint`,
      columns,
      rows,
      missing: [],
      notes: [...notes],
    };
  });
}

/**
 * What a test-unlabelled post-hoc step chose on each distribution, where it chose weights (SADE's
 * expert aggregation): one line per run, e.g. "sade (seed 0, run …): test-time-aggregation
 * weights — forward-50 0.62 / 0.27 / 0.11; uniform …". Null when the run has none.
 */
export function postHocWeightsNote(record: RunRecord | undefined, label: string, names: string[], checkpoint: Checkpoint): string | null {
  const scored = record?.testDistributions?.[checkpoint];
  if (!record || !scored) return null;
  const steps = new Map<string, string[]>();
  for (const n of names) {
    for (const [step, out] of Object.entries(scored[n]?.postHoc ?? {})) {
      const w = (out as { weights?: unknown } | null)?.weights;
      if (!Array.isArray(w) || !w.every((x) => typeof x === 'number')) continue;
      steps.set(step, [...(steps.get(step) ?? []), `${n} ${(w as number[]).map((x) => x.toFixed(2)).join(' / ')}`]);
    }
  }
  if (steps.size === 0) return null;
  return [...steps].map(([step, parts]) => `${label} (seed ${record.seeds.train}, run ${record.runId}): ${step} weights — ${parts.join('; ')}`).join('\n');
}

/**
 * Tables 5 / 6 of one distribution (`buildTables` on `atTestDistribution`): titles say which, and
 * the empty UA / RA cells say why once (balanced reference runs are not scored on subsets).
 */
export function retitle(tables: ResultTable[], name: string): ResultTable[] {
  const reason = `not defined on test distribution ${name}: balanced reference runs are scored on the balanced test set only`;
  return tables.map((t) => ({
    ...t,
    title: `${t.title}; test distribution ${name}`,
    missing: t.missing.map((m) => (/UA, RA$/.test(m.where) && m.reason !== 'no finished run' ? { ...m, reason, recipes: [] } : m)),
  }));
}
