/**
 * Inside a Slurm task (`sweep --slurm-task <submission.json> --layer K`, called by the scripts of
 * submit.ts): train the one planned run of array task SLURM_ARRAY_TASK_ID, and the UA/RA job
 * (`sweep --slurm-finish`).
 *
 * The task plans its sweep entry's frozen recipe again (the runs it depends on are finished by
 * then: `afterok`) and runs that run with the lock waiting for any other holder (a run queued by
 * two submissions trains once; the second task reuses it). Threads come from SLURM_CPUS_PER_TASK.
 * The run record gets a `slurm` block: job ids, the task's log, restarts and the requeue cap.
 * On the warning signal before the time limit the run saves `last` and the task requeues itself
 * (`scontrol requeue`), at most requeueLimit times; on SIGTERM (scancel, preemption) it saves
 * `last` and stops, so a resubmitted sweep resumes it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InterruptedError, LtBenchError, UsageError } from '../errors.js';
import { planRecipe, recordReferences, runPlan, type PlannedRun } from '../lifecycle/index.js';
import { loadRecipe } from '../recipe/load.js';
import { readRecord, writeRecord } from '../results/record.js';
import { appendRunLog } from '../results/run-log.js';
import type { RunRecord, SlurmTaskInfo } from '../results/types.js';
import type { RunOptions } from '../runner.js';
import type { Submission, SubmissionRun } from './submit.js';

export function readSubmission(file: string): Submission {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Submission;
  } catch (e) {
    throw new UsageError(`${file}: cannot read the submission (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Threads for the backend from the allocation (not the node's cores), unless already pinned. */
export function pinThreadsFromSlurm(env: NodeJS.ProcessEnv = process.env): number | null {
  const n = Number(env.SLURM_CPUS_PER_TASK);
  if (!Number.isInteger(n) || n < 1) return null;
  env.LT_TORCH_THREADS ??= String(n);
  env.LT_WASM_THREADS ??= String(n);
  return n;
}

/** The run of `layer`'s task `index` and every run of its entry's plan that it depends on, in order. */
export function taskRuns(sub: Submission, layer: number, index: number): { run: SubmissionRun; runs: PlannedRun[] } {
  const run = sub.layers[layer]?.runs[index];
  if (!run) throw new UsageError(`submission ${sub.id}: no task ${index} in layer ${layer}`);
  const job = sub.jobs[run.job];
  const { recipe } = loadRecipe(job.recipeFile);
  const plan = planRecipe(recipe, { output: sub.results, dataRoot: sub.dataRoot ?? undefined });
  const target = plan.runs.find((r) => r.runId === run.runId);
  if (!target) throw new LtBenchError(`submission ${sub.id}: run ${run.runId} is no longer in the plan of ${job.recipeFile} (the code changed since submission?); submit the sweep again`, 2);
  const needed = new Set<string>([target.runId]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of plan.runs) if (needed.has(r.runId)) for (const d of r.dependsOn) if (!needed.has(d)) needed.add(d), (grew = true);
  }
  return { run, runs: plan.runs.filter((r) => needed.has(r.runId)) };
}

function slurmInfo(sub: Submission, run: SubmissionRun, previous: SlurmTaskInfo | undefined, env: NodeJS.ProcessEnv): SlurmTaskInfo {
  const jobId = env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}` : (env.SLURM_JOB_ID ?? '?');
  const jobs = [...(previous?.jobs ?? [])];
  if (!jobs.includes(jobId)) jobs.push(jobId);
  return {
    jobId,
    jobs,
    submission: sub.id,
    log: run.log,
    restarts: Number(env.SLURM_RESTART_COUNT ?? 0) || 0,
    requeueLimit: sub.resources.requeueLimit,
    cpusPerTask: Number(env.SLURM_CPUS_PER_TASK) || null,
    node: env.SLURMD_NODENAME ?? null,
    ...(previous?.requeued ? { requeued: previous.requeued } : {}),
  };
}

function patchRecord(dir: string, patch: (r: RunRecord) => void): void {
  const rec = readRecord(dir);
  if (!rec) return;
  patch(rec);
  writeRecord(dir, rec);
}

export interface TaskOptions extends Pick<RunOptions, 'reporter'> {
  signal: { interrupted: boolean; by?: string };
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Requeues the task (default: scontrol requeue); tests replace it. */
  requeue?: (jobId: string) => { ok: boolean; message: string };
}

function scontrolRequeue(jobId: string): { ok: boolean; message: string } {
  const r = spawnSync('scontrol', ['requeue', jobId], { encoding: 'utf8' });
  return { ok: r.status === 0, message: (r.stderr || r.stdout || String(r.error ?? '')).trim() };
}

/** Runs array task `index` (default SLURM_ARRAY_TASK_ID) of a layer. */
export async function runSlurmTask(submissionFile: string, layer: number, opts: TaskOptions, index?: number): Promise<{ runId: string; dir: string }> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  const i = index ?? Number(env.SLURM_ARRAY_TASK_ID);
  if (!Number.isInteger(i)) throw new UsageError('--slurm-task: SLURM_ARRAY_TASK_ID is not set (this runs inside a Slurm array task)');
  const threads = pinThreadsFromSlurm(env);
  const sub = readSubmission(submissionFile);
  const { run, runs } = taskRuns(sub, layer, i);
  const dir = path.join(sub.results, run.runId);
  const existing = readRecord(dir);
  const info = slurmInfo(sub, run, existing?.slurm, env);
  log(`slurm task ${info.jobId}: run ${run.runId} (${run.role}) ${run.name}; backend ${sub.backend}, ${threads ?? '?'} thread(s); restart ${info.restarts} of at most ${info.requeueLimit}`);
  const target = runs[runs.length - 1];
  const job = sub.jobs[run.job];
  const runOpts: RunOptions = { output: sub.results, dataRoot: sub.dataRoot ?? undefined, backend: sub.backend, wait: true, signal: opts.signal, reporter: opts.reporter, recipePath: target.role === 'main' ? job.file : null };
  try {
    await runPlan({ main: target, runs, references: null }, runOpts);
    // A run finished before this task (by another submission's task) keeps its record as it is.
    if (existing?.status !== 'finished') patchRecord(dir, (r) => (r.slurm = info));
    return { runId: run.runId, dir };
  } catch (e) {
    if (!(e instanceof InterruptedError) || opts.signal.by !== 'SIGUSR2') {
      patchRecord(dir, (r) => (r.slurm = info));
      throw e;
    }
    // The time limit is near and `last` is saved: come back for the rest, up to the cap.
    if (info.restarts >= info.requeueLimit) {
      const note = `time limit reached on restart ${info.restarts}; requeue limit ${info.requeueLimit} reached, not requeued (submit the sweep again to resume)`;
      patchRecord(dir, (r) => (r.slurm = { ...info, requeueLimitReached: true }));
      appendRunLog(dir, note);
      throw new LtBenchError(`run ${run.runId}: ${note}`, 1);
    }
    const rq = (opts.requeue ?? scontrolRequeue)(info.jobId);
    const requeued = [...(info.requeued ?? []), { at: new Date().toISOString(), restart: info.restarts + 1, ok: rq.ok }];
    patchRecord(dir, (r) => (r.slurm = { ...info, requeued }));
    const note = rq.ok ? `time limit near: 'last' saved; task ${info.jobId} requeued (restart ${info.restarts + 1} of at most ${info.requeueLimit})` : `time limit near: 'last' saved; scontrol requeue ${info.jobId} failed: ${rq.message}`;
    appendRunLog(dir, note);
    log(note);
    throw e;
  }
}

/**
 * The UA/RA job: every sweep entry whose run and both balanced references are finished gets
 * UA/RA in its record (the same step a local sweep ends with). Returns the entries written and
 * those still missing a run.
 */
export function finishSlurmSweep(submissionFile: string, log: (line: string) => void = () => {}): { written: string[]; missing: string[] } {
  const sub = readSubmission(submissionFile);
  const written: string[] = [];
  const missing: string[] = [];
  for (const job of sub.jobs) {
    if (!job.references) continue;
    const load = (id: string) => ({ id, dir: path.join(sub.results, id), record: readRecord(path.join(sub.results, id)) });
    const [main, vanilla, method] = [job.runId, job.references.vanilla, job.references.method].map(load);
    const notDone = [main, vanilla, method].filter((x) => x.record?.status !== 'finished');
    if (notDone.length) {
      missing.push(job.runId);
      log(`${job.name} seed ${job.seed}: UA/RA not written: ${notDone.map((x) => `${x.id} ${x.record?.status ?? 'not run'}`).join(', ')}`);
      continue;
    }
    recordReferences({ record: main.record!, dir: main.dir }, { record: vanilla.record! }, { record: method.record! });
    written.push(job.runId);
    log(`${job.name} seed ${job.seed}: UA ${main.record!.reference!.ua!.toFixed(2)}, RA ${main.record!.reference!.ra!.toFixed(2)}`);
  }
  return { written, missing };
}
