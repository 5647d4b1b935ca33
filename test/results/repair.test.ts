/**
 * Records that survive: corrupt run.json skipped and named by every scan, `runs repair` then
 * `run` resumes, a torn epochs.jsonl line does not stop a resume, a failed run keeps its error and
 * log, and `runs show` / `runs diff`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadRecipe } from '../../src/recipe/load.js';
import { runRecipe } from '../../src/lifecycle/index.js';
import { packageRoot } from '../../src/version.js';
import { tempDir, testBackend, writeYaml } from '../foundation/helpers.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const recipeOf = (epochs: number, extra: Record<string, unknown> = {}) => ({
  name: 'repair-tiny',
  dataset: { name: 'synthetic', imbalanceRatio: 4, valPerClass: 2, synthetic: { numClasses: 3, perClass: 24, testPerClass: 4, size: 6 } },
  backbone: { name: 'resnet8' },
  method: { name: 'softmax' },
  train: { epochs, batchSize: 8 },
  eval: { thresholds: { head: 5, tail: 3 } },
  ...extra,
});

function epochNumbers(dir: string): number[] {
  return readFileSync(path.join(dir, 'epochs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).epoch as number);
}

/** Trains `file` through the API and interrupts it once epoch `stopAfter` is logged. */
async function interruptedRun(file: string, out: string, stopAfter: number): Promise<string> {
  const signal = { interrupted: false };
  let dir = '';
  await assert.rejects(
    runRecipe(loadRecipe(file).recipe, {
      output: out,
      backend: testBackend,
      signal,
      reporter: { runStart: (i) => (dir = path.join(out, i.runId)), epochEnd: (l) => void (l.epoch === stopAfter && (signal.interrupted = true)) },
    }),
    (e: unknown) => (e as { exitCode?: number }).exitCode === 130,
  );
  return dir;
}

test('a truncated run.json: ls, gc, table and sweep name it; run refuses with the repair command; repair + run resumes', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'results');
  const file = writeYaml(dir, 'r.yaml', recipeOf(3));
  const runDir = await interruptedRun(file, out, 2);
  const runId = path.basename(runDir);
  const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
  assert.equal(record.status, 'interrupted');
  assert.equal(record.error.exitCode, 130);
  // A torn write of run.json (a full disk, kill -9 during a non-atomic copy) and a torn epoch line.
  writeFileSync(path.join(runDir, 'run.json'), readFileSync(path.join(runDir, 'run.json'), 'utf8').slice(0, 200));
  appendFileSync(path.join(runDir, 'epochs.jsonl'), '{"epoch":3,"lr":0.0');

  const named = new RegExp(`${path.join(runDir, 'run.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*lt-bench runs repair ${runId} --results`);
  for (const args of [['runs', 'ls', '--results', out], ['runs', 'gc', '--results', out, '--dry-run'], ['table', '--results', out]]) {
    const r = cli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, named, args.join(' '));
    assert.doesNotMatch(r.stderr, /SyntaxError|    at /, args.join(' '));
  }
  const sweep = cli(['sweep', file, '--output', out, '--backend', testBackend]);
  assert.match(sweep.stdout, /^FAILED /m);
  assert.match(sweep.stderr, named);
  assert.doesNotMatch(sweep.stderr, /    at /);
  const run = cli(['run', file, '--output', out, '--backend', testBackend]);
  assert.equal(run.code, 1);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, named);

  const repaired = cli(['runs', 'repair', runId, '--results', out]);
  assert.equal(repaired.code, 0, repaired.stderr);
  assert.match(repaired.stdout, /run resumes it at epoch 3 step 2/);
  const aside = readdirSync(runDir).filter((f) => f.startsWith('run.json.corrupt-'));
  assert.equal(aside.length, 1, 'the bad record is kept');
  assert.equal(readFileSync(path.join(runDir, aside[0]), 'utf8').length, 200);
  const rebuilt = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
  assert.equal(rebuilt.status, 'failed');
  assert.equal(rebuilt.runId, runId);
  assert.match(rebuilt.error.message, /rebuilt by lt-bench runs repair/);
  assert.equal(rebuilt.dataset.classCounts.length, 3, 'the split is recomputed');
  assert.equal(cli(['runs', 'repair', runId, '--results', out]).stdout.includes('nothing to repair'), true);

  const resumed = cli(['run', file, '--output', out, '--backend', testBackend, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).status, 'finished');
  assert.deepEqual(epochNumbers(runDir), [1, 2, 3], 'no duplicated or torn epoch lines');
  const log = readFileSync(path.join(runDir, 'log.txt'), 'utf8');
  assert.match(log, /interrupted: InterruptedError: interrupted at epoch 3/);
  assert.match(log, /repair: run\.json was unreadable/);
  assert.match(log, /resuming at epoch 3/);
  assert.match(log, /finished\n$/);
});

test('a failed run keeps its error in run.json and log.txt', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'results');
  const file = writeYaml(dir, 'r.yaml', recipeOf(2));
  let runDir = '';
  await assert.rejects(
    runRecipe(loadRecipe(file).recipe, {
      output: out,
      backend: testBackend,
      reporter: {
        runStart: (i) => (runDir = path.join(out, i.runId)),
        epochEnd: () => {
          throw new Error('disk on fire');
        },
      },
    }),
    /disk on fire/,
  );
  const rec = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
  assert.equal(rec.status, 'failed');
  assert.equal(rec.error.message, 'disk on fire');
  assert.equal(rec.error.name, 'Error');
  assert.equal(rec.error.exitCode, 1);
  const log = readFileSync(path.join(runDir, 'log.txt'), 'utf8');
  assert.match(log, /epoch 1: lr/);
  assert.match(log, /failed: Error: disk on fire/);
  assert.equal(existsSync(path.join(out, `${path.basename(runDir)}.lock`)), false, 'the lock is released on error');
});

test('runs show and runs diff: record, resolved recipe and metrics; the keys that differ', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'results');
  const a = cli(['run', writeYaml(dir, 'a.yaml', recipeOf(1)), '--output', out, '--backend', testBackend, '--json']);
  const b = cli(['run', writeYaml(dir, 'b.yaml', recipeOf(1, { train: { epochs: 1, batchSize: 8, optimizer: { lr: 0.02 } } })), '--output', out, '--backend', testBackend, '--json']);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const ra = JSON.parse(a.stdout);
  const rb = JSON.parse(b.stdout);

  const show = cli(['runs', 'show', ra.runId.slice(0, -4), '--results', out]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, new RegExp(`run ${ra.runId}`));
  assert.match(show.stdout, /status\s+finished/);
  assert.match(show.stdout, new RegExp(`acc\\.last\\s+${ra.metrics.last.top1 % 1 === 0 ? ra.metrics.last.top1 : ra.metrics.last.top1.toFixed(2)}`));
  assert.match(show.stdout, /resolved recipe\n {2}name: repair-tiny/);
  const showJson = JSON.parse(cli(['runs', 'show', ra.runId, '--results', out, '--json']).stdout);
  assert.equal(showJson.record.runId, ra.runId);
  assert.equal(showJson.recipe.train.optimizer.lr, 0.1);
  assert.equal(showJson.epochs.length, 1);

  const diff = JSON.parse(cli(['runs', 'diff', ra.runId, rb.runId, '--results', out, '--json']).stdout);
  assert.deepEqual(diff.recipe, [{ key: 'train.optimizer.lr', a: 0.1, b: 0.02 }]);
  const acc = diff.metrics.find((m: { name: string }) => m.name === 'acc.last');
  assert.deepEqual(acc, { name: 'acc.last', a: ra.metrics.last.top1, b: rb.metrics.last.top1 });
  const text = cli(['runs', 'diff', ra.runId, rb.runId, '--results', out]);
  assert.match(text.stdout, /train\.optimizer\.lr\s+0\.10\s+0\.02/);

  const missing = cli(['runs', 'show', 'nope', '--results', out]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope: no run of that id/);
});

test('epochs.jsonl: a torn last line is left out by readers and dropped by the resume trim', async () => {
  const { readEpochLines, trimEpochLines } = await import('../../src/results/record.js');
  const dir = tempDir();
  const line = (epoch: number) => JSON.stringify({ epoch, lr: 0.1, trainLoss: 1, trainAcc: 50, valTop1: 50, valGroups: { head: 1, middle: 1, tail: 1 }, seconds: 1, imagesPerSec: 1, numTensors: 1 });
  writeFileSync(path.join(dir, 'epochs.jsonl'), `${line(1)}\n${line(2)}\n${line(3).slice(0, 25)}`);
  assert.deepEqual(readEpochLines(dir).map((l) => l.epoch), [1, 2]);
  trimEpochLines(dir, 2);
  assert.equal(readFileSync(path.join(dir, 'epochs.jsonl'), 'utf8'), `${line(1)}\n${line(2)}\n`, 'the torn line is gone, the file ends with a newline');
  appendFileSync(path.join(dir, 'epochs.jsonl'), `${line(3)}\n`);
  assert.deepEqual(readEpochLines(dir).map((l) => l.epoch), [1, 2, 3]);
});
