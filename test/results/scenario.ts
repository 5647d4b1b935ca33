/** A small study written by hand: two budgets, seeds, balanced references, gaps and flags. */
import type { RunRecord } from '../../src/results/types.js';
import type { ExpectedCell } from '../../src/results/tables.js';
import { fakeRecord } from './fixtures.js';

export function scenarioRecords(): RunRecord[] {
  return [
    // Balanced twins (references for UA).
    fakeRecord({ runId: 'bal-sm-1', method: 'softmax', family: 'baseline', epochs: 10, seed: 1, balanced: true, top1: 90 }),
    fakeRecord({ runId: 'bal-sm-2', method: 'softmax', family: 'baseline', epochs: 10, seed: 2, balanced: true, top1: 88 }),
    fakeRecord({ runId: 'bal-bs-1', method: 'balanced-softmax', epochs: 10, seed: 1, balanced: true, top1: 91 }),
    // Softmax, 10 epochs, two seeds, each with its own vanilla balanced run.
    fakeRecord({ runId: 'sm-10-1', method: 'softmax', family: 'baseline', epochs: 10, seed: 1, top1: 70, groups: [95, 60, 20], vanilla: 'bal-sm-1' }),
    fakeRecord({ runId: 'sm-10-2', method: 'softmax', family: 'baseline', epochs: 10, seed: 2, top1: 72, groups: [97, 62, 22], vanilla: 'bal-sm-2' }),
    // Softmax, 20 epochs, two seeds from different code versions, no balanced runs named.
    fakeRecord({ runId: 'sm-20-1', method: 'softmax', family: 'baseline', epochs: 20, seed: 1, top1: 75, groups: [96, 66, 30], ltBench: '0.1.0' }),
    fakeRecord({ runId: 'sm-20-2', method: 'softmax', family: 'baseline', epochs: 20, seed: 2, top1: 76, groups: [96, 68, 32], ltBench: '0.2.0' }),
    // Balanced softmax: seed 1 has both references, seed 2 names a method-balanced run that does not exist.
    fakeRecord({ runId: 'bs-10-1', method: 'balanced-softmax', epochs: 10, seed: 1, top1: 80, groups: [90, 75, 60], vanilla: 'bal-sm-1', methodBalanced: 'bal-bs-1' }),
    fakeRecord({ runId: 'bs-10-2', method: 'balanced-softmax', epochs: 10, seed: 2, top1: 82, groups: [91, 77, 62], vanilla: 'bal-sm-2', methodBalanced: 'bal-bs-2' }),
    // A decoupled run with the CB stage-1 sampler (its own row), no tail classes measured.
    fakeRecord({ runId: 'crt-cb-10', method: 'decouple-crt', family: 'MI', params: { stage1Sampler: 'class-balanced', lr: 0.2 }, epochs: 10, top1: 77, groups: [88, 70, null] }),
    // A method the survey does not have: goes to the end of its record's family.
    fakeRecord({ runId: 'mine-10', method: 'my-method', family: 'IA', epochs: 10, top1: 79.25, groups: [1, 2, 3], params: { k: 1 } }),
    fakeRecord({ runId: 'mine-10b', method: 'my-method', family: 'IA', epochs: 10, seed: 2, top1: 79.75, groups: [1, 2, 3], params: { k: 2 } }),
    // Table 7 stage-2 runs.
    fakeRecord({ runId: 'crt-sm-10', method: 'decouple-crt', family: 'MI', params: { stage1Sampler: 'instance' }, epochs: 10, top1: 78, groups: [85, 74, 50], table7: { stage1Loss: 'softmax', classifier: 'crt' } }),
    fakeRecord({ runId: 'lws-fo-10', method: 'decouple-lws', family: 'MI', params: { stage1Sampler: 'instance', stage1Loss: 'focal' }, epochs: 10, top1: 76.5, groups: [84, 72, 48] }),
    // Unfinished-looking but finished-with-best-only would be filtered by the store; here one more LT focal run at 20 epochs.
    fakeRecord({ runId: 'fo-20-1', method: 'focal', epochs: 20, seed: 1, top1: 74, groups: [95, 64, 28], recipePath: 'recipes/test/focal-e20.yaml' }),
  ];
}

export function scenarioExpected(): ExpectedCell[] {
  return [
    { dataset: 'fashion-lt', method: 'focal', epochs: 10, recipePath: 'recipes/test/focal-e10.yaml', seeds: [1] },
    { dataset: 'fashion-lt', method: 'softmax', epochs: 10, recipePath: 'recipes/test/softmax-e10.yaml', seeds: [1, 2, 3] },
    { dataset: 'fashion-lt', method: 'decouple-ncm', params: { stage1Sampler: 'instance', stage1Loss: 'softmax' }, epochs: 10, recipePath: 'recipes/test/table7/softmax-ncm-e10.yaml', table7: { stage1Loss: 'softmax', classifier: 'ncm' } },
  ];
}
