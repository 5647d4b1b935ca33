/**
 * Decouple-cRT (Kang et al., ICLR 2020): classifier re-training. Stage 2 freezes the backbone,
 * re-initialises the linear classifier and trains it 10 epochs with the class-aware sampler
 * (4 per class), as classifier-balancing config/ImageNet_LT/cls_crt.yaml (cosine, lr 0.2, batch
 * 512; the survey's config used StepLR(3, 0.1), lr 0.1, batch 256 — set `stage2.schedule`).
 * Implementation: src/stages/stage2.ts.
 */
import { decoupleMethod } from './decouple-preset.js';

export const decoupleCrtMethod = decoupleMethod(
  'decouple-crt',
  'crt',
  'Decoupling, cRT: frozen stage-1 backbone, re-initialised linear classifier, class-balanced sampling (10 epochs).',
  'cls_crt.yaml, data/ClassAwareSampler.py',
  [
    { paper: 'Decouple-IB-CRT', params: { stage1Sampler: 'instance' } },
    { paper: 'Decouple-CB-CRT', params: { stage1Sampler: 'class-balanced' } },
    { paper: 'Decouple-SR-CRT', params: { stage1Sampler: 'square-root' } },
    { paper: 'Decouple-PB-CRT', params: { stage1Sampler: 'progressive' } },
  ],
);
