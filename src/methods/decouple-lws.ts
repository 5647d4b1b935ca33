/**
 * Decouple-LWS (Kang et al., ICLR 2020): learnable weight scaling. Stage 2 keeps the stage-1
 * W, b frozen and learns one scale per class, logits = (Wx + b)·s, 5 epochs with the class-aware
 * sampler (classifier-balancing config/ImageNet_LT/cls_lws.yaml, models/TauNormClassifier.py).
 * Implementation: src/models/heads/lws.ts, src/stages/stage2.ts.
 */
import { decoupleMethod } from './decouple-preset.js';

export const decoupleLwsMethod = decoupleMethod(
  'decouple-lws',
  'lws',
  'Decoupling, LWS: frozen stage-1 classifier, per-class scales learned with class-balanced sampling (5 epochs).',
  'cls_lws.yaml, models/TauNormClassifier.py',
  [{ params: { stage1Sampler: 'instance' }, after: 'Decouple-PB-CRT' }],
);
