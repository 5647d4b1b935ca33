/**
 * The method registry and every method's contract: names, families, strict params, hooks.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getMethod, listMethods, methodNames } from '../../src/methods/registry.js';
import type { Method, MethodSetup } from '../../src/methods/types.js';
import { DECOUPLED_CLASSIFIER, findLayoutRow, rowLabel, SURVEY_ROWS, TABLE7_LOSSES } from '../../src/results/table-layout.js';
import { Rng } from '../../src/rng.js';

const COUNTS = [500, 120, 30, 8];

function setup(params: Record<string, unknown> = {}, epochs = 200): MethodSetup {
  return { classCounts: COUNTS, numClasses: COUNTS.length, params, epochs };
}

before(async () => {
  await tf.setBackend('cpu');
});

describe('registry', () => {
  it('registers every method file of src/methods, each once, under its file name', async () => {
    const dir = path.dirname(fileURLToPath(import.meta.url)).replace(`${path.sep}test${path.sep}methods`, `${path.sep}src${path.sep}methods`);
    const found: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
      const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as Record<string, unknown>;
      for (const v of Object.values(mod)) {
        if (v && typeof v === 'object' && typeof (v as Method).create === 'function' && typeof (v as Method).name === 'string' && 'params' in v) {
          found.push((v as Method).name);
          assert.equal(`${(v as Method).name}.js`, file, 'a method lives in <name>.ts');
        }
      }
    }
    assert.ok(found.length >= 15, `found ${found.length} method files`);
    assert.deepEqual([...found].sort(), [...methodNames()].sort());
    assert.equal(new Set(methodNames()).size, methodNames().length);
    assert.equal(listMethods().length, methodNames().length);
  });

  it('getMethod throws listing the known names', () => {
    assert.throws(() => getMethod('ldam'), /Unknown method "ldam". Known methods: softmax, weighted-softmax, .*uno-ic/);
    assert.equal(getMethod('lade').name, 'lade');
  });

  it('declares a survey family and a non-empty list of known tags, and cites paper and code', () => {
    const families = ['baseline', 'CR', 'IA', 'MI'];
    const tags = ['Baseline', 'Sampling', 'CSL', 'LA', 'TL', 'Aug', 'RL', 'CD', 'DT', 'Ensemble'];
    for (const m of listMethods()) {
      assert.ok(families.includes(m.family), `${m.name}: family ${m.family}`);
      assert.ok(m.tags.length >= 1 && m.tags.every((t) => tags.includes(t)), `${m.name}: tags ${m.tags}`);
      assert.equal(new Set(m.tags).size, m.tags.length, `${m.name}: repeated tag`);
      assert.ok(m.citation.paper.length > 10 && m.citation.code.length > 5, m.name);
      assert.ok(m.summary.length > 10, m.name);
    }
    // Spot checks of the survey's grouping.
    assert.deepEqual([getMethod('ldam-drw').family, getMethod('ldam-drw').tags], ['CR', ['CSL']]);
    assert.deepEqual([getMethod('decouple-ncm').family, getMethod('decouple-ncm').tags], ['MI', ['DT']]);
    assert.deepEqual([getMethod('de-confound').family, getMethod('de-confound').tags], ['MI', ['CD']]);
  });

  it('table metadata names real paper rows, claims each at most once, and splits rows at the schema defaults', () => {
    const paper = JSON.parse(readFileSync(new URL('../../../results/reference/survey-tables.json', import.meta.url), 'utf8')) as { table5: Record<string, unknown> };
    const claimed = new Map<string, string>();
    for (const m of listMethods()) {
      const defaults = m.params.parse({}) as Record<string, unknown>;
      for (const r of m.table?.rows ?? []) {
        if (r.paper) {
          assert.ok(r.paper in paper.table5, `${m.name}: paper row ${r.paper} is not in survey-tables.json`);
          assert.ok(!claimed.has(r.paper), `${m.name}: ${r.paper} already claimed by ${claimed.get(r.paper)}`);
          claimed.set(r.paper, m.name);
        }
        if (r.after) assert.ok(r.after in paper.table5, `${m.name}: after ${r.after}`);
        for (const k of Object.keys(r.params ?? {})) assert.ok(k in (m.table?.splitBy ?? {}), `${m.name}: row param ${k} is not in splitBy`);
      }
      for (const [k, v] of Object.entries(m.table?.splitBy ?? {})) {
        if (v !== null && k in defaults) assert.deepEqual(v, defaults[k], `${m.name}: splitBy.${k} is not the schema default`);
      }
      const stages = m.stages ?? [{ kind: 'train' }];
      assert.ok(stages[0].kind === 'train' || stages[0].kind === 'pretrain', `${m.name}: the first stage trains (or pre-trains: SSP)`);
    }
  });

  it('the survey row order comes from the metadata: paper order, extra rows after the row they name', () => {
    const order = SURVEY_ROWS.map((r) => `${r.methods[0]}${r.params?.stage1Sampler ? `:${r.params.stage1Sampler}` : ''}`);
    // Relative order only, so a new method's row never breaks this test.
    const expected = ['softmax', 'weighted-softmax', 'focal', 'class-balanced', 'ldam-drw', 'esql', 'uno-ic', 'balanced-softmax', 'logit-adjustment', 'lade', 'de-confound', 'decouple-crt:instance', 'decouple-crt:class-balanced', 'decouple-crt:square-root', 'decouple-crt:progressive', 'decouple-lws:instance', 'decouple-tau-norm:instance', 'decouple-ncm:instance'];
    const at = expected.map((e) => order.indexOf(e));
    assert.ok(at.every((i) => i >= 0), `missing rows: ${expected.filter((_, k) => at[k] < 0)}`);
    assert.deepEqual([...at].sort((a, b) => a - b), at);
    assert.equal(order.indexOf('class-balanced'), order.indexOf('focal') + 1);
    assert.equal(order.indexOf('decouple-lws:instance'), order.indexOf('decouple-crt:progressive') + 1);
    // A paper row no method claims keeps the paper's name and family.
    const unclaimed = SURVEY_ROWS.filter((r) => r.paper && !listMethods().some((m) => m.name === r.methods[0]));
    for (const r of unclaimed) assert.equal(r.methods[0], r.paper);
    assert.equal(findLayoutRow('ldam', {})?.paper, 'LDAM', 'table alias of ldam-drw');
    // SSP ends in cRT too (its records carry no stage1Loss, so no Table 7 cell).
    assert.deepEqual(DECOUPLED_CLASSIFIER, { 'decouple-crt': 'crt', 'decouple-lws': 'lws', 'decouple-tau-norm': 'tau-norm', 'decouple-ncm': 'ncm', ssp: 'crt' });
    assert.deepEqual(TABLE7_LOSSES.map((l) => l.method), ['softmax', 'focal', 'esql', 'balanced-softmax']);
    assert.equal(rowLabel('decouple-crt', { stage1Sampler: 'instance' }), 'decouple-crt (IB)');
    assert.equal(rowLabel('ldam-drw', { variant: 'ldam-drw', drw: false }), 'ldam-drw (drw=false)');
    assert.equal(rowLabel('softmax', { sampler: 'class-balanced' }), 'softmax (CB)');
    assert.equal(rowLabel('decouple-crt', { stage1Sampler: 'instance', sampler: 'class-balanced' }), 'decouple-crt (IB)');
  });

  it('every params schema is strict and fills defaults', () => {
    for (const m of listMethods()) {
      assert.throws(() => m.params.parse({ notAParam: 1 }), /Unrecognized key/, m.name);
      assert.throws(() => m.create(setup({ notAParam: 1 })), /method\.params.*notAParam/, m.name);
      assert.doesNotThrow(() => m.params.parse({}), m.name);
    }
    assert.deepEqual(getMethod('logit-adjustment').params.parse({}), { tau: 1, mode: 'loss' });
    assert.deepEqual(getMethod('uno-ic').params.parse({}).betaGrid, [
      0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2,
    ]);
  });

  it('create rejects a classCounts / numClasses mismatch', () => {
    assert.throws(
      () => getMethod('softmax').create({ classCounts: [1, 2], numClasses: 3, params: {}, epochs: 1 }),
      /numClasses/,
    );
  });

  it('every method trains: its loss is a finite scalar with a gradient on the logits', () => {
    for (const m of listMethods()) {
      const inst = m.create(setup());
      // A method with a model of its own (BBN, ResLT, …) trains on that model's output: its loss
      // may read per-expert logits or the step's streams, which bare logits do not have.
      if (inst.buildModel) {
        const model = inst.buildModel({ backbone: 'resnet8', inChannels: 1, numClasses: COUNTS.length, seed: 0, imageShape: [8, 8, 1] });
        try {
          const g = tf.tidy(() => {
            const x = tf.randomNormal([3, 8, 8, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
            const labels = tf.tensor1d([0, 3, 1], 'int32');
            const streams = (inst.streams ?? [{}]).map((s) => ({ views: Array(typeof s.views === 'number' ? s.views : s.views?.length ?? 1).fill(x), y: labels }));
            const batch = { x, y: labels, streams };
            const ctx = { epoch: 0, epochs: 200, rng: new Rng(1), batch, model };
            const { value, grads } = tf.variableGrads(() => inst.loss(inst.forward ? inst.forward(model, batch, ctx) : model.forward(x, true), labels, ctx), [...model.store.optimisable().values()]);
            return { value: value.dataSync()[0], gradAbs: tf.addN(Object.values(grads).map((t) => tf.sum(tf.abs(t)))).dataSync()[0] };
          });
          model.store.discardUpdates();
          assert.ok(Number.isFinite(g.value) && g.value > 0, `${m.name} loss ${g.value}`);
          assert.ok(g.gradAbs > 0, `${m.name} gradient`);
        } finally {
          model.dispose();
        }
        continue;
      }
      const g = tf.tidy(() => {
        const labels = tf.tensor1d([0, 3, 1], 'int32');
        const features = tf.zeros([3, 2]) as tf.Tensor2D;
        // Multi-expert losses (ride, sade) read three experts' logits; here functions of the logits.
        const experts = (l: tf.Tensor2D) => [l, tf.mul(l, 0.5) as tf.Tensor2D, tf.mul(l, 2) as tf.Tensor2D];
        const { value, grad } = tf.valueAndGrad((logits: tf.Tensor) =>
          inst.loss({ logits: logits as tf.Tensor2D, features, experts: experts(logits as tf.Tensor2D) }, labels, { epoch: 0, epochs: 200, rng: new Rng(1) }),
        )(tf.tensor2d([[0.3, 0.1, -0.2, 0.05], [0.2, -0.1, 0.4, 0.3], [0.0, 0.5, 0.1, -0.3]]));
        return { value: value.dataSync()[0], gradAbs: tf.sum(tf.abs(grad)).dataSync()[0] };
      });
      assert.ok(Number.isFinite(g.value) && g.value > 0, `${m.name} loss ${g.value}`);
      assert.ok(g.gradAbs > 0, `${m.name} gradient`);
    }
  });
});

describe('method hooks', () => {
  it('ldam-drw asks for the cosine head by default and the linear head for variant survey', () => {
    const m = getMethod('ldam-drw');
    const a = m.create(setup());
    assert.equal(a.head, 'cosine');
    assert.equal(a.resolvedParams?.drwStartEpoch, 160);
    assert.equal(m.create(setup({ variant: 'survey' })).head, 'linear');
    assert.equal(m.create(setup({ drw: false })).resolvedParams?.drwStartEpoch, null);
    assert.equal(m.create(setup({}, 30)).resolvedParams?.drwStartEpoch, 24);
  });

  it('the ldam-drw loss hook passes the epoch through (DRW on from epoch 160)', () => {
    const inst = getMethod('ldam-drw').create(setup());
    const at = (epoch: number) =>
      tf.tidy(() =>
        inst.loss(
          { logits: tf.tensor2d([[0.5, 0.1, 0.0, -0.2], [0.1, 0.2, 0.3, 0.1]]), features: tf.zeros([2, 1]) as tf.Tensor2D },
          tf.tensor1d([0, 3], 'int32'),
          { epoch, epochs: 200 },
        ).dataSync()[0],
      );
    assert.equal(at(0), at(159));
    assert.notEqual(at(159), at(160));
    assert.equal(at(160), at(199));
  });

  it('esql records its λ rule and tail classes', () => {
    const r = getMethod('esql').create(setup()).resolvedParams;
    // round(0.374 · 4) = 1 tail class: the rarest.
    assert.deepEqual(r?.tailClasses, [3]);
    assert.equal(r?.lambdaRule, 'tail-share');
    assert.equal(getMethod('esql').create(setup({ lambda: 0.05 })).resolvedParams?.lambdaRule, 'explicit');
  });

  it('the training-only methods predict with the raw logits', () => {
    for (const name of ['softmax', 'weighted-softmax', 'focal', 'class-balanced', 'esql', 'balanced-softmax', 'lade']) {
      const inst = getMethod(name).create(setup());
      assert.equal(inst.predict, undefined, name);
      assert.equal(inst.calibrate, undefined, name);
      assert.equal(inst.sampler, undefined, name);
    }
    assert.equal(getMethod('logit-adjustment').create(setup()).predict, undefined);
    assert.equal(getMethod('ldam-drw').create(setup({ variant: 'survey' })).predict, undefined, 'the survey variant has a linear head');
  });

  it('cosine-head LDAM and RSG predict s·cos, the logits their loss trained (same argmax; ECE and NLL read these)', () => {
    const cos = [[0.5, -0.25, 0.1, 0]];
    for (const [name, params, s] of [['ldam-drw', {}, 30], ['ldam-drw', { scale: 16 }, 16], ['rsg', {}, 30]] as const) {
      const inst = getMethod(name).create(setup(params));
      assert.equal(inst.calibrate, undefined, name);
      const got = tf.tidy(() => inst.predict!({ logits: tf.tensor2d(cos), features: tf.zeros([1, 1]) as tf.Tensor2D }).arraySync());
      got[0].forEach((v, j) => assert.ok(Math.abs(v - s * cos[0][j]) < 1e-5, `${name} s=${s}: ${v}`));
    }
  });

  it('logit-adjustment posthoc trains with CE and predicts z − τ log π', () => {
    const inst = getMethod('logit-adjustment').create(setup({ mode: 'posthoc', tau: 0.5 }));
    const total = COUNTS.reduce((a, b) => a + b, 0);
    const z = [[1, 0.5, 0.2, 0]];
    const got = tf.tidy(() => inst.predict!({ logits: tf.tensor2d(z), features: tf.zeros([1, 1]) as tf.Tensor2D }).arraySync());
    const expected = z[0].map((v, j) => v - 0.5 * Math.log(COUNTS[j] / total));
    got[0].forEach((v, j) => assert.ok(Math.abs(v - expected[j]) < 1e-5));
    // Its training loss is plain softmax CE: log(4) at zero logits.
    const l = tf.tidy(() =>
      inst.loss({ logits: tf.zeros([1, 4]) as tf.Tensor2D, features: tf.zeros([1, 1]) as tf.Tensor2D }, tf.tensor1d([2], 'int32'), {
        epoch: 0,
        epochs: 1,
      }).dataSync()[0],
    );
    assert.ok(Math.abs(l - Math.log(4)) < 1e-6);
  });
});
