/**
 * Decouple-NCM (Kang et al., ICLR 2020): nearest class mean on cl2n features (centred by the
 * train mean, L2-normalised), squared-L2 distance — classifier-balancing models/KNNClassifier.py
 * defaults and run_networks.py get_knncentroids. No stage-2 training.
 * Implementation: src/models/heads/ncm.ts.
 */
import { decoupleMethod } from './decouple-preset.js';

export const decoupleNcmMethod = decoupleMethod(
  'decouple-ncm',
  'ncm',
  'Decoupling, NCM: nearest class mean of cl2n features of the frozen stage-1 backbone.',
  'models/KNNClassifier.py',
  [{ params: { stage1Sampler: 'instance' }, after: 'Decouple-PB-CRT' }],
);
