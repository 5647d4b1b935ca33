/**
 * ESQL, softmax equalization loss (Tan et al., CVPR 2020). Follows the survey codebase
 * Vanint/Awesome-LongTailed-Learning Main-codebase/loss/SEQLLoss.py (γ = 0.9, λ = 0.00043).
 * Deviation: off ImageNet-LT, λ defaults to the frequency that marks the same share of classes
 * as tail (374/1000, i.e. the round(0.374·C) rarest classes); the resolved λ, the rule and the
 * tail classes go into the run record via `resolvedParams`. The random masks come from the
 * trainer's per-step `ctx.rng`. The balanced reference run (UA) reuses the LT run's λ.
 */
import { esqlLoss, esqlParams, esqlThreshold } from '../losses/esql.js';
import type { Method } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const esqlMethod: Method = {
  name: 'esql',
  family: 'CR',
  tags: ['CSL'],
  table: { rows: [{ paper: 'ESQL' }] },
  summary: 'Softmax equalization loss: tail-class negatives (π ≤ λ) masked with probability γ = 0.9.',
  citation: {
    paper: 'Tan et al., "Equalization Loss for Long-Tailed Object Recognition", CVPR 2020',
    code: 'Vanint/Awesome-LongTailed-Learning Main-codebase/loss/SEQLLoss.py',
  },
  params: esqlParams,
  // λ marks the LT split's tail; on the balanced twin (every π equal) a derived λ would mark all
  // classes or none by a tie, so the reference run keeps the LT value (as a fixed λ = 0.00043
  // does on ImageNet-LT's balanced twin, where it masks nothing).
  pinnedForReference: ['lambda'],
  create(setup) {
    const params = parseParams('esql', esqlParams, setup);
    const threshold = esqlThreshold(setup.classCounts, params.lambda);
    return {
      loss: logitsLoss(esqlLoss(setup.classCounts, params)),
      resolvedParams: {
        lambda: threshold.lambda,
        lambdaRule: threshold.rule,
        tailClasses: threshold.tailClasses,
      },
    };
  },
};
