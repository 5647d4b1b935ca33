/**
 * Sweeps: many recipes (× training seeds) one after another on this machine. Finished runs are
 * reused, unfinished ones resumed, the balanced reference runs shared (their ids are content
 * hashes, so every recipe that needs the same reference finds the same record), and a failed run
 * does not stop the sweep.
 */
import { glob } from 'tinyglobby';
import { existsSync } from 'node:fs';
import { UsageError } from './errors.js';
import { loadRecipe } from './recipe/load.js';
import type { Recipe } from './recipe/schema.js';
import { loadSource } from './data/load-source.js';
import { getMethod } from './methods/registry.js';
import type { RunRecord } from './results/types.js';
import { planRun, referenceRecipes, runRecipe, splitFor, type RunOptions, type RunResult } from './runner.js';
import { gitCommit, ltBenchVersion } from './version.js';

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
  /** Reference runs this job needs that no record holds yet. */
  references: string[];
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
  seconds: number;
}

/** Expands recipe paths and globs (quote globs so the shell leaves them alone), skipping _base/ pieces. */
export async function expandRecipeArgs(args: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const a of args) {
    if (/[*?[{]/.test(a)) {
      const hits = (await glob(a, { absolute: true })).filter((f) => /\.ya?ml$/.test(f) && !f.split('/').includes('_base')).sort();
      if (hits.length === 0) throw new UsageError(`${a}: no recipe matches`);
      files.push(...hits);
    } else {
      if (!existsSync(a)) throw new UsageError(`${a}: recipe file not found`);
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

/** The LT run's derived values that its reference pins (ESQL's λ): from its record, else computed. */
function ltResolvedParams(recipe: Recipe, record: RunRecord | null, opts: SweepOptions): Record<string, unknown> {
  const def = getMethod(recipe.method.name);
  if (!def.pinnedForReference?.length) return {};
  if (record?.method.resolved) return record.method.resolved;
  const source = loadSource(recipe, opts.dataRoot);
  const split = splitFor(recipe, source);
  return def.create({ classCounts: split.classCounts, numClasses: source.numClasses, params: recipe.method.params, epochs: recipe.train.epochs }).resolvedParams ?? {};
}

export function planSweep(jobs: SweepJob[], opts: SweepOptions): SweepPlanEntry[] {
  return jobs.map((job): SweepPlanEntry => {
    let p: ReturnType<typeof planRun>;
    try {
      p = planRun(job.recipe, opts);
    } catch (e) {
      return { ...job, runId: '-', action: 'error', error: e as Error, references: [] };
    }
    const action = p.action === 'reuse' && opts.rerunStale && p.record && isStale(p.record) ? 'rerun-stale' : p.action;
    const references: string[] = [];
    if (job.recipe.reference === 'auto' && !job.recipe.dataset.balanced && job.recipe.dataset.profile === 'exponential') {
      const refs = referenceRecipes(job.recipe, ltResolvedParams(job.recipe, p.record, opts));
      for (const r of [refs.vanilla, refs.method]) {
        const rp = planRun(r, opts);
        if (rp.action !== 'reuse' && !references.includes(rp.runId)) references.push(rp.runId);
      }
    }
    return { ...job, runId: p.runId, action, references };
  });
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.round(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}m`;
}

export async function runSweep(jobs: SweepJob[], opts: SweepOptions): Promise<SweepOutcome[]> {
  const log = opts.log ?? (() => {});
  const plan = planSweep(jobs, opts);
  const outcomes: SweepOutcome[] = [];
  const trainedSeconds: number[] = [];
  const toTrain = plan.filter((p) => p.action !== 'reuse').length;
  let trained = 0;
  for (const [i, entry] of plan.entries()) {
    const t0 = performance.now();
    const mean = trainedSeconds.length ? trainedSeconds.reduce((a, b) => a + b, 0) / trainedSeconds.length : NaN;
    if (entry.action !== 'reuse') {
      log(`[${i + 1}/${plan.length}] ${entry.action} ${entry.recipe.name} (seed ${entry.seed}); about ${duration(mean * (toTrain - trained))} left for ${toTrain - trained} run(s)`);
    }
    try {
      if (entry.error) throw entry.error;
      const result = await runRecipe(entry.recipe, { ...opts, recipePath: entry.file, force: entry.action === 'rerun-stale' });
      outcomes.push({ job: entry, result, seconds: (performance.now() - t0) / 1000 });
      if (entry.action !== 'reuse') {
        trained++;
        trainedSeconds.push((performance.now() - t0) / 1000);
      }
    } catch (e) {
      if ((e as { exitCode?: number }).exitCode === 130) throw e;
      log(`[${i + 1}/${plan.length}] FAILED ${entry.recipe.name} (seed ${entry.seed}): ${(e as Error).message.split('\n')[0]}`);
      outcomes.push({ job: entry, error: e as Error, seconds: (performance.now() - t0) / 1000 });
      trained++;
    }
  }
  return outcomes;
}
