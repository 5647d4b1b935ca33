/**
 * `lt-bench check --baseline <file>`: compares the records with stored expected values and
 * tolerances, prints expected / measured / delta, exits 1 on a regression (for CI).
 * `--exact` demands the baseline's expected-seed values reproduced exactly instead (exit 1 on a
 * mismatch, 2 when the records ran on another backend or thread count: not comparable).
 * `--update` writes a fresh baseline from the current records instead; with `--seeds` the
 * tolerances come from the spread over those seeds (max(3σ, --tolerance)).
 */
import type { Command } from 'commander';
import {
  baselineFromRecords,
  baselineFromSeeds,
  checkExact,
  checkOutputFile,
  checkRecords,
  CHECK_METRICS,
  DEFAULT_RULE,
  describeFsCode,
  FailedError,
  formatCheck,
  loadBaseline,
  LtBenchError,
  stringifyBaseline,
  UsageError,
  writeFileAtomic,
  type CheckMetric,
} from '../index.js';
import { DEFAULT_RESULTS_DIR, loadForCommand } from './results-common.js';
import { commonOptions } from './options.js';

interface CheckOpts {
  baseline: string;
  results: string;
  json: boolean;
  update: boolean;
  exact: boolean;
  seeds?: string;
  tolerance: string;
  metrics: string;
}

function usage(message: string): never {
  throw new UsageError(message);
}

export function register(program: Command): void {
  commonOptions(program.command('check'), { results: { default: DEFAULT_RESULTS_DIR } })
    .description('compare run records with a baseline of expected values (exit 1 on a regression)')
    .requiredOption('--baseline <file>', 'baseline file (YAML or JSON)')
    .option('--json', 'machine-readable output', false)
    .option('--exact', "require the baseline's seed values reproduced exactly (same backend and thread count; exit 2 when not comparable)", false)
    .option('--update', 'write the baseline from the current records instead of checking', false)
    .option('--seeds <list>', 'with --update: the training seeds whose spread sets each tolerance (the first is the expected run), e.g. 0,1,2,3,4')
    .option('--tolerance <pp>', `tolerance written by --update, in percentage points (with --seeds: the floor of max(${DEFAULT_RULE.sigmas}σ, floor))`, '1')
    .option('--metrics <list>', `metrics written by --update (${CHECK_METRICS.join(',')})`, 'top1,head,middle,tail')
    .action(async (opts: CheckOpts) => {
      if (opts.update) {
        const metrics = opts.metrics.split(',').map((m) => m.trim()) as CheckMetric[];
        const unknown = metrics.filter((m) => !(CHECK_METRICS as readonly string[]).includes(m));
        if (unknown.length > 0) return usage(`--metrics: unknown ${unknown.join(', ')}; use ${CHECK_METRICS.join(', ')}`);
        const tolerance = Number(opts.tolerance);
        if (!Number.isFinite(tolerance) || tolerance < 0) return usage(`--tolerance: expected a number ≥ 0, got ${opts.tolerance}`);
        let seeds: number[] | undefined;
        if (opts.seeds !== undefined) {
          seeds = opts.seeds.split(',').map((s) => Number(s.trim()));
          if (seeds.some((s) => !Number.isInteger(s) || s < 0)) return usage(`--seeds: expected integers like 0,1,2,3,4, got ${opts.seeds}`);
        }
        const { records } = await loadForCommand(opts.results);
        let baseline;
        try {
          baseline = seeds
            ? baselineFromSeeds(records, { seeds, metrics, rule: { sigmas: DEFAULT_RULE.sigmas, floor: tolerance } })
            : baselineFromRecords(records, { metrics, tolerance });
        } catch (err) {
          throw new FailedError(`${opts.results}: ${(err as Error).message}`);
        }
        checkOutputFile(opts.baseline, '--baseline');
        writeFileAtomic(opts.baseline, stringifyBaseline(baseline, seeds ? madeBy(records, seeds, opts) : []));
        process.stderr.write(`wrote ${opts.baseline} (${Object.keys(baseline.runs).length} runs)\n`);
        return;
      }
      if (opts.seeds !== undefined) return usage('--seeds only goes with --update');
      let baseline;
      try {
        baseline = await loadBaseline(opts.baseline);
      } catch (err) {
        if (err instanceof LtBenchError) throw err;
        return usage(`--baseline ${opts.baseline}: ${(err as NodeJS.ErrnoException).code ? describeFsCode((err as NodeJS.ErrnoException).code) : (err as Error).message}`);
      }
      const { records } = await loadForCommand(opts.results);
      let result;
      try {
        result = opts.exact ? checkExact(records, baseline) : checkRecords(records, baseline);
      } catch (err) {
        return usage(`${opts.baseline}: ${(err as Error).message}`);
      }
      process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatCheck(result));
      if ((result.notComparable ?? []).length > 0) throw new UsageError(`check --exact: ${opts.baseline}: the records ran on another backend or thread count than the baseline (see above); use the tolerance check`);
      if (!result.ok) throw new FailedError(`check: ${opts.baseline}: regressed or missing runs (see above)`);
    });
}

/** The commands that remake this baseline: the sweep over the seeds, then this update. */
function madeBy(records: { recipePath: string | null; dataset: { balanced: boolean }; environment: { backend: string } }[], seeds: number[], opts: CheckOpts): string[] {
  // Records made in another checkout name its absolute recipe paths; the repository-relative part is what a reader reruns.
  const shown = (p: string) => (p.lastIndexOf('recipes/') > 0 ? p.slice(p.lastIndexOf('recipes/')) : p);
  const recipes = [...new Set(records.filter((r) => !r.dataset.balanced && r.recipePath).map((r) => shown(r.recipePath as string)))].sort();
  const backends = [...new Set(records.map((r) => r.environment.backend))];
  const backend = backends.length === 1 ? ` --backend ${backends[0]}` : '';
  return [
    `lt-bench sweep ${recipes.join(' ')}${backend} --seeds ${seeds.join(',')} --output ${opts.results}`,
    `lt-bench check --update --seeds ${seeds.join(',')}${opts.tolerance !== '1' ? ` --tolerance ${opts.tolerance}` : ''}${opts.metrics !== 'top1,head,middle,tail' ? ` --metrics ${opts.metrics}` : ''} --results ${opts.results} --baseline ${opts.baseline}`,
  ];
}
