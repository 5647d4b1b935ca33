import type { Command } from 'commander';
import { listRuns, removeCheckpoints } from '../index.js';
import { commonOptions, DEFAULT_RESULTS_DIR } from './options.js';

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('list run records, remove checkpoints of finished runs');
  commonOptions(runs.command('ls'), { results: { default: DEFAULT_RESULTS_DIR } })
    .description('list the runs in a results directory')
    .option('--json', 'machine-readable output')
    .action((o: { results: string; json?: boolean }) => {
      const rows = listRuns(o.results);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      for (const r of rows) {
        process.stdout.write(`${r.status.padEnd(11)} ${r.runId}  ${r.name}  ${r.epochs} ep  ${r.top1 === null ? '-' : `Acc ${r.top1.toFixed(2)}`}  ${(r.checkpointBytes / 1e6).toFixed(1)} MB ckpt\n`);
      }
    });
  commonOptions(runs.command('gc'), { results: { default: DEFAULT_RESULTS_DIR } })
    .description('remove the last/ and best/ checkpoints of finished runs (records and metrics stay)')
    .option('--dry-run', 'list what would be removed')
    .action((o: { results: string; dryRun?: boolean }) => {
      const removed = removeCheckpoints(o.results, { dryRun: !!o.dryRun });
      const bytes = removed.reduce((a, r) => a + r.bytes, 0);
      for (const r of removed) process.stdout.write(`${o.dryRun ? 'would remove' : 'removed'} ${r.path} (${(r.bytes / 1e6).toFixed(1)} MB)\n`);
      process.stdout.write(`${removed.length} checkpoint(s), ${(bytes / 1e6).toFixed(1)} MB${o.dryRun ? ' (dry run)' : ''}\n`);
    });
}
