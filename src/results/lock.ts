/**
 * One trainer per run: `<results>/<run-id>.lock`, beside the run directory so that it can be taken
 * before that directory exists. It is created with O_EXCL (exactly one creator wins), holds who
 * trains the run (host, pid, start time, heartbeat, the Slurm job) and is removed when the run
 * ends, fails or is interrupted.
 *
 * A lock is stale when its holder cannot still be training: on this host, its pid is gone (or it
 * started before this machine booted: a reused pid); on another host (a shared filesystem), its
 * heartbeat, refreshed by the holder every `heartbeatMs`, is older than `staleMs`. A stale lock is
 * taken over under a short-lived `<run-id>.lock.takeover` (also O_EXCL), so two trainers that both
 * find it stale cannot both win: only the takeover holder removes the stale lock, and only after
 * checking that it is still the one it judged stale; the new lock is then created with O_EXCL.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { InterruptedError, LtBenchError } from '../errors.js';
import { writeJsonAtomic } from './atomic.js';

export interface LockInfo {
  runId: string;
  host: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
  /** Distinguishes this holder from a later one with the same host and pid. */
  token: string;
  /** The scheduler job, when run under Slurm. */
  slurm?: { jobId?: string; arrayJobId?: string; arrayTaskId?: string };
}

export interface LockOptions {
  /** Wait for the holder to finish instead of failing. */
  wait?: boolean;
  /** Told once when waiting starts (stderr in the CLI). */
  log?: (message: string) => void;
  signal?: { interrupted: boolean };
  /** Poll interval while waiting (default 5 s; LT_BENCH_LOCK_POLL_MS). */
  pollMs?: number;
  /** Heartbeat refresh interval (default 30 s; LT_BENCH_LOCK_HEARTBEAT_MS). */
  heartbeatMs?: number;
  /** Another host's lock is stale past this heartbeat age (default 10 min; LT_BENCH_LOCK_STALE_MS). */
  staleMs?: number;
}

/** Another trainer holds the run: exit 1, naming it. */
export class RunHeldError extends LtBenchError {
  constructor(readonly runId: string, readonly holder: LockInfo) {
    super(`run ${runId} is being trained by ${describeHolder(holder)}; rerun with --wait to wait for it`, 1);
  }
}

export function lockPath(resultsDir: string, runId: string): string {
  return path.join(resultsDir, `${runId}.lock`);
}

/** "host pid 123 since 2026-… (Slurm job 45_3)". */
export function describeHolder(h: LockInfo): string {
  const job = h.slurm?.arrayJobId ? `${h.slurm.arrayJobId}_${h.slurm.arrayTaskId ?? '?'}` : h.slurm?.jobId;
  return `${h.host} pid ${h.pid} since ${h.startedAt}${job ? ` (Slurm job ${job})` : ''}`;
}

function envMs(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

function slurmJob(): LockInfo['slurm'] {
  const e = process.env;
  if (!e.SLURM_JOB_ID && !e.SLURM_ARRAY_JOB_ID) return undefined;
  return {
    ...(e.SLURM_JOB_ID ? { jobId: e.SLURM_JOB_ID } : {}),
    ...(e.SLURM_ARRAY_JOB_ID ? { arrayJobId: e.SLURM_ARRAY_JOB_ID } : {}),
    ...(e.SLURM_ARRAY_TASK_ID ? { arrayTaskId: e.SLURM_ARRAY_TASK_ID } : {}),
  };
}

/** The lock's holder, or null when there is none (or it is unreadable: a holder dying mid-create). */
export function readLock(file: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Why a lock is stale, or null while its holder may still be training. */
export function staleReason(info: LockInfo, staleMs = envMs('LT_BENCH_LOCK_STALE_MS', 600_000), now = Date.now()): string | null {
  if (info.host === os.hostname()) {
    if (!pidAlive(info.pid)) return `pid ${info.pid} is gone`;
    const bootedAt = now - os.uptime() * 1000;
    if (Date.parse(info.startedAt) < bootedAt - 60_000) return `taken before this machine booted`;
    return null;
  }
  const age = now - Date.parse(info.heartbeatAt);
  return age > staleMs ? `no heartbeat from ${info.host} for ${Math.round(age / 1000)} s` : null;
}

/** O_EXCL create: true when this process made the file. */
function createExclusive(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, text);
  } catch (e) {
    closeSync(fd);
    rmSync(file, { force: true });
    throw e;
  }
  closeSync(fd);
  return true;
}

/**
 * Removes a stale lock under the takeover lock; true when it did (or the lock had gone).
 * The takeover lock is held for a few file operations; one older than a minute was left by a
 * process that died in between and is removed.
 */
function takeOver(file: string, staleToken: string | null): boolean {
  const guard = `${file}.takeover`;
  if (!createExclusive(guard, `${process.pid}\n`)) {
    try {
      if (Date.now() - statSync(guard).mtimeMs > 60_000) rmSync(guard, { force: true });
    } catch {
      /* gone meanwhile */
    }
    return false;
  }
  try {
    if (!existsSync(file)) return true;
    const now = readLock(file);
    // Someone else took it over and holds it (or, for an unreadable lock, wrote it meanwhile).
    if ((now?.token ?? null) !== staleToken) return false;
    rmSync(file, { force: true });
    return true;
  } finally {
    rmSync(guard, { force: true });
  }
}

export interface HeldLock {
  readonly info: LockInfo;
  readonly file: string;
  release(): void;
}

/** Takes the run's lock once: the held lock, or the current holder when another trainer has it. */
export function tryAcquireRunLock(resultsDir: string, runId: string, opts: Pick<LockOptions, 'heartbeatMs' | 'staleMs'> = {}): HeldLock | LockInfo {
  mkdirSync(resultsDir, { recursive: true });
  const file = lockPath(resultsDir, runId);
  const now = new Date().toISOString();
  const info: LockInfo = { runId, host: os.hostname(), pid: process.pid, startedAt: now, heartbeatAt: now, token: randomBytes(8).toString('hex'), ...(slurmJob() ? { slurm: slurmJob() } : {}) };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(file, `${JSON.stringify(info, null, 2)}\n`)) return hold(file, info, opts.heartbeatMs ?? envMs('LT_BENCH_LOCK_HEARTBEAT_MS', 30_000));
    const holder = readLock(file);
    if (!holder) {
      // Created but not yet written by its holder, or half-written by one that died: judge by age.
      try {
        if (Date.now() - statSync(file).mtimeMs < 10_000) return unknownHolder(runId);
      } catch {
        continue;
      }
      takeOver(file, null);
      continue;
    }
    if (holder.token === info.token) continue;
    if (!staleReason(holder, opts.staleMs)) return holder;
    takeOver(file, holder.token);
  }
  return readLock(file) ?? unknownHolder(runId);
}

function unknownHolder(runId: string): LockInfo {
  return { runId, host: '?', pid: 0, startedAt: '?', heartbeatAt: '?', token: '' };
}

function hold(file: string, info: LockInfo, heartbeatMs: number): HeldLock {
  let released = false;
  // The heartbeat lets trainers on other hosts tell a live holder from a dead one. It rewrites
  // the lock atomically and stops if the lock is no longer ours (taken over after a long stall).
  const timer = setInterval(() => {
    if (readLock(file)?.token !== info.token) {
      clearInterval(timer);
      return;
    }
    try {
      writeJsonAtomic(file, { ...info, heartbeatAt: new Date().toISOString() });
    } catch {
      /* a full disk: the next beat tries again */
    }
  }, heartbeatMs);
  timer.unref();
  const onExit = () => release();
  process.once('exit', onExit);
  function release(): void {
    if (released) return;
    released = true;
    clearInterval(timer);
    process.off('exit', onExit);
    if (readLock(file)?.token === info.token) rmSync(file, { force: true });
  }
  return { info, file, release };
}

function isHeld(x: HeldLock | LockInfo): x is HeldLock {
  return typeof (x as HeldLock).release === 'function';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the run's lock, waiting for it with `wait`, or throws RunHeldError naming the holder. */
export async function acquireRunLock(resultsDir: string, runId: string, opts: LockOptions = {}): Promise<HeldLock> {
  const pollMs = opts.pollMs ?? envMs('LT_BENCH_LOCK_POLL_MS', 5_000);
  let told = false;
  for (;;) {
    const got = tryAcquireRunLock(resultsDir, runId, opts);
    if (isHeld(got)) return got;
    if (!opts.wait) throw new RunHeldError(runId, got);
    if (opts.signal?.interrupted) throw new InterruptedError(`interrupted while waiting for run ${runId}`);
    if (!told) {
      opts.log?.(`waiting for run ${runId}: held by ${describeHolder(got)}`);
      told = true;
    }
    await sleep(pollMs);
  }
}

/** Runs `fn` holding the run's lock; releases it however `fn` ends. */
export async function withRunLock<T>(resultsDir: string, runId: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireRunLock(resultsDir, runId, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
