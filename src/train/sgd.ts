/**
 * SGD with momentum, Nesterov and L2 weight decay, exactly as torch.optim.SGD (dampening 0):
 *   g ← g + wd·w;  buf ← μ·buf + g (buf = g on the first step);  g ← g + μ·buf if nesterov else buf;
 *   w ← w − lr·g.
 * Written out (rather than tf.train.momentum + a decay term) so the state is explicit, named and
 * checkpointable, and the learning rate is a plain argument of each step.
 */
import * as tf from '@tensorflow/tfjs';

export interface SgdOptions {
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  /**
   * Parameter groups (a method's `paramGroups`): the first group naming a variable sets its
   * learning-rate factor and / or weight decay; other variables use lr and `weightDecay`.
   */
  groups?: Array<{ names: (name: string) => boolean; lrFactor?: number; weightDecay?: number }>;
}

export class Sgd {
  /** Momentum buffers by variable name. */
  readonly buffers = new Map<string, tf.Variable>();

  constructor(readonly opts: SgdOptions) {}

  step(vars: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): void {
    const { momentum, nesterov } = this.opts;
    for (const [name, v] of vars) {
      const g0 = grads[name];
      if (!g0) continue;
      const group = this.opts.groups?.find((g) => g.names(name));
      const weightDecay = group?.weightDecay ?? this.opts.weightDecay;
      // Without a factor the step is exactly lr·update (bit-identical to the ungrouped optimiser).
      const groupLr = group?.lrFactor === undefined ? lr : lr * group.lrFactor;
      tf.tidy(() => {
        const g = weightDecay > 0 ? tf.add(g0, tf.mul(v, weightDecay)) : g0;
        let update: tf.Tensor = g;
        if (momentum > 0) {
          const prev = this.buffers.get(name);
          const buf = prev ? tf.add(tf.mul(prev, momentum), g) : tf.clone(g);
          if (prev) prev.assign(buf);
          else this.buffers.set(name, tf.variable(buf, false));
          update = nesterov ? tf.add(g, tf.mul(buf, momentum)) : buf;
        }
        v.assign(tf.sub(v, tf.mul(update, groupLr)));
      });
    }
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}
