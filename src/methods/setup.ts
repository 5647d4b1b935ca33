/**
 * Helpers every method file shares: validating the setup against the method's schema, and
 * wrapping a LossFn as the method's training loss on the model's logits.
 */
import type { z } from 'zod';
import type { LossFn } from '../losses/types.js';
import type { MethodInstance, MethodSetup } from './types.js';

/**
 * The method's params with defaults filled in. The trainer already validates `method.params`;
 * parsing again (idempotent) keeps direct callers of `create` safe and typed.
 */
export function parseParams<S extends z.ZodTypeAny>(methodName: string, schema: S, setup: MethodSetup): z.output<S> {
  if (setup.classCounts.length !== setup.numClasses) {
    throw new Error(
      `${methodName}: classCounts has ${setup.classCounts.length} entries but numClasses is ${setup.numClasses}`,
    );
  }
  const parsed = schema.safeParse(setup.params ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `method.params${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}`)
      .join('; ');
    throw new Error(`${methodName}: ${issues}`);
  }
  return parsed.data;
}

/** The training-loss hook of a method whose loss reads only the logits. */
export function logitsLoss(loss: LossFn): MethodInstance['loss'] {
  return (output, labels, ctx) => loss(output.logits, labels, ctx);
}
