/**
 * Learning-rate schedules derived from the epoch budget (never a hand-synced T_max): the rate of
 * 0-based epoch e of E, stepped per epoch as the survey's and the official codes do.
 * - warm-up (LDAM-DRW / RIDE CustomLR): lr·(e+1)/W for e < W, then the schedule proper;
 * - cosine: CosineAnnealingLR(T_max = E, eta_min) evaluated at e;
 * - step: ×gamma at each milestone, given as a fraction f of E (at epoch round(f·E));
 * - linear: lr·(1 − e/E);  constant: lr.
 */
export interface ScheduleSpec {
  name: 'cosine' | 'step' | 'linear' | 'constant';
  warmupEpochs: number;
  milestones: number[];
  gamma: number;
  minLr: number;
}

export function milestoneEpochs(spec: ScheduleSpec, epochs: number): number[] {
  return spec.milestones.map((f) => Math.round(f * epochs));
}

export function learningRate(spec: ScheduleSpec, baseLr: number, epoch: number, epochs: number): number {
  if (epoch < spec.warmupEpochs) return (baseLr * (epoch + 1)) / spec.warmupEpochs;
  switch (spec.name) {
    case 'constant':
      return baseLr;
    case 'linear':
      return baseLr * (1 - epoch / epochs);
    case 'cosine':
      return spec.minLr + ((baseLr - spec.minLr) * (1 + Math.cos((Math.PI * epoch) / epochs))) / 2;
    case 'step': {
      const passed = milestoneEpochs(spec, epochs).filter((m) => epoch >= m).length;
      return baseLr * Math.pow(spec.gamma, passed);
    }
  }
}
