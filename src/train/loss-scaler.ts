/**
 * Dynamic loss scaling for fp16 training, as PyTorch's torch.cuda.amp.GradScaler (defaults
 * init_scale 2^16, growth_factor 2, backoff_factor 0.5, growth_interval 2000): the loss is
 * multiplied by the scale before the backward pass and the gradients divided by it before the
 * optimiser step; a step whose gradients hold an inf or NaN is skipped and halves the scale, and
 * `growthInterval` clean steps in a row double it. The state is saved with `last` so a resumed
 * run continues with the same scale.
 */
import * as tf from '@tensorflow/tfjs';

export interface LossScalerState {
  scale: number;
  /** Clean steps since the scale last changed (GradScaler's _growth_tracker). */
  goodSteps: number;
  /** Steps skipped for inf/NaN gradients over the run. */
  skipped: number;
}

export interface LossScalerOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
}

export class DynamicLossScaler {
  private s: LossScalerState;
  private readonly growthFactor: number;
  private readonly backoffFactor: number;
  private readonly growthInterval: number;

  constructor(state?: LossScalerState, options: LossScalerOptions = {}) {
    this.s = state ? { ...state } : { scale: options.initScale ?? 2 ** 16, goodSteps: 0, skipped: 0 };
    this.growthFactor = options.growthFactor ?? 2;
    this.backoffFactor = options.backoffFactor ?? 0.5;
    this.growthInterval = options.growthInterval ?? 2000;
  }

  get scale(): number {
    return this.s.scale;
  }

  state(): LossScalerState {
    return { ...this.s };
  }

  /** After a step's gradients: whether to apply the step (false when `finite` is false), updating the scale. */
  update(finite: boolean): boolean {
    if (!finite) {
      this.s = { scale: this.s.scale * this.backoffFactor, goodSteps: 0, skipped: this.s.skipped + 1 };
      return false;
    }
    const good = this.s.goodSteps + 1;
    this.s = good >= this.growthInterval ? { ...this.s, scale: this.s.scale * this.growthFactor, goodSteps: 0 } : { ...this.s, goodSteps: good };
    return true;
  }
}

/** True when every gradient is finite (one read back to the host per step). */
export function allFinite(grads: tf.Tensor[]): boolean {
  if (grads.length === 0) return true;
  return tf.tidy(() => tf.all(tf.stack(grads.map((g) => tf.all(tf.isFinite(g))))).dataSync()[0] === 1);
}
