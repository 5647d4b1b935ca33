/**
 * `sweep --status`: each run the Slurm submissions in a results directory planned, as
 *   done     its record is finished;
 *   running  Slurm runs its task, or a live lock holds the run;
 *   queued   its task waits in Slurm's queue (the reason says for what);
 *   failed   its record says failed or interrupted and no task of it is queued or running;
 *   pending  planned, but nothing of it is known yet (not started, or Slurm unreachable);
 * from the run records and locks (the source of truth, on the shared filesystem) plus `squeue`
 * when it answers. A run submitted more than once shows its latest task.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readRecord } from '../results/record.js';
import { lockPath, readLock, staleReason } from '../results/lock.js';
import { readSubmission } from './task.js';
import type { Submission } from './submit.js';

export type RunState = 'pending' | 'queued' | 'running' | 'done' | 'failed';

export interface RunStatus {
  runId: string;
  name: string;
  role: string;
  state: RunState;
  /** `<array job>_<task>` of its latest task, if submitted. */
  jobId: string | null;
  log: string | null;
  /** Slurm's state and reason, when squeue answered for this task. */
  slurm: { state: string; reason: string } | null;
  submission: string;
}

export interface SweepStatus {
  submissions: string[];
  runs: RunStatus[];
  /** False when squeue could not be asked (states from records and locks only). */
  squeue: boolean;
}

/** Submissions under `<results>/slurm/`, oldest first. */
export function listSubmissions(results: string): { file: string; submission: Submission }[] {
  const root = path.join(results, 'slurm');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((d) => path.join(root, d, 'submission.json'))
    .filter((f) => existsSync(f))
    .map((file) => ({ file, submission: readSubmission(file) }))
    .sort((a, b) => a.submission.createdAt.localeCompare(b.submission.createdAt));
}

/** `squeue` lines as task id → state/reason (array tasks one per line); null when unreachable. */
export function squeueStates(): Map<string, { state: string; reason: string }> | null {
  const r = spawnSync('squeue', ['-h', '-r', '-t', 'all', '-o', '%i|%T|%r'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) return null;
  return parseSqueue(r.stdout);
}

export function parseSqueue(text: string): Map<string, { state: string; reason: string }> {
  const out = new Map<string, { state: string; reason: string }>();
  for (const line of text.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    if (id && state) out.set(id, { state, reason: reason ?? '' });
  }
  return out;
}

const QUEUED = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'CONFIGURING', 'RESV_DEL_HOLD', 'SUSPENDED']);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'STAGE_OUT', 'SIGNALING', 'RESIZING']);

export function sweepStatus(results: string, queue: Map<string, { state: string; reason: string }> | null = squeueStates()): SweepStatus {
  const subs = listSubmissions(results);
  const latest = new Map<string, RunStatus>();
  for (const { submission: sub } of subs) {
    for (const layer of sub.layers) {
      if (!layer.jobId) continue;
      layer.runs.forEach((r, i) => latest.set(r.runId, { runId: r.runId, name: r.name, role: r.role, state: 'pending', jobId: `${layer.jobId}_${i}`, log: r.log, slurm: null, submission: sub.id }));
    }
  }
  for (const s of latest.values()) {
    const rec = readRecord(path.join(results, s.runId));
    const lock = readLock(lockPath(results, s.runId));
    const q = s.jobId ? (queue?.get(s.jobId) ?? null) : null;
    s.slurm = q;
    if (rec?.status === 'finished') s.state = 'done';
    else if ((q && RUNNING.has(q.state)) || (lock && !staleReason(lock))) s.state = 'running';
    else if (q && QUEUED.has(q.state)) s.state = 'queued';
    else if (rec?.status === 'failed' || rec?.status === 'interrupted' || (q && !QUEUED.has(q.state) && !RUNNING.has(q.state) && q.state !== 'COMPLETED')) s.state = 'failed';
    if (rec?.slurm && s.state !== 'queued') s.log = rec.slurm.log;
  }
  return { submissions: subs.map((s) => s.submission.id), runs: [...latest.values()], squeue: queue !== null };
}

/** The status as a table for people; log paths relative to `cwd` when they are under it. */
export function formatSweepStatus(st: SweepStatus, cwd?: string): string {
  const shown = (log: string) => (cwd && !path.relative(cwd, log).startsWith('..') ? path.relative(cwd, log) : log);
  if (st.runs.length === 0) return 'no Slurm submissions in this results directory\n';
  const counts = (['done', 'running', 'queued', 'pending', 'failed'] as const).map((k) => `${st.runs.filter((r) => r.state === k).length} ${k}`);
  const rows = st.runs.map((r) => [r.state, r.jobId ?? '-', r.runId, r.slurm ? `${r.slurm.state}${r.slurm.reason && r.slurm.reason !== 'None' ? ` (${r.slurm.reason})` : ''}` : '-', r.log ? shown(r.log) : '-']);
  const head = ['STATE', 'JOB', 'RUN', 'SLURM', 'LOG'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ');
  return [line(head), ...rows.map(line), `${st.runs.length} run(s): ${counts.join(', ')}${st.squeue ? '' : ' (squeue not reachable: states from records and locks only)'}`, ''].join('\n');
}
