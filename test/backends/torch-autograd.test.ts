/**
 * Native autograd on the `torch` backend (src/backends/torch/autograd.ts) against tfjs's tape, both
 * on torch (the per-tensor gradients of every backbone and loss: torch-autograd-parity.test.ts):
 * the engine choice, batch-norm buffers are detached (running statistics
 * after two steps equal the tape's), memory stays flat over native steps, and a kernel forwarded to
 * the cpu backend makes the trainer fall back to the tape and say why. Skipped, with the reason,
 * when the addon is not built (`npm run build:torch`).
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/rng.js';
import { loadTorchBackend, torchBackendStatus, TorchBackend } from '../../src/backends/torch/index.js';
import { autogradChoice, nativeVariableGrads, NativeGraphCutError, type AutogradChoice } from '../../src/backends/torch/autograd.js';
import { LtModel } from '../../src/models/model.js';
import { accumulatedStep } from '../../src/train/trainer.js';
import { batchNormRunningUpdate } from '../../src/backends/batch-norm-train.js';
import { methodNames } from '../../src/methods/registry.js';
import { Sgd } from '../../src/train/sgd.js';
import { DynamicLossScaler } from '../../src/train/loss-scaler.js';
import type { MethodInstance } from '../../src/methods/types.js';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runRecipe } from '../../src/lifecycle/index.js';
import { packageRoot } from '../../src/version.js';
import { tempDir, tinyRecipe } from '../foundation/helpers.js';

const status = torchBackendStatus();
const skip = status.usable ? false : `torch backend unusable: ${status.reason}`;

function randn(seed: number, n: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

function norm(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s);
}

type Mem = tf.MemoryInfo & { nativeTensors: number };

describe('native autograd on torch', { skip }, () => {
  before(async () => {
    await loadTorchBackend({ threads: 2, device: 'cpu' });
  });

  test('the engine choice: native by default on torch, LT_TORCH_AUTOGRAD overrides, bad values refused', () => {
    assert.equal(autogradChoice({}).engine, 'native');
    assert.deepEqual(autogradChoice({ LT_TORCH_AUTOGRAD: 'tape' }), { engine: 'tape', reason: 'LT_TORCH_AUTOGRAD=tape' });
    assert.throws(() => autogradChoice({ LT_TORCH_AUTOGRAD: 'fast' }), /LT_TORCH_AUTOGRAD: 'fast' is not one of native, tape/);
  });

  const softmax: MethodInstance = {
    loss: (out, labels) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.cast(labels, 'int32'), 5), out.logits) as tf.Scalar,
  };
  // 16×16, batch 8: on smaller batches resnet8's last stage (2×2) can leave a batch-norm channel
  // constant, where a ReLU sits exactly at 0 and 1e-7 differences between the engines flip it.
  const batchOf = (seed: number, n = 8, hw = 16) => ({
    x: randn(seed, n * hw * hw * 3),
    y: Int32Array.from({ length: n }, (_, i) => i % 5),
    shape: [n, hw, hw, 3] as [number, number, number, number],
  });
  /** Two trainer steps (momentum, weight decay, batch norm) of resnet8 with one engine. */
  async function twoSteps(engine: 'native' | 'tape', accumulate = 1): Promise<{ values: Map<string, Float32Array>; autograd: AutogradChoice }> {
    const model = new LtModel({ backbone: 'resnet8', head: 'linear', inChannels: 3, numClasses: 5, seed: 4 });
    const sgd = new Sgd({ momentum: 0.9, nesterov: false, weightDecay: 5e-4 });
    const autograd: AutogradChoice = { engine, reason: 'test' };
    for (let s = 0; s < 2; s++) {
      const r = accumulatedStep(model, softmax, sgd, model.store.optimisable(), batchOf(30 + s), accumulate, 0.1, { epoch: 0, epochs: 1, rng: new Rng(s), step: s }, undefined, undefined, autograd);
      await r.loss;
      await r.correct;
    }
    const values = new Map([...model.store.all()].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
    sgd.dispose();
    model.dispose();
    return { values, autograd };
  }
  function assertValuesClose(a: Map<string, Float32Array>, b: Map<string, Float32Array>, filter: (k: string) => boolean, what: string): number {
    let n = 0;
    for (const [k, ref] of b) {
      if (!filter(k)) continue;
      n++;
      const got = a.get(k)!;
      const d = got.map((v, i) => v - ref[i]);
      assert.ok(norm(d) <= 1e-4 * norm(ref) + 1e-6, `${what} ${k}: ‖Δ‖ = ${norm(d)}, ‖ref‖ = ${norm(ref)}`);
    }
    return n;
  }

  test('buffers are detached: after two native trainer steps the running statistics (and parameters) equal the tape path\'s', async () => {
    for (const accumulate of [1, 2]) {
      const tape = await twoSteps('tape', accumulate);
      const native = await twoSteps('native', accumulate);
      assert.equal(native.autograd.engine, 'native', 'no fallback');
      const buffers = assertValuesClose(native.values, tape.values, (k) => /running/.test(k), `accumulate ${accumulate}: buffer`);
      assert.ok(buffers > 0, 'resnet8 has running statistics');
      // the running statistics moved from their initial values (the updates were applied)
      assert.ok([...native.values].some(([k, v]) => /running_?[mM]ean/.test(k) && v.some((e) => Math.abs(e) > 1e-4)), 'running means updated');
      assertValuesClose(native.values, tape.values, (k) => !/running/.test(k), `accumulate ${accumulate}: parameter`);
    }
  });

  test('the running-statistics kernel equals the tfjs ops it replaces, bit for bit, and carries no gradient', () => {
    const t = (seed: number, scale = 1) => tf.tensor1d(randn(seed, 6, scale));
    const [rm, rv, mean, variance] = [t(70), tf.abs(t(71)) as tf.Tensor1D, t(72), tf.abs(t(73)) as tf.Tensor1D];
    const fused = batchNormRunningUpdate(rm, rv, mean, variance, 0.1, 37);
    assert.equal(fused.detached, true, 'the torch kernel ran');
    const ref = { mean: tf.add(tf.mul(rm, 1 - 0.1), tf.mul(mean, 0.1)), variance: tf.add(tf.mul(rv, 1 - 0.1), tf.mul(variance, (0.1 * 37) / 36)) };
    assert.deepEqual(Array.from(fused.mean.dataSync()), Array.from(ref.mean.dataSync()));
    assert.deepEqual(Array.from(fused.variance.dataSync()), Array.from(ref.variance.dataSync()));
    const b = tf.backend() as TorchBackend;
    const w = tf.variable(t(74), true, 'autograd-running-w');
    const r = nativeVariableGrads(() => {
      const m = tf.mul(mean, w) as tf.Tensor1D;
      const next = batchNormRunningUpdate(rm, rv, m, variance, 0.1, 37);
      assert.equal(b.requiresGrad(next.mean), false, 'detached from the graph');
      return tf.sum(m) as tf.Scalar;
    }, [w]);
    tf.dispose([rm, rv, mean, variance, fused.mean, fused.variance, ref.mean, ref.variance, r.value, ...Object.values(r.grads), w]);
  });

  test('loss scaling on the native path: a clean scaled step equals the unscaled one', async () => {
    const step = async (scaler?: DynamicLossScaler) => {
      const model = new LtModel({ backbone: 'resnet8', head: 'linear', inChannels: 3, numClasses: 5, seed: 4 });
      const sgd = new Sgd({ momentum: 0.9, nesterov: false, weightDecay: 5e-4 });
      const autograd: AutogradChoice = { engine: 'native', reason: 'test' };
      const r = accumulatedStep(model, softmax, sgd, model.store.optimisable(), batchOf(80), 1, 0.1, { epoch: 0, epochs: 1, rng: new Rng(0), step: 0 }, undefined, scaler, autograd);
      const loss = await r.loss;
      assert.equal(autograd.engine, 'native');
      const values = new Map([...model.store.all()].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
      sgd.dispose();
      model.dispose();
      return { loss, values, skipped: r.skipped };
    };
    const plain = await step();
    const scaler = new DynamicLossScaler();
    const scaled = await step(scaler);
    assert.ok(scaler.scale > 1, 'a real scale');
    assert.equal(scaled.skipped, false);
    assert.ok(Math.abs(scaled.loss - plain.loss) <= 1e-6 * plain.loss, `loss ${scaled.loss} vs ${plain.loss}`);
    assertValuesClose(scaled.values, plain.values, () => true, 'scaled vs unscaled');
  });

  test('no leak: tf.memory().numTensors and the addon\'s live tensors stay flat over native steps with batch norm', async () => {
    const model = new LtModel({ backbone: 'resnet8', head: 'linear', inChannels: 3, numClasses: 5, seed: 4 });
    const sgd = new Sgd({ momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
    const autograd: AutogradChoice = { engine: 'native', reason: 'test' };
    const counts: Array<[number, number]> = [];
    for (let s = 0; s < 5; s++) {
      const r = accumulatedStep(model, softmax, sgd, model.store.optimisable(), batchOf(40 + s), 1, 0.1, { epoch: 0, epochs: 1, rng: new Rng(s), step: s }, undefined, undefined, autograd);
      await r.loss;
      await r.correct;
      const m = tf.memory() as Mem;
      counts.push([m.numTensors, m.nativeTensors]);
    }
    assert.equal(autograd.engine, 'native');
    // step 1 creates the momentum buffers; from then on nothing grows
    for (let s = 2; s < counts.length; s++) assert.deepEqual(counts[s], counts[1], `step ${s + 1}: ${JSON.stringify(counts)}`);
    assert.equal(counts[1][0], counts[1][1], 'every tfjs tensor owns one native tensor, no orphan native tensor (a graph kept alive)');
    sgd.dispose();
    model.dispose();
  });

  test('a cpu-forwarded kernel on the graph: nativeVariableGrads refuses, the trainer falls back to the tape and says why, with the tape\'s result', async () => {
    const w = tf.variable(tf.tensor2d(randn(51, 6), [2, 3]), true, 'autograd-cut-w');
    const before = tf.memory() as Mem;
    assert.throws(() => nativeVariableGrads(() => tf.sum(tf.mirrorPad(w, [[1, 1], [0, 0]], 'reflect')) as tf.Scalar, [w]), (e: unknown) => e instanceof NativeGraphCutError && /MirrorPad/.test(e.message));
    assert.equal((tf.memory() as Mem).numTensors, before.numTensors, 'a refused step leaks nothing');
    assert.equal((tf.memory() as Mem).nativeTensors, before.nativeTensors, 'a refused step leaks nothing natively');
    assert.equal((tf.backend() as TorchBackend).recording, false, 'recording is off again');
    // A kernel forwarded on a tensor that needs no gradient (the labels) does not refuse.
    const ok = nativeVariableGrads(() => tf.sum(tf.mul(w, tf.cast(tf.sum(tf.mirrorPad(tf.ones([2, 3]), [[0, 0], [1, 1]], 'reflect')), 'float32'))) as tf.Scalar, [w]);
    assert.deepEqual(Array.from(ok.grads[w.name].dataSync()), Array(6).fill(10));
    tf.dispose([ok.value, ...Object.values(ok.grads), w]);

    const padded: MethodInstance = {
      forward: (model, batch) => {
        const out = model.forward(batch.x, true);
        return { ...out, logits: tf.slice(tf.mirrorPad(out.logits, [[0, 0], [1, 1]], 'reflect'), [0, 1], [-1, 5]) as tf.Tensor2D };
      },
      loss: softmax.loss,
    };
    const run = async (engine: 'native' | 'tape') => {
      const model = new LtModel({ backbone: 'resnet8', head: 'linear', inChannels: 3, numClasses: 5, seed: 4 });
      const sgd = new Sgd({ momentum: 0.9, nesterov: false, weightDecay: 0 });
      const autograd: AutogradChoice = { engine, reason: 'test' };
      const warnings: string[] = [];
      const r = accumulatedStep(model, padded, sgd, model.store.optimisable(), batchOf(60), 1, 0.1, { epoch: 0, epochs: 1, rng: new Rng(0), step: 0 }, undefined, undefined, autograd, (w) => warnings.push(w));
      const loss = await r.loss;
      const values = new Map([...model.store.all()].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
      sgd.dispose();
      model.dispose();
      return { loss, values, autograd, warnings };
    };
    // LtModel leaves its parameters' initial tensors registered (ParamStore.addTrainable): compare with the tape run's count.
    let mem = tf.memory() as Mem;
    const tape = await run('tape');
    const tapeGrowth = (tf.memory() as Mem).numTensors - mem.numTensors;
    mem = tf.memory() as Mem;
    const native = await run('native');
    assert.equal(native.autograd.engine, 'tape');
    assert.match(native.autograd.reason, /kernel 'MirrorPad' has no native torch implementation.*\(epoch 1, step 1\)/);
    assert.deepEqual(native.warnings, [native.autograd.reason]);
    assert.equal(native.loss, tape.loss);
    assertValuesClose(native.values, tape.values, () => true, 'after the fallback step');
    assert.equal((tf.memory() as Mem).numTensors - mem.numTensors, tapeGrowth, 'the refused forward leaked nothing');
  });

  test('run.json says which engine computed the gradients; LT_TORCH_AUTOGRAD=tape selects the tape', async () => {
    const out = tempDir('ltb-autograd-');
    const native = await runRecipe(tinyRecipe({ train: { epochs: 1 }, output: out }), { backend: 'torch' });
    assert.equal(native.record.status, 'finished');
    const onDisk = JSON.parse(readFileSync(path.join(native.dir, 'run.json'), 'utf8'));
    assert.deepEqual(onDisk.engine, { autograd: 'native', autogradReason: 'default on torch (LT_TORCH_AUTOGRAD=tape to change)' });
    const saved = process.env.LT_TORCH_AUTOGRAD;
    process.env.LT_TORCH_AUTOGRAD = 'tape';
    try {
      const tape = await runRecipe(tinyRecipe({ train: { epochs: 1 }, output: tempDir('ltb-autograd-tape-') }), { backend: 'torch' });
      assert.deepEqual(tape.record.engine, { autograd: 'tape', autogradReason: 'LT_TORCH_AUTOGRAD=tape' });
      assert.equal(tape.record.runId, native.record.runId, 'the engine is not part of the run id');
      // same data, same seeds, same kernels forward: the two engines train to (nearly) the same model
      assert.ok(Math.abs(tape.record.metrics.last!.top1 - native.record.metrics.last!.top1) <= 5, `${tape.record.metrics.last!.top1} vs ${native.record.metrics.last!.top1}`);
    } finally {
      if (saved === undefined) delete process.env.LT_TORCH_AUTOGRAD;
      else process.env.LT_TORCH_AUTOGRAD = saved;
    }
  });

  test('a 3-epoch native run keeps tf.memory() and the addon\'s live tensors flat (epoch lines)', async () => {
    const r = await runRecipe(tinyRecipe({ train: { epochs: 3 }, output: tempDir('ltb-autograd-3e-') }), { backend: 'torch' });
    assert.equal(r.record.engine?.autograd, 'native');
    const lines = readFileSync(path.join(r.dir, 'epochs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { numTensors: number; backendTensors: number });
    assert.equal(lines.length, 3);
    assert.ok(lines.every((l) => typeof l.backendTensors === 'number'), 'the torch backend reports its table');
    for (const l of lines.slice(1)) assert.deepEqual([l.numTensors, l.backendTensors], [lines[0].numTensors, lines[0].backendTensors], JSON.stringify(lines));
  });

  test('lt-bench run refuses a bad LT_TORCH_AUTOGRAD with exit 2 and creates no run; doctor names the engine', () => {
    const out = tempDir('ltb-autograd-bad-');
    const bin = path.join(packageRoot, 'bin', 'lt-bench.js');
    const r = spawnSync(process.execPath, [bin, 'run', path.join(packageRoot, 'recipes', 'quickstart.yaml'), '--backend', 'torch', '--results', out], { encoding: 'utf8', env: { ...process.env, CI: 'true', LT_TORCH_AUTOGRAD: 'fast' } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /LT_TORCH_AUTOGRAD: 'fast' is not one of native, tape/);
    assert.deepEqual(existsSync(out) ? readdirSync(out) : [], [], 'nothing written');
    const d = spawnSync(process.execPath, [bin, 'doctor'], { encoding: 'utf8', env: { ...process.env, LT_TORCH_AUTOGRAD: 'tape' } });
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stdout, /^autograd on torch: tfjs's tape \(LT_TORCH_AUTOGRAD=tape\)$/m);
  });

  /** A tiny 1-epoch run of `method` on torch with one engine: its record and per-epoch training losses. */
  async function tinyRun(method: string, engine: 'native' | 'tape') {
    const saved = process.env.LT_TORCH_AUTOGRAD;
    process.env.LT_TORCH_AUTOGRAD = engine;
    try {
      const r = await runRecipe(tinyRecipe({ method: { name: method }, train: { epochs: 1 }, output: tempDir('ltb-autograd-m-') }), { backend: 'torch' });
      const file = path.join(r.dir, 'epochs.jsonl');
      const losses = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { trainLoss: number }).trainLoss) : [];
      return { record: r.record, losses };
    } finally {
      if (saved === undefined) delete process.env.LT_TORCH_AUTOGRAD;
      else process.env.LT_TORCH_AUTOGRAD = saved;
    }
  }

  // Every registered method (its heads, streams, stages, custom forwards and losses) trains on the
  // native path without falling back, to the tape's training losses.
  for (const method of methodNames()) {
    test(`method ${method}: a tiny run trains natively and matches the tape's training losses`, async () => {
      const native = await tinyRun(method, 'native');
      const tape = await tinyRun(method, 'tape');
      assert.equal(native.record.status, 'finished');
      assert.equal(native.record.engine?.autograd, 'native', native.record.engine?.autogradReason);
      assert.equal(native.losses.length, tape.losses.length);
      native.losses.forEach((l, i) => assert.ok(Math.abs(l - tape.losses[i]) <= 1e-5 * Math.abs(tape.losses[i]), `epoch line ${i + 1}: ${l} vs ${tape.losses[i]}`));
      assert.equal(native.record.metrics.last!.top1, tape.record.metrics.last!.top1);
    });
  }
});
