/**
 * `lt-bench check --baseline <file>`: compares the records with stored expected values and
 * tolerances, prints expected / measured / delta, exits 1 on a regression (for CI).
 * `--update` writes a fresh baseline from the current records instead.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { baselineFromRecords, checkOutputFile, checkRecords, CHECK_METRICS, describeFsCode, FailedError, formatCheck, loadBaseline, LtBenchError, stringifyBaseline, UsageError, type CheckMetric } from '../index.js';
import { DEFAULT_RESULTS_DIR, loadForCommand } from './results-common.js';
import { commonOptions } from './options.js';

interface CheckOpts {
  baseline: string;
  results: string;
  json: boolean;
  update: boolean;
  tolerance: string;
  metrics: string;
}

export function register(program: Command): void {
  commonOptions(program.command('check'), { results: { default: DEFAULT_RESULTS_DIR } })
    .description('compare run records with a baseline of expected values (exit 1 on a regression)')
    .requiredOption('--baseline <file>', 'baseline file (YAML or JSON)')
    .option('--json', 'machine-readable output', false)
    .option('--update', 'write the baseline from the current records instead of checking', false)
    .option('--tolerance <pp>', 'tolerance written by --update, in percentage points', '1')
    .option('--metrics <list>', `metrics written by --update (${CHECK_METRICS.join(',')})`, 'top1,head,middle,tail')
    .action(async (opts: CheckOpts) => {
      const { records } = await loadForCommand(opts.results);
      if (opts.update) {
        const metrics = opts.metrics.split(',').map((m) => m.trim()) as CheckMetric[];
        const unknown = metrics.filter((m) => !(CHECK_METRICS as readonly string[]).includes(m));
        if (unknown.length > 0) {
          throw new UsageError(`--metrics: unknown ${unknown.join(', ')}; use ${CHECK_METRICS.join(', ')}`);
        }
        checkOutputFile(opts.baseline, '--baseline');
        const baseline = baselineFromRecords(records, { metrics, tolerance: Number(opts.tolerance) });
        await writeFile(opts.baseline, stringifyBaseline(baseline));
        process.stderr.write(`wrote ${opts.baseline} (${Object.keys(baseline.runs).length} runs)\n`);
        return;
      }
      let baseline;
      try {
        baseline = await loadBaseline(opts.baseline);
      } catch (err) {
        if (err instanceof LtBenchError) throw err;
        throw new UsageError(`--baseline ${opts.baseline}: ${(err as NodeJS.ErrnoException).code ? describeFsCode((err as NodeJS.ErrnoException).code) : (err as Error).message}`);
      }
      const result = checkRecords(records, baseline);
      process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatCheck(result));
      if (!result.ok) throw new FailedError(`check: ${opts.baseline}: regressed or missing runs (see above)`);
    });
}
