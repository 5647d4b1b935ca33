import type { Command } from 'commander';
import { compactCount, defaultRehearsalRecipes, describeHolder, duration, expandRecipeArgs, FailedError, planErrors, planSweep, rehearseSweep, runSweep, SweepEta, sweepJobs, sweepRuns, sweepSummary, UsageError } from '../index.js';
import { createCliReporter } from './progress.js';
import { withInterruptSignal } from './interrupt.js';
import { commonOptions, intOption, withWorkers, WORKERS_HELP } from './options.js';
import { finishAction, slurmResources, statusAction, submitAction, taskAction, type SlurmFlags } from './sweep-slurm.js';
import { loadSweepFile } from '../index.js';
import { Option } from 'commander';

const int = intOption;

function parseSeeds(s: string): number[] {
  const seeds = s.split(',').map((x) => Number(x.trim()));
  if (seeds.some((x) => !Number.isInteger(x) || x < 0)) throw new UsageError(`--seeds ${s}: expected comma-separated non-negative integers, e.g. 0,1,2`);
  return seeds;
}

export function registerSweep(program: Command): void {
  commonOptions(program.command('sweep'), {
    dataRoot: {},
    results: { description: 'results directory (default: each recipe\'s output, "results")', aliases: ['--output'] },
  })
    .description('run many recipes (× seeds) one after another, or as Slurm job arrays (--executor slurm): reuse finished runs, resume unfinished ones, keep going past failures')
    .argument('[recipes...]', "recipe files or quoted globs, e.g. 'recipes/fashion-lt/*.yaml' (with --rehearse: default every recipes/imagenet-lt/ recipe)")
    .option('--seeds <list>', 'training seeds, e.g. 0,1,2 (default: each recipe\'s train.seed)', parseSeeds)
    .option('--set <key=value>', 'override a key in every recipe (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--backend <name>', 'force a backend')
    .option('--workers <n>', WORKERS_HELP, int('--workers', 0))
    .option('--wait', 'wait for runs another trainer holds instead of skipping them')
    .option('--rerun-stale', 'rerun records made by another code version (into new ids)')
    .option('--dry-run', 'list what would run; train nothing')
    .option('--rehearse', 'rehearse the ImageNet-LT study: shrink every recipe by the rehearsal rule (README) onto a generated synthetic ImageNet-LT (in --data-root, default <results>/dataset); results in results/rehearsal/ unless --output')
    .option('--json', 'print the outcome as JSON')
    .option('--file <study.yaml>', 'a sweep file: recipe globs, seeds, --set overrides and the executor block (README, "Running the study on a Slurm cluster")')
    .addOption(new Option('--executor <name>', 'where runs train: this process one after another (default), or Slurm job arrays, one per dependency layer (default: the sweep file\'s executor.name)').choices(['local', 'slurm']))
    .option('--status', 'with Slurm: each planned run of the submissions in --results as pending/queued/running/done/failed, with job id and log')
    .option('--partition <name>', 'Slurm: partition')
    .option('--account <name>', 'Slurm: account')
    .option('--qos <name>', 'Slurm: quality of service')
    .option('--time <limit>', 'Slurm: time limit per task, e.g. 2-00:00:00 (a task stopped by it saves last and requeues itself)')
    .option('--gpus-per-task <n>', 'Slurm: GPUs per task', int('--gpus-per-task', 0))
    .option('--cpus-per-task <n>', 'Slurm: CPUs per task (the backend\'s thread count; default 1)', int('--cpus-per-task', 1))
    .option('--mem <size>', 'Slurm: memory per task, e.g. 64G')
    .option('--constraint <features>', 'Slurm: node features')
    .option('--sbatch-arg <arg>', 'Slurm: a further sbatch argument, e.g. --sbatch-arg=--exclusive (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--max-parallel <n>', "Slurm: each job array's %N throttle: at most N tasks of a dependency layer run at once", int('--max-parallel', 1))
    .option('--requeue-limit <n>', 'Slurm: times a task stopped by its time limit requeues itself (default 3)', int('--requeue-limit', 0))
    .addOption(new Option('--signal-seconds <n>', 'Slurm: the warning signal (SIGUSR2) comes this long before the time limit (default 300)').argParser(int('--signal-seconds', 1)))
    .addOption(new Option('--slurm-task <submission>').hideHelp())
    .addOption(new Option('--layer <k>').hideHelp())
    .addOption(new Option('--slurm-finish <submission>').hideHelp())
    .action(async (args: string[], o: SlurmFlags & { seeds?: number[]; set: string[]; dataRoot?: string; results?: string; backend?: string; workers?: number; rerunStale?: boolean; wait?: boolean; dryRun?: boolean; rehearse?: boolean; json?: boolean; file?: string; executor?: string; status?: boolean; slurmTask?: string; layer?: string; slurmFinish?: string }) => {
      if (o.slurmTask) return taskAction(o.slurmTask, o.layer);
      if (o.slurmFinish) return finishAction(o.slurmFinish);
      if (o.status) return statusAction(o.results, o.json);
      const sweepFile = o.file ? loadSweepFile(o.file) : null;
      if (sweepFile && args.length > 0) throw new UsageError('sweep: give recipes or --file, not both');
      if (sweepFile) {
        args = sweepFile.recipes;
        o = { ...o, seeds: o.seeds ?? sweepFile.seeds, set: [...sweepFile.set, ...o.set], results: o.results ?? sweepFile.results, dataRoot: o.dataRoot ?? sweepFile.dataRoot, backend: o.backend ?? sweepFile.backend };
      }
      const executor = o.executor ?? sweepFile?.executor?.name ?? 'local';
      if (args.length === 0 && !o.rehearse) throw new UsageError("sweep: give recipe files or quoted globs, e.g. 'recipes/fashion-lt/*.yaml' (or --rehearse, or --file)");
      const files = await expandRecipeArgs(args.length > 0 ? args : defaultRehearsalRecipes());
      let jobs = sweepJobs(files, { seeds: o.seeds, sets: o.set }).map((j) => ({ ...j, recipe: withWorkers(j.recipe, o.workers) }));
      let common = { dataRoot: o.dataRoot, output: o.results, backend: o.backend, rerunStale: o.rerunStale, wait: o.wait };
      if (o.rehearse) ({ jobs, opts: common } = await rehearseSweep(jobs, common, (l) => process.stderr.write(`${l}\n`)));
      if (executor === 'slurm') return submitAction(jobs, common, slurmResources(o, sweepFile), o);
      if (o.dryRun) {
        const plan = planSweep(jobs, common);
        const sum = sweepSummary(plan);
        if (o.json) {
          const runs = sweepRuns(plan).map((r) => ({ runId: r.runId, role: r.role, kind: r.kind, action: r.action, dependsOn: r.dependsOn, neededBy: r.neededBy.map((i) => plan[i].file), name: r.recipe.name, imagePasses: r.work.imagePasses }));
          const entries = plan.map((p) => ({ recipe: p.file, name: p.recipe.name, seed: p.seed, runId: p.runId, action: p.action, references: p.references, error: p.error?.message.split('\n')[0] ?? null }));
          process.stdout.write(`${JSON.stringify({ entries, runs, summary: sum }, null, 2)}\n`);
        } else {
          for (const p of plan) {
            // The runs before the main one: a decoupled method's stage 1, or a method's own stages (pretrain, experts).
            const before = p.plan?.runs.filter((r) => r.role === 'stage1' && r.action !== 'reuse') ?? [];
            const after = before.length === 0 ? '' : before.some((r) => r.stage) ? `after ${before.map((r) => `${r.kind} ${r.runId}`).join(', ')}` : `after stage 1 ${before[0].runId}`;
            const extras = [after, p.references.length ? `+ references ${p.references.join(', ')}` : ''].filter(Boolean).join('  ');
            process.stdout.write(`${p.action.padEnd(11)} ${p.runId}  ${p.recipe.name} seed ${p.seed}${extras ? `  ${extras}` : ''}${p.error ? `  ${p.error.message.split('\n')[0]}` : ''}\n`);
          }
          // Time only where reused records give a speed (it depends on the machine and backend).
          const eta = new SweepEta(sweepRuns(plan)).left();
          process.stdout.write(
            `${sum.toRun} run(s) to train or resume, ${sum.references} reference run(s), ${sum.stages} stage-1 run(s), ${sum.reused} reused${sum.errors ? `, ${sum.errors} cannot be planned` : ''}; ${compactCount(sum.imagePasses)} image passes${Number.isFinite(eta.seconds) && eta.runs > 0 ? `, about ${duration(eta.seconds)} at the reused runs' speed` : ''}\n`,
          );
        }
        const err = planErrors(plan);
        if (err) throw err;
        return;
      }
      const reporter = createCliReporter({ quiet: !!o.json });
      const outcomes = await withInterruptSignal((signal) => runSweep(jobs, { ...common, reporter, signal, log: (l) => process.stderr.write(`${l}\n`) }));
      const failed = outcomes.filter((x) => x.error);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(outcomes.map((x) => ({ recipe: x.job.file, seed: x.job.seed, runId: x.result?.record.runId ?? null, reused: x.result?.reused ?? false, status: x.error ? 'failed' : x.held ? 'held' : 'finished', error: x.error?.message ?? x.held?.message ?? null, top1: x.result?.record.metrics.last?.top1 ?? null, seconds: x.seconds })), null, 2)}\n`);
      } else {
        for (const x of outcomes) {
          if (x.held) {
            process.stdout.write(`held     ${x.held.runId}  ${x.job.recipe.name} seed ${x.job.seed}  by ${describeHolder(x.held.holder)}\n`);
            continue;
          }
          const r = x.result?.record;
          process.stdout.write(`${x.error ? 'FAILED  ' : x.result!.reused ? 'reused  ' : 'trained '} ${r?.runId ?? '-'}  ${x.job.recipe.name} seed ${x.job.seed}${r?.metrics.last ? `  Acc ${r.metrics.last.top1.toFixed(2)}` : ''}${r?.reference?.ra != null ? ` RA ${r.reference.ra.toFixed(2)}` : ''}${x.error ? `  ${x.error.message.split('\n')[0]}` : ''}\n`);
        }
      }
      const held = [...outcomes.flatMap((x) => (x.held ? [x.held] : [])), ...outcomes.flatMap((x) => x.result?.heldReferences ?? [])];
      for (const h of held) process.stderr.write(`lt-bench: run ${h.runId} was skipped: held by ${describeHolder(h.holder)}; sweep again when it is done\n`);
      if (failed.length) throw new FailedError(`${failed.length} of ${outcomes.length} run(s) failed`);
    });
}
