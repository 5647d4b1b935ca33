/**
 * `sweep --executor slurm`: the same plan as a local sweep (src/sweep.ts: finished runs skipped,
 * unfinished ones resumed, each balanced reference once, stage-2 and pipeline stages after the
 * runs they read), submitted as one job array per dependency layer (layers.ts), each chained to
 * the one before with `afterok`, and a last job (afterany) that writes UA/RA into the long-tailed
 * records once their references exist.
 *
 * Everything a task reads is written at submission into `<results>/slurm/<submission>/`:
 * `submission.json` (the runs of each layer, their recipes, log paths and job ids), one resolved
 * recipe per sweep entry (`jobs/`) and per planned run (`runs/`), and the sbatch scripts. A task
 * plans its entry's frozen recipe again and trains exactly its run, so later edits to the recipe
 * files, `--set` or `--seeds` cannot drift into queued tasks.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { stringify as yamlStringify } from 'yaml';
import { FailedError, UsageError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../results/atomic.js';
import type { SweepPlanEntry, SweepRun } from '../sweep.js';
import { sweepRuns } from '../sweep.js';
import { packageRoot } from '../version.js';
import { dependencyLayers } from './layers.js';
import { DEFAULT_REQUEUE_LIMIT, sbatchScript, type SlurmResources } from './script.js';

export interface SubmissionRun {
  runId: string;
  role: string;
  kind: string;
  name: string;
  /** Index into Submission.jobs: the sweep entry whose plan holds the run. */
  job: number;
  /** The run's own resolved recipe (what it trains), for people reading the submission. */
  recipeFile: string;
  hash: string;
  dependsOn: string[];
  /** The task's Slurm output file. */
  log: string;
}

export interface SubmissionLayer {
  index: number;
  script: string;
  /** The array's job id once submitted. */
  jobId: string | null;
  runs: SubmissionRun[];
}

export interface Submission {
  version: 1;
  id: string;
  createdAt: string;
  /** Absolute results directory. */
  results: string;
  dataRoot: string | null;
  backend: string;
  resources: SlurmResources & { requeueLimit: number };
  /** The sweep entries (recipe × seed), each with its frozen resolved recipe. */
  jobs: { file: string; seed: number; name: string; recipeFile: string; runId: string; references: { vanilla: string; method: string } | null }[];
  layers: SubmissionLayer[];
  /** The job writing UA/RA, when an entry has references. */
  finish: { script: string; jobId: string | null } | null;
}

export interface SlurmSweepOptions {
  /** Results directory (absolute after resolution). */
  results: string;
  dataRoot?: string;
  backend: string;
  resources: SlurmResources;
  /** Print instead of submit; write nothing. */
  dryRun?: boolean;
  /** Working directory of the tasks (default: the current one). */
  chdir?: string;
  log?: (line: string) => void;
}

export interface SlurmSweepResult {
  submission: Submission;
  /** submission.json, or null in a dry run. */
  file: string | null;
  /** Each script's path and text. */
  scripts: { path: string; text: string }[];
}

function slugOf(s: string): string {
  return s.replace(/[^\w.-]+/g, '_').slice(0, 80);
}

const binPath = () => path.join(packageRoot, 'bin', 'lt-bench.js');

/** The sbatch job id from `sbatch --parsable` ("123" or "123;cluster"). */
export function parseSbatchId(stdout: string): string {
  const id = stdout.trim().split(';')[0];
  if (!/^\d+$/.test(id)) throw new FailedError(`sbatch printed no job id: ${JSON.stringify(stdout.trim())}`);
  return id;
}

/** Runs sbatch on a script; Slurm's refusal becomes exit 1 with sbatch's own message. */
export function sbatch(script: string): string {
  const r = spawnSync('sbatch', ['--parsable', script], { encoding: 'utf8' });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError('sbatch not found: --executor slurm needs the Slurm client tools on PATH');
    throw r.error;
  }
  if (r.status !== 0) {
    const msg = (r.stderr || r.stdout).trim().split('\n').filter(Boolean).join('; ');
    throw new FailedError(`sbatch refused ${path.basename(script)}: ${msg}`);
  }
  return parseSbatchId(r.stdout);
}

export function scancel(ids: string[]): void {
  if (ids.length) spawnSync('scancel', ids, { encoding: 'utf8' });
}

/** Plans the submission of a sweep plan: layers, scripts, files. Submits unless dryRun. */
export function submitSlurmSweep(plan: SweepPlanEntry[], opts: SlurmSweepOptions): SlurmSweepResult {
  const log = opts.log ?? (() => {});
  const results = path.resolve(opts.results);
  const createdAt = new Date().toISOString();
  const id = `${createdAt.replace(/[-:]/g, '').replace(/\..*$/, '')}-${randomBytes(3).toString('hex')}`;
  const dir = path.join(results, 'slurm', id);
  const chdir = path.resolve(opts.chdir ?? process.cwd());
  const resources = { ...opts.resources, requeueLimit: opts.resources.requeueLimit ?? DEFAULT_REQUEUE_LIMIT };
  const runs = sweepRuns(plan);
  const layers = dependencyLayers(runs);
  const jobIndex = (r: SweepRun) => r.neededBy[0];
  const jobs = plan.map((p, i) => ({
    // As the sweep was given it (tasks run in the same working directory): the records' recipePath.
    file: p.file,
    seed: p.seed,
    name: p.recipe.name ?? p.runId,
    recipeFile: path.join(dir, 'jobs', `${i}-${slugOf(p.recipe.name ?? p.runId)}-s${p.seed}.yaml`),
    runId: p.runId,
    references: p.plan?.references ?? null,
  }));
  const submission: Submission = {
    version: 1,
    id,
    createdAt,
    results,
    dataRoot: opts.dataRoot ? path.resolve(opts.dataRoot) : null,
    backend: opts.backend,
    resources,
    jobs,
    layers: layers.map((layer, k) => ({
      index: k,
      script: path.join(dir, `layer-${k}.sbatch`),
      jobId: null,
      runs: layer.map((r, i) => ({
        runId: r.runId,
        role: r.role,
        kind: r.kind,
        name: r.recipe.name ?? r.runId,
        job: jobIndex(r),
        recipeFile: path.join(dir, 'runs', `${r.runId}.yaml`),
        hash: r.hash,
        dependsOn: r.dependsOn,
        log: path.join(dir, 'logs', `layer-${k}-task-${i}.log`),
      })),
    })),
    finish: plan.some((p) => p.plan?.references && p.plan.main.action !== 'reuse') || plan.some((p) => p.plan?.references && p.plan.main.record?.reference?.ua == null) ? { script: path.join(dir, 'finish.sbatch'), jobId: null } : null,
  };
  const file = path.join(dir, 'submission.json');
  const node = process.execPath;
  const taskCommand = (k: number) => [node, binPath(), 'sweep', '--slurm-task', file, '--layer', String(k)];
  const script = (k: number, afterOk: string[]) =>
    sbatchScript({
      name: `ltb-${id}-L${k}`,
      tasks: submission.layers[k].runs.length,
      resources,
      afterOk,
      output: path.join(dir, 'logs', `layer-${k}-task-%a.log`),
      chdir,
      command: taskCommand(k),
      taskNotes: submission.layers[k].runs.map((r) => `${r.runId} (${r.role}${r.kind !== 'train' ? `, ${r.kind}` : ''}) ${r.name}`),
      requeue: true,
    });
  const finishScript = (afterAny: string[]) =>
    sbatchScript({ name: `ltb-${id}-uara`, tasks: 1, array: false, resources: { ...resources, maxParallel: undefined }, afterAny, output: path.join(dir, 'logs', 'finish.log'), chdir, command: [node, binPath(), 'sweep', '--slurm-finish', file] });

  const scripts: { path: string; text: string }[] = [];
  if (opts.dryRun) {
    submission.layers.forEach((l, k) => scripts.push({ path: l.script, text: script(k, k > 0 ? [`<job id of layer ${k - 1}>`] : []) }));
    if (submission.finish) scripts.push({ path: submission.finish.script, text: finishScript(submission.layers.map((l) => `<job id of layer ${l.index}>`)) });
    return { submission, file: null, scripts };
  }
  if (submission.layers.length === 0 && !submission.finish) return { submission, file: null, scripts };

  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  plan.forEach((p, i) => writeFileAtomic(jobs[i].recipeFile, `# sweep entry ${i}: ${p.file}, seed ${p.seed}; resolved at submission ${id}\n${yamlStringify(p.recipe)}`));
  for (const r of runs.filter((x) => x.action !== 'reuse')) writeFileAtomic(path.join(dir, 'runs', `${r.runId}.yaml`), `# run ${r.runId} (${r.role}); hash ${r.hash}; resolved at submission ${id}\n${yamlStringify(r.recipe)}`);
  writeJsonAtomic(file, submission);
  const submitted: string[] = [];
  try {
    for (const layer of submission.layers) {
      const text = script(layer.index, layer.index > 0 ? [submission.layers[layer.index - 1].jobId!] : []);
      writeFileAtomic(layer.script, text);
      scripts.push({ path: layer.script, text });
      layer.jobId = sbatch(layer.script);
      submitted.push(layer.jobId);
      writeJsonAtomic(file, submission);
      log(`submitted layer ${layer.index}: job array ${layer.jobId} (${layer.runs.length} task(s))`);
    }
    if (submission.finish) {
      const text = finishScript(submitted);
      writeFileAtomic(submission.finish.script, text);
      scripts.push({ path: submission.finish.script, text });
      submission.finish.jobId = sbatch(submission.finish.script);
      writeJsonAtomic(file, submission);
      log(`submitted UA/RA job ${submission.finish.jobId} (after every layer)`);
    }
  } catch (e) {
    // Half a sweep in the queue would train runs whose followers never come: take it back.
    scancel(submitted);
    for (const l of submission.layers) l.jobId = null;
    writeJsonAtomic(file, { ...submission, cancelled: (e as Error).message });
    throw e;
  }
  return { submission, file, scripts };
}
