/**
 * sbatch scripts for a sweep's job arrays. Each script pins what a task needs so that nothing
 * edited after submission can drift into a queued task: the submission file it reads (with every
 * run's resolved recipe), the backend, the thread count (SLURM_CPUS_PER_TASK, not the node's
 * cores), and the results directory. The script `exec`s lt-bench so that Slurm's signals
 * (SIGTERM on scancel and preemption, the warning signal before the time limit) reach it.
 */

/** What each task asks of Slurm; undefined fields are left to the cluster's defaults. */
export interface SlurmResources {
  partition?: string;
  account?: string;
  qos?: string;
  /** sbatch --time, e.g. "2-00:00:00". */
  time?: string;
  gpusPerTask?: number;
  cpusPerTask?: number;
  /** sbatch --mem, e.g. "64G". */
  mem?: string;
  constraint?: string;
  /** The %N throttle of every array (sweep --max-parallel). */
  maxParallel?: number;
  /** How many times a task stopped by its time limit requeues itself (default 3). */
  requeueLimit?: number;
  /** Seconds before the time limit that the warning signal (SIGUSR2) arrives (default 300). */
  signalSeconds?: number;
  /** Further sbatch arguments, verbatim. */
  sbatchArgs?: string[];
}

export const DEFAULT_REQUEUE_LIMIT = 3;
export const DEFAULT_SIGNAL_SECONDS = 300;
/** The warning signal: not SIGUSR1, which Node reserves for its inspector. */
export const WARNING_SIGNAL = 'USR2';

/** Single-quotes a word for bash. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The #SBATCH lines of the resources (without array, name, output, dependency). */
export function resourceDirectives(r: SlurmResources): string[] {
  const d: string[] = [];
  if (r.partition) d.push(`--partition=${r.partition}`);
  if (r.account) d.push(`--account=${r.account}`);
  if (r.qos) d.push(`--qos=${r.qos}`);
  if (r.time) d.push(`--time=${r.time}`);
  d.push(`--cpus-per-task=${r.cpusPerTask ?? 1}`);
  if (r.gpusPerTask) d.push(`--gpus-per-task=${r.gpusPerTask}`);
  if (r.mem) d.push(`--mem=${r.mem}`);
  if (r.constraint) d.push(`--constraint=${r.constraint}`);
  return d;
}

export interface ArrayScript {
  /** Job name (squeue's NAME column). */
  name: string;
  /** Tasks 0..tasks-1. */
  tasks: number;
  resources: SlurmResources;
  /** Job ids this array waits for (afterok), or placeholders in a dry run. */
  afterOk?: string[];
  /** Job ids this job waits for whatever their outcome (the UA/RA job). */
  afterAny?: string[];
  /** Output file pattern (sbatch %A/%a). */
  output: string;
  /** Working directory of the tasks. */
  chdir: string;
  /** The command each task execs. */
  command: string[];
  /** One comment line per task: which run it trains. */
  taskNotes?: string[];
  /** A job array (one task per run) or a single job. */
  array?: boolean;
  /** Ask for the warning signal and allow requeueing (training tasks; not the UA/RA job). */
  requeue?: boolean;
}

/** The text of an sbatch script. */
export function sbatchScript(s: ArrayScript): string {
  const r = s.resources;
  const lines = ['#!/bin/bash', `# lt-bench sweep --executor slurm: ${s.name} (written at submission; do not edit)`];
  for (const [i, note] of (s.taskNotes ?? []).entries()) lines.push(`#   task ${i}: ${note}`);
  const d = [`--job-name=${s.name}`];
  if (s.array !== false) d.push(`--array=0-${s.tasks - 1}${r.maxParallel ? `%${r.maxParallel}` : ''}`);
  d.push(...resourceDirectives(s.array === false ? { ...r, gpusPerTask: undefined, mem: undefined, constraint: undefined, time: '00:10:00', cpusPerTask: 1 } : r));
  d.push(`--output=${s.output}`, '--open-mode=append', `--chdir=${s.chdir}`);
  if (s.requeue) d.push('--requeue', `--signal=B:${WARNING_SIGNAL}@${r.signalSeconds ?? DEFAULT_SIGNAL_SECONDS}`);
  const deps = [...(s.afterOk?.length ? [`afterok:${s.afterOk.join(':')}`] : []), ...(s.afterAny?.length ? [`afterany:${s.afterAny.join(':')}`] : [])];
  if (deps.length) d.push(`--dependency=${deps.join(',')}`, '--kill-on-invalid-dep=yes');
  for (const a of r.sbatchArgs ?? []) d.push(a);
  lines.push(...d.map((x) => `#SBATCH ${x}`));
  lines.push(
    'set -eu',
    '# Threads from the allocation, not the node: the backend reads these when it starts.',
    'export LT_TORCH_THREADS="${SLURM_CPUS_PER_TASK:-1}" LT_WASM_THREADS="${SLURM_CPUS_PER_TASK:-1}" OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"',
    '# exec: lt-bench itself receives SIGTERM and the warning signal, and saves `last`.',
    `exec ${s.command.map(shellQuote).join(' ')}`,
    '',
  );
  return lines.join('\n');
}
