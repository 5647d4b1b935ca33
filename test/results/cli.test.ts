import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { register as registerTable } from '../../src/cli/table.js';
import { register as registerCheck } from '../../src/cli/check.js';
import { register as registerPlot } from '../../src/cli/plot.js';
import { fakeRecord } from './fixtures.js';
import { LtBenchError } from '../../src/errors.js';

async function resultsDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lt-cli-'));
  const recs = [
    fakeRecord({ runId: 'v', method: 'softmax', family: 'baseline', epochs: 4, balanced: true, top1: 80 }),
    fakeRecord({ runId: 's', method: 'softmax', family: 'baseline', epochs: 4, top1: 60, groups: [70, 50, 20], vanilla: 'v' }),
  ];
  for (const r of recs) {
    await mkdir(join(dir, r.runId));
    await writeFile(join(dir, r.runId, 'run.json'), JSON.stringify(r));
  }
  const line = (epoch: number) => JSON.stringify({ epoch, lr: 0.1, trainLoss: 2 / epoch, trainAcc: 0, valTop1: 20 * epoch, valGroups: { head: null, middle: null, tail: null }, seconds: 1, imagesPerSec: 1, numTensors: 1 });
  await writeFile(join(dir, 's', 'epochs.jsonl'), [1, 2, 3, 4].map(line).join('\n') + '\n');
  return dir;
}

/** Runs a command in-process, capturing stdout; the exit code is that of the LtBenchError it throws (as main returns). */
async function run(args: string[]): Promise<{ out: string; code: number | undefined }> {
  const program = new Command().exitOverride();
  registerTable(program);
  registerCheck(program);
  registerPlot(program);
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => (chunks.push(String(s)), true)) as typeof process.stdout.write;
  let code: number | undefined;
  try {
    await program.parseAsync(['node', 'lt-bench', ...args]);
  } catch (e) {
    if (!(e instanceof LtBenchError)) throw e;
    code = e.exitCode;
  } finally {
    process.stdout.write = write;
  }
  return { out: chunks.join(''), code };
}

test('lt-bench table/check/plot over a results directory', async () => {
  const dir = await resultsDir();
  try {
    const csv = await run(['table', '--table', '5', '--format', 'csv', '--results', dir]);
    assert.equal(csv.out.split('\n')[3], '5,fashion-lt,resnet8,exponential,20,last,baseline,softmax,4 epochs,RA,75,,1,,,,s v');
    // --epochs keeps one budget: the 4-epoch records fill the table, another budget leaves nothing.
    assert.deepEqual((await run(['table', '--table', '5', '--format', 'csv', '--results', dir, '--epochs', '4'])).out, csv.out);
    assert.equal((await run(['table', '--table', '5', '--format', 'csv', '--results', dir, '--epochs', '90'])).out.trim().split('\n').length, 1);

    await writeFile(join(dir, 'baseline.yaml'), 'runs:\n  test/softmax-e4:\n    top1: 62\n    ra: 75\n');
    const check = await run(['check', '--baseline', join(dir, 'baseline.yaml'), '--results', dir]);
    assert.equal(check.code, 1);
    assert.match(check.out, /test\/softmax-e4 {2}top1 {7}62\.00 {5}60\.00 {2}-2\.00 {2}1\.00 {2}1 {2}REGRESSED/);

    const figs = join(dir, 'figs');
    const plot = await run(['plot', '--results', dir, '--out', figs, '--no-png']);
    assert.deepEqual((await readdir(figs)).sort(), ['curves-fashion-lt-resnet8-4-epochs.svg', 'fig4-fashion-lt-resnet8-exponential-20.svg', 'per-class-fashion-lt-resnet8-4-epochs.svg']);
    assert.equal(plot.out.trim().split('\n').length, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('lt-bench check --update --seeds writes the spread baseline; --exact exits 0 / 1 (mismatch) / 2 (not comparable)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lt-cli-seeds-'));
  try {
    const top1 = [80, 82, 84, 86, 88];
    for (const [seed, t] of top1.entries()) {
      const r = fakeRecord({ runId: `s${seed}`, method: 'softmax', epochs: 4, seed, top1: t, groups: [90, 50, 20] });
      const rec = { ...r, environment: { ...r.environment, backend: 'wasm', threads: 2 } };
      await mkdir(join(dir, rec.runId));
      await writeFile(join(dir, rec.runId, 'run.json'), JSON.stringify(rec));
    }
    const baseline = join(dir, 'baseline.yaml');
    const update = await run(['check', '--update', '--seeds', '0,1,2,3,4', '--metrics', 'top1', '--results', dir, '--baseline', baseline]);
    assert.equal(update.code, undefined);
    const text = await readFile(baseline, 'utf8');
    // σ = √10 → 3σ = 9.4868… → 9.49; expected = seed 0's 80.
    assert.match(text, /^# {3}lt-bench check --update --seeds 0,1,2,3,4 --metrics top1 --results .* --baseline .*baseline\.yaml$/m);
    assert.match(text, /top1:\n {6}expected: 80\n {6}tolerance: 9\.49\n {6}direction: higher\n {6}values: \[80, 82, 84, 86, 88\]\n {6}mean: 84\n {6}std: 3\.16\n/);
    assert.match(text, /^environment:\n {2}backend: wasm\n {2}threads: 2\n/m);

    // The directory holds all five seeds: the tolerance check averages them (84 ≥ 80 - 9.49); --exact takes seed 0.
    assert.equal((await run(['check', '--baseline', baseline, '--results', dir])).code, undefined);
    const exact = await run(['check', '--exact', '--baseline', baseline, '--results', dir]);
    assert.equal(exact.code, undefined);
    assert.match(exact.out, /^EXACT: 1 values reproduced exactly$/m);

    // Seed 0 one hundredth lower: exact fails (1), the tolerance check still passes.
    const s0 = JSON.parse(await readFile(join(dir, 's0', 'run.json'), 'utf8'));
    s0.metrics.last.top1 = 79.99;
    await writeFile(join(dir, 's0', 'run.json'), JSON.stringify(s0));
    assert.equal((await run(['check', '--exact', '--baseline', baseline, '--results', dir])).code, 1);
    assert.equal((await run(['check', '--baseline', baseline, '--results', dir])).code, undefined);

    // Another thread count: not comparable (2), named.
    s0.environment.threads = 8;
    await writeFile(join(dir, 's0', 'run.json'), JSON.stringify(s0));
    const other = await run(['check', '--exact', '--baseline', baseline, '--results', dir]);
    assert.equal(other.code, 2);
    assert.match(other.out, /^not comparable: test\/softmax-e4 \(run s0\) ran on wasm with 8 threads; the baseline on wasm with 2 threads$/m);

    // --seeds without --update is a usage error; a seed without records fails the update (1).
    assert.equal((await run(['check', '--seeds', '0,1', '--baseline', baseline, '--results', dir])).code, 2);
    assert.equal((await run(['check', '--update', '--seeds', '0,7', '--results', dir, '--baseline', join(dir, 'b2.yaml')])).code, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
