/**
 * Post-hoc tuning on the validation split (UNO-IC's β, De-confound's α): predicts val, hands the
 * method its logits and a context that can re-predict val with other head options and fix the
 * chosen ones for what is evaluated next. Used by a run and by `lt-bench eval`, so both choose
 * the same way.
 */
import type { BatchSource } from '../data/batch-source.js';
import type { CalibrationContext, MethodInstance } from '../methods/types.js';
import type { LtModel } from '../models/model.js';
import { predictWithLabels } from './evaluate.js';

export async function calibrateOnVal(model: LtModel, method: MethodInstance, val: BatchSource, indices: Int32Array, batchSize: number): Promise<Record<string, unknown> | undefined> {
  if (!method.calibrate) return undefined;
  const plain = { loss: method.loss }; // raw head logits: calibration starts from them
  const configure = (o: Record<string, unknown>) => {
    if (!model.head.configure) throw new Error(`the ${model.head.name} head has no test-time options`);
    return model.head.configure(o);
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
  const predicted = await predictWithLabels(model, plain, val, indices, batchSize);
  try {
    return await method.calibrate(predicted.logits, predicted.labels, ctx);
  } finally {
    predicted.logits.dispose();
  }
}
