/**
 * Post-hoc tuning on the validation split (UNO-IC's β, De-confound's α): predicts val, hands the
 * method its logits and a context that can re-predict val with other head options and fix the
 * chosen ones for what is evaluated next. Used by a run and by `lt-bench eval`, so both choose
 * the same way.
 */
import type { BatchSource } from '../data/batch-source.js';
import * as tf from '@tensorflow/tfjs';
import type { CalibrationContext, MethodInstance, PostHocStep } from '../methods/types.js';
import type { MethodModel } from '../methods/types.js';
import { predictWithLabels } from './evaluate.js';

export async function calibrateOnVal(
  model: MethodModel,
  method: MethodInstance,
  val: BatchSource,
  indices: Int32Array,
  batchSize: number,
  test?: { source: BatchSource; indices: Int32Array },
): Promise<Record<string, unknown> | undefined> {
  if (!method.calibrate && !(method.postHoc?.length)) return undefined;
  const plain = { loss: method.loss }; // raw head logits: calibration starts from them
  const configure = (o: Record<string, unknown>) => {
    if (!model.configure) throw new Error('the model has no test-time options');
    return model.configure(o);
  };
  const ctx: CalibrationContext = {
    valLogitsWith: async (headOptions) => {
      const previous = configure(headOptions);
      try {
        return (await predictWithLabels(model, plain, val, indices, batchSize)).logits;
      } finally {
        configure(previous);
      }
    },
    setHeadOptions: (o) => void configure(o),
  };
  let result: Record<string, unknown> | undefined;
  if (method.calibrate) {
    const predicted = await predictWithLabels(model, plain, val, indices, batchSize);
    try {
      result = await method.calibrate(predicted.logits, predicted.labels, ctx);
    } finally {
      predicted.logits.dispose();
    }
  }
  if (method.postHoc?.length) {
    const steps: Record<string, unknown> = {};
    let transductive = false;
    for (const step of method.postHoc) steps[step.name] = { reads: step.reads, ...(await runPostHocStep(step, model, plain, val, indices, batchSize, test, ctx)) };
    for (const step of method.postHoc) if (step.reads === 'test-unlabelled') transductive = true;
    result = { ...(result ?? {}), postHoc: steps, ...(transductive ? { transductive: true } : {}) };
  }
  return result;
}

/**
 * One post-hoc step, handed only the data its rule allows: val logits with labels, or the test
 * images with their labels stripped (the batches' `y` never reaches the step).
 */
async function runPostHocStep(
  step: PostHocStep,
  model: MethodModel,
  plain: MethodInstance,
  val: BatchSource,
  indices: Int32Array,
  batchSize: number,
  test: { source: BatchSource; indices: Int32Array } | undefined,
  calibration: CalibrationContext,
): Promise<Record<string, unknown>> {
  if (step.reads === 'val') {
    const predicted = await predictWithLabels(model, plain, val, indices, batchSize);
    try {
      return await step.run({ model, val: predicted, calibration });
    } finally {
      predicted.logits.dispose();
    }
  }
  if (!test) throw new Error(`post-hoc step ${step.name} reads the unlabelled test images, but none were given`);
  const testImages = async function* () {
    for await (const b of test.source.epoch(test.indices, batchSize, { mode: 'test' })) {
      if (b.y.length === 0) continue;
      const x = tf.tensor4d(b.x, b.shape);
      try {
        yield x;
      } finally {
        x.dispose();
      }
    }
  };
  return await step.run({ model, testImages, calibration });
}
