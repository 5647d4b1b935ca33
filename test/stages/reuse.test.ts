/**
 * End to end on the synthetic source (a ResNet-8, one or two epochs, seconds): stage 1 is trained
 * once and reused by every stage-2 variant; a second stage-2 recipe trains only stage 2; the
 * frozen parts stay frozen; records count stage-2 epochs separately and carry the Table 7 cell.
 * The runs use the wasm backend: the same suite takes ~75 s on tfjs's pure-JS cpu backend, ~6 s here.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { validateRecipe } from '../../src/recipe/load.js';
import { readEpochLines } from '../../src/results/record.js';
import { planRun, runRecipe } from '../../src/lifecycle/index.js';
import type { RunResult } from '../../src/runner.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import type { Reporter } from '../../src/train/reporter.js';

let out: string;

before(async () => {
  await tf.setBackend('cpu');
  out = mkdtempSync(path.join(os.tmpdir(), 'lt-stages-'));
});
after(() => rmSync(out, { recursive: true, force: true }));

function recipe(extra: Record<string, unknown>) {
  return validateRecipe({
    dataset: { name: 'synthetic', imbalanceRatio: 10, valPerClass: 4, synthetic: { numClasses: 4, perClass: 48, testPerClass: 8, size: 8 } },
    eval: { thresholds: { head: 30, tail: 10 } },
    backbone: { name: 'resnet8' },
    method: { name: 'softmax' },
    train: { epochs: 1, batchSize: 16 },
    ...extra,
  });
}

/** Runs a recipe and lists the runs that actually trained (runStart) and the epochs they ran. */
async function run(r: ReturnType<typeof recipe>): Promise<{ result: RunResult; started: string[]; epochs: number }> {
  const started: string[] = [];
  let epochs = 0;
  const reporter: Reporter = { runStart: (i) => started.push(i.runId), epochEnd: () => epochs++ };
  const result = await runRecipe(r, { output: out, backend: 'wasm', reporter });
  return { result, started, epochs };
}

function tensors(dir: string) {
  return loadCheckpoint(path.join(dir, 'last')).tensors;
}

function same(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe('two-stage runs reuse stage 1', () => {
  let crt: RunResult;

  it('a first stage-2 recipe trains stage 1, then stage 2', async () => {
    const { result, started, epochs } = await run(recipe({ method: { name: 'decouple-crt' }, stage2: { epochs: 2 } }));
    crt = result;
    assert.equal(started.length, 2);
    assert.equal(started[0], result.stage1!.record.runId);
    assert.equal(started[1], result.record.runId);
    assert.equal(epochs, 1 + 2);
    assert.equal(result.stage1!.reused, false);
    const rec = result.record;
    assert.equal(rec.status, 'finished');
    assert.equal(rec.method.name, 'decouple-crt');
    assert.equal(rec.epochs, 1, 'top-level epochs stay the stage-1 budget');
    assert.equal(rec.stage2!.epochs, 2);
    assert.equal(rec.stage2!.strategy, 'crt');
    assert.equal(rec.stage2!.stage1RunId, result.stage1!.record.runId);
    assert.equal(rec.stage2!.sampler, 'class-balanced');
    assert.deepEqual(rec.stage2!.trainedParameters, ['fc.weight', 'fc.bias']);
    assert.deepEqual(rec.table7, { stage1Loss: 'softmax', classifier: 'crt' });
    assert.deepEqual([rec.method.params.stage1Loss, rec.method.params.stage1Sampler], ['softmax', 'instance']);
    assert.equal(readEpochLines(result.dir).length, 2, "the stage-2 run's epochs.jsonl holds stage 2 only");
    assert.equal(readEpochLines(result.stage1!.dir).length, 1);
    assert.ok(rec.metrics.last && rec.metrics.last.count === 32);
    assert.match(readFileSync(path.join(result.dir, 'recipe.resolved.yaml'), 'utf8'), /strategy: crt/);

    // Backbone weights frozen, classifier re-initialised and trained; BN statistics move (official model.train()).
    const s1 = tensors(result.stage1!.dir);
    const s2 = tensors(result.dir);
    assert.ok(same(s1.get('conv1.weight')!.data, s2.get('conv1.weight')!.data), 'backbone weights frozen');
    assert.ok(same(s1.get('bn1.weight')!.data, s2.get('bn1.weight')!.data), 'BN affine frozen');
    assert.ok(!same(s1.get('bn1.running_mean')!.data, s2.get('bn1.running_mean')!.data), 'BN running stats updated');
    assert.ok(!same(s1.get('fc.weight')!.data, s2.get('fc.weight')!.data), 'classifier retrained');
  });

  it('a second stage-2 recipe trains only stage 2 (stage 1 found by its hash)', async () => {
    const stage1Lines = readFileSync(path.join(crt.stage1!.dir, 'run.json'), 'utf8');
    const { result, started, epochs } = await run(recipe({ method: { name: 'decouple-lws' }, stage2: { epochs: 1 } }));
    assert.deepEqual(started, [result.record.runId]);
    assert.equal(epochs, 1);
    assert.equal(result.stage1!.reused, true);
    assert.equal(result.stage1!.dir, crt.stage1!.dir);
    assert.equal(readFileSync(path.join(crt.stage1!.dir, 'run.json'), 'utf8'), stage1Lines, 'stage-1 record untouched');
    // LWS: W, b are the stage-1 classifier, only the scales move.
    const s1 = tensors(crt.stage1!.dir);
    const s2 = tensors(result.dir);
    assert.ok(same(s1.get('fc.weight')!.data, s2.get('fc.weight')!.data));
    assert.ok(same(s1.get('fc.bias')!.data, s2.get('fc.bias')!.data));
    assert.ok(!s2.get('fc.scales')!.data.every((v) => v === 1), 'scales learned');
    assert.deepEqual(result.record.stage2!.trainedParameters, ['fc.scales']);
  });

  it('tau-norm and ncm reuse stage 1 and do not train', async () => {
    for (const name of ['decouple-tau-norm', 'decouple-ncm']) {
      const { result, started } = await run(recipe({ method: { name } }));
      assert.deepEqual(started, [], name);
      assert.equal(result.stage1!.reused, true);
      assert.equal(result.record.stage2!.epochs, 0);
      assert.equal(result.record.stage2!.sampler, null);
      assert.ok(result.record.metrics.last, name);
      assert.ok(result.record.metrics.valLast, name);
    }
    const tau = (await run(recipe({ method: { name: 'decouple-tau-norm' } }))).result;
    assert.equal(tau.reused, true);
    assert.equal(tau.record.stage2!.tau!.grid.length, 21);
    assert.ok(tau.record.stage2!.tau!.grid.includes(tau.record.stage2!.tau!.chosen));
    assert.equal(tau.record.method.calibration!.last.split, 'val');
  });

  it('the joint row is the stage-1 run, and the spelled-out form of a preset is the same run', async () => {
    const joint = await run(recipe({ stage2: { strategy: 'joint' } }));
    assert.deepEqual(joint.started, []);
    assert.equal(joint.result.record.runId, crt.stage1!.record.runId);
    const spelled = await run(recipe({ stage2: { strategy: 'crt', epochs: 2 } }));
    assert.deepEqual(spelled.started, []);
    assert.equal(spelled.result.reused, true);
    assert.equal(spelled.result.record.runId, crt.record.runId);
  });

  it("planRun (sweep's plan) names the stage-2 run and sees it finished", () => {
    const p = planRun(recipe({ method: { name: 'decouple-crt' }, stage2: { epochs: 2 } }), { output: out });
    assert.deepEqual([p.runId, p.action], [crt.record.runId, 'reuse']);
    assert.equal(planRun(recipe({ method: { name: 'decouple-crt' }, stage2: { epochs: 3 } }), { output: out }).action, 'train');
    assert.equal(planRun(recipe({ stage2: { strategy: 'joint' } }), { output: out }).runId, crt.stage1!.record.runId);
  });

  it('--force retrains stage 2 into a new run id, never stage 1', async () => {
    const started: string[] = [];
    const result = await runRecipe(recipe({ method: { name: 'decouple-crt' }, stage2: { epochs: 2 } }), { output: out, backend: 'wasm', force: true, reporter: { runStart: (i) => started.push(i.runId) } });
    assert.deepEqual(started, [`${crt.record.runId}-r2`]);
    assert.equal(result.stage1!.reused, true);
  });

  it('backboneMode eval freezes the batch-norm statistics too', async () => {
    const { result } = await run(recipe({ method: { name: 'decouple-crt' }, stage2: { epochs: 1, backboneMode: 'eval' } }));
    const s1 = tensors(result.stage1!.dir);
    const s2 = tensors(result.dir);
    assert.ok(same(s1.get('bn1.running_mean')!.data, s2.get('bn1.running_mean')!.data));
  });

  it('a class-balanced stage 1 is its own run, recorded as such', async () => {
    const { result, started } = await run(recipe({ method: { name: 'decouple-ncm', params: { stage1Sampler: 'CB' } } }));
    assert.equal(started.length, 1, 'stage 1 trains (new sampler), ncm does not');
    assert.notEqual(result.stage1!.record.runId, crt.stage1!.record.runId);
    assert.equal(result.stage1!.record.sampler, 'class-balanced');
    assert.equal(result.record.sampler, 'class-balanced', "a stage-2 record's sampler is stage 1's");
    assert.equal(result.record.stage2!.stage1Sampler, 'class-balanced');
    assert.match(result.record.runId, /^decouple-ncm-softmax-class-balanced-/);
    assert.equal(result.record.table7, undefined, 'Table 7 is the instance-sampled stage 1 only');
    assert.equal(result.record.method.params.stage1Sampler, 'class-balanced');
  });

  it('lws and tau-norm refuse a stage 1 without a linear classifier', async () => {
    await assert.rejects(run(recipe({ method: { name: 'de-confound' }, stage2: { strategy: 'lws', epochs: 1 } })), /needs a stage-1 linear classifier/);
  });

  it('de-confound trains single-stage and saves its moving average', async () => {
    const { result, started } = await run(recipe({ method: { name: 'de-confound' } }));
    assert.equal(started.length, 0, 'reused: the previous test trained this stage 1');
    assert.equal(result.record.method.name, 'de-confound');
    assert.equal(result.record.stage2, undefined);
    const ema = tensors(result.dir).get('fc.embedMean')!;
    assert.deepEqual(ema.shape, [64]);
    assert.ok(ema.data.some((v) => v !== 0));
  });

  it("de-confound with alpha: val records the α it chose on val", async () => {
    const { result } = await run(recipe({ method: { name: 'de-confound', params: { alpha: 'val', alphaGrid: [0, 1, 3] } } }));
    const cal = result.record.method.calibration!.last as { alpha: number; searched: boolean; accuracyByAlpha: number[] };
    assert.equal(cal.searched, true);
    assert.ok([0, 1, 3].includes(cal.alpha), `alpha ${cal.alpha}`);
    assert.equal(cal.accuracyByAlpha.length, 3);
  });
});
