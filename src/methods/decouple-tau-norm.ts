/**
 * Decouple-τ-norm (Kang et al., ICLR 2020): w_k/‖w_k‖^τ with no bias, τ swept over 0, 0.1, …, 2
 * (tau_norm.py's np.linspace(0, 2, 21)) and chosen on the **val** split, never test.
 * No stage-2 training. Implementation: src/models/heads/tau-norm.ts, src/stages/tau-norm.ts.
 */
import { decoupleMethod } from './decouple-preset.js';

export const decoupleTauNormMethod = decoupleMethod(
  'decouple-tau-norm',
  'tau-norm',
  'Decoupling, τ-norm: stage-1 classifier rescaled w/‖w‖^τ (no bias), τ ∈ 0…2 chosen on val.',
  'tau_norm.py',
  [{ params: { stage1Sampler: 'instance' }, after: 'Decouple-PB-CRT' }],
);
