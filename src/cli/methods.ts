import type { Command } from 'commander';
import { listMethods } from '../index.js';

/** `lt-bench methods`: everything shown comes from the method files' metadata. */
export function registerMethods(program: Command): void {
  program
    .command('methods')
    .description('list the registered methods with their family, tags, table rows, stages and default params')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const rows = listMethods().map((m) => ({
        name: m.name,
        family: m.family,
        tags: m.tags,
        summary: m.summary,
        defaults: m.params.parse({}),
        table: {
          rows: (m.table?.rows ?? [{}]).map((r) => ({ paper: r.paper ?? null, params: r.params ?? {}, ...(r.after ? { after: r.after } : {}) })),
          splitBy: Object.keys(m.table?.splitBy ?? {}),
        },
        stages: (m.stages ?? [{ kind: 'train' as const }]).map((s) => (s.kind === 'classifier' ? `classifier:${s.strategy}` : s.kind)),
        citation: m.citation,
      }));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const w = Math.max(...rows.map((r) => r.name.length));
      for (const r of rows) {
        const d = Object.keys(r.defaults).length ? `  defaults ${JSON.stringify(r.defaults)}` : '';
        const paper = r.table.rows
          .map((x) => x.paper ?? (Object.keys(x.params).length ? Object.entries(x.params).map(([k, v]) => `${k}=${String(v)}`).join(',') : null))
          .filter((x): x is string => x !== null);
        const rowText = paper.length ? `  rows ${paper.join(', ')}` : '';
        const stages = r.stages.length > 1 ? `  stages ${r.stages.join(' → ')}` : '';
        process.stdout.write(`${r.name.padEnd(w)}  ${r.family.padEnd(8)} ${r.tags.join(',').padEnd(8)} ${r.summary}${rowText}${stages}${d}\n`);
      }
    });
}
