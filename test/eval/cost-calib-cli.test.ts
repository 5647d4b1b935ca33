/**
 * The commands a user types: a tiny run records cost and calibration; `eval --split test` adds them
 * to a record written before they existed without touching its other fields; `table --columns`
 * and `plot --kind reliability` show them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/version.js';
import type { RunRecord } from '../../src/results/types.js';
import { tempDir, testBackend, writeYaml } from '../foundation/helpers.js';

const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// ResNet-8 on 8×8×1, 4 classes, MACs per image by hand: conv1 64·16·9 = 9,216; stage 1 (8×8):
// 2 × 64·16·144 = 294,912; stage 2 (4×4): 16·32·144 + 16·32·288 = 221,184; stage 3 (2×2):
// 4·64·288 + 4·64·576 = 221,184; fc 64·4 = 256.
const RESNET8_MACS = 9_216 + 294_912 + 221_184 + 221_184 + 256;

test('run → record with cost and calibration; eval backfills an older record; table and plot show them', () => {
  const dir = tempDir();
  const results = path.join(dir, 'results');
  const recipe = writeYaml(dir, 'tiny.yaml', {
    name: 'tiny',
    dataset: { name: 'synthetic', profile: 'exponential', imbalanceRatio: 10, valPerClass: 4, synthetic: { numClasses: 4, perClass: 40, testPerClass: 8, size: 8, channels: 1 }, augment: { padCrop: 1, flip: true } },
    backbone: { name: 'resnet8' },
    method: { name: 'softmax' },
    train: { epochs: 1, batchSize: 16, optimizer: { lr: 0.05 } },
    eval: { thresholds: { head: 20, tail: 8 }, batchSize: 32 },
  });
  const run = cli(['run', recipe, '--results', results, '--backend', testBackend, '--quiet']);
  assert.equal(run.code, 0, run.stderr);
  const runId = readdirSync(results).find((d) => d.startsWith('softmax-'))!;
  const runDir = path.join(results, runId);
  const file = path.join(runDir, 'run.json');
  const fresh = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
  assert.deepEqual(fresh.cost, {
    params: { train: fresh.parameterCount, test: fresh.parameterCount, buffers: fresh.cost!.params.buffers },
    macs: { train: RESNET8_MACS, test: RESNET8_MACS },
    input: [8, 8, 1],
    trainForward: 'model',
  });
  assert.ok(fresh.cost!.params.buffers > 0, 'batch-norm statistics are buffers');
  const last = fresh.metrics.last!;
  assert.equal(last.reliability!.length, 15);
  assert.equal(last.reliability!.reduce((s, b) => s + b.count, 0), last.count);
  // The recorded ECE is the count-weighted gap of the recorded bins, and the bins' accuracy is top-1.
  const ece = last.reliability!.reduce((s, b) => s + (b.count ? (b.count / last.count) * Math.abs(b.accuracy! - b.confidence!) : 0), 0);
  assert.ok(Math.abs(ece - last.ece!) < 1e-9);
  const hits = last.reliability!.reduce((s, b) => s + (b.count ? (b.count * b.accuracy!) / 100 : 0), 0);
  assert.ok(Math.abs((100 * hits) / last.count - last.top1) < 1e-9);
  assert.ok(last.nll! > 0);

  // A record from before: no cost, no calibration fields.
  const old = structuredClone(fresh);
  delete old.cost;
  for (const m of [old.metrics.last!, old.metrics.best!]) {
    delete m.ece;
    delete m.nll;
    delete m.reliability;
  }
  writeFileSync(file, JSON.stringify(old, null, 2));
  const ev = cli(['eval', runDir, '--split', 'test', '--backend', testBackend]);
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout, /ECE \d+\.\d\d%, NLL \d+\.\d{4}/);
  assert.match(ev.stdout, new RegExp(`added to ${runId}/run.json \\(it lacked them\\): cost, metrics\\.last\\.ece, metrics\\.last\\.nll, metrics\\.last\\.reliability`));
  const filled = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
  // Same backend, same checkpoint: the values the run itself recorded; everything else as it was.
  assert.deepEqual(filled.cost, fresh.cost);
  assert.ok(Math.abs(filled.metrics.last!.ece! - last.ece!) < 1e-9);
  assert.ok(Math.abs(filled.metrics.last!.nll! - last.nll!) < 1e-6);
  assert.equal(filled.metrics.best!.ece, undefined, 'only the evaluated checkpoint');
  const { cost: _c, ...filledRest } = filled;
  const { cost: _o, ...oldRest } = old;
  const strip = (r: typeof oldRest) => ({ ...r, metrics: { ...r.metrics, last: { ...r.metrics.last!, ece: undefined, nll: undefined, reliability: undefined } } });
  assert.deepEqual(JSON.parse(JSON.stringify(strip(filledRest))), JSON.parse(JSON.stringify(strip(oldRest))));
  assert.ok(existsSync(path.join(runDir, 'eval-split-test.json')));
  // Nothing left to add: the record is not rewritten.
  const before = readFileSync(file, 'utf8');
  const again = cli(['eval', runDir, '--split', 'test', '--backend', testBackend]);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /added to/);
  assert.equal(readFileSync(file, 'utf8'), before);

  const table = cli(['table', '--results', results, '--table', '5', '--columns', 'ece,nll,params,macs']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /\| Method \| 1 epoch Acc \| 1 epoch UA \| 1 epoch RA \| 1 epoch ECE \(%\) \| 1 epoch NLL \| 1 epoch Params \(M\) \| 1 epoch MACs \(M\) \|/);
  // ECE with 2 decimals, NLL 3, params (M) 3, MACs (M) 2: 746,752 → 0.75.
  const row = `| softmax | ${filled.metrics.last!.top1.toFixed(1)} |  |  | ${filled.metrics.last!.ece!.toFixed(2)} | ${filled.metrics.last!.nll!.toFixed(3)} | ${(filled.cost!.params.test / 1e6).toFixed(3)} | 0.75 |`;
  assert.ok(table.stdout.includes(row), `${row}\nnot in\n${table.stdout}`);
  const metric = cli(['table', '--results', results, '--table', '5', '--metric', 'ece']);
  assert.equal(metric.code, 0, metric.stderr);
  assert.match(metric.stdout, /1 epoch ECE \(%\)/);
  const bad = cli(['table', '--results', results, '--columns', 'ece,flops']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--columns: unknown column 'flops': expected ece, nll, params, macs, params-train, macs-train/);

  const figs = path.join(dir, 'figs');
  const plot = cli(['plot', '--results', results, '--out', figs, '--kind', 'reliability']);
  assert.equal(plot.code, 0, plot.stderr);
  const written = readdirSync(figs).sort();
  assert.deepEqual(written.map((f) => f.replace(/^reliability-.*\./, 'reliability.')), ['reliability.png', 'reliability.svg']);
  assert.match(readFileSync(path.join(figs, written[1]), 'utf8'), /ECE \d+\.\d\d%/);
});
