/**
 * `sweep --executor slurm` on a real Slurm cluster: munged + slurmctld + slurmd started on
 * localhost in a temporary directory by scripts/slurm-cluster.sh (private ports, no systemd, no
 * cgroups), the CLI spawned as a user types it.
 *
 *  1. a sweep of three tiny recipes (1 epoch, capped synthetic split, `reference: auto`; one a
 *     stage-2 recipe whose stage-1 run is another recipe's run) is submitted as job arrays;
 *  2. its records, UA/RA and table equal a local sweep's (same backend, one thread);
 *  3. a task cancelled mid-run with scancel saved `last`; the resubmitted sweep resumes it (epoch
 *     lines not duplicated) and finishes;
 *  4. a task whose time limit is shorter than its run saves `last` on the warning signal,
 *     requeues itself and finishes;
 *  5. the cluster and every process it started are stopped by PID, also when a test fails.
 * Plus: a GPU request on this GPU-less node comes back as Slurm's refusal (exit 1, sbatch's
 * message), and --dry-run submits nothing.
 *
 * Skipped when Slurm is not installed, except with CI=true, where that fails the test.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const clusterScript = path.join(repo, 'scripts', 'slurm-cluster.sh');
const SBIN = '/usr/sbin';
const haveSlurm = existsSync(path.join(SBIN, 'slurmctld')) || spawnSync('sh', ['-c', 'command -v slurmctld'], { env: { ...process.env, PATH: `${SBIN}:${process.env.PATH}` } }).status === 0;
const skip = !haveSlurm && process.env.CI !== 'true' ? 'Slurm is not installed (apt-get install slurmctld slurmd slurm-client munge)' : false;

let dir = '';
let env: NodeJS.ProcessEnv = {};
const t0 = Date.now();

const BASE = `dataset:
  name: synthetic
  profile: exponential
  imbalanceRatio: 10
  maxPerClass: 40
  valPerClass: 4
  synthetic: { numClasses: 6, perClass: 60, testPerClass: 10, size: 8, channels: 1 }
backbone: { name: resnet8 }
train: { epochs: 1, batchSize: 16, seed: 0, optimizer: { lr: 0.05 } }
eval: { thresholds: { head: 20, tail: 8 }, batchSize: 32 }
reference: auto
`;
// Long enough (about 8 s an epoch on one thread) to be cancelled and to outlive a time limit.
const LONG = `extends: ../base.yaml
name: slurm/long
reference: none
method: { name: softmax }
dataset:
  maxPerClass: 300
  synthetic: { numClasses: 6, perClass: 320, testPerClass: 10, size: 16, channels: 1 }
`;

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [path.join(repo, 'bin', 'lt-bench.js'), ...args], { cwd: path.join(dir, 'work'), env: { ...env, ...extraEnv }, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function squeue(): Map<string, { state: string; reason: string }> {
  const out = execFileSync('squeue', ['-h', '-r', '-t', 'all', '-o', '%i|%T|%r'], { env, encoding: 'utf8' });
  return new Map(out.split('\n').filter(Boolean).map((l) => { const [id, state, reason] = l.split('|'); return [id, { state, reason }]; }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | null | undefined | false): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; queue: ${JSON.stringify([...squeue()])}`);
    await sleep(1000);
  }
}

function submitted(stdout: string): string[] {
  return [...stdout.matchAll(/job array (\d+)|UA\/RA: job (\d+)/g)].map((m) => m[1] ?? m[2]);
}

/** Every task of these jobs has left the queue's active states. */
function allEnded(ids: string[]): boolean {
  const q = squeue();
  const mine = [...q.entries()].filter(([id]) => ids.includes(id.split('_')[0]));
  return mine.length > 0 && mine.every(([, s]) => !['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING', 'REQUEUED'].includes(s.state));
}

function record(results: string, runId: string): any {
  const f = path.join(results, runId, 'run.json');
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
}

function runDirs(results: string): string[] {
  return readdirSync(results).filter((d) => existsSync(path.join(results, d, 'run.json'))).sort();
}

function epochNumbers(results: string, runId: string): number[] {
  const f = path.join(results, runId, 'epochs.jsonl');
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).epoch) : [];
}

/** Processes whose working directory is under the cluster directory (none may be left). */
function processesUnder(root: string): string[] {
  const left: string[] = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cwd = readlinkSync(`/proc/${p}/cwd`);
      if (cwd === root || cwd.startsWith(`${root}/`)) left.push(`${p} ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
    } catch {
      /* gone */
    }
  }
  return left;
}

function pidsOf(root: string): number[] {
  const files = [path.join(root, 'slurmctld.pid'), path.join(root, 'slurmd.pid'), path.join(root, 'munge', 'munged.pid')];
  return files.filter(existsSync).map((f) => Number(readFileSync(f, 'utf8').trim()));
}

before(() => {
  if (skip) return;
  assert.ok(haveSlurm, 'CI=true: slurmctld must be installed for the Slurm integration test (apt-get install slurmctld slurmd slurm-client munge)');
  dir = mkdtempSync(path.join(os.tmpdir(), 'ltb-slurm-'));
  mkdirSync(path.join(dir, 'work'));
  mkdirSync(path.join(dir, 'recipes', 'sweep'), { recursive: true });
  mkdirSync(path.join(dir, 'recipes', 'long'), { recursive: true });
  writeFileSync(path.join(dir, 'recipes', 'base.yaml'), BASE);
  writeFileSync(path.join(dir, 'recipes', 'sweep', 'softmax.yaml'), 'extends: ../base.yaml\nname: slurm/softmax\nmethod: { name: softmax }\n');
  writeFileSync(path.join(dir, 'recipes', 'sweep', 'balanced-softmax.yaml'), 'extends: ../base.yaml\nname: slurm/balanced-softmax\nmethod: { name: balanced-softmax }\n');
  writeFileSync(path.join(dir, 'recipes', 'sweep', 'softmax-crt.yaml'), 'extends: ../base.yaml\nname: slurm/softmax-crt\nmethod: { name: softmax }\nstage2: { strategy: crt, epochs: 1 }\n');
  writeFileSync(path.join(dir, 'recipes', 'long', 'long.yaml'), LONG);
  const started = spawnSync(clusterScript, ['start', path.join(dir, 'cluster')], { encoding: 'utf8' });
  assert.equal(started.status, 0, `cluster did not start:\n${started.stdout}\n${started.stderr}`);
  env = { ...process.env, PATH: `${SBIN}:${process.env.PATH}`, SLURM_CONF: path.join(dir, 'cluster', 'slurm.conf'), LT_BENCH_TEST_BACKEND: 'wasm' };
  delete env.LT_BENCH_DATA;
});

after(() => {
  if (!dir) return;
  const daemons = pidsOf(path.join(dir, 'cluster'));
  const stopped = spawnSync(clusterScript, ['stop', path.join(dir, 'cluster')], { encoding: 'utf8' });
  const alive = daemons.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  const left = processesUnder(dir);
  process.stderr.write(`slurm integration test: ${Math.round((Date.now() - t0) / 1000)} s\n`);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(stopped.status, 0, `cluster stop failed: ${stopped.stderr}`);
  assert.deepEqual(alive, [], 'daemons left running after stop');
  assert.deepEqual(left, [], 'processes left in the cluster directory after stop');
});

test('steps 1–2: a sweep submitted as job arrays gives the records, UA/RA and table of a local sweep', { skip, timeout: 900_000 }, async () => {
  const recipes = path.join(dir, 'recipes', 'sweep', '*.yaml');
  const results = path.join(dir, 'slurm-results');
  const dry = cli(['sweep', '--executor', 'slurm', '--dry-run', recipes, '--results', results, '--backend', 'wasm']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /#SBATCH --array=0-3\n/);
  assert.match(dry.stdout, /#SBATCH --dependency=afterok:<job id of layer 0>/);
  assert.equal(squeue().size, 0, '--dry-run submitted nothing');
  assert.equal(existsSync(results), false, '--dry-run wrote nothing');

  const sub = cli(['sweep', '--executor', 'slurm', recipes, '--results', results, '--backend', 'wasm', '--cpus-per-task', '1', '--max-parallel', '2']);
  assert.equal(sub.code, 0, sub.stderr);
  // Layer 0: the three recipes' own first runs and their references (4 runs: the vanilla
  // reference shared); layer 1: the two stage-2 runs (the cRT recipe's and its balanced twin's).
  assert.match(sub.stdout, /layer 0: job array \d+, 4 task\(s\)/);
  assert.match(sub.stdout, /layer 1: job array \d+, 2 task\(s\) after \d+/);
  const ids = submitted(sub.stdout);
  assert.equal(ids.length, 3, sub.stdout);
  await waitFor('the sweep to finish', 600_000, () => allEnded(ids));
  const q = squeue();
  for (const [id, s] of q) if (ids.includes(id.split('_')[0])) assert.equal(s.state, 'COMPLETED', `${id}: ${s.state} ${s.reason}`);

  const status = cli(['sweep', '--status', '--results', results]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /6 run\(s\): 6 done, 0 running, 0 queued, 0 pending, 0 failed\n/);
  assert.equal(status.stdout.match(/^done +\d+_\d +\S+ +COMPLETED +\S+layer-\d-task-\d\.log$/gm)?.length, 6, status.stdout);
  writeFileSync(path.join(dir, 'status.txt'), status.stdout);

  const local = path.join(dir, 'local-results');
  const loc = cli(['sweep', recipes, '--results', local, '--backend', 'wasm'], { LT_WASM_THREADS: '1' });
  assert.equal(loc.code, 0, loc.stderr);
  const ranHere = runDirs(local);
  assert.equal(ranHere.length, 6);
  assert.deepEqual(runDirs(results), ranHere, 'the same runs');
  for (const id of ranHere) {
    const a = record(results, id);
    const b = record(local, id);
    assert.equal(a.status, 'finished');
    assert.deepEqual(a.metrics, b.metrics, `${id}: metrics`);
    assert.deepEqual(a.reference, b.reference, `${id}: reference (UA/RA)`);
    assert.equal(a.recipeHash, b.recipeHash);
    assert.equal(a.recipePath, b.recipePath);
    assert.equal(a.environment.backend, 'wasm');
    assert.equal(a.environment.threads, 1, 'threads from SLURM_CPUS_PER_TASK');
    assert.equal(a.slurm.cpusPerTask, 1);
    assert.match(a.slurm.jobId, /^\d+_\d$/);
    assert.ok(existsSync(a.slurm.log), 'the task log named in the record exists');
  }
  const withRefs = ranHere.map((id) => record(results, id)).filter((r) => r.reference);
  assert.equal(withRefs.length, 3, 'UA/RA on the three long-tailed runs');
  for (const r of withRefs) assert.ok(Number.isFinite(r.reference.ua) && Number.isFinite(r.reference.ra));
  const tableA = cli(['table', '--results', results]);
  const tableB = cli(['table', '--results', local]);
  assert.equal(tableA.code, 0, tableA.stderr);
  assert.equal(tableA.stdout, tableB.stdout);
  writeFileSync(path.join(dir, 'table.txt'), tableA.stdout);
  if (process.env.LT_BENCH_SLURM_KEEP) for (const f of ['status.txt', 'table.txt']) writeFileSync(path.join(process.env.LT_BENCH_SLURM_KEEP, f), readFileSync(path.join(dir, f)));

  const again = cli(['sweep', '--executor', 'slurm', recipes, '--results', results, '--backend', 'wasm']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /nothing to submit: all 3 sweep entries are finished/);
});

/** Requeues the time-limited task may use: its run takes about two windows, a slow machine more. */
const REQUEUE_LIMIT = 8;

test('steps 3–4: scancel mid-run then resubmit resumes from last; a time limit saves last, requeues and finishes', { skip, timeout: 1_800_000 }, async () => {
  const long = path.join(dir, 'recipes', 'long', 'long.yaml');
  const results = path.join(dir, 'long-results');
  // Step 4's task first: its time limit (2 min, the warning 30 s + Slurm's 30-s check period
  // before it: at most ~90 s of training) must be shorter than its run on any machine, so the run
  // is sized from this machine's epoch time, measured on one thread as the tasks train: about
  // 300 s of epochs, finished within a few requeues (Slurm checks time limits lazily: on an idle
  // 2-core machine the first warning came about 150 s into a 2-minute limit). Step 3's task runs beside it.
  const probe = path.join(dir, 'probe-results');
  const timed = cli(['run', long, '--set', 'train.epochs=2', '--results', probe, '--backend', 'wasm'], { LT_WASM_THREADS: '1' });
  assert.equal(timed.code, 0, timed.stderr);
  const [probeRun] = runDirs(probe);
  const epochSeconds = Math.min(...readFileSync(path.join(probe, probeRun, 'epochs.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).seconds as number));
  const limitedEpochs = Math.min(800, Math.max(12, Math.ceil(300 / epochSeconds)));
  const limited = cli(['sweep', '--executor', 'slurm', long, '--set', `train.epochs=${limitedEpochs}`, '--results', results, '--backend', 'wasm', '--time', '2', '--signal-seconds', '30', '--requeue-limit', String(REQUEUE_LIMIT)]);
  assert.equal(limited.code, 0, limited.stderr);
  const [limitedJob] = submitted(limited.stdout);
  const cancelled = cli(['sweep', '--executor', 'slurm', long, '--set', 'train.epochs=6', '--results', results, '--backend', 'wasm']);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  const [cancelJob] = submitted(cancelled.stdout);
  const plan = (epochs: number) => JSON.parse(cli(['sweep', long, '--set', `train.epochs=${epochs}`, '--results', results, '--dry-run', '--json']).stdout).entries[0].runId as string;
  const limitedRun = plan(limitedEpochs);
  const cancelRun = plan(6);

  // Step 3: cancel once two epochs are written.
  await waitFor('two epochs of the run to cancel', 300_000, () => epochNumbers(results, cancelRun).length >= 2);
  execFileSync('scancel', [`${cancelJob}_0`], { env });
  await waitFor('the cancelled task to end', 120_000, () => allEnded([cancelJob]));
  assert.equal(squeue().get(`${cancelJob}_0`)?.state, 'CANCELLED');
  const stopped = record(results, cancelRun);
  assert.equal(stopped.status, 'interrupted', 'SIGTERM from scancel saved last and marked the run interrupted');
  assert.ok(existsSync(path.join(results, cancelRun, 'last')), "'last' saved");
  const before = epochNumbers(results, cancelRun);
  assert.match(cli(['sweep', '--status', '--results', results]).stdout, new RegExp(`^failed +${cancelJob}_0 +${cancelRun} +CANCELLED`, 'm'));
  const resub = cli(['sweep', '--executor', 'slurm', long, '--set', 'train.epochs=6', '--results', results, '--backend', 'wasm']);
  assert.equal(resub.code, 0, resub.stderr);
  assert.match(resub.stdout, /layer 0: job array \d+, 1 task\(s\)/);
  const [resubJob] = submitted(resub.stdout);

  // Step 4: the warning signal arrives, the run saves last and the task requeues itself.
  await waitFor('the time-limited task to requeue itself', 400_000, () => {
    const s = squeue().get(`${limitedJob}_0`);
    return s?.state === 'PENDING' && record(results, limitedRun)?.slurm?.requeued?.length === 1;
  });
  const mid = record(results, limitedRun);
  assert.equal(mid.status, 'interrupted');
  assert.ok(existsSync(path.join(results, limitedRun, 'last')), "'last' saved on the warning signal");
  assert.equal(mid.slurm.requeueLimit, REQUEUE_LIMIT);
  const savedEpochs = epochNumbers(results, limitedRun).length;
  assert.ok(savedEpochs < limitedEpochs);
  // Slurm holds a requeued job back (BeginTime, about two minutes); the test releases it sooner
  // (again if a slow machine needs a second requeue), but not within the second of the requeue:
  // slurmd refuses a launch whose credential is no newer than the revoked one ("Job credential
  // revoked"), and the job then fails instead of running.
  let heldSince: number | null = null;
  await waitFor('both runs to finish', 900_000, () => {
    if (squeue().get(`${limitedJob}_0`)?.reason !== 'BeginTime') heldSince = null;
    else if (heldSince === null) heldSince = Date.now();
    else if (Date.now() - heldSince >= 3000) {
      spawnSync('scontrol', ['update', `JobId=${limitedJob}_0`, 'StartTime=now'], { env });
      heldSince = null;
    }
    return allEnded([resubJob, limitedJob]) && record(results, cancelRun)?.status === 'finished' && record(results, limitedRun)?.status === 'finished';
  });
  const resumed = record(results, cancelRun);
  assert.deepEqual(epochNumbers(results, cancelRun), [1, 2, 3, 4, 5, 6], 'epoch lines not duplicated');
  assert.ok(before.length >= 2);
  assert.match(readFileSync(path.join(results, cancelRun, 'log.txt'), 'utf8'), /resuming at epoch \d+ step \d+/);
  assert.deepEqual(resumed.slurm.jobs, [`${cancelJob}_0`, `${resubJob}_0`], 'both tasks named in the record');
  const done = record(results, limitedRun);
  assert.deepEqual(epochNumbers(results, limitedRun), Array.from({ length: limitedEpochs }, (_, i) => i + 1));
  assert.ok(done.slurm.restarts >= 1, 'finished after a restart');
  assert.equal(done.slurm.requeued.length, done.slurm.restarts, 'each restart was a requeue of its own');
  assert.match(readFileSync(done.slurm.log, 'utf8'), new RegExp(`SIGUSR2: saving last checkpoint[\\s\\S]*requeued \\(restart 1 of at most ${REQUEUE_LIMIT}\\)[\\s\\S]*resuming at epoch`));
  assert.equal(squeue().get(`${limitedJob}_0`)?.state, 'COMPLETED');
});

test('a GPU request on a node without GPUs: Slurm refuses it, lt-bench exits 1 with the sbatch message', { skip }, () => {
  const results = path.join(dir, 'gpu-results');
  const before = squeue().size;
  const r = cli(['sweep', '--executor', 'slurm', path.join(dir, 'recipes', 'sweep', 'softmax.yaml'), '--results', results, '--backend', 'wasm', '--gpus-per-task', '1']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^lt-bench: sbatch refused layer-0\.sbatch: sbatch: error: .+$/m);
  assert.equal(squeue().size, before, 'nothing left in the queue');
});
