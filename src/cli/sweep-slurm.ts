/**
 * The Slurm side of `lt-bench sweep`: `--executor slurm` (submit), `--status`, and the two entry
 * points the generated sbatch scripts call (`--slurm-task`, `--slurm-finish`). Thin: the work is
 * in src/slurm/ through the exported API.
 */
import path from 'node:path';
import { finishSlurmSweep, formatSweepStatus, planErrors, planSweep, runSlurmTask, selectBackend, submitSlurmSweep, sweepStatus, UsageError, type SlurmResources, type SweepFile, type SweepJob } from '../index.js';
import { createCliReporter } from './progress.js';
import { withInterruptSignal } from './interrupt.js';
import { DEFAULT_RESULTS_DIR } from './options.js';

/** The resource flags of `sweep` (commander's names: `--sbatch-arg` collects into `sbatchArg`). */
export type SlurmFlags = Omit<SlurmResources, 'sbatchArgs'> & { sbatchArg: string[] };

/** Flags over the sweep file's executor block. */
export function slurmResources(flags: SlurmFlags, file: SweepFile | null): SlurmResources {
  const e: Partial<NonNullable<SweepFile['executor']>> = file?.executor ?? {};
  const pick = <K extends keyof SlurmResources>(k: K, v: SlurmResources[K] | undefined) => (v !== undefined ? { [k]: v } : e[k as keyof typeof e] !== undefined ? { [k]: e[k as keyof typeof e] } : {});
  return {
    ...pick('partition', flags.partition),
    ...pick('account', flags.account),
    ...pick('qos', flags.qos),
    ...pick('time', flags.time),
    ...pick('gpusPerTask', flags.gpusPerTask),
    ...pick('cpusPerTask', flags.cpusPerTask),
    ...pick('mem', flags.mem),
    ...pick('constraint', flags.constraint),
    ...pick('maxParallel', flags.maxParallel),
    ...pick('requeueLimit', flags.requeueLimit),
    ...pick('signalSeconds', flags.signalSeconds),
    sbatchArgs: [...(e.sbatchArgs ?? []), ...flags.sbatchArg],
  } as SlurmResources;
}

export async function submitAction(jobs: SweepJob[], common: { dataRoot?: string; output?: string; backend?: string; rerunStale?: boolean }, resources: SlurmResources, o: { dryRun?: boolean; json?: boolean }): Promise<void> {
  if (common.rerunStale) throw new UsageError('--rerun-stale is not supported with --executor slurm; rerun those runs with --executor local');
  // One results directory for the whole submission (tasks, locks, --status read it), even where recipes name different outputs.
  const results = path.resolve(common.output ?? jobs[0]?.recipe.output ?? DEFAULT_RESULTS_DIR);
  const plan = planSweep(jobs, { ...common, output: results });
  const err = planErrors(plan);
  if (err) throw err;
  // Pinned into every task: a node picking another backend (or thread count) would change the numbers.
  const backend = common.backend ?? (await selectBackend()).name;
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const res = submitSlurmSweep(plan, { results, dataRoot: common.dataRoot, backend, resources, dryRun: o.dryRun, log });
  const sub = res.submission;
  const n = sub.layers.reduce((a, l) => a + l.runs.length, 0);
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ submission: res.file, dryRun: !!o.dryRun, layers: sub.layers.map((l) => ({ jobId: l.jobId, script: l.script, runs: l.runs.map((r) => ({ runId: r.runId, role: r.role, log: r.log })) })), finish: sub.finish, scripts: o.dryRun ? res.scripts : undefined }, null, 2)}\n`);
    return;
  }
  if (o.dryRun) {
    for (const s of res.scripts) process.stdout.write(`# ---- ${s.path}\n${s.text}\n`);
    process.stdout.write(`dry run: ${n} run(s) in ${sub.layers.length} job array(s)${sub.finish ? ' + the UA/RA job' : ''}, backend ${backend}; nothing submitted\n`);
    return;
  }
  if (n === 0 && !sub.finish) {
    process.stdout.write(`nothing to submit: all ${plan.length} sweep entr${plan.length === 1 ? 'y is' : 'ies are'} finished\n`);
    return;
  }
  for (const l of sub.layers) process.stdout.write(`layer ${l.index}: job array ${l.jobId}, ${l.runs.length} task(s)${l.index > 0 ? ` after ${sub.layers[l.index - 1].jobId}` : ''}\n`);
  if (sub.finish) process.stdout.write(`UA/RA: job ${sub.finish.jobId} after every layer\n`);
  process.stdout.write(`submitted ${n} run(s), backend ${backend}; submission ${res.file}\nwatch: lt-bench sweep --status --results ${results}\n`);
}

export function statusAction(results: string | undefined, json: boolean | undefined): void {
  const st = sweepStatus(path.resolve(results ?? DEFAULT_RESULTS_DIR));
  process.stdout.write(json ? `${JSON.stringify(st, null, 2)}\n` : formatSweepStatus(st, process.cwd()));
}

export async function taskAction(file: string, layer: string | undefined): Promise<void> {
  const k = Number(layer);
  if (!Number.isInteger(k) || k < 0) throw new UsageError('--slurm-task needs --layer <k>');
  const reporter = createCliReporter({ quiet: false });
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const r = await withInterruptSignal((signal) => runSlurmTask(file, k, { signal, reporter, log }));
  log(`slurm task: run ${r.runId} finished`);
}

export function finishAction(file: string): void {
  const r = finishSlurmSweep(file, (l) => process.stderr.write(`${l}\n`));
  process.stdout.write(`UA/RA written for ${r.written.length} run(s)${r.missing.length ? `; ${r.missing.length} still missing a run (lt-bench table computes them once it is finished)` : ''}\n`);
}
