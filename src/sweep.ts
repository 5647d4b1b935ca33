/**
 * Sweeps: many recipes (× training seeds) one after another on this machine. Finished runs are
 * reused, unfinished ones resumed, the balanced reference runs shared (their ids are content
 * hashes, so every recipe that needs the same reference finds the same record), and a failed run
 * does not stop the sweep. Every job is planned up front by the run lifecycle (src/lifecycle/):
 * `planSweep` gives each job's runs (stage 1, stage 2, the balanced references and their stages)
 * with their dependencies, `sweepRuns` the distinct runs of the whole sweep (what a scheduler would
 * submit, one job each), and the time left comes from the plan's run sizes.
 */
import { glob } from 'tinyglobby';
import { existsSync } from 'node:fs';
import { LtBenchError, UsageError } from './errors.js';
import { loadRecipe } from './recipe/load.js';
import type { Recipe } from './recipe/schema.js';
import { describeHolder, RunHeldError } from './results/lock.js';
import { planRecipe, runPlan, splitCache, type PlannedRun, type RecipePlan } from './lifecycle/index.js';
import { checkRunPaths, type RunOptions, type RunResult } from './runner.js';
import type { EpochLine } from './results/types.js';
import { gitCommit, ltBenchVersion } from './version.js';
import { formatDuration } from './train/eta.js';
import { isSweepFile } from './slurm/sweep-file.js';

export interface SweepJob {
  file: string;
  seed: number;
  recipe: Recipe;
}

export interface SweepPlanEntry extends SweepJob {
  runId: string;
  action: 'reuse' | 'resume' | 'train' | 'rerun-stale' | 'error';
  /** Why the job cannot be planned (missing data, …); the sweep reports it as a failed run. */
  error?: Error;
  /** Reference runs this job needs (each stage of a two-stage reference too) that no record holds yet. */
  references: string[];
  /** The job's plan: its runs (stages, references) with dependencies; null when it could not be planned. */
  plan: RecipePlan | null;
}

/** A run of the whole sweep (each once, however many jobs need it), dependencies first. */
export interface SweepRun extends PlannedRun {
  /** Indices (into the sweep plan) of the jobs that need this run. */
  neededBy: number[];
}

export interface SweepOptions extends Omit<RunOptions, 'recipePath'> {
  seeds?: number[];
  sets?: string[];
  /** Rerun records made by other code (git commit or package version) into new ids. */
  rerunStale?: boolean;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface SweepOutcome {
  job: SweepJob;
  result?: RunResult;
  error?: Error;
  /** Another trainer held the run: skipped, neither trained nor failed. */
  held?: RunHeldError;
  seconds: number;
}

/** Expands recipe paths and globs (quote globs so the shell leaves them alone), skipping _base/ pieces and sweep files. */
export async function expandRecipeArgs(args: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const a of args) {
    if (/[*?[{]/.test(a)) {
      const hits = (await glob(a, { absolute: true })).filter((f) => /\.ya?ml$/.test(f) && !f.split('/').includes('_base') && !isSweepFile(f)).sort();
      if (hits.length === 0) throw new UsageError(`${a}: no recipe matches`);
      files.push(...hits);
    } else {
      if (!existsSync(a)) throw new UsageError(`${a}: recipe file not found`);
      if (isSweepFile(a)) throw new UsageError(`${a}: a sweep file, not a recipe: lt-bench sweep --file ${a}`);
      files.push(a);
    }
  }
  return [...new Set(files)];
}

export function sweepJobs(files: string[], opts: Pick<SweepOptions, 'seeds' | 'sets'>): SweepJob[] {
  const jobs: SweepJob[] = [];
  for (const file of files) {
    const { recipe } = loadRecipe(file, { sets: opts.sets });
    for (const seed of opts.seeds ?? [recipe.train.seed]) {
      jobs.push({ file, seed, recipe: { ...recipe, train: { ...recipe.train, seed } } });
    }
  }
  return jobs;
}

function isStale(rec: { environment: { gitCommit: string | null; ltBench: string } }): boolean {
  return rec.environment.ltBench !== ltBenchVersion() || (gitCommit() !== null && rec.environment.gitCommit !== gitCommit());
}

/**
 * Plans every job through the run lifecycle (src/lifecycle/plan.ts): its run id, what `run` would
 * do with it, and the runs it needs (stage 1, the balanced references and their stages). A job
 * that cannot be planned (missing data, a bad list) gets action 'error' and its error.
 */
export function planSweep(jobs: SweepJob[], opts: SweepOptions): SweepPlanEntry[] {
  for (const job of jobs) checkRunPaths(job.recipe, opts);
  const splits = splitCache();
  return jobs.map((job): SweepPlanEntry => {
    let plan: RecipePlan;
    try {
      plan = planRecipe(job.recipe, { output: opts.output, dataRoot: opts.dataRoot, splits });
    } catch (e) {
      return { ...job, runId: '-', action: 'error', error: e as Error, references: [], plan: null };
    }
    const p = plan.main;
    const action = p.action === 'reuse' && opts.rerunStale && p.record && isStale(p.record) ? 'rerun-stale' : p.action;
    const references = plan.runs.filter((r) => r.role.startsWith('reference') && r.action !== 'reuse').map((r) => r.runId);
    return { ...job, runId: p.runId, action, references, plan };
  });
}

/** The distinct runs of a sweep plan in the order they run (a scheduler submits each as a job of its own). */
export function sweepRuns(plan: SweepPlanEntry[]): SweepRun[] {
  const byId = new Map<string, SweepRun>();
  plan.forEach((entry, i) => {
    for (const r of entry.plan?.runs ?? []) {
      const have = byId.get(r.runId);
      if (have) have.neededBy.push(i);
      else byId.set(r.runId, { ...r, ...(r.role === 'main' && entry.action === 'rerun-stale' ? { action: 'train' as const } : {}), neededBy: [i] });
    }
  });
  return [...byId.values()];
}

/** What a sweep plan adds up to: runs to train or resume (the jobs' own and all others), reused, unplannable jobs. */
export function sweepSummary(plan: SweepPlanEntry[]): { jobs: number; toRun: number; references: number; stages: number; reused: number; errors: number; imagePasses: number } {
  const runs = sweepRuns(plan);
  const pending = runs.filter((r) => r.action !== 'reuse');
  return {
    jobs: plan.length,
    toRun: plan.filter((p) => p.action !== 'reuse' && p.action !== 'error').length,
    references: pending.filter((r) => r.role.startsWith('reference')).length,
    // A stage-1 run that is also a job of its own (softmax, the decouple-* stage 1) counts as that job.
    stages: pending.filter((r) => r.role === 'stage1' && !plan.some((p) => p.runId === r.runId)).length,
    reused: plan.filter((p) => p.action === 'reuse').length,
    errors: plan.filter((p) => p.action === 'error').length,
    imagePasses: pending.reduce((a, r) => a + r.work.imagePasses, 0),
  };
}

/**
 * The error a sweep's unplannable jobs add up to: exit 3 when they all lack data, their common
 * exit code otherwise (2 for recipe errors), else 1. Null when every job was planned.
 */
export function planErrors(plan: SweepPlanEntry[]): LtBenchError | null {
  const bad = plan.filter((p) => p.error);
  if (bad.length === 0) return null;
  const codes = new Set(bad.map((p) => (p.error as { exitCode?: number }).exitCode ?? 1));
  const code = codes.size === 1 ? [...codes][0] : 1;
  const first = bad[0];
  return new LtBenchError(`${bad.length} of ${plan.length} sweep entr${plan.length === 1 ? 'y' : 'ies'} cannot be planned; first: ${first.file} (seed ${first.seed}): ${first.error!.message.split('\n')[0]}`, code);
}

/** The whole sweep's time left, worded as the progress output words it. */
export const duration = formatDuration;

/** "3.2M", "45k": a count of image passes. */
export function compactCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${Math.round(n / 1e3)}k` : String(Math.round(n));
}

/**
 * The whole sweep's time left, from the plan's run sizes (image passes, lifecycle/plan.ts) and a
 * rate in image passes per second: measured on this sweep's finished jobs; before that, the
 * training throughput of the first epoch; before that, the finished records the sweep reuses.
 */
export class SweepEta {
  private pending = new Map<string, number>();
  private doneWork = 0;
  private doneSeconds = 0;
  private epochRate: number | null = null;
  private recordRate: number | null = null;

  constructor(runs: SweepRun[]) {
    let work = 0;
    let wall = 0;
    for (const r of runs) {
      if (r.action !== 'reuse') this.pending.set(r.runId, r.work.imagePasses);
      else if (r.record && r.record.timing.wallSeconds > 0) {
        work += r.work.imagePasses;
        wall += r.record.timing.wallSeconds;
      }
    }
    if (wall > 0) this.recordRate = work / wall;
  }

  /** Image passes per second, or null when nothing has been measured yet. */
  rate(): number | null {
    return this.doneSeconds > 0 ? this.doneWork / this.doneSeconds : (this.epochRate ?? this.recordRate);
  }

  left(): { runs: number; imagePasses: number; seconds: number } {
    const imagePasses = [...this.pending.values()].reduce((a, b) => a + b, 0);
    const rate = this.rate();
    return { runs: this.pending.size, imagePasses, seconds: rate ? imagePasses / rate : NaN };
  }

  /** A training epoch finished (its images/s); returns true the first time this makes a rate known. */
  epoch(line: Pick<EpochLine, 'imagesPerSec'>): boolean {
    const first = this.rate() === null;
    if (line.imagesPerSec > 0) this.epochRate = line.imagesPerSec;
    return first && this.rate() !== null;
  }

  /** A job ended: its runs are no longer pending; a job that trained counts toward the measured rate. */
  jobEnded(runIds: string[], seconds: number, ok: boolean): void {
    let work = 0;
    for (const id of runIds) {
      work += this.pending.get(id) ?? 0;
      this.pending.delete(id);
    }
    if (ok && work > 0) {
      this.doneWork += work;
      this.doneSeconds += seconds;
    }
  }

  describe(): string {
    const l = this.left();
    const time = Number.isFinite(l.seconds) ? `about ${duration(l.seconds)} left` : 'time left known after the first epoch';
    return `${l.runs} run(s) left (${compactCount(l.imagePasses)} image passes), ${time}`;
  }
}

export async function runSweep(jobs: SweepJob[], opts: SweepOptions): Promise<SweepOutcome[]> {
  const log = opts.log ?? (() => {});
  const plan = planSweep(jobs, opts);
  const eta = new SweepEta(sweepRuns(plan));
  const outer = opts.reporter ?? {};
  const reporter = {
    ...outer,
    epochEnd: (line: EpochLine) => {
      outer.epochEnd?.(line);
      if (eta.epoch(line)) log(`sweep: ${eta.describe()} (from the first epoch's ${line.imagesPerSec.toFixed(0)} img/s)`);
    },
  };
  const outcomes: SweepOutcome[] = [];
  for (const [i, entry] of plan.entries()) {
    const t0 = performance.now();
    if (entry.action !== 'reuse') log(`[${i + 1}/${plan.length}] ${entry.action} ${entry.recipe.name} (seed ${entry.seed}); sweep: ${eta.describe()}`);
    const runIds = entry.plan?.runs.map((r) => r.runId) ?? [];
    try {
      if (entry.error || !entry.plan) throw entry.error ?? new Error(`${entry.file}: not planned`);
      const result = await runPlan(entry.plan, { ...opts, reporter, recipePath: entry.file, force: entry.action === 'rerun-stale' });
      const seconds = (performance.now() - t0) / 1000;
      outcomes.push({ job: entry, result, seconds });
      eta.jobEnded(runIds, seconds, true);
    } catch (e) {
      if ((e as { exitCode?: number }).exitCode === 130) throw e;
      if (e instanceof RunHeldError) {
        log(`[${i + 1}/${plan.length}] skipped ${entry.recipe.name} (seed ${entry.seed}): held by ${describeHolder(e.holder)}`);
        const seconds = (performance.now() - t0) / 1000;
        outcomes.push({ job: entry, held: e, seconds });
        eta.jobEnded(runIds, seconds, false);
        continue;
      }
      log(`[${i + 1}/${plan.length}] FAILED ${entry.recipe.name} (seed ${entry.seed}): ${(e as Error).message.split('\n')[0]}`);
      const seconds = (performance.now() - t0) / 1000;
      outcomes.push({ job: entry, error: e as Error, seconds });
      eta.jobEnded(runIds, seconds, false);
    }
  }
  return outcomes;
}
