import type { Command } from 'commander';
import { listMethods } from '../index.js';

export function registerMethods(program: Command): void {
  program
    .command('methods')
    .description('list the registered methods with their family, tag and default params')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const rows = listMethods().map((m) => ({
        name: m.name,
        family: m.family,
        tag: m.tag,
        summary: m.summary,
        defaults: m.params.parse({}),
        citation: m.citation,
      }));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const w = Math.max(...rows.map((r) => r.name.length));
      for (const r of rows) {
        const d = Object.keys(r.defaults).length ? `  defaults ${JSON.stringify(r.defaults)}` : '';
        process.stdout.write(`${r.name.padEnd(w)}  ${r.family.padEnd(8)} ${r.tag.padEnd(8)} ${r.summary}${d}\n`);
      }
    });
}
