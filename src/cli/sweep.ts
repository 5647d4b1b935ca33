import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { expandRecipeArgs, planSweep, runSweep, sweepJobs } from '../sweep.js';
import { createCliReporter } from './progress.js';
import { withInterruptSignal } from './interrupt.js';
import { defaultRehearsalRecipes, rehearseSweep } from '../rehearsal/sweep.js';

function parseSeeds(s: string): number[] {
  const seeds = s.split(',').map((x) => Number(x.trim()));
  if (seeds.some((x) => !Number.isInteger(x) || x < 0)) throw new UsageError(`--seeds ${s}: expected comma-separated non-negative integers, e.g. 0,1,2`);
  return seeds;
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('run many recipes (× seeds) one after another: reuse finished runs, resume unfinished ones, keep going past failures')
    .argument('[recipes...]', "recipe files or quoted globs, e.g. 'recipes/fashion-lt/*.yaml' (with --rehearse: default every recipes/imagenet-lt/ recipe)")
    .option('--seeds <list>', 'training seeds, e.g. 0,1,2 (default: each recipe\'s train.seed)', parseSeeds)
    .option('--set <key=value>', 'override a key in every recipe (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--data-root <dir>', 'dataset directory')
    .option('--output <dir>', 'results directory')
    .option('--backend <name>', 'force a backend')
    .option('--rerun-stale', 'rerun records made by another code version (into new ids)')
    .option('--dry-run', 'list what would run; train nothing')
    .option('--rehearse', 'rehearse the ImageNet-LT study: shrink every recipe by the rehearsal rule (README) onto a generated synthetic ImageNet-LT (in --data-root, default <results>/dataset); results in results/rehearsal/ unless --output')
    .option('--json', 'print the outcome as JSON')
    .action(async (args: string[], o: { seeds?: number[]; set: string[]; dataRoot?: string; output?: string; backend?: string; rerunStale?: boolean; dryRun?: boolean; rehearse?: boolean; json?: boolean }) => {
      if (args.length === 0 && !o.rehearse) throw new UsageError("sweep: give recipe files or quoted globs, e.g. 'recipes/fashion-lt/*.yaml' (or --rehearse)");
      const files = await expandRecipeArgs(args.length > 0 ? args : defaultRehearsalRecipes());
      let jobs = sweepJobs(files, { seeds: o.seeds, sets: o.set });
      let common = { dataRoot: o.dataRoot, output: o.output, backend: o.backend, rerunStale: o.rerunStale };
      if (o.rehearse) ({ jobs, opts: common } = await rehearseSweep(jobs, common, (l) => process.stderr.write(`${l}\n`)));
      if (o.dryRun) {
        const plan = planSweep(jobs, common);
        if (o.json) {
          process.stdout.write(`${JSON.stringify(plan.map((p) => ({ recipe: p.file, name: p.recipe.name, seed: p.seed, runId: p.runId, action: p.action, references: p.references })), null, 2)}\n`);
          return;
        }
        for (const p of plan) process.stdout.write(`${p.action.padEnd(11)} ${p.runId}  ${p.recipe.name} seed ${p.seed}${p.references.length ? `  + references ${p.references.join(', ')}` : ''}${p.error ? `  ${p.error.message.split('\n')[0]}` : ''}\n`);
        const refs = new Set(plan.flatMap((p) => p.references));
        process.stdout.write(`${plan.filter((p) => p.action !== 'reuse').length} run(s) to train or resume, ${refs.size} reference run(s), ${plan.filter((p) => p.action === 'reuse').length} reused\n`);
        return;
      }
      const reporter = createCliReporter({ quiet: !!o.json });
      const outcomes = await withInterruptSignal((signal) => runSweep(jobs, { ...common, reporter, signal, log: (l) => process.stderr.write(`${l}\n`) }));
      const failed = outcomes.filter((x) => x.error);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(outcomes.map((x) => ({ recipe: x.job.file, seed: x.job.seed, runId: x.result?.record.runId ?? null, reused: x.result?.reused ?? false, status: x.error ? 'failed' : 'finished', error: x.error?.message ?? null, top1: x.result?.record.metrics.last?.top1 ?? null, seconds: x.seconds })), null, 2)}\n`);
      } else {
        for (const x of outcomes) {
          const r = x.result?.record;
          process.stdout.write(`${x.error ? 'FAILED  ' : x.result!.reused ? 'reused  ' : 'trained '} ${r?.runId ?? '-'}  ${x.job.recipe.name} seed ${x.job.seed}${r?.metrics.last ? `  Acc ${r.metrics.last.top1.toFixed(2)}` : ''}${r?.reference?.ra != null ? ` RA ${r.reference.ra.toFixed(2)}` : ''}${x.error ? `  ${x.error.message.split('\n')[0]}` : ''}\n`);
        }
      }
      if (failed.length) {
        process.stderr.write(`lt-bench: ${failed.length} of ${outcomes.length} run(s) failed\n`);
        process.exitCode = 1;
      }
    });
}
