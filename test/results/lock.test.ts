/** The run lock (src/results/lock.ts): one trainer per run, stale locks taken over, the CLI's answers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireRunLock, lockPath, readLock, RunHeldError, staleReason, tryAcquireRunLock, withRunLock, type HeldLock, type LockInfo } from '../../src/results/lock.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { planRun } from '../../src/lifecycle/index.js';
import { packageRoot } from '../../src/version.js';
import { planSweep, runSweep, sweepJobs } from '../../src/sweep.js';
import { tempDir, testBackend, writeYaml } from '../foundation/helpers.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
const env = { ...process.env, CI: 'true', LT_BENCH_LOCK_POLL_MS: '100' };

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Spawns the CLI; `waitFor(re)` resolves once stderr matches, `done` on exit. */
function cliAsync(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], { env });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    for (const w of waiters.filter((x) => x.re.test(stderr))) w.resolve();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  const waitFor = (re: RegExp) => new Promise<void>((resolve) => (re.test(stderr) ? resolve() : waiters.push({ re, resolve })));
  return { done, waitFor };
}

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

function fakeLock(over: Partial<LockInfo>): LockInfo {
  const now = new Date().toISOString();
  return { runId: 'r', host: os.hostname(), pid: process.pid, startedAt: now, heartbeatAt: now, token: 'feedfeedfeedfeed', ...over };
}

function isHeld(x: HeldLock | LockInfo): x is HeldLock {
  return 'release' in x;
}

const tinyRecipe = (epochs = 2) => ({
  name: 'lock-tiny',
  dataset: { name: 'synthetic', imbalanceRatio: 4, valPerClass: 2, synthetic: { numClasses: 3, perClass: 24, testPerClass: 4, size: 6 } },
  backbone: { name: 'resnet8' },
  method: { name: 'softmax' },
  train: { epochs, batchSize: 8 },
  eval: { thresholds: { head: 5, tail: 3 } },
});

function epochNumbers(dir: string): number[] {
  return readFileSync(path.join(dir, 'epochs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).epoch as number);
}

test('lock: created once with host, pid, start, heartbeat and the Slurm job; a second taker gets the holder', () => {
  const dir = tempDir();
  process.env.SLURM_ARRAY_JOB_ID = '4242';
  process.env.SLURM_ARRAY_TASK_ID = '7';
  let lock: HeldLock | LockInfo;
  try {
    lock = tryAcquireRunLock(dir, 'run-a');
  } finally {
    delete process.env.SLURM_ARRAY_JOB_ID;
    delete process.env.SLURM_ARRAY_TASK_ID;
  }
  assert.ok(isHeld(lock));
  const onDisk = JSON.parse(readFileSync(lockPath(dir, 'run-a'), 'utf8')) as LockInfo;
  assert.equal(onDisk.host, os.hostname());
  assert.equal(onDisk.pid, process.pid);
  assert.equal(onDisk.runId, 'run-a');
  assert.ok(Date.parse(onDisk.startedAt) <= Date.now() && Date.parse(onDisk.heartbeatAt) >= Date.parse(onDisk.startedAt));
  assert.deepEqual(onDisk.slurm, { arrayJobId: '4242', arrayTaskId: '7' });

  const second = tryAcquireRunLock(dir, 'run-a');
  assert.ok(!isHeld(second), 'a live lock is not taken twice');
  assert.equal(second.token, onDisk.token);
  assert.ok(isHeld(tryAcquireRunLock(dir, 'run-b')), 'another run has its own lock');

  lock.release();
  assert.equal(existsSync(lockPath(dir, 'run-a')), false);
  const third = tryAcquireRunLock(dir, 'run-a');
  assert.ok(isHeld(third), 'free again after release');
  third.release();
});

test('lock: stale when the pid is gone on this host, or when another host stopped its heartbeat', () => {
  assert.match(staleReason(fakeLock({ pid: deadPid() }))!, /is gone/);
  assert.equal(staleReason(fakeLock({})), null, 'this process is alive');
  const hourAgo = new Date(Date.now() - 3600_000).toISOString();
  assert.match(staleReason(fakeLock({ host: 'elsewhere', pid: 1, heartbeatAt: hourAgo }), 600_000)!, /no heartbeat from elsewhere/);
  assert.equal(staleReason(fakeLock({ host: 'elsewhere', pid: 1 }), 600_000), null, 'fresh heartbeat on another host');
});

test('lock: a stale lock is taken over; a takeover in progress elsewhere is not raced', () => {
  const dir = tempDir();
  const file = lockPath(dir, 'run-s');
  writeFileSync(file, JSON.stringify(fakeLock({ runId: 'run-s', host: 'elsewhere', heartbeatAt: new Date(Date.now() - 3600_000).toISOString() })));
  // Another trainer holds the takeover guard: this one must not also remove the stale lock.
  writeFileSync(`${file}.takeover`, '1\n');
  const blocked = tryAcquireRunLock(dir, 'run-s', { staleMs: 1000 });
  assert.ok(!isHeld(blocked));
  assert.equal(blocked.host, 'elsewhere');
  assert.equal(existsSync(`${file}.takeover`), true, 'a fresh guard is left alone');

  writeFileSync(file, JSON.stringify(fakeLock({ runId: 'run-s', pid: deadPid() })));
  rmSync(`${file}.takeover`);
  const got = tryAcquireRunLock(dir, 'run-s');
  assert.ok(isHeld(got));
  assert.equal(readLock(file)!.pid, process.pid);
  assert.deepEqual(readdirSync(dir).sort(), ['run-s.lock'], 'no guard or stale file left behind');
  got.release();
});

test('lock: the heartbeat is refreshed while held; withRunLock releases on error; wait polls until free', async () => {
  const dir = tempDir();
  const lock = tryAcquireRunLock(dir, 'run-h', { heartbeatMs: 20 });
  assert.ok(isHeld(lock));
  const first = readLock(lock.file)!.heartbeatAt;
  while (readLock(lock.file)?.heartbeatAt === first) await new Promise((r) => setTimeout(r, 10));
  assert.equal(readLock(lock.file)!.token, lock.info.token, 'the heartbeat keeps the holder');

  await assert.rejects(acquireRunLock(dir, 'run-h'), (e: unknown) => e instanceof RunHeldError && e.exitCode === 1 && /pid \d+ since/.test(e.message));
  const messages: string[] = [];
  const waiting = acquireRunLock(dir, 'run-h', { wait: true, pollMs: 10, log: (m) => messages.push(m) });
  while (messages.length === 0) await new Promise((r) => setTimeout(r, 10));
  assert.match(messages[0], new RegExp(`waiting for run run-h: held by ${os.hostname()} pid ${process.pid}`));
  lock.release();
  (await waiting).release();

  await assert.rejects(withRunLock(dir, 'run-e', {}, async () => {
    assert.equal(existsSync(lockPath(dir, 'run-e')), true);
    throw new Error('boom');
  }), /boom/);
  assert.equal(existsSync(lockPath(dir, 'run-e')), false, 'released on error');
});

test('run: a second trainer of a held run exits 1 naming the holder; with --wait it waits, then trains', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'results');
  const file = writeYaml(dir, 'r.yaml', tinyRecipe());
  const { runId, dir: runDir } = planRun(loadRecipe(file).recipe, { output: out });
  process.env.SLURM_JOB_ID = '991';
  const held = tryAcquireRunLock(out, runId);
  delete process.env.SLURM_JOB_ID;
  assert.ok(isHeld(held));

  const refused = cli(['run', file, '--output', out, '--backend', testBackend]);
  assert.equal(refused.code, 1, refused.stderr);
  const lines = refused.stderr.trim().split('\n');
  assert.equal(lines.length, 1, refused.stderr);
  assert.match(lines[0], new RegExp(`run ${runId} is being trained by ${os.hostname()} pid ${process.pid} since ${held.info.startedAt.replace(/[.]/g, '\\.')} \\(Slurm job 991\\)`));
  assert.equal(existsSync(runDir), false, 'nothing written');

  const waiter = cliAsync(['run', file, '--output', out, '--backend', testBackend, '--wait']);
  await waiter.waitFor(new RegExp(`waiting for run ${runId}: held by ${os.hostname()} pid ${process.pid}`));
  assert.equal(existsSync(runDir), false, 'the waiter writes nothing while it waits');
  held.release();
  const r = await waiter.done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')).status, 'finished');
  assert.deepEqual(epochNumbers(runDir), [1, 2]);
  assert.equal(existsSync(lockPath(out, runId)), false, 'released at the end');
});

test('run: two concurrent trainers of one recipe with --wait: one trains, the other reuses; no duplicated epoch lines', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'results');
  const file = writeYaml(dir, 'r.yaml', tinyRecipe(3));
  const args = ['run', file, '--output', out, '--backend', testBackend, '--wait', '--json'];
  const [a, b] = await Promise.all([cliAsync(args).done, cliAsync(args).done]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const ra = JSON.parse(a.stdout);
  const rb = JSON.parse(b.stdout);
  assert.equal(ra.runId, rb.runId);
  assert.deepEqual(epochNumbers(path.join(out, ra.runId)), [1, 2, 3]);
  assert.deepEqual(readdirSync(out).sort(), [ra.runId]);
  // Exactly one of them trained: the log has one start line with a run header.
  const log = readFileSync(path.join(out, ra.runId, 'log.txt'), 'utf8');
  assert.equal(log.match(/: 3 epochs × /g)?.length, 1, log);
});

test('run: a stale lock left by a dead trainer is taken over', () => {
  const dir = tempDir();
  const out = path.join(dir, 'results');
  const file = writeYaml(dir, 'r.yaml', tinyRecipe());
  const { runId } = planRun(loadRecipe(file).recipe, { output: out });
  mkdirSync(out, { recursive: true });
  writeFileSync(lockPath(out, runId), JSON.stringify(fakeLock({ runId, pid: deadPid() })));
  const r = cli(['run', file, '--output', out, '--backend', testBackend, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).status, 'finished');
  assert.deepEqual(readdirSync(out).sort(), [runId]);
});

test('sweep: a held run is skipped and reported, not failed; a held reference leaves UA/RA to later', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'results');
  const withRef = writeYaml(dir, 'ref.yaml', { ...tinyRecipe(1), name: 'with-ref', reference: 'auto' });
  const plain = writeYaml(dir, 'plain.yaml', { ...tinyRecipe(1), name: 'plain', train: { epochs: 1, batchSize: 8, seed: 5 } });
  const jobs = sweepJobs([withRef, plain], {});
  const plan = planSweep(jobs, { output: out });
  const refId = plan[0].references[0];
  const holdRef = tryAcquireRunLock(out, refId);
  const holdPlain = tryAcquireRunLock(out, plan[1].runId);
  assert.ok(isHeld(holdRef) && isHeld(holdPlain));

  const logs: string[] = [];
  const outcomes = await runSweep(jobs, { output: out, backend: testBackend, log: (l) => logs.push(l) });
  assert.equal(outcomes.filter((o) => o.error).length, 0, 'nothing failed');
  const [main, skipped] = outcomes;
  assert.equal(main.result!.record.status, 'finished');
  assert.deepEqual(main.result!.record.reference, { vanillaBalancedRunId: refId, methodBalancedRunId: refId, ua: null, ra: null, note: `reference run(s) ${refId} held by another trainer; lt-bench table computes UA/RA once they finish` });
  assert.equal(main.result!.heldReferences![0].runId, refId);
  assert.equal(skipped.held!.runId, plan[1].runId);
  assert.ok(logs.some((l) => l.includes(`skipped plain (seed 5): held by ${os.hostname()} pid ${process.pid}`)), logs.join('\n'));
  assert.equal(existsSync(path.join(out, plan[1].runId)), false);

  holdRef.release();
  holdPlain.release();
  const again = await runSweep(jobs, { output: out, backend: testBackend });
  assert.equal(again[0].result!.reused, true);
  assert.equal(typeof again[0].result!.record.reference!.ua, 'number', 'UA filled in once the reference is trained');
  assert.equal(again[1].result!.record.status, 'finished');
});

test('sweep CLI: a held run is listed as held and named at the end; runs ls names the holder', () => {
  const dir = tempDir();
  const out = path.join(dir, 'results');
  const file = writeYaml(dir, 'r.yaml', tinyRecipe(1));
  const { runId, dir: runDir } = planRun(loadRecipe(file).recipe, { output: out });
  // A stopped run (its trainer gone) that another trainer now holds.
  mkdirSync(runDir, { recursive: true });
  writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({ runId, status: 'running', name: 'lock-tiny', method: { name: 'softmax' }, epochs: 1, metrics: { last: null } }));
  const ls0 = cli(['runs', 'ls', '--results', out]);
  assert.match(ls0.stdout, new RegExp(`^stopped\\s+${runId}`, 'm'));
  const held = tryAcquireRunLock(out, runId);
  assert.ok(isHeld(held));
  const ls = cli(['runs', 'ls', '--results', out]);
  assert.match(ls.stdout, new RegExp(`^running\\s+${runId} .* held by ${os.hostname()} pid ${process.pid}`, 'm'));

  const r = cli(['sweep', file, '--output', out, '--backend', testBackend]);
  held.release();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^held\\s+${runId}\\s+lock-tiny seed 0\\s+by ${os.hostname()} pid ${process.pid} since`, 'm'));
  assert.match(r.stderr, new RegExp(`lt-bench: run ${runId} was skipped: held by ${os.hostname()} pid ${process.pid}`));
  assert.doesNotMatch(r.stderr, /failed/);
});
