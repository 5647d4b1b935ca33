import type { Command } from 'commander';
import { stringify as yamlStringify } from 'yaml';
import { describeHolder, diffRuns, listRuns, removeCheckpoints, repairRun, runMetrics, showRun } from '../index.js';
import { commonOptions, DEFAULT_RESULTS_DIR } from './options.js';

const warn = (m: string) => process.stderr.write(`warning: ${m}\n`);

function value(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('list, show, compare and repair run records; remove checkpoints of finished runs');
  commonOptions(runs.command('ls'), { results: { default: DEFAULT_RESULTS_DIR } })
    .description('list the runs in a results directory')
    .option('--json', 'machine-readable output')
    .action((o: { results: string; json?: boolean }) => {
      const rows = listRuns(o.results, warn);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      for (const r of rows) {
        const status = r.status === 'running' && !r.heldBy ? 'stopped' : r.status;
        process.stdout.write(`${status.padEnd(11)} ${r.runId}  ${r.name}  ${r.epochs} ep  ${r.top1 === null ? '-' : `Acc ${r.top1.toFixed(2)}`}  ${(r.checkpointBytes / 1e6).toFixed(1)} MB ckpt${r.heldBy ? `  held by ${r.heldBy}` : ''}\n`);
      }
    });
  commonOptions(runs.command('show'), { results: { default: DEFAULT_RESULTS_DIR } })
    .description('one run: record summary, resolved recipe and metrics')
    .argument('<id>', 'run id (or a unique prefix)')
    .option('--json', 'machine-readable output: {record, recipe, epochs}')
    .action((id: string, o: { results: string; json?: boolean }) => {
      const info = showRun(o.results, id);
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ dir: info.dir, record: info.record, recipe: info.recipe, epochs: info.epochs, heldBy: info.heldBy }, null, 2)}\n`);
        return;
      }
      const r = info.record;
      const out: string[] = [`run ${r.runId}  (${info.dir})`, `name      ${r.name}`, `status    ${r.status}${info.heldBy ? `, held by ${describeHolder(info.heldBy)}` : ''}`];
      if (r.error) out.push(`error     ${r.error.name}: ${r.error.message}`);
      out.push(`method    ${r.method?.name} on ${r.backbone}, ${r.dataset?.name}${r.dataset?.balanced ? ' (balanced)' : ''}, seed ${r.seeds?.train}`);
      out.push(`epochs    ${info.epochs.length} of ${r.epochs} logged${r.timing?.finishedAt ? `, finished ${r.timing.finishedAt}` : ''}`);
      out.push('', 'metrics');
      for (const [k, v] of Object.entries(runMetrics(r))) out.push(`  ${k.padEnd(18)} ${value(v)}`);
      if (r.reference?.note) out.push(`  note: ${r.reference.note}`);
      out.push('', 'resolved recipe', info.recipe ? yamlStringify(info.recipe).trimEnd().replace(/^/gm, '  ') : '  (recipe.resolved.yaml missing)');
      process.stdout.write(`${out.join('\n')}\n`);
    });
  commonOptions(runs.command('diff'), { results: { default: DEFAULT_RESULTS_DIR } })
    .description('two runs: the resolved recipe keys that differ and their metrics side by side')
    .argument('<a>', 'run id (or a unique prefix)')
    .argument('<b>', 'run id (or a unique prefix)')
    .option('--json', 'machine-readable output')
    .action((a: string, b: string, o: { results: string; json?: boolean }) => {
      const d = diffRuns(o.results, a, b);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
        return;
      }
      const rows = (title: string, items: Array<[string, unknown, unknown]>) => {
        const w = Math.max(title.length, ...items.map((x) => x[0].length));
        const wa = Math.max(d.a.length, ...items.map((x) => value(x[1]).length));
        return [`${title.padEnd(w)}  ${d.a.padEnd(wa)}  ${d.b}`, ...items.map(([k, x, y]) => `${k.padEnd(w)}  ${value(x).padEnd(wa)}  ${value(y)}`)];
      };
      const out = d.recipe.length ? rows('recipe key', d.recipe.map((x) => [x.key, x.a, x.b])) : ['resolved recipes are identical'];
      out.push('', ...rows('metric', d.metrics.map((x) => [x.name, x.a, x.b])));
      process.stdout.write(`${out.join('\n')}\n`);
    });
  commonOptions(runs.command('repair'), { results: { default: DEFAULT_RESULTS_DIR }, dataRoot: { description: 'dataset directory, to recompute the split for the record' } })
    .description('move an unreadable run.json aside (never deleted) and rebuild a failed record from recipe.resolved.yaml, epochs.jsonl and last/, so that run resumes it')
    .argument('<id>', 'run id (or a unique prefix)')
    .action((id: string, o: { results: string; dataRoot?: string }) => {
      const r = repairRun(o.results, id, { dataRoot: o.dataRoot });
      if (!r.repaired) {
        process.stdout.write(`${r.dir}/run.json is readable (status ${r.record.status}); nothing to repair\n`);
        return;
      }
      if (r.movedAside) process.stdout.write(`moved the unreadable record to ${r.movedAside}\n`);
      process.stdout.write(`rebuilt ${r.dir}/run.json (status failed); ${r.checkpoint === null ? 'no last/ checkpoint: run will start it over' : `run resumes it at epoch ${r.checkpoint.epoch + 1} step ${r.checkpoint.step + 1}`}\n`);
      if (r.splitProblem) process.stdout.write(`note: the split was not recomputed (${r.splitProblem}); run fills it in\n`);
    });
  commonOptions(runs.command('gc'), { results: { default: DEFAULT_RESULTS_DIR } })
    .description('remove the last/ and best/ checkpoints of finished runs (records and metrics stay)')
    .option('--dry-run', 'list what would be removed')
    .action((o: { results: string; dryRun?: boolean }) => {
      const removed = removeCheckpoints(o.results, { dryRun: !!o.dryRun, warn });
      const bytes = removed.reduce((a, r) => a + r.bytes, 0);
      for (const r of removed) process.stdout.write(`${o.dryRun ? 'would remove' : 'removed'} ${r.path} (${(r.bytes / 1e6).toFixed(1)} MB)\n`);
      process.stdout.write(`${removed.length} checkpoint(s), ${(bytes / 1e6).toFixed(1)} MB${o.dryRun ? ' (dry run)' : ''}\n`);
    });
}
