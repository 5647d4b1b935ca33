/**
 * `sweep --executor slurm` without a cluster: the sbatch scripts, the dependency layers, the
 * sweep-file schema and its errors, the shipped study file, `--status` from records/locks/squeue,
 * a task's requeue on the warning signal (and its cap), and SIGTERM / SIGUSR2 saving `last`.
 * The real cluster is exercised by test/integration/slurm.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dependencyLayers, formatSweepStatus, loadSweepFile, parseSqueue, sbatchScript, submitSlurmSweep, sweepStatus, runSlurmTask, validateSweepFile, finishSlurmSweep } from '../../src/slurm/index.js';
import { planSweep, sweepJobs, expandRecipeArgs, type SweepRun } from '../../src/sweep.js';
import { RecipeError } from '../../src/errors.js';
import { writeRecord } from '../../src/results/record.js';
import { packageRoot } from '../../src/version.js';
import { tempDir, testBackend, writeYaml } from '../foundation/helpers.js';
import { fakeRecord } from '../results/fixtures.js';
import { writeImageNetLtRoot } from '../lifecycle/imagenet-lt-root.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: packageRoot, env: { ...process.env, CI: 'true', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('sbatch script: resources, array throttle, afterok chain, requeue and warning signal, threads from the allocation, exec', () => {
  const text = sbatchScript({
    name: 'ltb-x-L1',
    tasks: 5,
    resources: { partition: 'gpu', account: 'lab', qos: 'high', time: '2-00:00:00', gpusPerTask: 1, cpusPerTask: 8, mem: '64G', constraint: 'a100', maxParallel: 4, signalSeconds: 600, sbatchArgs: ['--exclusive'] },
    afterOk: ['123'],
    output: '/r/slurm/x/logs/layer-1-task-%a.log',
    chdir: '/home/me/study',
    command: ['/usr/bin/node', '/opt/lt bench/bin/lt-bench.js', 'sweep', '--slurm-task', '/r/slurm/x/submission.json', '--layer', '1'],
    taskNotes: ['a (main) m'],
    requeue: true,
  });
  const directives = text.split('\n').filter((l) => l.startsWith('#SBATCH ')).map((l) => l.slice(8));
  assert.deepEqual(directives, [
    '--job-name=ltb-x-L1',
    '--array=0-4%4',
    '--partition=gpu',
    '--account=lab',
    '--qos=high',
    '--time=2-00:00:00',
    '--cpus-per-task=8',
    '--gpus-per-task=1',
    '--mem=64G',
    '--constraint=a100',
    '--output=/r/slurm/x/logs/layer-1-task-%a.log',
    '--open-mode=append',
    '--chdir=/home/me/study',
    '--requeue',
    '--signal=B:USR2@600',
    '--dependency=afterok:123',
    '--kill-on-invalid-dep=yes',
    '--exclusive',
  ]);
  assert.match(text, /^#!\/bin\/bash\n/);
  assert.match(text, /^#   task 0: a \(main\) m$/m);
  assert.match(text, /export LT_TORCH_THREADS="\$\{SLURM_CPUS_PER_TASK:-1\}" LT_WASM_THREADS="\$\{SLURM_CPUS_PER_TASK:-1\}"/);
  assert.match(text, /\nexec \/usr\/bin\/node '\/opt\/lt bench\/bin\/lt-bench.js' sweep --slurm-task \/r\/slurm\/x\/submission.json --layer 1\n$/);
  // The UA/RA job: one job, no GPU, afterany, no requeue.
  const fin = sbatchScript({ name: 'f', tasks: 1, array: false, resources: { partition: 'gpu', gpusPerTask: 1, mem: '64G' }, afterAny: ['1', '2'], output: 'o', chdir: '/', command: ['x'] });
  assert.doesNotMatch(fin, /--array|--gpus|--mem|--requeue|--signal/);
  assert.match(fin, /#SBATCH --dependency=afterany:1:2\n/);
});

function run(runId: string, action: SweepRun['action'], dependsOn: string[] = []): SweepRun {
  return { runId, action, dependsOn, neededBy: [0] } as unknown as SweepRun;
}

test('dependency layers: each run after the runs it reads; finished runs left out and holding nothing back', () => {
  const layers = dependencyLayers([run('s1', 'train'), run('ref', 'resume'), run('s2', 'train', ['s1']), run('s3', 'train', ['s2']), run('old', 'reuse'), run('onOld', 'train', ['old'])]);
  assert.deepEqual(layers.map((l) => l.map((r) => r.runId)), [['s1', 'ref', 'onOld'], ['s2'], ['s3']]);
  assert.deepEqual(dependencyLayers([run('a', 'reuse')]), []);
});

test('sweep file: strict schema; errors name the file, the key path and what was expected (exit 2 through the CLI)', () => {
  const ok = validateSweepFile({ recipes: ['a/*.yaml'], seeds: [0, 1], set: ['train.epochs=1'], executor: { partition: 'gpu', time: '12:00:00', gpusPerTask: 1, sbatchArgs: ['--exclusive'] } }, '/s/study.yaml');
  assert.deepEqual(ok.recipes, ['/s/a/*.yaml'], 'globs relative to the sweep file');
  assert.equal(ok.executor?.name, 'slurm');
  const err = (raw: unknown) => {
    try {
      validateSweepFile(raw, 'study.yaml');
    } catch (e) {
      assert.ok(e instanceof RecipeError);
      return (e as Error).message;
    }
    assert.fail('expected a RecipeError');
  };
  assert.equal(err({ recipes: ['x'], executor: { gpuPerTask: 1 } }), "study.yaml: executor: unknown key 'gpuPerTask'");
  assert.equal(err({ recipes: ['x'], executor: { time: '5h' } }), 'study.yaml: executor.time: expected a Slurm time limit such as "2-00:00:00", "12:00:00" or "90" (minutes)');
  assert.equal(err({ recipes: ['x'], executor: { gpusPerTask: 'one' } }), 'study.yaml: executor.gpusPerTask: expected number, got string');
  assert.equal(err({ recipes: ['x'], seeds: [0, -1] }), 'study.yaml: seeds.1: expected a number ≥ 0');
  assert.equal(err({ seeds: [0] }), 'study.yaml: recipes: required, expected array');
  assert.equal(err({ recipes: ['x'], executor: { name: 'pbs' } }), "study.yaml: executor.name: expected one of 'local', 'slurm', got 'pbs'");
  assert.equal(err({ recipes: ['x'], set: ['epochs'] }), 'study.yaml: set.0: expected key.path=value');

  const dir = tempDir();
  const bad = writeYaml(dir, 'study.yaml', 'recipes: [x.yaml]\nexecutor:\n  mem: lots\n');
  const r = cli(['sweep', '--file', bad, '--dry-run']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `lt-bench: ${bad}: executor.mem: expected a Slurm memory size such as "64G" or "8000M"\n`);
});

test('the shipped ImageNet-LT study file: Tables 5–7 with a GPU per task; --dry-run prints the layered scripts and submits nothing', async () => {
  const file = path.join(packageRoot, 'recipes/imagenet-lt/study.yaml');
  const study = loadSweepFile(file);
  assert.equal(study.executor?.gpusPerTask, 1);
  assert.equal(study.backend, 'torch');
  const files = await expandRecipeArgs(study.recipes);
  // Every Table 5 and Table 7 recipe (their number grows with the registered methods).
  const shipped = (t: string) => readdirSync(path.join(packageRoot, 'recipes/imagenet-lt', t)).filter((f) => f.endsWith('.yaml')).length;
  assert.equal(files.filter((f) => f.includes('/table5/')).length, shipped('table5'));
  assert.ok(shipped('table5') >= 38);
  assert.equal(files.filter((f) => f.includes('/table7/')).length, shipped('table7'));
  assert.ok(shipped('table7') >= 16);
  const dataRoot = (await writeImageNetLtRoot(path.join(tempDir('ltb-study-'), 'imagenet'))).root;
  const results = path.join(tempDir(), 'results');
  // No sbatch on PATH: a dry run must not need it.
  // Group thresholds scaled to the tiny lists (8/4/2/1 images), where ImageNet-LT's 100/20 would
  // leave LFME's many-shot subset empty (a recipe error).
  const tiny = ['--set', 'eval.thresholds.head=6', '--set', 'eval.thresholds.tail=2'];
  const r = cli(['sweep', '--file', file, '--data-root', dataRoot, '--results', results, '--dry-run', ...tiny], { PATH: path.dirname(process.execPath) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(results), false, 'a dry run writes nothing');
  const scripts = r.stdout.split(/^# ---- /m).slice(1);
  assert.ok(scripts.length >= 3, 'at least two layers (stage 1, then stage 2) and the UA/RA job');
  assert.match(scripts[0], /#SBATCH --array=0-\d+%16\n#SBATCH --partition=gpu\n#SBATCH --time=1-00:00:00\n#SBATCH --cpus-per-task=16\n#SBATCH --gpus-per-task=1\n#SBATCH --mem=64G\n/);
  assert.match(scripts[0], /--signal=B:USR2@600/);
  assert.match(scripts[1], /#SBATCH --dependency=afterok:<job id of layer 0>/);
  assert.match(r.stdout, /dry run: \d+ run\(s\) in \d+ job array\(s\) \+ the UA\/RA job, backend torch; nothing submitted\n$/);
});

/** A sweep of two tiny recipes submitted through a stand-in sbatch (prints job ids). */
async function fakeSubmission() {
  const dir = tempDir('ltb-slurm-unit-');
  const fakeBin = path.join(dir, 'bin');
  mkdirSync(fakeBin);
  writeFileSync(path.join(fakeBin, 'sbatch'), '#!/bin/sh\nn=$(cat "$(dirname "$0")/n" 2>/dev/null || echo 70); n=$((n+1)); echo $n > "$(dirname "$0")/n"; echo "$n;cluster"\n');
  chmodSync(path.join(fakeBin, 'sbatch'), 0o755);
  const base = {
    dataset: { name: 'synthetic', imbalanceRatio: 4, valPerClass: 2, synthetic: { numClasses: 3, perClass: 20, testPerClass: 4, size: 6 } },
    backbone: { name: 'resnet8' },
    train: { epochs: 1, batchSize: 8 },
    eval: { thresholds: { head: 10, tail: 3 } },
    reference: 'auto',
  };
  const a = writeYaml(dir, 'r/softmax.yaml', { ...base, name: 'u/softmax', method: { name: 'softmax' } });
  const b = writeYaml(dir, 'r/crt.yaml', { ...base, name: 'u/crt', method: { name: 'softmax' }, stage2: { strategy: 'crt', epochs: 1 } });
  const results = path.join(dir, 'results');
  const plan = planSweep(sweepJobs([a, b], {}), { output: results });
  const oldPath = process.env.PATH;
  process.env.PATH = `${fakeBin}:${oldPath}`;
  try {
    return { dir, results, ...submitSlurmSweep(plan, { results, backend: testBackend, resources: { cpusPerTask: 1 }, chdir: dir }) };
  } finally {
    process.env.PATH = oldPath;
  }
}

test('submission: frozen recipes and scripts on disk, one array per layer chained afterok, the UA/RA job after all', async () => {
  const { submission: sub, file, scripts } = await fakeSubmission();
  assert.ok(file && existsSync(file));
  assert.deepEqual(sub.layers.map((l) => [l.jobId, l.runs.length]), [['71', 2], ['72', 2]], 'layer 0: softmax (shared stage 1) + vanilla reference; layer 1: both stage-2 runs');
  assert.equal(sub.finish?.jobId, '73');
  assert.match(scripts[1].text, /#SBATCH --dependency=afterok:71\n/);
  assert.match(scripts[2].text, /#SBATCH --dependency=afterany:71:72\n/);
  for (const j of sub.jobs) assert.ok(existsSync(j.recipeFile));
  for (const l of sub.layers) for (const r of l.runs) assert.ok(existsSync(r.recipeFile), r.recipeFile);
  assert.deepEqual(JSON.parse(readFileSync(file!, 'utf8')).layers.map((l: { jobId: string }) => l.jobId), ['71', '72']);
});

test('--status: done / running / queued / failed / pending from records, locks and squeue, with job id and log', async () => {
  const { submission: sub, results } = await fakeSubmission();
  const [[a, b], [c, d]] = sub.layers.map((l) => l.runs);
  writeRecord(path.join(results, a.runId), fakeRecord({ runId: a.runId, epochs: 1, method: 'softmax', top1: 50 }));
  writeRecord(path.join(results, b.runId), { ...fakeRecord({ runId: b.runId, epochs: 1, method: 'softmax', top1: 50 }), status: 'failed' });
  const queue = parseSqueue('71_0|COMPLETED|None\n71_1|FAILED|NonZeroExitCode\n72_0|PENDING|Dependency\n');
  const st = sweepStatus(results, queue);
  const state = Object.fromEntries(st.runs.map((r) => [r.runId, [r.state, r.jobId]]));
  assert.deepEqual(state, { [a.runId]: ['done', '71_0'], [b.runId]: ['failed', '71_1'], [c.runId]: ['queued', '72_0'], [d.runId]: ['pending', '72_1'] });
  writeFileSync(path.join(results, `${d.runId}.lock`), JSON.stringify({ runId: d.runId, host: (await import('node:os')).hostname(), pid: process.pid, startedAt: new Date().toISOString(), heartbeatAt: new Date().toISOString(), token: 't' }));
  const text = formatSweepStatus(sweepStatus(results, null));
  assert.match(text, new RegExp(`^running +72_1 +${d.runId} +- +\\S+layer-1-task-1\\.log$`, 'm'), 'a live lock is a running run');
  assert.match(text, /4 run\(s\): 1 done, 1 running, 0 queued, 1 pending, 1 failed \(squeue not reachable: states from records and locks only\)\n$/);
});

test('a task on the warning signal saves last and requeues itself, up to the cap recorded in the run record', async () => {
  const { file, submission: sub } = await fakeSubmission();
  const env = (restarts: number): NodeJS.ProcessEnv => ({ SLURM_ARRAY_JOB_ID: '71', SLURM_ARRAY_TASK_ID: '0', SLURM_JOB_ID: '71', SLURM_CPUS_PER_TASK: '1', SLURM_RESTART_COUNT: String(restarts) });
  const requeued: string[] = [];
  const requeue = (id: string) => (requeued.push(id), { ok: true, message: '' });
  const signal = { interrupted: true, by: 'SIGUSR2' };
  await assert.rejects(runSlurmTask(file!, 0, { signal, env: env(0), requeue }), (e: Error & { exitCode?: number }) => e.exitCode === 130);
  assert.deepEqual(requeued, ['71_0']);
  const dir = path.join(sub.results, sub.layers[0].runs[0].runId);
  assert.ok(existsSync(path.join(dir, 'last')), "'last' saved");
  const rec = JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8'));
  assert.equal(rec.status, 'interrupted');
  assert.deepEqual({ jobId: rec.slurm.jobId, restarts: rec.slurm.restarts, requeueLimit: rec.slurm.requeueLimit, requeued: rec.slurm.requeued.length, log: path.basename(rec.slurm.log) }, { jobId: '71_0', restarts: 0, requeueLimit: 3, requeued: 1, log: 'layer-0-task-0.log' });
  // At the cap: not requeued, exit 1, the record says so.
  await assert.rejects(runSlurmTask(file!, 0, { signal, env: env(3), requeue }), /requeue limit 3 reached, not requeued/);
  assert.deepEqual(requeued, ['71_0']);
  assert.equal(JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')).slurm.requeueLimitReached, true);
  // SIGTERM (scancel, preemption): saved, never requeued.
  await assert.rejects(runSlurmTask(file!, 0, { signal: { interrupted: true, by: 'SIGTERM' }, env: env(0), requeue }), (e: Error & { exitCode?: number }) => e.exitCode === 130);
  assert.deepEqual(requeued, ['71_0']);
  // Then the task runs to the end and UA/RA wait for the references.
  await runSlurmTask(file!, 0, { signal: { interrupted: false }, env: env(1) });
  assert.deepEqual(finishSlurmSweep(file!).written, []);
});

test('SIGTERM and SIGUSR2 save last and exit 130, like Ctrl-C', async () => {
  for (const sig of ['SIGTERM', 'SIGUSR2'] as const) {
    const dir = tempDir();
    const file = writeYaml(dir, 'r.yaml', {
      dataset: { name: 'synthetic', imbalanceRatio: 4, valPerClass: 2, synthetic: { numClasses: 3, perClass: 40, testPerClass: 4, size: 6 } },
      backbone: { name: 'resnet8' },
      method: { name: 'softmax' },
      train: { epochs: 40, batchSize: 4 },
      eval: { thresholds: { head: 5, tail: 3 } },
    });
    const child = spawn(process.execPath, [bin, 'run', file, '--output', dir, '--backend', testBackend], { env: { ...process.env, CI: 'true' } });
    let stderr = '';
    const code: number | null = await new Promise((resolve) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        if (/epoch 1:/.test(stderr) && !child.killed) child.kill(sig);
      });
      child.on('exit', (c) => resolve(c));
    });
    assert.equal(code, 130, `${sig}: ${stderr}`);
    assert.match(stderr, new RegExp(`${sig}: saving last checkpoint`));
    assert.match(stderr, /'last' saved/);
  }
});
